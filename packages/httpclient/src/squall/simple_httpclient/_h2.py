"""HTTP/2 for the simple client: one multiplexed connection per origin, driven by ``h2``.

The ``h2`` package (``squall-httpclient[http2]``) is the protocol engine; this
module is the driver. A :class:`_Session` is the asyncio protocol of one
connection and the client's entry for its origin (``client._h2[key]``). It
is created before the connection exists: fetches that arrive while it is
being dialed wait in its ``backlog``, so concurrent fetches to a new origin
share one connection. Each fetch becomes a :class:`_Lane` (one stream),
started while the server's ``SETTINGS_MAX_CONCURRENT_STREAMS`` allows and
queued otherwise.

On ``https`` the session offers ``h2`` and ``http/1.1`` by ALPN. When the
server picks HTTP/1.1 the session hands the fresh connection to an HTTP/1
:class:`~._link._Link` from inside ``connection_made`` (before a byte is
read), the first waiting fetch sends its request on it, the rest take the
ordinary HTTP/1 route, and the origin is remembered as HTTP/1-only.

Flow control: received DATA is acknowledged (WINDOW_UPDATE) once the body
piece has been stored or handed to ``streaming_callback``; request bodies are
sent as the peer's windows allow, the rest waits for its WINDOW_UPDATE.
GOAWAY: streams the server never saw (above ``last_stream_id``) are retried
on a new connection when idempotent; the others finish. RST_STREAM fails its
fetch with a 599 naming the error code (REFUSED_STREAM is retried once for
idempotent methods). A session with no streams closes after a quiet period.
"""

from __future__ import annotations

import asyncio
import collections
import time
import zlib
from typing import TYPE_CHECKING, Any
from urllib.parse import urljoin

from squall.httpclient._response import HTTPClientError, HTTPResponse
from squall.httputil import HTTPHeaders, responses

from ._link import HTTPStreamClosedError, _Link

try:
    import h2.config
    import h2.connection
    import h2.errors
    import h2.events
    import h2.exceptions
    import h2.settings
except ImportError:  # the extra is not installed: HTTP/1.1 only
    _HAVE_H2 = False
else:
    _HAVE_H2 = True

if TYPE_CHECKING:
    from ._client import SimpleAsyncHTTPClient
    from ._fetch import _Fetch

__all__ = ["_H2Response", "_Lane", "_Session", "_take"]

#: Sessions without a stream for this long say GOAWAY and close.
_QUIET_SECONDS = 30.0
#: Receive windows we announce: per stream, and for the whole connection.
_STREAM_WINDOW = 1 << 20
_SESSION_WINDOW = 1 << 24
#: Fields HTTP/2 forbids (RFC 9113 section 8.2.2); Host becomes ``:authority``.
_HOP_FIELDS = frozenset(
    ("connection", "keep-alive", "proxy-connection", "transfer-encoding", "upgrade", "host")
)
_SAFE_TO_REPEAT = frozenset(("GET", "HEAD", "OPTIONS", "PUT", "DELETE", "TRACE"))
_MOVED = frozenset((301, 302, 303, 307, 308))
_ORIGINS_REMEMBERED = 512


class _H2Response(HTTPResponse):
    """An :class:`HTTPResponse` that arrived over HTTP/2 (``http_version`` says so)."""

    __slots__ = ()

    #: squall addition: the protocol that carried the response.
    http_version = "HTTP/2"


def _graceful_transitions() -> Any:
    """h2's connection state table, except that a GOAWAY leaves the connection readable.

    h2 treats any frame after GOAWAY as a protocol error, but RFC 9113 section
    6.8 lets the server finish the streams up to ``last_stream_id``; the
    session itself stops opening streams once it has seen GOAWAY.
    """
    machine = getattr(h2.connection, "H2ConnectionStateMachine", None)
    table = getattr(machine, "_transitions", None)
    if not isinstance(table, dict):
        return None
    state, inputs = h2.connection.ConnectionState, h2.connection.ConnectionInputs
    graceful = dict(table)
    graceful[(state.CLIENT_OPEN, inputs.RECV_GOAWAY)] = (None, state.CLIENT_OPEN)
    return graceful


