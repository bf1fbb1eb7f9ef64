"""Fixtures for the squall-httpserver tests: a live server in a loop thread, blocking clients.

Every test talks to a real :class:`~squall.httpserver.HTTPServer` on
127.0.0.1 through plain sockets (with timeouts, so nothing can hang), curl or
:mod:`http.client`, and checks what comes back with h11, an independent HTTP
parser.
"""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from collections.abc import Callable, Iterator
from types import SimpleNamespace
from typing import Any

import h11
import pytest
from squall.httpserver import HTTPServer
from squall.httputil import HTTPHeaders, HTTPServerRequest, ResponseStartLine
from squall.netutil import bind_sockets
from squall.testing._certs import _write_self_signed

TIMEOUT = 5.0


def answer(
    request: HTTPServerRequest, body: bytes = b"ok", status: int = 200, **headers: str
) -> None:
    """Reply through the connection with a Content-Length response."""
    fields = HTTPHeaders({"Content-Length": str(len(body))})
    for name, value in headers.items():
        fields[name.replace("_", "-")] = value
    request.connection.write_headers(ResponseStartLine("HTTP/1.1", status, "OK"), fields, body)
    request.connection.finish()


def echo_path(request: HTTPServerRequest) -> None:
    answer(request, f"{request.method} {request.uri} {len(request.body)}".encode())


class LiveServer:
    """An HTTPServer running on its own event loop in a background thread."""

    def __init__(self, handler: Any, use_uvloop: bool = False, **options: Any) -> None:
        if use_uvloop:
            uvloop = pytest.importorskip("uvloop")
            self.loop = uvloop.new_event_loop()
        else:
            self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self._thread.start()
        self.server: HTTPServer = self.call(lambda: self._start(handler, options))
        self.closed = False

    def _start(self, handler: Any, options: dict[str, Any]) -> HTTPServer:
        server = HTTPServer(handler, **options)
        sockets = bind_sockets(0, "127.0.0.1")
        self.port = sockets[0].getsockname()[1]
        server.add_sockets(sockets)
        return server

    def call(self, fn: Callable[[], Any]) -> Any:
        """Run ``fn`` on the server's loop (awaiting it if it returns a coroutine)."""

        async def run() -> Any:
            result = fn()
            if asyncio.iscoroutine(result):
                result = await result
            return result

        return asyncio.run_coroutine_threadsafe(run(), self.loop).result(TIMEOUT * 2)

    def start_call(self, fn: Callable[[], Any]) -> Any:
        """Start ``fn()`` (a coroutine) on the loop; returns a concurrent future."""

        async def run() -> Any:
            return await fn()

        return asyncio.run_coroutine_threadsafe(run(), self.loop)

    def close(self) -> None:
        if self.closed:
            return
        self.closed = True
        try:
            self.server.stop()
            self.call(self.server.close_all_connections)
        finally:
            self.loop.call_soon_threadsafe(self.loop.stop)
            self._thread.join(TIMEOUT)
            self.loop.close()


@pytest.fixture
def serve() -> Iterator[Callable[..., LiveServer]]:
    """``serve(handler, **HTTPServer options)`` -> a running :class:`LiveServer`."""
    started: list[LiveServer] = []

    def start(handler: Any = echo_path, **options: Any) -> LiveServer:
        live = LiveServer(handler, **options)
        started.append(live)
        return live

    yield start
    for live in started:
        live.close()


def connect(port: int, timeout: float = TIMEOUT) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    sock.settimeout(timeout)
    return sock


def read_all(sock: socket.socket, limit: float = TIMEOUT) -> bytes:
    """Everything the server sends until it closes; fails the test after ``limit`` seconds."""
    chunks = []
    deadline = time.monotonic() + limit
    while True:
        sock.settimeout(max(0.01, deadline - time.monotonic()))
        try:
            chunk = sock.recv(65536)
        except ConnectionResetError:
            break
        except TimeoutError:
            raise AssertionError(f"server did not close within {limit} s") from None
        if not chunk:
            break
        chunks.append(chunk)
    return b"".join(chunks)


def exchange(port: int, raw: bytes, limit: float = TIMEOUT) -> bytes:
    """Send ``raw`` on a fresh connection, return all bytes until the server closes."""
    with connect(port) as sock:
        sock.sendall(raw)
        return read_all(sock, limit)


class Response(SimpleNamespace):
    status: int
    headers: dict[str, str]
    body: bytes
    closes: bool


def parse(wire: bytes, methods: list[str] | None = None, complete: bool = True) -> list[Response]:
    """Parse every response in ``wire`` with h11 (one per method, default GET).

    Fails if h11 rejects anything or, with ``complete``, if bytes are left
    over after the last expected response (a smuggled or extra response).
    """
    methods = methods or ["GET"]
    client = h11.Connection(h11.CLIENT)
    client.receive_data(wire)
    responses = []
    for index, method in enumerate(methods):
        if index:
            client.start_next_cycle()
        client.send(h11.Request(method=method, target="/", headers=[("Host", "x")]))
        client.send(h11.EndOfMessage())
        current = Response(status=0, headers={}, body=b"", closes=False)
        while True:
            event = client.next_event()
            if isinstance(event, h11.InformationalResponse):
                continue
            if isinstance(event, h11.Response):
                current.status = event.status_code
                current.headers = {k.decode().lower(): v.decode() for k, v in event.headers}
            elif isinstance(event, h11.Data):
                current.body += event.data
            elif isinstance(event, h11.EndOfMessage):
                current.closes = client.their_state is h11.MUST_CLOSE
                break
            elif event is h11.NEED_DATA:
                client.receive_data(b"")
            else:
                raise AssertionError(f"unexpected h11 event {event!r}")
        responses.append(current)
    if complete:
        leftover, _closed = client.trailing_data
        assert leftover == b"", f"bytes after the last response: {leftover[:80]!r}"
    return responses


def request_once(port: int, raw: bytes, method: str = "GET") -> Response:
    """One request on its own connection (the server must answer and close or keep it)."""
    with connect(port) as sock:
        sock.sendall(raw)
        data = b""
        client = h11.Connection(h11.CLIENT)
        client.send(h11.Request(method=method, target="/", headers=[("Host", "x")]))
        client.send(h11.EndOfMessage())
        result = Response(status=0, headers={}, body=b"", closes=False)
        while True:
            event = client.next_event()
            if event is h11.NEED_DATA:
                data = sock.recv(65536)
                client.receive_data(data)
                continue
            if isinstance(event, h11.InformationalResponse):
                continue
            if isinstance(event, h11.Response):
                result.status = event.status_code
                result.headers = {k.decode().lower(): v.decode() for k, v in event.headers}
            elif isinstance(event, h11.Data):
                result.body += event.data
            elif isinstance(event, h11.EndOfMessage):
                result.closes = client.their_state is h11.MUST_CLOSE
                return result


@pytest.fixture
def wire() -> SimpleNamespace:
    """The client helpers above, for the test modules."""
    return SimpleNamespace(
        connect=connect,
        read_all=read_all,
        exchange=exchange,
        parse=parse,
        request_once=request_once,
        answer=answer,
        echo_path=echo_path,
        TIMEOUT=TIMEOUT,
    )


@pytest.fixture(scope="session")
def cert_files(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, str]:
    """A self-signed certificate for localhost and 127.0.0.1, made once per session."""
    pytest.importorskip("cryptography.x509")
    return _write_self_signed(tmp_path_factory.mktemp("tls"))
