"""The server's fast path: one asyncio Protocol per connection around the shared HTTP/1 codec.

:class:`_H1ServerProtocol` receives bytes from its transport, feeds them to
an ``H1Reader`` and turns the events into calls on the application (an
:class:`~squall.httputil.HTTPServerConnectionDelegate`, or a plain callable
that gets a finished :class:`~squall.httputil.HTTPServerRequest`). It is
also the :class:`~squall.httputil.HTTPConnection` the application answers
through; an ``H1Writer`` frames what it writes. One request is served at a
time: bytes of pipelined requests wait in the reader until the response in
progress is finished, so answers go out in order.

Timers cost nothing per request: every connection keeps one ``_deadline``
(loop time) for whatever it is waiting for (the next request, the rest of a
head, the rest of a body), and :class:`_Registry` sweeps all connections of a
server a few times per shortest timeout, with a coarse clock it refreshes on
each sweep.
"""

from __future__ import annotations

import asyncio
import zlib
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from squall.http1connection._codec import (
    Data,
    EndOfMessage,
    H1ProtocolError,
    H1Writer,
    Head,
)
from squall.httputil import (
    HTTPConnection,
    HTTPHeaders,
    HTTPInputError,
    HTTPMessageDelegate,
    HTTPOutputError,
    HTTPServerRequest,
    RequestStartLine,
    ResponseStartLine,
)
from squall.httputil._callable import _run_request_callback
from squall.iostream import StreamClosedError
from squall.log import app_log, gen_log

from ._detached import _Handover, _TransportStream
from ._h2hook import PREFACE, _take_over
from ._peer import _peer_context, _PeerContext, _resolve_forwarded
from ._registry import _Registry

if TYPE_CHECKING:
    pass

__all__: list[str] = []

_INF = float("inf")

# What a connection is waiting for; each has its own timeout.
_IDLE = 0  # the first byte of the next request (idle_connection_timeout)
_HEAD = 1  # the rest of a request head (header_timeout, a fixed deadline)
_BODY = 2  # the rest of a request body (body_timeout)
_BUSY = 3  # the application: no timeout
_GONE = 4  # closed or closing

_STATUS_TEXT = {
    400: "Bad Request",
    408: "Request Timeout",
    413: "Content Too Large",
    414: "URI Too Long",
    431: "Request Header Fields Too Large",
    500: "Internal Server Error",
    501: "Not Implemented",
    505: "HTTP Version Not Supported",
}
_CONTINUE = b"HTTP/1.1 100 Continue\r\n\r\n"
# Writes smaller than this are held until the end of the loop iteration (see
# _H1ServerProtocol._out); a connection holds less than this at any time.
_HOLD = 16384


def _refusal(status: int) -> bytes:
    """A complete, body-less answer that also says the connection ends here."""
    text = _STATUS_TEXT.get(status, "Error")
    return (f"HTTP/1.1 {status} {text}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n").encode(
        "ascii"
    )


def _quiet(future: asyncio.Future[Any]) -> None:
    """Done callback: the failure of a write future is the caller's to see, not the loop's."""
    if not future.cancelled():
        future.exception()


class _Exchange(HTTPConnection):
    """One request's view of a connection when ``xheaders`` gives it its own context.

    :class:`~squall.httputil.HTTPServerRequest` reads ``connection.context``
    lazily, so a request that outlives the next one on the same connection
    must keep a connection object of its own.
    """

    __slots__ = ("_conn", "context")

    def __init__(self, conn: _H1ServerProtocol, context: _PeerContext) -> None:
        self._conn = conn
        self.context = context

    def write_headers(
        self,
        start_line: RequestStartLine | ResponseStartLine,
        headers: HTTPHeaders,
        chunk: bytes | None = None,
    ) -> asyncio.Future[None]:
        return self._conn.write_headers(start_line, headers, chunk)

    def write(self, chunk: bytes) -> asyncio.Future[None]:
        return self._conn.write(chunk)

    def _write_head_fields(
        self, code: int, fields: Any, chunk: bytes | None, body_length: int | None
    ) -> asyncio.Future[None]:
        return self._conn._write_head_fields(code, fields, chunk, body_length)

    def finish(self) -> None:
        self._conn.finish()

    def _handover(self) -> _Handover:
        conn = self._conn
        return _Handover(conn._transport, conn._scheme(), conn._settings.trusted, self.context)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._conn, name)


