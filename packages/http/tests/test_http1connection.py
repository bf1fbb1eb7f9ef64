"""HTTP1ServerConnection and HTTP1Connection (client side) over real IOStreams on 127.0.0.1."""

from __future__ import annotations

import asyncio
import gzip
import logging
import socket
from collections.abc import Awaitable, Callable
from typing import Any

import h11
import pytest
from squall.http1connection import (
    HTTP1Connection,
    HTTP1ConnectionParameters,
    HTTP1ServerConnection,
)
from squall.httputil import (
    HTTPHeaders,
    HTTPMessageDelegate,
    HTTPOutputError,
    HTTPServerConnectionDelegate,
    HTTPServerRequest,
    RequestStartLine,
    ResponseStartLine,
)
from squall.iostream import IOStream
from squall.tcpserver import TCPServer
from squall.testing import bind_unused_port


def run(body: Callable[[], Awaitable[Any]]) -> Any:
    async def bounded() -> Any:
        return await asyncio.wait_for(body(), 10)

    return asyncio.run(bounded())


# -- a server built from the public classes ---------------------------------------------


class Recorder(HTTPMessageDelegate):
    """Collects one request and answers it the way ``respond`` says."""

    def __init__(self, app: App, conn: HTTP1Connection) -> None:
        self.app = app
        self.conn = conn
        self.start_line: Any = None
        self.headers: HTTPHeaders | None = None
        self.chunks: list[bytes] = []

    def headers_received(self, start_line: Any, headers: HTTPHeaders) -> None:
        self.start_line = start_line
        self.headers = headers
        if self.app.on_headers is not None:
            self.app.on_headers(self)

    def data_received(self, chunk: bytes) -> Awaitable[None] | None:
        self.chunks.append(chunk)
        if self.app.slow_body:
            return asyncio.sleep(0)
        return None

    def finish(self) -> None:
        self.app.seen.append(self)
        self.app.respond(self)

    def on_connection_close(self) -> None:
        self.app.closed_early.append(self)


def echo(rec: Recorder) -> None:
    body = b"".join(rec.chunks)
    text = f"{rec.start_line.method} {rec.start_line.path} {len(body)}\n".encode() + body
    headers = HTTPHeaders({"Content-Type": "text/plain", "Content-Length": str(len(text))})
    rec.conn.write_headers(ResponseStartLine("HTTP/1.1", 200, "OK"), headers, text)
    rec.conn.finish()


def echo_chunked(rec: Recorder) -> None:
    rec.conn.write_headers(ResponseStartLine("HTTP/1.1", 200, "OK"), HTTPHeaders())
    for piece in rec.chunks or [b"empty"]:
        rec.conn.write(piece)
    rec.conn.finish()


class App(HTTPServerConnectionDelegate):
    def __init__(self, respond: Callable[[Recorder], None] = echo) -> None:
        self.respond = respond
        self.on_headers: Callable[[Recorder], None] | None = None
        self.slow_body = False
        self.seen: list[Recorder] = []
        self.closed_early: list[Recorder] = []
        self.closed_connections = 0

    def start_request(self, server_conn: object, request_conn: Any) -> HTTPMessageDelegate:
        return Recorder(self, request_conn)

    def on_close(self, server_conn: object) -> None:
        self.closed_connections += 1


class Server(TCPServer):
    def __init__(
        self, app: HTTPServerConnectionDelegate, params: HTTP1ConnectionParameters
    ) -> None:
        super().__init__()
        self.app = app
        self.params = params
        self.connections: list[HTTP1ServerConnection] = []

    def handle_stream(self, stream: IOStream, address: tuple[Any, ...]) -> None:
        conn = HTTP1ServerConnection(stream, self.params)
        self.connections.append(conn)
        conn.start(self.app)


async def serve(app: HTTPServerConnectionDelegate, **params: Any) -> tuple[Server, int]:
    sock, port = bind_unused_port()
    server = Server(app, HTTP1ConnectionParameters(**params))
    server.add_sockets([sock])
    return server, port


async def stop(server: Server) -> None:
    server.stop()
    for conn in server.connections:
        await conn.close()


