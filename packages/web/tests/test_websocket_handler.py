"""WebSocketHandler through a real server: the upgrade, the hooks, writing, closing, pings, limits.

The peers are squall's own client and, where the bytes themselves matter, a
raw socket speaking hand-built frames. Both server paths are covered: the
fast transport path (sockets the HTTPServer accepts) and the IOStream path
(streams handed to ``HTTPServer.handle_stream``).
"""

from __future__ import annotations

import asyncio
import base64
import gc
import os
import struct
import weakref
from typing import Any

from squall.httpclient import HTTPClientError, HTTPRequest
from squall.httpserver import HTTPServer
from squall.iostream import IOStream, StreamClosedError
from squall.netutil import bind_sockets
from squall.tcpserver import TCPServer
from squall.testing import AsyncHTTPTestCase, gen_test
from squall.web import Application, RequestHandler, authenticated
from squall.websocket import (
    WebSocketClosedError,
    WebSocketHandler,
    websocket_connect,
)

TIMEOUT = 5.0


# -- raw peers ------------------------------------------------------------------------


def frame(
    opcode: int, payload: bytes = b"", fin: bool = True, rsv: int = 0, mask: bool = True
) -> bytes:
    """One client frame built by hand (masked unless told otherwise)."""
    first = (0x80 if fin else 0) | rsv | opcode
    size = len(payload)
    flag = 0x80 if mask else 0
    if size < 126:
        head = bytes((first, flag | size))
    elif size < 65536:
        head = struct.pack("!BBH", first, flag | 126, size)
    else:
        head = struct.pack("!BBQ", first, flag | 127, size)
    if not mask:
        return head + payload
    key = os.urandom(4)
    return head + key + bytes(b ^ key[i & 3] for i, b in enumerate(payload))


def close_payload(code: int, reason: bytes = b"") -> bytes:
    return struct.pack("!H", code) + reason


class RawPeer:
    """A client over a plain asyncio connection that reads the server's frames by hand."""

    live: list[RawPeer] = []

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer
        self.head = b""
        RawPeer.live.append(self)

    @classmethod
    def close_all(cls) -> None:
        """Close every peer still open (the test loop is about to go)."""
        while cls.live:
            cls.live.pop().writer.close()

    @classmethod
    async def open(
        cls, port: int, path: str = "/echo", extra: str = "", early: bytes = b""
    ) -> RawPeer:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        key = base64.b64encode(os.urandom(16)).decode()
        writer.write(
            (
                f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUpgrade: websocket\r\n"
                f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
                f"Sec-WebSocket-Version: 13\r\n{extra}\r\n"
            ).encode()
            + early
        )
        peer = cls(reader, writer)
        peer.head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), TIMEOUT)
        return peer

    def send(self, data: bytes) -> None:
        self.writer.write(data)

    async def read_frame(self) -> tuple[int, bytes]:
        """(opcode with FIN/RSV bits, payload) of the next server frame; (-1, b"") at EOF."""
        try:
            first, second = await asyncio.wait_for(self.reader.readexactly(2), TIMEOUT)
        except asyncio.IncompleteReadError:
            return -1, b""
        assert not second & 0x80, "the server masked a frame"
        size = second & 0x7F
        if size == 126:
            (size,) = struct.unpack("!H", await self.reader.readexactly(2))
        elif size == 127:
            (size,) = struct.unpack("!Q", await self.reader.readexactly(8))
        return first, await self.reader.readexactly(size)

    async def read_close(self) -> tuple[int | None, bytes]:
        """Skip to the server's close frame: (code, reason bytes)."""
        while True:
            first, payload = await self.read_frame()
            assert first != -1, "the connection ended without a close frame"
            if first & 0x0F == 0x8:
                code = struct.unpack("!H", payload[:2])[0] if payload else None
                return code, payload[2:]

    async def at_eof(self) -> bool:
        data = await asyncio.wait_for(self.reader.read(65536), TIMEOUT)
        return data == b""

    def close(self) -> None:
        self.writer.close()


# -- handlers ---------------------------------------------------------------------------


class Log:
    def __init__(self) -> None:
        self.events: list[Any] = []
        self.closed: asyncio.Event | None = None

    def reset(self) -> None:
        self.events = []
        self.closed = asyncio.Event()


