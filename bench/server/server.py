"""HTTP servers for bench/server/run.py: one process per run, chosen by argv.

usage: server.py IMPL  (IMPL: squall, squall-uvloop, squall-speedups, squall-compiled, tornado, asyncio,
uvicorn (h11), uvicorn-httptools-uvloop)

Every server answers GET with "Hello, world!" and POST by echoing the body,
keeps connections alive, and prints its port on stdout, then serves until
killed.  The squall and Tornado servers run the *same* plain callback.
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


def make_callback(ResponseStartLine, HTTPHeaders):  # type: ignore[no-untyped-def]
    ok = ResponseStartLine("HTTP/1.1", 200, "OK")

    def handle_request(request):  # type: ignore[no-untyped-def]
        body = request.body if request.method == "POST" else HELLO
        request.connection.write_headers(
            ok,
            HTTPHeaders({"Content-Type": "text/plain", "Content-Length": str(len(body))}),
            body,
        )
        request.connection.finish()

    return handle_request


async def main() -> None:
    sock = listener()
    if impl.startswith("squall"):
        from squall.httpserver import HTTPServer
        from squall.httputil import HTTPHeaders, ResponseStartLine

        HTTPServer(make_callback(ResponseStartLine, HTTPHeaders)).add_sockets([sock])
    elif impl == "tornado":
        from tornado.httpserver import HTTPServer  # type: ignore[no-redef]
        from tornado.httputil import HTTPHeaders, ResponseStartLine  # type: ignore[no-redef]

        HTTPServer(make_callback(ResponseStartLine, HTTPHeaders)).add_sockets([sock])
    elif impl == "asyncio":
        reply = b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 13\r\n\r\n" + HELLO

        class Fixed(asyncio.Protocol):
            """Answers every request head with fixed bytes (GET only): the ceiling."""

            __slots__ = ("t",)

            def connection_made(self, transport):  # type: ignore[no-untyped-def]
                self.t = transport

            def data_received(self, data):  # type: ignore[no-untyped-def]
                n = data.count(b"\r\n\r\n")
                if n:
                    self.t.write(reply * n)

        await asyncio.get_running_loop().create_server(Fixed, sock=sock, backlog=4096)
    elif impl in ("uvicorn", "uvicorn-httptools-uvloop"):
        import uvicorn

        async def app(scope, receive, send):  # type: ignore[no-untyped-def]
            body = HELLO
            if scope["method"] == "POST":
                parts = []
                more = True
                while more:
                    message = await receive()
                    parts.append(message.get("body", b""))
                    more = message.get("more_body", False)
                body = b"".join(parts)
            await send(
                {
                    "type": "http.response.start",
                    "status": 200,
                    "headers": [
                        (b"content-type", b"text/plain"),
                        (b"content-length", str(len(body)).encode()),
                    ],
                }
            )
            await send({"type": "http.response.body", "body": body})

        # uvicorn binds its own socket (handing it ours through serve(sockets=...)
        # costs it a 40 ms delayed-ACK stall per request here).
        port = sock.getsockname()[1]
        sock.close()
        config = uvicorn.Config(
            app,
            host="127.0.0.1",
            port=port,
            http="h11" if impl == "uvicorn" else "httptools",
            loop="none",
            lifespan="off",
            access_log=False,
            log_level="warning",
            backlog=4096,
        )
        server = uvicorn.Server(config)
        asyncio.get_running_loop().create_task(server.serve())
        while not server.started:
            await asyncio.sleep(0.01)
        print(port, flush=True)
        await asyncio.Event().wait()
    gc.collect()
    print(sock.getsockname()[1], flush=True)
    await asyncio.Event().wait()


run(main, impl, profile_to)
