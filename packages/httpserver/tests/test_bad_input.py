"""Malformed requests over a real socket: the right status, one response, a log line, no damage.

Each bad message is followed on the same connection by a valid pipelined
request: the server must answer the bad one only (no second response
smuggled after a refusal), close, log the reason on ``squall.general`` at
INFO (never an ERROR, never a traceback to the client), and keep serving
new connections.

Every test here runs against both HTTP/1 parsers (``http_parser="python"``
and ``"httptools"``, the latter skipped without httptools): the same input
must get the same answer from either.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from squall.http1connection import _parsers

PARSERS = [
    pytest.param("python"),
    pytest.param(
        "httptools",
        marks=pytest.mark.skipif(
            _parsers.HTTPTOOLS_VERSION is None, reason="httptools not installed"
        ),
    ),
]


@pytest.fixture(params=PARSERS)
def serve(
    request: pytest.FixtureRequest, serve: Callable[..., Any]
) -> Iterator[Callable[..., Any]]:
    """The conftest's ``serve``, with the parser under test."""

    def start(*args: Any, **options: Any) -> Any:
        options.setdefault("http_parser", request.param)
        return serve(*args, **options)

    yield start


FOLLOW_UP = b"GET /smuggled HTTP/1.1\r\nHost: x\r\n\r\n"
OK = b"GET / HTTP/1.1\r\nHost: x\r\n"


def post(fields: bytes, body: bytes = b"") -> bytes:
    return b"POST /p HTTP/1.1\r\nHost: x\r\n" + fields + b"\r\n" + body


