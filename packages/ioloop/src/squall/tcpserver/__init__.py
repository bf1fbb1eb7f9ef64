"""Base class for servers accepting TCP connections on the event loop (``tornado.tcpserver``)."""

from __future__ import annotations

from squall.util._util import _publish_public_names

from ._server import TCPServer

__all__ = ["TCPServer"]


_publish_public_names(globals())
