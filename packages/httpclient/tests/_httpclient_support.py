"""Helpers shared by the client test modules: a squall server with a small routing app."""

from __future__ import annotations

import asyncio
import gzip
from collections.abc import Callable
from typing import Any

from squall.httpserver import HTTPServer
from squall.httputil import HTTPHeaders, HTTPServerRequest, ResponseStartLine
from squall.testing import bind_unused_port

__all__ = ["App", "RawServer", "ok_answer", "reply", "serve", "stop"]


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
        self.peers: list[str | None] = []

    def __call__(self, request: HTTPServerRequest) -> None:
        if not any(c is request.connection for c in self.connections):
            self.connections.append(request.connection)
        self.requests.append(request)
        self.peers.append(request.remote_ip)
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


class RawServer:
    """A keep-alive asyncio server answering each request head with ``answer(method, path)``.

    Request bodies are not read (tests send GET/HEAD). It counts the
    connections it accepted (``opened``), those that ended (``closed``), the
    most open at once (``peak``) and the peer address of each.
    """

    def __init__(self, answer: Callable[[str, str], bytes], delay: float = 0.0) -> None:
        self.answer = answer
        self.delay = delay
        self.opened = 0
        self.closed = 0
        self.peak = 0
        self.peers: list[str] = []

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> int:
        self.server = await asyncio.start_server(self._handle, host, port)
        return int(self.server.sockets[0].getsockname()[1])

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.opened += 1
        self.peak = max(self.peak, self.opened - self.closed)
        self.peers.append(writer.get_extra_info("peername")[0])
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                method, path = head.decode("latin-1").split(" ", 2)[:2]
                if self.delay:
                    await asyncio.sleep(self.delay)
                writer.write(self.answer(method, path))
                await writer.drain()
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            self.closed += 1
            writer.close()

    async def wait_closed(self, count: int, limit: float = 3.0) -> None:
        """Wait (at most ``limit`` seconds) until ``count`` connections have ended."""
        for _ in range(int(limit / 0.02)):
            if self.closed >= count:
                return
            await asyncio.sleep(0.02)

    def close(self) -> None:
        self.server.close()


def ok_answer(method: str, path: str) -> bytes:
    """``200 ok`` with a Content-Length (no body for HEAD)."""
    if method == "HEAD":
        return b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n"
    return b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"
