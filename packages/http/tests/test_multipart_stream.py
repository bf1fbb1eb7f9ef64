"""squall.httputil.MultipartParser: streaming multipart/form-data, fed in every possible way."""

from __future__ import annotations

import email.parser
import email.policy
import hashlib
import random

import pytest
from squall.httputil import (
    HTTPFile,
    HTTPHeaders,
    HTTPInputError,
    MultipartData,
    MultipartEnd,
    MultipartError,
    MultipartEvent,
    MultipartParser,
    MultipartPart,
    MultipartPartEnd,
    parse_multipart_form_data,
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
UPLOAD = b"\r\n--Xy-not-a-boundary\r\r\n--X"

Summary = list[tuple[str, "str | None", str, bytes]]


def summarize(chunks: list[bytes], boundary: bytes | str = b"XyZ", **limits: int) -> Summary:
    """Feed ``chunks``, check the event grammar, and return (name, filename, type, content)."""
    parser = MultipartParser(boundary, **limits)
    out: Summary = []
    current: MultipartPart | None = None
    content: list[bytes] = []
    ended = False
    for chunk in chunks:
        for event in parser.feed(chunk):
            assert not ended
            if isinstance(event, MultipartPart):
                assert current is None
                current, content = event, []
            elif isinstance(event, MultipartData):
                assert current is not None and event.data
                content.append(event.data)
            elif isinstance(event, MultipartPartEnd):
                assert event.part is current
                out.append(
                    (current.name, current.filename, current.content_type, b"".join(content))
                )
                current = None
            else:
                assert isinstance(event, MultipartEnd) and current is None
                ended = True
    parser.finish()
    assert ended and parser.complete
    return out


def random_splits(data: bytes, rng: random.Random, most: int = 9) -> list[bytes]:
    chunks, pos = [], 0
    while pos < len(data):
        step = rng.randint(1, most)
        chunks.append(data[pos : pos + step])
        pos += step
    return chunks


def test_events_for_a_whole_body() -> None:
    events = MultipartParser("XyZ").feed(BODY)
    field, upload = events[0], events[3]
    assert isinstance(field, MultipartPart) and isinstance(upload, MultipartPart)
    assert events == [
        field,
        MultipartData(b"value"),
        MultipartPartEnd(field),
        upload,
        MultipartData(UPLOAD),
        MultipartPartEnd(upload),
        MultipartEnd(),
    ]
    assert (field.name, field.filename, field.content_type, field.is_file) == (
        "field",
        None,
        "text/plain",
        False,
    )
    assert (upload.name, upload.filename, upload.content_type, upload.is_file) == (
        "upload",
        "a.bin",
        "application/octet-stream",
        True,
    )
    assert isinstance(upload.headers, HTTPHeaders)
    assert list(upload.headers.get_all()) == [
        ("Content-Disposition", 'form-data; name="upload"; filename="a.bin"'),
        ("Content-Type", "application/octet-stream"),
    ]
    assert repr(MultipartData(b"x")) == "MultipartData(data=b'x')"
    assert MultipartData(b"x") != MultipartData(b"y")


def test_byte_by_byte_and_every_two_way_split_agree_with_whole() -> None:
    whole = summarize([BODY])
    assert [content for *_, content in whole] == [b"value", UPLOAD]
    assert summarize([BODY[i : i + 1] for i in range(len(BODY))]) == whole
    for cut in range(len(BODY) + 1):
        assert summarize([BODY[:cut], BODY[cut:]]) == whole


def test_random_splits_with_a_fixed_seed() -> None:
    rng = random.Random(20240610)
    whole = summarize([BODY])
    for _ in range(300):
        assert summarize(random_splits(BODY, rng)) == whole


@pytest.mark.parametrize(
    "content",
    [
        b"",
        b"\r",
        b"\n",
        b"\r\n",
        b"\r\n\r\n",
        b"\r\n-",
        b"\r\n--",
        b"\r\n--B",  # the delimiter of a shorter boundary
        b"--BB\r\n",
        b"x\r\r\r",
        b"\r\n--BBx--",
        b"tail\r",
    ],
)
def test_content_that_looks_like_a_delimiter_start(content: bytes) -> None:
    body = b'--BBB\r\nContent-Disposition: form-data; name="c"\r\n\r\n' + content + b"\r\n--BBB--"
    expected = [("c", None, "text/plain", content)]
    assert summarize([body], "BBB") == expected
    for cut in range(len(body) + 1):
        assert summarize([body[:cut], body[cut:]], "BBB") == expected


def test_preamble_epilogue_and_padding_after_a_delimiter() -> None:
    body = (
        b"this is a preamble\r\n--B \t\r\n"
        b'Content-Disposition: form-data; name="a"\r\n\r\nx\r\n'
        b"--B--\r\nthe epilogue, even with --B in it\r\n--B\r\n"
    )
    assert summarize([body], b"B") == [("a", None, "text/plain", b"x")]
    parser = MultipartParser(b"B")
    parser.feed(body)
    assert parser.feed(b"more epilogue") == []
    parser.finish()


def test_empty_content_and_empty_parts() -> None:
    body = (
        b"--B\r\n--B\r\n"  # a part with nothing at all: skipped
        b'Content-Disposition: form-data; name="empty"\r\n\r\n\r\n'
        b'--B\r\nContent-Disposition: form-data; name="f"; filename=""\r\n\r\n\r\n'
        b"--B--"
    )
    assert summarize([body], b"B") == [
        ("empty", None, "text/plain", b""),
        ("f", "", "application/unknown", b""),
    ]
    assert summarize([b"--B--"], b"B") == []


def test_rfc5987_filename_and_utf8_headers() -> None:
    body = (
        b"--B\r\nContent-Disposition: form-data; name=\"v\"; filename*=UTF-8''%C3%A9t%C3%A9.txt\r\n"
        b"\r\n1\r\n"
        b'--B\r\nContent-Disposition: form-data; name="\xc3\xa9"; filename="q\\"s"\r\n\r\n2\r\n'
        b"--B--"
    )
    assert summarize([body], b"B") == [
        ("v", "\xe9t\xe9.txt", "application/unknown", b"1"),
        ("\xe9", 'q"s', "application/unknown", b"2"),
    ]


def test_from_content_type() -> None:
    parser = MultipartParser.from_content_type('multipart/form-data; boundary="a b"', max_parts=3)
    assert (parser.boundary, parser.max_parts, parser.max_header_size) == (b"a b", 3, 16384)
    assert MultipartParser.from_content_type("Multipart/Form-Data;boundary=q").boundary == b"q"
    with pytest.raises(MultipartError, match="boundary"):
        MultipartParser.from_content_type("multipart/form-data")
    with pytest.raises(MultipartError, match="not a multipart"):
        MultipartParser.from_content_type("application/x-www-form-urlencoded; boundary=x")


@pytest.mark.parametrize("boundary", [b"", "", b"x" * 201, b"a\r\nb", b'""'])
def test_unusable_boundaries_are_refused(boundary: bytes | str) -> None:
    with pytest.raises(MultipartError, match="boundary"):
        MultipartParser(boundary)


def test_a_large_part_streams_through_in_bounded_memory() -> None:
    # Every feed hands on all of its content except at most a delimiter's length.
    boundary = b"----squall" + b"7" * 30
    limit = len(boundary) + 4
    digest = hashlib.sha256()
    parser = MultipartParser(boundary)
    head = (
        b"--" + boundary + b'\r\nContent-Disposition: form-data; name="f"; filename="big"\r\n\r\n'
    )
    parser.feed(head)
    rng = random.Random(7)
    block = bytes(rng.getrandbits(8) for _ in range(65536)).replace(b"\r\n--", b"\n\n--")
    fed = passed = 0
    for round_number in range(64):  # 4 MiB, cut at varying offsets
        chunk = block[round_number:] + block[:round_number]
        fed += len(chunk)
        events = parser.feed(chunk)
        got = sum(len(e.data) for e in events if isinstance(e, MultipartData))
        passed += got
        digest.update(b"".join(e.data for e in events if isinstance(e, MultipartData)))
        assert fed - passed < limit
    closing = parser.feed(b"\r\n--" + boundary + b"--\r\n")
    digest.update(b"".join(e.data for e in closing if isinstance(e, MultipartData)))
    assert [type(e) for e in closing][-2:] == [MultipartPartEnd, MultipartEnd]
    parser.finish()
    expected = hashlib.sha256()
    for round_number in range(64):
        expected.update(block[round_number:] + block[:round_number])
    assert digest.hexdigest() == expected.hexdigest()


def test_a_chunk_of_pure_content_is_passed_on_without_copying() -> None:
    parser = MultipartParser(b"B")
    parser.feed(b'--B\r\nContent-Disposition: form-data; name="f"\r\n\r\n')
    chunk = b"abc" * 1000
    (event,) = parser.feed(chunk)
    assert isinstance(event, MultipartData) and event.data is chunk
    assert parser.feed(bytearray(b"xyz")) == [MultipartData(b"xyz")]
    assert parser.feed(memoryview(b"\r\n-")) == []
    assert parser.feed(b"-Q") == [MultipartData(b"\r\n--Q")]


def test_part_count_and_limits() -> None:
    one = b'--B\r\nContent-Disposition: form-data; name="a"\r\n\r\n1\r\n'
    assert len(summarize([one * 3 + b"--B--"], b"B", max_parts=3)) == 3
    parser = MultipartParser(b"B", max_parts=3)
    with pytest.raises(MultipartError, match="more than 3"):
        parser.feed(one * 4)
    assert parser.part_count == 4
    header = (
        b'--B\r\nContent-Disposition: form-data; name="a"\r\nX-Pad: ' + b"p" * 100 + b"\r\n\r\n"
    )
    assert summarize([header + b"1\r\n--B--"], b"B", max_header_size=200)
    with pytest.raises(MultipartError, match="exceed 64 bytes"):
        summarize([header + b"1\r\n--B--"], b"B", max_header_size=64)
    # Also when the block arrives byte by byte and never ends.
    parser = MultipartParser(b"B", max_header_size=64)
    with pytest.raises(MultipartError, match="exceed"):
        for byte in range(200):
            parser.feed(header[byte : byte + 1])


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"", "truncated before its first boundary"),
        (b"nothing to see here", "truncated before its first boundary"),
        (b'--B\r\nContent-Disposition: form-data; name="a"\r\n\r\n1\r\n', "truncated mid-part"),
        (b'--B\r\nContent-Disposition: form-data; name="a"\r\n\r\n1\r\n--B', "truncated"),
        (b"--B\r\nno end of headers", "truncated"),
        (b"--Bjunk\r\n\r\nx\r\n--B--", "unexpected bytes after a multipart boundary"),
        (b"--B" + b" " * 300 + b"\r\n", "unexpected bytes"),
        (b"--B\r\n\r\nx\r\n--B--", "Content-Disposition: form-data"),
        (b"--B\r\nContent-Type: x\r\n\r\n1\r\n--B--", "Content-Disposition: form-data"),
        (b'--B\r\nContent-Disposition: attachment; name="a"\r\n\r\n1\r\n--B--', "form-data"),
        (b'--B\r\nContent-Disposition: form-data; filename="a"\r\n\r\n1\r\n--B--', "field name"),
        (b"--B\r\nBad Header: 1\r\n\r\nx\r\n--B--", "bad multipart part headers"),
        (b"--B\r\nX: 1\rY\r\n\r\nx\r\n--B--", "bare CR or LF"),
        (b'--B\nContent-Disposition: form-data; name="a"\n\n1\n--B--', "unexpected bytes"),
    ],
)
def test_malformed_bodies_raise(body: bytes, message: str) -> None:
    for chunks in ([body], [body[i : i + 1] for i in range(len(body))]):
        with pytest.raises(MultipartError, match=message) as caught:
            summarize(chunks, b"B")
        assert isinstance(caught.value, HTTPInputError)
    with pytest.raises(HTTPInputError):
        parse_multipart_form_data(b"B", body, {}, {})