BAD = {
    # request line
    "no target or version": (b"GET\r\nHost: x\r\n\r\n", 400),
    "double space": (b"GET  / HTTP/1.1\r\nHost: x\r\n\r\n", 400),
    "garbage line": (b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03\r\n\r\n", 400),
    "space in method": (b"GE T / HTTP/1.1\r\nHost: x\r\n\r\n", 400),
    "control in target": (b"GET /a\x01b HTTP/1.1\r\nHost: x\r\n\r\n", 400),
    "lower-case version": (b"GET / http/1.1\r\nHost: x\r\n\r\n", 400),
    "HTTP/2.0 version": (b"GET / HTTP/2.0\r\nHost: x\r\n\r\n", 505),
    "HTTP/1.2 version": (b"GET / HTTP/1.2\r\nHost: x\r\n\r\n", 505),
    "HTTPS/1.1 version": (b"GET / HTTPS/1.1\r\nHost: x\r\n\r\n", 400),
    "request line too long": (b"GET /" + b"a" * 9000 + b" HTTP/1.1\r\nHost: x\r\n\r\n", 414),
    "ftp absolute form": (b"GET ftp://x/ HTTP/1.1\r\nHost: x\r\n\r\n", 400),
    "asterisk form on GET": (b"GET * HTTP/1.1\r\nHost: x\r\n\r\n", 400),
    "CONNECT": (b"CONNECT x:443 HTTP/1.1\r\nHost: x:443\r\n\r\n", 501),
    # header fields
    "no Host in HTTP/1.1": (b"GET / HTTP/1.1\r\nAccept: */*\r\n\r\n", 400),
    "two Host fields": (OK + b"Host: y\r\n\r\n", 400),
    "space in field name": (OK + b"Bad Name: v\r\n\r\n", 400),
    "paren in field name": (OK + b"Na(me: v\r\n\r\n", 400),
    "NUL in field name": (OK + b"Na\x00me: v\r\n\r\n", 400),
    "space before colon": (OK + b"X-A : v\r\n\r\n", 400),
    "tab before colon": (OK + b"X-A\t: v\r\n\r\n", 400),
    "no colon": (OK + b"X-A v\r\n\r\n", 400),
    "CR in value": (OK + b"X-A: a\rb\r\n\r\n", 400),
    "NUL in value": (OK + b"X-A: a\x00b\r\n\r\n", 400),
    "control in value": (OK + b"X-A: a\x01b\r\n\r\n", 400),
    "DEL in value": (OK + b"X-A: a\x7fb\r\n\r\n", 400),
    "escape in value": (OK + b"X-A: a\x1bb\r\n\r\n", 400),
    "fold as first line": (b"GET / HTTP/1.1\r\n continued\r\nHost: x\r\n\r\n", 400),
    "bare CR ending a line": (b"GET / HTTP/1.1\rHost: x\r\n\r\n", 400),
    "bare CR inside the head": (OK + b"X-A: 1\r\r\n\r\n", 400),
    # framing
    "Content-Length and Transfer-Encoding": (
        post(b"Content-Length: 5\r\nTransfer-Encoding: chunked\r\n", b"0\r\n\r\n"),
        400,
    ),
    "conflicting Content-Length fields": (
        post(b"Content-Length: 5\r\nContent-Length: 6\r\n", b"hello"),
        400,
    ),
    "conflicting Content-Length list": (post(b"Content-Length: 5, 6\r\n", b"hello"), 400),
    "Content-Length +5": (post(b"Content-Length: +5\r\n", b"hello"), 400),
    "Content-Length 0x5": (post(b"Content-Length: 0x5\r\n", b"hello"), 400),
    "Content-Length -1": (post(b"Content-Length: -1\r\n", b"hello"), 400),
    "Content-Length 1_0": (post(b"Content-Length: 1_0\r\n", b"helloworld"), 400),
    "Content-Length 20 digits": (post(b"Content-Length: " + b"1" * 20 + b"\r\n", b"x"), 400),
    "Content-Length 5 5": (post(b"Content-Length: 5 5\r\n", b"hello"), 400),
    "Content-Length empty": (post(b"Content-Length: \r\n", b""), 400),
    "unknown Transfer-Encoding": (post(b"Transfer-Encoding: gzip\r\n", b"x"), 400),
    "chunked not final": (post(b"Transfer-Encoding: chunked, gzip\r\n", b"x"), 400),
    "coding before chunked": (post(b"Transfer-Encoding: gzip, chunked\r\n", b"0\r\n\r\n"), 501),
    "chunk size not hex": (
        post(b"Transfer-Encoding: chunked\r\n", b"zz\r\nhello\r\n0\r\n\r\n"),
        400,
    ),
    "chunk size negative": (
        post(b"Transfer-Encoding: chunked\r\n", b"-5\r\nhello\r\n0\r\n\r\n"),
        400,
    ),
    "chunk size 0x prefix": (
        post(b"Transfer-Encoding: chunked\r\n", b"0x5\r\nhello\r\n0\r\n\r\n"),
        400,
    ),
    "chunk size too long": (
        post(b"Transfer-Encoding: chunked\r\n", b"1" * 17 + b"\r\nhello\r\n0\r\n\r\n"),
        400,
    ),
    "chunk size empty": (post(b"Transfer-Encoding: chunked\r\n", b"\r\nhello\r\n0\r\n\r\n"), 400),
    "chunk data longer than its size": (
        post(b"Transfer-Encoding: chunked\r\n", b"3\r\nhello\r\n0\r\n\r\n"),
        400,
    ),
    "bare LF after chunk size": (
        post(b"Transfer-Encoding: chunked\r\n", b"5\nhello\r\n0\r\n\r\n"),
        400,
    ),
    "bare LF after chunk data": (
        post(b"Transfer-Encoding: chunked\r\n", b"5\r\nhello\n0\r\n\r\n"),
        400,
    ),
    "bare LF in trailers": (
        post(b"Transfer-Encoding: chunked\r\n", b"5\r\nhello\r\n0\r\nX-T: 1\n\r\n"),
        400,
    ),
}


@pytest.mark.parametrize("case", sorted(BAD))
def test_bad_request_is_refused_once_logged_and_harmless(serve, wire, caplog, case) -> None:
    raw, status = BAD[case]
    live = serve()
    with caplog.at_level(logging.INFO, logger="squall.general"):
        data = wire.exchange(live.port, raw + FOLLOW_UP)
    assert b"Traceback" not in data
    (response,) = wire.parse(data, ["POST" if raw.startswith(b"POST") else "GET"])
    assert response.status == status, data
    assert response.headers.get("connection") == "close"
    assert response.closes
    assert b"smuggled" not in data
    refusals = [
        r for r in caplog.records if r.name == "squall.general" and r.levelno == logging.INFO
    ]
    assert len(refusals) == 1, [r.getMessage() for r in caplog.records]
    assert f"({status})" in refusals[0].getMessage()
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]
    # The server is unharmed.
    after = wire.request_once(live.port, b"GET /after HTTP/1.1\r\nHost: x\r\n\r\n")
    assert (after.status, after.body) == (200, b"GET /after 0")