async def exchange(port: int, data: bytes, *, until_close: bool = True) -> bytes:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(data)
    await writer.drain()
    try:
        return await reader.read(-1) if until_close else await reader.read(65536)
    finally:
        writer.close()
        await writer.wait_closed()


def h11_responses(
    data: bytes, methods: list[str]
) -> list[tuple[int, list[tuple[bytes, bytes]], bytes]]:
    """Parse a server's bytes with h11 (an independent parser); returns (status, headers, body)."""
    client = h11.Connection(h11.CLIENT)
    out: list[tuple[int, list[tuple[bytes, bytes]], bytes]] = []
    client.receive_data(data)
    client.receive_data(b"")
    for method in methods:
        client.send(h11.Request(method=method, target="/", headers=[("Host", "x")]))
        client.send(h11.EndOfMessage())
        status = 0
        headers: list[tuple[bytes, bytes]] = []
        body = b""
        while True:
            event = client.next_event()
            if isinstance(event, h11.Response):
                status = event.status_code
                headers = list(event.headers)
            elif isinstance(event, h11.Data):
                body += event.data
            elif isinstance(event, h11.EndOfMessage):
                break
            elif event is h11.NEED_DATA or isinstance(event, h11.ConnectionClosed):
                raise AssertionError(f"incomplete response after {out}")
        out.append((status, headers, body))
        if client.our_state is h11.MUST_CLOSE or client.their_state is h11.MUST_CLOSE:
            break
        client.start_next_cycle()
    return out


# -- server side -------------------------------------------------------------------------


def test_keep_alive_serves_several_requests_on_one_connection() -> None:
    async def body() -> None:
        app = App()
        server, port = await serve(app)
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        for path in ("/one", "/two"):
            writer.write(f"GET {path} HTTP/1.1\r\nHost: x\r\n\r\n".encode())
            head = await reader.readuntil(b"\r\n\r\n")
            assert head.startswith(b"HTTP/1.1 200 OK\r\n")
            length = int(head.split(b"Content-Length: ")[1].split(b"\r\n")[0])
            assert await reader.readexactly(length) == f"GET {path} 0\n".encode()
        writer.close()
        await writer.wait_closed()
        await asyncio.sleep(0.05)
        assert app.closed_connections == 1
        await stop(server)

    run(body)


def test_pipelined_requests_are_answered_in_order() -> None:
    async def body() -> None:
        app = App()
        server, port = await serve(app)
        requests = (
            b"GET /a HTTP/1.1\r\nHost: x\r\n\r\n"
            b"POST /b HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabc"
            b"POST /c HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nxy\r\n0\r\n\r\n"
            b"GET /d HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
        )
        data = await exchange(port, requests)
        responses = h11_responses(data, ["GET", "POST", "POST", "GET"])
        assert [r[2] for r in responses] == [
            b"GET /a 0\n",
            b"POST /b 3\nabc",
            b"POST /c 2\nxy",
            b"GET /d 0\n",
        ]
        await stop(server)

    run(body)


def test_chunked_request_and_chunked_response() -> None:
    async def body() -> None:
        app = App(echo_chunked)
        server, port = await serve(app)
        request = (
            b"POST /up HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
            b"5;ext=1\r\nhello\r\n6\r\n world\r\n0\r\nX-Trailer: t\r\n\r\n"
        )
        data = await exchange(port, request)
        assert b"Transfer-Encoding: chunked\r\n" in data
        ((status, _, got),) = h11_responses(data, ["POST"])
        assert (status, got) == (200, b"hello world")
        assert b"".join(app.seen[0].chunks) == b"hello world"
        await stop(server)

    run(body)


def test_http10_client_gets_a_close_delimited_body() -> None:
    async def body() -> None:
        server, port = await serve(App(echo_chunked))
        data = await exchange(port, b"POST / HTTP/1.0\r\nContent-Length: 4\r\n\r\nabcd")
        assert b"Transfer-Encoding" not in data
        assert b"Connection: close\r\n" in data
        assert data.endswith(b"\r\n\r\nabcd")
        await stop(server)

    run(body)


