"""HTTP/2 edge cases and abuse, with a raw ``h2`` client (and hand-made frames) on a socket.

Every wait is bounded (socket timeouts, a deadline per exchange): a server
that got stuck makes a test fail, never hang.
"""

from __future__ import annotations

import asyncio
import socket
import time
from collections.abc import Callable
from typing import Any

import pytest

from .conftest import TIMEOUT, LiveServer, connect

pytest.importorskip("h2")
web = pytest.importorskip("squall.web")

import h2.config  # noqa: E402
import h2.connection  # noqa: E402
import h2.events  # noqa: E402
import hpack  # noqa: E402
from h2.errors import ErrorCodes  # noqa: E402
from hyperframe.frame import (  # noqa: E402
    ContinuationFrame,
    DataFrame,
    HeadersFrame,
    PingFrame,
)
from squall.httpserver import _h2 as server_h2  # noqa: E402


class Client:
    """A blocking HTTP/2 client: ``h2`` for the protocol, a socket with a timeout."""

    def __init__(self, port: int, **sock_options: int) -> None:
        self.sock = connect(port)
        for option, value in sock_options.items():
            self.sock.setsockopt(socket.SOL_SOCKET, getattr(socket, option), value)
        self.conn = h2.connection.H2Connection(
            config=h2.config.H2Configuration(client_side=True, header_encoding="utf-8")
        )
        self.conn.initiate_connection()
        self.flush()
        self.events: list[Any] = []
        self.closed = False
        self.port = port

    def flush(self) -> None:
        data = self.conn.data_to_send()
        if data:
            self.sock.sendall(data)

    def raw(self, data: bytes) -> None:
        self.sock.sendall(data)

    def pump(self, until: Callable[[], bool], limit: float = TIMEOUT) -> None:
        """Read and process frames until ``until()`` holds (or the peer closes)."""
        deadline = time.monotonic() + limit
        while not until():
            if self.closed:
                return
            left = deadline - time.monotonic()
            assert left > 0, f"timed out; events so far: {self.events[-5:]}"
            self.sock.settimeout(left)
            try:
                data = self.sock.recv(65536)
            except ConnectionResetError:
                data = b""
            if not data:
                self.closed = True
                return
            try:
                self.events.extend(self.conn.receive_data(data))
            except h2.exceptions.ProtocolError:
                self.closed = True
                return
            self.flush()

    def get(self, path: str, method: str = "GET", end: bool = True) -> int:
        stream_id: int = self.conn.get_next_available_stream_id()
        self.conn.send_headers(
            stream_id,
            [
                (":method", method),
                (":path", path),
                (":scheme", "http"),
                (":authority", f"127.0.0.1:{self.port}"),
            ],
            end_stream=end,
        )
        self.flush()
        return stream_id

    def ended(self, stream_id: int) -> bool:
        return any(
            isinstance(e, (h2.events.StreamEnded, h2.events.StreamReset))
            and e.stream_id == stream_id
            for e in self.events
        )

    def body(self, stream_id: int) -> bytes:
        return b"".join(
            e.data
            for e in self.events
            if isinstance(e, h2.events.DataReceived) and e.stream_id == stream_id
        )

    def status(self, stream_id: int) -> str | None:
        for e in self.events:
            if isinstance(e, h2.events.ResponseReceived) and e.stream_id == stream_id:
                return dict(e.headers)[":status"]
        return None

    def goaway(self) -> Any:
        for e in self.events:
            if isinstance(e, h2.events.ConnectionTerminated):
                return e
        return None

    def close(self) -> None:
        self.sock.close()


def _header_block(path: str, port: int, extra: list[tuple[str, str]] | None = None) -> bytes:
    fields = [(":method", "GET"), (":path", path), (":scheme", "http"), (":authority", "x")]
    return hpack.Encoder().encode(fields + (extra or []))


_gates: dict[str, asyncio.Event] = {}


def _gate(name: str) -> asyncio.Event:
    gate = _gates.get(name)
    if gate is None:
        gate = _gates[name] = asyncio.Event()
    return gate


class Hello(web.RequestHandler):
    def get(self) -> None:
        self.write("hello")


class Slow(web.RequestHandler):
    async def get(self) -> None:
        await _gate("slow").wait()
        self.write("late")


class Big(web.RequestHandler):
    def get(self) -> None:
        self.write(b"b" * int(self.get_argument("n")))


