"""squall.websocket against independent implementations, over real sockets, in both directions.

* the ``websockets`` library: its client against our WebSocketHandler, our
  client against its server;
* ``wsproto`` (sans-I/O, driven over asyncio streams here): its client against
  our server, its server against our client;

each with and without permessage-deflate. Then the protocol rules, checked
with hand-built frames on a raw socket: masking, fragmentation with control
frames in between, UTF-8 (1007), reserved bits and opcodes and bad control
frames (1002), close code validation, and the same rules on the client side
against a raw server.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import os
import struct
from typing import Any

import pytest
from squall.testing import AsyncHTTPTestCase, gen_test
from squall.web import Application
from squall.websocket import WebSocketClosedError, WebSocketHandler, websocket_connect

websockets = pytest.importorskip("websockets")
wsproto = pytest.importorskip("wsproto")
from websockets.asyncio.client import connect as ws_connect  # noqa: E402
from websockets.asyncio.server import serve as ws_serve  # noqa: E402
from websockets.exceptions import ConnectionClosed  # noqa: E402
from wsproto import ConnectionType, WSConnection  # noqa: E402
from wsproto import events as ev  # noqa: E402
from wsproto.extensions import PerMessageDeflate  # noqa: E402

TIMEOUT = 5.0
MESSAGES: list[str | bytes] = ["hello", "", "ü€𝄞" * 3000, b"\x00\xff" * 40000, b""]


class Echo(WebSocketHandler):
    closes: list[tuple[int | None, str | None]] = []

    def on_message(self, message: str | bytes) -> None:
        self.write_message(message, binary=isinstance(message, bytes))

    def on_close(self) -> None:
        Echo.closes.append((self.close_code, self.close_reason))


class DeflateEcho(Echo):
    def get_compression_options(self) -> dict[str, Any]:
        return {}


def frame(
    opcode: int, payload: bytes = b"", fin: bool = True, rsv: int = 0, mask: bool = True
) -> bytes:
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


async def read_frame(reader: asyncio.StreamReader) -> tuple[int, bool, bytes]:
    """(first byte, masked?, unmasked payload); (-1, False, b"") at EOF."""
    try:
        first, second = await asyncio.wait_for(reader.readexactly(2), TIMEOUT)
    except asyncio.IncompleteReadError:
        return -1, False, b""
    size = second & 0x7F
    if size == 126:
        (size,) = struct.unpack("!H", await reader.readexactly(2))
    elif size == 127:
        (size,) = struct.unpack("!Q", await reader.readexactly(8))
    key = await reader.readexactly(4) if second & 0x80 else None
    payload = await reader.readexactly(size)
    if key is not None:
        payload = bytes(b ^ key[i & 3] for i, b in enumerate(payload))
    return first, key is not None, payload


class PeersTest(AsyncHTTPTestCase):
    def get_app(self) -> Application:
        return Application([(r"/plain", Echo), (r"/deflate", DeflateEcho)])

    def setUp(self) -> None:
        super().setUp()
        Echo.closes = []
        self.writers: list[asyncio.StreamWriter] = []

    def tearDown(self) -> None:
        for writer in self.writers:
            writer.close()
        # Let connections that are closing finish before the loop goes.
        self.io_loop.run_sync(lambda: asyncio.sleep(0.02))
        super().tearDown()

    def url(self, path: str) -> str:
        return f"ws://127.0.0.1:{self.get_http_port()}{path}"

    async def wait_closes(self, count: int) -> None:
        for _ in range(200):
            if len(Echo.closes) >= count:
                return
            await asyncio.sleep(0.01)
        raise AssertionError(f"on_close ran {len(Echo.closes)} times, expected {count}")

    # -- the websockets library's client against our server ----------------------------

    async def websockets_client_round(self, path: str, compression: str | None) -> None:
        async with ws_connect(self.url(path), compression=compression, max_size=None) as ws:
            negotiated = ws.response.headers.get("Sec-WebSocket-Extensions")
            assert (negotiated is not None) == (path == "/deflate" and compression is not None)
            for message in MESSAGES:
                await ws.send(message)
                assert await ws.recv() == message
            # A fragmented message (its pieces are frames of one message).
            await ws.send(iter(["frag", "men", "ted"]))
            assert await ws.recv() == "fragmented"
            pong = await ws.ping(b"are you there")
            await asyncio.wait_for(pong, TIMEOUT)
            await ws.close(4001, "done here")
        await self.wait_closes(1)
        assert Echo.closes == [(4001, "done here")]

    @gen_test
    async def test_websockets_client_plain(self) -> None:
        await self.websockets_client_round("/plain", None)

    @gen_test
    async def test_websockets_client_deflate(self) -> None:
        await self.websockets_client_round("/deflate", "deflate")

    @gen_test
    async def test_websockets_client_deflate_declined(self) -> None:
        await self.websockets_client_round("/plain", "deflate")

    @gen_test
    async def test_websockets_client_sees_our_1009(self) -> None:
        async with ws_connect(self.url("/plain"), compression=None, max_size=None) as ws:
            with pytest.raises(ConnectionClosed) as caught:
                await ws.send(b"x" * (10 * 1024 * 1024 + 1))
                await ws.recv()
        assert caught.value.rcvd is not None and caught.value.rcvd.code == 1009

    # -- our client against the websockets library's server ----------------------------

    async def against_websockets_server(
        self, compression: str | None, ours: dict[str, Any] | None
    ) -> None:
        seen: list[Any] = []

        async def handler(ws: Any) -> None:
            seen.append(ws.request.headers.get("Sec-WebSocket-Extensions"))
            seen.append(ws.subprotocol)
            async for message in ws:
                if message == "bye":
                    await ws.close(4002, "server says bye")
                    return
                await ws.send(message)

        async with ws_serve(
            handler,
            "127.0.0.1",
            0,
            compression=compression,
            subprotocols=["v1", "v2"],
            max_size=None,
        ) as server:
            port = server.sockets[0].getsockname()[1]
            conn = await websocket_connect(
                f"ws://127.0.0.1:{port}/", compression_options=ours, subprotocols=["v2", "v1"]
            )
            assert conn.selected_subprotocol in ("v1", "v2")
            deflating = conn.headers.get("Sec-WebSocket-Extensions")
            assert (deflating is not None) == (compression is not None and ours is not None)
            for message in MESSAGES:
                conn.write_message(message, binary=isinstance(message, bytes))
                assert await conn.read_message() == message
            conn.write_message("bye")
            assert await conn.read_message() is None
            assert (conn.close_code, conn.close_reason) == (4002, "server says bye")
        assert seen[1] == conn.selected_subprotocol

    @gen_test
    async def test_our_client_against_websockets_server_plain(self) -> None:
        await self.against_websockets_server(None, None)

    @gen_test
    async def test_our_client_against_websockets_server_deflate(self) -> None:
        await self.against_websockets_server("deflate", {})

    @gen_test
    async def test_our_client_declines_deflate_when_not_asked(self) -> None:
        await self.against_websockets_server("deflate", None)

    @gen_test
    async def test_our_client_enforces_max_message_size(self) -> None:
        async def handler(ws: Any) -> None:
            await ws.send("y" * 2000)
            await ws.wait_closed()

        async with ws_serve(handler, "127.0.0.1", 0, compression=None) as server:
            port = server.sockets[0].getsockname()[1]
            conn = await websocket_connect(f"ws://127.0.0.1:{port}/", max_message_size=1999)
            assert await conn.read_message() is None

    # -- wsproto's client against our server ------------------------------------------------

    async def wsproto_client(self, path: str, deflate: bool) -> None:
        reader, writer = await asyncio.open_connection("127.0.0.1", self.get_http_port())
        self.writers.append(writer)
        client = WSConnection(ConnectionType.CLIENT)
        extensions = [PerMessageDeflate()] if deflate else []
        writer.write(client.send(ev.Request(host="127.0.0.1", target=path, extensions=extensions)))
        got: list[Any] = []
        parts: list[Any] = []

        async def pump(until: int) -> None:
            while len(got) < until:
                data = await asyncio.wait_for(reader.read(65536), TIMEOUT)
                client.receive_data(data or None)
                for event in client.events():
                    if isinstance(event, ev.Message):
                        parts.append(event.data)
                        if event.message_finished:
                            got.append(
                                ("" if isinstance(event, ev.TextMessage) else b"").join(parts)
                            )
                            parts.clear()
                    else:
                        got.append(event)
                if not data:
                    return

        await pump(1)
        accepted = got.pop(0)
        assert isinstance(accepted, ev.AcceptConnection)
        assert bool(accepted.extensions) == (deflate and path == "/deflate")
        for message in MESSAGES:
            writer.write(client.send(ev.Message(data=message)))
        writer.write(client.send(ev.Message(data="inter", message_finished=False)))
        writer.write(client.send(ev.Ping(payload=b"mid")))
        writer.write(client.send(ev.Message(data="leaved", message_finished=True)))
        await pump(len(MESSAGES) + 2)
        assert got == [*MESSAGES, ev.Pong(payload=b"mid"), "interleaved"]
        writer.write(client.send(ev.CloseConnection(code=1000, reason="fin")))
        await pump(len(got) + 1)
        assert isinstance(got[-1], ev.CloseConnection) and got[-1].code == 1000
        assert await asyncio.wait_for(reader.read(10), TIMEOUT) == b""
        await self.wait_closes(1)
        assert Echo.closes == [(1000, "fin")]

    @gen_test
    async def test_wsproto_client_plain(self) -> None:
        await self.wsproto_client("/plain", False)

    @gen_test
    async def test_wsproto_client_deflate(self) -> None:
        await self.wsproto_client("/deflate", True)

    # -- our client against a wsproto server ----------------------------------------------

    async def against_wsproto_server(self, deflate: bool) -> None:
        seen: list[Any] = []

        async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            server = WSConnection(ConnectionType.SERVER)
            parts: list[Any] = []
            try:
                while True:
                    data = await reader.read(65536)
                    server.receive_data(data or None)
                    for event in server.events():
                        if isinstance(event, ev.Request):
                            seen.append(event.extensions)
                            extensions = [PerMessageDeflate()] if deflate else []
                            writer.write(server.send(ev.AcceptConnection(extensions=extensions)))
                        elif isinstance(event, ev.Message):
                            parts.append(event.data)
                            if event.message_finished:
                                whole = ("" if isinstance(event, ev.TextMessage) else b"").join(
                                    parts
                                )
                                parts.clear()
                                if whole == "stop":
                                    writer.write(
                                        server.send(ev.CloseConnection(code=4003, reason="stop"))
                                    )
                                else:
                                    writer.write(server.send(ev.Message(data=whole)))
                        elif isinstance(event, ev.Ping):
                            writer.write(server.send(event.response()))
                        elif isinstance(event, ev.CloseConnection):
                            writer.close()
                            return
                    if not data:
                        break
            finally:
                writer.close()

        listener = await asyncio.start_server(serve, "127.0.0.1", 0)
        port = listener.sockets[0].getsockname()[1]
        async with listener:
            conn = await websocket_connect(
                f"ws://127.0.0.1:{port}/", compression_options={} if deflate else None
            )
            assert bool(conn.headers.get("Sec-WebSocket-Extensions")) == deflate
            for message in MESSAGES:
                conn.write_message(message, binary=isinstance(message, bytes))
                assert await conn.read_message() == message
            conn.write_message("stop")
            assert await conn.read_message() is None
            assert (conn.close_code, conn.close_reason) == (4003, "stop")
        assert bool(seen[0]) == deflate

    @gen_test
    async def test_our_client_against_wsproto_server_plain(self) -> None:
        await self.against_wsproto_server(False)

    @gen_test
    async def test_our_client_against_wsproto_server_deflate(self) -> None:
        await self.against_wsproto_server(True)


class ProtocolRulesTest(AsyncHTTPTestCase):
    """What our server does with each kind of bad (or tricky) input, byte by byte."""

    def get_app(self) -> Application:
        return Application([(r"/plain", Echo)])

    def setUp(self) -> None:
        super().setUp()
        Echo.closes = []
        self.writers: list[asyncio.StreamWriter] = []

    def tearDown(self) -> None:
        for writer in self.writers:
            writer.close()
        # Let connections that are closing finish before the loop goes.
        self.io_loop.run_sync(lambda: asyncio.sleep(0.02))
        super().tearDown()

    async def opened(self) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        reader, writer = await asyncio.open_connection("127.0.0.1", self.get_http_port())
        self.writers.append(writer)
        key = base64.b64encode(os.urandom(16)).decode()
        writer.write(
            f"GET /plain HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n".encode()
        )
        head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), TIMEOUT)
        assert head.startswith(b"HTTP/1.1 101 ")
        return reader, writer

    async def closing_code(self, *frames: bytes) -> int | None:
        """Send ``frames``; the code of the server's close frame (and check it hung up)."""
        reader, writer = await self.opened()
        writer.write(b"".join(frames))
        while True:
            first, masked, payload = await read_frame(reader)
            assert first != -1, "no close frame"
            assert not masked
            if first == 0x88:
                break
        assert await asyncio.wait_for(reader.read(10), TIMEOUT) == b""
        return struct.unpack("!H", payload[:2])[0] if payload else None

    @gen_test
    async def test_unmasked_client_frame_is_1002(self) -> None:
        assert await self.closing_code(frame(0x1, b"hi", mask=False)) == 1002

    @gen_test
    async def test_reserved_bits_are_1002(self) -> None:
        for rsv in (0x40, 0x20, 0x10):  # RSV1 too: no extension was agreed
            assert await self.closing_code(frame(0x1, b"hi", rsv=rsv)) == 1002

    @gen_test
    async def test_reserved_opcodes_are_1002(self) -> None:
        for opcode in (0x3, 0x7, 0xB, 0xF):
            assert await self.closing_code(frame(opcode, b"x")) == 1002

    @gen_test
    async def test_bad_control_frames_are_1002(self) -> None:
        assert await self.closing_code(frame(0x9, b"p" * 126)) == 1002
        assert await self.closing_code(frame(0x9, b"p", fin=False)) == 1002
        assert await self.closing_code(frame(0x8, b"\x03")) == 1002  # one-byte close payload

    @gen_test
    async def test_broken_fragmentation_is_1002(self) -> None:
        assert await self.closing_code(frame(0x0, b"orphan")) == 1002
        assert await self.closing_code(frame(0x1, b"a", fin=False), frame(0x1, b"b")) == 1002

    @gen_test
    async def test_invalid_utf8_is_1007(self) -> None:
        assert await self.closing_code(frame(0x1, b"\xff\xfe")) == 1007
        # Split over fragments, found as soon as the bad byte arrives.
        assert (
            await self.closing_code(frame(0x1, b"ok \xe2\x82", fin=False), frame(0x0, b"\x28"))
            == 1007
        )
        assert await self.closing_code(frame(0x8, struct.pack("!H", 1000) + b"\xc3")) == 1007

    @gen_test
    async def test_close_codes_are_validated(self) -> None:
        for code in (0, 999, 1004, 1005, 1006, 1015, 1016, 2999, 5000):
            assert await self.closing_code(frame(0x8, struct.pack("!H", code))) == 1002, code
        for code in (1000, 1001, 1003, 1007, 1011, 3000, 4999):
            assert await self.closing_code(frame(0x8, struct.pack("!H", code))) == code

    @gen_test
    async def test_fragments_with_interleaved_control_frames(self) -> None:
        reader, writer = await self.opened()
        writer.write(
            frame(0x2, b"\x01", fin=False)
            + frame(0x9, b"p1")
            + frame(0x0, b"\x02", fin=False)
            + frame(0xA, b"unsolicited")
            + frame(0x9, b"p2")
            + frame(0x0, b"\x03")
        )
        answers = [await read_frame(reader) for _ in range(3)]
        assert answers == [
            (0x8A, False, b"p1"),
            (0x8A, False, b"p2"),
            (0x82, False, b"\x01\x02\x03"),
        ]
        writer.write(frame(0x8))
        assert await read_frame(reader) == (0x88, False, b"")
        assert await read_frame(reader) == (-1, False, b"")

    @gen_test
    async def test_bytes_one_at_a_time(self) -> None:
        reader, writer = await self.opened()
        data = frame(0x1, "dribble ü".encode(), fin=False) + frame(0x0, b" done") + frame(0x8)
        for index in range(len(data)):
            writer.write(data[index : index + 1])
            await writer.drain()
        assert await read_frame(reader) == (0x81, False, "dribble ü done".encode())
        assert await read_frame(reader) == (0x88, False, b"")
        assert await read_frame(reader) == (-1, False, b"")


