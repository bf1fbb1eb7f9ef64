"""HTTPConnection.detach() on the server's fast path: the connection handed over as a stream.

A plain squall.httputil delegate answers 101, detaches, and then speaks a raw
protocol over the returned stream (an echo, mostly). Everything goes through
real sockets: bytes pipelined behind the request head, reads and writes in
both directions, flow control, the server's timeouts and shutdown (which no
longer apply), TLS, and uvloop.
"""

from __future__ import annotations

import asyncio
import socket
import ssl
import time
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from squall.httputil import (
    HTTPConnection,
    HTTPHeaders,
    HTTPMessageDelegate,
    HTTPServerConnectionDelegate,
    RequestStartLine,
    ResponseStartLine,
)
from squall.iostream import StreamClosedError

from .conftest import TIMEOUT, connect

HEAD = b"GET /tunnel HTTP/1.1\r\nHost: x\r\nUpgrade: echo\r\nConnection: Upgrade\r\n\r\n"

Session = Callable[[Any], Awaitable[None]]


async def echo(stream: Any) -> None:
    try:
        while True:
            data = await stream.read_bytes(65536, partial=True)
            await stream.write(data)
    except StreamClosedError:
        pass


class Upgrader(HTTPServerConnectionDelegate):
    """Answers every request with 101, detaches, and runs ``session(stream)``.

    ``when``: detach in ``headers_received`` or in ``finish``;
    ``finish_first``: call ``connection.finish()`` between the 101 and detach.
    """

    def __init__(
        self, session: Session = echo, when: str = "finish", finish_first: bool = False
    ) -> None:
        self.session = session
        self.when = when
        self.finish_first = finish_first
        self.streams: list[Any] = []
        self.closed: list[object] = []
        self.tasks: set[asyncio.Future[None]] = set()

    def start_request(
        self, server_conn: object, request_conn: HTTPConnection
    ) -> HTTPMessageDelegate:
        return _Switch(self, request_conn)

    def on_close(self, server_conn: object) -> None:
        self.closed.append(server_conn)


class _Switch(HTTPMessageDelegate):
    def __init__(self, owner: Upgrader, connection: HTTPConnection) -> None:
        self.owner = owner
        self.connection = connection

    def headers_received(
        self, start_line: RequestStartLine | ResponseStartLine, headers: HTTPHeaders
    ) -> None:
        if self.owner.when == "headers":
            self._upgrade()

    def finish(self) -> None:
        if self.owner.when == "finish":
            self._upgrade()

    def _upgrade(self) -> None:
        fields = HTTPHeaders({"Upgrade": "echo", "Connection": "Upgrade"})
        self.connection.write_headers(
            ResponseStartLine("HTTP/1.1", 101, "Switching Protocols"), fields
        )
        if self.owner.finish_first:
            self.connection.finish()
        stream = self.connection.detach()
        self.owner.streams.append(stream)
        task = asyncio.ensure_future(self.owner.session(stream))
        self.owner.tasks.add(task)


