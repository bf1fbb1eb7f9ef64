"""The buffered, event-driven core shared by every squall stream.

:class:`BaseIOStream` keeps a bounded read buffer and a bounded write queue and
talks to the file descriptor through four small hooks (``_recv``, ``_recv_into``,
``_send`` and ``close_fd``) that the socket, TLS and pipe streams implement.

Memory matters here: a server may hold tens of thousands of idle streams, so
every stream uses ``__slots__``, allocates its buffers only while they hold
data, and registers its descriptor with the event loop only while it has
something to wait for.

Speed matters too (the small-message path is what an HTTP server runs): a read
the buffer can satisfy completes synchronously (the returned future is done
before the call returns); otherwise the read first tries the descriptor, and
only waits on the event loop if nothing had arrived (after such a miss the
next few reads skip the try, as request/response peers rarely have answered
yet).  A write goes straight to the descriptor when nothing is queued.
"""

from __future__ import annotations

import asyncio
import re
import sys
from collections.abc import Awaitable, Callable
from types import TracebackType
from typing import TYPE_CHECKING, Any, Union

from squall.log import gen_log

from ._errors import (
    StreamBufferFullError,
    StreamClosedError,
    UnsatisfiableReadError,
    _current_asyncio_loop,
    _log_errno,
    _retrieved,
)

if TYPE_CHECKING:
    from squall.ioloop import IOLoop

__all__ = ["BaseIOStream"]

_ExcInfo = Union[
    None,
    bool,
    BaseException,
    "tuple[type[BaseException] | None, BaseException | None, TracebackType | None]",
]

# Kinds of pending read.
_R_NONE = 0
_R_BYTES = 1
_R_UNTIL = 2
_R_REGEX = 3
_R_CLOSE = 4
_R_INTO = 5
# A large read_bytes: data goes straight into a preallocated bytearray.
_R_DIRECT = 6

# After a read request found the descriptor empty, this many further requests
# wait for the event loop without looking first (a look that finds nothing
# costs a system call and an exception); then one looks again.
_INLINE_BACKOFF = 8

# Registration bits.
_REG_READ = 1
_REG_WRITE = 2

# Writes up to this size are copied into a shared coalescing buffer; larger
# ones are queued by reference (a memoryview), never copied.
_SMALL_WRITE = 4096
_COALESCE_LIMIT = 65536

_EMPTY = b""