@web.stream_request_body
class Upload(web.RequestHandler):
    def prepare(self) -> None:
        self.size = 0

    async def data_received(self, chunk: bytes) -> None:
        self.size += len(chunk)
        await _gate("upload").wait()

    def put(self) -> None:
        self.write(str(self.size))


def make_app() -> Any:
    _gates.clear()
    return web.Application([("/", Hello), ("/slow", Slow), ("/big", Big), ("/up", Upload)])


@pytest.fixture
def live(serve: Any) -> LiveServer:
    server: LiveServer = serve(make_app(), http2=True)
    return server


def _still_serving(port: int) -> None:
    other = Client(port)
    try:
        sid = other.get("/")
        other.pump(lambda: other.ended(sid))
        assert other.status(sid) == "200" and other.body(sid) == b"hello"
    finally:
        other.close()


def test_settings_advertised(serve: Any) -> None:
    live = serve(
        make_app(),
        http2=True,
        http2_max_concurrent_streams=7,
        http2_max_frame_size=32768,
        http2_initial_window_size=1000,
        max_header_size=5000,
    )
    client = Client(live.port)
    client.pump(lambda: any(isinstance(e, h2.events.RemoteSettingsChanged) for e in client.events))
    changed = next(e for e in client.events if isinstance(e, h2.events.RemoteSettingsChanged))
    values = {code: setting.new_value for code, setting in changed.changed_settings.items()}
    codes = h2.settings.SettingCodes
    assert values[codes.MAX_CONCURRENT_STREAMS] == 7
    assert values[codes.MAX_FRAME_SIZE] == 32768
    assert values[codes.INITIAL_WINDOW_SIZE] == 1000
    assert values[codes.MAX_HEADER_LIST_SIZE] == 5000
    client.close()


def test_garbage_after_preface_is_a_protocol_error(live: LiveServer) -> None:
    client = Client(live.port)
    # A PING frame must carry 8 bytes; this one has 3.
    client.raw(b"\x00\x00\x03\x06\x00\x00\x00\x00\x00abc")
    client.pump(lambda: client.goaway() is not None)
    assert client.goaway().error_code == ErrorCodes.FRAME_SIZE_ERROR
    client.pump(lambda: False)
    assert client.closed
    client.close()
    _still_serving(live.port)


def test_oversized_frame_is_refused(live: LiveServer) -> None:
    client = Client(live.port)
    frame = DataFrame(1, data=b"d" * 20000)
    client.raw(frame.serialize())
    client.pump(lambda: client.goaway() is not None)
    assert client.goaway().error_code == ErrorCodes.FRAME_SIZE_ERROR
    client.close()


def test_oversized_header_list_ends_the_connection(serve: Any) -> None:
    live = serve(make_app(), http2=True, max_header_size=2000)
    client = Client(live.port)
    client.pump(lambda: any(isinstance(e, h2.events.RemoteSettingsChanged) for e in client.events))
    # Send the block by hand: the h2 client would refuse to break the peer's limit.
    block = _header_block("/", live.port, [("x-big", "v" * 4000)])
    client.raw(HeadersFrame(1, data=block, flags=["END_HEADERS", "END_STREAM"]).serialize())
    client.pump(lambda: client.goaway() is not None)
    assert client.goaway() is not None
    assert client.goaway().error_code in (
        ErrorCodes.ENHANCE_YOUR_CALM,
        ErrorCodes.COMPRESSION_ERROR,
        ErrorCodes.PROTOCOL_ERROR,
    )
    assert client.status(1) is None
    client.close()
    _still_serving(live.port)


def test_even_stream_id_from_client(live: LiveServer) -> None:
    client = Client(live.port)
    block = _header_block("/", live.port)
    client.raw(HeadersFrame(2, data=block, flags=["END_HEADERS", "END_STREAM"]).serialize())
    client.pump(lambda: client.goaway() is not None)
    assert client.goaway().error_code == ErrorCodes.PROTOCOL_ERROR
    client.close()


def test_stream_id_going_backwards(live: LiveServer) -> None:
    client = Client(live.port)
    block = _header_block("/", live.port)
    # One write: the server must not answer stream 5 first (the h2 client
    # here never opened it and would stop reading at that answer).
    client.raw(
        HeadersFrame(5, data=block, flags=["END_HEADERS", "END_STREAM"]).serialize()
        + HeadersFrame(3, data=block, flags=["END_HEADERS", "END_STREAM"]).serialize()
    )
    client.pump(lambda: client.goaway() is not None)
    assert client.goaway().error_code == ErrorCodes.PROTOCOL_ERROR
    client.close()


