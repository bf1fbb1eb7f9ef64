"""Fixtures for the squall-asgi tests: live servers on 127.0.0.1, bounded clients.

* ``squall_server(delegate, **options)``: squall's HTTPServer on a private
  event loop in a background thread (``.port``, ``.on_loop(fn)``).
* ``asgi_server(kind, app)``: uvicorn (``"uvicorn"``, its h11 protocol) or
  hypercorn (``"hypercorn"``) serving an ASGI application from a thread.
* ``fetch(port, method, path, ...)``: one blocking HTTP exchange.
* ``arun(coro)``: run a coroutine (squall's clients) on a fresh loop, with a
  time limit.
* ``raw(port, data)``: a raw exchange over a socket.

Every wait is bounded by ``TIMEOUT``.
"""

from __future__ import annotations

import asyncio
import http.client
import socket
import threading
import time
from collections.abc import Callable, Coroutine, Iterator
from typing import Any

import pytest
from squall.httpserver import HTTPServer
from squall.netutil import bind_sockets

TIMEOUT = 10.0


class SquallServer:
    """An HTTPServer on its own loop thread."""

    def __init__(self, delegate: Any, **options: Any) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()

        async def start() -> HTTPServer:
            server = HTTPServer(delegate, **options)
            sockets = bind_sockets(0, "127.0.0.1")
            self.port = sockets[0].getsockname()[1]
            server.add_sockets(sockets)
            return server

        self.server = self.call(start())

    def call(self, coro: Coroutine[Any, Any, Any]) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(TIMEOUT)

    def on_loop(self, fn: Callable[[], Any]) -> Any:
        async def run() -> Any:
            return fn()

        return self.call(run())

    def close(self) -> None:
        async def stop() -> None:
            self.server.stop()
            await self.server.close_all_connections()

        self.call(stop())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(TIMEOUT)
        self.loop.close()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for_port(port: int, limit: float = TIMEOUT) -> None:
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.05)
    raise AssertionError(f"nothing listens on port {port} after {limit} s")


class ASGIServer:
    """uvicorn or hypercorn serving ``app`` on a free port, from a thread."""

    def __init__(self, kind: str, app: Any, **options: Any) -> None:
        self.kind = kind
        self.port = free_port()
        self._stop: Callable[[], None]
        if kind == "uvicorn":
            import uvicorn

            config = uvicorn.Config(
                app,
                host="127.0.0.1",
                port=self.port,
                log_level="warning",
                http="h11",
                ws="websockets-sansio",
                lifespan="on",
                **options,
            )
            server = uvicorn.Server(config)
            # A thread cannot install signal handlers; uvicorn checks for that itself.
            self.thread = threading.Thread(target=server.run, daemon=True)

            def stop() -> None:
                server.should_exit = True

            self._stop = stop
        elif kind == "hypercorn":
            from hypercorn.asyncio import serve
            from hypercorn.config import Config

            config = Config()
            config.bind = [f"127.0.0.1:{self.port}"]
            config.loglevel = "WARNING"
            for name, value in options.items():
                setattr(config, name, value)
            loop = asyncio.new_event_loop()
            halt: list[asyncio.Event] = []

            async def main() -> None:
                event = asyncio.Event()
                halt.append(event)
                await serve(app, config, shutdown_trigger=event.wait)

            def run() -> None:
                loop.run_until_complete(main())
                loop.close()

            self.thread = threading.Thread(target=run, daemon=True)

            def stop() -> None:
                if halt:
                    loop.call_soon_threadsafe(halt[0].set)

            self._stop = stop
        else:
            raise ValueError(kind)
        self.thread.start()
        wait_for_port(self.port)

    def close(self) -> None:
        self._stop()
        self.thread.join(TIMEOUT)
        assert not self.thread.is_alive(), f"{self.kind} did not stop"


@pytest.fixture
def squall_server() -> Iterator[Callable[..., SquallServer]]:
    started: list[SquallServer] = []

    def start(delegate: Any, **options: Any) -> SquallServer:
        live = SquallServer(delegate, **options)
        started.append(live)
        return live

    yield start
    for live in started:
        live.close()


@pytest.fixture
def asgi_server() -> Iterator[Callable[..., ASGIServer]]:
    started: list[ASGIServer] = []

    def start(kind: str, app: Any, **options: Any) -> ASGIServer:
        live = ASGIServer(kind, app, **options)
        started.append(live)
        return live

    yield start
    for live in started:
        live.close()


def do_fetch(
    port: int,
    method: str,
    path: str,
    body: bytes | None = None,
    headers: dict[str, str] | None = None,
) -> tuple[int, http.client.HTTPMessage, bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=TIMEOUT)
    try:
        conn.request(method, path, body=body, headers=headers or {})
        response = conn.getresponse()
        return response.status, response.headers, response.read()
    finally:
        conn.close()


def run_bounded(coro: Coroutine[Any, Any, Any]) -> Any:
    async def bounded() -> Any:
        return await asyncio.wait_for(coro, TIMEOUT)

    return asyncio.run(bounded())


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


@pytest.fixture
def fetch() -> Callable[..., tuple[int, http.client.HTTPMessage, bytes]]:
    """``fetch(port, method, path, body=None, headers=None)``: status, headers, body."""
    return do_fetch


@pytest.fixture
def arun() -> Callable[[Coroutine[Any, Any, Any]], Any]:
    """``arun(coro)``: run ``coro`` on a fresh event loop, at most ``TIMEOUT`` seconds."""
    return run_bounded


@pytest.fixture
def raw() -> Callable[..., bytes]:
    """``raw(port, data)``: the bytes a server sends back to ``data`` until it closes."""
    return raw_exchange


def load_site() -> Any:
    """A fresh copy of ``site_app.py`` (the squall site the ASGI servers run)."""
    import importlib.util
    import os

    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "site_app.py")
    spec = importlib.util.spec_from_file_location("squall_asgi_site", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module", params=["uvicorn", "hypercorn"])
def site(request: Any) -> Iterator[Any]:
    """The squall site under uvicorn, then under hypercorn: ``.port``, ``.kind``, ``.module``."""
    module = load_site()
    live = ASGIServer(request.param, module.application)
    live.module = module  # type: ignore[attr-defined]
    yield live
    live.close()
    assert "shutdown hook" in module.events


@pytest.fixture
def site_module() -> Any:
    return load_site()
