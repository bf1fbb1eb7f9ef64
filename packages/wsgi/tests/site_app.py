"""A squall.web site served by WSGI servers in the squall-wsgi tests.

gunicorn imports it as ``site_app:application`` (``--chdir`` here); the
wsgiref tests load the same file.  It exercises what a synchronous handler
can do, plus handlers that need the event loop and must be refused.
"""

from __future__ import annotations

import asyncio
import os

import squall.ioloop
import squall.web
import squall.wsgi

HERE = os.path.dirname(os.path.abspath(__file__))
SECRET = "61oETzKXQAGaYdkL5gEmGeJJFuYh7EQnp2XdTP1o/Vo="


class MainHandler(squall.web.RequestHandler):
    def get(self):
        self.write("Hello, world")


class PageHandler(squall.web.RequestHandler):
    def get(self):
        self.render("page.html", title="Entries & <more>", items=["one", "<two>"])


class CookieHandler(squall.web.RequestHandler):
    def get(self):
        seen = self.get_cookie("visit", "none")
        self.set_cookie("visit", "again")
        self.write(f"visit={seen}")


class LoginHandler(squall.web.RequestHandler):
    def get(self):
        self.set_signed_cookie("user", self.get_argument("name"))
        self.redirect(self.get_argument("next", "/whoami"))


class WhoAmIHandler(squall.web.RequestHandler):
    def get_current_user(self):
        user = self.get_signed_cookie("user")
        return user.decode() if user else None

    @squall.web.authenticated
    def get(self):
        self.write(f"user={self.current_user}")


class FormHandler(squall.web.RequestHandler):
    def get(self):
        self.write(self.xsrf_form_html())

    def post(self):
        self.write(f"You wrote {self.get_argument('message')}")


class UploadHandler(squall.web.RequestHandler):
    def check_xsrf_cookie(self):
        pass

    def post(self):
        upload = self.request.files["doc"][0]
        self.write({"filename": upload.filename, "size": len(upload.body)})


class ErrorsHandler(squall.web.RequestHandler):
    def get(self, kind):
        if kind == "forbidden":
            raise squall.web.HTTPError(403)
        if kind == "crash":
            raise ValueError("handler crashed")
        self.send_error(418)


class FlushHandler(squall.web.RequestHandler):
    def get(self):
        self.write("first,")
        self.flush()
        self.write("second")


class CoroutineReadyHandler(squall.web.RequestHandler):
    async def get(self):
        await asyncio.sleep(0)
        self.write("coroutine finished without waiting")


class CoroutineWaitingHandler(squall.web.RequestHandler):
    async def get(self):
        await asyncio.sleep(0.05)
        self.write("never sent")


class ClassicCallbackHandler(squall.web.RequestHandler):
    @squall.web.asynchronous
    def get(self):
        squall.ioloop.IOLoop.current().add_callback(self._done)

    def _done(self):
        self.finish("finished from a callback")


class ClassicTimerHandler(squall.web.RequestHandler):
    @squall.web.asynchronous
    def get(self):
        squall.ioloop.IOLoop.current().call_later(0.05, self.finish)


class ClassicForgottenHandler(squall.web.RequestHandler):
    @squall.web.asynchronous
    def get(self):
        self.write("never finished")


def make_application() -> squall.wsgi.WSGIApplication:
    return squall.wsgi.WSGIApplication(
        [
            (r"/", MainHandler),
            (r"/page", PageHandler),
            (r"/cookie", CookieHandler),
            (r"/login", LoginHandler),
            (r"/whoami", WhoAmIHandler),
            (r"/form", FormHandler),
            (r"/upload", UploadHandler),
            (r"/errors/(\w+)", ErrorsHandler),
            (r"/flush", FlushHandler),
            (r"/coroutine/ready", CoroutineReadyHandler),
            (r"/coroutine/waiting", CoroutineWaitingHandler),
            (r"/classic/callback", ClassicCallbackHandler),
            (r"/classic/timer", ClassicTimerHandler),
            (r"/classic/forgotten", ClassicForgottenHandler),
            (r"/foo", squall.web.RedirectHandler, {"url": "/bar", "permanent": False}),
            (r"/old", squall.web.RedirectHandler, {"url": "/"}),
        ],
        template_path=os.path.join(HERE, "site", "templates"),
        static_path=os.path.join(HERE, "site", "static"),
        cookie_secret=SECRET,
        login_url="/login",
        xsrf_cookies=True,
    )


application = make_application()
