"""HTTP1Connection and HTTP1ServerConnection: the shared codec driven over an IOStream.

One :class:`HTTP1Connection` carries one message exchange: a request and its
response. Client side the caller writes the request through it and then awaits
:meth:`HTTP1Connection.read_response`; server side
:class:`HTTP1ServerConnection` makes one per request, in order, on a
kept-alive stream. Both sides move bytes between the stream and an
``H1Reader`` / ``H1Writer`` and call the delegates of :mod:`squall.httputil`.

Counted bodies are never read past their length; bytes read past a head
(pipelined requests) stay in the reader for the next exchange, and
:meth:`HTTP1Connection.detach` puts any such bytes back into the stream.
"""

from __future__ import annotations

import asyncio
import zlib
from collections.abc import Awaitable, Callable
from typing import Any

from squall.gen import with_timeout
from squall.httputil._delegates import HTTPConnection, HTTPMessageDelegate
from squall.httputil._errors import HTTPInputError, HTTPOutputError
from squall.httputil._headers import HTTPHeaders
from squall.httputil._startline import RequestStartLine, ResponseStartLine
from squall.iostream import IOStream, StreamClosedError
from squall.log import app_log, gen_log
from squall.util import TimeoutError as _Timeout

from ._codec import NEED_DATA, Data, H1Limits, H1ProtocolError, H1Reader, H1Writer, Head

__all__ = ["HTTP1Connection", "HTTP1ConnectionParameters", "HTTP1ServerConnection"]

_REASONS = {
    400: "Bad Request",
    408: "Request Timeout",
    413: "Content Too Large",
    414: "URI Too Long",
    431: "Request Header Fields Too Large",
    501: "Not Implemented",
    505: "HTTP Version Not Supported",
}
_CONTINUE = b"HTTP/1.1 100 Continue\r\n\r\n"
_DEFAULT_CHUNK = 65536
_DEFAULT_HEAD = 65536


class HTTP1ConnectionParameters:
    """Settings shared by :class:`HTTP1Connection` and :class:`HTTP1ServerConnection`.

    :arg no_keep_alive: close the connection after one request.
    :arg chunk_size: the most body bytes read (and handed to a delegate) at once
        (64 KB by default).
    :arg max_header_size: the largest head accepted, in bytes (64 KB by default).
    :arg header_timeout: seconds allowed for a whole head to arrive (a deadline
        that later bytes do not push back).
    :arg max_body_size: the largest body accepted (the stream's
        ``max_buffer_size`` by default).
    :arg body_timeout: seconds allowed for a whole body to arrive.
    :arg decompress: undo ``Content-Encoding: gzip`` on incoming bodies.
    """

    no_keep_alive: bool
    chunk_size: int
    max_header_size: int
    header_timeout: float | None
    max_body_size: int | None
    body_timeout: float | None
    decompress: bool

    def __init__(
        self,
        no_keep_alive: bool = False,
        chunk_size: int | None = None,
        max_header_size: int | None = None,
        header_timeout: float | None = None,
        max_body_size: int | None = None,
        body_timeout: float | None = None,
        decompress: bool = False,
    ) -> None:
        # Sizes: None picks the default (the body limit then falls to the stream's).
        self.chunk_size = chunk_size or _DEFAULT_CHUNK
        self.max_header_size = max_header_size or _DEFAULT_HEAD
        self.max_body_size = max_body_size
        # Deadlines in seconds; None waits as long as it takes.
        self.header_timeout, self.body_timeout = header_timeout, body_timeout
        self.no_keep_alive, self.decompress = no_keep_alive, decompress


