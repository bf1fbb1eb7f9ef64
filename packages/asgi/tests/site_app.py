"""A squall.web site served by ASGI servers (uvicorn, hypercorn) in the squall-asgi tests.

The handlers follow the classic overview's examples (hello world, arguments
and forms, uploads, redirects, templates, cookies and signed cookies,
``@authenticated``, XSRF, static files) plus what needs the event loop:
coroutines that really wait, ``flush()`` streaming, ``@stream_request_body``,
a long poll that notices the client leaving, and WebSocket echo.
"""

from __future__ import annotations

import asyncio
import os

import squall.web
import squall.websocket
from squall.asgi import ASGIApplication

HERE = os.path.dirname(os.path.abspath(__file__))
SECRET = "7yXk0qv9xG1tM0cQZBq5nCk3YlqfBv9pFfV2Yc3m4Ws="

# What the lifespan hooks and long polls leave behind, for the tests to look at.
events: list[str] = []


class MainHandler(squall.web.RequestHandler):
    def get(self):
        self.write("Hello, world")


class StoryHandler(squall.web.RequestHandler):
    def get(self, story_id):
        self.write(f"You requested the story {story_id}")


class PeerHandler(squall.web.RequestHandler):
    def get(self):
        request = self.request
        self.write(
            {
                "remote_ip": request.remote_ip,
                "protocol": request.protocol,
                "host": request.host,
                "path": request.path,
                "query": request.query,
                "uri": request.uri,
            }
        )


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
    async def get(self):
        for number in range(3):
            self.write(f"part {number};")
            await self.flush()
            await asyncio.sleep(0.01)


class SleepyHandler(squall.web.RequestHandler):
    async def get(self):
        await asyncio.sleep(0.05)
        self.write("slept")


@squall.web.stream_request_body
class StreamedUploadHandler(squall.web.RequestHandler):
    def check_xsrf_cookie(self):
        pass

    def prepare(self):
        self.pieces = 0
        self.size = 0

    def data_received(self, chunk):
        self.pieces += 1
        self.size += len(chunk)

    def put(self):
        self.write({"size": self.size, "pieces": self.pieces})


class LongPollHandler(squall.web.RequestHandler):
    async def get(self):
        self.waiting = asyncio.get_running_loop().create_future()
        events.append("poll waiting")
        await self.waiting

    def on_connection_close(self):
        events.append("poll client left")
        if not self.waiting.done():
            self.waiting.set_result(None)


class EchoSocket(squall.websocket.WebSocketHandler):
    def select_subprotocol(self, subprotocols):
        return "echo" if "echo" in subprotocols else None

    def open(self, *args):
        self.write_message("welcome")

    def on_message(self, message):
        if message == "close please":
            self.close(4002, "as you wish")
            return
        if isinstance(message, bytes):
            self.write_message(message[::-1], binary=True)
        else:
            self.write_message(f"echo {message}")

    def on_close(self):
        events.append(f"socket closed {self.close_code}")


async def open_resources():
    await asyncio.sleep(0)
    events.append("startup hook")


def close_resources():
    events.append("shutdown hook")


def make_application() -> squall.web.Application:
    return squall.web.Application(
        [
            (r"/", MainHandler),
            (r"/story/([0-9]+)", StoryHandler),
            (r"/peer", PeerHandler),
            (r"/page", PageHandler),
            (r"/cookie", CookieHandler),
            (r"/login", LoginHandler),
            (r"/whoami", WhoAmIHandler),
            (r"/form", FormHandler),
            (r"/upload", UploadHandler),
            (r"/errors/(\w+)", ErrorsHandler),
            (r"/flush", FlushHandler),
            (r"/sleepy", SleepyHandler),
            (r"/streamed", StreamedUploadHandler),
            (r"/poll", LongPollHandler),
            (r"/echo", EchoSocket),
            (r"/foo", squall.web.RedirectHandler, {"url": "/bar", "permanent": False}),
        ],
        template_path=os.path.join(HERE, "site", "templates"),
        static_path=os.path.join(HERE, "site", "static"),
        cookie_secret=SECRET,
        login_url="/login",
        xsrf_cookies=True,
    )


application = ASGIApplication(
    make_application(), on_startup=[open_resources], on_shutdown=[close_resources]
)
