"""pytest plugin: an ``io_loop`` fixture, ``async def`` tests, and HTTP fixtures.

Enable it with ``-p squall.testing`` (or the full ``-p
squall.testing.pytest_plugin``), in ``addopts`` of the pytest configuration,
or with ``pytest_plugins = ["squall.testing"]`` in the root ``conftest.py``.
It is deliberately not loaded automatically through an entry point: it runs
plain ``async def`` tests, which other plugins (pytest-asyncio, anyio) may
claim in a project that merely has squall installed.

* ``io_loop``: a fresh :class:`~squall.ioloop.IOLoop` per test, current for
  the test and closed afterwards (pending tasks are cancelled first).
* ``async def`` test functions run on ``io_loop`` (requested automatically),
  with a timeout from the ``@pytest.mark.squall_timeout(seconds)`` marker,
  else the ``squall_async_timeout`` ini option, else
  :func:`~squall.testing.get_async_test_timeout`.
* For web tests, define an ``app`` fixture; ``http_server`` serves it on a
  free port (``http_port``), ``base_url`` is its ``http://127.0.0.1:port``,
  ``http_client`` is a fresh client and ``fetch(path, **kwargs)`` returns
  the awaitable response (``raise_error`` defaults to False).  These need
  squall-httpserver and squall-httpclient, imported only when used.
"""

from __future__ import annotations

import asyncio
import functools
import inspect
import socket
from collections.abc import Awaitable, Callable, Iterator
from typing import Any

import pytest

from ._case import _peek_event_loop
from ._helpers import bind_unused_port, get_async_test_timeout
from ._http import _import_http

__all__ = [
    "base_url",
    "fetch",
    "http_client",
    "http_port",
    "http_server",
    "http_server_options",
    "io_loop",
    "pytest_addoption",
    "pytest_collection_modifyitems",
    "pytest_configure",
    "pytest_pyfunc_call",
]

_MARKER = "squall_timeout"
_INI = "squall_async_timeout"


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addini(
        _INI,
        "Default timeout in seconds for async def tests run by squall "
        "(default: ASYNC_TEST_TIMEOUT or 5).",
        default=None,
    )


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        f"{_MARKER}(seconds): time limit for an async def test run on squall's io_loop.",
    )


def _is_async_test(item: pytest.Item) -> bool:
    return isinstance(item, pytest.Function) and inspect.iscoroutinefunction(item.obj)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    # Every async def test runs on io_loop, whether it asks for it or not.
    for item in items:
        if _is_async_test(item):
            assert isinstance(item, pytest.Function)
            if "io_loop" not in item.fixturenames:
                item.fixturenames.insert(0, "io_loop")


def _timeout_for(item: pytest.Function) -> float:
    marker = item.get_closest_marker(_MARKER)
    if marker is not None:
        if marker.args:
            return float(marker.args[0])
        if "seconds" in marker.kwargs:
            return float(marker.kwargs["seconds"])
    ini_value = item.config.getini(_INI)
    if ini_value:
        return float(ini_value)
    return get_async_test_timeout()


@pytest.hookimpl(tryfirst=True)
def pytest_pyfunc_call(pyfuncitem: pytest.Function) -> bool | None:
    if not _is_async_test(pyfuncitem):
        return None
    io_loop: Any = pyfuncitem.funcargs["io_loop"]
    arguments = {name: pyfuncitem.funcargs[name] for name in pyfuncitem._fixtureinfo.argnames}
    io_loop.run_sync(
        functools.partial(pyfuncitem.obj, **arguments), timeout=_timeout_for(pyfuncitem)
    )
    return True


def _cancel_pending(loop: asyncio.AbstractEventLoop) -> None:
    if loop.is_closed() or loop.is_running():
        return
    tasks = [task for task in asyncio.all_tasks(loop) if not task.done()]
    for task in tasks:
        task.cancel()
    if tasks:
        loop.run_until_complete(asyncio.gather(*tasks, return_exceptions=True))


@pytest.fixture
def io_loop() -> Iterator[Any]:
    """A new IOLoop, current for the test and closed after it."""
    from squall.ioloop import IOLoop

    previous = _peek_event_loop()
    loop = IOLoop(make_current=False)
    asyncio_loop: asyncio.AbstractEventLoop = loop.asyncio_loop
    asyncio.set_event_loop(asyncio_loop)
    try:
        yield loop
    finally:
        try:
            _cancel_pending(asyncio_loop)
        finally:
            loop.close(all_fds=True)
            if previous is not None and previous.is_closed():
                previous = None
            asyncio.set_event_loop(previous)


@pytest.fixture
def _squall_http_socket() -> Iterator[tuple[socket.socket, int]]:
    sock, port = bind_unused_port()
    try:
        yield sock, port
    finally:
        sock.close()


@pytest.fixture
def http_port(_squall_http_socket: tuple[socket.socket, int]) -> int:
    """The port ``http_server`` listens on."""
    return _squall_http_socket[1]


@pytest.fixture
def http_server_options() -> dict[str, Any]:
    """Keyword arguments for the test :class:`~squall.httpserver.HTTPServer` (override to add some)."""
    return {}


@pytest.fixture
def http_server(
    io_loop: Any,
    app: Any,
    http_server_options: dict[str, Any],
    _squall_http_socket: tuple[socket.socket, int],
) -> Iterator[Any]:
    """Fixture: serves the ``app`` fixture over HTTP on ``http_port`` until the test ends."""
    server_class, _ = _import_http("The http_server fixture")
    server = server_class(app, **http_server_options)
    server.add_sockets([_squall_http_socket[0]])
    try:
        yield server
    finally:
        server.stop()
        io_loop.run_sync(server.close_all_connections, timeout=get_async_test_timeout())


@pytest.fixture
def base_url(http_server: Any, http_port: int) -> str:
    """``http://127.0.0.1:<port>`` of the running ``http_server``."""
    return f"http://127.0.0.1:{http_port}"


@pytest.fixture
def http_client(io_loop: Any) -> Iterator[Any]:
    """A new :class:`~squall.httpclient.AsyncHTTPClient` on ``io_loop``, closed after the test."""
    _, client_class = _import_http("The http_client fixture")
    client = client_class(force_instance=True)
    try:
        yield client
    finally:
        client.close()


@pytest.fixture
def fetch(http_client: Any, base_url: str) -> Callable[..., Awaitable[Any]]:
    """``fetch(path, raise_error=False, **kwargs)``: an awaitable response from the test server."""

    def do_fetch(path: str, raise_error: bool = False, **kwargs: Any) -> Awaitable[Any]:
        url = path if path.lower().startswith(("http://", "https://")) else base_url + path
        result: Awaitable[Any] = http_client.fetch(url, raise_error=raise_error, **kwargs)
        return result

    return do_fetch