class ClientRulesTest(AsyncHTTPTestCase):
    """Our client against a raw server: masking both ways, and its own failures."""

    def get_app(self) -> Application:
        return Application([])

    async def raw_server(self, reply: bytes, log: list[Any]) -> tuple[asyncio.Server, int]:
        async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            head = await reader.readuntil(b"\r\n\r\n")
            key = [
                line.split(b":", 1)[1].strip()
                for line in head.split(b"\r\n")
                if line.lower().startswith(b"sec-websocket-key:")
            ][0]
            accept = base64.b64encode(
                hashlib.sha1(key + b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11").digest()
            )
            writer.write(
                b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                b"Connection: Upgrade\r\nSec-WebSocket-Accept: " + accept + b"\r\n\r\n" + reply
            )
            while True:
                got = await read_frame(reader)
                log.append(got)
                if got[0] in (-1, 0x88):
                    break
            writer.close()

        server = await asyncio.start_server(serve, "127.0.0.1", 0)
        return server, server.sockets[0].getsockname()[1]

    async def client_result(self, reply: bytes) -> tuple[Any, list[Any]]:
        log: list[Any] = []
        server, port = await self.raw_server(reply, log)
        async with server:
            conn = await websocket_connect(f"ws://127.0.0.1:{port}/")
            try:
                conn.write_message("from the client")
            except WebSocketClosedError:
                # The bad frame came with the 101 and was dealt with at once.
                pass
            message = await conn.read_message()
            if message is not None:
                conn.close(1000)
                assert await conn.read_message() is None
            for _ in range(100):
                if log and log[-1][0] in (-1, 0x88):
                    break
                await asyncio.sleep(0.01)
        return message, log

    @gen_test
    async def test_client_masks_and_reads_unmasked(self) -> None:
        message, log = await self.client_result(frame(0x1, b"server text", mask=False))
        assert message == "server text"
        assert log[0] == (0x81, True, b"from the client")
        assert log[-1][0] == 0x88 and log[-1][1] is True

    @gen_test
    async def test_masked_server_frame_is_1002(self) -> None:
        message, log = await self.client_result(frame(0x1, b"masked", mask=True))
        assert message is None
        assert log[-1][0] == 0x88 and struct.unpack("!H", log[-1][2][:2])[0] == 1002

    @gen_test
    async def test_invalid_utf8_from_server_is_1007(self) -> None:
        message, log = await self.client_result(frame(0x1, b"\xc0\xaf", mask=False))
        assert message is None
        assert struct.unpack("!H", log[-1][2][:2])[0] == 1007

    @gen_test
    async def test_client_echoes_server_close(self) -> None:
        message, log = await self.client_result(
            frame(0x8, struct.pack("!H", 4004) + b"x", mask=False)
        )
        assert message is None
        assert log[-1] == (0x88, True, struct.pack("!H", 4004))