class _Unzip(HTTPMessageDelegate):
    """Sits in front of a delegate and inflates a gzip-encoded body for it."""

    def __init__(self, inner: HTTPMessageDelegate, chunk_size: int) -> None:
        self._inner = inner
        self._chunk_size = chunk_size
        self._inflater: Any = None

    def headers_received(
        self, start_line: RequestStartLine | ResponseStartLine, headers: HTTPHeaders
    ) -> Awaitable[None] | None:
        coding = headers.get("Content-Encoding")
        if coding is not None and coding.lower() == "gzip":
            # wbits 16+: expect the gzip wrapper, not a bare zlib stream.
            self._inflater = zlib.decompressobj(wbits=zlib.MAX_WBITS | 16)
            # Tell the application what was undone; the body it sees is plain.
            headers.pop("Content-Encoding")
            headers["X-Consumed-Content-Encoding"] = coding
        return self._inner.headers_received(start_line, headers)

    async def data_received(self, chunk: bytes) -> None:
        inflater = self._inflater
        if inflater is None:
            pending = self._inner.data_received(chunk)
            if pending is not None:
                await pending
            return
        try:
            while chunk:
                plain = inflater.decompress(chunk, self._chunk_size)
                chunk = inflater.unconsumed_tail
                if plain:
                    pending = self._inner.data_received(plain)
                    if pending is not None:
                        await pending
        except zlib.error as exc:
            raise H1ProtocolError(400, f"corrupt gzip body: {exc}") from None

    def finish(self) -> None:
        if self._inflater is not None:
            tail = self._inflater.flush()
            if tail:
                # finish() cannot wait: a delegate that applies back-pressure
                # on this last piece gets it anyway.
                self._inner.data_received(tail)
        self._inner.finish()

    def on_connection_close(self) -> None:
        self._inner.on_connection_close()


