"""The I/O-free HTTP/1 codec: H1Reader events, its policy, and H1Writer framing.

Every test runs once per reader: the pure-Python ``H1Reader`` and the
llhttp-backed ``LlhttpReader`` (skipped without httptools) must give the same
events and the same errors for every input here.
"""

from __future__ import annotations

from typing import Any

import pytest
from squall.http1connection._codec import (
    NEED_DATA,
    Data,
    EndOfMessage,
    H1Limits,
    H1ProtocolError,
    H1Reader,
    H1Writer,
    Head,
)
from squall.httputil import (
    HTTPHeaders,
    HTTPInputError,
    HTTPOutputError,
    RequestStartLine,
    ResponseStartLine,
)

LIMITS = H1Limits()

pytestmark = pytest.mark.usefixtures("each_reader")


def _run(reader: H1Reader, pieces: list[bytes], method: str | None = None) -> list[object]:
    """Feed ``pieces`` then EOF; events with Data merged and heads as plain tuples."""
    out: list[object] = []
    feeds = [*pieces, b""]
    if method is not None:
        reader.expect_response_to(method)
    for _ in range(10 * sum(map(len, pieces)) + 50):
        try:
            event = reader.next_event()
        except H1ProtocolError as exc:
            out.append(("error", exc.status))
            return out
        if event is NEED_DATA:
            if not feeds:
                return out
            reader.feed(feeds.pop(0))
        elif type(event) is Data:
            assert event.data, "Data events are never empty"
            if out and type(out[-1]) is bytes:
                out[-1] += event.data
            else:
                out.append(event.data)
        elif type(event) is Head:
            out.append((tuple(event.start_line), list(event.headers.get_all())))
        else:
            assert type(event) is EndOfMessage
            trailers = event.trailers
            out.append(("end", None if trailers is None else list(trailers.get_all())))
            if not reader.keep_alive:
                return out
            reader.start_next_message()
            if method is not None:
                reader.expect_response_to(method)
    raise AssertionError("reader did not settle")