def read_head(sock: socket.socket | ssl.SSLSocket) -> tuple[bytes, bytes]:
    """The response head and whatever came after it in the same reads."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        assert chunk, f"closed before the head ended: {data!r}"
        data += chunk
    head, _, rest = data.partition(b"\r\n\r\n")
    return head, rest


def read_exactly(sock: socket.socket | ssl.SSLSocket, size: int, have: bytes = b"") -> bytes:
    data = have
    while len(data) < size:
        chunk = sock.recv(min(65536, size - len(data)))
        assert chunk, f"closed after {len(data)} of {size} bytes"
        data += chunk
    return data


def upgrade(port: int, early: bytes = b"") -> tuple[socket.socket, bytes]:
    sock = connect(port)
    sock.sendall(HEAD + early)
    head, rest = read_head(sock)
    assert head.startswith(b"HTTP/1.1 101 ")
    assert b"\r\nUpgrade: echo" in head
    assert b"Content-Length" not in head and b"Transfer-Encoding" not in head
    return sock, rest


@pytest.mark.parametrize("when", ["finish", "headers"])
@pytest.mark.parametrize("finish_first", [False, True])
def test_detached_stream_echoes(serve: Any, when: str, finish_first: bool) -> None:
    app = Upgrader(when=when, finish_first=finish_first)
    live = serve(app)
    sock, rest = upgrade(live.port, early=b"early bird ")
    with sock:
        assert read_exactly(sock, 11, rest) == b"early bird "
        for word in (b"one", b"two" * 1000, b"three"):
            sock.sendall(word)
            assert read_exactly(sock, len(word)) == word
    assert len(app.streams) == 1


def test_large_pipelined_bytes_come_first_and_whole(serve: Any) -> None:
    live = serve(Upgrader())
    early = bytes(range(256)) * 1000  # 256 KB sent with the head
    sock, rest = upgrade(live.port, early=early)
    with sock:
        assert read_exactly(sock, len(early), rest) == early


def test_server_forgets_the_connection(serve: Any) -> None:
    app = Upgrader()
    live = serve(app, idle_connection_timeout=0.2, header_timeout=0.2, body_timeout=0.2)
    sock, rest = upgrade(live.port)
    with sock:
        # on_close told the server's delegate, like the end of the connection.
        assert live.call(lambda: len(app.closed)) == 1
        assert live.call(lambda: len(live.server._registry.conns)) == 0
        # Silence well past every timeout: the server no longer times it out.
        time.sleep(0.7)
        sock.sendall(b"still here")
        assert read_exactly(sock, 10, rest) == b"still here"
        # Closing every HTTP connection leaves the tunnel alone.
        live.call(live.server.close_all_connections)
        sock.sendall(b"after close_all")
        assert read_exactly(sock, 15) == b"after close_all"


def test_shutdown_does_not_wait_for_detached(serve: Any) -> None:
    live = serve(Upgrader())
    sock, _ = upgrade(live.port)
    with sock:
        started = time.monotonic()
        live.call(lambda: live.server.shutdown(timeout=TIMEOUT))
        assert time.monotonic() - started < TIMEOUT
        sock.sendall(b"ping")
        assert read_exactly(sock, 4) == b"ping"


def test_peer_close_reaches_the_stream(serve: Any) -> None:
    seen: list[str] = []

    async def session(stream: Any) -> None:
        stream.set_close_callback(lambda: seen.append("close callback"))
        try:
            await stream.read_bytes(100)
        except StreamClosedError:
            seen.append("read failed")

    app = Upgrader(session)
    live = serve(app)
    sock, _ = upgrade(live.port)
    sock.sendall(b"partial")
    sock.close()
    deadline = time.monotonic() + TIMEOUT
    while len(seen) < 2 and time.monotonic() < deadline:
        time.sleep(0.01)
    assert sorted(seen) == ["close callback", "read failed"]
    assert live.call(lambda: app.streams[0].closed())


def test_stream_close_ends_the_connection(serve: Any) -> None:
    async def session(stream: Any) -> None:
        await stream.write(b"bye")
        stream.close()

    live = serve(Upgrader(session))
    sock, rest = upgrade(live.port)
    with sock:
        data = rest
        while True:
            chunk = sock.recv(100)
            if not chunk:
                break
            data += chunk
        assert data == b"bye"


def test_read_until_and_read_until_close(serve: Any) -> None:
    got: list[bytes] = []

    async def session(stream: Any) -> None:
        got.append(await stream.read_until(b"\n"))
        got.append(await stream.read_until(b"\n", max_bytes=100))
        buf = bytearray(5)
        await stream.read_into(buf)
        got.append(bytes(buf))
        await stream.write(b"ready")
        got.append(await stream.read_until_close())

    live = serve(Upgrader(session))
    sock, rest = upgrade(live.port, early=b"line one\nline")
    with sock:
        sock.sendall(b" two\nfive!")
        assert read_exactly(sock, 5, rest) == b"ready"
        sock.sendall(b"the rest")
        sock.shutdown(socket.SHUT_WR)
        deadline = time.monotonic() + TIMEOUT
        while len(got) < 4 and time.monotonic() < deadline:
            time.sleep(0.01)
    assert got == [b"line one\n", b"line two\n", b"five!", b"the rest"]


def test_back_pressure_when_nobody_reads(serve: Any) -> None:
    """A stream that does not read pauses the transport; nothing is lost meanwhile."""
    total = 4 * 1024 * 1024
    got: list[int] = []
    paused: list[bool] = []

    async def session(stream: Any) -> None:
        await asyncio.sleep(0.3)  # the client sends everything meanwhile (or blocks)
        paused.append(stream._read_paused)
        count = 0
        checksum = 0
        while count < total:
            data = await stream.read_bytes(65536, partial=True)
            count += len(data)
            checksum = (checksum + sum(data[::4096])) & 0xFFFFFFFF
        got.extend((count, checksum))
        await stream.write(b"done")

    live = serve(Upgrader(session), max_buffer_size=256 * 1024)
    sock, rest = upgrade(live.port)
    payload = bytes(range(256)) * (total // 256)
    expected = 0
    for start in range(0, total, 65536):
        expected = (expected + sum(payload[start : start + 65536][::4096])) & 0xFFFFFFFF
    with sock:
        sock.sendall(payload)
        assert read_exactly(sock, 4, rest) == b"done"
    assert got == [total, expected]
    assert paused == [True]


def test_big_write_completes_when_the_peer_reads_late(serve: Any) -> None:
    total = 16 * 1024 * 1024
    flushed: list[float] = []

    async def session(stream: Any) -> None:
        await stream.write(b"\xab" * total)
        flushed.append(time.monotonic())

    live = serve(Upgrader(session))
    sock, rest = upgrade(live.port)
    with sock:
        time.sleep(0.3)
        assert not flushed  # 16 MB cannot all sit in socket buffers
        data = read_exactly(sock, total, rest)
    assert data == b"\xab" * total
    deadline = time.monotonic() + TIMEOUT
    while not flushed and time.monotonic() < deadline:
        time.sleep(0.01)
    assert flushed


def test_push_delivery(serve: Any) -> None:
    """squall's WebSocket layer takes bytes as they arrive, early bytes first."""
    pieces: list[bytes] = []
    closed: list[bool] = []

    async def session(stream: Any) -> None:
        def receive(data: bytes) -> None:
            pieces.append(data)
            stream.write(data.upper())

        stream.set_close_callback(lambda: closed.append(True))
        stream._deliver_to(receive)

    live = serve(Upgrader(session))
    sock, rest = upgrade(live.port, early=b"first ")
    with sock:
        assert read_exactly(sock, 6, rest) == b"FIRST "
        sock.sendall(b"second")
        assert read_exactly(sock, 6) == b"SECOND"
    deadline = time.monotonic() + TIMEOUT
    while not closed and time.monotonic() < deadline:
        time.sleep(0.01)
    assert b"".join(pieces) == b"first second"
    assert closed == [True]


