"""HTTPServer over real sockets: keep-alive, pipelining, bodies both ways, delegates, options."""

from __future__ import annotations

import asyncio
import gzip
import socket
import ssl

import pytest
from squall.httpserver import HTTPRequest, HTTPServer
from squall.httputil import (
    HTTPHeaders,
    HTTPMessageDelegate,
    HTTPOutputError,
    HTTPServerConnectionDelegate,
    HTTPServerRequest,
    ResponseStartLine,
)
from squall.iostream import StreamClosedError

GET = b"GET / HTTP/1.1\r\nHost: x\r\n\r\n"


def test_httprequest_is_the_old_name_of_httpserverrequest() -> None:
    assert HTTPRequest is HTTPServerRequest


def test_constructor_takes_tornados_arguments_and_defaults() -> None:
    server = HTTPServer(lambda request: None)
    assert server.no_keep_alive is False and server.xheaders is False
    assert server.idle_connection_timeout == 3600.0
    assert server.header_timeout == 60.0
    assert server.max_buffer_size == 100 * 1024 * 1024
    assert server.max_body_size == server.max_buffer_size
    assert server.body_timeout is None
    server = HTTPServer(
        lambda request: None,
        True,
        True,
        None,
        "https",
        True,
        1024,
        2048,
        5.0,
        6.0,
        7,
        8,
        ["10.0.0.1"],
        header_timeout=2.0,
    )
    assert (server.no_keep_alive, server.xheaders, server.protocol) == (True, True, "https")
    assert (server.decompress_request, server.chunk_size, server.max_header_size) == (
        True,
        1024,
        2048,
    )
    assert (server.idle_connection_timeout, server.body_timeout) == (5.0, 6.0)
    assert (server.max_body_size, server.max_buffer_size) == (7, 8)
    assert server.trusted_downstream == frozenset({"10.0.0.1"})
    assert server.header_timeout == 2.0
    # Without header_timeout the head may take as long as the idle allowance, at most 60 s.
    assert HTTPServer(lambda r: None, idle_connection_timeout=5).header_timeout == 5


def test_configure_picks_a_subclass() -> None:
    class Custom(HTTPServer):
        pass

    saved = HTTPServer._save_configuration()
    try:
        HTTPServer.configure(Custom, xheaders=True)
        server = HTTPServer(lambda request: None)
        assert type(server) is Custom and server.xheaders is True
    finally:
        HTTPServer._restore_configuration(saved)
    assert type(HTTPServer(lambda request: None)) is HTTPServer


def test_missing_certfile_is_refused_at_construction(tmp_path) -> None:
    with pytest.raises(ValueError):
        HTTPServer(lambda r: None, ssl_options={"certfile": str(tmp_path / "missing.pem")})


def test_request_attributes(serve, wire) -> None:
    seen = {}

    def handler(request) -> None:
        seen.update(
            method=request.method,
            uri=request.uri,
            path=request.path,
            query=request.query,
            version=request.version,
            host=request.host,
            host_name=request.host_name,
            remote_ip=request.remote_ip,
            protocol=request.protocol,
            arguments=request.arguments,
            body_arguments=request.body_arguments,
            cookie=request.cookies["c"].value,
            full_url=request.full_url(),
            server_connection=request.server_connection is request.connection,
        )
        wire.answer(request)

    live = serve(handler)
    body = b"b=2&a=3"
    raw = (
        b"POST /p/q?a=1 HTTP/1.1\r\nHost: Example.COM:81\r\nCookie: c=v\r\n"
        b"Content-Type: application/x-www-form-urlencoded\r\nContent-Length: 7\r\n\r\n" + body
    )
    assert wire.request_once(live.port, raw, "POST").status == 200
    assert seen == {
        "method": "POST",
        "uri": "/p/q?a=1",
        "path": "/p/q",
        "query": "a=1",
        "version": "HTTP/1.1",
        "host": "Example.COM:81",
        "host_name": "example.com",
        "remote_ip": "127.0.0.1",
        "protocol": "http",
        "arguments": {"a": [b"1", b"3"], "b": [b"2"]},
        "body_arguments": {"b": [b"2"], "a": [b"3"]},
        "cookie": "v",
        "full_url": "http://Example.COM:81/p/q?a=1",
        "server_connection": True,
    }


