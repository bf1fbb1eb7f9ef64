"""HTTP1Connection and HTTP1ServerConnection: the codec driven over an IOStream."""

from __future__ import annotations

__all__ = ["HTTP1Connection", "HTTP1ConnectionParameters", "HTTP1ServerConnection"]


class HTTP1ConnectionParameters:
    """Settings for :class:`HTTP1Connection` (work in progress)."""


class HTTP1Connection:
    """An HTTP/1.x connection over an IOStream (work in progress)."""


class HTTP1ServerConnection:
    """The server side of an HTTP/1.x connection (work in progress)."""
