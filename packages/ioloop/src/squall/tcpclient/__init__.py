"""A non-blocking TCP connection factory (the ``tornado.tcpclient`` API)."""

from __future__ import annotations

from ._client import TCPClient

__all__ = ["TCPClient"]
