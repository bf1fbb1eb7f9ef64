"""The protocol object over a real connection: squall's HTTP server, detach(), and wsproto as the client.

A small driver stands in for phase 2's WebSocketHandler: it checks the
upgrade with the handshake helpers, answers 101 (negotiating
permessage-deflate), detaches the connection and runs a
:class:`WebSocketProtocol` in push mode, echoing every message. wsproto,
over a blocking socket, is the client.
"""

from __future__ import annotations

import asyncio
import socket
import threading
from collections.abc import Iterator
from typing import Any

import pytest
from squall.httpserver import HTTPServer
from squall.httputil import (
    HTTPConnection,
    HTTPHeaders,
    HTTPMessageDelegate,
    HTTPServerConnectionDelegate,
    RequestStartLine,
    ResponseStartLine,
)
from squall.netutil import bind_sockets
from squall.websocket._deflate import MessageDeflater, server_accept
from squall.websocket._frames import (
    CloseReceived,
    Ping,
    ProtocolFailure,
    WebSocketProtocol,
)
from squall.websocket._handshake import accept_key, check_upgrade_request

wsproto = pytest.importorskip("wsproto")
from wsproto import ConnectionType, WSConnection  # noqa: E402
from wsproto import events as ev  # noqa: E402
from wsproto.extensions import PerMessageDeflate  # noqa: E402

TIMEOUT = 5.0


class _EchoSocket(HTTPMessageDelegate):
    def __init__(self, connection: HTTPConnection, closes: list[Any]) -> None:
        self.connection = connection
        self.closes = closes
        self.method = ""
        self.headers = HTTPHeaders()

    def headers_received(
        self, start_line: RequestStartLine | ResponseStartLine, headers: HTTPHeaders
    ) -> None:
        assert isinstance(start_line, RequestStartLine)
        self.method = start_line.method
        self.headers = headers

    def finish(self) -> None:
        conn = self.connection
        refusal = check_upgrade_request(self.method, self.headers)
        if refusal is not None:
            body = refusal.message.encode()
            fields = HTTPHeaders({"Content-Length": str(len(body))})
            for name, value in refusal.headers:
                fields[name] = value
            conn.write_headers(ResponseStartLine("HTTP/1.1", refusal.status, "No"), fields, body)
            conn.finish()
            return
        fields = HTTPHeaders(
            {
                "Upgrade": "websocket",
                "Connection": "Upgrade",
                "Sec-WebSocket-Accept": accept_key(self.headers["Sec-WebSocket-Key"]),
            }
        )
        params = server_accept(self.headers.get("Sec-WebSocket-Extensions"))
        deflater = None
        if params is not None:
            fields["Sec-WebSocket-Extensions"] = params.header_value()
            deflater = MessageDeflater(params, client=False)
        conn.write_headers(ResponseStartLine("HTTP/1.1", 101, "Switching Protocols"), fields)
        stream: Any = conn.detach()
        proto = WebSocketProtocol(False, max_message_size=100_000, deflater=deflater)
        closes = self.closes

        def receive(data: bytes) -> None:
            for event in proto.feed(data):
                kind = type(event)
                if kind is str:
                    stream.write(proto.send_text(event))  # type: ignore[arg-type]
                elif kind is bytes:
                    stream.write(proto.send_binary(event))  # type: ignore[arg-type]
                elif kind is Ping:
                    stream.write(proto.pong(event.data))  # type: ignore[union-attr]
                elif kind is CloseReceived or kind is ProtocolFailure:
                    closes.append(event)
                    stream.write(proto.close(event.code))  # type: ignore[union-attr]
                    stream.close()

        stream._deliver_to(receive)


class _EchoServer(HTTPServerConnectionDelegate):
    def __init__(self) -> None:
        self.closes: list[Any] = []

    def start_request(
        self, server_conn: object, request_conn: HTTPConnection
    ) -> HTTPMessageDelegate:
        return _EchoSocket(request_conn, self.closes)


