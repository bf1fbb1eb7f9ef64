"""Every example of the classic Tornado overview, with ``tornado`` replaced by ``squall``.

Each test class serves one example of ../shared/seed-overview.txt as written
there (the handler code is the overview's, only the import prefix changed;
HTML the overview's text lost is restored minimally) through a real
HTTPServer on 127.0.0.1 and checks what a browser would get. Examples that
belong to later distributions (squall.wsgi, squall.auth) are tested there.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import types
import urllib.parse
from typing import Any

import squall.escape
import squall.gen
import squall.httpclient
import squall.ioloop
import squall.locale
import squall.locks
import squall.web
from squall.testing import AsyncHTTPTestCase, bind_unused_port, gen_test
from squall.web import RequestHandler

SECRET = "61oETzKXQAGaYdkL5gEmGeJJFuYh7EQnp2XdTP1o/Vo="


def _cookies(response: Any) -> dict[str, str]:
    """name -> value of every Set-Cookie in ``response``."""
    jar = {}
    for header in response.headers.get_list("Set-Cookie"):
        name, _, rest = header.partition("=")
        jar[name] = rest.split(";")[0]
    return jar


def _cookie_header(jar: dict[str, str]) -> str:
    return "; ".join(f"{k}={v}" for k, v in jar.items())


class HelloWorldScriptTest(AsyncHTTPTestCase):
    """The canonical "Hello, world" program, run as a script exactly as printed."""

    PROGRAM = textwrap.dedent(
        """
        import squall.ioloop
        import squall.web

        class MainHandler(squall.web.RequestHandler):
            def get(self):
                self.write("Hello, world")

        application = squall.web.Application([
            (r"/", MainHandler),
        ])

        if __name__ == "__main__":
            application.listen(PORT, "127.0.0.1")
            print("ready", flush=True)
            squall.ioloop.IOLoop.instance().start()
        """
    )

    def get_app(self) -> squall.web.Application:
        return squall.web.Application([])

    def test_script_serves_hello_world(self) -> None:
        sock, port = bind_unused_port()
        sock.close()
        program = self.PROGRAM.replace("PORT", str(port))
        proc = subprocess.Popen(
            [sys.executable, "-c", program],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            env=dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path)),
        )
        try:
            assert proc.stdout is not None
            self.assertEqual(proc.stdout.readline().strip(), "ready")
            response = self.fetch(f"http://127.0.0.1:{port}/", http2=False)  # the script's server
            self.assertEqual(response.code, 200)
            self.assertEqual(response.body, b"Hello, world")
            self.assertEqual(response.headers["Content-Type"], "text/html; charset=UTF-8")
        finally:
            proc.terminate()
            proc.wait(10)
            if proc.stdout is not None:
                proc.stdout.close()


class RequestHandlersAndArgumentsTest(AsyncHTTPTestCase):
    def get_app(self) -> squall.web.Application:
        class MainHandler(squall.web.RequestHandler):
            def get(self):  # type: ignore[no-untyped-def]
                self.write("You requested the main page")

        class StoryHandler(squall.web.RequestHandler):
            def get(self, story_id):  # type: ignore[no-untyped-def]
                self.write("You requested the story " + story_id)

        class FormHandler(squall.web.RequestHandler):
            def get(self):  # type: ignore[no-untyped-def]
                self.write(
                    '<html><body><form action="/myform" method="POST">'
                    '<input type="text" name="message">'
                    '<input type="submit" value="Submit">'
                    "</form></body></html>"
                )

            def post(self):  # type: ignore[no-untyped-def]
                self.set_header("Content-Type", "text/plain")
                self.write("You wrote " + self.get_argument("message"))

        class UploadHandler(squall.web.RequestHandler):
            def post(self):  # type: ignore[no-untyped-def]
                info = self.request.files["upload"][0]
                self.write(
                    {
                        "filename": info["filename"],
                        "content_type": info["content_type"],
                        "body": info["body"].decode(),
                        "path": self.request.path,
                        "arguments": sorted(self.request.arguments),
                        "agent": self.request.headers["User-Agent"],
                    }
                )

        class ForbiddenHandler(squall.web.RequestHandler):
            def user_is_logged_in(self):  # type: ignore[no-untyped-def]
                return False

            def get(self):  # type: ignore[no-untyped-def]
                if not self.user_is_logged_in():
                    raise squall.web.HTTPError(403)

        return squall.web.Application(
            [
                (r"/", MainHandler),
                (r"/story/([0-9]+)", StoryHandler),
                (r"/myform", FormHandler),
                (r"/upload", UploadHandler),
                (r"/forbidden", ForbiddenHandler),
            ]
        )

    def test_main_and_story(self) -> None:
        self.assertEqual(self.fetch("/").body, b"You requested the main page")
        self.assertEqual(self.fetch("/story/123").body, b"You requested the story 123")
        self.assertEqual(self.fetch("/story/abc").code, 404)

    def test_get_argument_form(self) -> None:
        self.assertIn(b'name="message"', self.fetch("/myform").body)
        response = self.fetch("/myform", method="POST", body="message=hi+there%21")
        self.assertEqual(response.body, b"You wrote hi there!")
        self.assertEqual(response.headers["Content-Type"], "text/plain")
        missing = self.fetch("/myform", method="POST", body="other=1")
        self.assertEqual(missing.code, 400)

    def test_uploaded_files_and_request_attributes(self) -> None:
        body = (
            b"--XyZ\r\n"
            b'Content-Disposition: form-data; name="upload"; filename="notes.txt"\r\n'
            b"Content-Type: text/plain\r\n\r\n"
            b"file contents\r\n"
            b"--XyZ\r\n"
            b'Content-Disposition: form-data; name="title"\r\n\r\n'
            b"T\r\n"
            b"--XyZ--\r\n"
        )
        response = self.fetch(
            "/upload?q=1",
            method="POST",
            body=body,
            headers={"Content-Type": "multipart/form-data; boundary=XyZ", "User-Agent": "ov"},
        )
        self.assertEqual(
            squall.escape.json_decode(response.body),
            {
                "filename": "notes.txt",
                "content_type": "text/plain",
                "body": "file contents",
                "path": "/upload",
                "arguments": ["q", "title"],
                "agent": "ov",
            },
        )

    def test_http_error(self) -> None:
        response = self.fetch("/forbidden")
        self.assertEqual(response.code, 403)
        self.assertIn(b"403: Forbidden", response.body)


class InitializeAndErrorHtmlTest(AsyncHTTPTestCase):
    def get_app(self) -> squall.web.Application:
        class ProfileHandler(RequestHandler):
            def initialize(self, database):  # type: ignore[no-untyped-def]
                self.database = database

            def get(self, username):  # type: ignore[no-untyped-def]
                self.write(self.database[username])

        class OldStyleErrors(RequestHandler):
            def get_error_html(self, status_code, exception=None, **kwargs):  # type: ignore[no-untyped-def]
                return f"<h1>Oops {status_code}</h1>"

            def get(self):  # type: ignore[no-untyped-def]
                raise squall.web.HTTPError(404)

        database = {"ada": "Ada Lovelace"}
        return squall.web.Application(
            [(r"/user/(.*)", ProfileHandler, dict(database=database)), (r"/old", OldStyleErrors)]
        )

    def test_initialize(self) -> None:
        self.assertEqual(self.fetch("/user/ada").body, b"Ada Lovelace")

    def test_get_error_html(self) -> None:
        response = self.fetch("/old")
        self.assertEqual(response.code, 404)
        self.assertEqual(response.body, b"<h1>Oops 404</h1>")


class RedirectionTest(AsyncHTTPTestCase):
    def get_app(self) -> squall.web.Application:
        class CanonicalHandler(RequestHandler):
            def get(self):  # type: ignore[no-untyped-def]
                self.redirect("/some-canonical-page", permanent=True)

        class AfterPostHandler(RequestHandler):
            def post(self):  # type: ignore[no-untyped-def]
                self.redirect("/done")

        return squall.web.Application(
            [
                (r"/canonical", CanonicalHandler),
                (r"/form", AfterPostHandler),
                (
                    r"/static/tornado-0.2.tar.gz",
                    squall.web.RedirectHandler,
                    dict(url="http://github.com/downloads/facebook/tornado/tornado-0.2.tar.gz"),
                ),
                (r"/foo", squall.web.RedirectHandler, {"url": "/bar", "permanent": False}),
            ]
        )

    def test_self_redirect(self) -> None:
        response = self.fetch("/canonical", follow_redirects=False)
        self.assertEqual(response.code, 301)
        self.assertEqual(response.headers["Location"], "/some-canonical-page")
        response = self.fetch("/form", method="POST", body="", follow_redirects=False)
        self.assertEqual(response.code, 302)

    def test_redirect_handler(self) -> None:
        response = self.fetch("/static/tornado-0.2.tar.gz", follow_redirects=False)
        self.assertEqual(response.code, 301)
        self.assertEqual(
            response.headers["Location"],
            "http://github.com/downloads/facebook/tornado/tornado-0.2.tar.gz",
        )
        response = self.fetch("/foo", follow_redirects=False)
        self.assertEqual(response.code, 302)
        self.assertEqual(response.headers["Location"], "/bar")


class TemplatesTest(AsyncHTTPTestCase):
    TEMPLATE = (
        "<html>\n   <head>\n      <title>{{ title }}</title>\n   </head>\n   <body>\n"
        "     <ul>\n       {% for item in items %}\n         <li>{{ escape(item) }}</li>\n"
        "       {% end %}\n     </ul>\n   </body>\n </html>\n"
    )
    NAMESPACE = (
        "{{ escape('<a>') }}|{{ xhtml_escape('&') }}|{{ url_escape('a b') }}|"
        "{% raw json_encode({'k': 1}) %}|{{ squeeze('a   b') }}|{% raw linkify('http://x.org') %}|"
        "{{ datetime.date(2026, 1, 2).isoformat() }}|{{ type(handler).__name__ }}|"
        "{{ request.path }}|{{ current_user }}|{{ locale.code }}|{{ _('Sign in') }}|"
        "{{ static_url('a.css') }}|{{ 'xsrf' in xsrf_form_html() }}|{{ reverse_url('ns') }}|"
        "{{ shout('hi') }}|{{ extra }}"
    )

    def get_app(self) -> squall.web.Application:
        import tempfile

        self.tmp = tempfile.TemporaryDirectory()
        folder = self.tmp.name
        with open(os.path.join(folder, "template.html"), "w") as f:
            f.write(self.TEMPLATE)
        with open(os.path.join(folder, "ns.html"), "w") as f:
            f.write(self.NAMESPACE)
        with open(os.path.join(folder, "raw.html"), "w") as f:
            f.write("{{ value }}")
        os.mkdir(os.path.join(folder, "static"))
        with open(os.path.join(folder, "static", "a.css"), "w") as f:
            f.write("body {}")

        class MainHandler(squall.web.RequestHandler):
            def get(self):  # type: ignore[no-untyped-def]
                items = ["Item 1", "Item 2", "Item <3>"]
                self.render("template.html", title="My title", items=items)

        class NamespaceHandler(squall.web.RequestHandler):
            def get_current_user(self):  # type: ignore[no-untyped-def]
                return "ada"

            def get(self):  # type: ignore[no-untyped-def]
                self.render("ns.html", extra="kw")

        class RawHandler(squall.web.RequestHandler):
            def get(self):  # type: ignore[no-untyped-def]
                self.render("raw.html", value="<b>")

        def shout(handler, text):  # type: ignore[no-untyped-def]
            return text.upper() + "!"

        return squall.web.Application(
            [
                (r"/", MainHandler),
                squall.web.url(r"/ns", NamespaceHandler, name="ns"),
                (r"/raw", RawHandler),
            ],
            template_path=folder,
            static_path=os.path.join(folder, "static"),
            ui_methods={"shout": shout},
            autoescape=None if self._testMethodName == "test_autoescape_none" else "xhtml_escape",
        )

    def tearDown(self) -> None:
        super().tearDown()
        self.tmp.cleanup()

    def test_template_example(self) -> None:
        body = self.fetch("/").body.decode()
        self.assertIn("<title>My title</title>", body)
        self.assertIn("<li>Item 1</li>", body)
        self.assertIn("<li>Item &lt;3&gt;</li>", body)

    def test_whole_namespace(self) -> None:
        parts = self.fetch("/ns").body.decode().split("|")
        # escape() returns SafeHTML, which autoescaping does not escape again.
        self.assertEqual(parts[0], "&lt;a&gt;")
        self.assertEqual(parts[1], "&amp;")
        self.assertEqual(parts[2], "a+b")
        self.assertEqual(parts[3], '{"k": 1}')
        self.assertEqual(parts[4], "a b")
        self.assertEqual(parts[5], '<a href="http://x.org">http://x.org</a>')
        self.assertEqual(parts[6], "2026-01-02")
        self.assertEqual(parts[7], "NamespaceHandler")
        self.assertEqual(parts[8], "/ns")
        self.assertEqual(parts[9], "ada")
        self.assertEqual(parts[10], "en_US")
        self.assertEqual(parts[11], "Sign in")
        self.assertRegex(parts[12], r"^/static/a\.css\?v=[0-9a-f]+$")
        self.assertEqual(parts[13], "True")
        self.assertEqual(parts[14], "/ns")
        self.assertEqual(parts[15], "HI!")
        self.assertEqual(parts[16], "kw")

    def test_autoescape_none(self) -> None:
        self.assertEqual(self.fetch("/raw").body, b"<b>")

    def test_autoescape_default(self) -> None:
        self.assertEqual(self.fetch("/raw").body, b"&lt;b&gt;")


class CookiesTest(AsyncHTTPTestCase):
    def get_app(self) -> squall.web.Application:
        class PlainHandler(squall.web.RequestHandler):
            def get(self):  # type: ignore[no-untyped-def]
                if not self.get_cookie("mycookie"):
                    self.set_cookie("mycookie", "myvalue")
                    self.write("Your cookie was not set yet!")
                else:
                    self.write("Your cookie was set!")

        class SecureHandler(squall.web.RequestHandler):
            def get(self):  # type: ignore[no-untyped-def]
                if not self.get_secure_cookie("mycookie"):
                    self.set_secure_cookie("mycookie", "myvalue")
                    self.write("Your cookie was not set yet!")
                else:
                    self.write("Your cookie was set!")

        return squall.web.Application(
            [(r"/", PlainHandler), (r"/secure", SecureHandler)], cookie_secret=SECRET
        )

    def _twice(self, path: str) -> tuple[Any, Any, dict[str, str]]:
        first = self.fetch(path)
        jar = _cookies(first)
        second = self.fetch(path, headers={"Cookie": _cookie_header(jar)})
        return first, second, jar

    def test_plain_cookie(self) -> None:
        first, second, jar = self._twice("/")
        self.assertEqual(first.body, b"Your cookie was not set yet!")
        self.assertEqual(jar["mycookie"], "myvalue")
        self.assertEqual(second.body, b"Your cookie was set!")

    def test_secure_cookie(self) -> None:
        first, second, jar = self._twice("/secure")
        self.assertEqual(first.body, b"Your cookie was not set yet!")
        self.assertNotEqual(jar["mycookie"], "myvalue")
        self.assertEqual(second.body, b"Your cookie was set!")
        forged = self.fetch("/secure", headers={"Cookie": "mycookie=myvalue"})
        self.assertEqual(forged.body, b"Your cookie was not set yet!")


def _login_handlers() -> tuple[type, type, type]:
    class BaseHandler(squall.web.RequestHandler):
        def get_current_user(self):  # type: ignore[no-untyped-def]
            return self.get_secure_cookie("user")

    class MainHandler(BaseHandler):
        def get(self):  # type: ignore[no-untyped-def]
            if not self.current_user:
                self.redirect("/login")
                return
            name = squall.escape.xhtml_escape(self.current_user)
            self.write("Hello, " + name)

    class LoginHandler(BaseHandler):
        def get(self):  # type: ignore[no-untyped-def]
            self.write(
                '<html><body><form action="/login" method="post">'
                'Name: <input type="text" name="name">'
                '<input type="submit" value="Sign in">'
                "</form></body></html>"
            )

        def post(self):  # type: ignore[no-untyped-def]
            self.set_secure_cookie("user", self.get_argument("name"))
            self.redirect("/")

    return BaseHandler, MainHandler, LoginHandler


class UserAuthenticationTest(AsyncHTTPTestCase):
    def get_app(self) -> squall.web.Application:
        _, MainHandler, LoginHandler = _login_handlers()
        return squall.web.Application(
            [(r"/", MainHandler), (r"/login", LoginHandler)], cookie_secret=SECRET
        )

    def test_login_flow(self) -> None:
        response = self.fetch("/", follow_redirects=False)
        self.assertEqual(response.code, 302)
        self.assertEqual(response.headers["Location"], "/login")
        self.assertIn(b'name="name"', self.fetch("/login").body)
        response = self.fetch(
            "/login", method="POST", body="name=Ada+%3Cx%3E", follow_redirects=False
        )
        self.assertEqual(response.code, 302)
        jar = _cookies(response)
        response = self.fetch("/", headers={"Cookie": _cookie_header(jar)})
        self.assertEqual(response.body, b"Hello, Ada &lt;x&gt;")


class AuthenticatedDecoratorTest(AsyncHTTPTestCase):
    def get_app(self) -> squall.web.Application:
        BaseHandler, _, LoginHandler = _login_handlers()

        class MainHandler(BaseHandler):  # type: ignore[valid-type,misc]
            @squall.web.authenticated
            def get(self):  # type: ignore[no-untyped-def]
                name = squall.escape.xhtml_escape(self.current_user)
                self.write("Hello, " + name)

            @squall.web.authenticated
            def post(self):  # type: ignore[no-untyped-def]
                self.write("posted")

        settings = {"cookie_secret": SECRET, "login_url": "/login"}
        return squall.web.Application([(r"/", MainHandler), (r"/login", LoginHandler)], **settings)

    def test_get_redirects_to_login_url(self) -> None:
        response = self.fetch("/", follow_redirects=False)
        self.assertEqual(response.code, 302)
        self.assertEqual(response.headers["Location"], "/login?next=%2F")

    def test_post_is_forbidden(self) -> None:
        self.assertEqual(self.fetch("/", method="POST", body="").code, 403)

    def test_signed_in(self) -> None:
        login = self.fetch("/login", method="POST", body="name=Ada", follow_redirects=False)
        jar = _cookies(login)
        self.assertEqual(
            self.fetch("/", headers={"Cookie": _cookie_header(jar)}).body, b"Hello, Ada"
        )


class XSRFTest(AsyncHTTPTestCase):
    def get_app(self) -> squall.web.Application:
        BaseHandler, MainHandler, _ = _login_handlers()

        class LoginHandler(BaseHandler):  # type: ignore[valid-type,misc]
            def get(self):  # type: ignore[no-untyped-def]
                self.write(
                    '<form action="/login" method="post">'
                    + self.xsrf_form_html()
                    + '<input type="text" name="name"><input type="submit" value="Sign in"></form>'
                )

            def post(self):  # type: ignore[no-untyped-def]
                self.set_secure_cookie("user", self.get_argument("name"))
                self.redirect("/")

            def put(self):  # type: ignore[no-untyped-def]
                self.write("put ok")

            def delete(self):  # type: ignore[no-untyped-def]
                self.write("delete ok")

        class APIHandler(BaseHandler):  # type: ignore[valid-type,misc]
            def check_xsrf_cookie(self):  # type: ignore[no-untyped-def]
                pass

            def post(self):  # type: ignore[no-untyped-def]
                self.write("api ok")

        settings = {"cookie_secret": SECRET, "login_url": "/login", "xsrf_cookies": True}
        return squall.web.Application(
            [(r"/", MainHandler), (r"/login", LoginHandler), (r"/api", APIHandler)], **settings
        )

    def _form(self) -> tuple[str, str]:
        response = self.fetch("/login")
        jar = _cookies(response)
        self.assertIn("_xsrf", jar)
        html = response.body.decode()
        start = html.index('name="_xsrf" value="') + len('name="_xsrf" value="')
        return jar["_xsrf"], html[start : html.index('"', start)]

    def test_everyone_gets_the_cookie(self) -> None:
        self.assertIn("_xsrf", _cookies(self.fetch("/login")))

    def test_post_without_token_is_rejected(self) -> None:
        cookie, _ = self._form()
        response = self.fetch(
            "/login", method="POST", body="name=x", headers={"Cookie": f"_xsrf={cookie}"}
        )
        self.assertEqual(response.code, 403)
        self.assertEqual(self.fetch("/login", method="POST", body="name=x").code, 403)

    def test_post_with_form_field(self) -> None:
        cookie, field = self._form()
        body = urllib.parse.urlencode({"name": "Ada", "_xsrf": field})
        response = self.fetch(
            "/login",
            method="POST",
            body=body,
            headers={"Cookie": f"_xsrf={cookie}"},
            follow_redirects=False,
        )
        self.assertEqual(response.code, 302)

    def test_ajax_post_with_cookie_value(self) -> None:
        # the overview's jQuery.postJSON sends the cookie's own value as _xsrf
        cookie, _ = self._form()
        response = self.fetch(
            "/login",
            method="POST",
            body=urllib.parse.urlencode({"name": "Ada", "_xsrf": cookie}),
            headers={"Cookie": f"_xsrf={cookie}"},
            follow_redirects=False,
        )
        self.assertEqual(response.code, 302)

    def test_put_and_delete_with_header(self) -> None:
        cookie, field = self._form()
        for method in ("PUT", "DELETE"):
            response = self.fetch(
                "/login",
                method=method,
                body="" if method == "PUT" else None,
                headers={"Cookie": f"_xsrf={cookie}", "X-XSRFToken": field},
                allow_nonstandard_methods=True,
            )
            self.assertEqual(response.code, 200, method)
            bare = self.fetch(
                "/login",
                method=method,
                body="" if method == "PUT" else None,
                headers={"Cookie": f"_xsrf={cookie}"},
                allow_nonstandard_methods=True,
            )
            self.assertEqual(bare.code, 403, method)

    def test_check_xsrf_cookie_overridden(self) -> None:
        self.assertEqual(self.fetch("/api", method="POST", body="").body, b"api ok")


class StaticFilesTest(AsyncHTTPTestCase):
    def get_app(self) -> squall.web.Application:
        import tempfile

        self.tmp = tempfile.TemporaryDirectory()
        static = self.tmp.name
        for name, data in {
            "foo.png": b"\x89PNG fake",
            "robots.txt": b"User-agent: *\n",
            "favicon.ico": b"ico",
            "apple-touch-icon.png": b"apple",
        }.items():
            with open(os.path.join(static, name), "wb") as f:
                f.write(data)
        os.mkdir(os.path.join(static, "images"))
        with open(os.path.join(static, "images", "logo.png"), "wb") as f:
            f.write(b"logo")

        class MainHandler(RequestHandler):
            def get(self):  # type: ignore[no-untyped-def]
                self.write(self.static_url("images/logo.png"))

        settings = {
            "static_path": static,
            "cookie_secret": SECRET,
            "login_url": "/login",
            "xsrf_cookies": True,
        }
        return squall.web.Application(
            [
                (r"/", MainHandler),
                (
                    r"/(apple-touch-icon\.png)",
                    squall.web.StaticFileHandler,
                    dict(path=settings["static_path"]),
                ),
            ],
            **settings,
        )

    def tearDown(self) -> None:
        super().tearDown()
        self.tmp.cleanup()

    def test_static_prefix_robots_favicon_and_root_file(self) -> None:
        self.assertEqual(self.fetch("/static/foo.png").body, b"\x89PNG fake")
        self.assertEqual(self.fetch("/static/foo.png").headers["Content-Type"], "image/png")
        self.assertEqual(self.fetch("/robots.txt").body, b"User-agent: *\n")
        self.assertEqual(self.fetch("/favicon.ico").body, b"ico")
        self.assertEqual(self.fetch("/apple-touch-icon.png").body, b"apple")

    def test_static_url_versioning(self) -> None:
        url = self.fetch("/").body.decode()
        self.assertRegex(url, r"^/static/images/logo\.png\?v=[0-9a-f]{5,}$")
        versioned = self.fetch(url)
        self.assertEqual(versioned.body, b"logo")
        self.assertIn("max-age=31536000", versioned.headers["Cache-Control"])
        self.assertIn("Expires", versioned.headers)
        plain = self.fetch("/static/images/logo.png")
        self.assertNotIn("max-age=31536000", plain.headers.get("Cache-Control", ""))


class LocalizationTest(AsyncHTTPTestCase):
    def get_app(self) -> squall.web.Application:
        import tempfile

        self.tmp = tempfile.TemporaryDirectory()
        translations = os.path.join(self.tmp.name, "translations")
        os.mkdir(translations)
        with open(os.path.join(translations, "es.csv"), "w") as f:
            f.write(
                '"Translate this string","Traduce esta cadena"\n'
                '"A person liked this","A una persona le gustó esto","singular"\n'
                '"%(num)d people liked this","A %(num)d personas les gustó esto","plural"\n'
                '"Sign in","Entrar"\n'
                '"Username","Usuario"\n'
                '"Password","Contraseña"\n'
            )
        with open(os.path.join(self.tmp.name, "signin.html"), "w") as f:
            f.write(
                '<html><head><title>FriendFeed - {{ _("Sign in") }}</title></head><body>'
                '<form action="{{ request.path }}" method="post">'
                '<div>{{ _("Username") }} <input type="text" name="username"/></div>'
                '<div>{{ _("Password") }} <input type="password" name="password"/></div>'
                '<div><input type="submit" value="{{ _("Sign in") }}"/></div>'
                "</form></body></html>"
            )
        squall.locale.load_translations(translations)

        class PeopleHandler(RequestHandler):
            def get(self):  # type: ignore[no-untyped-def]
                people = self.get_arguments("p")
                _ = self.locale.translate
                self.write(
                    {
                        "name": self.locale.code,
                        "plain": _("Translate this string"),
                        "plural": _("A person liked this", "%(num)d people liked this", len(people))
                        % {"num": len(people)},
                    }
                )

        class SignInHandler(RequestHandler):
            def get(self):  # type: ignore[no-untyped-def]
                self.render("signin.html")

        class PrefsHandler(RequestHandler):
            def get_current_user(self):  # type: ignore[no-untyped-def]
                return types.SimpleNamespace(prefs={"locale": squall.locale.get("es")})

            def get_user_locale(self):  # type: ignore[no-untyped-def]
                if "locale" not in self.current_user.prefs:
                    return None
                return self.current_user.prefs["locale"]

            def get(self):  # type: ignore[no-untyped-def]
                self.write(self.locale.code)

        return squall.web.Application(
            [(r"/people", PeopleHandler), (r"/signin", SignInHandler), (r"/prefs", PrefsHandler)],
            template_path=self.tmp.name,
        )

    def tearDown(self) -> None:
        super().tearDown()
        squall.locale.load_translations(self.tmp.name)  # forget the test's translations
        self.tmp.cleanup()

    def _people(self, count: int, language: str | None) -> dict[str, str]:
        headers = {"Accept-Language": language} if language else {}
        query = "&".join("p=x" for _ in range(count))
        return squall.escape.json_decode(self.fetch(f"/people?{query}", headers=headers).body)  # type: ignore[no-any-return]

    def test_accept_language_closest_match(self) -> None:
        self.assertIn("es", squall.locale.get_supported_locales())
        result = self._people(1, "es-GT,es;q=0.8")
        self.assertEqual(result["name"], "es")
        self.assertEqual(result["plain"], "Traduce esta cadena")
        self.assertEqual(result["plural"], "A una persona le gustó esto")
        self.assertEqual(self._people(3, "es")["plural"], "A 3 personas les gustó esto")

    def test_fallback_en_us(self) -> None:
        result = self._people(2, "xx-YY")
        self.assertEqual(result["name"], "en_US")
        self.assertEqual(result["plural"], "2 people liked this")
        self.assertEqual(self._people(1, None)["plain"], "Translate this string")

    def test_localized_template(self) -> None:
        body = self.fetch("/signin", headers={"Accept-Language": "es"}).body.decode()
        self.assertIn("<title>FriendFeed - Entrar</title>", body)
        self.assertIn("Usuario", body)
        self.assertIn("Contraseña", body)
        self.assertIn('value="Entrar"', body)

    def test_get_user_locale_override(self) -> None:
        self.assertEqual(self.fetch("/prefs", headers={"Accept-Language": "en"}).body, b"es")


class UIModulesTest(AsyncHTTPTestCase):
    ENTRIES = [{"id": 1, "title": "First"}, {"id": 2, "title": "Second"}]

    def get_app(self) -> squall.web.Application:
        import tempfile

        self.tmp = tempfile.TemporaryDirectory()
        templates = {
            "module-entry.html": (
                '<div class="entry">{{ entry["title"] }}'
                "{% if show_comments %} (comments){% end %}</div>"
            ),
            "home.html": (
                "<html><head><title>t</title></head><body>"
                "{% for entry in entries %}{% module Entry(entry) %}{% end %}</body></html>"
            ),
            "entry.html": (
                "<html><head></head><body>{% module Entry(entry, show_comments=True) %}</body></html>"
            ),
            "template-module-entry.html": (
                '{{ set_resources(embedded_css=".entry { margin-bottom: 1em; }") }}'
                '<div class="entry">{{ show_comments }}</div>'
            ),
            "template-home.html": (
                "<html><head></head><body>"
                '{% module Template("template-module-entry.html", show_comments=True) %}'
                '{% module Template("template-module-entry.html", show_comments=False) %}'
                "</body></html>"
            ),
        }
        for name, text in templates.items():
            with open(os.path.join(self.tmp.name, name), "w") as f:
                f.write(text)

        # "uimodules.py": a real Python module object, as the overview passes one
        uimodules = types.ModuleType("uimodules")

        class Entry(squall.web.UIModule):
            def embedded_css(self):  # type: ignore[no-untyped-def]
                return ".entry { margin-bottom: 1em; }"

            def render(self, entry, show_comments=False):  # type: ignore[no-untyped-def]
                return self.render_string(
                    "module-entry.html", entry=entry, show_comments=show_comments
                )

        uimodules.Entry = Entry  # type: ignore[attr-defined]
        entries = self.ENTRIES

        class HomeHandler(squall.web.RequestHandler):
            def get(self):  # type: ignore[no-untyped-def]
                self.render("home.html", entries=entries)

        class EntryHandler(squall.web.RequestHandler):
            def get(self, entry_id):  # type: ignore[no-untyped-def]
                entry = next((e for e in entries if e["id"] == int(entry_id)), None)
                if not entry:
                    raise squall.web.HTTPError(404)
                self.render("entry.html", entry=entry)

        class TemplateHomeHandler(squall.web.RequestHandler):
            def get(self):  # type: ignore[no-untyped-def]
                self.render("template-home.html")

        settings = {"ui_modules": uimodules, "template_path": self.tmp.name}
        return squall.web.Application(
            [
                (r"/", HomeHandler),
                (r"/entry/([0-9]+)", EntryHandler),
                (r"/template", TemplateHomeHandler),
            ],
            **settings,
        )

    def tearDown(self) -> None:
        super().tearDown()
        self.tmp.cleanup()

    def test_module_rendered_per_entry_css_once_in_head(self) -> None:
        body = self.fetch("/").body.decode()
        self.assertEqual(body.count('<div class="entry">'), 2)
        head, _, rest = body.partition("</head>")
        self.assertIn(".entry { margin-bottom: 1em; }", head)
        self.assertEqual(body.count(".entry { margin-bottom: 1em; }"), 1)
        self.assertNotIn("(comments)", body)

    def test_show_comments(self) -> None:
        self.assertIn("Second (comments)", self.fetch("/entry/2").body.decode())
        self.assertEqual(self.fetch("/entry/9").code, 404)

    def test_template_module_with_set_resources(self) -> None:
        body = self.fetch("/template").body.decode()
        self.assertIn('<div class="entry">True</div>', body)
        self.assertIn('<div class="entry">False</div>', body)
        head = body.partition("</head>")[0]
        self.assertEqual(head.count(".entry { margin-bottom: 1em; }"), 1)
        self.assertEqual(body.count(".entry { margin-bottom: 1em; }"), 1)


class AsynchronousTest(AsyncHTTPTestCase):
    def get_app(self) -> squall.web.Application:
        test = self

        class FeedHandler(RequestHandler):
            def get(self):  # type: ignore[no-untyped-def]
                self.write({"entries": [1, 2, 3]})

        class MainHandler(squall.web.RequestHandler):
            @squall.web.asynchronous
            def get(self):  # type: ignore[no-untyped-def]
                self.write("Hello, world")
                self.finish()

        class FetchHandler(squall.web.RequestHandler):
            @squall.web.asynchronous
            def get(self):  # type: ignore[no-untyped-def]
                http = squall.httpclient.AsyncHTTPClient()
                http.fetch(test.get_url("/feed"), callback=self.on_response)

            def on_response(self, response):  # type: ignore[no-untyped-def]
                if response.error:
                    raise squall.web.HTTPError(500)
                json = squall.escape.json_decode(response.body)
                self.write(
                    "Fetched " + str(len(json["entries"])) + " entries from the FriendFeed API"
                )
                self.finish()

        class BrokenFetchHandler(FetchHandler):
            @squall.web.asynchronous
            def get(self):  # type: ignore[no-untyped-def]
                http = squall.httpclient.AsyncHTTPClient()
                http.fetch(test.get_url("/missing"), callback=self.on_response)

        return squall.web.Application(
            [
                (r"/", MainHandler),
                (r"/feed", FeedHandler),
                (r"/fetch", FetchHandler),
                (r"/broken", BrokenFetchHandler),
            ]
        )

    def test_finish_inside_method(self) -> None:
        self.assertEqual(self.fetch("/").body, b"Hello, world")

    def test_finish_from_fetch_callback(self) -> None:
        response = self.fetch("/fetch")
        self.assertEqual(response.code, 200)
        self.assertEqual(response.body, b"Fetched 3 entries from the FriendFeed API")

    def test_http_error_raised_in_callback_answers_500(self) -> None:
        from squall.testing import ExpectLog

        with ExpectLog("squall", ".*", required=False):
            response = self.fetch("/broken")
        self.assertEqual(response.code, 500)


class LongPollingTest(AsyncHTTPTestCase):
    """The chat example's long polling: waiters kept open, cleaned up on close."""

    def get_app(self) -> squall.web.Application:
        self.waiters: list[Any] = []
        self.closed = squall.locks.Event()
        waiters = self.waiters
        closed = self.closed

        class UpdatesHandler(RequestHandler):
            @squall.web.asynchronous
            def post(self):  # type: ignore[no-untyped-def]
                waiters.append(self.on_new_messages)

            def on_new_messages(self, messages):  # type: ignore[no-untyped-def]
                self.finish({"messages": messages})

            def on_connection_close(self):  # type: ignore[no-untyped-def]
                waiters.remove(self.on_new_messages)
                closed.set()

        class NewHandler(RequestHandler):
            def post(self):  # type: ignore[no-untyped-def]
                message = self.get_argument("body")
                for callback in list(waiters):
                    callback([message])
                waiters.clear()
                self.write("sent")

        return squall.web.Application([(r"/updates", UpdatesHandler), (r"/new", NewHandler)])

    @gen_test
    async def test_waiter_gets_message(self) -> None:
        client = squall.httpclient.AsyncHTTPClient()
        waiting = client.fetch(self.get_url("/updates"), method="POST", body="")
        for _ in range(200):
            if self.waiters:
                break
            await squall.gen.sleep(0.01)
        self.assertEqual(len(self.waiters), 1)
        sent = await client.fetch(self.get_url("/new"), method="POST", body="body=hi")
        self.assertEqual(sent.body, b"sent")
        response = await waiting
        self.assertEqual(squall.escape.json_decode(response.body), {"messages": ["hi"]})

    @gen_test
    async def test_on_connection_close_cleans_up(self) -> None:
        import socket

        sock = socket.create_connection(("127.0.0.1", self.get_http_port()))
        sock.sendall(b"POST /updates HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n")
        for _ in range(200):
            if self.waiters:
                break
            await squall.gen.sleep(0.01)
        self.assertEqual(len(self.waiters), 1)
        sock.close()
        await self.closed.wait()
        self.assertEqual(self.waiters, [])