def test_classic_raw_write_style_closes_after_the_response(serve, wire) -> None:
    def handle_request(request) -> None:
        message = f"You requested {request.uri}\n"
        request.write(f"HTTP/1.1 200 OK\r\nContent-Length: {len(message)}\r\n\r\n{message}")
        request.finish()

    live = serve(handle_request)
    data = wire.exchange(live.port, b"GET /overview HTTP/1.1\r\nHost: x\r\n\r\n" + GET)
    assert data == b"HTTP/1.1 200 OK\r\nContent-Length: 24\r\n\r\nYou requested /overview\n"


def test_keep_alive_serves_requests_in_order_on_one_connection(serve, wire) -> None:
    live = serve()
    with wire.connect(live.port) as sock:
        for path in (b"/one", b"/two", b"/three"):
            sock.sendall(b"GET " + path + b" HTTP/1.1\r\nHost: x\r\n\r\n")
            expected = b"GET " + path + b" 0"
            data = b""
            while not data.endswith(expected):
                chunk = sock.recv(4096)
                assert chunk, "closed"
                data += chunk
            (response,) = wire.parse(data)
            assert not response.closes


def test_pipelined_requests_are_answered_in_order(serve, wire) -> None:
    delays = {"/slow": 0.2, "/fast": 0.0}

    def handler(request) -> None:
        loop = asyncio.get_running_loop()
        loop.call_later(delays.get(request.path, 0.0), wire.answer, request, request.path.encode())

    live = serve(handler)
    raw = b"".join(
        b"GET %s HTTP/1.1\r\nHost: x\r\n\r\n" % path for path in (b"/slow", b"/fast", b"/slow")
    )
    raw += b"GET /last HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
    responses = wire.parse(wire.exchange(live.port, raw), ["GET"] * 4)
    assert [r.body for r in responses] == [b"/slow", b"/fast", b"/slow", b"/last"]
    assert responses[-1].closes


def test_many_pipelined_requests_in_one_packet(serve, wire) -> None:
    live = serve()
    raw = GET * 500 + b"GET /end HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
    responses = wire.parse(wire.exchange(live.port, raw), ["GET"] * 501)
    assert [r.status for r in responses] == [200] * 501
    assert responses[-1].body == b"GET /end 0"


def test_pipelined_requests_sent_byte_by_byte(serve, wire) -> None:
    live = serve()
    raw = GET + b"POST /b HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nConnection: close\r\n\r\nabc"
    with wire.connect(live.port) as sock:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        for i in range(len(raw)):
            sock.send(raw[i : i + 1])
        data = wire.read_all(sock)
    first, second = wire.parse(data, ["GET", "POST"])
    assert (first.body, second.body) == (b"GET / 0", b"POST /b 3")


def test_http10_closes_unless_keep_alive_is_asked_for(serve, wire) -> None:
    live = serve()
    data = wire.exchange(live.port, b"GET /a HTTP/1.0\r\n\r\n")
    (response,) = wire.parse(data)
    assert response.status == 200 and response.closes
    with wire.connect(live.port) as sock:
        sock.sendall(b"GET /b HTTP/1.0\r\nConnection: keep-alive\r\n\r\n")
        data = sock.recv(4096)
        assert b"Connection: keep-alive" in data
        sock.sendall(b"GET /c HTTP/1.0\r\n\r\n")
        data += wire.read_all(sock)
    assert data.count(b"HTTP/1.1 200") == 2


