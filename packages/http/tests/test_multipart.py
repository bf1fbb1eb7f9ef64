"""The incremental multipart/form-data parser (squall.httputil._multipart)."""

from __future__ import annotations

import pytest
from squall.httputil import HTTPInputError
from squall.httputil._multipart import (
    _FINISHED,
    NEED_DATA,
    _MultipartParser,
    _PartData,
    _PartEnd,
    _PartHead,
)

BODY = (
    b"--XyZ\r\n"
    b'Content-Disposition: form-data; name="field"\r\n\r\n'
    b"value\r\n"
    b"--XyZ\r\n"
    b'Content-Disposition: form-data; name="upload"; filename="a.bin"\r\n'
    b"Content-Type: application/octet-stream\r\n\r\n"
    b"\r\n--Xy-not-a-boundary\r\r\n--X\r\n"
    b"--XyZ--\r\n"
)


def parts(
    pieces: list[bytes], boundary: bytes = b"XyZ"
) -> list[tuple[list[tuple[str, str]], bytes]]:
    parser = _MultipartParser(boundary)
    out: list[tuple[list[tuple[str, str]], bytes]] = []
    feeds = [*(piece for piece in pieces if piece), b""]
    body = b""
    headers: list[tuple[str, str]] = []
    for _ in range(20 * sum(map(len, pieces)) + 50):
        event = parser.next_event()
        if event is NEED_DATA:
            parser.feed(feeds.pop(0))
        elif isinstance(event, _PartHead):
            headers = list(event.headers.get_all())
            body = b""
        elif isinstance(event, _PartData):
            assert event.data
            body += event.data
        elif isinstance(event, _PartEnd):
            out.append((headers, body))
        else:
            assert event is _FINISHED
            return out
    raise AssertionError("parser did not finish")


def test_whole_and_byte_by_byte_agree() -> None:
    whole = parts([BODY])
    assert whole == parts([BODY[i : i + 1] for i in range(len(BODY))])
    for cut in range(0, len(BODY), 7):
        assert parts([BODY[:cut], BODY[cut:]]) == whole
    assert [body for _, body in whole] == [b"value", b"\r\n--Xy-not-a-boundary\r\r\n--X"]
    assert whole[1][0][1] == ("Content-Type", "application/octet-stream")


def test_large_part_streams_in_pieces_without_holding_it_all() -> None:
    payload = bytes(range(256)) * 400
    body = b"--B\r\n\r\n" + payload + b"\r\n--B--"
    parser = _MultipartParser(b"B")
    held = []
    for start in range(0, len(body), 4096):
        parser.feed(body[start : start + 4096])
        while True:
            event = parser.next_event()
            if event is NEED_DATA or event is _FINISHED:
                break
            if isinstance(event, _PartData):
                held.append(event.data)
        assert len(parser._buf) < 4096 + 8
    parser.feed(b"")
    assert b"".join(held) == payload


def test_epilogue_is_ignored_and_preamble_skipped() -> None:
    body = b"ignored preamble\r\n--B\r\n\r\nx\r\n--B--\r\ntrailing epilogue --B"
    assert parts([body], b"B") == [([], b"x")]


def test_padding_after_boundary_is_allowed() -> None:
    assert parts([b"--B  \t\r\n\r\nx\r\n--B--"], b"B") == [([], b"x")]


@pytest.mark.parametrize(
    "body",
    [
        b"--B\r\n\r\nx\r\n",  # no closing delimiter
        b"--Bjunk\r\n\r\nx\r\n--B--",  # junk after a delimiter
        b"--B\r\nBad Header: 1\r\n\r\nx\r\n--B--",
        b"--B\r\nX: 1\rY\r\n\r\nx\r\n--B--",
        b"",
    ],
)
def test_malformed_bodies_raise(body: bytes) -> None:
    with pytest.raises(HTTPInputError):
        parts([body], b"B")


def test_oversized_part_headers_raise() -> None:
    parser = _MultipartParser(b"B", max_header_size=64)
    parser.feed(b"--B\r\nX: " + b"y" * 100)
    with pytest.raises(HTTPInputError):
        while parser.next_event() is not NEED_DATA:
            pass


def test_bad_boundaries_are_refused() -> None:
    with pytest.raises(HTTPInputError):
        _MultipartParser(b"")
    with pytest.raises(HTTPInputError):
        _MultipartParser(b"x" * 201)


def test_parser_stays_broken_after_an_error() -> None:
    parser = _MultipartParser(b"B")
    parser.feed(b"--Bjunk\r\n")
    with pytest.raises(HTTPInputError):
        parser.next_event()
    with pytest.raises(HTTPInputError):
        parser.next_event()