class EchoHandler(WebSocketHandler):
    def initialize(self, log: Log) -> None:  # type: ignore[override]
        self.log = log

    def open(self, *args: str, **kwargs: str) -> None:
        self.log.events.append(("open", args))

    def on_message(self, message: str | bytes) -> None:
        if message == "close":
            self.close(4000, "asked to")
        elif message == "close-plain":
            self.close()
        elif message == "json":
            self.write_message({"answer": 42})
        elif message == "ping-me":
            self.ping(b"srv")
        elif message == "protocol?":
            self.write_message(repr(self.selected_subprotocol))
        else:
            future = self.write_message(message, binary=isinstance(message, bytes))
            assert isinstance(future, asyncio.Future)

    def on_ping(self, data: bytes) -> None:
        self.log.events.append(("ping", data))

    def on_pong(self, data: bytes) -> None:
        self.log.events.append(("pong", data))

    def on_close(self) -> None:
        self.log.events.append(("close", self.close_code, self.close_reason))
        try:
            self.write_message("too late")
        except WebSocketClosedError:
            self.log.events.append("write refused")
        assert self.log.closed is not None
        self.log.closed.set()


class PathHandler(EchoHandler):
    pass


class AsyncOpenHandler(EchoHandler):
    async def open(self, *args: str, **kwargs: str) -> None:  # type: ignore[override]
        await asyncio.sleep(0.05)
        self.opened = True

    def on_message(self, message: str | bytes) -> None:
        self.write_message(f"opened={getattr(self, 'opened', False)} {message}")


class AsyncMessageHandler(EchoHandler):
    async def on_message(self, message: str | bytes) -> None:  # type: ignore[override]
        # Earlier messages sleep longer: only strict ordering keeps the replies in order.
        assert isinstance(message, str)
        await asyncio.sleep(0.002 * (10 - int(message)))
        self.write_message(message)


class FailingHandler(EchoHandler):
    def on_message(self, message: str | bytes) -> None:
        raise ValueError("boom")


class ProtocolsHandler(EchoHandler):
    def select_subprotocol(self, subprotocols: list[str]) -> str | None:
        self.log.events.append(("offered", subprotocols))
        return "chat.v2" if "chat.v2" in subprotocols else None


class DeflateHandler(EchoHandler):
    def get_compression_options(self) -> dict[str, Any]:
        return {"compression_level": 9, "mem_level": 5}


class SmallHandler(EchoHandler):
    @property
    def max_message_size(self) -> int:
        return 1000


class OpenOriginHandler(EchoHandler):
    def check_origin(self, origin: str) -> bool:
        return origin == "https://friend.example"


class PreparedHandler(EchoHandler):
    def set_default_headers(self) -> None:
        self.set_header("X-Default", "yes")

    def prepare(self) -> None:
        self.set_cookie("seen", "1")
        self.set_nodelay(True)


class UserBase(EchoHandler):
    def get_current_user(self) -> Any:
        return self.get_signed_cookie("user")


class AuthHandler(UserBase):
    @authenticated
    async def get(self, *args: Any, **kwargs: Any) -> None:
        await super().get(*args, **kwargs)

    def open(self, *args: str, **kwargs: str) -> None:
        self.write_message(f"hello {self.current_user.decode()}")


class LoginHandler(RequestHandler):
    def get(self) -> None:
        self.set_signed_cookie("user", "ann")


def make_app(log: Log, **settings: Any) -> Application:
    spec = dict(log=log)
    return Application(
        [
            (r"/echo", EchoHandler, spec),
            (r"/path/(\w+)/(\d+)", PathHandler, spec),
            (r"/async-open", AsyncOpenHandler, spec),
            (r"/async-message", AsyncMessageHandler, spec),
            (r"/failing", FailingHandler, spec),
            (r"/protocols", ProtocolsHandler, spec),
            (r"/deflate", DeflateHandler, spec),
            (r"/small", SmallHandler, spec),
            (r"/origin", OpenOriginHandler, spec),
            (r"/prepared", PreparedHandler, spec),
            (r"/auth", AuthHandler, spec),
            (r"/login", LoginHandler),
        ],
        cookie_secret="ws-secret",
        login_url="/login",
        **settings,
    )


