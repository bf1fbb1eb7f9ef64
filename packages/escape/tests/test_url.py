"""Tests for squall.escape.url_escape, url_unescape and parse_qs_bytes."""

from __future__ import annotations

from typing import Any

import pytest
from squall.escape import parse_qs_bytes, url_escape, url_unescape


@pytest.mark.parametrize(
    ("value", "plus", "expected"),
    [
        ("a b+c/d?e=f&g", True, "a+b%2Bc%2Fd%3Fe%3Df%26g"),
        ("a b+c/d?e=f&g", False, "a%20b%2Bc/d%3Fe%3Df%26g"),
        (b"a b\xff", True, "a+b%FF"),
        (b"a b\xff", False, "a%20b%FF"),
        ("\u00e9 ~-_.!*()'", True, "%C3%A9+~-_.%21%2A%28%29%27"),
        ("\u00e9 ~-_.!*()'", False, "%C3%A9%20~-_.%21%2A%28%29%27"),
        ("", True, ""),
        ("%", False, "%25"),
        ("AZaz09", True, "AZaz09"),
        ("/path/only", False, "/path/only"),
        ("\x00\x7f", True, "%00%7F"),
    ],
)
def test_url_escape(value: str | bytes, plus: bool, expected: str) -> None:
    assert url_escape(value, plus=plus) == expected


def test_url_escape_default_is_plus() -> None:
    assert url_escape("a b/c") == "a+b%2Fc"


def test_url_escape_accepts_bytearray_like_tornado() -> None:
    assert url_escape(bytearray(b"a b")) == "a+b"  # type: ignore[arg-type]


@pytest.mark.parametrize("bad", [None, 1, 1.5, ["a"]])
def test_url_escape_rejects_other_types(bad: Any) -> None:
    with pytest.raises(TypeError, match=rf"^Expected bytes or unicode; got {type(bad)!r}$"):
        url_escape(bad)


def test_url_escape_every_byte_round_trips() -> None:
    data = bytes(range(256))
    for plus in (True, False):
        escaped = url_escape(data, plus=plus)
        assert escaped.isascii()
        assert url_unescape(escaped, encoding=None, plus=plus) == data


@pytest.mark.parametrize(
    ("value", "encoding", "plus", "expected"),
    [
        ("a+b%20c%2B", "utf-8", True, "a b c+"),
        ("a+b%20c%2B", "utf-8", False, "a+b c+"),
        ("a+b%20c%2B", None, True, b"a b c+"),
        ("a+b%20c%2B", None, False, b"a+b c+"),
        (b"a+b%20c%ff", "utf-8", True, "a b c\ufffd"),
        (b"a+b%20c%ff", None, True, b"a b c\xff"),
        (b"a+b%20c%ff", "latin1", False, "a+b c\u00ff"),
        ("%E9%XX%", None, True, b"\xe9%XX%"),
        ("%E9%XX%", "latin1", True, "\u00e9%XX%"),
        ("caf%C3%A9", "utf-8", True, "caf\u00e9"),
        ("caf%C3%A9", "latin1", True, "caf\u00c3\u00a9"),
        ("caf\u00e9", None, True, b"caf\xc3\xa9"),
        ("caf\u00e9", "latin1", True, "caf\u00e9"),
        ("%2b+", None, True, b"+ "),
        ("", "utf-8", True, ""),
    ],
)
def test_url_unescape(
    value: str | bytes, encoding: str | None, plus: bool, expected: str | bytes
) -> None:
    assert url_unescape(value, encoding, plus) == expected


def test_url_unescape_defaults() -> None:
    assert url_unescape("a+b%C3%A9") == "a b\u00e9"


@pytest.mark.parametrize("encoding", ["utf-8", None, "latin1"])
def test_url_unescape_requires_utf8_bytes(encoding: str | None) -> None:
    with pytest.raises(UnicodeDecodeError):
        url_unescape(b"\xff", encoding)


@pytest.mark.parametrize("bad", [1, bytearray(b"x")])
def test_url_unescape_rejects_other_types(bad: Any) -> None:
    with pytest.raises(TypeError, match=rf"^Expected bytes, unicode, or None; got {type(bad)!r}$"):
        url_unescape(bad)


def test_url_unescape_none_raises_type_error() -> None:
    with pytest.raises(TypeError, match="^Expected bytes or unicode; got <class 'NoneType'>$"):
        url_unescape(None)  # type: ignore[call-overload]