class BaseIOStream:
    """The buffering and read/write machinery shared by every squall stream.

    Every read method returns a future; at most one read may be pending at a
    time, and writes may be issued at any time (they are queued and flushed in
    order).  A read that the buffered data, or data already waiting on the
    descriptor, satisfies resolves before the method returns.

    Args:
        max_buffer_size: cap on buffered incoming bytes (100 MB unless
            given); going past it closes the stream with
            :class:`StreamBufferFullError`.
        read_chunk_size: amount read from the descriptor per system call
            (default 64 KB, at most half of ``max_buffer_size``).
        max_write_buffer_size: largest amount of outgoing data to queue
            (default unlimited); :meth:`write` raises
            :class:`StreamBufferFullError` beyond it.

    Difference from Tornado: the descriptor is registered with the event loop
    only while a read, a write, a connect or a close callback needs it, and
    buffers are released as soon as they are empty.
    """

    __slots__ = (
        "__weakref__",
        "_close_cb",
        "_closed",
        "_connecting",
        "_fd",
        "_loop",
        "_rarg",
        "_rbuf",
        "_regs",
        "_rfut",
        "_rkind",
        "_rmax",
        "_rpartial",
        "_rpos",
        "_rscan",
        "_rskip",
        "_wbuf",
        "_wfuts",
        "_wpos",
        "_wsent",
        "_wsize",
        "error",
        "max_buffer_size",
        "max_write_buffer_size",
        "read_chunk_size",
    )

    def __init__(
        self,
        max_buffer_size: int | None = None,
        read_chunk_size: int | None = None,
        max_write_buffer_size: int | None = None,
    ) -> None:
        self._loop = _current_asyncio_loop()
        self.max_buffer_size: int = max_buffer_size or 104857600
        # A chunk larger than half the buffer would overflow it in one read.
        self.read_chunk_size: int = min(read_chunk_size or 65536, self.max_buffer_size // 2)
        self.max_write_buffer_size: int | None = max_write_buffer_size
        self.error: BaseException | None = None
        self._fd = -1
        self._rbuf: bytes | bytearray = _EMPTY
        self._rpos = 0
        self._rkind = _R_NONE
        self._rarg: Any = None
        self._rmax: int | None = None
        self._rpartial = False
        self._rscan = 0
        self._rskip = 0
        self._rfut: asyncio.Future[Any] | None = None
        self._wbuf: list[bytearray | memoryview] | None = None
        self._wpos = 0
        self._wsize = 0
        self._wsent = 0
        self._wfuts: list[tuple[int, asyncio.Future[None]]] | None = None
        self._close_cb: Callable[[], None] | None = None
        self._closed = False
        self._connecting = False
        self._regs = 0

    # ------------------------------------------------------------------
    # Hooks for subclasses.

    def fileno(self) -> Any:
        """Returns the file descriptor (or an object with ``fileno()``)."""
        raise NotImplementedError()

    def close_fd(self) -> None:
        """Closes the underlying file; called by :meth:`close` only."""
        raise NotImplementedError()

    def write_to_fd(self, data: memoryview) -> int:
        """Writes as much of *data* as the descriptor takes; returns the count."""
        return self._send(data)

    def read_from_fd(self, buf: bytearray | memoryview) -> int | None:
        """Reads into *buf*; returns the count, ``None`` if nothing is ready, 0 at EOF."""
        return self._recv_into(buf)

    def get_fd_error(self) -> Exception | None:
        """Returns the pending error on the descriptor, if any."""
        return None

    def _recv(self, size: int) -> bytes | None:
        """Returns up to *size* bytes, ``b""`` at end of file, ``None`` if none ready."""
        raise NotImplementedError()

    def _recv_into(self, buf: bytearray | memoryview) -> int | None:
        raise NotImplementedError()

    def _send(self, data: bytes | bytearray | memoryview) -> int:
        """Writes what it can of *data*; returns 0 when the descriptor is full."""
        raise NotImplementedError()

    def _recv_pending(self) -> bool:
        """Whether more decrypted data waits above the descriptor (TLS)."""
        return False

    def _io_blocked(self) -> bool:
        """Whether user reads and writes must wait (connecting or handshaking)."""
        return self._connecting

    # ------------------------------------------------------------------
    # Public state.

    @property
    def io_loop(self) -> IOLoop:
        """The :class:`~squall.ioloop.IOLoop` this stream runs on."""
        from squall.ioloop import IOLoop

        return IOLoop.current()

    def closed(self) -> bool:
        """Whether :meth:`close` has run (by us, the peer or an error)."""
        return self._closed

    def reading(self) -> bool:
        """Returns ``True`` while a read is pending."""
        fut = self._rfut
        return fut is not None and not fut.done()

    def writing(self) -> bool:
        """Returns ``True`` while queued data waits to be written."""
        return self._wsize > 0

    def set_nodelay(self, value: bool) -> None:
        """Sets the no-delay flag (disables Nagle's algorithm) where it applies."""

    def set_close_callback(self, callback: Callable[[], None] | None) -> None:
        """Calls *callback* (on the event loop) when the stream is closed.

        Setting a callback makes the stream watch for the peer closing even
        while no read is pending.  It is not called if the stream is already
        closed, and it is one callback, not a list.
        """
        self._close_cb = callback
        if callback is not None and not self._closed and self._fd >= 0:
            self._want_read()

    # ------------------------------------------------------------------
    # Reads.

    def read_bytes(self, num_bytes: int, partial: bool = False) -> Awaitable[bytes]:
        """Reads exactly *num_bytes* bytes (or, with *partial*, 1 to *num_bytes*).

        Raises:
            StreamClosedError: (from the future, or at once when the stream
                is already closed) if the stream closes first.
        """
        if not isinstance(num_bytes, int) or num_bytes < 0:
            raise TypeError("num_bytes must be a non-negative int")
        fut = self._start_read(_R_BYTES, num_bytes, None)
        avail = len(self._rbuf) - self._rpos
        if avail >= num_bytes:
            self._complete(num_bytes)
            return fut
        if partial:
            if avail:
                self._complete(avail)
                return fut
            self._rpartial = True
        elif self.read_chunk_size < num_bytes <= self.max_buffer_size:
            # Receive into the final buffer: no per-chunk allocation or growth.
            self._rkind = _R_DIRECT
            self._rarg = memoryview(bytearray(num_bytes))
            if avail:
                self._begin_read()
                return fut
        self._wait_read()
        return fut

    def read_until(self, delimiter: bytes, max_bytes: int | None = None) -> Awaitable[bytes]:
        """Reads up to and including *delimiter*.

        If *max_bytes* is given and the delimiter is not found within that many
        bytes, the stream is closed and the future fails with
        :class:`StreamClosedError` whose ``real_error`` is an
        :class:`UnsatisfiableReadError`.
        """
        if not delimiter:
            raise ValueError("delimiter must not be empty")
        fut = self._start_read(_R_UNTIL, delimiter, max_bytes)
        if self._rpos < len(self._rbuf) or (max_bytes is not None and max_bytes < 0):
            self._begin_read()
        else:
            self._wait_read()
        return fut

    def read_until_regex(self, regex: bytes, max_bytes: int | None = None) -> Awaitable[bytes]:
        """Reads up to and including the end of the first match of *regex*.

        *max_bytes* behaves as for :meth:`read_until`.
        """
        pattern = re.compile(regex)
        fut = self._start_read(_R_REGEX, pattern, max_bytes)
        self._begin_read()
        return fut

    def read_until_close(self) -> Awaitable[bytes]:
        """Reads everything until the stream closes; resolves with all of it.

        On a stream that is already closed it resolves with whatever is left
        in the buffer (possibly ``b""``).
        """
        fut = self._start_read(_R_CLOSE, None, None)
        if self._closed:
            self._finish_read(self._consume(len(self._rbuf) - self._rpos))
        else:
            self._begin_read()
        return fut

    def read_into(self, buf: bytearray, partial: bool = False) -> Awaitable[int]:
        """Reads into *buf* until it is full (or, with *partial*, until any data came).

        Resolves with the number of bytes stored.  Data arriving while the read
        is pending goes straight into *buf*, without an intermediate copy.
        """
        fut = self._start_read(_R_INTO, memoryview(buf).cast("B"), None)
        self._rpartial = partial
        self._rscan = 0
        self._begin_read()
        return fut

    def _start_read(self, kind: int, arg: Any, max_bytes: int | None) -> asyncio.Future[Any]:
        old = self._rfut
        if old is not None:
            if not old.done():
                raise AssertionError("Already reading")
            # The previous read was cancelled by its caller: forget it.
            self._clear_read()
        fut: asyncio.Future[Any] = self._loop.create_future()
        self._rfut = fut
        self._rkind = kind
        self._rarg = arg
        self._rmax = max_bytes
        self._rpartial = False
        self._rscan = 0
        return fut

    def _clear_read(self) -> None:
        self._rfut = None
        self._rkind = _R_NONE
        self._rarg = None
        self._rmax = None

    def _finish_read(self, result: Any) -> None:
        fut = self._rfut
        self._clear_read()
        if fut is not None and not fut.done():
            fut.set_result(result)

    def _complete(self, n: int) -> None:
        """Resolves the pending read with the first *n* buffered bytes."""
        buf = self._rbuf
        if type(buf) is bytes:
            pos = self._rpos
            end = pos + n
            # A full-range slice of bytes is the object itself: no copy.
            data = buf[pos:end]
            if end == len(buf):
                self._rbuf = _EMPTY
                self._rpos = 0
            else:
                self._rpos = end
        else:
            data = self._consume(n)
        self._finish_read(data)

    def _fail_read(self, exc: BaseException) -> None:
        fut = self._rfut
        self._clear_read()
        if fut is not None:
            _retrieved(fut, exc)

    def _begin_read(self) -> None:
        """Completes the new read from the buffer or arranges to wait for data."""
        try:
            if self._satisfy():
                return
        except UnsatisfiableReadError as e:
            self._unsatisfiable(e)
            return
        self._wait_read()

    def _wait_read(self) -> None:
        """Tries the descriptor for a read the buffer cannot serve, then waits for it."""
        if self._closed:
            exc = StreamClosedError(real_error=self.error)
            self._clear_read()
            raise exc
        if self._io_blocked():
            return
        skip = self._rskip
        if skip:
            self._rskip = skip + 1 if skip < _INLINE_BACKOFF else 0
        else:
            # Look at the descriptor before waiting on it: when the data has
            # arrived already, finishing here spares two trips through the
            # event loop (the caller's await does not even suspend).
            if self._rkind >= _R_INTO and len(self._rbuf) == self._rpos:
                got = self._read_into_target()
            else:
                got = self._fill(self.read_chunk_size, once=False)
            if self._rfut is None or self._closed:
                return
            if not got:
                # Request/response traffic: the peer answers only after
                # hearing from us, so looking at once rarely pays.
                self._rskip = 1
        if not self._regs & _REG_READ:
            self._want_read()

    def _unsatisfiable(self, exc: UnsatisfiableReadError) -> None:
        gen_log.info("Unsatisfiable read, closing connection: %s", exc)
        self.close(exc_info=exc)

    def _satisfy(self) -> bool:
        """Completes the pending read if the buffer allows; returns whether it did.

        Raises:
            UnsatisfiableReadError: when ``max_bytes`` can no longer be met.
        """
        kind = self._rkind
        buf = self._rbuf
        pos = self._rpos
        avail = len(buf) - pos
        if kind == _R_BYTES:
            want: int = self._rarg
            if avail >= want:
                self._complete(want)
                return True
            if self._rpartial and avail:
                self._complete(avail)
                return True
            return False
        if kind in (_R_NONE, _R_CLOSE):
            return False
        if kind == _R_UNTIL:
            delim: bytes = self._rarg
            i = buf.find(delim, pos + self._rscan)
            limit = self._rmax
            if i < 0:
                # Next time, only scan what is new (minus a partial delimiter).
                self._rscan = max(0, avail - len(delim) + 1)
                if limit is not None and avail > limit:
                    raise UnsatisfiableReadError(
                        f"delimiter {delim!r} not found within {limit} bytes"
                    )
                return False
            end = i - pos + len(delim)
            if limit is not None and end > limit:
                raise UnsatisfiableReadError(f"delimiter {delim!r} not found within {limit} bytes")
            self._complete(end)
            return True
        if kind == _R_REGEX:
            pattern: re.Pattern[bytes] = self._rarg
            m = pattern.search(buf, pos)
            limit = self._rmax
            if m is None:
                if limit is not None and avail > limit:
                    raise UnsatisfiableReadError(
                        f"regex {pattern.pattern!r} not matched within {limit} bytes"
                    )
                return False
            end = m.end() - pos
            if limit is not None and end > limit:
                raise UnsatisfiableReadError(
                    f"regex {pattern.pattern!r} not matched within {limit} bytes"
                )
            self._complete(end)
            return True
        # _R_INTO / _R_DIRECT: copy what is buffered into the target buffer.
        target: memoryview = self._rarg
        filled = self._rscan
        if avail:
            n = min(avail, len(target) - filled)
            target[filled : filled + n] = memoryview(buf)[pos : pos + n]
            self._drop(n)
            filled += n
            self._rscan = filled
        if filled == len(target) or (self._rpartial and filled):
            self._finish_into(filled)
            return True
        return False

    def _finish_into(self, filled: int) -> None:
        if self._rkind == _R_DIRECT:
            target: memoryview = self._rarg
            self._finish_read(bytes(target))
        else:
            self._finish_read(filled)

    def _consume(self, n: int) -> bytes:
        """Removes and returns the first *n* buffered bytes."""
        if n == 0:
            return _EMPTY
        buf = self._rbuf
        pos = self._rpos
        end = pos + n
        if type(buf) is bytes:
            # A full-range slice of bytes is the object itself: no copy.
            data = buf[pos:end]
            if end == len(buf):
                self._rbuf = _EMPTY
                self._rpos = 0
            else:
                self._rpos = end
            return data
        with memoryview(buf) as view:
            data = bytes(view[pos:end])
        self._drop(n)
        return data

    def _drop(self, n: int) -> None:
        buf = self._rbuf
        end = self._rpos + n
        if end >= len(buf):
            self._rbuf = _EMPTY
            self._rpos = 0
        elif type(buf) is bytes:
            self._rpos = end
        else:
            # Deleting from the front of a bytearray does not move the rest.
            del buf[:end]  # type: ignore[union-attr]
            self._rpos = 0

    def _append(self, chunk: bytes) -> None:
        buf = self._rbuf
        pos = self._rpos
        if pos == len(buf):
            self._rbuf = chunk
            self._rpos = 0
        elif type(buf) is bytes:
            grown = bytearray(memoryview(buf)[pos:])
            grown += chunk
            self._rbuf = grown
            self._rpos = 0
        else:
            buf += chunk

    def _on_readable(self) -> None:
        """Event-loop callback: the descriptor has data (or EOF, or an error)."""
        if self._closed:
            return
        fut = self._rfut
        if fut is None or fut.done():
            if fut is not None:
                # The caller cancelled its read; keep the data for the next one.
                self._clear_read()
            # Nobody reads: either watch for the peer closing, or stop listening.
            if self._close_cb is None or len(self._rbuf) > self._rpos:
                self._drop_read()
                return
            self._fill(self.read_chunk_size, once=True)
            if len(self._rbuf) > self._rpos:
                self._drop_read()
            return
        if self._rkind >= _R_INTO and len(self._rbuf) == self._rpos:
            self._read_into_target()
            return
        self._fill(self.read_chunk_size, once=False)

    def _read_into_target(self) -> bool:
        """Receives straight into the read's target buffer; returns whether anything came."""
        target: memoryview = self._rarg
        start = filled = self._rscan
        while filled < len(target):
            try:
                n = self._recv_into(target[filled:])
            except OSError as e:
                self._read_error(e)
                return True
            if n is None:
                break
            if n == 0:
                self._rscan = filled
                self._on_eof()
                return True
            filled += n
            if self._rpartial or not self._recv_pending():
                break
        self._rscan = filled
        if filled == len(target) or (self._rpartial and filled):
            self._finish_into(filled)
        return filled > start

    def _fill(self, size: int, once: bool) -> bool:
        """Reads from the descriptor into the buffer, then serves the pending read.

        Returns whether anything came (data, end of file or an error).
        """
        limit = self.max_buffer_size
        got = False
        while True:
            try:
                chunk = self._recv(size)
            except OSError as e:
                self._read_error(e)
                return True
            if chunk is None:
                break
            if not chunk:
                self._on_eof()
                return True
            got = True
            if self._rpos == len(self._rbuf):
                # The usual case: the buffer was empty, the chunk becomes it.
                self._rbuf = chunk
                self._rpos = 0
            else:
                self._append(chunk)
            if once:
                return True
            try:
                if self._satisfy():
                    break
            except UnsatisfiableReadError as e:
                self._unsatisfiable(e)
                return True
            if len(self._rbuf) - self._rpos > limit:
                break
            if len(chunk) < size and not self._recv_pending():
                break
        if len(self._rbuf) - self._rpos > limit:
            gen_log.error("Reached maximum read buffer size")
            err = StreamBufferFullError("Reached maximum read buffer size")
            self._fail_read(err)
            self.close(exc_info=err)
        return got

    def _on_eof(self) -> None:
        self.close()

    def _read_error(self, exc: OSError) -> None:
        if _log_errno(exc):
            gen_log.warning("Read error on %d: %s", self._fd, exc)
        self.close(exc_info=exc)

    # ------------------------------------------------------------------
    # Writes.

    def write(self, data: bytes | bytearray | memoryview) -> asyncio.Future[None]:
        """Writes *data*; returns a future that resolves once it is all written.

        The data is sent at once when the descriptor takes it; otherwise small
        writes are copied into one coalescing buffer and large ones are queued
        by reference, so callers must not modify a large ``bytearray`` or
        ``memoryview`` after passing it.

        Raises:
            StreamClosedError: if the stream is closed.
            StreamBufferFullError: if ``max_write_buffer_size`` would be exceeded.
        """
        if self._closed:
            raise StreamClosedError(real_error=self.error)
        if type(data) is memoryview:
            if data.format != "B" or data.ndim != 1:
                data = data.cast("B")
            size = data.nbytes
        else:
            size = len(data)
        cap = self.max_write_buffer_size
        if cap is not None and self._wsize + size > cap:
            raise StreamBufferFullError("Reached maximum write buffer size")
        fut: asyncio.Future[None] = self._loop.create_future()
        if not self._wsize and not self._io_blocked():
            # Nothing queued: hand the data to the descriptor right away.
            if not size:
                fut.set_result(None)
                return fut
            try:
                sent = self._send(data)
            except OSError as e:
                self._write_error(e)
                _retrieved(fut, StreamClosedError(real_error=self.error))
                return fut
            if sent == size:
                # (_wsent only orders queued writes; with none, skip it.)
                fut.set_result(None)
                return fut
            self._wsent += sent
            if sent:
                data = memoryview(data)[sent:]
                size -= sent
        self._queue(data, size)
        futs = self._wfuts
        if futs is None:
            futs = self._wfuts = []
        futs.append((self._wsent + self._wsize, fut))
        if not self._io_blocked():
            self._want_write()
        return fut

    def _queue(self, data: bytes | bytearray | memoryview, size: int) -> None:
        if size == 0:
            return
        wbuf = self._wbuf
        if wbuf is None:
            wbuf = self._wbuf = []
        if size <= _SMALL_WRITE:
            last = wbuf[-1] if wbuf else None
            if type(last) is bytearray and len(last) < _COALESCE_LIMIT:
                last += data
            else:
                wbuf.append(bytearray(data))
        else:
            view = data if type(data) is memoryview else memoryview(data)
            wbuf.append(view)
        self._wsize += size

    def _flush(self) -> None:
        """Writes queued data until done or the descriptor is full."""
        wbuf = self._wbuf
        while wbuf:
            item = wbuf[0]
            pos = self._wpos
            try:
                if pos:
                    with memoryview(item) as view:
                        sent = self._send(view[pos:])
                else:
                    sent = self._send(item)
            except OSError as e:
                self._write_error(e)
                return
            if not sent:
                break
            self._wsent += sent
            self._wsize -= sent
            pos += sent
            if pos >= len(item):
                del wbuf[0]
                self._wpos = 0
            else:
                self._wpos = pos
        futs = self._wfuts
        if futs:
            done = self._wsent
            i = 0
            for target, fut in futs:
                if target > done:
                    break
                i += 1
                if not fut.done():
                    fut.set_result(None)
            del futs[:i]
            if not futs:
                self._wfuts = None
        if not self._wsize:
            self._wbuf = None
            self._wpos = 0
            self._drop_write()
        else:
            self._want_write()

    def _on_writable(self) -> None:
        """Event-loop callback: the descriptor accepts data."""
        if self._closed:
            return
        self._flush()

    def _write_error(self, exc: OSError) -> None:
        if _log_errno(exc):
            gen_log.warning("Write error on %d: %s", self._fd, exc)
        self.close(exc_info=exc)

    # ------------------------------------------------------------------
    # Event-loop registration.

    def _want_read(self) -> None:
        if not self._regs & _REG_READ:
            self._loop.add_reader(self._fd, self._on_readable)
            self._regs |= _REG_READ

    def _drop_read(self) -> None:
        if self._regs & _REG_READ:
            self._loop.remove_reader(self._fd)
            self._regs &= ~_REG_READ

    def _want_write(self) -> None:
        if not self._regs & _REG_WRITE:
            self._loop.add_writer(self._fd, self._on_writable)
            self._regs |= _REG_WRITE

    def _drop_write(self) -> None:
        if self._regs & _REG_WRITE:
            self._loop.remove_writer(self._fd)
            self._regs &= ~_REG_WRITE

    def _unregister(self) -> None:
        if self._regs:
            if self._loop.is_closed():
                self._regs = 0
                return
            self._drop_read()
            self._drop_write()

    def _resume_io(self) -> None:
        """Starts the waiting reads and writes once connect/handshake finished."""
        if self._wsize:
            self._flush()
        if self._closed:
            return
        if self._rfut is not None or self._close_cb is not None:
            self._want_read()

    # ------------------------------------------------------------------
    # Closing.

    def _check_closed(self) -> None:
        if self._closed:
            raise StreamClosedError(real_error=self.error)

    def close(self, exc_info: _ExcInfo = False) -> None:
        """Closes this stream.

        If *exc_info* is true, the current exception (or the given exception
        or ``sys.exc_info()``-style tuple) is stored in :attr:`error`.  Pending
        futures fail with :class:`StreamClosedError`; a pending
        :meth:`read_until_close` resolves with the buffered data.
        """
        if self._closed:
            return
        if exc_info:
            if isinstance(exc_info, tuple):
                err = exc_info[1]
            elif isinstance(exc_info, BaseException):
                err = exc_info
            else:
                err = sys.exc_info()[1]
            if err is not None:
                self.error = err
        self._closed = True
        self._unregister()
        try:
            self.close_fd()
        except OSError:
            pass
        self._fd = -1
        self._signal_closed()

    def _signal_closed(self) -> None:
        if self._rfut is not None:
            if self._rkind == _R_CLOSE:
                self._finish_read(self._consume(len(self._rbuf) - self._rpos))
            else:
                try:
                    done = self._satisfy()
                except UnsatisfiableReadError:
                    done = False
                if not done:
                    self._fail_read(StreamClosedError(real_error=self.error))
        futs = self._wfuts
        self._wfuts = None
        self._wbuf = None
        self._wsize = 0
        if futs:
            for _, fut in futs:
                _retrieved(fut, StreamClosedError(real_error=self.error))
        self._fail_extra()
        cb = self._close_cb
        if cb is not None:
            self._close_cb = None
            self._loop.call_soon(cb)

    def _fail_extra(self) -> None:
        """Fails the connect/handshake futures of subclasses."""
