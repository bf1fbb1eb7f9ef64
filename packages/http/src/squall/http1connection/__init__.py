"""HTTP/1.x client and server connections (mirrors ``tornado.http1connection``).

The protocol itself lives in an I/O-free codec (``_codec``: ``H1Reader`` turns
bytes into events, ``H1Writer`` turns messages into bytes) that squall's
server and client share. :class:`HTTP1Connection` and
:class:`HTTP1ServerConnection` drive that codec over an
:class:`~squall.iostream.IOStream`, with Tornado's interface.
"""

from __future__ import annotations

from squall.util._util import _publish_public_names

from ._connection import HTTP1Connection, HTTP1ConnectionParameters, HTTP1ServerConnection

__all__ = ["HTTP1Connection", "HTTP1ConnectionParameters", "HTTP1ServerConnection"]


_publish_public_names(globals())
