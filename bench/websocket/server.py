"""WebSocket echo servers for bench/websocket/run.py: one process per run, chosen by argv.

usage: server.py IMPL [PROFILE_OUT]   (IMPL: squall, squall-uvloop, tornado, websockets)

squall and Tornado run the *same* handler code: a WebSocketHandler at ``/ws``
whose ``on_message`` sends each message back with ``write_message``, in an
Application served by the framework's HTTPServer. ``websockets`` is that
library's asyncio server echoing each message. The server prints its port,
then serves until SIGTERM.
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


def build_app(web, websocket):  # type: ignore[no-untyped-def]
    """The same application for squall.web/squall.websocket and tornado's."""

    class Echo(websocket.WebSocketHandler):
        def on_message(self, message):  # type: ignore[no-untyped-def]
            self.write_message(message)

    return web.Application([(r"/ws", Echo)], log_function=lambda handler: None)


async def main() -> None:
    sock = listener()
    if impl.startswith("squall"):
        import squall.web as web
        import squall.websocket as websocket
        from squall.httpserver import HTTPServer

        HTTPServer(build_app(web, websocket)).add_sockets([sock])
    elif impl == "tornado":
        import tornado.web as web  # type: ignore[no-redef]
        import tornado.websocket as websocket  # type: ignore[no-redef]
        from tornado.httpserver import HTTPServer  # type: ignore[no-redef]

        HTTPServer(build_app(web, websocket)).add_sockets([sock])
    elif impl == "websockets":
        from websockets.asyncio.server import serve
        from websockets.exceptions import ConnectionClosed

        async def echo(ws):  # type: ignore[no-untyped-def]
            try:
                async for message in ws:
                    await ws.send(message)
            except ConnectionClosed:  # the load generator just exits
                pass

        await serve(echo, sock=sock, compression=None, ping_interval=None)
    else:
        sys.exit(f"unknown server {impl}")
    gc.collect()
    print(sock.getsockname()[1], flush=True)
    await asyncio.Event().wait()


run(main, impl, profile_to)