_GRACEFUL = _graceful_transitions() if _HAVE_H2 else None


def _error_name(code: int) -> str:
    try:
        return h2.errors.ErrorCodes(code).name
    except ValueError:
        return f"error {code}"


def _take(fetch: _Fetch) -> bool:
    """Carry ``fetch`` over HTTP/2 when its request and origin allow; False leaves it to HTTP/1."""
    request = fetch.request
    mode = getattr(request, "http2", None)
    if mode is False:
        return False
    if mode not in (None, True, "auto"):
        raise ValueError(f"http2 must be None, 'auto', True or False, not {mode!r}")
    key = fetch.key
    scheme = key[0]
    if key[4] is not None:  # through a proxy: HTTP/1.1 only
        if mode is True:
            raise ValueError("http2=True cannot go through a proxy")
        return False
    if not _HAVE_H2:
        if mode is True:
            raise ValueError("http2=True needs the h2 package (squall-httpclient[http2])")
        return False
    client = fetch.client
    if scheme == "http":
        if mode is not True:
            return False
    elif mode is not True and key in client._h1_origins:
        return False
    session = client._h2.get(key)
    if session is None or session.draining:
        session = _Session(client, key, fetch.host, prior=scheme == "http")
        client._h2[key] = session
        session.dial(fetch)
    lane = _Lane(session, fetch)
    fetch.stream = lane
    if fetch.deadline < client._alarm_at:
        client._watch(fetch.deadline)
    session.admit(lane)
    return True