def test_parser_stays_broken_after_an_error() -> None:
    parser = MultipartParser(b"B")
    with pytest.raises(MultipartError) as first:
        parser.feed(b"--Bjunk\r\n")
    with pytest.raises(MultipartError) as again:
        parser.feed(b"\r\n--B--")
    assert again.value is first.value
    with pytest.raises(MultipartError):
        parser.finish()
    truncated = MultipartParser(b"B")
    with pytest.raises(MultipartError):
        truncated.finish()
    with pytest.raises(MultipartError):
        truncated.feed(b"--B--")


# -- cross-checks --------------------------------------------------------------------------

_PIECES = [b"\r", b"\n", b"-", b"--B", b"\r\n--B", b"\r\n", b"x", b" ", b"--", b"B", b"\r\n--BB"]


def _random_body(rng: random.Random) -> bytes:
    out = rng.choice([b"", b"preamble\r\n", b"\r\n"])
    for _ in range(rng.randint(0, 4)):
        out += b"--B" + rng.choice([b"", b" ", b"\t "]) + b"\r\n"
        head = b'Content-Disposition: form-data; name="' + rng.choice([b"a", b"b"]) + b'"'
        if rng.random() < 0.5:
            head += b'; filename="f.txt"'
        if rng.random() < 0.3:
            head += b"\r\nContent-Type: text/x"
        content = b"".join(rng.choice(_PIECES) for _ in range(rng.randint(0, 12)))
        out += head + b"\r\n\r\n" + content + b"\r\n"
    out += b"--B--" + rng.choice([b"", b"\r\n", b"\r\nepilogue"])
    if rng.random() < 0.2:  # break it, maybe
        cut = rng.randrange(len(out) + 1)
        out = out[:cut] + rng.choice(_PIECES) + out[cut:]
    if rng.random() < 0.1:
        out = out[: rng.randrange(len(out) + 1)]
    return out


