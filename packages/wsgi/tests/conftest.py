"""Fixtures for the squall-wsgi tests: live servers on 127.0.0.1, blocking clients.

``serve(callback, **options)`` runs a squall HTTPServer on its own event loop
in a background thread, so a test talks to it with plain sockets or
:mod:`http.client` (every read has a timeout; nothing can hang).
"""

from __future__ import annotations

import asyncio
import http.client
import socket
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from squall.httpserver import HTTPServer
from squall.netutil import bind_sockets

TIMEOUT = 10.0


class LiveServer:
    """An HTTPServer on a private loop thread."""

    def __init__(self, callback: Any, **options: Any) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()

        async def start() -> HTTPServer:
            server = HTTPServer(callback, **options)
            sockets = bind_sockets(0, "127.0.0.1")
            self.port = sockets[0].getsockname()[1]
            server.add_sockets(sockets)
            return server

        self.server = asyncio.run_coroutine_threadsafe(start(), self.loop).result(TIMEOUT)

    def on_loop(self, fn: Callable[[], Any]) -> Any:
        async def run() -> Any:
            return fn()

        return asyncio.run_coroutine_threadsafe(run(), self.loop).result(TIMEOUT)

    def request(
        self,
        method: str,
        path: str,
        body: bytes | None = None,
        headers: dict[str, str] | list[tuple[str, str]] | None = None,
    ) -> tuple[int, http.client.HTTPMessage, bytes]:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=TIMEOUT)
        try:
            pairs = list(headers.items() if isinstance(headers, dict) else (headers or []))
            own_host = any(name.lower() == "host" for name, _ in pairs)
            conn.putrequest(method, path, skip_host=own_host, skip_accept_encoding=True)
            for name, value in pairs:
                conn.putheader(name, value)
            if body is not None:
                conn.putheader("Content-Length", str(len(body)))
            conn.endheaders(body)
            response = conn.getresponse()
            return response.status, response.headers, response.read()
        finally:
            conn.close()

    def close(self) -> None:
        async def stop() -> None:
            self.server.stop()
            await self.server.close_all_connections()

        asyncio.run_coroutine_threadsafe(stop(), self.loop).result(TIMEOUT)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(TIMEOUT)
        self.loop.close()


@pytest.fixture
def serve() -> Iterator[Callable[..., LiveServer]]:
    started: list[LiveServer] = []

    def start(callback: Any, **options: Any) -> LiveServer:
        live = LiveServer(callback, **options)
        started.append(live)
        return live

    yield start
    for live in started:
        live.close()


def raw_exchange(port: int, data: bytes, limit: float = TIMEOUT) -> bytes:
    """Send ``data``; everything received until the server closes (or ``limit`` passes)."""
    sock = socket.create_connection(("127.0.0.1", port), timeout=limit)
    try:
        sock.sendall(data)
        received = b""
        deadline = time.monotonic() + limit
        while time.monotonic() < deadline:
            try:
                chunk = sock.recv(65536)
            except (ConnectionResetError, TimeoutError):
                break
            if not chunk:
                break
            received += chunk
        return received
    finally:
        sock.close()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for_port(port: int, limit: float = 20.0) -> None:
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.05)
    raise AssertionError(f"nothing listens on port {port} after {limit} s")


@pytest.fixture
def raw() -> Callable[..., bytes]:
    """``raw(port, data)``: the bytes a server sends back to ``data`` until it closes."""
    return raw_exchange
