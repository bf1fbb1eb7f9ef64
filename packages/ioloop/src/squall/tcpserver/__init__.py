"""A non-blocking, single-threaded TCP server (the ``tornado.tcpserver`` API)."""

from __future__ import annotations

from squall.util._util import _publish_public_names

from ._server import TCPServer

__all__ = ["TCPServer"]


_publish_public_names(globals())