def test_http10_keep_alive() -> None:
    async def body() -> None:
        server, port = await serve(App())
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(b"GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n")
        head = await reader.readuntil(b"\r\n\r\n")
        assert b"Connection: keep-alive\r\n" in head
        await reader.readexactly(len(b"GET / 0\n"))
        writer.write(b"GET /2 HTTP/1.0\r\n\r\n")
        rest = await reader.read(-1)
        assert rest.endswith(b"GET /2 0\n")
        writer.close()
        await writer.wait_closed()
        await stop(server)

    run(body)


def test_expect_100_continue() -> None:
    async def body() -> None:
        app = App()
        server, port = await serve(app)
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(
            b"PUT /f HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 4\r\n\r\n"
        )
        assert await reader.readuntil(b"\r\n\r\n") == b"HTTP/1.1 100 Continue\r\n\r\n"
        writer.write(b"data")
        head = await reader.readuntil(b"\r\n\r\n")
        assert head.startswith(b"HTTP/1.1 200 OK")
        assert await reader.readexactly(len(b"PUT /f 4\ndata")) == b"PUT /f 4\ndata"
        writer.close()
        await writer.wait_closed()
        await stop(server)

    run(body)


def test_expect_100_continue_refused_early_closes_without_reading() -> None:
    def refuse(rec: Recorder) -> None:
        headers = HTTPHeaders({"Content-Length": "0"})
        rec.conn.write_headers(ResponseStartLine("HTTP/1.1", 413, "Too Large"), headers)
        rec.conn.finish()

    async def body() -> None:
        app = App()
        app.on_headers = refuse
        server, port = await serve(app)
        data = await exchange(
            port,
            b"PUT /f HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 99999\r\n\r\n",
        )
        assert data.startswith(b"HTTP/1.1 413 Too Large\r\n")
        assert b"100 Continue" not in data
        assert b"Connection: close" in data
        await stop(server)

    run(body)


def test_gzip_request_body_is_decompressed() -> None:
    async def body() -> None:
        app = App()
        server, port = await serve(app, decompress=True)
        packed = gzip.compress(b"x" * 5000)
        request = (
            b"POST /z HTTP/1.1\r\nHost: x\r\nContent-Encoding: gzip\r\nConnection: close\r\n"
            b"Content-Length: %d\r\n\r\n" % len(packed)
        ) + packed
        data = await exchange(port, request)
        assert data.endswith(b"POST /z 5000\n" + b"x" * 5000)
        headers = app.seen[0].headers
        assert headers is not None
        assert "Content-Encoding" not in headers
        assert headers["X-Consumed-Content-Encoding"] == "gzip"
        await stop(server)

    run(body)


def test_flow_control_awaits_data_received() -> None:
    async def body() -> None:
        app = App()
        app.slow_body = True
        server, port = await serve(app, chunk_size=1024)
        payload = bytes(range(256)) * 100
        request = (
            b"POST / HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Length: %d\r\n\r\n"
            % len(payload)
        )
        data = await exchange(port, request + payload)
        assert data.endswith(payload)
        assert max(map(len, app.seen[0].chunks)) <= 1024
        await stop(server)

    run(body)


