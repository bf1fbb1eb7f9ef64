"""HTTP/2 servers for bench/http2/run.py: one process per run, chosen by argv.

usage: server.py IMPL  (IMPL: squall-h2, squall-h1, hypercorn-h2)

Every server answers GET / with "Hello, world!" and prints its port on stdout,
then serves until killed. squall-h2 and squall-h1 run the same squall.web
Application (``HTTPServer(app, http2=True)``: h2c with prior knowledge, and
HTTP/1.1 on the same port); hypercorn-h2 serves a hello ASGI app.
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
HELLO = b"Hello, world!"


async def main() -> None:
    sock = listener()
    if impl.startswith("squall"):
        from squall.httpserver import HTTPServer
        from squall.web import Application, RequestHandler

        class Hello(RequestHandler):
            def get(self) -> None:
                self.write(HELLO)

        HTTPServer(Application([("/", Hello)]), http2=True).add_sockets([sock])
    elif impl == "hypercorn-h2":
        from hypercorn.asyncio import serve
        from hypercorn.config import Config

        async def app(scope, receive, send):  # type: ignore[no-untyped-def]
            if scope["type"] != "http":
                return
            await send(
                {
                    "type": "http.response.start",
                    "status": 200,
                    "headers": [(b"content-type", b"text/plain"), (b"content-length", b"13")],
                }
            )
            await send({"type": "http.response.body", "body": HELLO})

        config = Config()
        config.bind = [f"fd://{sock.fileno()}"]
        config.accesslog = None
        config.errorlog = None
        config.keep_alive_max_requests = 10**9
        asyncio.get_running_loop().create_task(serve(app, config))  # type: ignore[arg-type]
    else:
        sys.exit(f"unknown server {impl!r}")
    gc.collect()
    gc.freeze()
    print(sock.getsockname()[1], flush=True)
    await asyncio.Event().wait()


run(main, impl, profile_to)