class HandlerTest(AsyncHTTPTestCase):
    def get_app(self) -> Application:
        self.log = Log()
        return make_app(self.log)

    def setUp(self) -> None:
        super().setUp()
        self.log.reset()

    def tearDown(self) -> None:
        RawPeer.close_all()
        self.io_loop.run_sync(lambda: asyncio.sleep(0.02))
        super().tearDown()

    def ws_url(self, path: str) -> str:
        return f"ws://127.0.0.1:{self.get_http_port()}{path}"

    async def closed(self) -> None:
        assert self.log.closed is not None
        await asyncio.wait_for(self.log.closed.wait(), TIMEOUT)

    # -- the basic conversation -----------------------------------------------------------

    @gen_test
    async def test_echo_text_binary_json_and_client_close(self) -> None:
        conn = await websocket_connect(self.ws_url("/echo"))
        conn.write_message("hello")
        assert await conn.read_message() == "hello"
        conn.write_message(b"\x00\xff", binary=True)
        assert await conn.read_message() == b"\x00\xff"
        conn.write_message("json")
        assert await conn.read_message() == '{"answer": 42}'
        conn.close(1001, "going away")
        assert await conn.read_message() is None
        await self.closed()
        assert self.log.events == [("open", ()), ("close", 1001, "going away"), "write refused"]
        assert conn.close_code == 1001

    @gen_test
    async def test_path_groups_reach_open(self) -> None:
        conn = await websocket_connect(self.ws_url("/path/abc/42"))
        conn.close()
        await self.closed()
        assert self.log.events[0] == ("open", ("abc", "42"))

    @gen_test
    async def test_server_close_with_code_and_reason(self) -> None:
        conn = await websocket_connect(self.ws_url("/echo"))
        conn.write_message("close")
        assert await conn.read_message() is None
        assert (conn.close_code, conn.close_reason) == (4000, "asked to")
        await self.closed()
        # The client echoed the code: that is what the server saw.
        assert self.log.events[1] == ("close", 4000, "")
        with self.assertRaises(WebSocketClosedError):
            conn.write_message("after")

    @gen_test
    async def test_server_close_without_code_sends_an_empty_close_frame(self) -> None:
        peer = await RawPeer.open(self.get_http_port())
        peer.send(frame(0x1, b"close-plain"))
        first, payload = await peer.read_frame()
        assert (first, payload) == (0x88, b"")
        peer.send(frame(0x8))
        assert await peer.at_eof()
        await self.closed()
        assert self.log.events[1] == ("close", None, None)

    @gen_test
    async def test_close_handshake_times_out_on_a_silent_peer(self) -> None:
        from squall.websocket import _session

        saved = _session._CLOSE_WAIT
        _session._CLOSE_WAIT = 0.1
        try:
            peer = await RawPeer.open(self.get_http_port())
            peer.send(frame(0x1, b"close"))
            assert await peer.read_close() == (4000, b"asked to")
            assert await peer.at_eof()  # nobody answered: the server hung up
            await self.closed()
        finally:
            _session._CLOSE_WAIT = saved

    @gen_test
    async def test_write_message_after_close_raises(self) -> None:
        conn = await websocket_connect(self.ws_url("/echo"))
        conn.close()
        with self.assertRaises(WebSocketClosedError):
            conn.write_message("x")
        await self.closed()
        assert "write refused" in self.log.events

    @gen_test
    async def test_peer_vanishing_mid_frame_calls_on_close(self) -> None:
        peer = await RawPeer.open(self.get_http_port())
        peer.send(frame(0x1, b"x" * 300)[:50])
        await asyncio.sleep(0.05)
        peer.writer.transport.abort()
        await self.closed()
        assert self.log.events[-2:] == [("close", None, None), "write refused"]

    # -- asynchronous hooks -------------------------------------------------------------

    @gen_test
    async def test_async_open_runs_before_any_message(self) -> None:
        # The message travels with the handshake, before open() has finished.
        peer = await RawPeer.open(self.get_http_port(), "/async-open", early=frame(0x1, b"first"))
        first, payload = await peer.read_frame()
        assert payload == b"opened=True first"
        peer.close()

    @gen_test
    async def test_async_on_message_keeps_order(self) -> None:
        conn = await websocket_connect(self.ws_url("/async-message"))
        for index in range(10):
            conn.write_message(str(index))
        got = [await conn.read_message() for _ in range(10)]
        assert got == [str(index) for index in range(10)]
        conn.close()

    @gen_test
    async def test_exception_in_on_message_closes_with_1011(self) -> None:
        with self.assertLogs("squall.application", "ERROR"):
            conn = await websocket_connect(self.ws_url("/failing"))
            conn.write_message("x")
            assert await conn.read_message() is None
        assert conn.close_code == 1011

    # -- pings ---------------------------------------------------------------------------

    @gen_test
    async def test_ping_pong_both_ways(self) -> None:
        peer = await RawPeer.open(self.get_http_port())
        peer.send(frame(0x9, b"cli"))
        assert await peer.read_frame() == (0x8A, b"cli")
        peer.send(frame(0x1, b"ping-me"))
        assert await peer.read_frame() == (0x89, b"srv")
        peer.send(frame(0xA, b"srv"))
        peer.send(frame(0x8, close_payload(1000)))
        assert await peer.read_close() == (1000, b"")
        await self.closed()
        assert ("ping", b"cli") in self.log.events
        assert ("pong", b"srv") in self.log.events

    # -- negotiation ------------------------------------------------------------------------

    @gen_test
    async def test_subprotocol_selection(self) -> None:
        conn = await websocket_connect(
            self.ws_url("/protocols"), subprotocols=["chat.v1", "chat.v2"]
        )
        assert conn.selected_subprotocol == "chat.v2"
        conn.write_message("protocol?")
        assert await conn.read_message() == "'chat.v2'"
        conn.close()
        await self.closed()
        assert ("offered", ["chat.v1", "chat.v2"]) in self.log.events

    @gen_test
    async def test_no_subprotocol_when_none_fits(self) -> None:
        conn = await websocket_connect(self.ws_url("/protocols"), subprotocols=["other"])
        assert conn.selected_subprotocol is None
        assert "Sec-WebSocket-Protocol" not in conn.headers
        conn.close()

    @gen_test
    async def test_compression_negotiated_only_when_the_handler_offers_it(self) -> None:
        conn = await websocket_connect(self.ws_url("/deflate"), compression_options={})
        assert conn.headers["Sec-WebSocket-Extensions"] == "permessage-deflate"
        text = "compressible " * 2000
        conn.write_message(text)
        assert await conn.read_message() == text
        conn.close()
        plain = await websocket_connect(self.ws_url("/echo"), compression_options={})
        assert "Sec-WebSocket-Extensions" not in plain.headers
        plain.close()

    @gen_test
    async def test_compression_parameters_from_the_offer(self) -> None:
        offer = (
            "Sec-WebSocket-Extensions: permessage-deflate; server_no_context_takeover; "
            "client_no_context_takeover; server_max_window_bits=10\r\n"
        )
        peer = await RawPeer.open(self.get_http_port(), "/deflate", extra=offer)
        assert (
            b"permessage-deflate; server_no_context_takeover; client_no_context_takeover; "
            b"server_max_window_bits=10\r\n"
        ) in peer.head
        peer.close()

    # -- limits ------------------------------------------------------------------------------

    @gen_test
    async def test_messages_just_under_and_over_max_message_size(self) -> None:
        conn = await websocket_connect(self.ws_url("/small"))
        conn.write_message("a" * 1000)
        assert await conn.read_message() == "a" * 1000
        conn.write_message("a" * 1001)
        assert await conn.read_message() is None
        assert conn.close_code == 1009

    @gen_test
    async def test_fragmented_message_over_the_limit(self) -> None:
        peer = await RawPeer.open(self.get_http_port(), "/small")
        peer.send(frame(0x1, b"a" * 600, fin=False) + frame(0x0, b"a" * 600))
        assert (await peer.read_close())[0] == 1009
        assert await peer.at_eof()

    # -- the upgrade request --------------------------------------------------------------

    async def raw_answer(self, request: bytes) -> bytes:
        reader, writer = await asyncio.open_connection("127.0.0.1", self.get_http_port())
        RawPeer(reader, writer)  # closed at tearDown
        writer.write(request)
        return await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), TIMEOUT)

    def upgrade(self, method: str = "GET", drop: str = "", **fields: str) -> bytes:
        base = {
            "Host": "127.0.0.1",
            "Upgrade": "websocket",
            "Connection": "Upgrade",
            "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ==",
            "Sec-WebSocket-Version": "13",
            "Content-Length": "0",
        }
        base.pop(drop, None)
        base.update(fields)
        lines = "".join(f"{key}: {value}\r\n" for key, value in base.items())
        return f"{method} /echo HTTP/1.1\r\n{lines}\r\n".encode()

    @gen_test
    async def test_bad_upgrades_get_tornados_statuses(self) -> None:
        cases = [
            (self.upgrade("POST"), b"405"),
            (self.upgrade("HEAD"), b"405"),
            (self.upgrade(drop="Upgrade"), b"400"),
            (self.upgrade(Upgrade="h2c"), b"400"),
            (self.upgrade(drop="Connection"), b"400"),
            (self.upgrade(drop="Sec-WebSocket-Key"), b"400"),
            (self.upgrade(**{"Sec-WebSocket-Version": "8"}), b"426"),
        ]
        for request, status in cases:
            head = await self.raw_answer(request)
            assert head.split(b" ")[1] == status, (request, head)
        head = await self.raw_answer(self.upgrade(**{"Sec-WebSocket-Version": "8"}))
        assert b"\r\nSec-Websocket-Version: 13\r\n" in head
        assert self.log.events == []

    @gen_test
    async def test_the_101_answer(self) -> None:
        peer = await RawPeer.open(self.get_http_port(), "/prepared")
        head = peer.head.decode()
        assert head.startswith("HTTP/1.1 101 Switching Protocols\r\n")
        assert "\r\nX-Default: yes\r\n" in head
        assert "\r\nSet-Cookie: seen=1" in head
        assert "Sec-Websocket-Accept: " in head
        assert "Content-Type" not in head and "Content-Length" not in head
        peer.close()

    @gen_test
    async def test_cross_origin_is_refused_same_origin_accepted(self) -> None:
        port = self.get_http_port()
        head = await self.raw_answer(self.upgrade(Origin="http://evil.example"))
        assert head.startswith(b"HTTP/1.1 403 ")
        conn = await websocket_connect(
            HTTPRequest(self.ws_url("/echo"), headers={"Origin": f"http://127.0.0.1:{port}"})
        )
        conn.close()
        with self.assertRaises(HTTPClientError) as caught:
            await websocket_connect(
                HTTPRequest(self.ws_url("/echo"), headers={"Origin": "http://evil.example"})
            )
        assert caught.exception.code == 403
        friend = await websocket_connect(
            HTTPRequest(self.ws_url("/origin"), headers={"Origin": "https://friend.example"})
        )
        friend.close()

    @gen_test
    async def test_authenticated_upgrade(self) -> None:
        with self.assertRaises(HTTPClientError) as caught:
            await websocket_connect(self.ws_url("/auth"))
        assert caught.exception.code == 302
        login = await self.http_client.fetch(self.get_url("/login"))
        cookie = login.headers["Set-Cookie"].split(";")[0]
        conn = await websocket_connect(
            HTTPRequest(self.ws_url("/auth"), headers={"Cookie": cookie})
        )
        assert await conn.read_message() == "hello ann"
        conn.close()

    @gen_test
    async def test_settings_and_properties(self) -> None:
        handler = EchoHandler.__new__(EchoHandler)
        handler.application = self._app
        assert handler.ping_interval is None and handler.ping_timeout is None
        assert handler.max_message_size == 10 * 1024 * 1024