class _Lane:
    """One fetch's stream on a session: what is sent, and the answer as it arrives."""

    __slots__ = (
        "code",
        "fetch",
        "fields",
        "follow",
        "got",
        "heard_at",
        "inflate",
        "outbox",
        "outbox_closed",
        "parts",
        "producer",
        "sent",
        "session",
        "sid",
        "size",
        "spent",
        "waiter",
    )

    def __init__(self, session: _Session, fetch: _Fetch) -> None:
        self.session = session
        self.fetch = fetch
        self.sid = 0
        self.code = 0
        self.fields: HTTPHeaders | None = None
        self.parts: list[bytes] = []
        self.size = 0
        self.got = False
        self.heard_at = 0.0
        request = fetch.request
        self.follow = bool(request.follow_redirects) and (request.max_redirects or 0) > 0
        self.inflate: Any = False if request.decompress_response else None
        self.outbox = bytearray()
        self.outbox_closed = True
        self.waiter: asyncio.Future[None] | None = None
        self.producer: asyncio.Task[None] | None = None
        self.spent = False
        #: END_STREAM has gone out (h2 refuses a second one).
        self.sent = False

    # -- the request ----------------------------------------------------------------

    def header_block(self) -> list[tuple[str, str]]:
        fetch = self.fetch
        client = fetch.client
        request = fetch.request
        route = client._routes.get((request.url, request.user_agent, request.decompress_response))
        if route is None:
            route = client._route(request)
        fields = request.headers.copy()
        client._complete_headers(request, fields, route[3], route[5])
        body = request.body
        if body is not None:
            fields["Content-Length"] = str(len(body))
            if request.method == "POST" and "Content-Type" not in fields:
                fields["Content-Type"] = "application/x-www-form-urlencoded"
        authority = fields.get("Host") or route[3]
        block = [
            (":method", request.method),
            (":scheme", route[0]),
            (":authority", authority),
            (":path", route[4]),
        ]
        for name, value in fields.get_all():
            low = name.lower()
            if low in _HOP_FIELDS or (low == "te" and value.lower() != "trailers"):
                continue
            if "\n" in value or "\r" in value:
                raise ValueError(f"header {name} holds a CR or LF")
            block.append((low, value))
        return block

    def write(self, chunk: bytes) -> asyncio.Future[None]:
        """``body_producer``'s write: queue ``chunk``; the future resolves once it is sent."""
        if self.spent or self.session.closed:
            raise HTTPStreamClosedError("Stream closed while sending the body")
        self.outbox += chunk
        self.session.send_body(self)
        waiter = self.waiter
        if waiter is None:
            waiter = asyncio.get_running_loop().create_future()
            if not self.outbox:
                waiter.set_result(None)
            else:
                self.waiter = waiter
        return waiter

    async def produce(self) -> None:
        request = self.fetch.request
        assert request.body_producer is not None
        try:
            await request.body_producer(self.write)  # type: ignore[arg-type]
        except asyncio.CancelledError:
            return
        except Exception as e:
            self.producer = None
            self.fail(e)
            return
        self.producer = None
        self.outbox_closed = True
        self.session.send_body(self)

    def drained(self) -> None:
        waiter, self.waiter = self.waiter, None
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    # -- the answer -------------------------------------------------------------------

    def on_head(self, block: list[tuple[bytes, bytes]]) -> None:
        fields = HTTPHeaders()
        code = 0
        for name, value in block:
            if name[:1] == b":":
                if name == b":status":
                    code = int(value)
                continue
            fields.add(name.decode("latin-1"), value.decode("latin-1"))
        self.code = code
        self.fields = fields
        self.heard_at = time.monotonic()
        request = self.fetch.request
        if self.follow and not (code in _MOVED and "Location" in fields):
            self.follow = False
        on_header = request.header_callback
        if on_header is not None:
            on_header(f"HTTP/2 {code} {responses.get(code, 'Unknown')}\r\n")
            for field, text in fields.get_all():
                on_header(f"{field}: {text}\r\n")
            on_header("\r\n")
        if self.inflate is False:
            coding = fields.get("Content-Encoding")
            self.inflate = None
            if coding is not None and coding.lower() == "gzip":
                self.inflate = zlib.decompressobj(16 + zlib.MAX_WBITS)
                del fields["Content-Encoding"]
                fields["X-Consumed-Content-Encoding"] = coding

    def on_data(self, data: bytes) -> None:
        limit = self.fetch.client._body_limit
        inflate = self.inflate
        if inflate:
            data = inflate.decompress(data, limit + 1)
            if inflate.unconsumed_tail:
                self._too_big(limit)
        if self.follow or not data:
            return
        on_chunk = self.fetch.request.streaming_callback
        if on_chunk is not None:
            on_chunk(data)
            return
        self.size += len(data)
        if self.size > limit:
            self._too_big(limit)
        self.parts.append(data)

    def _too_big(self, limit: int) -> None:
        raise HTTPClientError(
            599, f"response body from {self.fetch.host} larger than {limit} bytes"
        )

    def on_end(self) -> None:
        """The stream ended: conclude the fetch, or follow its redirect."""
        fetch = self.fetch
        self.retire()
        if self.inflate:
            rest = self.inflate.flush()
            self.inflate = None
            if rest:
                self.on_data(rest)
        request = fetch.request
        fields = self.fields
        assert fields is not None
        code = self.code
        if self.follow:
            from ._fetch import _redirected

            fetch.request = _redirected(request, urljoin(request.url, fields["Location"]), code)
            fetch.retried = False
            fetch.begin()
            return
        now = time.monotonic()
        response = _H2Response._of_bytes(
            fetch.first,
            code,
            b"".join(self.parts),
            fields,
            None,
            request.url,
            now - request._start_time,
            request.start_time,
        )
        response.time_info = {
            "starttransfer": self.heard_at - request._start_time,
            "total": now - request._start_time,
        }
        moved = code in _MOVED and "Location" in fields
        if moved and request.follow_redirects and request.max_redirects:
            response.error = HTTPClientError(
                code, f"Too many redirects (max_redirects={request.max_redirects})", response
            )
        fetch._conclude(response)

    # -- endings ----------------------------------------------------------------------

    def retire(self) -> None:
        """Detach from the fetch and the session (the fetch goes on elsewhere or is over)."""
        if self.fetch.stream is self:
            self.fetch.stream = None
        self.spent = True
        self.drained()
        producer, self.producer = self.producer, None
        if producer is not None and producer is not asyncio.current_task():
            producer.cancel()
        self.session.forget(self)

    def fail(self, error: BaseException) -> None:
        self.retire()
        self.fetch.fail(error)

    def again(self, error: BaseException) -> None:
        """Send the fetch once more on another connection if that is safe; else fail it."""
        fetch = self.fetch
        request = fetch.request
        self.retire()
        if fetch.over:
            return
        if not fetch.retried and request.method in _SAFE_TO_REPEAT and not request.body_producer:
            fetch.retried = True
            fetch.begin()
            return
        fetch.fail(error)


