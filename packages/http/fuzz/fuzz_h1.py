"""Fuzz squall-http's parsers with atheris: arbitrary bytes in, only HTTPInputError out.

    PYTHONPATH=$(ls -d packages/*/src | tr '\n' ':') \
        python packages/http/fuzz/fuzz_h1.py -atheris_runs=1000000 \
        -dict=packages/http/fuzz/http.dict CORPUS_DIR

Byte 0 of an input picks the target (H1Reader as a server, H1Reader as a
client, the incremental multipart parser, or HTTPHeaders.parse plus
parse_body_arguments), byte 1 a split point; the rest is the data. Only
``H1ProtocolError`` / ``HTTPInputError`` may escape; anything else is a crash.
The reader is also fed in two pieces and (for some inputs) one byte at a time,
and its events must equal the whole-buffer run. Not run in CI: too long.
"""

from __future__ import annotations

import sys

import atheris

with atheris.instrument_imports():
    from squall.http1connection._codec import (
        NEED_DATA,
        Data,
        EndOfMessage,
        H1Limits,
        H1Reader,
        Head,
    )
    from squall.httputil import HTTPHeaders, HTTPInputError, parse_body_arguments
    from squall.httputil._multipart import _FINISHED, _MultipartParser
    from squall.httputil._multipart import NEED_DATA as _MORE

_LIMITS = H1Limits(max_start_line=256, max_header_size=1024, max_body_size=4096)


def _events(client: bool, pieces: list[bytes], method: str) -> list[object]:
    """Run the reader over ``pieces`` (then EOF); the events, body pieces merged."""
    reader = H1Reader(client=client, limits=_LIMITS)
    if client:
        reader.expect_response_to(method)
    out: list[object] = []
    feeds = [*pieces, b""]
    try:
        for _ in range(8 * sum(map(len, pieces)) + 64):
            event = reader.next_event()
            if event is NEED_DATA:
                if not feeds:
                    break
                reader.feed(feeds.pop(0))
                continue
            if type(event) is Data:
                if out and type(out[-1]) is bytes:
                    out[-1] += event.data
                else:
                    out.append(bytes(event.data))
                continue
            if type(event) is Head:
                out.append((event.start_line, list(event.headers.get_all())))
                continue
            assert type(event) is EndOfMessage, event
            trailers = event.trailers
            out.append(("end", None if trailers is None else list(trailers.get_all())))
            if not reader.keep_alive:
                break
            reader.start_next_message()
            if client:
                reader.expect_response_to(method)
    except HTTPInputError as exc:
        out.append(("error", getattr(exc, "status", None)))
    return out


def _multipart(data: bytes, cut: int) -> None:
    parser = _MultipartParser(b"XyZ")
    try:
        parser.feed(data[:cut])
        for _ in range(100):
            if parser.next_event() is _MORE:
                break
        parser.feed(data[cut:])
        parser.feed(b"")
        for _ in range(10000):
            if parser.next_event() is _FINISHED:
                break
    except HTTPInputError:
        pass


def _whole_body_helpers(data: bytes) -> None:
    """HTTPHeaders.parse and parse_body_arguments (urlencoded and multipart) on the bytes."""
    try:
        HTTPHeaders.parse(data.decode("latin-1"))
    except HTTPInputError:
        pass
    for content_type in ("application/x-www-form-urlencoded", "multipart/form-data; boundary=XyZ"):
        try:
            parse_body_arguments(content_type, data, {}, {})
        except HTTPInputError:
            pass


def test_one_input(raw: bytes) -> None:
    # Byte 0 picks the role, byte 1 the split point; the rest is the input.
    if len(raw) < 2:
        return
    role = raw[0] % 4
    cut = raw[1] % 64
    data = raw[2:]
    if role == 2:
        _multipart(data, cut)
        return
    if role == 3:
        _whole_body_helpers(data)
        return
    client = role == 1
    method = "HEAD" if cut % 7 == 0 else "GET"
    whole = _events(client, [data], method)
    if len(data) < 600:
        split = _events(client, [data[:cut], data[cut:]], method)
        assert split == whole, (data, whole, split)
        if cut % 5 == 0:
            single = _events(client, [data[i : i + 1] for i in range(len(data))], method)
            assert single == whole, (data, whole, single)


def main() -> None:
    atheris.Setup(sys.argv, test_one_input)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