def test_header_section_over_max_header_size_is_431(serve, wire, caplog) -> None:
    live = serve(max_header_size=1024)
    raw = OK + b"X-Big: " + b"v" * 2000 + b"\r\n\r\n"
    with caplog.at_level(logging.INFO, logger="squall.general"):
        data = wire.exchange(live.port, raw + FOLLOW_UP)
    (response,) = wire.parse(data)
    assert response.status == 431 and response.closes
    assert any("max_header_size" in r.getMessage() for r in caplog.records)
    # A head that never ends is cut off as soon as it passes the limit.
    with wire.connect(live.port) as sock:
        sock.sendall(OK + b"X-Big: " + b"v" * 1500)
        (response,) = wire.parse(wire.read_all(sock))
    assert response.status == 431


def test_many_small_fields_count_against_max_header_size(serve, wire) -> None:
    live = serve(max_header_size=2048)
    fields = b"".join(b"X-F%d: v\r\n" % i for i in range(400))
    (response,) = wire.parse(wire.exchange(live.port, OK + fields + b"\r\n"))
    assert response.status == 431


@pytest.mark.parametrize("chunked", [False, True], ids=["content-length", "chunked"])
def test_body_over_max_body_size_is_413(serve, wire, caplog, chunked) -> None:
    seen = []
    live = serve(lambda request: seen.append(request), max_body_size=100)
    if chunked:
        raw = post(b"Transfer-Encoding: chunked\r\n", b"40\r\n" + b"a" * 64 + b"\r\n") * 1
        raw += b"40\r\n" + b"a" * 64 + b"\r\n0\r\n\r\n"
    else:
        raw = post(b"Content-Length: 200\r\n", b"a" * 200)
    with caplog.at_level(logging.INFO, logger="squall.general"):
        data = wire.exchange(live.port, raw + FOLLOW_UP)
    (response,) = wire.parse(data, ["POST"])
    assert response.status == 413 and response.closes
    assert seen == []
    assert any("max_body_size" in r.getMessage() for r in caplog.records)


def test_413_comes_before_100_continue(serve, wire) -> None:
    live = serve(max_body_size=10)
    with wire.connect(live.port) as sock:
        sock.sendall(post(b"Content-Length: 50\r\nExpect: 100-continue\r\n"))
        data = wire.read_all(sock)
    assert b"100 Continue" not in data
    (response,) = wire.parse(data, ["POST"])
    assert response.status == 413


def test_identical_content_length_fields_count_once(serve, wire) -> None:
    live = serve()
    raw = post(b"Content-Length: 5\r\nContent-Length: 5\r\nConnection: close\r\n", b"hello")
    (response,) = wire.parse(wire.exchange(live.port, raw), ["POST"])
    assert (response.status, response.body) == (200, b"POST /p 5")
    raw = post(b"Content-Length: 5, 5\r\nConnection: close\r\n", b"hello")
    (response,) = wire.parse(wire.exchange(live.port, raw), ["POST"])
    assert (response.status, response.body) == (200, b"POST /p 5")


def test_bare_lf_line_ends_are_accepted_in_the_head(serve, wire) -> None:
    live = serve()
    raw = b"GET /lf HTTP/1.1\nHost: x\nConnection: close\n\n"
    (response,) = wire.parse(wire.exchange(live.port, raw))
    assert (response.status, response.body) == (200, b"GET /lf 0")


def test_obs_fold_is_unfolded(serve, wire) -> None:
    got = []

    def handler(request) -> None:
        got.append(request.headers["X-Folded"])
        wire.answer(request)

    live = serve(handler)
    raw = OK + b"X-Folded: one\r\n  two\r\n\tthree\r\nConnection: close\r\n\r\n"
    (response,) = wire.parse(wire.exchange(live.port, raw))
    assert response.status == 200
    assert got == ["one two three"]