def parse(
    data: bytes, *, client: bool = False, limits: H1Limits = LIMITS, method: str | None = None
) -> list[object]:
    """Parse whole, then one byte at a time, then split in two; all must agree."""
    if client and method is None:
        method = "GET"
    whole = _run(H1Reader(client=client, limits=limits), [data], method)
    single = _run(
        H1Reader(client=client, limits=limits), [data[i : i + 1] for i in range(len(data))], method
    )
    assert single == whole
    for cut in (1, len(data) // 2, len(data) - 1):
        split = _run(H1Reader(client=client, limits=limits), [data[:cut], data[cut:]], method)
        assert split == whole
    return whole


def status(data: bytes, **kwargs: object) -> int | None:
    events = parse(data, **kwargs)  # type: ignore[arg-type]
    last = events[-1] if events else None
    return last[1] if isinstance(last, tuple) and last[0] == "error" else None  # type: ignore[return-value]


GET = b"GET /index?x=1 HTTP/1.1\r\nHost: example.com\r\nAccept: */*\r\n\r\n"


# -- requests: the common shapes -------------------------------------------------


def test_simple_get_gives_head_then_end() -> None:
    assert parse(GET) == [
        (("GET", "/index?x=1", "HTTP/1.1"), [("Host", "example.com"), ("Accept", "*/*")]),
        ("end", None),
    ]


def test_events_are_immutable_and_typed() -> None:
    reader = H1Reader(client=False, limits=LIMITS)
    reader.feed(GET)
    head = reader.next_event()
    assert isinstance(head, Head)
    assert isinstance(head.start_line, RequestStartLine)
    assert isinstance(head.headers, HTTPHeaders)
    with pytest.raises(AttributeError):
        head.headers = HTTPHeaders()  # type: ignore[misc]
    assert reader.next_event() == EndOfMessage(None)
    assert reader.next_event() is NEED_DATA


def test_content_length_body() -> None:
    data = b"POST /p HTTP/1.1\r\nHost: h\r\nContent-Length: 11\r\n\r\nhello world"
    events = parse(data)
    assert events[1:] == [b"hello world", ("end", None)]


def test_feeding_a_bytearray_does_not_keep_the_callers_buffer() -> None:
    reader = H1Reader(client=False, limits=LIMITS)
    chunk = bytearray(b"GET / HTTP/1.1\r\nHost: h\r\n")
    reader.feed(chunk)
    chunk[:] = b"XXXXXXXXXXXXXXXXXXXXXXXXX"
    reader.feed(memoryview(b"\r\n"))  # type: ignore[arg-type]
    head = reader.next_event()
    assert isinstance(head, Head) and head.start_line.path == "/"


def test_zero_content_length_has_no_data_event() -> None:
    data = b"POST /p HTTP/1.1\r\nHost: h\r\nContent-Length: 0\r\n\r\n"
    assert parse(data)[1:] == [("end", None)]


def test_chunked_body_with_extensions_and_trailers() -> None:
    data = (
        b"POST /p HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n"
        b"5;name=value\r\nhello\r\n6 ; x\r\n world\r\nA\r\n0123456789\r\n"
        b"0\r\nChecksum: abc\r\nX-Other: 1\r\n\r\n"
    )
    events = parse(data)
    assert events[1] == b"hello world0123456789"
    assert events[2] == ("end", [("Checksum", "abc"), ("X-Other", "1")])


def test_chunked_without_trailers_has_none() -> None:
    data = b"POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n"
    assert parse(data)[1:] == [b"abc", ("end", None)]


def test_pipelined_requests_in_one_buffer() -> None:
    post = b"POST /b HTTP/1.1\r\nHost: h\r\nContent-Length: 2\r\n\r\nok"
    events = parse(GET + post + GET)
    assert [e[0][1] for e in events if isinstance(e, tuple) and e[0] != "end"] == [
        "/index?x=1",
        "/b",
        "/index?x=1",
    ]
    assert b"ok" in events


def test_start_next_message_before_end_is_refused() -> None:
    reader = H1Reader(client=False, limits=LIMITS)
    reader.feed(b"POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\n\r\n")
    reader.next_event()
    with pytest.raises(RuntimeError):
        reader.start_next_message()


def test_keep_alive_rules() -> None:
    def keep(head: bytes) -> bool:
        reader = H1Reader(client=False, limits=LIMITS)
        reader.feed(head)
        reader.next_event()
        return reader.keep_alive

    assert keep(b"GET / HTTP/1.1\r\nHost: h\r\n\r\n") is True
    assert keep(b"GET / HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n") is False
    assert keep(b"GET / HTTP/1.1\r\nHost: h\r\nConnection: Upgrade, CLOSE\r\n\r\n") is False
    assert keep(b"GET / HTTP/1.0\r\n\r\n") is False
    assert keep(b"GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n") is True


def test_http10_chunked_request_is_not_kept_alive() -> None:
    reader = H1Reader(client=False, limits=LIMITS)
    reader.feed(b"POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\nConnection: keep-alive\r\n\r\n")
    reader.next_event()
    assert reader.keep_alive is False


def test_expects_continue() -> None:
    reader = H1Reader(client=False, limits=LIMITS)
    reader.feed(
        b"PUT / HTTP/1.1\r\nHost: h\r\nExpect: 100-Continue\r\nContent-Length: 1\r\n\r\nx"
        b"GET / HTTP/1.1\r\nHost: h\r\n\r\n"
    )
    reader.next_event()
    assert reader.expects_continue is True
    assert reader.next_event() == Data(b"x")
    reader.next_event()
    reader.start_next_message()
    reader.next_event()
    assert reader.expects_continue is False


def test_http10_expect_is_ignored() -> None:
    reader = H1Reader(client=False, limits=LIMITS)
    reader.feed(b"PUT / HTTP/1.0\r\nExpect: 100-continue\r\nContent-Length: 1\r\n\r\n")
    reader.next_event()
    assert reader.expects_continue is False


def test_eof_between_messages_is_clean() -> None:
    reader = H1Reader(client=False, limits=LIMITS)
    reader.feed(GET)
    reader.next_event()
    reader.next_event()
    reader.start_next_message()
    reader.feed(b"")
    assert reader.next_event() is NEED_DATA


def test_eof_inside_head_or_body_is_an_error() -> None:
    assert status(b"GET / HTTP/1.1\r\nHost:") == 400
    assert status(b"POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\n\r\nab") == 400
    assert status(b"POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nab") == 400


def test_reader_is_dead_after_an_error() -> None:
    reader = H1Reader(client=False, limits=LIMITS)
    reader.feed(b"GET / HTTP/1.1\r\nBad Name: x\r\n\r\n")
    with pytest.raises(H1ProtocolError):
        reader.next_event()
    reader.feed(GET)
    with pytest.raises(H1ProtocolError):
        reader.next_event()


def test_protocol_error_is_an_http_input_error_with_status_and_reason() -> None:
    reader = H1Reader(client=False, limits=LIMITS)
    reader.feed(b"GET / HTTP/1.1\r\nContent-Length: +5\r\nHost: h\r\n\r\n")
    with pytest.raises(HTTPInputError) as caught:
        reader.next_event()
    assert isinstance(caught.value, H1ProtocolError)
    assert caught.value.status == 400
    assert "Content-Length" in caught.value.reason


# -- policy: line ends ---------------------------------------------------------------


def test_bare_lf_ends_head_lines() -> None:
    events = parse(b"GET / HTTP/1.1\nHost: h\nX: 1\n\n")
    assert events == [(("GET", "/", "HTTP/1.1"), [("Host", "h"), ("X", "1")]), ("end", None)]


def test_mixed_line_ends_in_head() -> None:
    events = parse(b"GET / HTTP/1.1\r\nHost: h\nX: 1\r\n\n")
    assert events[0] == (("GET", "/", "HTTP/1.1"), [("Host", "h"), ("X", "1")])


@pytest.mark.parametrize(
    "data",
    [
        b"GET / HTTP/1.1\rHost: h\r\n\r\n",
        b"GET / HTTP/1.1\r\nHost: h\rX: 1\r\n\r\n",
        b"GET / HTTP/1.1\r\nHost: a\rb\r\n\r\n",
        b"GET /\r HTTP/1.1\r\nHost: h\r\n\r\n",
        b"\rGET / HTTP/1.1\r\nHost: h\r\n\r\n",
    ],
)
def test_bare_cr_in_head_is_400(data: bytes) -> None:
    assert status(data) == 400


def test_empty_lines_before_request_line_are_skipped() -> None:
    events = parse(b"\r\n\nGET / HTTP/1.1\r\nHost: h\r\n\r\n")
    assert events[0] == (("GET", "/", "HTTP/1.1"), [("Host", "h")])


@pytest.mark.parametrize(
    "body",
    [
        b"5\nhello\r\n0\r\n\r\n",  # bare LF after the chunk size
        b"5\r\nhello\n0\r\n\r\n",  # bare LF after the chunk data
        b"5\r\nhello\r\n0\n\r\n",  # bare LF after the last chunk
        b"5\r\nhello\r\n0\r\nT: 1\n\r\n",  # bare LF in a trailer line
        b"5\r\nhello\r\n0\r\n\n",  # bare LF ending the trailer section
    ],
)
def test_bare_lf_in_chunked_framing_is_400(body: bytes) -> None:
    head = b"POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n"
    assert status(head + body) == 400


def test_chunk_data_must_be_followed_by_crlf() -> None:
    head = b"POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n"
    assert status(head + b"3\r\nabcX\r\n0\r\n\r\n") == 400


# -- policy: header fields -----------------------------------------------------------------


def test_obs_fold_is_unfolded_with_one_space() -> None:
    events = parse(
        b"GET / HTTP/1.1\r\nHost: h\r\nX-Long: one\r\n   two\r\n\tthree  \r\nY: 2\r\n\r\n"
    )
    assert events[0][1] == [("Host", "h"), ("X-Long", "one two three"), ("Y", "2")]  # type: ignore[index]


def test_obs_fold_on_the_first_line_is_400() -> None:
    assert status(b"GET / HTTP/1.1\r\n folded: x\r\nHost: h\r\n\r\n") == 400


@pytest.mark.parametrize(
    "line",
    [
        b"Bad Name: x",
        b"Bad(Name): x",
        b'Quote"d: x',
        b"Host : x",
        b"Host\t: x",
        b": empty-name",
        b"no colon at all",
        b"X: a\x00b",
        b"X: a\x01b",
        b"X: a\x7fb",
        b"X: a\x1bb",
        b"N\xe9me: x",
    ],
)
def test_invalid_header_lines_are_400(line: bytes) -> None:
    assert status(b"GET / HTTP/1.1\r\nHost: h\r\n" + line + b"\r\n\r\n") == 400


def test_values_are_stripped_and_may_hold_htab_and_obs_text() -> None:
    events = parse(b"GET / HTTP/1.1\r\nHost: h\r\nX: \t a\tb \xe9 \t\r\nEmpty:\r\n\r\n")
    assert events[0][1] == [("Host", "h"), ("X", "a\tb \xe9"), ("Empty", "")]  # type: ignore[index]


def test_repeated_fields_keep_every_value_in_order() -> None:
    reader = H1Reader(client=False, limits=LIMITS)
    reader.feed(b"GET / HTTP/1.1\r\nHost: h\r\nCookie: a=1\r\nX: y\r\ncookie: b=2\r\n\r\n")
    head = reader.next_event()
    assert isinstance(head, Head)
    assert head.headers.get_list("Cookie") == ["a=1", "b=2"]
    assert head.headers["cookie"] == "a=1,b=2"
    assert list(head.headers) == ["Host", "Cookie", "X"]


def test_header_names_come_back_canonical() -> None:
    events = parse(b"GET / HTTP/1.1\r\nhOST: h\r\ncontent-TYPE: t\r\nx-a-b: 1\r\n\r\n")
    assert [name for name, _ in events[0][1]] == ["Host", "Content-Type", "X-A-B"]  # type: ignore[index]


# -- policy: Content-Length and Transfer-Encoding -------------------------------------------


@pytest.mark.parametrize(
    "value", [b"+5", b"-1", b"0x5", b"1_0", b"5 5", b"", b"five", b"1" * 19, b"1" * 20, b"\xb2"]
)
def test_invalid_content_length_is_400(value: bytes) -> None:
    assert status(b"POST / HTTP/1.1\r\nHost: h\r\nContent-Length: " + value + b"\r\n\r\n") == 400


def test_eighteen_digit_content_length_is_accepted() -> None:
    reader = H1Reader(client=False, limits=LIMITS)
    reader.feed(b"POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 000000000000000005\r\n\r\nabcde")
    reader.next_event()
    assert reader.next_event() == Data(b"abcde")


def test_identical_content_lengths_count_as_one() -> None:
    for fields in (b"Content-Length: 3\r\nContent-Length: 3\r\n", b"Content-Length: 3, 3\r\n"):
        data = b"POST / HTTP/1.1\r\nHost: h\r\n" + fields + b"\r\nabc"
        assert parse(data)[1:] == [b"abc", ("end", None)]


def test_conflicting_content_lengths_are_400() -> None:
    for fields in (b"Content-Length: 3\r\nContent-Length: 4\r\n", b"Content-Length: 3, 4\r\n"):
        assert status(b"POST / HTTP/1.1\r\nHost: h\r\n" + fields + b"\r\nabcd") == 400


def test_content_length_with_transfer_encoding_is_400() -> None:
    data = (
        b"POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\n"
        b"Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n"
    )
    assert status(data) == 400


@pytest.mark.parametrize(
    ("coding", "code"),
    [
        (b"gzip", 400),
        (b"chunked, gzip", 400),
        (b"identity", 400),
        (b"", 400),
        (b"gzip, chunked", 501),
        (b"chunked, chunked", 501),
        (b"CHUNKED", None),
        (b" chunked ", None),
    ],
)
def test_transfer_encoding_rules(coding: bytes, code: int | None) -> None:
    data = b"POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: " + coding + b"\r\n\r\n0\r\n\r\n"
    assert status(data) == code


@pytest.mark.parametrize(
    "size_line", [b"-5", b"+5", b"0x5", b"g", b"", b" 5", b"1" * 17, b"5\x00", b"5;\x01"]
)
def test_invalid_chunk_size_is_400(size_line: bytes) -> None:
    head = b"POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n"
    assert status(head + size_line + b"\r\nhello\r\n0\r\n\r\n") == 400


def test_uppercase_hex_chunk_size() -> None:
    head = b"POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n"
    events = parse(head + b"0000A\r\n0123456789\r\n0\r\n\r\n")
    assert events[1] == b"0123456789"


def test_invalid_trailer_is_400() -> None:
    head = b"POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n"
    assert status(head + b"0\r\nBad Trailer: 1\r\n\r\n") == 400


# -- policy: request line and target ------------------------------------------------------


def test_absolute_form_target_becomes_origin_form_and_sets_host() -> None:
    events = parse(b"GET http://example.com:8080/p/q?x=1 HTTP/1.1\r\nHost: other\r\n\r\n")
    assert events[0] == (("GET", "/p/q?x=1", "HTTP/1.1"), [("Host", "example.com:8080")])


def test_absolute_form_without_path_is_slash_and_https_is_accepted() -> None:
    events = parse(b"GET https://user@example.com HTTP/1.0\r\n\r\n")
    assert events[0] == (("GET", "/", "HTTP/1.0"), [("Host", "example.com")])


def test_absolute_form_satisfies_the_host_requirement() -> None:
    events = parse(b"GET http://a.example/ HTTP/1.1\r\n\r\n")
    assert events[0] == (("GET", "/", "HTTP/1.1"), [("Host", "a.example")])


@pytest.mark.parametrize(
    "target", [b"ftp://example.com/", b"http:///nohost", b"example.com/x", b"mailto:x@y", b"*"]
)
def test_other_target_forms_are_400(target: bytes) -> None:
    assert status(b"GET " + target + b" HTTP/1.1\r\nHost: h\r\n\r\n") == 400


def test_options_asterisk_is_accepted() -> None:
    events = parse(b"OPTIONS * HTTP/1.1\r\nHost: h\r\n\r\n")
    assert events[0][0] == ("OPTIONS", "*", "HTTP/1.1")  # type: ignore[index]


def test_connect_is_501() -> None:
    assert status(b"CONNECT example.com:443 HTTP/1.1\r\nHost: example.com\r\n\r\n") == 501


@pytest.mark.parametrize(
    "line",
    [
        b"GET / HTTP/1.1 extra",
        b"GET  / HTTP/1.1",
        b"GET /  HTTP/1.1",
        b"GET /",
        b"GET / http/1.1",
        b"GET / HTTP/1",
        b"GET / HTTP/1.10",
        b"G(T / HTTP/1.1",
        b"GET /a\x01b HTTP/1.1",
        b"GET /a\tb HTTP/1.1",
        b" GET / HTTP/1.1",
        b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03",
    ],
)
def test_malformed_request_line_is_400(line: bytes) -> None:
    assert status(line + b"\r\nHost: h\r\n\r\n") == 400


@pytest.mark.parametrize("version", [b"HTTP/2.0", b"HTTP/1.2", b"HTTP/0.9", b"HTTP/3.0"])
def test_other_http_versions_are_505(version: bytes) -> None:
    assert status(b"GET / " + version + b"\r\nHost: h\r\n\r\n") == 505


def test_http11_request_needs_exactly_one_host() -> None:
    assert status(b"GET / HTTP/1.1\r\nX: 1\r\n\r\n") == 400
    assert status(b"GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n") == 400
    assert status(b"GET / HTTP/1.0\r\n\r\n") is None


# -- limits ----------------------------------------------------------------------------


def test_long_start_line_is_414() -> None:
    limits = H1Limits(max_start_line=64, max_header_size=4096)
    assert status(b"GET /" + b"a" * 100 + b" HTTP/1.1\r\nHost: h\r\n\r\n", limits=limits) == 414
    # Also while the line is still arriving.
    reader = H1Reader(client=False, limits=limits)
    reader.feed(b"GET /" + b"a" * 100)
    with pytest.raises(H1ProtocolError) as caught:
        reader.next_event()
    assert caught.value.status == 414


def test_large_head_is_431() -> None:
    limits = H1Limits(max_start_line=64, max_header_size=256)
    fields = b"".join(b"X-%d: %s\r\n" % (i, b"v" * 20) for i in range(20))
    assert status(b"GET / HTTP/1.1\r\nHost: h\r\n" + fields + b"\r\n", limits=limits) == 431
    reader = H1Reader(client=False, limits=limits)
    reader.feed(b"GET / HTTP/1.1\r\n" + fields)
    with pytest.raises(H1ProtocolError) as caught:
        reader.next_event()
    assert caught.value.status == 431


def test_head_exactly_at_the_limit_is_accepted() -> None:
    head = b"GET / HTTP/1.1\r\nHost: h\r\n\r\n"
    assert status(head, limits=H1Limits(max_header_size=len(head))) is None
    assert status(head, limits=H1Limits(max_header_size=len(head) - 1)) == 431


def test_body_over_max_body_size_is_413() -> None:
    limits = H1Limits(max_body_size=10)
    assert status(b"POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 11\r\n\r\n", limits=limits) == 413
    chunked = b"POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n"
    assert status(chunked + b"6\r\nabcdef\r\n6\r\nabcdef\r\n0\r\n\r\n", limits=limits) == 413
    assert status(chunked + b"5\r\nabcde\r\n5\r\nabcde\r\n0\r\n\r\n", limits=limits) is None


def test_large_trailer_section_is_431() -> None:
    limits = H1Limits(max_header_size=128)
    chunked = b"POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n"
    assert status(chunked + b"T: " + b"x" * 200 + b"\r\n\r\n", limits=limits) == 431


def test_overlong_chunk_size_line_is_400() -> None:
    chunked = b"POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n"
    assert status(chunked + b"5;" + b"e" * 5000 + b"\r\nhello\r\n0\r\n\r\n") == 400


# -- client side ----------------------------------------------------------------------


def test_response_with_content_length() -> None:
    events = parse(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nhi", client=True)
    assert events == [(("HTTP/1.1", 200, "OK"), [("Content-Length", "2")]), b"hi", ("end", None)]


def test_response_start_line_types() -> None:
    reader = H1Reader(client=True, limits=LIMITS)
    reader.feed(b"HTTP/1.0 404 Not Found\r\n\r\n")
    head = reader.next_event()
    assert isinstance(head, Head)
    assert head.start_line == ResponseStartLine("HTTP/1.0", 404, "Not Found")


def test_response_until_close() -> None:
    events = parse(b"HTTP/1.1 200 OK\r\n\r\nall of this", client=True)
    assert events[1:] == [b"all of this", ("end", None)]


def test_response_chunked_and_other_coding() -> None:
    chunked = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nhi\r\n0\r\n\r\n"
    assert parse(chunked, client=True)[1:] == [b"hi", ("end", None)]
    other = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\nraw bytes"
    assert parse(other, client=True)[1:] == [b"raw bytes", ("end", None)]


def test_response_transfer_encoding_overrides_content_length() -> None:
    data = (
        b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\nTransfer-Encoding: chunked\r\n\r\n"
        b"2\r\nhi\r\n0\r\n\r\n"
    )
    assert parse(data, client=True)[1:] == [b"hi", ("end", None)]


@pytest.mark.parametrize("code", [204, 304])
def test_no_body_statuses(code: int) -> None:
    data = (
        b"HTTP/1.1 %d X\r\nContent-Length: 5\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"
        % code
    )
    events = parse(data, client=True)
    assert events[1] == ("end", None)
    assert events[2][0] == ("HTTP/1.1", 200, "OK")  # type: ignore[index]


def test_head_response_has_no_body() -> None:
    data = b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n"
    assert parse(data, client=True, method="HEAD")[1:] == [("end", None)]


def test_informational_response_is_followed_by_the_final_one() -> None:
    data = b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nx"
    events = parse(data, client=True)
    assert events == [
        (("HTTP/1.1", 100, "Continue"), []),
        (("HTTP/1.1", 200, "OK"), [("Content-Length", "1")]),
        b"x",
        ("end", None),
    ]


def test_switching_protocols_ends_the_http_conversation() -> None:
    reader = H1Reader(client=True, limits=LIMITS)
    reader.feed(b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\r\n\x81\x00")
    assert isinstance(reader.next_event(), Head)
    assert reader.next_event() == EndOfMessage(None)
    assert reader.keep_alive is False
    assert reader.buffered == b"\x81\x00"


def test_status_line_without_reason() -> None:
    events = parse(b"HTTP/1.1 200\r\nContent-Length: 0\r\n\r\n", client=True)
    assert events[0][0] == ("HTTP/1.1", 200, "")  # type: ignore[index]


@pytest.mark.parametrize(
    "line", [b"HTTP/1.1 20 OK", b"HTTP/2 200 OK", b"FOO 200 OK", b"HTTP/1.1 abc OK"]
)
def test_malformed_status_line(line: bytes) -> None:
    assert status(line + b"\r\n\r\n", client=True) == 400


# -- the writer --------------------------------------------------------------------------


def _response(headers: dict[str, str] | None = None, **kwargs: object) -> tuple[H1Writer, bytes]:
    writer = H1Writer(client=False)
    options = {"request_method": "GET", "keep_alive": True} | kwargs
    head = writer.head(
        ResponseStartLine("HTTP/1.1", 200, "OK"),
        HTTPHeaders(headers or {}),
        **options,  # type: ignore[arg-type]
    )
    return writer, head


def test_writer_uses_content_length_as_given() -> None:
    writer, head = _response({"Content-Length": "5"})
    assert head == b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n"
    assert writer.data(b"hel") == b"hel"
    assert writer.data(b"lo") == b"lo"
    assert writer.end() == b""


def test_writer_refuses_more_than_content_length() -> None:
    writer, _ = _response({"Content-Length": "2"})
    with pytest.raises(HTTPOutputError):
        writer.data(b"abc")


def test_writer_refuses_less_than_content_length() -> None:
    writer, _ = _response({"Content-Length": "5"})
    writer.data(b"abc")
    with pytest.raises(HTTPOutputError):
        writer.end()


def test_writer_chunks_without_content_length() -> None:
    writer, head = _response()
    assert head == b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
    assert writer.data(b"hello world 0123") == b"10\r\nhello world 0123\r\n"
    assert writer.data(b"") == b""
    assert writer.end() == b"0\r\n\r\n"


def test_writer_closes_for_http10_peer_without_length() -> None:
    writer, head = _response(peer_version="HTTP/1.0")
    assert b"Transfer-Encoding" not in head
    assert b"Connection: close\r\n" in head
    assert writer.keep_alive is False
    assert writer.data(b"abc") == b"abc"
    assert writer.end() == b""


def test_writer_honours_a_connection_close_header() -> None:
    writer, head = _response({"Content-Length": "0", "Connection": "close"})
    assert head.count(b"Connection") == 1
    assert writer.keep_alive is False


def test_writer_keep_alive_for_http10_peer_says_so() -> None:
    _, head = _response({"Content-Length": "0"}, peer_version="HTTP/1.0")
    assert b"Connection: keep-alive\r\n" in head


def test_writer_adds_connection_close_when_not_keeping_alive() -> None:
    writer, head = _response({"Content-Length": "0"}, keep_alive=False)
    assert head.endswith(b"Connection: close\r\n\r\n")
    assert writer.keep_alive is False


@pytest.mark.parametrize(("code", "method"), [(204, "GET"), (304, "GET"), (200, "HEAD")])
def test_writer_no_body_cases(code: int, method: str) -> None:
    writer = H1Writer(client=False)
    head = writer.head(
        ResponseStartLine("HTTP/1.1", code, "X"),
        HTTPHeaders({"Content-Length": "10"} if method == "HEAD" else {}),
        request_method=method,
        keep_alive=True,
    )
    assert b"Transfer-Encoding" not in head
    with pytest.raises(HTTPOutputError):
        writer.data(b"x")
    assert writer.end() == b""


def test_writer_informational_then_final() -> None:
    writer = H1Writer(client=False)
    assert (
        writer.head(ResponseStartLine("HTTP/1.1", 100, "Continue"), HTTPHeaders(), keep_alive=True)
        == b"HTTP/1.1 100 Continue\r\n\r\n"
    )
    writer.head(
        ResponseStartLine("HTTP/1.1", 200, "OK"),
        HTTPHeaders({"Content-Length": "0"}),
        keep_alive=True,
    )
    assert writer.end() == b""


def test_writer_refuses_header_injection() -> None:
    writer = H1Writer(client=False)
    for bad in ("a\r\nSet-Cookie: x=1", "a\nb", "a\rb"):
        with pytest.raises(HTTPOutputError):
            writer.head(
                ResponseStartLine("HTTP/1.1", 200, "OK"), HTTPHeaders({"X": bad}), keep_alive=True
            )


def test_writer_repeated_headers_are_written_separately() -> None:
    headers = HTTPHeaders({"Content-Length": "0"})
    headers.add("Set-Cookie", "a=1")
    headers.add("Set-Cookie", "b=2")
    writer = H1Writer(client=False)
    head = writer.head(ResponseStartLine("HTTP/1.1", 200, "OK"), headers, keep_alive=True)
    assert b"Set-Cookie: a=1\r\nSet-Cookie: b=2\r\n" in head


def test_writer_head_before_end_is_refused() -> None:
    writer, _ = _response({"Content-Length": "1"})
    with pytest.raises(HTTPOutputError):
        writer.head(ResponseStartLine("HTTP/1.1", 200, "OK"), HTTPHeaders(), keep_alive=True)


def test_writer_is_reusable_after_end() -> None:
    writer, _ = _response({"Content-Length": "0"})
    writer.end()
    head = writer.head(
        ResponseStartLine("HTTP/1.1", 404, "Not Found"), HTTPHeaders(), keep_alive=True
    )
    assert head.startswith(b"HTTP/1.1 404 Not Found\r\n")


def test_client_writer_frames_requests() -> None:
    writer = H1Writer(client=True)
    get = writer.head(
        RequestStartLine("GET", "/", "HTTP/1.1"), HTTPHeaders({"Host": "h"}), keep_alive=True
    )
    assert get == b"GET / HTTP/1.1\r\nHost: h\r\n\r\n"
    with pytest.raises(HTTPOutputError):
        writer.data(b"no body on a bare GET")
    writer.end()
    post = writer.head(
        RequestStartLine("POST", "/", "HTTP/1.1"), HTTPHeaders({"Host": "h"}), keep_alive=False
    )
    assert b"Transfer-Encoding: chunked\r\n" in post
    assert b"Connection: close\r\n" in post
    assert writer.data(b"ab") == b"2\r\nab\r\n"
    assert writer.end() == b"0\r\n\r\n"


def test_writer_output_parses_back_with_the_reader() -> None:
    writer, head = _response({"Content-Type": "text/plain"})
    wire = head + writer.data(b"hello ") + writer.data(b"world") + writer.end()
    events = parse(wire, client=True)
    assert events[1:] == [b"hello world", ("end", None)]


# -- the writer's bytes path (response_head: ASGI's header form) --------------------------

_PARITY_CASES = [
    ({"Content-Length": "5"}, {}),
    ({}, {}),
    ({}, {"peer_version": "HTTP/1.0"}),
    ({"Content-Length": "0", "Connection": "close"}, {}),
    ({"Content-Length": "0"}, {"peer_version": "HTTP/1.0"}),
    ({"Content-Length": "0"}, {"keep_alive": False}),
    ({"Content-Length": "10"}, {"request_method": "HEAD"}),
    ({"Transfer-Encoding": "chunked", "X-A": "b"}, {}),
    ({"Content-Type": "text/plain", "Set-Cookie": "a=1"}, {}),
]


@pytest.mark.parametrize(("fields", "options"), _PARITY_CASES)
def test_response_head_writes_what_head_writes(
    fields: dict[str, str], options: dict[str, object]
) -> None:
    wanted, text_head = _response(fields, **options)
    writer = H1Writer(client=False)
    merged = {"request_method": "GET", "keep_alive": True} | options
    pairs = [(name.lower().encode(), value.encode()) for name, value in fields.items()]
    head = writer.response_head(200, pairs, **merged)  # type: ignore[arg-type]
    assert head == text_head
    assert writer.keep_alive is wanted.keep_alive
    # And the body is framed the same way (or refused the same way).
    assert _outcome(writer.data, b"hello") == _outcome(wanted.data, b"hello")
    assert _outcome(writer.end) == _outcome(wanted.end)


def _outcome(call: Any, *args: object) -> object:
    try:
        return call(*args)
    except HTTPOutputError:
        return HTTPOutputError


def test_response_head_declares_a_whole_body() -> None:
    writer = H1Writer(client=False)
    head = writer.response_head(
        200,
        [(b"content-type", b"text/plain")],
        request_method="GET",
        keep_alive=True,
        body_length=12,
    )
    assert head == b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 12\r\n\r\n"
    with pytest.raises(HTTPOutputError):
        writer.data(b"x" * 13)


def test_response_head_keeps_the_fields_framing_over_body_length() -> None:
    writer = H1Writer(client=False)
    head = writer.response_head(
        200,
        [(b"transfer-encoding", b"chunked")],
        request_method="GET",
        keep_alive=True,
        body_length=3,
    )
    assert b"Content-Length" not in head
    assert writer.data(b"abc") == b"3\r\nabc\r\n"


def test_response_head_takes_any_case_and_buffer_types() -> None:
    writer = H1Writer(client=False)
    head = writer.response_head(
        404,
        [[bytearray(b"CONTENT-LENGTH"), memoryview(b"0")], (b"x-Thing", b"\xe9")],
        request_method="GET",
        keep_alive=True,
    )
    assert head == b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nX-Thing: \xe9\r\n\r\n"
    assert writer.end() == b""


@pytest.mark.parametrize(
    "pairs",
    [
        [(b"x", b"a\r\nSet-Cookie: x=1")],
        [(b"x", b"a\nb")],
        [(b"x", b"a\rb")],
        [(b"content-length", b"1"), (b"transfer-encoding", b"chunked")],
        [(b"content-length", b"1"), (b"content-length", b"1")],
        [(b"content-length", b"-1")],
        [(b"transfer-encoding", b"gzip")],
    ],
)
def test_response_head_refuses_what_head_refuses(pairs: list[tuple[bytes, bytes]]) -> None:
    writer = H1Writer(client=False)
    with pytest.raises(HTTPOutputError):
        writer.response_head(200, pairs, request_method="GET", keep_alive=True)


def test_response_head_is_for_final_server_responses() -> None:
    with pytest.raises(HTTPOutputError):
        H1Writer(client=False).response_head(100, [], request_method="GET", keep_alive=True)
    with pytest.raises(HTTPOutputError):
        H1Writer(client=True).response_head(200, [], request_method="GET", keep_alive=True)