def test_flow_control_violation(serve: Any) -> None:
    live = serve(make_app(), http2=True, http2_initial_window_size=16384)
    client = Client(live.port)
    client.pump(lambda: any(isinstance(e, h2.events.RemoteSettingsChanged) for e in client.events))
    sid = client.get("/up", method="PUT", end=False)
    # 3 x 16 KiB on a 16 KiB stream window, bypassing the client's own checks.
    for _ in range(3):
        client.raw(DataFrame(sid, data=b"u" * 16384).serialize())
    client.pump(
        lambda: (
            client.goaway() is not None
            or any(isinstance(e, h2.events.StreamReset) for e in client.events)
        )
    )
    resets = [e for e in client.events if isinstance(e, h2.events.StreamReset)]
    away = client.goaway()
    codes = [r.error_code for r in resets] + ([away.error_code] if away else [])
    assert ErrorCodes.FLOW_CONTROL_ERROR in codes
    client.close()


def test_rapid_reset_gets_enhance_your_calm(live: LiveServer) -> None:
    client = Client(live.port)
    budget = 200  # twice the default stream limit
    for _ in range(budget + 20):
        sid = client.get("/slow")
        client.conn.reset_stream(sid, ErrorCodes.CANCEL)
        client.flush()
        if client.closed:
            break
    client.pump(lambda: client.goaway() is not None)
    assert client.goaway() is not None
    assert client.goaway().error_code == ErrorCodes.ENHANCE_YOUR_CALM
    client.pump(lambda: False)
    assert client.closed
    client.close()
    _still_serving(live.port)


def test_a_few_resets_are_fine(live: LiveServer) -> None:
    client = Client(live.port)
    for _ in range(20):
        sid = client.get("/slow")
        client.conn.reset_stream(sid, ErrorCodes.CANCEL)
        client.flush()
    sid = client.get("/")
    client.pump(lambda: client.ended(sid))
    assert client.body(sid) == b"hello"
    assert client.goaway() is None
    client.close()


def test_continuation_flood_is_bounded(live: LiveServer) -> None:
    client = Client(live.port)
    client.raw(HeadersFrame(1, data=_header_block("/", live.port)[:5]).serialize())
    sent = 0
    try:
        for _ in range(2000):
            client.raw(ContinuationFrame(1, data=b"\x40\x01a\x01b").serialize())
            sent += 1
    except OSError:
        pass
    client.pump(lambda: client.goaway() is not None)
    assert client.goaway() is not None
    assert client.goaway().error_code != ErrorCodes.NO_ERROR
    client.close()
    _still_serving(live.port)