@pytest.mark.parametrize(
    ("request_bytes", "status"),
    [
        (b"GET / HTTP/1.1\r\nHost: x\r\nBad Name: y\r\n\r\n", 400),
        (b"GET / HTTP/1.1\r\n\r\n", 400),
        (b"GET / HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n", 400),
        (b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip, chunked\r\n\r\n", 501),
        (b"GET / HTTP/2.0\r\nHost: x\r\n\r\n", 505),
        (b"GET / HTTP/1.1\r\nHost: x\r\nX: " + b"y" * 3000 + b"\r\n\r\n", 431),
        (b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5000\r\n\r\n", 413),
        (b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", 400),
    ],
)
def test_bad_requests_get_an_error_and_a_close(
    request_bytes: bytes, status: int, caplog: pytest.LogCaptureFixture
) -> None:
    async def body() -> None:
        app = App()
        server, port = await serve(app, max_header_size=2048, max_body_size=1000)
        # A second request after the bad one must never be answered (no smuggling).
        data = await exchange(port, request_bytes + b"GET /smuggled HTTP/1.1\r\nHost: x\r\n\r\n")
        assert data.startswith(b"HTTP/1.1 %d " % status)
        assert b"Connection: close\r\n" in data
        assert data.count(b"HTTP/1.1") == 1
        assert b"Traceback" not in data
        assert all(rec.start_line.path != "/smuggled" for rec in app.seen)
        await stop(server)

    with caplog.at_level(logging.INFO, logger="squall.general"):
        run(body)
    assert any(r.levelno == logging.INFO and r.name == "squall.general" for r in caplog.records)


def test_header_timeout_closes_a_slow_client() -> None:
    async def body() -> None:
        app = App()
        server, port = await serve(app, header_timeout=0.2)
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(b"GET / HTTP/1.1\r\n")
        # One byte at a time must not push the deadline back.
        sent = 0
        try:
            for byte in b"Host: x\r\nX-Slow: 1234567890":
                writer.write(bytes([byte]))
                await writer.drain()
                sent += 1
                await asyncio.sleep(0.03)
        except ConnectionError:
            pass
        assert sent < 20  # the server hung up long before the head could finish
        try:
            data = await reader.read(-1)
        except ConnectionError:
            data = b""
        assert data == b"" or data.startswith(b"HTTP/1.1 408")
        assert app.seen == []
        writer.close()
        try:
            await writer.wait_closed()
        except ConnectionError:
            pass
        await stop(server)

    run(body)


def test_body_timeout_answers_408() -> None:
    async def body() -> None:
        app = App()
        server, port = await serve(app, body_timeout=0.2)
        data = await exchange(port, b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\nabc")
        assert data.startswith(b"HTTP/1.1 408 ")
        assert app.closed_early and not app.seen
        await stop(server)

    run(body)


def test_no_keep_alive_closes_after_one_request() -> None:
    async def body() -> None:
        server, port = await serve(App(), no_keep_alive=True)
        data = await exchange(
            port, b"GET / HTTP/1.1\r\nHost: x\r\n\r\nGET /2 HTTP/1.1\r\nHost: x\r\n\r\n"
        )
        assert data.count(b"HTTP/1.1 200") == 1
        assert b"Connection: close\r\n" in data
        await stop(server)

    run(body)


def test_client_disconnect_calls_on_connection_close() -> None:
    async def body() -> None:
        app = App(respond=lambda rec: None)  # never answers
        server, port = await serve(app)
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(b"GET /wait HTTP/1.1\r\nHost: x\r\n\r\n")
        await writer.drain()
        for _ in range(100):
            if app.seen:
                break
            await asyncio.sleep(0.01)
        writer.close()
        await writer.wait_closed()
        for _ in range(100):
            if app.closed_early:
                break
            await asyncio.sleep(0.01)
        assert [rec.start_line.path for rec in app.closed_early] == ["/wait"]
        await stop(server)

    run(body)


def test_raw_writes_through_httpserverrequest() -> None:
    def classic(rec: Recorder) -> None:
        request = HTTPServerRequest(
            start_line=rec.start_line, headers=rec.headers, connection=rec.conn
        )
        message = f"You requested {request.uri}\n"
        request.write(f"HTTP/1.1 200 OK\r\nContent-Length: {len(message)}\r\n\r\n{message}")
        request.finish()

    async def body() -> None:
        server, port = await serve(App(classic))
        data = await exchange(port, b"GET /classic HTTP/1.1\r\nHost: x\r\n\r\n")
        assert data == b"HTTP/1.1 200 OK\r\nContent-Length: 23\r\n\r\nYou requested /classic\n"
        await stop(server)

    run(body)


def test_content_length_mismatch_raises_output_error() -> None:
    errors: list[Exception] = []

    def overflow(rec: Recorder) -> None:
        rec.conn.write_headers(
            ResponseStartLine("HTTP/1.1", 200, "OK"), HTTPHeaders({"Content-Length": "2"})
        )
        try:
            rec.conn.write(b"too long")
        except HTTPOutputError as exc:
            errors.append(exc)

    async def body() -> None:
        server, port = await serve(App(overflow))
        data = await exchange(port, b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        assert data.startswith(b"HTTP/1.1 200 OK\r\n")
        assert not data.endswith(b"too long")
        await stop(server)

    run(body)
    assert len(errors) == 1


def test_head_response_has_no_body() -> None:
    def head(rec: Recorder) -> None:
        rec.conn.write_headers(
            ResponseStartLine("HTTP/1.1", 200, "OK"), HTTPHeaders({"Content-Length": "10"})
        )
        rec.conn.finish()

    async def body() -> None:
        server, port = await serve(App(head))
        data = await exchange(
            port,
            b"HEAD / HTTP/1.1\r\nHost: x\r\n\r\nHEAD / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
        )
        assert data.count(b"HTTP/1.1 200 OK") == 2
        assert data.endswith(b"\r\n\r\n")
        await stop(server)

    run(body)


# -- client side -----------------------------------------------------------------------


class Collector(HTTPMessageDelegate):
    def __init__(self) -> None:
        self.heads: list[Any] = []
        self.chunks: list[bytes] = []
        self.finished = False
        self.on_head: Callable[[Any], None] | None = None

    def headers_received(self, start_line: Any, headers: HTTPHeaders) -> None:
        self.heads.append((start_line, headers))
        if self.on_head is not None:
            self.on_head(start_line)

    def data_received(self, chunk: bytes) -> None:
        self.chunks.append(chunk)

    def finish(self) -> None:
        self.finished = True


async def canned_server(
    handler: Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]],
) -> tuple[asyncio.AbstractServer, int]:
    server = await asyncio.start_server(handler, "127.0.0.1", 0)
    return server, server.sockets[0].getsockname()[1]


async def client_stream(port: int) -> IOStream:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    stream = IOStream(sock)
    await stream.connect(("127.0.0.1", port))
    return stream


def test_client_request_and_keep_alive_reuse() -> None:
    seen: list[bytes] = []

    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        for body in (b"first", b"second!"):
            head = await reader.readuntil(b"\r\n\r\n")
            seen.append(head)
            writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%b" % (len(body), body))
        await writer.drain()
        writer.close()

    async def body() -> None:
        server, port = await canned_server(handler)
        stream = await client_stream(port)
        for expected in (b"first", b"second!"):
            conn = HTTP1Connection(stream, is_client=True)
            await conn.write_headers(
                RequestStartLine("GET", "/x", "HTTP/1.1"), HTTPHeaders({"Host": "h"})
            )
            conn.finish()
            delegate = Collector()
            assert await conn.read_response(delegate) is True
            assert b"".join(delegate.chunks) == expected
            assert delegate.finished
            assert delegate.heads[0][0] == ResponseStartLine("HTTP/1.1", 200, "OK")
        stream.close()
        server.close()
        await server.wait_closed()

    run(body)
    assert seen[0] == b"GET /x HTTP/1.1\r\nHost: h\r\n\r\n"


def test_client_chunked_upload_and_chunked_response() -> None:
    received: list[bytes] = []

    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        conn = h11.Connection(h11.SERVER)
        body = b""
        while True:
            event = conn.next_event()
            if event is h11.NEED_DATA:
                conn.receive_data(await reader.read(4096))
                continue
            if isinstance(event, h11.Data):
                body += event.data
            if isinstance(event, h11.EndOfMessage):
                break
        received.append(body)
        writer.write(
            conn.send(h11.Response(status_code=200, headers=[("Transfer-Encoding", "chunked")]))
        )
        writer.write(conn.send(h11.Data(data=b"got ")))
        writer.write(conn.send(h11.Data(data=body)))
        writer.write(conn.send(h11.EndOfMessage()))
        await writer.drain()
        writer.close()

    async def body() -> None:
        server, port = await canned_server(handler)
        stream = await client_stream(port)
        conn = HTTP1Connection(stream, is_client=True)
        conn.write_headers(RequestStartLine("POST", "/", "HTTP/1.1"), HTTPHeaders({"Host": "h"}))
        conn.write(b"abc")
        conn.write(b"def")
        conn.finish()
        delegate = Collector()
        await conn.read_response(delegate)
        assert b"".join(delegate.chunks) == b"got abcdef"
        stream.close()
        server.close()
        await server.wait_closed()

    run(body)
    assert received == [b"abcdef"]


def test_client_decompresses_gzip_responses() -> None:
    packed = gzip.compress(b"hello " * 1000)

    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        writer.write(
            b"HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nContent-Length: %d\r\n\r\n" % len(packed)
            + packed
        )
        await writer.drain()
        writer.close()

    async def body() -> None:
        server, port = await canned_server(handler)
        stream = await client_stream(port)
        conn = HTTP1Connection(
            stream, True, HTTP1ConnectionParameters(decompress=True, chunk_size=512)
        )
        conn.write_headers(RequestStartLine("GET", "/", "HTTP/1.1"), HTTPHeaders({"Host": "h"}))
        conn.finish()
        delegate = Collector()
        await conn.read_response(delegate)
        assert b"".join(delegate.chunks) == b"hello " * 1000
        assert max(map(len, delegate.chunks)) <= 512
        assert delegate.heads[0][1]["X-Consumed-Content-Encoding"] == "gzip"
        stream.close()
        server.close()
        await server.wait_closed()

    run(body)


def test_client_100_continue_then_final_response() -> None:
    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        writer.write(b"HTTP/1.1 100 Continue\r\n\r\n")
        await writer.drain()
        data = await reader.readexactly(4)
        writer.write(b"HTTP/1.1 201 Created\r\nContent-Length: 4\r\n\r\n" + data)
        await writer.drain()
        writer.close()

    async def body() -> None:
        server, port = await canned_server(handler)
        stream = await client_stream(port)
        conn = HTTP1Connection(stream, is_client=True)
        conn.write_headers(
            RequestStartLine("PUT", "/", "HTTP/1.1"),
            HTTPHeaders({"Host": "h", "Content-Length": "4", "Expect": "100-continue"}),
        )
        delegate = Collector()

        def send_body(start_line: Any) -> None:
            if start_line.code == 100:
                conn.write(b"body")
                conn.finish()

        delegate.on_head = send_body
        await conn.read_response(delegate)
        assert [h[0].code for h in delegate.heads] == [100, 201]
        assert b"".join(delegate.chunks) == b"body"
        stream.close()
        server.close()
        await server.wait_closed()

    run(body)


def test_client_malformed_response_raises() -> None:
    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: x\r\n\r\n")
        await writer.drain()
        writer.close()

    async def body() -> None:
        from squall.httputil import HTTPInputError

        server, port = await canned_server(handler)
        stream = await client_stream(port)
        conn = HTTP1Connection(stream, is_client=True)
        conn.write_headers(RequestStartLine("GET", "/", "HTTP/1.1"), HTTPHeaders({"Host": "h"}))
        conn.finish()
        with pytest.raises(HTTPInputError):
            await conn.read_response(Collector())
        assert stream.closed()
        server.close()
        await server.wait_closed()

    run(body)


def test_client_close_callback_and_detach() -> None:
    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        writer.write(
            b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: x\r\nConnection: Upgrade\r\n\r\n"
        )
        await writer.drain()
        writer.write(b"raw after upgrade")
        await writer.drain()
        writer.close()

    async def body() -> None:
        server, port = await canned_server(handler)
        stream = await client_stream(port)
        conn = HTTP1Connection(stream, is_client=True)
        conn.write_headers(
            RequestStartLine("GET", "/", "HTTP/1.1"),
            HTTPHeaders({"Host": "h", "Upgrade": "x", "Connection": "Upgrade"}),
        )
        conn.finish()
        delegate = Collector()
        detached: list[IOStream] = []
        delegate.on_head = lambda line: detached.append(conn.detach())
        assert await conn.read_response(delegate) is False
        assert detached[0] is stream and not stream.closed()
        assert await stream.read_bytes(17) == b"raw after upgrade"
        stream.close()
        server.close()
        await server.wait_closed()

    run(body)


def test_parameters_defaults() -> None:
    params = HTTP1ConnectionParameters()
    assert params.no_keep_alive is False
    assert params.decompress is False
    assert params.header_timeout is None and params.body_timeout is None
    assert params.chunk_size == 65536
