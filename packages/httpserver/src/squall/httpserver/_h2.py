"""HTTP/2 for :class:`~squall.httpserver.HTTPServer`: a driver around the ``h2`` state machine.

The ``h2`` library (the ``squall-httpserver[http2]`` extra) does the framing,
HPACK and the protocol rules; this module only moves bytes and events.
:class:`_H2Link` is the asyncio Protocol of one HTTP/2 connection. Every
request stream becomes one :class:`~squall.httputil.HTTPMessageDelegate` from
the application's ``start_request(link, lane)``, where the :class:`_Lane` is
the :class:`~squall.httputil.HTTPConnection` of that stream alone: its write
futures resolve once the peer's flow-control windows let the bytes out, so a
slow reader stalls only its own stream. Request bodies are handed back to the
peer (WINDOW_UPDATE) only once the delegate has taken them: a delegate that
returns a pending awaitable from ``data_received`` holds its own stream's
window closed, and the connection window is sized so that every stream can
be held that way without blocking the others.

Bytes ``h2`` produces are written to the transport once per received batch
and once per write burst. Abuse is bounded: more client resets in a short
period than twice the stream limit ends the connection with GOAWAY
``ENHANCE_YOUR_CALM`` (CVE-2023-44487); header blocks are bounded by
``max_header_size`` (HPACK) and by ``h2``'s cap on CONTINUATION frames;
control replies that pile up unread close the connection.
"""

from __future__ import annotations

import asyncio
import re
from collections import deque
from collections.abc import Awaitable
from typing import TYPE_CHECKING, Any

import h2.config
import h2.connection
import h2.events
import h2.exceptions
import h2.settings
from h2.errors import ErrorCodes
from hyperframe.frame import GoAwayFrame
from squall.httputil import (
    HTTPConnection,
    HTTPHeaders,
    HTTPMessageDelegate,
    RequestStartLine,
    ResponseStartLine,
)
from squall.httputil._callable import _CallableDelegate
from squall.iostream import StreamClosedError
from squall.log import app_log, gen_log

from ._h2hook import _H2Options
from ._peer import _peer_context, _PeerContext, _resolve_forwarded

if TYPE_CHECKING:
    from ._registry import _Registry

__all__: list[str] = []

_INF = float("inf")
# Response fields that describe an HTTP/1 connection, forbidden in HTTP/2.
_CONNECTION_FIELDS = frozenset(
    ("connection", "keep-alive", "proxy-connection", "transfer-encoding", "upgrade")
)
# What a response field value may not hold (h2's outbound checks are off).
_BAD_VALUE = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]|^[ \t]|[ \t]$")
# Client resets are counted over this many seconds.
_RESET_PERIOD = 10.0
# Seconds a connection ended for bad input stays open to drain the peer's frames.
_LINGER = 1.0
# Unsent output past which a peer that does not read is cut off.
_OUTBOX_LIMIT = 2 * 1024 * 1024


def _fields(code: int, headers: HTTPHeaders) -> list[tuple[bytes, bytes]]:
    """The HTTP/2 field list of a response head (``ValueError`` for unsendable values).

    Names and values go out as latin-1, as on HTTP/1 (a UTF-8 URL that a
    handler put in a header as latin-1 text arrives as the same bytes).
    """
    fields = [(b":status", str(code).encode())]
    for name, value in headers.get_all():
        lowered = name.lower()
        if lowered in _CONNECTION_FIELDS:
            continue
        if not (value.isprintable() and value == value.strip(" ")) and (
            _BAD_VALUE.search(value) is not None
        ):
            raise ValueError(f"header {name!r} cannot be sent: {value!r}")
        try:
            fields.append((lowered.encode("latin-1"), value.encode("latin-1")))
        except UnicodeEncodeError:
            raise ValueError(f"header {name!r} is not latin-1 text: {value!r}") from None
    return fields


