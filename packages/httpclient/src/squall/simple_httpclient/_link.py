"""One client connection: an asyncio Protocol that feeds squall's HTTP/1 codec directly.

A :class:`_Link` carries one exchange at a time (:class:`_Exchange`). The
exchange is driven from ``data_received``: the reader's events are handled
synchronously (header and streaming callbacks included) and the awaiting
coroutine is woken once, when the response is complete or has failed.
"""

from __future__ import annotations

import asyncio
import zlib
from collections.abc import Callable
from typing import Any

from squall.http1connection._codec import H1Limits, H1Reader, H1Writer
from squall.http1connection._events import NEED_DATA, Data, EndOfMessage, H1ProtocolError, Head
from squall.httpclient._response import HTTPClientError
from squall.httputil import HTTPHeaders

__all__ = ["HTTPStreamClosedError", "HTTPTimeoutError", "_Exchange", "_Link", "_Stale"]


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


class _Stale(Exception):
    """A pooled connection closed before answering a single byte: the caller may retry."""


_REDIRECT_CODES = frozenset((301, 302, 303, 307, 308))


class _Link(asyncio.Protocol):
    """The protocol of one connection; ``exchange`` is the request it is answering, if any."""

    def __init__(self, limits: H1Limits) -> None:
        self.transport: asyncio.Transport | None = None
        self.reader = H1Reader(client=True, limits=limits)
        self.writer = H1Writer(client=True)
        self.exchange: _Exchange | None = None
        self.closed = False
        self.idle_since = 0.0
        self.uses = 0
        self._drained: asyncio.Future[None] | None = None
        self._paused = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        exchange = self.exchange
        if exchange is None:
            # Bytes nobody asked for: this connection cannot be trusted again.
            self.drop()
            return
        exchange.heard = True
        self.reader.feed(data)
        exchange.pump()

    def eof_received(self) -> bool:
        return False

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        waiter, self._drained = self._drained, None
        if waiter is not None and not waiter.done():
            waiter.set_result(None)
        exchange = self.exchange
        if exchange is not None:
            exchange.lost(exc)

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

    def usable(self) -> bool:
        transport = self.transport
        return not self.closed and transport is not None and not transport.is_closing()

    def drop(self) -> None:
        """Close for good (abort: nothing more is worth sending)."""
        self.closed = True
        if self.transport is not None:
            self.transport.abort()


class _Exchange:
    """One response being read on a :class:`_Link`; ``done`` resolves when it ends."""

    __slots__ = (
        "_inflate",
        "_limit",
        "_on_chunk",
        "_on_header",
        "_size",
        "chunks",
        "code",
        "continued",
        "done",
        "follow",
        "headers",
        "heard",
        "host",
        "link",
        "reason",
        "reusable",
        "reused",
    )

    def __init__(
        self,
        link: _Link,
        host: str,
        *,
        reused: bool,
        follow: bool,
        decompress: bool,
        on_chunk: Callable[[bytes], None] | None,
        on_header: Callable[[str], None] | None,
        limit: int,
    ) -> None:
        self.link = link
        self.host = host
        self.reused = reused
        self.follow = follow
        self.heard = False
        self.reusable = False
        self.code = 0
        self.reason = ""
        self.headers: HTTPHeaders | None = None
        self.chunks: list[bytes] = []
        self._size = 0
        self._limit = limit
        self._on_chunk = on_chunk
        self._on_header = on_header
        self._inflate: Any = None if not decompress else False
        self.continued: asyncio.Future[None] | None = None
        self.done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        link.exchange = self

    # -- events from the link ----------------------------------------------------

    def pump(self) -> None:
        reader = self.link.reader
        try:
            while True:
                event = reader.next_event()
                if event is NEED_DATA:
                    return
                kind = type(event)
                if kind is Data:
                    self._body(event[0])  # type: ignore[index]
                elif kind is Head:
                    self._head(event)  # type: ignore[arg-type]
                elif kind is EndOfMessage:
                    self._end()
                    return
                if self.done.done():
                    return
        except H1ProtocolError as e:
            self.fail(HTTPClientError(599, f"Malformed HTTP response from {self.host}: {e.reason}"))
        except HTTPClientError as e:
            self.fail(e)
        except Exception as e:
            # A user callback raised, or the body would not inflate.
            self.fail(e)

    def _head(self, head: Head) -> None:
        line, headers = head
        code = line.code  # type: ignore[union-attr]
        if code < 200:
            if code == 100 and self.continued is not None and not self.continued.done():
                self.continued.set_result(None)
            return
        self.code = code
        self.reason = line.reason  # type: ignore[union-attr]
        self.headers = headers
        continued = self.continued
        if continued is not None and not continued.done():
            # A final answer instead of "100 Continue": the body is not wanted.
            continued.set_result(None)
        if self.follow and not (code in _REDIRECT_CODES and "Location" in headers):
            self.follow = False
        on_header = self._on_header
        if on_header is not None:
            on_header(f"{line[0]} {code} {line[2]}\r\n")
            for name, value in headers.get_all():
                on_header(f"{name}: {value}\r\n")
            on_header("\r\n")
        if self._inflate is False:
            coding = headers.get("Content-Encoding")
            if coding is not None and coding.lower() == "gzip":
                self._inflate = zlib.decompressobj(16 + zlib.MAX_WBITS)
                del headers["Content-Encoding"]
                headers["X-Consumed-Content-Encoding"] = coding
            else:
                self._inflate = None
        if self.follow:
            self._on_chunk = None

    def _body(self, data: bytes) -> None:
        inflate = self._inflate
        if inflate:
            data = inflate.decompress(data, self._limit + 1)
            if inflate.unconsumed_tail:
                raise HTTPClientError(
                    599, f"response body from {self.host} larger than {self._limit} bytes"
                )
        if self.follow:
            return
        if self._on_chunk is not None:
            if data:
                self._on_chunk(data)
            return
        self._size += len(data)
        if self._size > self._limit:
            raise HTTPClientError(
                599, f"response body from {self.host} larger than {self._limit} bytes"
            )
        self.chunks.append(data)

    def _end(self) -> None:
        inflate = self._inflate
        if inflate:
            rest = inflate.flush()
            if rest:
                self._inflate = None
                self._body(rest)
        link = self.link
        reader = link.reader
        self.reusable = reader.keep_alive and link.writer.keep_alive and not reader.buffered
        if self.reusable:
            reader.start_next_message()
        link.exchange = None
        if not self.done.done():
            self.done.set_result(None)

    def lost(self, exc: Exception | None) -> None:
        """The connection went away; finish a close-delimited body or report the failure."""
        if self.done.done():
            return
        self.link.reader.feed(b"")
        self.pump()
        if self.done.done():
            self.reusable = False
            return
        if not self.heard and self.reused:
            self._settle_error(_Stale())
            return
        why = "connection reset" if isinstance(exc, ConnectionResetError) else "connection closed"
        if exc is not None and not isinstance(exc, ConnectionResetError):
            why = f"connection lost ({exc})"
        self._settle_error(HTTPStreamClosedError(f"Stream closed: {why} by {self.host}"))

    def fail(self, error: BaseException) -> None:
        """End the exchange with ``error``; the connection is closed."""
        self.link.drop()
        self._settle_error(error)

    def _settle_error(self, error: BaseException) -> None:
        self.link.exchange = None
        self.reusable = False
        continued = self.continued
        if continued is not None and not continued.done():
            continued.set_result(None)
        if not self.done.done():
            self.done.set_exception(error)
