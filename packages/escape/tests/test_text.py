"""Tests for the byte/unicode conversions and squeeze in squall.escape."""

from __future__ import annotations

import collections
from typing import Any

import pytest
import squall.escape
from squall.escape import (
    native_str,
    recursive_unicode,
    squeeze,
    to_basestring,
    to_unicode,
    unicode_type,
    utf8,
)


def test_public_names_match_tornado_escape() -> None:
    # Tornado's names, plus squall's SafeHTML marker.
    assert sorted(squall.escape.__all__) == sorted(
        [
            "SafeHTML",
            "json_decode",
            "json_encode",
            "linkify",
            "native_str",
            "parse_qs_bytes",
            "recursive_unicode",
            "squeeze",
            "to_basestring",
            "to_unicode",
            "unicode_type",
            "url_escape",
            "url_unescape",
            "utf8",
            "xhtml_escape",
            "xhtml_unescape",
        ]
    )
    for name in squall.escape.__all__:
        assert getattr(squall.escape, name) is not None


def test_aliases() -> None:
    assert native_str is to_unicode
    assert to_basestring is to_unicode
    assert unicode_type is str


def test_utf8_encodes_text() -> None:
    assert utf8("caf\u00e9") == b"caf\xc3\xa9"
    assert utf8("") == b""


def test_utf8_returns_bytes_and_none_unchanged() -> None:
    data = b"\xff\x00"
    assert utf8(data) is data
    assert utf8(None) is None


def test_utf8_subclasses() -> None:
    class Text(str):
        pass

    class Data(bytes):
        pass

    data = Data(b"x")
    assert utf8(data) is data
    result = utf8(Text("\u00e9"))
    assert result == b"\xc3\xa9"
    assert type(result) is bytes


def test_to_unicode_decodes_bytes() -> None:
    assert to_unicode(b"caf\xc3\xa9") == "caf\u00e9"
    assert to_unicode(b"") == ""


def test_to_unicode_returns_text_and_none_unchanged() -> None:
    text = "caf\u00e9"
    assert to_unicode(text) is text
    assert to_unicode(None) is None


def test_to_unicode_subclasses() -> None:
    class Text(str):
        pass

    class Data(bytes):
        pass

    text = Text("x")
    assert to_unicode(text) is text
    result = to_unicode(Data(b"\xc3\xa9"))
    assert result == "\u00e9"
    assert type(result) is str


@pytest.mark.parametrize("function", [utf8, to_unicode, native_str, to_basestring])
@pytest.mark.parametrize("bad", [1, 1.5, bytearray(b"x"), memoryview(b"x"), object(), ["x"]])
def test_conversions_reject_other_types_with_tornado_message(function: Any, bad: Any) -> None:
    with pytest.raises(TypeError) as info:
        function(bad)
    assert str(info.value) == f"Expected bytes, unicode, or None; got {type(bad)!r}"


def test_exact_message_for_int() -> None:
    with pytest.raises(TypeError, match=r"^Expected bytes, unicode, or None; got <class 'int'>$"):
        utf8(1)  # type: ignore[call-overload]


def test_utf8_rejects_lone_surrogates() -> None:
    with pytest.raises(UnicodeEncodeError):
        utf8("\ud800")


def test_to_unicode_rejects_invalid_utf8() -> None:
    with pytest.raises(UnicodeDecodeError):
        to_unicode(b"\xff")


@pytest.mark.parametrize("text", ["", "ascii", "caf\u00e9", "\U0001f600 \u2603", "\x00"])
def test_utf8_to_unicode_round_trip(text: str) -> None:
    assert to_unicode(utf8(text)) == text


def test_recursive_unicode_nested_structures() -> None:
    data = {b"a": [b"x", (b"y", {b"z": b"w"})], "k": 1, 2: None}
    result = recursive_unicode(data)
    assert result == {"a": ["x", ("y", {"z": "w"})], "k": 1, 2: None}
    assert type(result["a"][1]) is tuple


def test_recursive_unicode_leaves_other_values_alone() -> None:
    payload = bytearray(b"q")
    items = {1, 2}
    result = recursive_unicode([b"a", 1.5, None, payload, items, "s"])
    assert result == ["a", 1.5, None, payload, items, "s"]
    assert result[3] is payload and result[4] is items
    assert recursive_unicode(b"abc") == "abc"
    assert recursive_unicode(5) == 5


def test_recursive_unicode_subclasses_become_base_types() -> None:
    pair = collections.namedtuple("pair", "a b")

    class Mapping(dict[str, bytes]):
        pass

    assert type(recursive_unicode(pair(b"1", b"2"))) is tuple
    assert recursive_unicode(pair(b"1", b"2")) == ("1", "2")
    assert type(recursive_unicode(Mapping(a=b"1"))) is dict


def test_recursive_unicode_rejects_invalid_utf8() -> None:
    with pytest.raises(UnicodeDecodeError):
        recursive_unicode({b"\xff": 1})


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("  a \t\n b  ", "a b"),
        ("a\x0b\x0cb\r\n", "a b"),
        ("a\x00b\x01c\x1bd\x1fe", "a b c d e"),
        ("", ""),
        ("   ", ""),
        ("a\xa0\u3000b", "a\xa0\u3000b"),
        ("\xa0a\u3000", "a"),
        (" \xa0 a", "a"),
        ("x\x7fy", "x\x7fy"),
    ],
)
def test_squeeze(value: str, expected: str) -> None:
    assert squeeze(value) == expected


@pytest.mark.parametrize("bad", [b"a  b", None, 1])
def test_squeeze_rejects_non_text(bad: Any) -> None:
    with pytest.raises(TypeError, match=r"^Expected unicode; got "):
        squeeze(bad)
