"""Web servers for bench/web/run.py: one process per run, chosen by argv.

usage: server.py IMPL [PROFILE_OUT]   (IMPL: squall, squall-uvloop, squall-speedups, squall-compiled, tornado,
aiohttp, sanic-uvloop, starlette-uvloop, blacksheep-uvloop)

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
    elif impl in ("starlette-uvloop", "blacksheep-uvloop"):
        await serve_asgi(asgi_app(impl), sock)
        return
    elif impl == "sanic-uvloop":
        await serve_sanic(sock)
        return
    else:
        sys.exit(f"unknown server {impl}")
    cookie = ""
    if impl.startswith(("squall", "tornado")):
        cookie = web.create_signed_value(SECRET, "user", "bench-user").decode()
    await announce(sock, cookie)
    await asyncio.Event().wait()


async def announce(sock, cookie: str = "") -> None:  # type: ignore[no-untyped-def]
    """The port, then the signed cookie for /page (empty for the hello-only peers)."""
    gc.collect()
    print(sock.getsockname()[1], flush=True)
    print(cookie, flush=True)


def asgi_app(name: str):  # type: ignore[no-untyped-def]
    """The hello route of the ASGI frameworks (the peers of issue 15's table)."""
    if name.startswith("starlette"):
        from starlette.applications import Starlette
        from starlette.responses import HTMLResponse
        from starlette.routing import Route

        async def hello(request):  # type: ignore[no-untyped-def]
            return HTMLResponse("Hello, world")

        return Starlette(routes=[Route("/", hello)])
    from blacksheep import Application, get
    from blacksheep.server.responses import html

    app = Application()

    @get("/")
    async def hello_bs():  # type: ignore[no-untyped-def]
        return html("Hello, world")

    return app


async def serve_asgi(app, sock) -> None:  # type: ignore[no-untyped-def]
    """uvicorn with httptools on this (uvloop) loop, on the bench's port.

    uvicorn binds the port itself (given our socket through ``serve(sockets=)``
    it stalls 40 ms per request on delayed ACKs here, see bench/server).
    """
    import uvicorn

    port = sock.getsockname()[1]
    sock.close()
    config = uvicorn.Config(
        app,
        host="127.0.0.1",
        port=port,
        http="httptools",
        loop="none",
        lifespan="auto",
        log_level="warning",
        access_log=False,
        backlog=4096,
    )
    server = uvicorn.Server(config)
    task = asyncio.ensure_future(server.serve())
    while not server.started:
        await asyncio.sleep(0.01)
    gc.collect()
    print(port, flush=True)
    print("", flush=True)
    await task


async def serve_sanic(sock) -> None:  # type: ignore[no-untyped-def]
    from sanic import Sanic
    from sanic.response import html

    app = Sanic("bench", configure_logging=False)
    app.config.ACCESS_LOG = False
    app.config.MOTD = False

    @app.get("/")
    async def hello(request):  # type: ignore[no-untyped-def]
        return html("Hello, world")

    server = await app.create_server(sock=sock, return_asyncio_server=True, access_log=False)
    await server.startup()
    await announce(sock)
    await server.serve_forever()


run(main, impl, profile_to)
