"""Users, login redirects, slashes, redirect/fallback handlers, cookies, XSRF, templates, locale.

Served with the pytest fixtures of squall.testing (``app`` -> ``fetch``).
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import textwrap
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from squall.httputil import HTTPHeaders, HTTPServerRequest, ResponseStartLine
from squall.web import (
    Application,
    FallbackHandler,
    RedirectHandler,
    RequestHandler,
    addslash,
    authenticated,
    removeslash,
)

from squall import escape, locale

pytest_plugins = ["squall.testing.pytest_plugin"]

Fetch = Callable[..., Awaitable[Any]]
SECRET = "61oETzKXQAGaYdkL5gEmGeJJFuYh7EQnp2XdTP1o/Vo="


class BaseHandler(RequestHandler):
    def get_current_user(self) -> Any:
        return self.get_secure_cookie("user")


class MainHandler(BaseHandler):
    @authenticated
    def get(self) -> None:
        name = escape.xhtml_escape(self.current_user)
        self.write("Hello, " + name)

    @authenticated
    def post(self) -> None:
        self.write("posted")


class LoginHandler(BaseHandler):
    def get(self) -> None:
        self.write(
            '<html><body><form action="/login" method="post">'
            'Name: <input type="text" name="name">'
            + self.xsrf_form_html()
            + '<input type="submit" value="Sign in">'
            "</form></body></html>"
        )

    def post(self) -> None:
        self.set_secure_cookie("user", self.get_argument("name"))
        self.redirect("/")


class ManualLoginCheck(BaseHandler):
    def get(self) -> None:
        if not self.current_user:
            self.redirect("/login")
            return
        self.write("in")


class AssignedUser(RequestHandler):
    def prepare(self) -> None:
        self.current_user = "assigned"

    @authenticated
    def get(self) -> None:
        self.write(self.current_user)


class AbsoluteLogin(RequestHandler):
    def get_login_url(self) -> str:
        return "https://accounts.example/login"

    @authenticated
    def get(self) -> None:
        self.write("never")


class SlashHandler(RequestHandler):
    @addslash
    def get(self) -> None:
        self.write("with slash")

    @addslash
    def post(self) -> None:
        self.write("posted")


class NoSlashHandler(RequestHandler):
    @removeslash
    def get(self) -> None:
        self.write("without slash " + self.request.path)


def legacy_app(request: HTTPServerRequest) -> None:
    body = f"legacy saw {request.path} {request.body.decode()}".encode()
    request.connection.write_headers(
        ResponseStartLine("HTTP/1.1", 200, "OK"),
        HTTPHeaders({"Content-Length": str(len(body)), "Content-Type": "text/plain"}),
        body,
    )
    request.connection.finish()


def cookies_of(response: Any) -> dict[str, str]:
    jar = {}
    for line in response.headers.get_list("Set-Cookie"):
        name, _, rest = line.partition("=")
        jar[name] = rest.split(";")[0]
    return jar


@pytest.fixture
def app() -> Application:
    return Application(
        [
            (r"/", MainHandler),
            (r"/login", LoginHandler),
            (r"/manual", ManualLoginCheck),
            (r"/assigned", AssignedUser),
            (r"/absolute", AbsoluteLogin),
            (r"/slash/?", SlashHandler),
            (r"/noslash/*", NoSlashHandler),
            (r"/", NoSlashHandler),
            (
                r"/static/tornado-0.2.tar.gz",
                RedirectHandler,
                {"url": "https://example.org/t.tar.gz"},
            ),
            (r"/foo", RedirectHandler, {"url": "/bar", "permanent": False}),
            (r"/pics/(\w+)/(\w+)", RedirectHandler, {"url": "/photos/{1}/{0}"}),
            (r"/named/(?P<who>\w+)", RedirectHandler, {"url": "/people/{who}"}),
            (r"/legacy/.*", FallbackHandler, {"fallback": legacy_app}),
        ],
        cookie_secret=SECRET,
        login_url="/login",
        xsrf_cookies=True,
    )


async def test_authenticated_get_redirects_to_login_with_next(fetch: Fetch) -> None:
    response = await fetch("/?x=1", follow_redirects=False)
    assert response.code == 302
    assert response.headers["Location"] == "/login?next=%2F%3Fx%3D1"


async def test_authenticated_post_is_403(fetch: Fetch) -> None:
    response = await fetch("/", method="POST", body="", headers={"X-Xsrftoken": "x"})
    assert response.code == 403


async def test_absolute_login_url_gets_the_full_next_url(fetch: Fetch, base_url: str) -> None:
    response = await fetch("/absolute", follow_redirects=False)
    assert response.code == 302
    expected = "https://accounts.example/login?next=" + escape.url_escape(
        base_url.replace("http://", "http://") + "/absolute"
    )
    assert response.headers["Location"] == expected


async def test_current_user_can_be_assigned(fetch: Fetch) -> None:
    assert (await fetch("/assigned")).body == b"assigned"


async def test_overview_login_flow_with_signed_cookie_and_xsrf(fetch: Fetch) -> None:
    assert (await fetch("/manual", follow_redirects=False)).headers["Location"] == "/login"
    form = await fetch("/login")
    xsrf_cookie = cookies_of(form)["_xsrf"]
    field = re.search(rb'name="_xsrf" value="([^"]+)"', form.body)
    assert field is not None
    # Without the token the POST is refused.
    refused = await fetch("/login", method="POST", body="name=ann", follow_redirects=False)
    assert refused.code == 403
    headers = {"Cookie": f"_xsrf={xsrf_cookie}"}
    body = "name=ann&_xsrf=" + escape.url_escape(field.group(1))
    login = await fetch("/login", method="POST", body=body, headers=headers, follow_redirects=False)
    assert login.code == 302 and login.headers["Location"] == "/"
    user_cookie = cookies_of(login)["user"]
    assert user_cookie.startswith("2|")  # signed, version 2
    headers["Cookie"] += f"; user={user_cookie}"
    assert (await fetch("/", headers=headers)).body == b"Hello, ann"
    assert (await fetch("/manual", headers=headers)).body == b"in"
    # A tampered cookie is nobody.
    forged = headers["Cookie"].replace(user_cookie, user_cookie[:-2] + "00")
    assert (await fetch("/manual", headers={"Cookie": forged}, follow_redirects=False)).code == 302
    # The token also works from the header.
    via_header = await fetch(
        "/",
        method="POST",
        body="",
        headers={**headers, "X-Xsrftoken": field.group(1).decode()},
    )
    assert via_header.body == b"posted"


async def test_xsrf_cookie_is_set_for_everyone_on_get(fetch: Fetch) -> None:
    response = await fetch("/noslash")
    assert "_xsrf" in cookies_of(response)


async def test_addslash_and_removeslash(fetch: Fetch) -> None:
    added = await fetch("/slash?q=1", follow_redirects=False)
    assert (added.code, added.headers["Location"]) == (301, "/slash/?q=1")
    assert (await fetch("/slash/")).body == b"with slash"
    cookie = cookies_of(await fetch("/slash/"))["_xsrf"]
    posted = await fetch(
        "/slash",
        method="POST",
        body="",
        headers={"Cookie": f"_xsrf={cookie}", "X-Xsrftoken": cookie},
    )
    assert posted.code == 404
    removed = await fetch("/noslash///?q=2", follow_redirects=False)
    assert (removed.code, removed.headers["Location"]) == (301, "/noslash?q=2")
    assert (await fetch("/noslash")).body == b"without slash /noslash"


async def test_redirect_handler(fetch: Fetch) -> None:
    download = await fetch("/static/tornado-0.2.tar.gz", follow_redirects=False)
    assert (download.code, download.headers["Location"]) == (301, "https://example.org/t.tar.gz")
    temporary = await fetch("/foo", follow_redirects=False)
    assert (temporary.code, temporary.headers["Location"]) == (302, "/bar")
    groups = await fetch("/pics/a/b?size=2", follow_redirects=False)
    assert groups.headers["Location"] == "/photos/b/a?size=2"
    named = await fetch("/named/ann", follow_redirects=False)
    assert named.headers["Location"] == "/people/ann"


async def test_fallback_handler_hands_over_the_request(fetch: Fetch) -> None:
    response = await fetch("/legacy/page")
    assert response.body == b"legacy saw /legacy/page "
    assert response.headers["Content-Type"] == "text/plain"


class CookieHandler(RequestHandler):
    def get(self) -> None:
        if not self.get_cookie("mycookie"):
            self.set_cookie("mycookie", "myvalue")
            self.write("Your cookie was not set yet!")
        else:
            self.write("Your cookie was set!")


class CookieOptions(RequestHandler):
    def get(self) -> None:
        self.set_cookie(
            "full",
            "v",
            domain="example.com",
            path="/p",
            expires_days=1,
            httponly=True,
            secure=True,
            samesite="Lax",
            max_age=60,
        )
        self.set_cookie("dated", "d", expires=1600000000)
        self.set_cookie("quoted", 'a"b')
        self.clear_cookie("old", path="/")
        refused = []
        for name, value in (("bad name", "x"), ("ok", "bad value"), ("ok", "tab\there")):
            try:
                self.set_cookie(name, value)
            except ValueError:
                refused.append(name)
        self.write(",".join(refused))


class SecureCookieHandler(RequestHandler):
    def get(self) -> None:
        if not self.get_secure_cookie("mycookie"):
            self.set_secure_cookie("mycookie", "myvalue")
            self.write("Your cookie was not set yet!")
        else:
            self.write("Your cookie was set!")


class KeyVersionHandler(RequestHandler):
    def get(self) -> None:
        value = self.create_signed_value("k", "v")
        self.write(
            {
                "version": self.get_signed_cookie_key_version("k", value.decode()),
                "value": self.get_signed_cookie("k", value.decode()).decode(),  # type: ignore[union-attr]
            }
        )


class ClearAllHandler(RequestHandler):
    def get(self) -> None:
        self.clear_all_cookies()


@pytest.mark.parametrize("path", ["/cookie", "/secure"])
async def test_overview_cookie_examples(io_loop: Any, http_client: Any, path: str) -> None:
    from squall.httpserver import HTTPServer
    from squall.testing import bind_unused_port

    application = Application(
        [(r"/cookie", CookieHandler), (r"/secure", SecureCookieHandler)], cookie_secret=SECRET
    )
    sock, port = bind_unused_port()
    server = HTTPServer(application)
    server.add_sockets([sock])
    try:
        first = await http_client.fetch(f"http://127.0.0.1:{port}{path}")
        assert first.body == b"Your cookie was not set yet!"
        cookie = first.headers["Set-Cookie"].split(";")[0]
        second = await http_client.fetch(
            f"http://127.0.0.1:{port}{path}", headers={"Cookie": cookie}
        )
        assert second.body == b"Your cookie was set!"
    finally:
        server.stop()
        await server.close_all_connections()


class TestCookieAttributes:
    @pytest.fixture
    def app(self) -> Application:
        return Application(
            [
                (r"/options", CookieOptions),
                (r"/versions", KeyVersionHandler),
                (r"/clear", ClearAllHandler),
            ],
            cookie_secret={1: "one", 2: "two"},
            key_version=2,
        )

    async def test_attributes_and_refusals(self, fetch: Fetch) -> None:
        response = await fetch("/options")
        assert response.body == b"bad name,ok,ok"
        lines = {line.split("=")[0]: line for line in response.headers.get_list("Set-Cookie")}
        full = lines["full"]
        for part in (
            "Domain=example.com",
            "Path=/p",
            "HttpOnly",
            "Secure",
            "SameSite=Lax",
            "Max-Age=60",
        ):
            assert part in full
        assert "expires=" in full
        assert "expires=Sun, 13 Sep 2020 12:26:40 GMT" in lines["dated"]
        assert lines["quoted"].startswith('quoted="a\\"b"')
        assert lines["old"].startswith('old=""; expires=')

    async def test_key_versions(self, fetch: Fetch) -> None:
        response = await fetch("/versions")
        assert escape.json_decode(response.body) == {"version": 2, "value": "v"}

    async def test_clear_all_cookies(self, fetch: Fetch) -> None:
        response = await fetch("/clear", headers={"Cookie": "a=1; b=2"})
        names = sorted(line.split("=")[0] for line in response.headers.get_list("Set-Cookie"))
        assert names == ["a", "b"]


class TemplateHandler(RequestHandler):
    def get_user_locale(self) -> Any:
        wanted = self.get_argument("lang", None)
        return locale.get(wanted) if wanted else None

    def get_current_user(self) -> Any:
        return "ann"

    def get(self) -> None:
        items = ["Item 1", "Item 2", "<Item 3>"]
        self.render("page.html", title="My title", items=items)


def shout(handler: RequestHandler, text: str) -> str:
    return text.upper() + "!"


@pytest.fixture
def template_dir(tmp_path: Path) -> Path:
    (tmp_path / "page.html").write_text(
        "<html><head><title>{{ title }}</title></head><body><ul>"
        "{% for item in items %}<li>{{ item }}</li>{% end %}</ul>"
        "user={{ current_user }} locale={{ locale.code }} tr={{ _('Sign in') }}"
        " shout={{ shout('hi') }} url={{ reverse_url('page') }}"
        " req={{ request.path }} handler={{ handler.__class__.__name__ }}"
        " {% module Template('mod.html', word='w') %} {% raw xsrf_form_html() %}"
        " sq={{ squeeze('a   b') }} js={{ json_encode([1]) }} dt={{ datetime.date(2020, 1, 2) }}"
        "</body></html>"
    )
    (tmp_path / "mod.html").write_text(
        "{{ set_resources(embedded_css='.mod { color: red }') }}[mod {{ word }}]"
    )
    return tmp_path


class TestTemplates:
    @pytest.fixture
    def app(self, template_dir: Path) -> Application:
        return Application(
            [(r"/page", TemplateHandler, {}, "page")],
            template_path=str(template_dir),
            ui_methods={"shout": shout},
        )

    async def test_render_with_the_whole_namespace(self, fetch: Fetch) -> None:
        response = await fetch("/page", headers={"Accept-Language": "fr-FR,fr;q=0.9"})
        assert response.code == 200, response.body
        page = response.body.decode()
        assert "<title>My title</title>" in page
        assert "<li>&lt;Item 3&gt;</li>" in page
        assert "user=ann" in page
        assert "tr=Sign in" in page
        assert "shout=HI!" in page
        assert "url=/page" in page
        assert "req=/page handler=TemplateHandler" in page
        assert "[mod w]" in page
        assert 'name="_xsrf"' in page
        assert "sq=a b" in page and "js=[1]" in page and "dt=2020-01-02" in page
        # The module's CSS went into the head.
        head = page.split("</head>")[0]
        assert ".mod { color: red }" in head

    async def test_locale_falls_back_to_en_us(self, fetch: Fetch) -> None:
        page = (await fetch("/page")).body.decode()
        assert "locale=en_US" in page


def test_event_loop_setting_serves_the_overview_on_uvloop(tmp_path: Any) -> None:
    pytest.importorskip("uvloop")
    script = tmp_path / "hello.py"
    script.write_text(
        textwrap.dedent(
            """
            import asyncio, json, socket, urllib.request
            import squall.ioloop, squall.web

            class MainHandler(squall.web.RequestHandler):
                def get(self):
                    loop = type(asyncio.get_running_loop()).__module__.split(".")[0]
                    self.write({"loop": loop})

            app = squall.web.Application([(r"/", MainHandler)], event_loop="uvloop")
            probe = socket.socket()
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
            probe.close()
            app.listen(port, "127.0.0.1")
            loop = squall.ioloop.IOLoop.current()

            def ask():
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=10) as reply:
                    print(json.loads(reply.read())["loop"])
                loop.add_callback(loop.stop)

            loop.run_in_executor(None, ask)
            loop.start()

            async def too_late():
                try:
                    squall.web.Application([], event_loop="uvloop")
                except RuntimeError as exc:
                    print("refused:", exc)

            loop.close()
            squall.ioloop.use_event_loop("asyncio")
            asyncio.run(too_late())
            """
        )
    )
    env = {k: v for k, v in os.environ.items() if k != "SQUALL_EVENT_LOOP"}
    done = subprocess.run(
        [sys.executable, str(script)], capture_output=True, text=True, timeout=60, env=env
    )
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0] == "uvloop"
    assert lines[1].startswith("refused: event loop 'uvloop' requested")
