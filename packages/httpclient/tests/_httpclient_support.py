"""Helpers shared by the client test modules: a squall server with a small routing app."""

from __future__ import annotations

import gzip
from typing import Any

from squall.httpserver import HTTPServer
from squall.httputil import HTTPHeaders, HTTPServerRequest, ResponseStartLine
from squall.testing import bind_unused_port

__all__ = ["App", "reply", "serve", "stop"]


def reply(
    request: HTTPServerRequest, body: bytes = b"ok", status: int = 200, **headers: str
) -> None:
    """Answer through the connection with a Content-Length response."""
    fields = HTTPHeaders({"Content-Length": str(len(body))})
    for name, value in headers.items():
        fields[name.replace("_", "-")] = value
    request.connection.write_headers(ResponseStartLine("HTTP/1.1", status, "X"), fields, body)
    request.connection.finish()


class App:
    """The test server's behaviour by path; remembers the connections it has seen."""

    def __init__(self) -> None:
        self.connections: list[Any] = []
        self.requests: list[HTTPServerRequest] = []

    def __call__(self, request: HTTPServerRequest) -> None:
        if not any(c is request.connection for c in self.connections):
            self.connections.append(request.connection)
        self.requests.append(request)
        path = request.path
        if path == "/echo":
            text = f"{request.method} {request.uri} ".encode() + request.body
            reply(request, text)
        elif path == "/headers":
            reply(request, str(request.headers).encode())
        elif path.startswith("/status/"):
            reply(request, b"status", int(path.rsplit("/", 1)[1]))
        elif path.startswith("/redirect/"):
            code = int(path.rsplit("/", 1)[1])
            reply(request, b"moved", code, Location="/echo")
        elif path == "/loop":
            reply(request, b"again", 302, Location="/loop")
        elif path == "/gzip":
            reply(request, gzip.compress(b"hello " * 100), Content_Encoding="gzip")
        elif path == "/close":
            reply(request, b"bye", Connection="close")
        elif path == "/big":
            reply(request, b"x" * 100_000)
        elif path == "/never":
            pass  # never answered: the client must time out
        else:
            reply(request, b"hello")


async def serve(app: Any, **options: Any) -> tuple[HTTPServer, int]:
    listener, port = bind_unused_port()
    server = HTTPServer(app, **options)
    server.add_sockets([listener])
    return server, port


async def stop(server: HTTPServer) -> None:
    server.stop()
    await server.close_all_connections()
