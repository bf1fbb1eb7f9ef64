"""A non-blocking TCP connection factory (the ``tornado.tcpclient`` API)."""

from __future__ import annotations

from squall.util._util import _publish_public_names

from ._client import TCPClient

__all__ = ["TCPClient"]


_publish_public_names(globals())