class _Session(asyncio.Protocol):
    """One HTTP/2 connection to an origin (or the dialing of it); see the module docstring."""

    def __init__(
        self, client: SimpleAsyncHTTPClient, key: tuple[Any, ...], host: str, *, prior: bool
    ) -> None:
        self.client = client
        self.key = key
        self.host = host
        self.prior = prior
        config = h2.config.H2Configuration(client_side=True, header_encoding=None)
        self.h2 = h2.connection.H2Connection(config=config)
        if _GRACEFUL is not None:
            self.h2.state_machine._transitions = _GRACEFUL
        self.transport: asyncio.Transport | None = None
        self.fallback: _Link | None = None
        self.lanes: dict[int, _Lane] = {}
        self.backlog: collections.deque[_Lane] = collections.deque()
        self.sending: dict[_Lane, None] = {}
        self.draining = False
        self.closed = False
        #: The server's SETTINGS arrived: until then one stream at a time, so a
        #: low ``SETTINGS_MAX_CONCURRENT_STREAMS`` is never overrun.
        self.settled = False
        self.quiet: asyncio.TimerHandle | None = None

    # -- dialing ----------------------------------------------------------------------

    def dial(self, fetch: _Fetch) -> None:
        task = asyncio.get_running_loop().create_task(self._dial(fetch))
        self.client._tasks.add(task)
        task.add_done_callback(self.client._tasks.discard)

    async def _dial(self, fetch: _Fetch) -> None:
        client = self.client
        try:
            await client._dial(
                fetch, factory=lambda: self, alpn=None if self.prior else ["h2", "http/1.1"]
            )
        except asyncio.CancelledError:
            self._unregister()
            return
        except Exception as e:
            self._unregister()
            self.closed = True
            waiting, self.backlog = self.backlog, collections.deque()
            for lane in waiting:
                lane.fail(e)
            return
        link = self.fallback
        if link is not None:
            self._hand_over(link)
            return
        self._start_waiting()

    def _hand_over(self, link: _Link | None) -> None:
        """The server chose HTTP/1.1: the first waiting fetch takes ``link``, the rest go HTTP/1."""
        self._unregister()
        self.closed = True
        client = self.client
        if len(client._h1_origins) >= _ORIGINS_REMEMBERED:
            client._h1_origins.clear()
        client._h1_origins.add(self.key)
        waiting, self.backlog = self.backlog, collections.deque()
        for lane in waiting:
            fetch = lane.fetch
            lane.spent = True
            fetch.stream = None
            if getattr(fetch.request, "http2", None) is True:
                fetch.fail(HTTPClientError(599, f"{self.host} did not agree to HTTP/2 (ALPN)"))
            elif link is not None and link.usable():
                fetch._send(link, False)
                link = None
            else:
                fetch._attach()
        if link is not None:
            client._pool.give(self.key, link)

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        tls = transport.get_extra_info("ssl_object")
        if tls is not None and tls.selected_alpn_protocol() != "h2":
            link = _Link(self.client._limits)
            transport.set_protocol(link)
            link.connection_made(transport)
            self.fallback = link
            return
        self.transport = transport  # type: ignore[assignment]
        h2c = self.h2
        h2c.local_settings = h2.settings.Settings(
            client=True,
            initial_values={
                h2.settings.SettingCodes.ENABLE_PUSH: 0,
                h2.settings.SettingCodes.INITIAL_WINDOW_SIZE: _STREAM_WINDOW,
                h2.settings.SettingCodes.MAX_HEADER_LIST_SIZE: self.client._limits.max_header_size,
            },
        )
        h2c.initiate_connection()
        h2c.increment_flow_control_window(_SESSION_WINDOW - 65535)
        self._flush()

    def _start_waiting(self) -> None:
        if self.closed:
            return
        self._fill()
        self._flush()
        self._maybe_rest()  # every waiter may have given up while we dialed

    # -- streams ----------------------------------------------------------------------

    def admit(self, lane: _Lane) -> None:
        self.backlog.append(lane)
        if self.transport is not None:
            self._fill()
            self._flush()

    def _fill(self) -> None:
        """Open streams for waiting fetches while the server's concurrency limit allows."""
        h2c = self.h2
        backlog = self.backlog
        if backlog and self.quiet is not None:
            self.quiet.cancel()
            self.quiet = None
        while backlog and not self.draining and not self.closed:
            room = h2c.remote_settings.max_concurrent_streams if self.settled else 1
            if h2c.open_outbound_streams >= room:
                return
            lane = backlog.popleft()
            try:
                self._open(lane)
            except Exception as e:
                lane.fail(e)

    def _open(self, lane: _Lane) -> None:
        request = lane.fetch.request
        block = lane.header_block()
        body: bytes | None = request.body
        producer = request.body_producer
        sid = self.h2.get_next_available_stream_id()
        lane.sent = body is None and producer is None
        self.h2.send_headers(sid, block, end_stream=lane.sent)
        lane.sid = sid
        self.lanes[sid] = lane
        if producer is not None:
            lane.outbox_closed = False
            lane.producer = task = asyncio.get_running_loop().create_task(lane.produce())
            self.client._tasks.add(task)
            task.add_done_callback(self.client._tasks.discard)
        elif body is not None:
            lane.outbox += body
            self.send_body(lane)

    def send_body(self, lane: _Lane) -> None:
        """Send what the windows allow of ``lane``'s body; END_STREAM once it is all out."""
        h2c = self.h2
        outbox = lane.outbox
        sid = lane.sid
        if lane.sent or lane.spent or self.closed or not sid:
            return
        try:
            while outbox:
                room = min(h2c.local_flow_control_window(sid), h2c.max_outbound_frame_size)
                if room <= 0:
                    self.sending[lane] = None
                    self._flush()
                    return
                h2c.send_data(sid, bytes(outbox[:room]))
                del outbox[:room]
            self.sending.pop(lane, None)
            lane.drained()
            if lane.outbox_closed:
                lane.sent = True
                h2c.end_stream(sid)
        except h2.exceptions.ProtocolError:
            return  # the stream is gone (reset): its fetch is told elsewhere
        self._flush()

    def forget(self, lane: _Lane) -> None:
        """``lane`` is done with: reset its stream if still open, let the next one in."""
        self.sending.pop(lane, None)
        sid = lane.sid
        if not sid:
            try:
                self.backlog.remove(lane)
            except ValueError:
                pass
            return
        if self.lanes.pop(sid, None) is None:
            return
        if not self.closed:
            try:
                self.h2.reset_stream(sid, h2.errors.ErrorCodes.CANCEL)
            except h2.exceptions.ProtocolError:
                pass  # already closed both ways
            self._fill()
            self._flush()
            self._maybe_rest()

    def _maybe_rest(self) -> None:
        if self.lanes or self.backlog or self.closed or self.quiet is not None:
            return
        if self.draining:
            self.shut()
            return
        self.quiet = asyncio.get_running_loop().call_later(_QUIET_SECONDS, self.shut)

    # -- the connection ---------------------------------------------------------------

    def _flush(self) -> None:
        data = self.h2.data_to_send()
        transport = self.transport
        if data and transport is not None and not self.closed:
            transport.write(data)

    def data_received(self, data: bytes) -> None:
        if self.closed:
            return
        try:
            events = self.h2.receive_data(data)
        except h2.exceptions.ProtocolError as e:
            self._flush()
            self._collapse(HTTPClientError(599, f"HTTP/2 protocol error from {self.host}: {e}"))
            return
        lanes = self.lanes
        events_ = h2.events
        for event in events:
            lane: _Lane | None = None
            try:
                if isinstance(event, events_.DataReceived):
                    sid = event.stream_id or 0
                    lane = lanes.get(sid)
                    if lane is not None:
                        lane.on_data(event.data or b"")
                    if event.flow_controlled_length:
                        self.h2.acknowledge_received_data(event.flow_controlled_length, sid)
                elif isinstance(event, events_.ResponseReceived):
                    lane = lanes.get(event.stream_id or 0)
                    if lane is not None:
                        lane.on_head(event.headers or [])
                elif isinstance(event, events_.StreamEnded):
                    lane = lanes.get(event.stream_id or 0)
                    if lane is not None:
                        lane.on_end()
                elif isinstance(event, events_.StreamReset):
                    lane = lanes.get(event.stream_id or 0)
                    if lane is not None:
                        self._reset(lane, event.error_code or 0)
                elif isinstance(event, events_.WindowUpdated):
                    if event.stream_id:
                        lane = lanes.get(event.stream_id)
                        if lane is not None:
                            self.send_body(lane)
                    else:
                        for waiting in list(self.sending):
                            self.send_body(waiting)
                elif isinstance(event, events_.RemoteSettingsChanged):
                    self.settled = True
                    self._fill()
                elif isinstance(event, events_.ConnectionTerminated) and self._goaway(event):
                    return
            except Exception as e:
                # A user callback raised, or a body would not inflate: only this stream ends.
                if lane is not None:
                    lane.fail(e)
        self._flush()
        self._maybe_rest()

    def _reset(self, lane: _Lane, code: int) -> None:
        lane.sid, sid = 0, lane.sid
        self.lanes.pop(sid, None)
        error = HTTPClientError(599, f"HTTP/2 stream reset by {self.host} ({_error_name(code)})")
        if code == h2.errors.ErrorCodes.REFUSED_STREAM:
            lane.again(error)
        else:
            lane.fail(error)
        self._fill()

    def _goaway(self, event: h2.events.ConnectionTerminated) -> bool:
        """Stop opening streams; True when the connection is closed as a result."""
        self.draining = True
        self._unregister()
        last = event.last_stream_id or 0
        error = HTTPStreamClosedError(
            f"Stream closed: {self.host} sent GOAWAY ({_error_name(event.error_code or 0)})"
        )
        for sid, lane in sorted(self.lanes.items()):
            if sid > last:
                self.lanes.pop(sid)
                lane.sid = 0
                lane.again(error)
        waiting, self.backlog = self.backlog, collections.deque()
        for lane in waiting:
            lane.again(error)
        if not self.lanes:
            self.shut()
            return True
        if event.error_code:
            self._collapse(error)
            return True
        return False

    def _collapse(self, error: BaseException) -> None:
        """Fail every stream with ``error`` and drop the connection."""
        self._unregister()
        self.closed = True
        lanes = list(self.lanes.values()) + list(self.backlog)
        self.lanes.clear()
        self.backlog.clear()
        for lane in lanes:
            lane.sid = 0
            lane.fail(error)
        if self.transport is not None:
            self.transport.abort()

    def connection_lost(self, exc: Exception | None) -> None:
        if self.quiet is not None:
            self.quiet.cancel()
            self.quiet = None
        if self.closed:
            return
        self.closed = True
        self._unregister()
        why = f"connection reset by {self.host}" if exc else f"connection closed by {self.host}"
        error = HTTPStreamClosedError(f"Stream closed: HTTP/2 {why}")
        lanes = list(self.lanes.values())
        self.lanes.clear()
        waiting, self.backlog = self.backlog, collections.deque()
        for lane in lanes:
            lane.sid = 0
            lane.fail(error)
        for lane in waiting:
            lane.again(error)

    def shut(self) -> None:
        """Say GOAWAY and close (idle, drained, or the client is closing)."""
        self.quiet = None
        self._unregister()
        if self.closed:
            return
        self.closed = True
        transport = self.transport
        if transport is not None:
            try:
                self.h2.close_connection()
                transport.write(self.h2.data_to_send())
            except h2.exceptions.ProtocolError:
                pass
            # GOAWAY is handed to the socket by write(); nothing else is worth waiting for.
            transport.abort()

    def _unregister(self) -> None:
        table = self.client._h2
        if table.get(self.key) is self:
            del table[self.key]