@pytest.fixture
def live() -> Iterator[tuple[int, _EchoServer]]:
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    app = _EchoServer()

    async def start() -> tuple[HTTPServer, int]:
        server = HTTPServer(app)
        sockets = bind_sockets(0, "127.0.0.1")
        server.add_sockets(sockets)
        return server, sockets[0].getsockname()[1]

    server, port = asyncio.run_coroutine_threadsafe(start(), loop).result(TIMEOUT)
    try:
        yield port, app
    finally:

        async def stop() -> None:
            server.stop()
            await server.close_all_connections()

        asyncio.run_coroutine_threadsafe(stop(), loop).result(TIMEOUT)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(TIMEOUT)
        loop.close()


def _open(
    port: int, deflate: bool, early: bytes = b""
) -> tuple[socket.socket, WSConnection, list[Any]]:
    """Connect and upgrade; also returns events that came in with the 101."""
    sock = socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT)
    client = WSConnection(ConnectionType.CLIENT)
    extensions = [PerMessageDeflate()] if deflate else []
    sock.sendall(client.send(ev.Request(host="x", target="/", extensions=extensions)) + early)
    while True:
        client.receive_data(sock.recv(65536))
        events = list(client.events())
        if events:
            assert isinstance(events[0], ev.AcceptConnection), events
            return sock, client, events[1:]


def _collect(
    sock: socket.socket, client: WSConnection, count: int, pending: list[Any] | None = None
) -> list[Any]:
    got: list[Any] = []
    parts: list[Any] = []
    events: list[Any] = list(pending or [])
    while True:
        for event in events:
            if isinstance(event, ev.Message):
                parts.append(event.data)
                if event.message_finished:
                    got.append(("" if isinstance(event, ev.TextMessage) else b"").join(parts))
                    parts = []
            else:
                got.append(event)
        if len(got) >= count:
            return got
        data = sock.recv(65536)
        client.receive_data(data or None)
        events = list(client.events())
        if not data:
            return got


@pytest.mark.parametrize("deflate", [False, True], ids=["plain", "deflate"])
def test_echo_over_a_detached_connection(live: tuple[int, _EchoServer], deflate: bool) -> None:
    port, app = live
    sock, client, _ = _open(port, deflate)
    with sock:
        messages: list[str | bytes] = ["hello", b"\x00\x01\x02", "ü" * 5000, b"z" * 70000]
        for message in messages:
            sock.sendall(client.send(ev.Message(data=message)))
        # A fragmented one with a ping in the middle.
        sock.sendall(client.send(ev.Message(data="frag", message_finished=False)))
        sock.sendall(client.send(ev.Ping(payload=b"hi")))
        sock.sendall(client.send(ev.Message(data="mented", message_finished=True)))
        got = _collect(sock, client, len(messages) + 2)
        assert got == [*messages, ev.Pong(payload=b"hi"), "fragmented"]
        sock.sendall(client.send(ev.CloseConnection(code=1000, reason="done")))
        (close,) = _collect(sock, client, 1)
        assert isinstance(close, ev.CloseConnection) and close.code == 1000
        assert sock.recv(10) == b""  # the server closed the TCP connection
    assert app.closes == [CloseReceived(1000, "done")]


def test_frames_sent_with_the_handshake_come_first(live: tuple[int, _EchoServer]) -> None:
    port, _ = live
    early = WebSocketProtocol(True).send_text("sent early")
    sock, client, pending = _open(port, deflate=False, early=early)
    with sock:
        assert _collect(sock, client, 1, pending) == ["sent early"]


def test_oversized_message_gets_1009(live: tuple[int, _EchoServer]) -> None:
    port, app = live
    sock, client, _ = _open(port, deflate=True)
    with sock:
        sock.sendall(client.send(ev.Message(data=b"\x00" * 200_000)))
        got = _collect(sock, client, 1)
        assert isinstance(got[0], ev.CloseConnection) and got[0].code == 1009
    assert app.closes[0].code == 1009


def test_bad_upgrade_is_refused(live: tuple[int, _EchoServer]) -> None:
    port, _ = live
    with socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT) as sock:
        sock.sendall(
            b"GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 8\r\n\r\n"
        )
        answer = sock.recv(65536)
    assert answer.startswith(b"HTTP/1.1 426 ")
    assert b"\r\nsec-websocket-version: 13\r\n" in answer.lower()
