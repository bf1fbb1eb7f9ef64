"""The stream exceptions and the small helpers every stream module shares."""

from __future__ import annotations

import asyncio
import errno
from typing import Any

__all__ = [
    "StreamBufferFullError",
    "StreamClosedError",
    "UnsatisfiableReadError",
]

# Errors that mean "the peer went away": closed quietly, not logged.
_QUIET_ERRNOS = frozenset(
    {
        errno.ECONNRESET,
        errno.ECONNABORTED,
        errno.EPIPE,
        errno.ETIMEDOUT,
        errno.ENOTCONN,
        errno.ESHUTDOWN,
        errno.EBADF,
    }
)


class StreamClosedError(OSError):
    """A read or write met a stream that is (or became) closed.

    The reason the stream closed, if known, is in ``real_error``
    (for example the :class:`ConnectionResetError` from the socket).
    """

    def __init__(self, real_error: BaseException | None = None) -> None:
        super().__init__("Stream is closed")
        self.real_error = real_error


class UnsatisfiableReadError(Exception):
    """Raised when a read cannot be satisfied (``max_bytes`` exceeded)."""


class StreamBufferFullError(Exception):
    """Incoming data would exceed the read buffer limit, or queued output the write limit."""


def _current_asyncio_loop() -> asyncio.AbstractEventLoop:
    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        from squall.ioloop import IOLoop

        loop: asyncio.AbstractEventLoop = getattr(IOLoop.current(), "asyncio_loop")  # noqa: B009
        return loop


def _retrieved(fut: asyncio.Future[Any], exc: BaseException) -> None:
    """Fail *fut* with *exc* and mark the exception as retrieved.

    A stream closing is an expected event; a future nobody awaits any more
    must not make asyncio log "exception was never retrieved".
    """
    if not fut.done():
        fut.set_exception(exc)
        fut.exception()


def _log_errno(exc: BaseException) -> bool:
    """Whether an I/O error deserves a warning (not a plain disconnect)."""
    if isinstance(exc, OSError):
        return exc.errno not in _QUIET_ERRNOS and not isinstance(exc, ConnectionError)
    return True
