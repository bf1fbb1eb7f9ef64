"""What :meth:`HTTPConnection.detach` hands over on the server's fast path: a stream over the transport.

The fast path serves each connection with an asyncio Protocol, not an
:class:`~squall.iostream.IOStream`. Detaching (a WebSocket upgrade, or any
protocol tunnelled over an HTTP handshake) swaps the transport's protocol for
a :class:`_TransportStream`: the :class:`~squall.iostream.BaseIOStream`
interface (``read_bytes``, ``read_until``, ``read_until_close``,
``read_into``, ``write``, ``close``, ``set_close_callback``,
``set_nodelay``...) on top of that transport, plain TCP or TLS alike.

How it fits the stream machinery: received bytes wait in a small inbox that
the stream's ``_recv`` hooks read from, as if the inbox were a socket; the
transport stops reading (``pause_reading``) whenever the stream would stop
watching its descriptor (nobody reads and nobody waits for the close), so a
peer cannot fill memory. Writes always go straight to the transport, which
buffers; while it reports too much buffered (``pause_writing``) the futures
of new writes wait for it to drain.

For squall's own WebSocket layer there is a faster way in:
:meth:`_TransportStream._deliver_to` turns the stream into a push source
that calls a function with every piece of received data (no read futures at
all); reads are then not allowed.

A detached connection may be held for hours (idle WebSockets), so nothing of
HTTP should stay alive with it: :class:`_Handover` is the small object a
request's ``connection`` can be swapped for once the stream owns the
transport (the request still answers ``remote_ip`` and friends through it).
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Callable
from typing import Any

from squall.iostream import BaseIOStream, StreamBufferFullError, StreamClosedError

from ._peer import _peer_context, _PeerContext

__all__: list[str] = []

# The inbox of a stream in push mode: always empty (pushed data never waits),
# so every such stream shares this one instead of owning a list.
_PUSHING: list[bytes] = []


def _observed(future: asyncio.Future[Any]) -> None:
    if not future.cancelled():
        future.exception()


class _Handover:
    """What a request's ``connection`` becomes once its connection was detached.

    HTTP is over on it: :meth:`write_headers` and :meth:`write` return
    futures failed with :class:`StreamClosedError`, :meth:`finish` and the
    per-request controls do nothing, :meth:`detach` raises. It keeps only
    what a request may still read: ``context`` (built on first use, as the
    server connection does) and the client's TLS certificate.
    """

    __slots__ = ("_context", "_scheme", "_transport", "_trusted")

    def __init__(
        self,
        transport: asyncio.BaseTransport,
        scheme: str,
        trusted: frozenset[str],
        context: _PeerContext | None,
    ) -> None:
        self._transport = transport
        self._scheme = scheme
        self._trusted = trusted
        self._context = context

    @property
    def context(self) -> _PeerContext:
        """The peer of the connection (address, ``remote_ip``, ``protocol``)."""
        known = self._context
        if known is None:
            address = self._transport.get_extra_info("peername")
            known = self._context = _peer_context(address, self._scheme, self._trusted)
        return known

    def _peer_certificate(self, binary_form: bool) -> Any:
        tls = self._transport.get_extra_info("ssl_object")
        return None if tls is None else tls.getpeercert(binary_form=binary_form)

    def write_headers(self, start_line: Any, headers: Any, chunk: bytes | None = None) -> Any:
        return self._refused()

    def write(self, chunk: bytes) -> asyncio.Future[None]:
        return self._refused()

    def _refused(self) -> asyncio.Future[None]:
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        future.set_exception(StreamClosedError())
        future.add_done_callback(_observed)
        return future

    def finish(self) -> None:
        pass

    def set_close_callback(self, callback: Callable[[], None] | None) -> None:
        pass

    def set_body_timeout(self, timeout: float) -> None:
        pass

    def set_max_body_size(self, max_body_size: int) -> None:
        pass

    def close(self) -> None:
        """Nothing to close here: the detached stream owns the connection."""

    def detach(self) -> Any:
        raise StreamClosedError()


class _TransportStream(BaseIOStream, asyncio.Protocol):
    """An IOStream-compatible stream over an asyncio transport (see the module docs).

    ``early`` is whatever the HTTP layer had received past the request head:
    it is read (or delivered) first. ``done``, when given, is an already
    resolved future that :meth:`_push` may hand out (shared by many streams).
    """

    __slots__ = (
        "_inbox",
        "_read_paused",
        "_ready",
        "_receiver",
        "_transport",
        "_write_paused",
    )

    def __init__(
        self,
        transport: asyncio.Transport,
        early: bytes,
        *,
        read_paused: bool = False,
        write_paused: bool = False,
        max_buffer_size: int | None = None,
        done: asyncio.Future[None] | None = None,
    ) -> None:
        super().__init__(max_buffer_size=max_buffer_size)
        self._transport = transport
        # Usually empty or one chunk: a list is far smaller than a deque.
        self._inbox: list[bytes] = [early] if early else []
        self._read_paused = read_paused
        self._write_paused = write_paused
        self._receiver: Callable[[bytes], None] | None = None
        self._ready = done
        sock = transport.get_extra_info("socket")
        self._fd = sock.fileno() if sock is not None else 0

    # -- what the stream machinery calls instead of touching a descriptor ----------

    def fileno(self) -> Any:
        """The transport's socket (an object with ``fileno()``)."""
        return self._transport.get_extra_info("socket")

    @property
    def socket(self) -> Any:
        """The transport's socket, like :attr:`IOStream.socket` (asyncio's safe wrapper)."""
        return self._transport.get_extra_info("socket")

    def close_fd(self) -> None:
        self._transport.close()

    def _recv(self, size: int) -> bytes | None:
        inbox = self._inbox
        return inbox.pop(0) if inbox else None

    def _recv_into(self, buf: bytearray | memoryview) -> int | None:
        inbox = self._inbox
        if not inbox:
            return None
        chunk = inbox.pop(0)
        room = len(buf)
        if len(chunk) > room:
            inbox.insert(0, chunk[room:])
            chunk = chunk[:room]
        buf[: len(chunk)] = chunk
        return len(chunk)

    def _recv_pending(self) -> bool:
        return bool(self._inbox)

    def _send(self, data: bytes | bytearray | memoryview) -> int:
        # Only reached through the base class's queue, which write() below
        # never fills; kept so that the hook set is complete.
        self._transport.write(bytes(data))
        return len(data) if type(data) is not memoryview else data.nbytes

    def write(self, data: bytes | bytearray | memoryview) -> asyncio.Future[None]:
        """Send ``data``; the future resolves once the transport is below its high-water mark.

        The transport buffers what the socket does not take at once, and
        tells us when it holds too much (``pause_writing``): futures of
        writes made from then on resolve when it has drained
        (``resume_writing``), which is what a caller awaiting each write
        needs for flow control.

        Raises:
            StreamClosedError: the stream is closed.
            StreamBufferFullError: ``max_write_buffer_size`` would be exceeded.
        """
        if self._closed:
            raise StreamClosedError(real_error=self.error)
        transport = self._transport
        cap = self.max_write_buffer_size
        size = len(data) if type(data) is not memoryview else data.nbytes
        if cap is not None and transport.get_write_buffer_size() + size > cap:
            raise StreamBufferFullError("Reached maximum write buffer size")
        future: asyncio.Future[None] = self._loop.create_future()
        if size:
            # asyncio may keep a reference to unsent data: give it bytes
            # that nobody can change afterwards.
            transport.write(data if type(data) is bytes else bytes(data))
        if self._write_paused:
            waiting = self._wfuts
            if waiting is None:
                waiting = self._wfuts = []
            waiting.append((0, future))
        else:
            future.set_result(None)
        return future

    def writing(self) -> bool:
        """Whether written data still waits in the transport's buffer."""
        return not self._closed and self._transport.get_write_buffer_size() > 0

    def _want_read(self) -> None:
        if self._closed:
            return
        if self._read_paused:
            self._read_paused = False
            self._transport.resume_reading()
        if self._inbox:
            self._on_readable()

    def _drop_read(self) -> None:
        if not self._read_paused and not self._closed:
            self._read_paused = True
            self._transport.pause_reading()

    def set_nodelay(self, value: bool) -> None:
        """Set ``TCP_NODELAY`` on the underlying TCP socket (no-op for other families)."""
        sock = self._transport.get_extra_info("socket")
        if sock is None or self._closed or sock.family not in (socket.AF_INET, socket.AF_INET6):
            return
        try:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1 if value else 0)
        except OSError:
            pass

    # -- asyncio.Protocol ----------------------------------------------------------

    def data_received(self, data: bytes) -> None:
        if self._closed:
            return
        receiver = self._receiver
        if receiver is not None:
            receiver(data)
            return
        self._inbox.append(data)
        self._on_readable()

    def eof_received(self) -> bool:
        if self._receiver is None and not self._closed:
            self._inbox.append(b"")
            self._on_readable()
        return False

    def connection_lost(self, exc: Exception | None) -> None:
        if self._closed:
            return
        # Whatever arrived stays readable from the buffer of the closed stream.
        inbox = self._inbox
        for chunk in inbox:
            if chunk:
                self._append(chunk)
        inbox.clear()
        self.close(exc_info=exc if exc is not None else False)

    def pause_writing(self) -> None:
        self._write_paused = True

    def resume_writing(self) -> None:
        self._write_paused = False
        waiting, self._wfuts = self._wfuts, None
        for _, future in waiting or ():
            if not future.done():
                future.set_result(None)

    # -- the push mode for squall's WebSocket layer --------------------------------

    def _deliver_to(self, receiver: Callable[[bytes], None] | None) -> None:
        """Call ``receiver(data)`` with everything received from now on (None: back to reads).

        Bytes buffered so far are delivered first, in one call, before this
        returns. The end of the connection is seen through
        :meth:`set_close_callback` as usual. Reads must not be pending.
        """
        if self.reading():
            raise RuntimeError("cannot switch to push delivery while a read is pending")
        self._receiver = receiver
        if receiver is None:
            if self._inbox is _PUSHING:
                self._inbox = []
            return
        if self._ready is None:
            self._ready = self._loop.create_future()
            self._ready.set_result(None)
        held = self._consume(len(self._rbuf) - self._rpos)
        eof = False
        for chunk in self._inbox:
            if chunk:
                held += chunk
            else:
                eof = True
        self._inbox = _PUSHING
        if self._read_paused and not self._closed:
            self._read_paused = False
            self._transport.resume_reading()
        if held:
            receiver(held)
        if eof:
            self.close()

    def _push(self, data: bytes) -> asyncio.Future[None]:
        """:meth:`write` for the push-mode owner: one shared, already resolved future
        unless the transport asked us to wait (no allocation per message).

        Only valid after :meth:`_deliver_to`. Raises :class:`StreamClosedError`.
        """
        if self._closed:
            raise StreamClosedError(real_error=self.error)
        self._transport.write(data)
        ready = self._ready
        if not self._write_paused and ready is not None:
            return ready
        future: asyncio.Future[None] = self._loop.create_future()
        waiting = self._wfuts
        if waiting is None:
            waiting = self._wfuts = []
        waiting.append((0, future))
        return future

    def _settled(self) -> asyncio.Future[None] | None:
        """The shared resolved future :meth:`_push` returns, or None while writers
        must wait (or before :meth:`_deliver_to`)."""
        return None if self._write_paused or self._closed else self._ready

    def _pause_delivery(self) -> None:
        """Stop reading from the peer (back-pressure in push mode)."""
        self._drop_read()

    def _resume_delivery(self) -> None:
        """Read from the peer again after :meth:`_pause_delivery`."""
        if self._read_paused and not self._closed:
            self._read_paused = False
            self._transport.resume_reading()