@pytest.mark.parametrize("text", ["a b+c/d?e=f&g#h", "caf\u00e9 \u2603", "100%", ""])
def test_url_round_trip(text: str) -> None:
    assert url_unescape(url_escape(text)) == text
    assert url_unescape(url_escape(text, plus=False), plus=False) == text


@pytest.mark.parametrize(
    ("qs", "keep_blank", "expected"),
    [
        ("a=1&b=2&a=3", False, {"a": [b"1", b"3"], "b": [b"2"]}),
        (b"a=%ff&b=%c3%a9&c", False, {"a": [b"\xff"], "b": [b"\xc3\xa9"]}),
        (b"a=%ff&b=%c3%a9&c", True, {"a": [b"\xff"], "b": [b"\xc3\xa9"], "c": [b""]}),
        ("a=&b", False, {}),
        ("a=&b", True, {"a": [b""], "b": [b""]}),
        (b"a=\xff\xfe", False, {"a": [b"\xff\xfe"]}),
        ("a=caf\u00e9", False, {"a": [b"caf\xe9"]}),
        ("x=1;y=2", False, {"x": [b"1;y=2"]}),
        ("=1&a==b", False, {"": [b"1"], "a": [b"=b"]}),
        ("a=1%3D%25&%3D=x", False, {"a": [b"1=%"], "=": [b"x"]}),
        (b"k%ff=v", False, {"k\u00ff": [b"v"]}),
        (b"\xe9=1", False, {"\u00e9": [b"1"]}),
        ("a+b=c+d", False, {"a b": [b"c d"]}),
        ("a=%2&b=%zz", True, {"a": [b"%2"], "b": [b"%zz"]}),
        ("", True, {}),
        ("&&", True, {}),
        ("a=1&&b=2", False, {"a": [b"1"], "b": [b"2"]}),
    ],
)
def test_parse_qs_bytes(
    qs: str | bytes, keep_blank: bool, expected: dict[str, list[bytes]]
) -> None:
    result = parse_qs_bytes(qs, keep_blank_values=keep_blank)
    assert result == expected
    assert list(result) == list(expected)


def test_parse_qs_bytes_latin1_round_trip_of_keys() -> None:
    raw = (
        bytes(range(1, 256))
        .replace(b"&", b"")
        .replace(b"=", b"")
        .replace(b"+", b"")
        .replace(b"%", b"")
    )
    result = parse_qs_bytes(raw + b"=" + raw)
    assert list(result) == [raw.decode("latin-1")]
    assert result[raw.decode("latin-1")] == [raw]


def test_parse_qs_bytes_text_above_latin1_is_an_error() -> None:
    with pytest.raises(UnicodeEncodeError):
        parse_qs_bytes("a=\u20ac")


@pytest.mark.parametrize(
    ("qs", "message"),
    [
        ("a", "bad query field: b'a'"),
        ("a=1&b", "bad query field: b'b'"),
        ("&a=1", "bad query field: b''"),
        ("a=1&", "bad query field: b''"),
    ],
)
def test_parse_qs_bytes_strict_parsing(qs: str, message: str) -> None:
    for keep_blank in (False, True):
        with pytest.raises(ValueError) as info:
            parse_qs_bytes(qs, keep_blank, strict_parsing=True)
        assert str(info.value) == message


def test_parse_qs_bytes_strict_accepts_good_input() -> None:
    assert parse_qs_bytes(b"a=1&b=2", strict_parsing=True) == {"a": [b"1"], "b": [b"2"]}
    assert parse_qs_bytes("", strict_parsing=True) == {}


@pytest.mark.parametrize(
    ("qs", "limit", "ok"),
    [
        ("a=1", 1, True),
        ("a=1&", 1, False),
        ("a=1&b=2", 1, False),
        ("a=1&b=2", 2, True),
        ("", 0, True),
        ("a", 0, False),
    ],
)
def test_parse_qs_bytes_max_num_fields(qs: str, limit: int, ok: bool) -> None:
    if ok:
        parse_qs_bytes(qs, max_num_fields=limit)
    else:
        with pytest.raises(ValueError, match="^Max number of fields exceeded$"):
            parse_qs_bytes(qs, max_num_fields=limit)


def test_parse_qs_bytes_bytearray_values_are_bytes() -> None:
    result = parse_qs_bytes(bytearray(b"a=1"))  # type: ignore[arg-type]
    assert result == {"a": [b"1"]}
    assert type(result["a"][0]) is bytes


@pytest.mark.parametrize("bad", [None, 1])
def test_parse_qs_bytes_rejects_other_types(bad: Any) -> None:
    with pytest.raises(TypeError, match="^Expected bytes or unicode; got "):
        parse_qs_bytes(bad)
