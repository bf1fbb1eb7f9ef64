"""h11 as an independent parser: it accepts what H1Writer writes, and H1Reader reads what h11 writes.

The reading tests run once per reader (pure Python and llhttp).
"""

from __future__ import annotations

import itertools

import h11
import pytest
from squall.http1connection._codec import (
    NEED_DATA,
    Data,
    EndOfMessage,
    H1Limits,
    H1Reader,
    H1Writer,
    Head,
)
from squall.httputil import HTTPHeaders, RequestStartLine, ResponseStartLine

pytestmark = pytest.mark.usefixtures("each_reader")

REASONS = {
    100: "Continue",
    200: "OK",
    201: "Created",
    204: "No Content",
    304: "Not Modified",
    404: "Not Found",
    500: "Internal Server Error",
}


def _h11_read_response(wire: bytes, method: str, version: str) -> tuple[int, bytes, bool]:
    """Let an h11 client that sent ``method`` parse ``wire``; (status, body, must close)."""
    client = h11.Connection(h11.CLIENT)
    # h11 only speaks HTTP/1.1; for an HTTP/1.0 peer it still checks the framing.
    client.send(h11.Request(method=method, target="/", headers=[("Host", "x")]))
    client.send(h11.EndOfMessage())
    client.receive_data(wire)
    status = 0
    body = b""
    while True:
        event = client.next_event()
        if isinstance(event, h11.InformationalResponse):
            continue
        if isinstance(event, h11.Response):
            status = event.status_code
        elif isinstance(event, h11.Data):
            body += event.data
        elif isinstance(event, h11.EndOfMessage):
            return status, body, client.their_state is h11.MUST_CLOSE
        elif event is h11.NEED_DATA:
            # A close-delimited body ends with the connection.
            client.receive_data(b"")
        else:
            raise AssertionError(f"unexpected h11 event {event!r}")


@pytest.mark.parametrize(
    ("code", "method", "with_length", "version", "keep_alive"),
    list(
        itertools.product(
            [200, 201, 204, 304, 404, 500],
            ["GET", "HEAD", "POST"],
            [True, False],
            ["HTTP/1.1", "HTTP/1.0"],
            [True, False],
        )
    ),
)
def test_h11_accepts_every_response_we_write(
    code: int, method: str, with_length: bool, version: str, keep_alive: bool
) -> None:
    body_allowed = method != "HEAD" and code not in (204, 304)
    payload = b"hello, world" if body_allowed else b""
    headers = HTTPHeaders({"Content-Type": "text/plain", "Server": "squall"})
    headers.add("Set-Cookie", "a=1")
    headers.add("Set-Cookie", "b=2")
    if with_length and code not in (204, 304):
        headers["Content-Length"] = str(len(b"hello, world"))
    writer = H1Writer(client=False)
    wire = writer.head(
        ResponseStartLine("HTTP/1.1", code, REASONS[code]),
        headers,
        request_method=method,
        keep_alive=keep_alive,
        peer_version=version,
    )
    if body_allowed:
        wire += writer.data(payload[:5]) + writer.data(payload[5:])
    wire += writer.end()
    status, body, must_close = _h11_read_response(wire, method, version)
    assert status == code
    assert body == payload
    if not writer.keep_alive:
        assert must_close or version == "HTTP/1.0"
    # Our own client-side reader agrees.
    reader = H1Reader(client=True, limits=H1Limits())
    reader.expect_response_to(method)
    reader.feed(wire)
    reader.feed(b"")
    got = b""
    while True:
        event = reader.next_event()
        if type(event) is Data:
            got += event.data
        elif type(event) is EndOfMessage:
            break
        assert event is not NEED_DATA
    assert got == payload


def test_h11_accepts_informational_then_final() -> None:
    writer = H1Writer(client=False)
    wire = writer.head(
        ResponseStartLine("HTTP/1.1", 100, "Continue"), HTTPHeaders(), keep_alive=True
    )
    wire += writer.head(
        ResponseStartLine("HTTP/1.1", 200, "OK"),
        HTTPHeaders({"Content-Length": "2"}),
        keep_alive=True,
    )
    wire += writer.data(b"ok") + writer.end()
    assert _h11_read_response(wire, "POST", "HTTP/1.1")[:2] == (200, b"ok")


def test_h11_server_accepts_requests_we_write() -> None:
    writer = H1Writer(client=True)
    wire = writer.head(
        RequestStartLine("POST", "/upload?x=1", "HTTP/1.1"),
        HTTPHeaders({"Host": "example.com", "User-Agent": "squall"}),
        keep_alive=True,
    )
    wire += writer.data(b"abc") + writer.data(b"defg") + writer.end()
    wire += writer.head(
        RequestStartLine("GET", "/next", "HTTP/1.1"),
        HTTPHeaders({"Host": "example.com"}),
        keep_alive=False,
    )
    wire += writer.end()
    server = h11.Connection(h11.SERVER)
    server.receive_data(wire)
    seen: list[tuple[bytes, bytes, bytes]] = []
    for _ in range(2):
        target = method = b""
        body = b""
        while True:
            event = server.next_event()
            if isinstance(event, h11.Request):
                method, target = event.method, event.target
            elif isinstance(event, h11.Data):
                body += event.data
            elif isinstance(event, h11.EndOfMessage):
                break
        seen.append((method, target, body))
        server.send(h11.Response(status_code=200, headers=[("Content-Length", "0")]))
        server.send(h11.EndOfMessage())
        if server.their_state is h11.MUST_CLOSE:
            break
        server.start_next_cycle()
    assert seen == [(b"POST", b"/upload?x=1", b"abcdefg"), (b"GET", b"/next", b"")]