class HTTP1Connection(HTTPConnection):
    """One HTTP/1.x message exchange over an :class:`~squall.iostream.IOStream`.

    Client side (``is_client=True``): send a request with :meth:`write_headers`,
    :meth:`write` and :meth:`finish`, then ``await``
    :meth:`read_response`. Server side instances come from
    :class:`HTTP1ServerConnection`. ``context`` is any object the owner wants
    to reach later as ``connection.context`` (the server keeps the client's
    address there).
    """

    stream: IOStream
    is_client: bool
    params: HTTP1ConnectionParameters
    context: object | None
    no_keep_alive: bool

    def __init__(
        self,
        stream: IOStream,
        is_client: bool,
        params: HTTP1ConnectionParameters | None = None,
        context: object | None = None,
    ) -> None:
        if params is None:
            params = HTTP1ConnectionParameters()
        self.stream, self.is_client, self.params, self.context = stream, is_client, params, context
        self.no_keep_alive = params.no_keep_alive
        # Per-message settings, which set_max_body_size/set_body_timeout replace.
        self._max_body_size: int = params.max_body_size or stream.max_buffer_size
        self._body_timeout: float | None = params.body_timeout
        self._reader = H1Reader(
            client=is_client, limits=H1Limits(max_header_size=params.max_header_size)
        )
        self._writer = H1Writer(client=is_client)
        self._close_callback: Callable[[], None] | None = None
        self._delegate: HTTPMessageDelegate | None = None
        self._request_line: RequestStartLine | None = None
        self._head_sent = False
        self._raw = False
        self._detached = False
        # A 101 answer went out: the stream now waits for detach().
        self._upgraded = False
        self._read_done = False
        self._write_done = False
        self._keep = True
        self._finished: asyncio.Future[None] = asyncio.get_running_loop().create_future()

    # -- reading -------------------------------------------------------------

    def read_response(self, delegate: HTTPMessageDelegate) -> Awaitable[bool]:
        """Read one response into ``delegate`` (client side).

        Resolves to True when the stream is still open afterwards. Informational
        (1xx) responses reach ``delegate.headers_received`` too, before the
        final one. A malformed response closes the stream and raises
        :class:`~squall.httputil.HTTPInputError`.
        """
        if self.params.decompress:
            delegate = _Unzip(delegate, self.params.chunk_size)
        return asyncio.ensure_future(self._read_message(delegate))

    async def _read_message(self, delegate: HTTPMessageDelegate) -> bool:
        """Read one message into ``delegate``; False when the stream cannot go on."""
        self._delegate = delegate
        got_head = False
        try:
            event = await self._next_head()
            if event is None:
                return False
            got_head = True
            self._watch_close()
            while True:
                line, headers = event.start_line, event.headers
                if self.is_client:
                    assert isinstance(line, ResponseStartLine)
                    final = line.code >= 200 or line.code == 101
                else:
                    assert isinstance(line, RequestStartLine)
                    self._request_line = line
                    final = True
                pending = delegate.headers_received(line, headers)
                if pending is not None:
                    await pending
                if final:
                    break
                event = await self._next_head()
                if event is None:
                    raise H1ProtocolError(400, "connection closed before the final response")
            if self._detached:  # by the delegate, for an upgrade
                return False
            if not await self._read_body(delegate, headers):
                # The application answered without wanting the body.
                await self._finished
                self._close()
                return False
            self._read_done = True
            delegate.finish()
            if not self.is_client:
                await self._finished
                if self._upgraded:  # detached after a 101 (or gone): HTTP is over
                    return False
            return self._wrap_up()
        except H1ProtocolError as exc:
            return self._refuse(exc)
        except HTTPInputError as exc:
            return self._refuse(H1ProtocolError(400, str(exc)))
        except _Timeout:
            # A head that does not arrive in time just closes the connection;
            # a body that does not gets a 408 when no response has started.
            if not self.is_client and got_head and not self._head_sent:
                gen_log.info("timed out reading a request body from %s", self._peer())
                self._send_error(408)
            self._close()
            if got_head:
                self._tell_closed()
            return False
        except StreamClosedError:
            self._close()
            if got_head and not self._read_done:
                self._tell_closed()
            return False
        except Exception:
            app_log.error("uncaught exception in an HTTP/1 delegate", exc_info=True)
            self._close()
            return False
        finally:
            if not self._detached:
                self.stream.set_close_callback(None)
            self._delegate = None

    async def _next_head(self) -> Head | None:
        """The next head, reading as needed; None on a clean close before one."""
        reader = self._reader
        deadline = None
        timeout = self.params.header_timeout
        while True:
            event = reader.next_event()
            if event is not NEED_DATA:
                return event  # type: ignore[return-value]
            stream = self.stream
            if stream.closed() and not reader.has_unread:
                return None
            future = stream.read_bytes(self.params.chunk_size, partial=True)
            if timeout is not None:
                if deadline is None:
                    deadline = asyncio.get_running_loop().time() + timeout
                future = with_timeout(deadline, future, quiet_exceptions=(StreamClosedError,))
            try:
                data = await future
            except StreamClosedError:
                if reader.has_unread:
                    raise H1ProtocolError(400, "connection closed in the middle of a head")
                return None
            reader.feed(data)

    async def _read_body(self, delegate: HTTPMessageDelegate, headers: HTTPHeaders) -> bool:
        """Feed the body to ``delegate``; False if the application answered first (100-continue)."""
        reader = self._reader
        stream = self.stream
        limit = self._max_body_size
        length = headers.get("Content-Length")
        left = -1
        if length is not None and "Transfer-Encoding" not in headers:
            left = int(length.partition(",")[0])
            if left > limit and not self.is_client:
                raise H1ProtocolError(413, "Content-Length larger than max_body_size")
        continue_owed = not self.is_client and reader.expects_continue
        received = 0
        deadline = None
        chunk_size = self.params.chunk_size
        while True:
            event = reader.next_event()
            if type(event) is Data:
                received += len(event.data)
                if received > limit:
                    raise H1ProtocolError(413, "body larger than max_body_size")
                if left > 0:
                    left -= len(event.data)
                pending = delegate.data_received(event.data)
                if pending is not None:
                    await pending
                continue
            if event is not NEED_DATA:
                return True
            if continue_owed:
                continue_owed = False
                if self._head_sent:
                    self._keep = False
                    return False
                stream.write(_CONTINUE)
            if left > 0:
                future = stream.read_bytes(min(left, chunk_size), partial=True)
            else:
                future = stream.read_bytes(chunk_size, partial=True)
            if self._body_timeout is not None:
                if deadline is None:
                    deadline = asyncio.get_running_loop().time() + self._body_timeout
                future = with_timeout(deadline, future, quiet_exceptions=(StreamClosedError,))
            try:
                data = await future
            except StreamClosedError:
                reader.feed(b"")
                reader.next_event()  # raises for a truncated body
                raise
            reader.feed(data)

    def _wrap_up(self) -> bool:
        """After a complete exchange: keep the stream for the next one, or close it."""
        keep = self._keep and not self.no_keep_alive and self._reader.keep_alive
        if self.is_client:
            keep = keep and self._writer.keep_alive
        if not keep:
            self._close()
            return False
        self._reader.start_next_message()
        return True

    def _refuse(self, error: H1ProtocolError) -> bool:
        if self.is_client:
            self._close()
            raise error
        gen_log.info("bad HTTP/1 request from %s: %s", self._peer(), error.reason)
        if not self._head_sent:
            self._send_error(error.status)
        self._close()
        return False

    def _send_error(self, status: int) -> None:
        reason = _REASONS.get(status, "Error")
        try:
            self.stream.write(
                f"HTTP/1.1 {status} {reason}\r\nConnection: close\r\n"
                "Content-Length: 0\r\n\r\n".encode("latin-1")
            )
        except StreamClosedError:
            pass
        self._head_sent = True

    def _peer(self) -> str:
        return str(getattr(self.context, "remote_ip", None) or "the peer")

    def _watch_close(self) -> None:
        self.stream.set_close_callback(self._stream_closed)

    def _stream_closed(self) -> None:
        callback, self._close_callback = self._close_callback, None
        if callback is not None:
            callback()
        if not self._finished.done():
            self._finished.set_result(None)
        self._tell_closed()

    def _tell_closed(self) -> None:
        delegate = self._delegate
        unfinished = not self._read_done if self.is_client else not self._write_done
        if delegate is not None and unfinished:
            self._delegate = None
            try:
                delegate.on_connection_close()
            except Exception:
                app_log.error("uncaught exception in on_connection_close", exc_info=True)

    def _close(self) -> None:
        if not self._detached:
            self.stream.close()
        if not self._finished.done():
            self._finished.set_result(None)

    # -- settings ------------------------------------------------------------

    def set_close_callback(self, callback: Callable[[], None] | None) -> None:
        """Run ``callback`` (once) if the stream closes while this exchange is open."""
        self._close_callback = callback

    def detach(self) -> IOStream:
        """Hand the stream over (after an upgrade): this connection stops using it.

        Bytes already received past the head go back into the stream's buffer,
        so the new owner reads them first.
        """
        stream = self.stream
        self._close_callback = None
        stream.set_close_callback(None)
        leftover = self._reader.buffered
        if leftover:
            _give_back(stream, leftover)
        self._detached = True
        if not self._finished.done():
            self._finished.set_result(None)
        return stream

    def set_body_timeout(self, timeout: float) -> None:
        """Seconds allowed for the body of the current message (replaces the default)."""
        self._body_timeout = timeout

    def set_max_body_size(self, max_body_size: int) -> None:
        """The largest body accepted for the current message (replaces the default)."""
        self._max_body_size = max_body_size

    # -- writing -------------------------------------------------------------

    def write_headers(
        self,
        start_line: RequestStartLine | ResponseStartLine,
        headers: HTTPHeaders,
        chunk: bytes | None = None,
    ) -> asyncio.Future[None]:
        """Send the start line and headers (and a first ``chunk`` of body).

        Framing is added as needed: chunked coding when no ``Content-Length``
        is given and the peer speaks HTTP/1.1, else (server side) the body ends
        when the connection closes.
        """
        writer = self._writer
        if self.is_client:
            assert isinstance(start_line, RequestStartLine)
            self._request_line = start_line
            self._reader.expect_response_to(start_line.method)
            keep = not self.no_keep_alive
            data = writer.head(start_line, headers, keep_alive=keep)
        else:
            request = self._request_line
            reader = self._reader
            keep = (
                not self.no_keep_alive
                and reader.keep_alive
                and (self._read_done or self._delegate is None)
            )
            data = writer.head(
                start_line,
                headers,
                request_method=request.method if request else None,
                keep_alive=keep,
                peer_version=request.version if request else "HTTP/1.1",
            )
            if not writer.keep_alive:
                self._keep = False
            code = start_line.code  # type: ignore[union-attr]
            if code < 200:
                if code == 101:
                    # Switching protocols: HTTP is over once this is out.
                    self._upgraded = True
                    self._keep = False
                return self._send(data)
        self._head_sent = True
        if chunk:
            data += writer.data(chunk)
        return self._send(data)

    def write(self, chunk: bytes) -> asyncio.Future[None]:
        """Send a piece of the body; the future resolves once it is flushed.

        Server side, bytes written before any :meth:`write_headers` go out
        verbatim (the classic raw-response style); the connection then closes
        after :meth:`finish`.
        """
        if not self._head_sent and not self.is_client:
            self._raw = True
            self._keep = False
            return self._send(chunk)
        try:
            data = self._writer.data(chunk)
        except HTTPOutputError:
            self._close()
            raise
        return self._send(data)

    def finish(self) -> None:
        """The outgoing message is complete.

        After a 101 answer nothing is ended or closed: the stream waits for
        :meth:`detach` (or for the peer to go away).
        """
        if self._upgraded:
            self._write_done = True
            return
        if self._raw:
            end = b""
        else:
            try:
                end = self._writer.end()
            except HTTPOutputError:
                self._close()
                raise
        self._write_done = True
        if self._detached:
            return
        stream = self.stream
        if end:
            self._send(end)
        if self.is_client:
            return
        if not self._read_done:
            # Answered before the request was read: the rest of it cannot be skipped safely.
            self._keep = False
        done = self._send(b"") if not stream.closed() else None
        if done is None:
            self._on_flushed(None)
        else:
            done.add_done_callback(self._on_flushed)

    def _on_flushed(self, _: object) -> None:
        if not self._keep and not self._detached and not self._read_done:
            self._close()
        if not self._finished.done():
            self._finished.set_result(None)

    def _send(self, data: bytes) -> asyncio.Future[None]:
        stream = self.stream
        if self._detached or stream.closed():
            failed: asyncio.Future[None] = asyncio.get_running_loop().create_future()
            failed.set_exception(StreamClosedError())
            failed.exception()
            return failed
        future = stream.write(data)
        future.add_done_callback(_mark_retrieved)
        return future

    def close(self) -> None:
        """Close the stream."""
        self._close()