class SettingsTest(AsyncHTTPTestCase):
    def get_app(self) -> Application:
        self.log = Log()
        return make_app(
            self.log,
            websocket_ping_interval=0.1,
            websocket_ping_timeout=0.1,
            websocket_max_message_size=500,
        )

    def setUp(self) -> None:
        super().setUp()
        self.log.reset()

    def tearDown(self) -> None:
        RawPeer.close_all()
        self.io_loop.run_sync(lambda: asyncio.sleep(0.02))
        super().tearDown()

    @gen_test
    async def test_ping_timeout_closes_a_silent_peer(self) -> None:
        peer = await RawPeer.open(self.get_http_port())
        assert await peer.read_frame() == (0x89, b"")  # the keep-alive ping, unanswered
        assert await peer.read_close() == (1000, b"ping timed out")
        peer.send(frame(0x8, close_payload(1000)))
        assert await peer.at_eof()
        assert self.log.closed is not None
        await asyncio.wait_for(self.log.closed.wait(), TIMEOUT)

    @gen_test
    async def test_a_peer_that_answers_pings_stays(self) -> None:
        conn = await websocket_connect(f"ws://127.0.0.1:{self.get_http_port()}/echo")
        await asyncio.sleep(0.5)  # several ping intervals
        conn.write_message("still here")
        assert await conn.read_message() == "still here"
        conn.close()

    @gen_test
    async def test_max_message_size_setting(self) -> None:
        conn = await websocket_connect(f"ws://127.0.0.1:{self.get_http_port()}/echo")
        conn.write_message("b" * 500)
        assert await conn.read_message() == "b" * 500
        conn.write_message("b" * 501)
        assert await conn.read_message() is None
        assert conn.close_code == 1009

    @gen_test
    async def test_properties_read_the_settings(self) -> None:
        handler = EchoHandler.__new__(EchoHandler)
        handler.application = self._app
        assert (handler.ping_interval, handler.ping_timeout, handler.max_message_size) == (
            0.1,
            0.1,
            500,
        )


