"""The parser choice, and the llhttp reader checked against the pure one byte by byte.

test_codec.py pins the policy on both readers; here the two readers are run
side by side on generated inputs (every byte value in every part of a head,
and single-byte mutations of real requests) and must agree on every event and
every error status.
"""

from __future__ import annotations

import logging

import pytest
from squall.http1connection import _parsers
from squall.http1connection._codec import (
    NEED_DATA,
    Data,
    EndOfMessage,
    H1Limits,
    H1ProtocolError,
    H1Reader,
    Head,
)

needs_httptools = pytest.mark.skipif(
    _parsers.HTTPTOOLS_VERSION is None, reason="httptools not installed"
)


def _outcome(cls: type[H1Reader], data: bytes, *, client: bool = False) -> list[object]:
    """Every event for ``data`` then EOF (Data merged), ending with the error status if any."""
    reader = cls(client=client, limits=H1Limits(max_start_line=256, max_header_size=1024))
    if client:
        reader.expect_response_to("GET")
    out: list[object] = []
    fed = False
    for _ in range(4 * len(data) + 20):
        try:
            event = reader.next_event()
        except H1ProtocolError as exc:
            return [*out, ("error", exc.status)]
        if event is NEED_DATA:
            if fed:
                return out
            reader.feed(data)
            reader.feed(b"")
            fed = True
        elif type(event) is Head:
            out.append((tuple(event.start_line), list(event.headers.get_all()), reader.keep_alive))
        elif type(event) is Data:
            if out and type(out[-1]) is bytes:
                out[-1] += event.data
            else:
                out.append(event.data)
        else:
            assert type(event) is EndOfMessage
            trailers = event.trailers
            out.append(("end", None if trailers is None else list(trailers.get_all())))
            if not reader.keep_alive:
                return out
            reader.start_next_message()
            if client:
                reader.expect_response_to("GET")
    raise AssertionError("reader did not settle")


def _same(data: bytes, *, client: bool = False) -> list[object]:
    pure = _outcome(H1Reader, data, client=client)
    fast = _outcome(_parsers.LlhttpReader, data, client=client)
    assert fast == pure, data
    return pure


# -- llhttp against the reference, exhaustively ---------------------------------------------


@needs_httptools
def test_every_byte_in_every_part_of_a_request_head_gets_the_same_answer() -> None:
    templates = [
        b"G%sT / HTTP/1.1\r\nHost: h\r\n\r\n",  # method
        b"GET /a%sb HTTP/1.1\r\nHost: h\r\n\r\n",  # target
        b"GET / HTTP/1.1%s\r\nHost: h\r\n\r\n",  # after the version
        b"GET / HTTP/1.1\r\nX-N%sme: v\r\nHost: h\r\n\r\n",  # field name
        b"GET / HTTP/1.1\r\nX-Name%s: v\r\nHost: h\r\n\r\n",  # before the colon
        b"GET / HTTP/1.1\r\nX-Name: a%sb\r\nHost: h\r\n\r\n",  # inside a value
        b"GET / HTTP/1.1\r\nX-Name: %sab\r\nHost: h\r\n\r\n",  # a value's first byte
        b"GET / HTTP/1.1\r\nX-Name: ab%s\r\nHost: h\r\n\r\n",  # a value's last byte
        b"GET / HTTP/1.1\r\nHost: h\r\n%s\r\n",  # a line of its own
        b"POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 1%s\r\n\r\nab",  # Content-Length
        b"GET / HTTP/1.1\r\nHost: h\r\nConnection: %sclose\r\n\r\nGET / HTTP/1.1\r\n\r\n",
    ]
    outcomes = set()
    for template in templates:
        for byte in range(256):
            result = _same(template % bytes([byte]))
            outcomes.add(result[-1][0] if isinstance(result[-1], tuple) else "ok")
    assert outcomes == {"end", "error"}  # both kinds of answer were exercised


@needs_httptools
def test_every_byte_in_a_status_line_and_response_field_gets_the_same_answer() -> None:
    templates = [
        b"HTTP/1.1 2%s0 OK\r\nContent-Length: 0\r\n\r\n",
        b"HTTP/1.1 200 O%sK\r\nContent-Length: 0\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nX-N%sme: v\r\nContent-Length: 0\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nX-Name: a%sb\r\nContent-Length: 0\r\n\r\n",
    ]
    for template in templates:
        for byte in range(256):
            _same(template % bytes([byte]), client=True)


SAMPLES = [
    b"GET /index.html?q=1 HTTP/1.1\r\nHost: example.com\r\nUser-Agent: t/1\r\n"
    b"Accept: */*\r\nCookie: a=1; b=2\r\n\r\n",
    b"POST /form HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\nhello"
    b"GET /next HTTP/1.1\r\nHost: h\r\n\r\n",
    b"PUT /c HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n"
    b"3;x=y\r\nabc\r\n0\r\nT: 1\r\n\r\n",
    b"GET http://example.com:81/p HTTP/1.0\r\nConnection: keep-alive\r\n\r\n",
]