def _whole(body: bytes) -> Summary | None:
    arguments: dict[str, list[bytes]] = {}
    files: dict[str, list[HTTPFile]] = {}
    try:
        parse_multipart_form_data(b"B", body, arguments, files)
    except HTTPInputError:
        return None
    found: Summary = [(n, None, "", v) for n, values in arguments.items() for v in values]
    found += [(n, f.filename, f.content_type, f.body) for n, fs in files.items() for f in fs]
    return sorted(found, key=repr)


def _incremental(chunks: list[bytes]) -> Summary | None:
    try:
        parts = summarize(chunks, b"B")
    except MultipartError:
        return None
    return sorted(((n, f, t if f is not None else "", v) for n, f, t, v in parts), key=repr)


def test_incremental_agrees_with_parse_multipart_form_data() -> None:
    rng = random.Random(1729)
    refused = 0
    for _ in range(1500):
        body = _random_body(rng)
        whole = _whole(body)
        refused += whole is None
        assert _incremental([body]) == whole
        assert _incremental([body[i : i + 1] for i in range(len(body))]) == whole
        assert _incremental(random_splits(body, rng)) == whole
    assert 100 < refused < 1400  # both outcomes were exercised


def test_agrees_with_the_standard_library_email_parser() -> None:
    rng = random.Random(99)
    safe = [b"x", b"-", b"\r\n", b" ", b"--", b"\r\n--A", b"\r\n-", b"\r"]
    for _ in range(200):
        parts = []
        body = b""
        for index in range(rng.randint(1, 4)):
            content = b"".join(rng.choice(safe) for _ in range(rng.randint(0, 10)))
            filename = f"f{index}.txt" if rng.random() < 0.5 else None
            parts.append((f"n{index}", filename, content))
            disposition = f'form-data; name="n{index}"'
            if filename is not None:
                disposition += f'; filename="{filename}"'
            body += b"--B\r\nContent-Disposition: " + disposition.encode() + b"\r\n\r\n"
            body += content + b"\r\n"
        body += b"--B--\r\n"
        message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(
            b"Content-Type: multipart/form-data; boundary=B\r\n\r\n" + body
        )
        reference = [
            (
                part.get_param("name", header="content-disposition"),
                part.get_filename(),
                part.get_payload(decode=True),
            )
            for part in message.iter_parts()
        ]
        ours = [(n, f, v) for n, f, _, v in summarize(random_splits(body, rng), b"B")]
        assert ours == reference == parts


def test_event_types_cover_the_alias() -> None:
    event: MultipartEvent = MultipartEnd()
    assert event == MultipartEnd() and event != MultipartData(b"")
