"""Opening outgoing TCP (optionally TLS) connections as IOStreams; mirrors ``tornado.tcpclient``."""

from __future__ import annotations

from squall.util._util import _publish_public_names

from ._client import TCPClient

__all__ = ["TCPClient"]


_publish_public_names(globals())