def test_ping_flood_without_reading_is_cut_off(
    live: LiveServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(server_h2, "_OUTBOX_LIMIT", 32768)
    client = Client(live.port, SO_RCVBUF=4096)
    batch = b"".join(PingFrame(0, opaque_data=b"12345678").serialize() for _ in range(2000))
    cut = False
    deadline = time.monotonic() + 20
    try:
        for _ in range(500):  # at most a million pings
            client.raw(batch)
            if time.monotonic() > deadline:
                break
    except OSError:
        cut = True
    if not cut:
        # The server may have cut us off after our last send: drain and see EOF.
        client.sock.settimeout(TIMEOUT)
        try:
            while client.sock.recv(1 << 20):
                pass
            cut = True
        except OSError:
            cut = True
    assert cut
    client.close()
    _still_serving(live.port)


def test_slow_upload_stalls_only_its_stream(live: LiveServer) -> None:
    client = Client(live.port)
    up = client.get("/up", method="PUT", end=False)
    # As much as the windows allow; the handler takes the first piece and waits.
    sent = 0
    while sent < 200_000:
        window = min(client.conn.local_flow_control_window(up), client.conn.max_outbound_frame_size)
        if window <= 0:
            break
        client.conn.send_data(up, b"p" * window)
        sent += window
    client.flush()
    hello = client.get("/")
    client.pump(lambda: client.ended(hello))
    assert client.body(hello) == b"hello"
    assert not client.ended(up)
    assert sent < 200_000  # the upload is held back by its own window
    live.call(lambda: _gate("upload").set())
    rest = 200_000 - sent
    deadline = time.monotonic() + TIMEOUT
    while rest > 0:
        assert time.monotonic() < deadline
        window = min(
            client.conn.local_flow_control_window(up), client.conn.max_outbound_frame_size, rest
        )
        if window <= 0:
            client.pump(lambda: client.conn.local_flow_control_window(up) > 0)
            continue
        client.conn.send_data(up, b"p" * window)
        rest -= window
        client.flush()
    client.conn.end_stream(up)
    client.flush()
    client.pump(lambda: client.ended(up))
    assert client.body(up) == b"200000"
    client.close()


def test_slow_reader_stalls_only_its_stream(live: LiveServer) -> None:
    client = Client(live.port)
    big = client.get("/big?n=1000000")

    def taken_connection_only() -> None:
        # Give back the connection window but never the stream's: stream 1 stalls.
        for e in client.events[taken[0] :]:
            if isinstance(e, h2.events.DataReceived) and e.flow_controlled_length:
                if e.stream_id == big:
                    client.conn.increment_flow_control_window(e.flow_controlled_length)
                else:
                    client.conn.acknowledge_received_data(e.flow_controlled_length, e.stream_id)
        taken[0] = len(client.events)
        client.flush()

    taken = [0]
    client.pump(lambda: len(client.body(big)) >= 65535)
    taken_connection_only()
    hello = client.get("/")
    while not client.ended(hello):
        client.pump(lambda: len(client.events) > taken[0])
        taken_connection_only()
    assert client.body(hello) == b"hello"
    assert len(client.body(big)) == 65535
    assert not client.ended(big)
    # Now read it all.
    client.conn.increment_flow_control_window(1_000_000, big)
    client.flush()
    while not client.ended(big):
        client.pump(lambda: len(client.events) > taken[0])
        for e in client.events[taken[0] :]:
            if isinstance(e, h2.events.DataReceived) and e.flow_controlled_length:
                client.conn.acknowledge_received_data(e.flow_controlled_length, e.stream_id)
        taken[0] = len(client.events)
        client.flush()
    assert client.body(big) == b"b" * 1_000_000
    client.close()


def test_request_trailers_are_accepted(live: LiveServer) -> None:
    client = Client(live.port)
    sid = client.get("/up", method="PUT", end=False)
    live.call(lambda: _gate("upload").set())
    client.conn.send_data(sid, b"abc")
    client.conn.send_headers(sid, [("x-checksum", "1")], end_stream=True)
    client.flush()
    client.pump(lambda: client.ended(sid))
    assert client.status(sid) == "200"
    assert client.body(sid) == b"3"
    client.close()


def test_shutdown_sends_goaway_and_finishes_streams(live: LiveServer) -> None:
    client = Client(live.port)
    sid = client.get("/slow")
    client.pump(lambda: any(isinstance(e, h2.events.SettingsAcknowledged) for e in client.events))
    time.sleep(0.05)
    done = live.start_call(lambda: live.server.shutdown(timeout=TIMEOUT))
    client.pump(lambda: client.goaway() is not None)
    away = client.goaway()
    assert away.error_code == ErrorCodes.NO_ERROR
    assert away.last_stream_id == sid
    assert not client.ended(sid)
    live.call(lambda: _gate("slow").set())
    # The h2 client stops at GOAWAY: read the rest of the wire by hand.
    wire = b""
    client.sock.settimeout(TIMEOUT)
    while True:
        data = client.sock.recv(65536)
        if not data:
            break
        wire += data
    assert b"late" in wire
    done.result(TIMEOUT)
    client.close()


def test_idle_connection_gets_goaway(serve: Any) -> None:
    live = serve(make_app(), http2=True, idle_connection_timeout=0.2)
    client = Client(live.port)
    sid = client.get("/")
    client.pump(lambda: client.ended(sid))
    client.pump(lambda: False, limit=TIMEOUT)
    assert client.closed
    assert client.goaway() is not None
    assert client.goaway().error_code == ErrorCodes.NO_ERROR
    client.close()


def test_too_many_streams_refused(serve: Any) -> None:
    live = serve(make_app(), http2=True, http2_max_concurrent_streams=2)
    client = Client(live.port)
    client.pump(lambda: any(isinstance(e, h2.events.RemoteSettingsChanged) for e in client.events))
    block = _header_block("/slow", live.port)
    for sid in (1, 3, 5):
        client.raw(HeadersFrame(sid, data=block, flags=["END_HEADERS", "END_STREAM"]).serialize())
    client.pump(
        lambda: (
            client.goaway() is not None
            or any(isinstance(e, h2.events.StreamReset) for e in client.events)
        )
    )
    resets = [e for e in client.events if isinstance(e, h2.events.StreamReset)]
    away = client.goaway()
    assert (resets and resets[0].stream_id == 5) or (
        away is not None and away.error_code == ErrorCodes.PROTOCOL_ERROR
    )
    client.close()


def _callable_server(serve: Any, **options: Any) -> LiveServer:
    from squall.httputil import HTTPHeaders, HTTPServerRequest, ResponseStartLine

    def handler(request: HTTPServerRequest) -> None:
        conn = request.connection
        assert conn is not None
        if request.path == "/inject":
            fields = HTTPHeaders({"X-Bad": "a\r\nSet-Cookie: evil=1"})
        elif request.path == "/nobody":
            conn.write_headers(ResponseStartLine("HTTP/1.1", 204, "No Content"), HTTPHeaders())
            conn.finish()
            return
        else:
            fields = HTTPHeaders(
                {
                    "Connection": "keep-alive",
                    "X-Seen": f"{request.remote_ip} {request.protocol} {request.host}",
                }
            )
        conn.write_headers(ResponseStartLine("HTTP/1.1", 200, "OK"), fields, b"body")
        conn.finish()

    live: LiveServer = serve(handler, http2=True, **options)
    return live


def test_unsendable_header_value_resets_the_stream(serve: Any) -> None:
    live = _callable_server(serve)
    client = Client(live.port)
    sid = client.get("/inject")
    client.pump(lambda: client.ended(sid))
    resets = [e for e in client.events if isinstance(e, h2.events.StreamReset)]
    assert [r.stream_id for r in resets] == [sid]
    assert client.status(sid) is None
    other = client.get("/")
    client.pump(lambda: client.ended(other))
    assert client.body(other) == b"body"
    client.close()


def test_connection_fields_dropped_and_head_has_no_body(serve: Any) -> None:
    live = _callable_server(serve)
    client = Client(live.port)
    sid = client.get("/")
    head = client.get("/", method="HEAD")
    empty = client.get("/nobody")
    client.pump(lambda: client.ended(sid) and client.ended(head) and client.ended(empty))
    got = next(
        e for e in client.events if isinstance(e, h2.events.ResponseReceived) and e.stream_id == sid
    )
    names = [name for name, _ in got.headers]
    assert "connection" not in names
    assert dict(got.headers)["x-seen"] == f"127.0.0.1 http 127.0.0.1:{live.port}"
    assert client.body(sid) == b"body"
    assert client.status(head) == "200" and client.body(head) == b""
    assert client.status(empty) == "204" and client.body(empty) == b""
    client.close()


def test_xheaders_per_stream(serve: Any) -> None:
    live = _callable_server(serve, xheaders=True)
    client = Client(live.port)
    ids = []
    for ip in ("10.0.0.1", "10.0.0.2"):
        sid = client.conn.get_next_available_stream_id()
        client.conn.send_headers(
            sid,
            [
                (":method", "GET"),
                (":path", "/"),
                (":scheme", "http"),
                (":authority", "example.com"),
                ("x-real-ip", ip),
                ("x-scheme", "https"),
            ],
            end_stream=True,
        )
        ids.append(sid)
    client.flush()
    client.pump(lambda: all(client.ended(i) for i in ids))
    seen = [
        dict(e.headers)["x-seen"]
        for e in client.events
        if isinstance(e, h2.events.ResponseReceived)
    ]
    assert sorted(seen) == ["10.0.0.1 https example.com", "10.0.0.2 https example.com"]
    client.close()


def test_streamed_body_over_max_body_size(serve: Any) -> None:
    live = serve(make_app(), http2=True, max_body_size=1000)
    client = Client(live.port)
    live.call(lambda: _gate("upload").set())
    sid = client.get("/up", method="PUT", end=False)
    client.conn.send_data(sid, b"1" * 800)
    client.conn.send_data(sid, b"2" * 800)
    client.flush()
    client.pump(lambda: client.ended(sid))
    assert client.status(sid) == "413"
    # The connection lives on.
    other = client.get("/")
    client.pump(lambda: client.ended(other))
    assert client.body(other) == b"hello"
    client.close()


def test_preface_split_over_packets(live: LiveServer) -> None:
    client = Client.__new__(Client)
    client.sock = connect(live.port)
    client.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    client.conn = h2.connection.H2Connection(
        config=h2.config.H2Configuration(client_side=True, header_encoding="utf-8")
    )
    client.conn.initiate_connection()
    opening = client.conn.data_to_send()
    client.raw(opening[:5])
    time.sleep(0.05)
    client.raw(opening[5:])
    client.events, client.closed, client.port = [], False, live.port
    sid = client.get("/")
    client.pump(lambda: client.ended(sid))
    assert client.body(sid) == b"hello"
    client.close()