def _failed_future(exc: BaseException) -> asyncio.Future[None]:
    future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
    future.set_exception(exc)
    future.add_done_callback(lambda f: f.exception())
    return future


class _Lane(HTTPConnection):
    """One stream of an HTTP/2 connection, as the request's ``connection``."""

    __slots__ = (
        "_body_limit",
        "_busy",
        "_close_callback",
        "_ending",
        "_held",
        "_inbox",
        "_link",
        "_message",
        "_mute",
        "_outbox",
        "_seen",
        "_waiter",
        "context",
        "id",
        "read_over",
        "started",
        "write_over",
    )

    def __init__(self, link: _H2Link, stream_id: int, context: _PeerContext) -> None:
        self._link = link
        self.id = stream_id
        self.context = context
        self._message: HTTPMessageDelegate | None = None
        self._close_callback: Any = None
        self._body_limit = link._settings.max_body_size
        self._seen = 0
        self._busy = False
        self._inbox: deque[tuple[bytes | None, int]] | None = None
        self._outbox: deque[bytes] = deque()
        self._held = 0
        self._waiter: asyncio.Future[None] | None = None
        self._ending = False
        self._mute = False
        self.started = False
        self.read_over = False
        self.write_over = False

    # -- HTTPConnection ----------------------------------------------------------

    def write_headers(
        self,
        start_line: RequestStartLine | ResponseStartLine,
        headers: HTTPHeaders,
        chunk: bytes | None = None,
    ) -> asyncio.Future[None]:
        """Send the response head (and a first piece of body) on this stream."""
        link = self._link
        if self.write_over or link._gone:
            return _failed_future(StreamClosedError())
        code: int = start_line.code  # type: ignore[union-attr]
        if code < 200:
            # Interim answers (100) mean nothing to an HTTP/2 client here.
            return link._done
        try:
            fields = _fields(code, headers)
        except ValueError:
            link._dead_lane(self)
            link._h2.reset_stream(self.id, ErrorCodes.INTERNAL_ERROR)
            link._flush_later()
            raise
        self.started = True
        self._mute = self._mute or code in (204, 304)
        try:
            link._h2.send_headers(self.id, fields)
        except h2.exceptions.H2Error as exc:
            link._dead_lane(self)
            return _failed_future(StreamClosedError(real_error=exc))
        if chunk:
            return self.write(chunk)
        link._flush_later()
        return link._done

    def write(self, chunk: bytes) -> asyncio.Future[None]:
        """Queue a piece of body; the future resolves once flow control let it all out."""
        link = self._link
        if self.write_over or link._gone:
            return _failed_future(StreamClosedError())
        if chunk and not self._mute:
            self._outbox.append(chunk)
            self._held += len(chunk)
            link._dirty.append(self)
            link._flush_later()
        if self._held:
            waiter = self._waiter
            if waiter is None:
                waiter = self._waiter = link._loop.create_future()
            return waiter
        paused = link._paused
        return paused if paused is not None else link._done

    def finish(self) -> None:
        """End the response: END_STREAM goes out after the last queued byte."""
        link = self._link
        if self.write_over or self._ending or link._gone:
            return
        self._ending = True
        self._close_callback = None
        link._dirty.append(self)
        link._flush_later()

    # -- Tornado's per-request controls --------------------------------------------

    def set_close_callback(self, callback: Any) -> None:
        """Run ``callback`` if the stream is reset or the connection lost first."""
        self._close_callback = callback

    def set_max_body_size(self, max_body_size: int) -> None:
        """The largest body accepted on this stream."""
        self._body_limit = max_body_size

    def set_body_timeout(self, timeout: float) -> None:
        """Accepted for compatibility; HTTP/2 streams use the connection's idle timeout."""

    def _peer_certificate(self, binary_form: bool) -> Any:
        return self._link._peer_certificate(binary_form)

    # -- inbound -------------------------------------------------------------------

    def _take(self, item: bytes | None, size: int) -> None:
        """A piece of body (``None``: the end) for the delegate, in order."""
        if self._busy:
            inbox = self._inbox
            if inbox is None:
                inbox = self._inbox = deque()
            inbox.append((item, size))
        else:
            self._hand(item, size)

    def _hand(self, item: bytes | None, size: int) -> None:
        message = self._message
        if message is None:
            return
        if item is None:
            self.read_over = True
            message.finish()
            if self.write_over:
                self._link._retire(self)
            return
        pending = message.data_received(item)
        if pending is None:
            if size:
                self._link._h2.acknowledge_received_data(size, self.id)
        else:
            self._hold(pending, size)

    def _hold(self, pending: Awaitable[None], size: int) -> None:
        self._busy = True
        asyncio.ensure_future(pending).add_done_callback(lambda f: self._unhold(f, size))

    def _unhold(self, future: asyncio.Future[None], size: int) -> None:
        self._busy = False
        link = self._link
        if link._gone or self._message is None:
            return
        try:
            if not future.cancelled():
                error = future.exception()
                if error is not None:
                    raise error
            if size:
                link._h2.acknowledge_received_data(size, self.id)
            inbox = self._inbox
            while inbox and not self._busy:
                item, size = inbox.popleft()
                self._hand(item, size)
        except Exception:
            link._app_failed(self)
        link._flush_later()

    def _lost(self) -> None:
        """The stream ended under the application (reset, or the connection closed)."""
        self.write_over = True
        waiter, self._waiter = self._waiter, None
        if waiter is not None and not waiter.done():
            waiter.set_exception(StreamClosedError())
            waiter.add_done_callback(lambda f: f.exception())
        callback, self._close_callback = self._close_callback, None
        message, self._message = self._message, None
        if message is None or self._ending:
            return
        try:
            if callback is not None:
                callback()
            message.on_connection_close()
        except Exception:
            app_log.error("Uncaught exception in on_connection_close", exc_info=True)


