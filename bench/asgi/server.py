"""ASGI servers for bench/asgi/run.py: one process per run, chosen by argv.

usage: server.py IMPL [PROFILE_OUT]   (squall, squall-uvloop, squall-speedups, squall-compiled, uvicorn-h11,
uvicorn-httptools, uvicorn-httptools-uvloop, hypercorn)

Every server runs the *same* Starlette application, a hello world at ``/``.
squall serves it with ``HTTPServer(ASGIContainer(app))`` (``-uvloop``: on
uvloop; ``-speedups``: uvloop and the httptools parser; ``-compiled``: uvloop and
squall-http's compiled build, see bench/_compiled.py), uvicorn with its
pure-Python h11 protocol or its httptools one (on the asyncio loop, or on
uvloop for ``-uvloop``; access log off), hypercorn with its asyncio worker.
Each listens on a socket made by ``bench/_serve.py`` (``IPPROTO_TCP``, so
asyncio turns Nagle off on accepted sockets), prints its port, then serves
until SIGTERM.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import os
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


async def main() -> None:
    for name in ("squall.access", "uvicorn.access", "hypercorn.access"):
        logging.getLogger(name).disabled = True
    sock = listener()
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
            http=impl.split("-")[1],
            loop="none",  # the loop run() made: asyncio, or uvloop for the -uvloop names
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


run(main, impl, sys.argv[2] if len(sys.argv) > 2 else None)
