"""ASGI servers for bench/asgi/run.py: one process per run, chosen by argv.

usage: server.py IMPL   (squall, squall-uvloop, uvicorn-h11, uvicorn-httptools, hypercorn)

Every server runs the *same* Starlette application, a hello world at ``/``.
squall serves it with ``HTTPServer(ASGIContainer(app))`` (``-uvloop``: on
uvloop), uvicorn with its pure-Python h11 protocol or its httptools one
(both on the asyncio loop, access log off), hypercorn with its asyncio
worker.  Each listens on a socket made here, prints its port, then serves
until SIGTERM.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import os
import socket
import sys

from starlette.applications import Starlette
from starlette.responses import PlainTextResponse
from starlette.routing import Route

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from _serve import listener, run  # noqa: E402

impl = sys.argv[1]


async def hello(request: object) -> PlainTextResponse:
    return PlainTextResponse("Hello, world")


app = Starlette(routes=[Route("/", hello)])


def tcp_listener() -> socket.socket:
    """``_serve.listener()``, made with ``IPPROTO_TCP``.

    asyncio turns Nagle's algorithm off only on sockets whose ``proto`` says
    TCP; accepted sockets inherit it from the listener.  Without it uvicorn
    and hypercorn (which write the head and the body separately) wait for
    the client's delayed ACK, 40 ms per request.
    """
    made = listener()
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    made.close()
    sock.listen(4096)
    sock.setblocking(False)
    return sock


async def main() -> None:
    for name in ("squall.access", "uvicorn.access", "hypercorn.access"):
        logging.getLogger(name).disabled = True
    sock = tcp_listener()
    port = sock.getsockname()[1]
    if impl.startswith("squall"):
        from squall.asgi import ASGIContainer
        from squall.httpserver import HTTPServer

        container = ASGIContainer(app)
        await container.startup()
        HTTPServer(container).add_sockets([sock])
        gc.collect()
        print(port, flush=True)
        await asyncio.Event().wait()
    elif impl.startswith("uvicorn"):
        import uvicorn

        config = uvicorn.Config(
            app,
            http=impl.split("-", 1)[1],
            loop="asyncio",
            lifespan="on",
            access_log=False,
            log_level="warning",
        )
        server = uvicorn.Server(config)
        gc.collect()
        print(port, flush=True)
        await server.serve(sockets=[sock])
    elif impl == "hypercorn":
        from hypercorn.asyncio import serve
        from hypercorn.config import Config

        config = Config()
        config.bind = [f"fd://{sock.fileno()}"]
        config.loglevel = "WARNING"
        gc.collect()
        print(port, flush=True)
        await serve(app, config)  # type: ignore[arg-type]
    else:
        sys.exit(f"unknown server {impl}")


run(main, impl, None)