class DebugModeTest(AsyncHTTPTestCase):
    def get_app(self) -> squall.web.Application:
        import tempfile

        self.tmp = tempfile.TemporaryDirectory()
        self.page = os.path.join(self.tmp.name, "page.html")
        with open(self.page, "w") as f:
            f.write("one")

        class PageHandler(RequestHandler):
            def get(self):  # type: ignore[no-untyped-def]
                self.render("page.html")

        class BoomHandler(RequestHandler):
            def get(self):  # type: ignore[no-untyped-def]
                raise ValueError("boom in debug")

        self.app = squall.web.Application(
            [(r"/", PageHandler), (r"/boom", BoomHandler)],
            template_path=self.tmp.name,
            debug=True,
            autoreload=False,  # the test must not re-exec the test runner
        )
        return self.app

    def tearDown(self) -> None:
        super().tearDown()
        self.tmp.cleanup()

    def test_debug_settings(self) -> None:
        settings = self.app.settings
        self.assertFalse(settings["compiled_template_cache"])
        self.assertFalse(settings["static_hash_cache"])
        self.assertTrue(settings["serve_traceback"])

    def test_templates_not_cached(self) -> None:
        self.assertEqual(self.fetch("/").body, b"one")
        with open(self.page, "w") as f:
            f.write("two")
        self.assertEqual(self.fetch("/").body, b"two")

    def test_traceback_served(self) -> None:
        from squall.testing import ExpectLog

        with ExpectLog("squall", ".*", required=False):
            response = self.fetch("/boom")
        self.assertEqual(response.code, 500)
        self.assertIn(b"ValueError: boom in debug", response.body)
        self.assertIn(b"Traceback", response.body)

    def test_debug_turns_on_autoreload(self) -> None:
        app = squall.web.Application([], debug=True)
        self.assertTrue(app.settings["autoreload"])
