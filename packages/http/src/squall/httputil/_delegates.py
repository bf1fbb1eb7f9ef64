"""The protocol-neutral contract between a server (or client) and the code it serves.

A connection driver (HTTP/1 today; HTTP/2 and ASGI later) calls
:class:`HTTPServerConnectionDelegate.start_request` for each incoming message
and feeds the returned :class:`HTTPMessageDelegate`; the application answers
through the :class:`HTTPConnection` it was handed. Nothing here mentions
chunking, keep-alive or streams: those are the driver's business.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ._headers import HTTPHeaders
    from ._startline import RequestStartLine, ResponseStartLine

__all__ = ["HTTPConnection", "HTTPMessageDelegate", "HTTPServerConnectionDelegate"]


class HTTPServerConnectionDelegate:
    """What a server talks to: one :meth:`start_request` per incoming request."""

    def start_request(
        self, server_conn: object, request_conn: HTTPConnection
    ) -> HTTPMessageDelegate:
        """A new request arrived on ``server_conn``; return the delegate for it.

        ``server_conn`` identifies the transport connection (several requests may
        share it); ``request_conn`` is where the response goes.
        """
        raise NotImplementedError(f"{type(self).__name__} must implement start_request()")

    def on_close(self, server_conn: object) -> None:
        """``server_conn`` was closed; no more requests will come from it."""


class HTTPMessageDelegate:
    """Receives one message: its head, its body in pieces, then the end.

    ``headers_received`` and ``data_received`` may return an awaitable; the
    driver reads no further until it is done (flow control).
    """

    def headers_received(
        self,
        start_line: RequestStartLine | ResponseStartLine,
        headers: HTTPHeaders,
    ) -> Awaitable[None] | None:
        """The start line and header fields of the message are in."""
        return None

    def data_received(self, chunk: bytes) -> Awaitable[None] | None:
        """Another piece of the body (already de-framed and decompressed)."""
        return None

    def finish(self) -> None:
        """The whole message has been received."""

    def on_connection_close(self) -> None:
        """The connection closed before :meth:`finish` was reached."""


class HTTPConnection:
    """Where an application writes its response (or a client its request)."""

    def write_headers(
        self,
        start_line: RequestStartLine | ResponseStartLine,
        headers: HTTPHeaders,
        chunk: bytes | None = None,
    ) -> asyncio.Future[None]:
        """Send the start line and headers, and optionally a first piece of body.

        The future resolves once the bytes have been handed to the transport.
        """
        raise NotImplementedError(f"{type(self).__name__} cannot send headers")

    def write(self, chunk: bytes) -> asyncio.Future[None]:
        """Send another piece of the body; the future resolves once it is flushed."""
        raise NotImplementedError(f"{type(self).__name__} cannot send a body")

    def finish(self) -> None:
        """The message is complete."""
        raise NotImplementedError(f"{type(self).__name__} cannot finish a message")