def test_chunk_extensions_and_trailers_are_accepted(serve, wire) -> None:
    bodies = []

    def handler(request) -> None:
        bodies.append(request.body)
        wire.answer(request)

    live = serve(handler)
    raw = post(
        b"Transfer-Encoding: chunked\r\nConnection: close\r\n",
        b"5;name=value\r\nhello\r\n6;x\r\n world\r\n0\r\nX-Checksum: abc\r\n\r\n",
    )
    (response,) = wire.parse(wire.exchange(live.port, raw), ["POST"])
    assert response.status == 200
    assert bodies == [b"hello world"]


def test_absolute_form_target_is_served_with_its_authority_as_host(serve, wire) -> None:
    seen = []

    def handler(request) -> None:
        seen.append((request.uri, request.host, request.path, request.query))
        wire.answer(request)

    live = serve(handler)
    raw = b"GET http://example.com:8080/p?q=1 HTTP/1.1\r\nHost: other\r\nConnection: close\r\n\r\n"
    (response,) = wire.parse(wire.exchange(live.port, raw))
    assert response.status == 200
    assert seen == [("/p?q=1", "example.com:8080", "/p", "q=1")]


def test_options_asterisk_is_accepted(serve, wire) -> None:
    live = serve()
    raw = b"OPTIONS * HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
    (response,) = wire.parse(wire.exchange(live.port, raw))
    assert (response.status, response.body) == (200, b"OPTIONS * 0")


def test_client_closing_mid_head_gets_no_hang(serve, wire, caplog) -> None:
    live = serve()
    with caplog.at_level(logging.INFO, logger="squall.general"), wire.connect(live.port) as sock:
        sock.sendall(b"GET / HTTP/1.1\r\nHos")
        sock.shutdown(1)  # SHUT_WR: the client is done sending
        data = wire.read_all(sock)
    assert data == b"" or wire.parse(data)[0].status == 400
    after = wire.request_once(live.port, b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
    assert after.status == 200


def test_client_closing_mid_body_tells_nobody_and_keeps_serving(serve, wire) -> None:
    seen = []

    def handler(request) -> None:
        seen.append(request.method)
        wire.answer(request)

    live = serve(handler)
    with wire.connect(live.port) as sock:
        sock.sendall(post(b"Content-Length: 100\r\n", b"only part"))
    after = wire.request_once(live.port, b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
    assert after.status == 200
    assert seen == ["GET"]


def test_error_from_the_application_is_a_500_and_logged_with_traceback(serve, wire, caplog) -> None:
    def broken(request) -> None:
        if request.path == "/boom":
            raise RuntimeError("kaboom")
        wire.answer(request)

    live = serve(broken)
    with caplog.at_level(logging.INFO):
        data = wire.exchange(live.port, b"GET /boom HTTP/1.1\r\nHost: x\r\n\r\n" + FOLLOW_UP)
    assert b"kaboom" not in data and b"Traceback" not in data
    (response,) = wire.parse(data)
    assert response.status == 500 and response.closes
    errors = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert len(errors) == 1 and errors[0].name == "squall.application"
    assert errors[0].exc_info is not None and "kaboom" in str(errors[0].exc_info[1])
    after = wire.request_once(live.port, b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
    assert after.status == 200


def test_error_after_the_response_started_closes_without_a_second_status(
    serve, wire, caplog
) -> None:
    from squall.httputil import HTTPHeaders, ResponseStartLine

    def half(request) -> None:
        request.connection.write_headers(
            ResponseStartLine("HTTP/1.1", 200, "OK"),
            HTTPHeaders({"Content-Length": "10"}),
            b"12345",
        )
        raise RuntimeError("midway")

    live = serve(half)
    with caplog.at_level(logging.ERROR):
        data = wire.exchange(live.port, b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
    assert data.startswith(b"HTTP/1.1 200 OK\r\n")
    assert data.count(b"HTTP/1.1") == 1
    assert data.endswith(b"12345")
    assert any("midway" in str(r.exc_info[1]) for r in caplog.records if r.exc_info)