def _give_back(stream: IOStream, data: bytes) -> None:
    """Put ``data`` in front of what ``stream`` has buffered (squall's IOStream layout)."""
    pending = bytes(memoryview(stream._rbuf)[stream._rpos :])
    stream._rbuf = data + pending
    stream._rpos = 0
    stream._rscan = 0


def _mark_retrieved(future: asyncio.Future[None]) -> None:
    if not future.cancelled():
        future.exception()


class HTTP1ServerConnection:
    """The server side of one HTTP/1.x stream: requests in, delegates called, in order.

    :meth:`start` begins serving with an
    :class:`~squall.httputil.HTTPServerConnectionDelegate`; each request gets a
    fresh :class:`HTTP1Connection` and the next request is read only once the
    previous response is finished (pipelined requests wait their turn).
    """

    def __init__(
        self,
        stream: IOStream,
        params: HTTP1ConnectionParameters | None = None,
        context: object | None = None,
    ) -> None:
        self.stream = stream
        self.params = params or HTTP1ConnectionParameters()
        self.context = context
        self._task: asyncio.Task[None] | None = None

    def start(self, delegate: Any) -> None:
        """Serve requests from the stream with ``delegate`` until it closes."""
        self._task = asyncio.ensure_future(self._serve(delegate))

    async def close(self) -> None:
        """Close the stream and wait for the serving loop to stop."""
        self.stream.close()
        task = self._task
        if task is not None:
            try:
                await task
            except Exception:
                pass

    async def _serve(self, delegate: Any) -> None:
        reader: H1Reader | None = None
        try:
            while True:
                connection = HTTP1Connection(self.stream, False, self.params, self.context)
                if reader is not None:
                    connection._reader = reader
                else:
                    reader = connection._reader
                message = delegate.start_request(self, connection)
                if self.params.decompress:
                    message = _Unzip(message, self.params.chunk_size)
                try:
                    kept = await connection._read_message(message)
                except Exception:
                    app_log.error("uncaught exception serving HTTP/1", exc_info=True)
                    self.stream.close()
                    return
                if not kept:
                    return
        finally:
            delegate.on_close(self)
