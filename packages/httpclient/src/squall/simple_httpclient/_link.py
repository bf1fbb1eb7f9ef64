"""One client connection: an asyncio protocol that feeds squall's HTTP/1 codec directly.

A :class:`_Link` answers one fetch at a time: whoever owns it (``_Link.owner``)
gets the received bytes through ``on_bytes`` and the loss of the connection
through ``on_lost``. Nothing here awaits: the whole response is read from
``data_received``.

For a large body of known length the link switches to buffered reading: the
socket is read straight into one preallocated ``bytearray`` of the body's
size (``get_buffer`` hands out the unfilled tail), so the megabytes are copied
by the kernel once and never joined again.
"""

from __future__ import annotations

import asyncio
from typing import Protocol

from squall.http1connection._codec import H1Limits, H1Reader, H1Writer
from squall.httpclient._response import HTTPClientError

__all__ = ["HTTPStreamClosedError", "HTTPTimeoutError", "_Link", "_Owner"]

#: Bytes asked of the socket per read while no big body is being filled.
_READ_SIZE = 65536


class HTTPTimeoutError(HTTPClientError):
    """A request ran out of time (connecting, waiting in the queue, or for the answer): code 599."""

    def __init__(self, message: str) -> None:
        super().__init__(599, message=message)

    def __str__(self) -> str:
        return self.message


class HTTPStreamClosedError(HTTPClientError):
    """The connection closed (or was reset) before the response was complete: code 599."""

    def __init__(self, message: str) -> None:
        super().__init__(599, message=message)

    def __str__(self) -> str:
        return self.message


class _Owner(Protocol):
    """What a link reports to: the fetch it is carrying."""

    def on_bytes(self, data: bytes) -> None: ...

    def on_filled(self, body: bytes) -> None: ...

    def on_lost(self, exc: Exception | None) -> None: ...


class _Link(asyncio.BufferedProtocol):
    """The protocol of one kept-alive connection."""

    def __init__(self, limits: H1Limits) -> None:
        self.transport: asyncio.Transport | None = None
        self.reader = H1Reader(client=True, limits=limits)
        self.writer = H1Writer(client=True)
        self.owner: _Owner | None = None
        self.closed = False
        self.idle_since = 0.0
        self._scratch = bytearray(_READ_SIZE)
        self._view = memoryview(self._scratch)
        #: While a big body is read in place: its buffer (kept for the next one), its size
        #: and how much is filled.
        self.sink: memoryview | None = None
        self._big = bytearray()
        self._wanted = 0
        self.filled = 0
        self._drained: asyncio.Future[None] | None = None
        self._paused = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    # -- reading ------------------------------------------------------------------

    def fill(self, first: bytes, size: int) -> None:
        """Read the next ``size`` bytes (``first`` already here) into one buffer."""
        if len(self._big) < size:
            self._big = bytearray(size)
        sink = memoryview(self._big)[:size]
        sink[: len(first)] = first
        self.filled = len(first)
        self.sink = sink

    def get_buffer(self, sizehint: int) -> memoryview:
        sink = self.sink
        if sink is not None:
            return sink[self.filled :]
        return self._view

    def buffer_updated(self, nbytes: int) -> None:
        owner = self.owner
        sink = self.sink
        if sink is not None:
            self.filled += nbytes
            if self.filled == len(sink):
                self.sink = None
                body = bytes(sink)
                sink.release()
                if owner is not None:
                    owner.on_filled(body)
            return
        if owner is None:
            # Bytes nobody asked for: this connection cannot be trusted again.
            self.drop()
            return
        owner.on_bytes(bytes(self._view[:nbytes]))

    def eof_received(self) -> bool:
        return False

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        if self.transport is not None:
            # A no-op on a lost transport, but Python 3.10's TLS transport
            # warns (ResourceWarning) when collected without an explicit close.
            self.transport.close()
        waiter, self._drained = self._drained, None
        if waiter is not None and not waiter.done():
            waiter.set_result(None)
        owner = self.owner
        if owner is not None:
            owner.on_lost(exc)

    # -- writing ------------------------------------------------------------------

    def pause_writing(self) -> None:
        self._paused = True

    def resume_writing(self) -> None:
        self._paused = False
        waiter, self._drained = self._drained, None
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    async def drain(self) -> None:
        """Wait until the transport's write buffer is below its high-water mark."""
        if self._paused and not self.closed:
            waiter = self._drained
            if waiter is None:
                waiter = self._drained = asyncio.get_running_loop().create_future()
            await waiter

    # -- state --------------------------------------------------------------------

    def usable(self) -> bool:
        transport = self.transport
        return not self.closed and transport is not None and not transport.is_closing()

    def drop(self) -> None:
        """Close for good (abort: nothing more is worth sending)."""
        self.closed = True
        self.owner = None
        self.sink = None
        if self.transport is not None:
            self.transport.abort()