@needs_httptools
@pytest.mark.parametrize("sample", SAMPLES, ids=["get", "post-pipelined", "chunked", "absolute"])
def test_single_byte_mutations_of_real_requests_get_the_same_answer(sample: bytes) -> None:
    specials = b"\r\n \t:,;\x00\x7f\x80\xff0aA"
    cases = 0
    for at in range(len(sample)):
        for byte in specials:
            piece = bytes([byte])
            _same(sample[:at] + piece + sample[at + 1 :])  # replace
            _same(sample[:at] + piece + sample[at:])  # insert
            cases += 2
        _same(sample[:at] + sample[at + 1 :])  # delete
    assert cases > 1000


# -- llhttp reader specifics, through the public interface ---------------------------------


@needs_httptools
def test_a_method_llhttp_does_not_know_is_still_a_token_method() -> None:
    events = _same(b"BREW /pot HTTP/1.1\r\nHost: h\r\n\r\n")
    assert events[0][0] == ("BREW", "/pot", "HTTP/1.1")  # type: ignore[index]


@needs_httptools
def test_repeated_fields_in_two_spellings_are_kept_apart_by_value() -> None:
    events = _same(b"GET / HTTP/1.1\r\nHost: h\r\nCookie: a=1\r\ncookie: b=2\r\n\r\n")
    assert events[0][1] == [("Host", "h"), ("Cookie", "a=1"), ("Cookie", "b=2")]  # type: ignore[index]


@needs_httptools
def test_trailing_whitespace_of_values_is_dropped_as_by_the_pure_reader() -> None:
    events = _same(b"GET / HTTP/1.1\r\nHost: h \t\r\nX:  a b\t \r\nY:\t\r\n\r\n")
    assert events[0][1] == [("Host", "h"), ("X", "a b"), ("Y", "")]  # type: ignore[index]


@needs_httptools
def test_requests_after_closing_upgrade_and_body_messages_are_read() -> None:
    # llhttp refuses bytes after a closing message and stops at an upgrade;
    # the reader starts a fresh llhttp parser and goes on like the pure one.
    reader = _parsers.LlhttpReader(client=False)
    heads = [
        b"GET /a HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n",
        b"GET /b HTTP/1.1\r\nHost: h\r\nConnection: Upgrade\r\nUpgrade: x\r\n\r\n",
        b"POST /c HTTP/1.1\r\nHost: h\r\nContent-Length: 2\r\n\r\nok",
        b"GET /d HTTP/1.1\r\nHost: h\r\n\r\n",
        b"GET /e HTTP/1.1\r\nHost: h\r\n\r\n",
    ]
    paths = []
    for raw in heads:
        reader.feed(raw)
        head = reader.next_event()
        assert isinstance(head, Head)
        paths.append(head.start_line.path)
        event = reader.next_event()
        if isinstance(event, Data):
            assert event.data == b"ok"
            event = reader.next_event()
        assert event == EndOfMessage(None)
        reader.start_next_message()
    assert paths == ["/a", "/b", "/c", "/d", "/e"]


@needs_httptools
def test_ordinary_traffic_never_needs_the_reference_reader(monkeypatch: pytest.MonkeyPatch) -> None:
    # Bodies, upgrades and closing messages leave llhttp mid-message: the reader
    # must start a fresh llhttp parser then, not lean on the pure one.
    reference = H1Reader._parse_head
    declined: list[bytes] = []

    def spy(self: H1Reader, head: bytes) -> object:
        declined.append(head)
        return reference(self, head)

    monkeypatch.setattr(H1Reader, "_parse_head", spy)
    stream = (
        b"POST /a HTTP/1.1\r\nHost: h\r\nContent-Length: 2\r\n\r\nok"
        b"GET /b HTTP/1.1\r\nHost: h\r\nConnection: Upgrade\r\nUpgrade: x\r\n\r\n"
        b"PUT /c HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\n\r\n"
        b"GET /d HTTP/1.1\r\nHost: h\r\nAccept: */*\r\n\r\n"
        b"GET /e HTTP/1.0\r\n\r\n"
    )
    events = _outcome(_parsers.LlhttpReader, stream)
    assert [e[0][1] for e in events if isinstance(e, tuple) and e[0] != "end"] == [
        "/a",
        "/b",
        "/c",
        "/d",
        "/e",
    ]
    assert declined == []
    response = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nokHTTP/1.1 204 No Content\r\n\r\n"
    assert len(_outcome(_parsers.LlhttpReader, response, client=True)) == 5
    assert declined == []


