"""The message delegates a router hands the server.

:class:`_HeldUntilRouted` waits for the request head, routes on it and then
forwards every event to whatever the router chose (a 404 answer when it
chose nothing). Plain ``callback(request)`` targets are served by
``squall.httputil._callable._CallableDelegate``.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from typing import TYPE_CHECKING, Any

from squall.httputil import (
    HTTPConnection,
    HTTPHeaders,
    HTTPMessageDelegate,
    RequestStartLine,
    ResponseStartLine,
)
from squall.httputil._request import _request_from_head
from squall.log import app_log

if TYPE_CHECKING:
    from ._routers import Router

__all__: list[str] = []

_NOT_FOUND_BODY = b"<html><title>404: Not Found</title><body>404: Not Found</body></html>"


def _log_failure(task: asyncio.Future[Any]) -> None:
    if not task.cancelled() and task.exception() is not None:
        app_log.error("Request callback failed", exc_info=task.exception())


class _NotFound(HTTPMessageDelegate):
    """Answers 404 once the (ignored) request body has been read."""

    def __init__(self, request_conn: HTTPConnection) -> None:
        self._conn = request_conn

    def finish(self) -> None:
        headers = HTTPHeaders()
        headers["Content-Type"] = "text/html; charset=UTF-8"
        headers["Content-Length"] = str(len(_NOT_FOUND_BODY))
        self._conn.write_headers(
            ResponseStartLine("HTTP/1.1", 404, "Not Found"), headers, _NOT_FOUND_BODY
        )
        self._conn.finish()


class _HeldUntilRouted(HTTPMessageDelegate):
    """Routes on the request head, then relays the message to the chosen delegate."""

    __slots__ = ("_inner", "_request_conn", "_router", "_server_conn")

    def __init__(self, router: Router, server_conn: object, request_conn: HTTPConnection) -> None:
        self._router = router
        self._server_conn = server_conn
        self._request_conn = request_conn
        self._inner: HTTPMessageDelegate | None = None

    def headers_received(
        self, start_line: RequestStartLine | ResponseStartLine, headers: HTTPHeaders
    ) -> Awaitable[None] | None:
        assert isinstance(start_line, RequestStartLine), "a router only receives requests"
        request = _request_from_head(start_line, headers, self._request_conn, self._server_conn)
        inner = self._router.find_handler(request)
        if inner is None:
            app_log.debug("No route for %s %s", start_line.method, start_line.path)
            inner = _NotFound(self._request_conn)
        self._inner = inner
        return inner.headers_received(start_line, headers)

    def data_received(self, chunk: bytes) -> Awaitable[None] | None:
        assert self._inner is not None, "body before head"
        return self._inner.data_received(chunk)

    def finish(self) -> None:
        assert self._inner is not None, "end of message before head"
        self._inner.finish()

    def on_connection_close(self) -> None:
        if self._inner is not None:
            self._inner.on_connection_close()
