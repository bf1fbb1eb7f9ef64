"""Delegates for the IOStream path (:meth:`HTTPServer.handle_stream` over ``HTTP1ServerConnection``).

The transport path in ``_protocol`` serves plain callables and proxy headers
inline; a stream handed to :meth:`~squall.httpserver.HTTPServer.handle_stream`
goes through :class:`~squall.http1connection.HTTP1ServerConnection`, which
speaks only the delegate interface, so these two small wrappers supply the
same behaviour there.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

from squall.httputil import (
    HTTPConnection,
    HTTPHeaders,
    HTTPInputError,
    HTTPMessageDelegate,
    HTTPServerRequest,
    RequestStartLine,
    ResponseStartLine,
)
from squall.log import app_log, gen_log

from ._peer import _PeerContext, _resolve_forwarded

__all__: list[str] = []


def _report(task: asyncio.Future[Any]) -> None:
    if not task.cancelled() and task.exception() is not None:
        app_log.error("Uncaught exception in the request callback", exc_info=task.exception())


class _GatherThenCall(HTTPMessageDelegate):
    """Collects one request and calls ``handle_request(request)`` once it is complete."""

    def __init__(
        self,
        handler: Callable[[HTTPServerRequest], Any],
        server_conn: object,
        request_conn: HTTPConnection,
    ) -> None:
        self._handler = handler
        self._server_conn = server_conn
        self._request_conn = request_conn
        self._line: Any = None
        self._headers: HTTPHeaders | None = None
        self._parts: list[bytes] = []

    def headers_received(
        self, start_line: RequestStartLine | ResponseStartLine, headers: HTTPHeaders
    ) -> Awaitable[None] | None:
        self._line = start_line
        self._headers = headers
        return None

    def data_received(self, chunk: bytes) -> Awaitable[None] | None:
        self._parts.append(chunk)
        return None

    def finish(self) -> None:
        body = b"".join(self._parts)
        self._parts = []
        request = HTTPServerRequest(
            start_line=self._line,
            headers=self._headers,
            body=body,
            connection=self._request_conn,
            server_connection=self._server_conn,
        )
        if body:
            try:
                request._parse_body()
            except HTTPInputError as exc:
                gen_log.info("Request body not parsed as a form: %s", exc)
        outcome = self._handler(request)
        if outcome is not None and hasattr(outcome, "__await__"):
            asyncio.ensure_future(outcome).add_done_callback(_report)

    def on_connection_close(self) -> None:
        self._parts = []


class _Forwarded(HTTPMessageDelegate):
    """Puts the proxy's view of the client into ``request_conn.context`` for one request."""

    def __init__(self, inner: HTTPMessageDelegate, request_conn: Any) -> None:
        self._inner = inner
        self._request_conn = request_conn

    def headers_received(
        self, start_line: RequestStartLine | ResponseStartLine, headers: HTTPHeaders
    ) -> Awaitable[None] | None:
        base = getattr(self._request_conn, "context", None)
        if isinstance(base, _PeerContext):
            remote_ip, protocol = _resolve_forwarded(
                headers, base.remote_ip, base.protocol, base.trusted_downstream
            )
            # A fresh context per request: the connection's own stays as accepted.
            self._request_conn.context = base._with(remote_ip, protocol)
        return self._inner.headers_received(start_line, headers)

    def data_received(self, chunk: bytes) -> Awaitable[None] | None:
        return self._inner.data_received(chunk)

    def finish(self) -> None:
        self._inner.finish()

    def on_connection_close(self) -> None:
        self._inner.on_connection_close()