class _H2Link(asyncio.Protocol):
    """One HTTP/2 connection: ``h2`` events in, application calls out."""

    __slots__ = (
        "_batching",
        "_context",
        "_deadline",
        "_dirty",
        "_done",
        "_draining",
        "_flush_due",
        "_gone",
        "_h2",
        "_lanes",
        "_loop",
        "_options",
        "_paused",
        "_registry",
        "_reset_count",
        "_reset_since",
        "_settings",
        "_sockname",
        "_stalled",
        "_tls",
        "_transport",
    )

    def __init__(self, registry: _Registry, tls: bool) -> None:
        self._registry = registry
        settings = self._settings = registry.settings
        options: _H2Options = settings.http2
        self._options = options
        self._tls = tls
        self._loop = registry._loop
        self._done = registry.done
        self._transport: Any = None
        self._context: _PeerContext | None = None
        self._sockname: Any = None
        self._lanes: dict[int, _Lane] = {}
        self._stalled: set[_Lane] = set()
        # Lanes written to since the last push (their bytes go to h2 in one go).
        self._dirty: list[_Lane] = []
        self._paused: asyncio.Future[None] | None = None
        self._draining = False
        self._batching = False
        self._flush_due = False
        self._gone = False
        self._deadline = _INF
        self._reset_count = 0
        self._reset_since = 0.0
        # Inbound headers are checked by h2; outbound ones are built here
        # (lower-case names, no connection fields) and checked by _fields.
        config = h2.config.H2Configuration(
            client_side=False,
            header_encoding=None,
            validate_inbound_headers=True,
            validate_outbound_headers=False,
            normalize_outbound_headers=False,
        )
        conn = self._h2 = h2.connection.H2Connection(config=config)
        codes = h2.settings.SettingCodes
        conn.local_settings = h2.settings.Settings(
            client=False,
            initial_values={
                codes.MAX_CONCURRENT_STREAMS: options.streams,
                codes.MAX_HEADER_LIST_SIZE: options.header_list,
                codes.MAX_FRAME_SIZE: options.frame,
                codes.INITIAL_WINDOW_SIZE: options.window,
            },
        )
        conn.max_inbound_frame_size = options.frame
        conn.decoder.max_header_list_size = options.header_list

    # -- asyncio.Protocol -------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._transport = transport
        registry = self._registry
        registry.join(self)  # type: ignore[arg-type]
        self._deadline = registry.now + self._settings.idle_timeout
        conn = self._h2
        conn.initiate_connection()
        # Room on the connection for every stream's full window: a stream
        # whose delegate holds its body back never blocks the others.
        extra = self._options.streams * self._options.window - 65535
        if extra > 0:
            conn.increment_flow_control_window(min(extra, 2**31 - 1 - 65535))
        if registry.draining:
            self._drain_idle()
        self._flush()

    def data_received(self, data: bytes) -> None:
        if self._gone:
            return  # hanging up: what still comes is dropped
        self._batching = True
        try:
            self._take_batch(data)
        finally:
            self._batching = False

    def _take_batch(self, data: bytes) -> None:
        try:
            events = self._h2.receive_data(data)
        except h2.exceptions.ProtocolError as exc:
            # h2 has queued the GOAWAY that says why.
            gen_log.info("HTTP/2 protocol error from %s: %s", self.context, exc)
            self._hang_up()
            return
        except Exception as exc:
            gen_log.info("Unreadable HTTP/2 input from %s: %r", self.context, exc)
            self._abort()
            return
        handlers = _HANDLERS
        for event in events:
            handler = handlers.get(type(event))
            if handler is not None:
                handler(self, event)
            if self._ended():
                return
        if self._dirty:
            self._push()
        self._flush()
        if self._paused is not None and self._transport.get_write_buffer_size() > _OUTBOX_LIMIT:
            gen_log.info("HTTP/2 peer %s does not read its answers: closing", self.context)
            self._abort()

    def eof_received(self) -> bool:
        return False

    def connection_lost(self, exc: Exception | None) -> None:
        self._gone = True
        self._deadline = _INF
        transport = self._transport
        if transport is not None:
            transport.close()
        self._registry.leave(self)  # type: ignore[arg-type]
        paused, self._paused = self._paused, None
        if paused is not None and not paused.done():
            paused.set_exception(StreamClosedError(real_error=exc))
            paused.add_done_callback(lambda f: f.exception())
        lanes, self._lanes = self._lanes, {}
        for lane in lanes.values():
            lane._lost()
        delegate = self._settings.delegate
        if delegate is not None:
            try:
                delegate.on_close(self)
            except Exception:
                app_log.error("Uncaught exception in on_close", exc_info=True)

    def pause_writing(self) -> None:
        if self._paused is None:
            self._paused = self._loop.create_future()

    def resume_writing(self) -> None:
        paused, self._paused = self._paused, None
        if self._stalled:
            for lane in list(self._stalled):
                self._send(lane)
            self._flush()
        if paused is not None and not paused.done():
            paused.set_result(None)

    # -- what requests see -------------------------------------------------------------

    @property
    def context(self) -> _PeerContext:
        """The peer (address, ``remote_ip``, ``protocol``) of this connection."""
        context = self._context
        if context is None:
            transport = self._transport
            address = transport.get_extra_info("peername") if transport is not None else None
            scheme = "https" if self._tls else (self._settings.protocol or "http")
            context = self._context = _peer_context(address, scheme, self._settings.trusted)
        return context

    def _local_name(self) -> Any:
        """The socket's own address (``getsockname``), asked once: ASGI scopes want it per request."""
        name = self._sockname
        if name is None and self._transport is not None:
            name = self._sockname = self._transport.get_extra_info("sockname")
        return name

    def _peer_certificate(self, binary_form: bool) -> Any:
        transport = self._transport
        tls = transport.get_extra_info("ssl_object") if transport is not None else None
        return None if tls is None else tls.getpeercert(binary_form=binary_form)

    # -- events --------------------------------------------------------------------------

    def _on_request(self, event: h2.events.RequestReceived) -> None:
        stream_id: int = event.stream_id
        conn = self._h2
        if self._draining:
            conn.reset_stream(stream_id, ErrorCodes.REFUSED_STREAM)
            return
        method = path = authority = scheme = None
        headers = HTTPHeaders()
        cookies: list[str] | None = None
        for raw_name, raw_value in event.headers or ():
            name = raw_name.decode("latin-1")
            value = raw_value.decode("latin-1")
            if name[0] == ":":
                if name == ":method":
                    method = value
                elif name == ":path":
                    path = value
                elif name == ":authority":
                    authority = value
                elif name == ":scheme":
                    scheme = value
            elif name == "cookie":
                # HTTP/2 may split the cookie field; HTTP/1 semantics join with "; ".
                if cookies is None:
                    cookies = []
                cookies.append(value)
            else:
                headers.add(name, value)
        if cookies is not None:
            headers["Cookie"] = "; ".join(cookies)
        if authority is not None and "Host" not in headers:
            headers["Host"] = authority
        if self._deadline != _INF:
            self._deadline = _INF
        settings = self._settings
        context = self.context
        if settings.xheaders:
            if scheme in ("http", "https"):
                context = context._with(context.remote_ip, scheme)
            context = context._with(
                *_resolve_forwarded(
                    headers, context.remote_ip, context.protocol, context.trusted_downstream
                )
            )
        lane = _Lane(self, stream_id, context)
        self._lanes[stream_id] = lane
        line = RequestStartLine(method or "GET", path or "/", "HTTP/2.0")
        lane._mute = method == "HEAD"
        try:
            delegate = settings.delegate
            if delegate is None:
                assert settings.handler is not None
                message: HTTPMessageDelegate = _CallableDelegate(
                    settings.handler, server_connection=self, connection=lane
                )
            else:
                message = delegate.start_request(self, lane)
            lane._message = message
            # After headers_received: a handler's prepare() may change the
            # limit (request.connection.set_max_body_size), as on HTTP/1.
            pending = message.headers_received(line, headers)
            length = headers.get("Content-Length")
            if length is not None and length.isdigit() and int(length) > lane._body_limit:
                gen_log.info("HTTP/2 request body from %s over max_body_size", self.context)
                self._refuse(lane, 413)
                message.on_connection_close()  # the handler learns its request is gone
                return
            if not event.stream_ended and headers.get("Expect", "").lower() == "100-continue":
                conn.send_headers(stream_id, [(":status", "100")])
            if pending is not None:
                lane._hold(pending, 0)
        except Exception:
            self._app_failed(lane)

    def _on_data(self, event: h2.events.DataReceived) -> None:
        stream_id: int = event.stream_id
        size: int = event.flow_controlled_length
        lane = self._lanes.get(stream_id)
        if lane is None or lane.read_over or lane._message is None:
            if size:
                self._h2.acknowledge_received_data(size, stream_id)
            return
        data: bytes = event.data
        seen = lane._seen = lane._seen + len(data)
        if seen > lane._body_limit:
            gen_log.info("HTTP/2 request body from %s over max_body_size", self.context)
            self._h2.acknowledge_received_data(size, stream_id)
            self._refuse(lane, 413)
            return
        try:
            lane._take(data, size)
        except Exception:
            self._app_failed(lane)

    def _on_end(self, event: h2.events.StreamEnded) -> None:
        lane = self._lanes.get(event.stream_id)
        if lane is None or lane.read_over:
            return
        try:
            lane._take(None, 0)
        except Exception:
            self._app_failed(lane)

    def _on_reset(self, event: h2.events.StreamReset) -> None:
        if event.remote_reset:
            now = self._loop.time()
            if now - self._reset_since > _RESET_PERIOD:
                self._reset_since = now
                self._reset_count = 0
            self._reset_count += 1
            if self._reset_count > self._options.reset_budget:
                gen_log.info("HTTP/2 rapid resets from %s: closing", self.context)
                self._h2.close_connection(ErrorCodes.ENHANCE_YOUR_CALM)
                self._hang_up()
                return
        lane = self._lanes.get(event.stream_id)
        if lane is not None:
            self._dead_lane(lane)

    def _on_window(self, event: h2.events.WindowUpdated) -> None:
        stalled = self._stalled
        if not stalled:
            return
        if event.stream_id:
            lane = self._lanes.get(event.stream_id)
            if lane is not None and lane in stalled:
                self._send(lane)
        else:
            for lane in list(stalled):
                self._send(lane)

    def _on_settings(self, event: h2.events.RemoteSettingsChanged) -> None:
        if h2.settings.SettingCodes.INITIAL_WINDOW_SIZE in event.changed_settings:
            for lane in list(self._stalled):
                self._send(lane)

    def _on_goaway(self, event: h2.events.ConnectionTerminated) -> None:
        self._draining = True
        if not self._lanes:
            self._close()

    # -- sending -------------------------------------------------------------------------

    def _send(self, lane: _Lane) -> None:
        """Move as much of ``lane``'s queued body into ``h2`` as the windows allow."""
        if lane.write_over:
            return
        conn = self._h2
        outbox = lane._outbox
        stream_id = lane.id
        burst = 0
        try:
            while outbox:
                if self._paused is not None:
                    self._stalled.add(lane)
                    return
                room = min(conn.local_flow_control_window(stream_id), conn.max_outbound_frame_size)
                if room <= 0:
                    self._stalled.add(lane)
                    return
                piece = outbox[0]
                if len(piece) <= room:
                    outbox.popleft()
                else:
                    outbox[0] = piece[room:]
                    piece = piece[:room]
                lane._held -= len(piece)
                if outbox or not lane._ending:
                    conn.send_data(stream_id, piece)
                else:
                    # The last piece carries END_STREAM: no empty frame after it.
                    conn.send_data(stream_id, piece, end_stream=True)
                    lane.write_over = True
                burst += len(piece)
                if burst >= 262144:
                    # Hand big bodies to the transport as they go, so that its
                    # back-pressure (pause_writing) stops the loop in time.
                    burst = 0
                    self._flush()
            self._stalled.discard(lane)
            waiter, lane._waiter = lane._waiter, None
            if waiter is not None and not waiter.done():
                waiter.set_result(None)
            if lane._ending:
                if not lane.write_over:
                    lane.write_over = True
                    conn.end_stream(stream_id)
                if not lane.read_over:
                    lane._message = None
                    stream = conn.streams.get(stream_id)
                    if stream is not None and not stream.closed:
                        # Answered before the whole request came: stop the
                        # upload (RFC 9113 §8.1), the answer stands.
                        conn.reset_stream(stream_id, ErrorCodes.NO_ERROR)
                self._retire(lane)
        except h2.exceptions.H2Error:
            self._dead_lane(lane)

    def _flush(self) -> None:
        data = self._h2.data_to_send()
        if data and not self._gone:
            self._transport.write(data)

    def _flush_later(self) -> None:
        """Write what h2 holds at the end of this batch or loop turn, in one piece."""
        if not self._batching and not self._flush_due:
            self._flush_due = True
            self._loop.call_soon(self._flush_now)

    def _flush_now(self) -> None:
        self._flush_due = False
        if self._dirty:
            self._push()
        self._flush()

    def _push(self) -> None:
        """Queue the body bytes (and ends) written since the last push into ``h2``."""
        dirty = self._dirty
        self._dirty = []
        for lane in dirty:
            if lane._outbox or lane._ending:
                self._send(lane)

    # -- stream endings -----------------------------------------------------------------

    def _retire(self, lane: _Lane) -> None:
        """Forget ``lane`` if both directions are over."""
        if lane.write_over and (lane.read_over or lane._message is None):
            self._forget(lane)

    def _forget(self, lane: _Lane) -> None:
        self._lanes.pop(lane.id, None)
        self._stalled.discard(lane)
        if not self._lanes and not self._gone:
            if self._draining:
                self._flush()
                self._close()
            else:
                self._deadline = self._registry.now + self._settings.idle_timeout

    def _dead_lane(self, lane: _Lane) -> None:
        self._forget(lane)
        lane._lost()

    def _refuse(self, lane: _Lane, status: int) -> None:
        """Answer ``status`` without a body on ``lane`` (if nothing was sent) and end it."""
        lane._message = None
        conn = self._h2
        try:
            if not lane.started:
                lane.started = True
                conn.send_headers(
                    lane.id, [(":status", str(status)), ("content-length", "0")], end_stream=True
                )
                lane.write_over = True
                conn.reset_stream(lane.id, ErrorCodes.NO_ERROR)
            else:
                conn.reset_stream(lane.id, ErrorCodes.INTERNAL_ERROR)
        except h2.exceptions.H2Error:
            pass
        lane.read_over = lane.write_over = True
        self._forget(lane)

    def _app_failed(self, lane: _Lane) -> None:
        app_log.error("Uncaught exception serving HTTP/2 request", exc_info=True)
        self._refuse(lane, 500)

    # -- connection endings (the registry's interface) -------------------------------------

    def _close(self) -> None:
        if self._gone:
            return
        self._gone = True
        self._deadline = _INF
        transport = self._transport
        if transport is not None:
            transport.close()

    def _ended(self) -> bool:
        return self._gone

    def _hang_up(self) -> None:
        """Send the queued GOAWAY, then close once the peer has had time to read it.

        Closing at once while the peer's frames are still arriving would make
        the kernel answer them with a TCP reset, which can destroy the GOAWAY
        before the peer reads it; so the write side ends first (where the
        transport can) and later input is read and dropped for a moment.
        """
        self._flush()
        self._gone = True
        self._deadline = _INF
        transport = self._transport
        for lane in list(self._lanes.values()):
            self._dead_lane(lane)
        if transport.can_write_eof():
            transport.write_eof()
        self._loop.call_later(_LINGER, transport.close)

    def _abort(self) -> None:
        transport = self._transport
        self._close()
        if transport is not None:
            transport.abort()

    def _expire(self) -> None:
        if self._lanes:
            self._deadline = _INF
            return
        gen_log.debug("Closing idle HTTP/2 connection from %s", self.context)
        self._h2.close_connection()
        self._flush()
        self._close()

    def _drain_idle(self) -> bool:
        """Shutdown: GOAWAY now; close once the streams already started have finished."""
        if self._gone:
            return True
        if not self._draining:
            self._draining = True
            # Built by hand: h2's close_connection() would also stop the
            # streams in progress from answering.
            notice = GoAwayFrame(0)
            notice.last_stream_id = self._h2.highest_inbound_stream_id
            self._flush()
            self._transport.write(notice.serialize())
        if not self._lanes:
            self._close()
            return True
        return False


_HANDLERS: dict[type, Any] = {
    h2.events.RequestReceived: _H2Link._on_request,
    h2.events.DataReceived: _H2Link._on_data,
    h2.events.StreamEnded: _H2Link._on_end,
    h2.events.StreamReset: _H2Link._on_reset,
    h2.events.WindowUpdated: _H2Link._on_window,
    h2.events.RemoteSettingsChanged: _H2Link._on_settings,
    h2.events.ConnectionTerminated: _H2Link._on_goaway,
}