class _Relay(TCPServer):
    """Hands accepted streams to an HTTPServer's IOStream path."""

    def __init__(self, target: HTTPServer) -> None:
        super().__init__()
        self.target = target

    def handle_stream(self, stream: IOStream, address: Any) -> None:  # type: ignore[override]
        self.target.handle_stream(stream, address)


class IOStreamPathTest(AsyncHTTPTestCase):
    """The same handler served over HTTP1ServerConnection (finish() after the 101, then detach)."""

    def get_app(self) -> Application:
        self.log = Log()
        return make_app(self.log)

    def setUp(self) -> None:
        super().setUp()
        self.log.reset()
        self.inner = HTTPServer(self._app)
        self.relay = _Relay(self.inner)
        sockets = bind_sockets(0, "127.0.0.1")
        self.relay.add_sockets(sockets)
        self.port = sockets[0].getsockname()[1]

    def tearDown(self) -> None:
        RawPeer.close_all()
        self.relay.stop()
        self.io_loop.run_sync(lambda: asyncio.sleep(0.02))
        super().tearDown()

    @gen_test
    async def test_echo_and_close(self) -> None:
        conn = await websocket_connect(f"ws://127.0.0.1:{self.port}/echo")
        for message in ["one", "two" * 30000]:
            conn.write_message(message)
            assert await conn.read_message() == message
        conn.close(1000)
        assert await conn.read_message() is None
        assert self.log.closed is not None
        await asyncio.wait_for(self.log.closed.wait(), TIMEOUT)
        assert self.log.events[1] == ("close", 1000, "")

    @gen_test
    async def test_frames_with_the_handshake_and_async_open(self) -> None:
        peer = await RawPeer.open(self.port, "/async-open", early=frame(0x1, b"early"))
        assert (await peer.read_frame())[1] == b"opened=True early"
        peer.send(frame(0x8))
        assert await peer.read_close() == (None, b"")
        assert await peer.at_eof()

    @gen_test
    async def test_async_on_message_order(self) -> None:
        conn = await websocket_connect(f"ws://127.0.0.1:{self.port}/async-message")
        for index in range(10):
            conn.write_message(str(index))
        assert [await conn.read_message() for _ in range(10)] == [str(i) for i in range(10)]
        conn.close()

    @gen_test
    async def test_refusals(self) -> None:
        with self.assertRaises(HTTPClientError) as caught:
            await websocket_connect(
                HTTPRequest(
                    f"ws://127.0.0.1:{self.port}/echo", headers={"Origin": "http://evil.example"}
                )
            )
        assert caught.exception.code == 403