def _our_events(wire: bytes) -> list[object]:
    """Our server-side reader over ``wire`` fed whole and byte by byte (they must agree)."""
    results = []
    for pieces in ([wire], [wire[i : i + 1] for i in range(len(wire))]):
        reader = H1Reader(client=False, limits=H1Limits())
        out: list[object] = []
        for piece in pieces:
            reader.feed(piece)
            while True:
                event = reader.next_event()
                if event is NEED_DATA:
                    break
                if type(event) is Head:
                    out.append(("head", tuple(event.start_line), list(event.headers.get_all())))
                elif type(event) is Data:
                    if out and type(out[-1]) is bytes:
                        out[-1] += event.data
                    else:
                        out.append(event.data)
                else:
                    trailers = event.trailers
                    out.append(("end", [] if trailers is None else list(trailers.get_all())))
                    reader.start_next_message()
        results.append(out)
    assert results[0] == results[1]
    return results[0]


H11_REQUESTS = [
    ("GET", "/", [("Host", "a.example")], [], []),
    (
        "GET",
        "/search?q=%20x&y=1",
        [
            ("Host", "a.example"),
            ("Accept", "*/*"),
            ("Cookie", "a=1"),
            ("cookie", "b=2"),
            ("X-Empty", ""),
        ],
        [],
        [],
    ),
    ("POST", "/form", [("Host", "h"), ("Content-Length", "7")], [b"abc", b"defg"], []),
    (
        "POST",
        "/chunks",
        [("Host", "h"), ("Transfer-Encoding", "chunked")],
        [b"one", b"two", b"three"],
        [],
    ),
    (
        "PUT",
        "/trail",
        [("Host", "h"), ("Transfer-Encoding", "chunked"), ("Trailer", "Checksum")],
        [b"data"],
        [("Checksum", "abc123"), ("X-More", "v")],
    ),
    ("DELETE", "/x", [("Host", "h"), ("Content-Length", "0")], [], []),
    ("OPTIONS", "*", [("Host", "h")], [], []),
]


@pytest.mark.parametrize(("method", "target", "headers", "chunks", "trailers"), H11_REQUESTS)
def test_requests_h11_writes_parse_identically(
    method: str,
    target: str,
    headers: list[tuple[str, str]],
    chunks: list[bytes],
    trailers: list[tuple[str, str]],
) -> None:
    client = h11.Connection(h11.CLIENT)
    wire = client.send(h11.Request(method=method, target=target, headers=headers))
    for chunk in chunks:
        wire += client.send(h11.Data(data=chunk))
    wire += client.send(h11.EndOfMessage(headers=trailers))
    events = _our_events(wire)
    # What h11 itself makes of its bytes is the reference.
    server = h11.Connection(h11.SERVER)
    server.receive_data(wire)
    request = server.next_event()
    assert isinstance(request, h11.Request)
    reference_headers = [
        (n.decode("latin-1"), v.decode("latin-1")) for n, v in request.headers.raw_items()
    ]
    head = events[0]
    assert head[0] == "head"  # type: ignore[index]
    assert head[1] == (method, target, "HTTP/1.1")  # type: ignore[index]
    ours = head[2]  # type: ignore[index]
    # Same fields, same values, same order per name (names canonicalised on our side).
    assert sorted((n.lower(), v) for n, v in ours) == sorted(
        (n.lower(), v) for n, v in reference_headers
    )
    body = b""
    end_trailers: list[tuple[str, str]] = []
    while True:
        event = server.next_event()
        if isinstance(event, h11.Data):
            body += event.data
        elif isinstance(event, h11.EndOfMessage):
            end_trailers = [(n.decode(), v.decode()) for n, v in event.headers.raw_items()]
            break
    assert (b"".join(e for e in events if type(e) is bytes)) == body == b"".join(chunks)
    assert events[-1] == ("end", [(n.title(), v) for n, v in end_trailers])


def test_h11_pipelined_requests_parse_identically() -> None:
    client = h11.Connection(h11.CLIENT)
    wire = b""
    for index in range(3):
        wire += client.send(
            h11.Request(
                method="POST", target=f"/{index}", headers=[("Host", "h"), ("Content-Length", "2")]
            )
        )
        wire += client.send(h11.Data(data=b"%02d" % index))
        wire += client.send(h11.EndOfMessage())
        client = h11.Connection(h11.CLIENT)
    events = _our_events(wire)
    assert [e[1][1] for e in events if isinstance(e, tuple) and e[0] == "head"] == [
        "/0",
        "/1",
        "/2",
    ]
    assert [e for e in events if type(e) is bytes] == [b"00", b"01", b"02"]