def test_detach_after_close_raises(serve: Any) -> None:
    errors: list[BaseException] = []

    class Late(Upgrader):
        def start_request(
            self, server_conn: object, request_conn: HTTPConnection
        ) -> HTTPMessageDelegate:
            outer = self

            class Message(HTTPMessageDelegate):
                def finish(self) -> None:
                    request_conn.close()
                    try:
                        request_conn.detach()
                    except StreamClosedError as exc:
                        outer.streams.append(None)
                        errors.append(exc)

            return Message()

    live = serve(Late())
    with connect(live.port) as sock:
        sock.sendall(HEAD)
        assert sock.recv(100) == b""
    deadline = time.monotonic() + TIMEOUT
    while not errors and time.monotonic() < deadline:
        time.sleep(0.01)
    assert len(errors) == 1


def test_detach_over_tls(serve: Any, cert_files: tuple[str, str]) -> None:
    certfile, keyfile = cert_files
    live = serve(Upgrader(), ssl_options={"certfile": certfile, "keyfile": keyfile})
    context = ssl.create_default_context(cafile=certfile)
    raw = socket.create_connection(("127.0.0.1", live.port), timeout=TIMEOUT)
    with context.wrap_socket(raw, server_hostname="localhost") as sock:
        sock.sendall(HEAD + b"secret ")
        head, rest = read_head(sock)
        assert head.startswith(b"HTTP/1.1 101 ")
        assert read_exactly(sock, 7, rest) == b"secret "
        sock.sendall(b"x" * 100_000)
        assert read_exactly(sock, 100_000) == b"x" * 100_000


def test_detach_on_uvloop(serve: Any) -> None:
    live = serve(Upgrader(), use_uvloop=True)
    sock, rest = upgrade(live.port, early=b"uv ")
    with sock:
        assert read_exactly(sock, 3, rest) == b"uv "
        sock.sendall(b"loop")
        assert read_exactly(sock, 4) == b"loop"