class _H1ServerProtocol(asyncio.Protocol, HTTPConnection):
    """One accepted HTTP/1.x connection: the codec driver and the response channel."""

    __slots__ = (
        "_after",
        "_backlog",
        "_blocked",
        "_body_limit",
        "_body_seen",
        "_body_timeout",
        "_close_callback",
        "_context",
        "_deadline",
        "_eof",
        "_exchange",
        "_head_sent",
        "_headers",
        "_held",
        "_held_size",
        "_inflate",
        "_keep",
        "_message",
        "_muted",
        "_parts",
        "_persist",
        "_pumping",
        "_raw",
        "_read_done",
        "_read_paused",
        "_reader",
        "_registry",
        "_request_line",
        "_settings",
        "_sniff",
        "_sockname",
        "_spill",
        "_state",
        "_switched",
        "_tls",
        "_transport",
        "_write_done",
        "_write_paused",
        "_writer",
    )

    def __init__(self, registry: _Registry, tls: bool) -> None:
        self._registry = registry
        settings = self._settings = registry.settings
        self._tls = tls
        self._transport: Any = None
        self._context: _PeerContext | None = None
        self._sockname: Any = None
        self._reader = settings.reader(client=False, limits=settings.limits)
        self._writer = H1Writer(client=False)
        self._state = _IDLE
        self._deadline = _INF
        self._pumping = False
        self._blocked = False
        self._eof = False
        # False once this connection must end after the current response
        # (no_keep_alive, the client's EOF, a server shutdown).
        self._persist = settings.keep_alive
        self._backlog = 0
        self._read_paused = False
        self._write_paused: asyncio.Future[None] | None = None
        self._after: Callable[[], None] | None = None
        self._spill: memoryview | None = None
        # Bytes written but not yet handed to the transport (see _out).
        self._held: list[bytes] | None = None
        self._held_size = 0
        # Look for the HTTP/2 connection preface in the first bytes (h2c).
        self._sniff = settings.http2 is not None and not tls
        self._reset()

    def _reset(self) -> None:
        """Per-request state back to "no request yet"."""
        self._message: HTTPMessageDelegate | None = None
        self._exchange: HTTPConnection = self
        self._request_line: RequestStartLine | None = None
        self._headers: HTTPHeaders | None = None
        self._parts: list[bytes] | None = None
        self._inflate: Any = None
        self._close_callback: Callable[[], None] | None = None
        self._head_sent = False
        self._muted = False
        self._raw = False
        self._switched = False
        self._read_done = False
        self._write_done = False
        self._keep = False
        self._body_seen = 0
        settings = self._settings
        self._body_limit = settings.max_body_size
        self._body_timeout = settings.body_timeout

    # -- what the request sees ---------------------------------------------------

    @property
    def context(self) -> _PeerContext:
        """The peer (address, ``remote_ip``, ``protocol``) this connection serves."""
        context = self._context
        if context is None:
            transport = self._transport
            address = transport.get_extra_info("peername") if transport is not None else None
            context = self._context = _peer_context(address, self._scheme(), self._settings.trusted)
        return context

    def _local_name(self) -> Any:
        """The socket's own address (``getsockname``), asked once: ASGI scopes want it per request."""
        name = self._sockname
        if name is None and self._transport is not None:
            name = self._sockname = self._transport.get_extra_info("sockname")
        return name

    def _scheme(self) -> str:
        return "https" if self._tls else (self._settings.protocol or "http")

    def _handover(self) -> _Handover:
        """What the request's ``connection`` may be swapped for after :meth:`detach`.

        A detached connection can live for hours; the request then need not
        keep this object (and through it the codec) alive.
        """
        return _Handover(self._transport, self._scheme(), self._settings.trusted, self._context)

    def _peer_certificate(self, binary_form: bool) -> Any:
        """The client's certificate, for :meth:`HTTPServerRequest.get_ssl_certificate`."""
        transport = self._transport
        tls = transport.get_extra_info("ssl_object") if transport is not None else None
        if tls is None:
            return None
        return tls.getpeercert(binary_form=binary_form)

    # -- asyncio.Protocol ----------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._transport = transport
        registry = self._registry
        if registry.draining:
            transport.close()
            self._state = _GONE
            return
        if self._tls and self._settings.http2 is not None:
            tls = transport.get_extra_info("ssl_object")
            if tls is not None and tls.selected_alpn_protocol() == "h2":
                self._state = _GONE
                _take_over(transport, registry, True)
                return
        registry.join(self)
        self._deadline = registry.now + self._settings.idle_timeout

    def data_received(self, data: bytes) -> None:
        if self._sniff:
            self._sniff = False
            if len(data) >= 3 and data[:24] == PREFACE[: len(data)]:
                self._state = _GONE
                link = _take_over(self._transport, self._registry, False)
                self._registry.leave(self)
                link.data_received(data)
                return
        if len(data) < 8192:
            # The reader keeps the last chunk until more comes, maybe for the
            # whole idle life of a keep-alive connection. The transport's
            # chunk sits at the head of a 256 KB receive allocation, which
            # would pin a page per idle connection: keep a compact copy.
            data = bytes(memoryview(data))
        self._reader.feed(data)
        if self._blocked:
            # The application is not ready for these bytes: they wait in the
            # reader. Past a bound (a few pieces of body for a delegate that
            # is still busy, max_buffer_size of pipelined requests) reading
            # stops until _pump has handed everything on.
            backlog = self._backlog = self._backlog + len(data)
            if not self._read_paused:
                settings = self._settings
                if backlog > (settings.max_buffer_size if self._read_done else settings.window):
                    self._read_paused = True
                    self._transport.pause_reading()
            return
        if self._state == _IDLE:
            self._state = _HEAD
            self._deadline = self._registry.now + self._settings.header_timeout
        self._pump()

    def eof_received(self) -> bool:
        # Like Tornado, a client that stops sending is taken to be gone: a
        # request in progress hears on_connection_close (long polls rely on it).
        self._eof = True
        self._persist = self._keep = False
        if not self._blocked and self._state != _BUSY:
            self._reader.feed(b"")
            self._pump()
        return False

    def connection_lost(self, exc: Exception | None) -> None:
        # Closing a lost transport is a no-op, but Python 3.10's TLS transport
        # warns (ResourceWarning) when collected without an explicit close.
        self._transport.close()
        self._held = None
        self._state = _GONE
        self._deadline = _INF
        self._blocked = True
        self._registry.leave(self)
        waiter, self._write_paused = self._write_paused, None
        if waiter is not None and not waiter.done():
            waiter.set_exception(StreamClosedError(real_error=exc))
            waiter.add_done_callback(_quiet)
        if self._request_line is not None and not self._write_done:
            self._abandoned()
        self._tell_server_closed()

    def _tell_server_closed(self) -> None:
        delegate = self._settings.delegate
        if delegate is not None:
            try:
                delegate.on_close(self)
            except Exception:
                app_log.error("Uncaught exception in on_close", exc_info=True)

    def pause_writing(self) -> None:
        if self._write_paused is None:
            self._write_paused = asyncio.get_running_loop().create_future()

    def resume_writing(self) -> None:
        waiter, self._write_paused = self._write_paused, None
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    # -- reading ---------------------------------------------------------------

    def _pump(self) -> None:
        """Turn buffered bytes into application calls until blocked or out of bytes."""
        if self._pumping:
            return
        self._pumping = True
        reader = self._reader
        try:
            while not self._blocked:
                event = reader.next_event()
                kind = type(event)
                if kind is Data:
                    self._on_data(event.data)  # type: ignore[attr-defined]
                elif kind is Head:
                    self._on_head(event)  # type: ignore[arg-type]
                    if self._state == _IDLE and not reader.has_unread:
                        break  # answered, and no pipelined bytes wait
                elif kind is EndOfMessage:
                    self._on_end()
                else:
                    if self._eof and self._state != _BUSY:
                        self._close()
                    break
            if self._backlog and not self._blocked:
                # Stopped for want of bytes, not for the application: all
                # that piled up has been consumed.
                self._caught_up()
        except H1ProtocolError as exc:
            self._refuse(exc.status, exc.reason)
        except HTTPInputError as exc:
            self._refuse(400, str(exc))
        except Exception:
            self._crashed()
        finally:
            self._pumping = False

    def _on_head(self, head: Head) -> None:
        line: Any = head.start_line
        headers = head.headers
        self._deadline = _INF
        self._request_line = line
        self._headers = headers
        self._keep = self._persist and self._reader.keep_alive
        settings = self._settings
        if settings.xheaders:
            base = self.context
            remote_ip, protocol = _resolve_forwarded(
                headers, base.remote_ip, base.protocol, base.trusted_downstream
            )
            self._exchange = _Exchange(self, base._with(remote_ip, protocol))
        if settings.decompress:
            coding = headers.get("Content-Encoding")
            if coding is not None and coding.lower() == "gzip":
                self._inflate = zlib.decompressobj(wbits=zlib.MAX_WBITS | 16)
                del headers["Content-Encoding"]
                headers["X-Consumed-Content-Encoding"] = coding
        delegate = settings.delegate
        if delegate is None:
            # Plain callable: the body is gathered here, the call comes at the end.
            self._after_head()
            return
        self._state = _BUSY
        message = delegate.start_request(self, self._exchange)
        self._message = message
        pending = message.headers_received(line, headers)
        if self._state == _GONE:
            return  # detached (or closed) by the delegate: the reader is done
        if pending is not None:
            self._wait(pending, self._after_head)
        else:
            self._after_head()

    def _after_head(self) -> None:
        """Look at what follows the head: the end of the request, or a body to admit."""
        event = self._reader.next_event()
        if type(event) is EndOfMessage:
            # No body (the usual GET): no header lookups, straight to the answer.
            self._on_end()
            return
        headers = self._headers
        assert headers is not None
        # The reader has validated the framing fields; only the size matters here.
        length = headers.get("Content-Length")
        if length is not None and int(length.partition(",")[0]) > self._body_limit:
            raise H1ProtocolError(413, "Content-Length larger than max_body_size")
        if self._settings.delegate is None:
            self._parts = []
        if self._reader.expects_continue and not self._head_sent:
            self._out(_CONTINUE)
        self._state = _BODY
        timeout = self._body_timeout
        self._deadline = self._registry.now + timeout if timeout is not None else _INF
        if type(event) is Data:
            self._on_data(event.data)

    def _on_data(self, chunk: bytes) -> None:
        if self._write_done:
            # Answered already and not interested in the rest: no keep-alive.
            self._keep = False
            self._close()
            return
        seen = self._body_seen = self._body_seen + len(chunk)
        if seen > self._body_limit:
            raise H1ProtocolError(413, "body larger than max_body_size")
        if self._inflate is not None:
            chunk = self._inflated(chunk)
            if not chunk:
                return
        parts = self._parts
        if parts is not None:
            parts.append(chunk)
        else:
            self._deliver(chunk)

    def _inflated(self, chunk: bytes) -> bytes:
        try:
            # Bounded output: a small bomb must not expand past the body limit.
            room = self._body_limit - self._body_seen + len(chunk)
            plain: bytes = self._inflate.decompress(chunk, max(room, 1) + 1)
        except zlib.error as exc:
            raise H1ProtocolError(400, f"corrupt gzip body: {exc}") from None
        if self._inflate.unconsumed_tail or len(plain) > room:
            raise H1ProtocolError(413, "decompressed body larger than max_body_size")
        return plain

    def _deliver(self, chunk: bytes | memoryview) -> None:
        """Hand ``chunk`` to the delegate as ``bytes`` pieces of at most ``chunk_size``.

        A delegate that returns an awaitable gets nothing more until it is
        done; the rest of ``chunk`` waits in ``_spill`` as a view, so every
        byte is copied once at most, whatever the number of pieces.
        """
        message = self._message
        assert message is not None
        size = self._settings.chunk_size
        total = len(chunk)
        if total <= size:
            pending = message.data_received(chunk if type(chunk) is bytes else bytes(chunk))
            if pending is not None:
                self._wait(pending, None)
            return
        view = memoryview(chunk)
        start = 0
        while start < total:
            end = start + size
            pending = message.data_received(bytes(view[start:end]))
            if pending is not None:
                if end < total:
                    self._spill = view[end:]
                self._wait(pending, None)
                return
            start = end

    def _on_end(self) -> None:
        self._read_done = True
        if self._state != _GONE:
            self._state = _BUSY
            self._deadline = _INF
        inflate = self._inflate
        if inflate is not None:
            tail = inflate.flush()
            if tail:
                if self._parts is not None:
                    self._parts.append(tail)
                elif self._message is not None:
                    # finish() cannot wait, so this last piece ignores back-pressure.
                    self._message.data_received(tail)
        if self._write_done:
            # The response went out before the (empty) rest of the request was read.
            self._next_or_close()
            return
        self._blocked = True
        handler = self._settings.handler
        if handler is None:
            message = self._message
            assert message is not None
            message.finish()
            return
        parts = self._parts
        if parts is None:
            body = b""
        else:
            body = parts[0] if len(parts) == 1 else b"".join(parts)
            self._parts = None
        request = HTTPServerRequest(
            start_line=self._request_line,
            headers=self._headers,
            body=body,
            connection=self._exchange,
            server_connection=self,
        )
        _run_request_callback(handler, request, self._handler_done)

    def _handler_done(self, task: asyncio.Future[Any]) -> None:
        if task.cancelled() or task.exception() is None:
            return
        app_log.error("Uncaught exception in the request callback", exc_info=task.exception())
        self._failed_answer()

    def _wait(self, pending: Awaitable[None], then: Callable[[], None] | None) -> None:
        """Stop reading until the application's ``pending`` is done, then run ``then``."""
        self._blocked = True
        self._after = then
        asyncio.ensure_future(pending).add_done_callback(self._resume)

    def _resume(self, future: asyncio.Future[None]) -> None:
        if self._state == _GONE:
            return
        if not future.cancelled() and future.exception() is not None:
            app_log.error("Uncaught exception in an HTTP delegate", exc_info=future.exception())
            self._failed_answer()
            return
        self._blocked = False
        then, self._after = self._after, None
        spill, self._spill = self._spill, None
        try:
            if then is not None:
                then()
            if spill is not None:
                self._deliver(spill)
        except H1ProtocolError as exc:
            self._refuse(exc.status, exc.reason)
            return
        except Exception:
            self._crashed()
            return
        self._pump()

    def _caught_up(self) -> None:
        """Nothing received is left undelivered: count afresh, and read again if paused."""
        self._backlog = 0
        if self._read_paused and self._state != _GONE:
            self._read_paused = False
            self._transport.resume_reading()

    # -- writing (HTTPConnection) --------------------------------------------------

    def write_headers(
        self,
        start_line: RequestStartLine | ResponseStartLine,
        headers: HTTPHeaders,
        chunk: bytes | None = None,
    ) -> asyncio.Future[None]:
        """Send the status line and headers (and a first piece of body).

        Framing comes from the shared codec: the ``Content-Length`` given, else
        chunked coding for an HTTP/1.1 client, else the body ends with the
        connection. ``Connection: close`` is added when this response is the
        connection's last.
        """
        line = self._request_line
        if self._state == _GONE or line is None:
            return self._closed_future()
        writer = self._writer
        status: Any = start_line
        if status.code < 200:
            if status.code == 101:
                # Switching protocols: no more HTTP on this connection; the
                # new protocol takes it over through detach().
                self._switched = True
                self._keep = self._persist = False
            return self._send(writer.head(start_line, headers, keep_alive=True))
        data = writer.head(
            start_line,
            headers,
            request_method=line.method,
            keep_alive=self._keep,
            peer_version=line.version,
        )
        return self._head_out(data, chunk, line.method)

    def _write_head_fields(
        self, code: int, fields: Any, chunk: bytes | None, body_length: int | None
    ) -> asyncio.Future[None]:
        """:meth:`write_headers` for a final response given as bytes pairs (ASGI's form).

        Nothing is decoded or re-encoded: see :meth:`H1Writer.response_head`.
        """
        line = self._request_line
        if self._state == _GONE or line is None:
            return self._closed_future()
        data = self._writer.response_head(
            code,
            fields,
            request_method=line.method,
            keep_alive=self._keep,
            peer_version=line.version,
            body_length=body_length,
        )
        return self._head_out(data, chunk, line.method)

    def _head_out(self, data: bytes, chunk: bytes | None, method: str) -> asyncio.Future[None]:
        """Send a final response's head (and first body piece) in one write."""
        self._head_sent = True
        # A HEAD answer has no body: what the application writes for it is dropped.
        self._muted = method == "HEAD"
        if not self._writer.keep_alive:
            self._keep = False
        if chunk:
            body = self._framed(chunk)
            if len(body) < 65536:
                data += body
            else:
                self._out(data)
                data = body
        self._out(data)
        waiter = self._write_paused
        return waiter if waiter is not None else self._registry.done

    def write(self, chunk: bytes) -> asyncio.Future[None]:
        """Send a piece of the body; the future resolves once the transport took it.

        (Small writes reach the transport together at the end of the current
        loop pass, in order; the future does not wait for that.)

        Bytes written before :meth:`write_headers` go out verbatim (the classic
        ``request.write("HTTP/1.1 200 OK...")`` style), and the connection
        closes after :meth:`finish`.
        """
        if self._state == _GONE:
            return self._closed_future()
        if not self._head_sent:
            self._raw = True
            self._keep = False
            return self._send(chunk)
        return self._send(self._framed(chunk))

    def _framed(self, chunk: bytes) -> bytes:
        if self._muted:
            return b""
        try:
            return self._writer.data(chunk)
        except HTTPOutputError:
            self._close()
            raise

    def finish(self) -> None:
        """The response is complete; serve the next request on this connection, or close it."""
        if self._write_done or self._request_line is None:
            return
        if self._state == _GONE:
            self._write_done = True
            return
        if self._switched:
            # After a 101 the bytes that follow belong to the new protocol:
            # read nothing more, wait (without timeouts) for detach().
            self._write_done = True
            self._blocked = True
            self._state = _BUSY
            self._deadline = _INF
            return
        if self._raw:
            self._keep = False
        else:
            try:
                tail = self._writer.end()
            except HTTPOutputError:
                self._close()
                raise
            if tail:
                self._out(tail)
        self._write_done = True
        self._close_callback = None
        if self._read_done:
            self._next_or_close()
        # Otherwise the rest of the request decides: its end keeps the
        # connection for the next one, more body closes it (see _on_data).

    def _next_or_close(self) -> None:
        if not self._keep:
            self._close()
            return
        self._reset()
        self._reader.start_next_message()
        self._state = _IDLE
        self._deadline = self._registry.now + self._settings.idle_timeout
        self._blocked = False
        if not self._pumping:
            self._pump()

    def _send(self, data: bytes) -> asyncio.Future[None]:
        self._out(data)
        waiter = self._write_paused
        return waiter if waiter is not None else self._registry.done

    def _out(self, data: bytes) -> None:
        """Write ``data``: small writes wait for the end of this loop iteration.

        Every connection that answered during one pass of the loop then sends
        its bytes in one burst (one ``send`` each, head and body together),
        instead of one at a time between the reads. Each send to a peer
        that sleeps waiting for it costs a wake-up, dear on virtual machines
        (an inter-processor interrupt, several microseconds): in a burst,
        only the first finds it asleep. Nothing waits longer than the rest
        of the current pass; a connection holds less than ``_HOLD`` bytes.
        While a lone connection answers pass after pass, holding would only
        add a pass per answer: the registry then lets writes go straight out
        (see ``_Registry.probe``).
        """
        held = self._held
        if held is None:
            if len(data) < _HOLD:
                registry = self._registry
                if registry.holding or registry.probe():
                    self._held = [data]
                    self._held_size = len(data)
                    registry.hold(self)
                    return
            self._transport.write(data)
            return
        size = self._held_size + len(data)
        if size < _HOLD:
            held.append(data)
            self._held_size = size
            return
        self._release()
        self._transport.write(data)

    def _release(self) -> None:
        """Hand the held bytes to the transport (the registry calls it once per loop pass)."""
        held = self._held
        if held is not None:
            self._held = None
            self._transport.write(held[0] if len(held) == 1 else b"".join(held))

    def _closed_future(self) -> asyncio.Future[None]:
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        future.set_exception(StreamClosedError())
        future.add_done_callback(_quiet)
        return future

    # -- Tornado's per-request connection controls ---------------------------------

    def set_close_callback(self, callback: Callable[[], None] | None) -> None:
        """Run ``callback`` if the connection closes before this response is finished."""
        self._close_callback = callback

    def set_body_timeout(self, timeout: float) -> None:
        """Seconds allowed for the rest of this request's body (instead of the server's)."""
        self._body_timeout = timeout
        if self._state == _BODY:
            self._deadline = self._registry.now + timeout

    def set_max_body_size(self, max_body_size: int) -> None:
        """The largest body accepted for this request (instead of the server's)."""
        self._body_limit = max_body_size

    def detach(self) -> _TransportStream:
        """Hand the connection over (after a 101 answer, typically): HTTP stops here.

        Returns a :class:`~squall.iostream.BaseIOStream`-compatible stream on
        this connection's transport (TLS included) that first yields the
        bytes received past the request head. From now on this server does
        not read, time out, keep alive, drain or count the connection: the
        stream owns it, and closing it closes the connection.

        Raises:
            StreamClosedError: the connection is closed already.
        """
        transport = self._transport
        if self._state == _GONE or transport is None or transport.is_closing():
            raise StreamClosedError()
        self._release()
        waiter, self._write_paused = self._write_paused, None
        stream = _TransportStream(
            transport,
            self._reader.buffered,
            read_paused=self._read_paused,
            write_paused=waiter is not None,
            max_buffer_size=self._settings.max_buffer_size,
            done=self._registry.done,
        )
        transport.set_protocol(stream)
        self._state = _GONE
        self._blocked = True
        self._deadline = _INF
        self._write_done = True
        self._close_callback = None
        self._message = None
        # HTTP is over here: let go of the codec (and the request head it
        # holds) and of the request; only the answers of context stay.
        del self._reader, self._writer
        self._request_line = None
        self._headers = None
        self._exchange = self
        if waiter is not None and not waiter.done():
            # Writes through this connection are over; the stream has its own
            # flow control from here.
            waiter.set_result(None)
        self._registry.leave(self)
        self._tell_server_closed()
        return stream

    def close(self) -> None:
        """Close the connection now (what is already written is still sent)."""
        self._close()

    # -- endings ---------------------------------------------------------------------

    def _close(self) -> None:
        if self._state == _GONE:
            return
        self._state = _GONE
        self._blocked = True
        self._deadline = _INF
        transport = self._transport
        if transport is not None:
            self._release()
            transport.close()

    def _abandoned(self) -> None:
        """The connection ended with a request unanswered: tell whoever listens."""
        callback, self._close_callback = self._close_callback, None
        message, self._message = self._message, None
        try:
            if callback is not None:
                callback()
            if message is not None:
                message.on_connection_close()
        except Exception:
            app_log.error("Uncaught exception in on_connection_close", exc_info=True)

    def _refuse(self, status: int, reason: str) -> None:
        """Bad input: log why, answer ``status`` if nothing was sent yet, and close."""
        gen_log.info("Malformed HTTP request from %s: %s (%d)", self.context, reason, status)
        self._answer_and_close(status)

    def _answer_and_close(self, status: int) -> None:
        if self._state == _GONE:
            return
        if not self._head_sent:
            self._head_sent = True
            self._out(_refusal(status))
        unanswered = self._request_line is not None and not self._write_done
        self._close()
        if unanswered:
            self._abandoned()

    def _crashed(self) -> None:
        app_log.error("Uncaught exception serving HTTP request", exc_info=True)
        self._failed_answer()

    def _failed_answer(self) -> None:
        if self._request_line is None:
            # Between requests (the failure came after the answer): nothing to say.
            self._close()
        else:
            self._answer_and_close(500)

    def _expire(self) -> None:
        """Called by the sweep when ``_deadline`` has passed."""
        state = self._state
        if state == _IDLE:
            gen_log.debug("Closing idle HTTP connection from %s", self.context)
            self._close()
        elif state == _HEAD:
            gen_log.info("Timed out reading a request head from %s (header_timeout)", self.context)
            self._answer_and_close(408)
        elif state == _BODY:
            gen_log.info("Timed out reading a request body from %s (body_timeout)", self.context)
            self._answer_and_close(408)
        else:
            self._deadline = _INF

    def _drain_idle(self) -> bool:
        """Shutdown: close now if between requests (else after this response); True when closed."""
        self._persist = self._keep = False
        if self._state == _IDLE:
            self._close()
            return True
        return False

    def _abort(self) -> None:
        transport = self._transport
        self._close()
        if transport is not None:
            transport.abort()