# -- what an upgraded connection keeps, and writes in batches ------------------------------


class HandoverHandler(WebSocketHandler):
    """Records what the request still answers once the connection is a WebSocket."""

    seen: dict[str, Any] = {}

    def prepare(self) -> None:
        # The HTTP connection object, before the upgrade (a weak reference:
        # the test checks that the upgraded handler no longer keeps it).
        HandoverHandler.seen["http"] = weakref.ref(self.request.connection)

    def open(self) -> None:
        request = self.request
        seen = HandoverHandler.seen
        seen["remote_ip"] = request.remote_ip
        seen["protocol"] = request.protocol
        seen["context_ip"] = request.connection.context.remote_ip
        seen["upgrade"] = request.headers["Upgrade"]
        seen["path"] = request.path
        seen["certificate"] = request.get_ssl_certificate()
        late = request.connection.write(b"HTTP/1.1 200 OK\r\n\r\n")
        seen["late write"] = type(late.exception())
        try:
            request.connection.detach()
        except StreamClosedError:
            seen["detach again"] = "refused"
        self.set_header("X-After-Upgrade", "nowhere")  # harmless, goes nowhere
        seen["written"] = []

    async def on_message(self, message: str | bytes) -> None:  # type: ignore[override]
        future = self.write_message(message)
        HandoverHandler.seen["written"].append(await future)