@needs_httptools
def test_a_head_refused_by_llhttp_but_accepted_by_policy_is_served() -> None:
    # obs-fold, bare LF line ends and a repeated identical Content-Length: llhttp
    # says no, squall's policy says yes, and the policy wins.
    for raw in (
        b"GET / HTTP/1.1\r\nHost: h\r\nX: a\r\n b\r\n\r\n",
        b"GET / HTTP/1.1\nHost: h\n\n",
        b"POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 1\r\nContent-Length: 1\r\n\r\nz",
    ):
        assert _same(raw)[-1] == ("end", None)


@needs_httptools
def test_the_reader_is_dead_after_an_error_llhttp_raised_first() -> None:
    reader = _parsers.LlhttpReader(client=False)
    reader.feed(b"GET / HTTP/1.1\r\nHost: h\r\nX: a\x00b\r\n\r\n")
    with pytest.raises(H1ProtocolError) as caught:
        reader.next_event()
    assert caught.value.status == 400
    reader.feed(b"GET / HTTP/1.1\r\nHost: h\r\n\r\n")
    with pytest.raises(H1ProtocolError):
        reader.next_event()


# -- the choice ------------------------------------------------------------------------------


@pytest.fixture
def fresh_log(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_parsers, "_announced", set())
    monkeypatch.delenv(_parsers.ENV_VARIABLE, raising=False)


@pytest.mark.usefixtures("fresh_log")
def test_python_is_always_available() -> None:
    assert _parsers.reader_class("python") is H1Reader
    reader = _parsers.make_reader(client=True, parser="python")
    assert type(reader) is H1Reader


@needs_httptools
@pytest.mark.usefixtures("fresh_log")
def test_auto_and_httptools_pick_llhttp_when_installed() -> None:
    # The compiled build's own reader is faster than the llhttp one: auto keeps it.
    auto = H1Reader if _parsers.COMPILED else _parsers.LlhttpReader
    assert _parsers.reader_class("auto") is auto
    assert _parsers.reader_class("httptools") is _parsers.LlhttpReader
    assert _parsers.reader_class() is auto  # unset variable means auto
    limits = H1Limits(max_body_size=3)
    reader = _parsers.make_reader(client=False, limits=limits, parser="httptools")
    assert type(reader) is _parsers.LlhttpReader
    reader.feed(b"POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 4\r\n\r\n")
    with pytest.raises(H1ProtocolError) as caught:
        reader.next_event()
    assert caught.value.status == 413


@pytest.mark.usefixtures("fresh_log")
def test_the_environment_variable_decides_when_no_choice_is_given(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv(_parsers.ENV_VARIABLE, " Python ")
    assert _parsers.reader_class() is H1Reader
    monkeypatch.setenv(_parsers.ENV_VARIABLE, "")
    assert _parsers.reader_class() is _parsers.reader_class("auto")
    monkeypatch.setenv(_parsers.ENV_VARIABLE, "fastest")
    with pytest.raises(ValueError, match="SQUALL_HTTP_PARSER"):
        _parsers.reader_class()
    # An explicit choice wins over the variable.
    assert _parsers.reader_class("python") is H1Reader


@pytest.mark.usefixtures("fresh_log")
def test_an_unknown_name_is_a_value_error() -> None:
    with pytest.raises(ValueError, match="'llhttp'"):
        _parsers.reader_class("llhttp")


@pytest.mark.usefixtures("fresh_log")
def test_without_httptools_auto_falls_back_and_httptools_is_an_import_error(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(_parsers, "HTTPTOOLS_VERSION", None)
    assert _parsers.reader_class("auto") is H1Reader
    with pytest.raises(ImportError, match=r"speedups"):
        _parsers.reader_class("httptools")
    monkeypatch.setenv(_parsers.ENV_VARIABLE, "httptools")
    with pytest.raises(ImportError, match=_parsers.ENV_VARIABLE):
        _parsers.reader_class()
    with pytest.raises(ImportError):
        _parsers.LlhttpReader(client=False)


@pytest.mark.usefixtures("fresh_log")
def test_each_choice_is_logged_once_at_info(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO, logger="squall.general"):
        for _ in range(3):
            _parsers.reader_class("python")
            _parsers.reader_class("auto")
    lines = [r.getMessage() for r in caplog.records if r.name == "squall.general"]
    assert all(r.levelno == logging.INFO for r in caplog.records)
    assert len(lines) == 2
    kind = "compiled" if _parsers.COMPILED else "pure Python"
    assert lines[0] == f"HTTP/1 parser: {kind} (asked for)"
    if _parsers.COMPILED:
        assert lines[1] == "HTTP/1 parser: compiled (auto)"
    elif _parsers.HTTPTOOLS_VERSION is not None:
        assert lines[1].startswith("HTTP/1 parser: llhttp (httptools ")
