"""Delegates for the IOStream path (:meth:`HTTPServer.handle_stream` over ``HTTP1ServerConnection``).

The transport path in ``_protocol`` serves plain callables and proxy headers
inline; a stream handed to :meth:`~squall.httpserver.HTTPServer.handle_stream`
goes through :class:`~squall.http1connection.HTTP1ServerConnection`, which
speaks only the delegate interface, so plain callables are served there by
:class:`squall.httputil._callable._CallableDelegate` and proxy headers by
:class:`_Forwarded` below.
"""

from __future__ import annotations

from collections.abc import Awaitable
from typing import Any

from squall.httputil import (
    HTTPHeaders,
    HTTPMessageDelegate,
    RequestStartLine,
    ResponseStartLine,
)

from ._peer import _PeerContext, _resolve_forwarded

__all__: list[str] = []


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
