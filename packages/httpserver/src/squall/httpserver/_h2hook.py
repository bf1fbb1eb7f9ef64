"""Where HTTP/1 hands a connection to HTTP/2, without importing ``h2`` until then.

``_protocol`` calls :func:`_take_over` when a TLS handshake chose ``h2`` by
ALPN or when a cleartext connection opens with the HTTP/2 preface (h2c with
prior knowledge); only then is the optional ``h2`` library loaded.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ._registry import _Registry

__all__: list[str] = []

# The first bytes of every HTTP/2 connection from a client (RFC 9113 §3.4).
PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"


class _H2Options:
    """The HTTP/2 limits of one server (``HTTPServer(..., http2=True)``)."""

    __slots__ = ("frame", "header_list", "reset_budget", "streams", "window")

    def __init__(self, streams: int, frame: int, window: int, header_list: int) -> None:
        if not 16384 <= frame <= 16777215:
            raise ValueError("http2_max_frame_size must lie in 16384..16777215")
        if not 0 < window <= 2**31 - 1:
            raise ValueError("http2_initial_window_size must lie in 1..2**31-1")
        if streams < 1:
            raise ValueError("http2_max_concurrent_streams must be positive")
        self.streams = streams
        self.frame = frame
        self.window = window
        self.header_list = header_list
        self.reset_budget = max(100, 2 * streams)


def _take_over(transport: Any, registry: _Registry, tls: bool) -> asyncio.Protocol:
    """Put a fresh HTTP/2 protocol on ``transport`` and start it."""
    from ._h2 import _H2Link

    link = _H2Link(registry, tls)
    transport.set_protocol(link)
    link.connection_made(transport)
    return link
