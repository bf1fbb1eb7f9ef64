"""Buffered, future-returning streams over non-blocking sockets and pipes (``tornado.iostream``).

:class:`BaseIOStream` holds the buffering and the read/write machinery;
:class:`IOStream` drives a socket, :class:`SSLIOStream` a TLS socket and
:class:`PipeIOStream` a pipe. Each read (``read_until``, ``read_bytes``, ...)
and each ``write`` returns a future; every buffer is bounded.
"""

from __future__ import annotations

from squall.util._util import _publish_public_names

from ._base import BaseIOStream
from ._errors import StreamBufferFullError, StreamClosedError, UnsatisfiableReadError
from ._pipe import PipeIOStream
from ._socket import IOStream, SSLIOStream

__all__ = [
    "BaseIOStream",
    "IOStream",
    "PipeIOStream",
    "SSLIOStream",
    "StreamBufferFullError",
    "StreamClosedError",
    "UnsatisfiableReadError",
]


_publish_public_names(globals())
