"""A non-blocking, single-threaded TCP server (the ``tornado.tcpserver`` API)."""

from __future__ import annotations

from ._server import TCPServer

__all__ = ["TCPServer"]
