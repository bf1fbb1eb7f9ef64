"""Utility classes to write to and read from non-blocking files and sockets.

``BaseIOStream`` is the generic buffered stream; ``IOStream`` works over a
socket, ``SSLIOStream`` adds TLS, and ``PipeIOStream`` works over a pipe.
Every read and write returns a future.  Same API as ``tornado.iostream``.
"""

from __future__ import annotations

from ._base import (
    BaseIOStream,
    StreamBufferFullError,
    StreamClosedError,
    UnsatisfiableReadError,
)
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
