"""Web servers for bench/web/run.py: one process per run, chosen by argv.

usage: server.py IMPL [PROFILE_OUT]   (IMPL: squall, squall-uvloop, tornado, aiohttp)

The squall and Tornado servers run the *same* application code, the first
example of the overview (a RequestHandler writing "Hello, world" at ``/``),
and ``/page``: a template rendered with a UI module per entry for the user
of a signed cookie. aiohttp serves the hello route only. The server prints
its port, then a signed ``user`` cookie value for ``/page``, then serves until
SIGTERM.
"""

from __future__ import annotations

import asyncio
import gc
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from _serve import listener, run  # noqa: E402

impl = sys.argv[1]
profile_to = sys.argv[2] if len(sys.argv) > 2 else None

HERE = os.path.dirname(os.path.abspath(__file__))
SECRET = "61oETzKXQAGaYdkL5gEmGeJJFuYh7EQnp2XdTP1o/Vo="
ENTRIES = [
    {"id": i, "title": f"Entry <{i}>", "body": "Some text & more text " * 3} for i in range(10)
]


def build_app(web):  # type: ignore[no-untyped-def]
    """The same application for squall.web and tornado.web."""

    class MainHandler(web.RequestHandler):
        def get(self):  # type: ignore[no-untyped-def]
            self.write("Hello, world")

    class Entry(web.UIModule):
        def embedded_css(self):  # type: ignore[no-untyped-def]
            return ".entry { margin-bottom: 1em; }"

        def render(self, entry):  # type: ignore[no-untyped-def]
            return self.render_string("entry.html", entry=entry)

    class PageHandler(web.RequestHandler):
        def get_current_user(self):  # type: ignore[no-untyped-def]
            return self.get_signed_cookie("user")

        @web.authenticated
        def get(self):  # type: ignore[no-untyped-def]
            self.render("page.html", title="Latest entries", entries=ENTRIES)

    return web.Application(
        [(r"/", MainHandler), (r"/page", PageHandler)],
        template_path=os.path.join(HERE, "templates"),
        ui_modules={"Entry": Entry},
        cookie_secret=SECRET,
        login_url="/login",
        log_function=lambda handler: None,
    )


async def main() -> None:
    sock = listener()
    if impl.startswith("squall"):
        import squall.web as web
        from squall.httpserver import HTTPServer

        HTTPServer(build_app(web)).add_sockets([sock])
    elif impl == "tornado":
        import tornado.web as web  # type: ignore[no-redef]
        from tornado.httpserver import HTTPServer  # type: ignore[no-redef]

        HTTPServer(build_app(web)).add_sockets([sock])
    elif impl == "aiohttp":
        from aiohttp import web as aioweb

        async def hello(request):  # type: ignore[no-untyped-def]
            return aioweb.Response(text="Hello, world", content_type="text/html")

        app = aioweb.Application()
        app.router.add_get("/", hello)
        runner = aioweb.AppRunner(app, access_log=None)
        await runner.setup()
        await aioweb.SockSite(runner, sock, backlog=4096).start()
    else:
        sys.exit(f"unknown server {impl}")
    gc.collect()
    print(sock.getsockname()[1], flush=True)
    if impl == "aiohttp":
        print("", flush=True)
    else:
        value = web.create_signed_value(SECRET, "user", "bench-user")
        print(value.decode(), flush=True)
    await asyncio.Event().wait()


run(main, impl, profile_to)