class BatchHandler(WebSocketHandler):
    """Echoes; "close" closes with 4000. Used with several frames in one chunk."""

    def on_message(self, message: str | bytes) -> None:
        if message == "close":
            self.close(4000, "batch over")
        else:
            self.write_message(message, binary=isinstance(message, bytes))


class UpgradedConnectionTest(AsyncHTTPTestCase):
    def get_app(self) -> Application:
        return Application([(r"/handover", HandoverHandler), (r"/batch", BatchHandler)])

    def get_httpserver_options(self) -> dict[str, Any]:
        return {"xheaders": True}

    def tearDown(self) -> None:
        RawPeer.close_all()
        self.io_loop.run_sync(lambda: asyncio.sleep(0.02))
        super().tearDown()

    @gen_test
    async def test_the_request_answers_without_the_http_connection(self) -> None:
        HandoverHandler.seen.clear()
        port = self.get_http_port()
        conn = await websocket_connect(
            HTTPRequest(f"ws://127.0.0.1:{port}/handover", headers={"X-Real-Ip": "10.1.2.3"})
        )
        conn.write_message("one")
        assert await conn.read_message() == "one"
        seen = HandoverHandler.seen
        # The peer's address (through xheaders), scheme, headers and path stay.
        assert seen["remote_ip"] == seen["context_ip"] == "10.1.2.3"
        assert seen["protocol"] == "http"
        assert (seen["upgrade"], seen["path"]) == ("websocket", "/handover")
        assert seen["certificate"] is None
        # HTTP is over on it: writes fail, a second detach is refused.
        assert seen["late write"] is StreamClosedError
        assert seen["detach again"] == "refused"
        # write_message's future resolves (to None) once the frame is handed over.
        assert seen["written"] == [None]
        gc.collect()
        assert seen["http"]() is None, "the upgraded handler still holds the HTTP connection"
        conn.close()
        assert await conn.read_message() is None

    @gen_test
    async def test_remote_ip_without_xheaders_is_the_socket_peer(self) -> None:
        HandoverHandler.seen.clear()
        conn = await websocket_connect(f"ws://127.0.0.1:{self.get_http_port()}/handover")
        conn.write_message("x")
        assert await conn.read_message() == "x"
        assert HandoverHandler.seen["remote_ip"] == "127.0.0.1"
        conn.close()

    @gen_test
    async def test_write_message_after_close_raises_and_earlier_futures_resolved(self) -> None:
        HandoverHandler.seen.clear()
        conn = await websocket_connect(f"ws://127.0.0.1:{self.get_http_port()}/handover")
        for word in ("a", "b", "c"):
            conn.write_message(word)
        assert [await conn.read_message() for _ in range(3)] == ["a", "b", "c"]
        assert HandoverHandler.seen["written"] == [None, None, None]
        conn.close()
        assert await conn.read_message() is None
        with self.assertRaises(WebSocketClosedError):
            conn.write_message("after")

    @gen_test
    async def test_many_frames_in_one_chunk_are_answered_in_order(self) -> None:
        peer = await RawPeer.open(self.get_http_port(), "/batch")
        words = [f"message {index}" for index in range(12)]
        chunk = b"".join(frame(0x1, word.encode()) for word in words)
        chunk += frame(0x2, b"\x00bin") + frame(0x9, b"pi") + frame(0x1, b"close")
        peer.send(chunk)  # one write: the server reads it in one piece (or a few)
        for word in words:
            assert await peer.read_frame() == (0x81, word.encode())
        assert await peer.read_frame() == (0x82, b"\x00bin")
        assert await peer.read_frame() == (0x8A, b"pi")
        assert await peer.read_close() == (4000, b"batch over")
        peer.send(frame(0x8, close_payload(4000)))
        assert await peer.at_eof()