def test_http11_connection_close_is_honoured(serve, wire) -> None:
    live = serve()
    data = wire.exchange(live.port, b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n" + GET)
    (response,) = wire.parse(data)
    assert response.closes and response.headers["connection"] == "close"


def test_no_keep_alive_closes_after_each_response(serve, wire) -> None:
    live = serve(no_keep_alive=True)
    data = wire.exchange(live.port, GET + GET)
    (response,) = wire.parse(data)
    assert response.closes


def test_head_response_has_no_body(serve, wire) -> None:
    live = serve()
    raw = (
        b"HEAD / HTTP/1.1\r\nHost: x\r\n\r\n"
        + b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
    )
    head, get = wire.parse(wire.exchange(live.port, raw), ["HEAD", "GET"])
    assert head.headers["content-length"] == "8" and head.body == b""
    assert get.body == b"GET / 0"


def test_chunked_request_body_reaches_a_callable_whole(serve, wire) -> None:
    live = serve()
    raw = (
        b"POST /c HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
        b"3\r\nabc\r\n10\r\n0123456789abcdef\r\n0\r\n\r\n"
    )
    (response,) = wire.parse(wire.exchange(live.port, raw), ["POST"])
    assert response.body == b"POST /c 19"


def test_chunked_response_when_no_length_is_given(serve, wire) -> None:
    def handler(request) -> None:
        conn = request.connection
        conn.write_headers(ResponseStartLine("HTTP/1.1", 200, "OK"), HTTPHeaders(), b"first,")
        conn.write(b"second,")
        conn.write(b"")
        conn.write(b"third")
        conn.finish()

    live = serve(handler)
    data = wire.exchange(live.port, GET + b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    assert b"Transfer-Encoding: chunked" in data
    first, second = wire.parse(data, ["GET", "GET"])
    assert first.body == second.body == b"first,second,third"
    # HTTP/1.0 clients cannot read chunks: the body ends with the connection.
    data = wire.exchange(live.port, b"GET / HTTP/1.0\r\n\r\n")
    assert b"chunked" not in data and data.endswith(b"\r\n\r\nfirst,second,third")


def test_expect_100_continue(serve, wire) -> None:
    live = serve()
    with wire.connect(live.port) as sock:
        sock.sendall(
            b"POST /up HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n"
        )
        interim = sock.recv(4096)
        assert interim == b"HTTP/1.1 100 Continue\r\n\r\n"
        sock.sendall(b"hello")
        data = b""
        while not data.endswith(b"POST /up 5"):
            chunk = sock.recv(4096)
            assert chunk
            data += chunk
    assert data.startswith(b"HTTP/1.1 200")


def test_no_100_continue_for_a_request_without_body(serve, wire) -> None:
    live = serve()
    raw = b"GET / HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nConnection: close\r\n\r\n"
    data = wire.exchange(live.port, raw)
    assert b"100 Continue" not in data
    assert wire.parse(data)[0].status == 200


def test_content_length_mismatch_raises_http_output_error(serve, wire) -> None:
    errors = []

    def handler(request) -> None:
        conn = request.connection
        conn.write_headers(
            ResponseStartLine("HTTP/1.1", 200, "OK"), HTTPHeaders({"Content-Length": "3"})
        )
        try:
            conn.write(b"toolong")
        except HTTPOutputError as exc:
            errors.append(exc)

    live = serve(handler)
    data = wire.exchange(live.port, GET)
    assert data.startswith(b"HTTP/1.1 200") and not data.endswith(b"toolong")
    assert len(errors) == 1

    def short(request) -> None:
        conn = request.connection
        conn.write_headers(
            ResponseStartLine("HTTP/1.1", 200, "OK"), HTTPHeaders({"Content-Length": "9"}), b"abc"
        )
        try:
            conn.finish()
        except HTTPOutputError as exc:
            errors.append(exc)

    live = serve(short)
    wire.exchange(live.port, GET)
    assert len(errors) == 2


def test_coroutine_callback(serve, wire) -> None:
    async def handler(request) -> None:
        await asyncio.sleep(0.01)
        wire.answer(request, b"async")

    live = serve(handler)
    assert wire.request_once(live.port, GET).body == b"async"


def test_writes_after_the_connection_closed_fail_with_stream_closed(serve, wire) -> None:
    outcome = []

    def handler(request) -> None:
        def later() -> None:
            future = request.connection.write_headers(
                ResponseStartLine("HTTP/1.1", 200, "OK"), HTTPHeaders({"Content-Length": "1"}), b"x"
            )
            outcome.append(type(future.exception()))

        request.connection.set_close_callback(lambda: outcome.append("closed"))
        asyncio.get_running_loop().call_later(0.2, later)

    live = serve(handler)
    with wire.connect(live.port) as sock:
        sock.sendall(GET)
    for _ in range(100):
        if len(outcome) == 2:
            break
        live.call(lambda: asyncio.sleep(0.02))
    assert outcome == ["closed", StreamClosedError]


class Recorder(HTTPServerConnectionDelegate):
    """A delegate that records its calls and applies back-pressure on every chunk."""

    def __init__(self) -> None:
        self.events: list[object] = []
        self.closed: list[object] = []

    def start_request(self, server_conn, request_conn) -> HTTPMessageDelegate:
        return _Message(self, request_conn)

    def on_close(self, server_conn) -> None:
        self.closed.append(server_conn)


class _Message(HTTPMessageDelegate):
    def __init__(self, owner: Recorder, conn) -> None:
        self.owner = owner
        self.conn = conn
        self.size = 0

    def headers_received(self, start_line, headers):
        self.owner.events.append(("head", start_line.method, start_line.path))
        if headers.get("X-Limit"):
            self.conn.set_max_body_size(int(headers["X-Limit"]))
        return asyncio.sleep(0.01)

    def data_received(self, chunk):
        self.owner.events.append(("data", len(chunk)))
        self.size += len(chunk)
        return asyncio.sleep(0)

    def finish(self) -> None:
        self.owner.events.append("finish")
        body = str(self.size).encode()
        self.conn.write_headers(
            ResponseStartLine("HTTP/1.1", 200, "OK"),
            HTTPHeaders({"Content-Length": str(len(body))}),
            body,
        )
        self.conn.finish()

    def on_connection_close(self) -> None:
        self.owner.events.append("connection_close")


def test_delegate_gets_body_in_chunk_size_pieces_with_flow_control(serve, wire) -> None:
    recorder = Recorder()
    live = serve(recorder, chunk_size=1000)
    body = b"z" * 5500
    raw = b"PUT /d HTTP/1.1\r\nHost: x\r\nContent-Length: 5500\r\nConnection: close\r\n\r\n" + body
    (response,) = wire.parse(wire.exchange(live.port, raw), ["PUT"])
    assert response.body == b"5500"
    assert recorder.events[0] == ("head", "PUT", "/d")
    assert recorder.events[-1] == "finish"
    sizes = [e[1] for e in recorder.events[1:-1]]
    assert sum(sizes) == 5500 and max(sizes) <= 1000
    for _ in range(100):
        if recorder.closed:
            break
        live.call(lambda: asyncio.sleep(0.01))
    assert len(recorder.closed) == 1


def test_delegate_may_raise_the_body_limit_for_one_request(serve, wire) -> None:
    recorder = Recorder()
    live = serve(recorder, max_body_size=10)
    raw = b"PUT /d HTTP/1.1\r\nHost: x\r\nContent-Length: 50\r\nX-Limit: 100\r\nConnection: close\r\n\r\n"
    (response,) = wire.parse(wire.exchange(live.port, raw + b"y" * 50), ["PUT"])
    assert response.body == b"50"
    raw = b"PUT /d HTTP/1.1\r\nHost: x\r\nContent-Length: 50\r\nConnection: close\r\n\r\n"
    (response,) = wire.parse(wire.exchange(live.port, raw + b"y" * 50), ["PUT"])
    assert response.status == 413


def test_delegate_hears_about_a_connection_lost_mid_request(serve, wire) -> None:
    recorder = Recorder()
    live = serve(recorder)
    with wire.connect(live.port) as sock:
        sock.sendall(b"PUT /d HTTP/1.1\r\nHost: x\r\nContent-Length: 50\r\n\r\npartial")
        for _ in range(100):
            if len(recorder.events) >= 2:
                break
            live.call(lambda: asyncio.sleep(0.01))
    for _ in range(100):
        if "connection_close" in recorder.events:
            break
        live.call(lambda: asyncio.sleep(0.01))
    assert recorder.events[-1] == "connection_close"
    assert "finish" not in recorder.events


def test_decompress_request_inflates_gzip_bodies(serve, wire) -> None:
    seen = []

    def handler(request) -> None:
        seen.append(
            (
                request.body,
                request.headers.get("Content-Encoding"),
                request.headers.get("X-Consumed-Content-Encoding"),
            )
        )
        wire.answer(request)

    live = serve(handler, decompress_request=True)
    packed = gzip.compress(b"plain text " * 100)
    raw = (
        b"POST / HTTP/1.1\r\nHost: x\r\nContent-Encoding: gzip\r\nConnection: close\r\nContent-Length: %d\r\n\r\n"
        % len(packed)
    )
    assert wire.parse(wire.exchange(live.port, raw + packed), ["POST"])[0].status == 200
    assert seen == [(b"plain text " * 100, None, "gzip")]
    # Corrupt data is the client's fault.
    raw = b"POST / HTTP/1.1\r\nHost: x\r\nContent-Encoding: gzip\r\nContent-Length: 10\r\n\r\n"
    assert wire.parse(wire.exchange(live.port, raw + b"notgzip!!!"), ["POST"])[0].status == 400
    # A bomb stops at max_body_size.
    live = serve(handler, decompress_request=True, max_body_size=10_000)
    bomb = gzip.compress(b"\0" * 1_000_000)
    raw = (
        b"POST / HTTP/1.1\r\nHost: x\r\nContent-Encoding: gzip\r\nContent-Length: %d\r\n\r\n"
        % len(bomb)
    )
    assert wire.parse(wire.exchange(live.port, raw + bomb), ["POST"])[0].status == 413
    assert len(seen) == 1


def test_without_decompress_request_the_body_stays_compressed(serve, wire) -> None:
    seen = []

    def handler(request) -> None:
        seen.append(request.body)
        wire.answer(request)

    live = serve(handler)
    packed = gzip.compress(b"abc")
    raw = (
        b"POST / HTTP/1.1\r\nHost: x\r\nContent-Encoding: gzip\r\nConnection: close\r\nContent-Length: %d\r\n\r\n"
        % len(packed)
    )
    wire.exchange(live.port, raw + packed)
    assert seen == [packed]


def test_large_body_both_ways(serve, wire) -> None:
    def echo(request) -> None:
        wire.answer(request, request.body)

    live = serve(echo)
    body = bytes(range(256)) * 8192  # 2 MB
    raw = b"POST / HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Length: %d\r\n\r\n" % len(
        body
    )
    with wire.connect(live.port) as sock:
        sock.sendall(raw + body)
        data = wire.read_all(sock)
    (response,) = wire.parse(data, ["POST"])
    assert response.body == body


def test_uvloop_serves_too(serve, wire) -> None:
    live = serve(wire.echo_path, use_uvloop=True)
    raw = GET + b"GET /u HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
    responses = wire.parse(wire.exchange(live.port, raw), ["GET", "GET"])
    assert [r.body for r in responses] == [b"GET / 0", b"GET /u 0"]


# -- TLS -----------------------------------------------------------------------------


def _tls_client() -> ssl.SSLContext:
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    return context


@pytest.mark.parametrize("form", ["dict", "context"])
def test_tls_with_ssl_options_dict_or_context(serve, wire, cert_files, form) -> None:
    certfile, keyfile = cert_files
    if form == "dict":
        options: object = {"certfile": certfile, "keyfile": keyfile}
    else:
        options = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        options.load_cert_chain(certfile, keyfile)
    seen = []

    def handler(request) -> None:
        seen.append((request.protocol, request.full_url(), request.get_ssl_certificate()))
        wire.answer(request, b"secret")

    live = serve(handler, ssl_options=options)
    with socket.create_connection(("127.0.0.1", live.port), timeout=5) as raw:
        with _tls_client().wrap_socket(raw, server_hostname="localhost") as sock:
            sock.sendall(GET + b"GET /2 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            data = b""
            while True:
                chunk = sock.recv(65536)
                if not chunk:
                    break
                data += chunk
    responses = wire.parse(data, ["GET", "GET"])
    assert [r.body for r in responses] == [b"secret", b"secret"]
    assert seen[0] == ("https", "https://x/", None)


def test_tls_handshake_garbage_does_not_hurt_the_server(serve, wire, cert_files) -> None:
    certfile, keyfile = cert_files
    live = serve(wire.echo_path, ssl_options={"certfile": certfile, "keyfile": keyfile})
    data = wire.exchange(live.port, GET)  # plain HTTP to a TLS port
    assert not data.startswith(b"HTTP/1.1 200")
    with socket.create_connection(("127.0.0.1", live.port), timeout=5) as raw:
        with _tls_client().wrap_socket(raw, server_hostname="localhost") as sock:
            sock.sendall(b"GET /ok HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            data = b""
            while chunk := sock.recv(65536):
                data += chunk
    assert wire.parse(data)[0].body == b"GET /ok 0"


def test_protocol_argument_sets_the_scheme(serve, wire) -> None:
    seen = []

    def handler(request) -> None:
        seen.append(request.protocol)
        wire.answer(request)

    live = serve(handler, protocol="https")
    wire.request_once(live.port, GET)
    assert seen == ["https"]


def test_write_futures_wait_for_a_slow_reader(serve, wire) -> None:
    """Back-pressure: write() futures resolve only as the client drains its socket."""
    states = []

    def handler(request) -> None:
        async def stream() -> None:
            conn = request.connection
            await conn.write_headers(
                ResponseStartLine("HTTP/1.1", 200, "OK"),
                HTTPHeaders({"Content-Length": str(64 * 65536)}),
            )
            for _ in range(64):
                future = conn.write(b"x" * 65536)
                states.append(future.done())
                await future
            conn.finish()

        asyncio.ensure_future(stream())

    live = serve(handler)
    with wire.connect(live.port) as sock:
        sock.sendall(b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        import time

        time.sleep(0.3)  # let the server fill the socket buffers
        data = wire.read_all(sock)
    (response,) = wire.parse(data)
    assert len(response.body) == 64 * 65536
    assert False in states  # some writes had to wait for the reader


def _count_writes(request) -> list[bytes]:
    """Record what the request's connection hands to its (asyncio) transport."""
    transport = request.connection._transport
    sent: list[bytes] = []
    write = transport.write

    def counting(data: bytes) -> None:
        sent.append(bytes(data))
        write(data)

    transport.write = counting
    return sent


def test_small_writes_reach_the_transport_together_after_the_loop_pass(serve, wire) -> None:
    """Head, pieces and end of a small response: held, then handed over in one write."""
    seen: dict[str, object] = {}

    def handler(request) -> None:
        sent = seen["sent"] = _count_writes(request)
        conn = request.connection
        conn.write_headers(ResponseStartLine("HTTP/1.1", 200, "OK"), HTTPHeaders())
        for piece in (b"one ", b"two ", b"three"):
            conn.write(piece)
        conn.finish()
        seen["during"] = len(sent)

    live = serve(handler)
    # Kept alive: a closing connection hands over what it holds at once.
    response = wire.request_once(live.port, b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
    assert response.body == b"one two three"
    assert seen["during"] == 0  # nothing went out while the handler ran
    sent = seen["sent"]
    assert len(sent) == 1 and sent[0].startswith(b"HTTP/1.1 200 OK\r\n")


def test_a_large_write_goes_out_at_once_after_what_is_held(serve, wire) -> None:
    seen: dict[str, object] = {}
    big = b"x" * 100_000

    def handler(request) -> None:
        sent = seen["sent"] = _count_writes(request)
        conn = request.connection
        conn.write_headers(
            ResponseStartLine("HTTP/1.1", 200, "OK"),
            HTTPHeaders({"Content-Length": str(len(big) + 5)}),
        )
        conn.write(b"small")
        held = len(sent)
        conn.write(big)
        seen["counts"] = (held, len(sent))
        conn.finish()

    live = serve(handler)
    (response,) = wire.parse(
        wire.exchange(live.port, b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    )
    assert response.body == b"small" + big
    # The held head and "small" went out first, then the large piece itself.
    assert seen["counts"] == (0, 2)
    sent = seen["sent"]
    assert sent[0].startswith(b"HTTP/1.1 200 OK") and sent[0].endswith(b"small") and sent[1] == big


def test_responses_written_in_one_loop_pass_all_arrive(serve, wire) -> None:
    """Many connections answered in the same pass (held together) each get their answer."""
    live = serve(wire.echo_path)
    socks = [wire.connect(live.port) for _ in range(20)]
    try:
        for index, sock in enumerate(socks):
            sock.sendall(b"GET /%d HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n" % index)
        for index, sock in enumerate(socks):
            (response,) = wire.parse(wire.read_all(sock))
            assert response.body == b"GET /%d 0" % index
    finally:
        for sock in socks:
            sock.close()


def test_pipelined_flood_past_max_buffer_size_pauses_reading(serve, wire) -> None:
    def handler(request) -> None:
        asyncio.get_running_loop().call_soon(wire.answer, request, request.path.encode())

    live = serve(handler, max_buffer_size=4096)
    count = 2000
    raw = b"".join(b"GET /%d HTTP/1.1\r\nHost: x\r\n\r\n" % i for i in range(count - 1))
    raw += b"GET /last HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
    import threading

    with wire.connect(live.port) as sock:
        sender = threading.Thread(target=sock.sendall, args=(raw,))
        sender.start()
        data = wire.read_all(sock, limit=30)
        sender.join(5)
    responses = wire.parse(data, ["GET"] * count)
    assert [r.body for r in responses[:3]] == [b"/0", b"/1", b"/2"]
    assert responses[-1].body == b"/last"
