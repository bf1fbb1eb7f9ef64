"""Tests for squall.escape.xhtml_escape and xhtml_unescape."""

from __future__ import annotations

from typing import Any

import pytest
from squall.escape import xhtml_escape, xhtml_unescape
from squall.escape._html import _xhtml_escape_str


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("<foo>", "&lt;foo&gt;"),
        ('<a href="x">&\'</a>', "&lt;a href=&quot;x&quot;&gt;&amp;&#x27;&lt;/a&gt;"),
        ("Tom & Jerry", "Tom &amp; Jerry"),
        ("&amp;", "&amp;amp;"),
        ("plain text", "plain text"),
        ("", ""),
        ("caf\u00e9 \u2603", "caf\u00e9 \u2603"),
        (b"<b>caf\xc3\xa9</b>", "&lt;b&gt;caf\u00e9&lt;/b&gt;"),
        (b"", ""),
    ],
)
def test_xhtml_escape(value: str | bytes, expected: str) -> None:
    result = xhtml_escape(value)
    assert result == expected
    assert type(result) is str


def test_xhtml_escape_returns_same_object_when_nothing_to_escape() -> None:
    text = "nothing special here"
    assert xhtml_escape(text) is text


def test_xhtml_escape_str_subclass_returns_plain_str() -> None:
    class Markup(str):
        pass

    result = xhtml_escape(Markup("<i>"))
    assert result == "&lt;i&gt;"
    assert type(result) is str


def test_private_fast_helper_matches_public_function() -> None:
    for text in ["", "abc", "<&>\"'", "a'b\"c<d>e&f"]:
        assert _xhtml_escape_str(text) == xhtml_escape(text)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("&lt;&amp;&gt;&quot;&#39;&#x27;", "<&>\"''"),
        ("&#65;&#x41;&#X41;", "AAA"),
        ("&nbsp;x", "\xa0x"),
        ("&eacute;t&eacute;", "\u00e9t\u00e9"),
        ("&foo; &bogus", "&foo; &bogus"),
        ("&#;&#x;", "&#;&#x;"),
        ("&AMP;", "&"),
        ("&amp &lt", "& <"),
        ("&#0;", "\ufffd"),
        ("&#x110000;", "\ufffd"),
        ("&#128;", "\u20ac"),
        ("no entities", "no entities"),
        (b"&lt;caf\xc3\xa9&gt;", "<caf\u00e9>"),
    ],
)
def test_xhtml_unescape(value: str | bytes, expected: str) -> None:
    assert xhtml_unescape(value) == expected


@pytest.mark.parametrize(
    "text", ["", "<script>alert('x&y')</script>", "\"'&<>" * 3, "caf\u00e9 & co"]
)
def test_xhtml_round_trip(text: str) -> None:
    assert xhtml_unescape(xhtml_escape(text)) == text


@pytest.mark.parametrize("function", [xhtml_escape, xhtml_unescape])
@pytest.mark.parametrize("bad", [1, 1.5, bytearray(b"x"), memoryview(b"x"), ["<"]])
def test_bad_types_raise_tornado_type_error(function: Any, bad: Any) -> None:
    with pytest.raises(TypeError, match=rf"^Expected bytes, unicode, or None; got {type(bad)!r}$"):
        function(bad)


@pytest.mark.parametrize("function", [xhtml_escape, xhtml_unescape])
def test_none_raises_type_error(function: Any) -> None:
    with pytest.raises(TypeError, match=r"^Expected bytes or unicode; got <class 'NoneType'>$"):
        function(None)


def test_invalid_utf8_bytes_raise_unicode_decode_error() -> None:
    with pytest.raises(UnicodeDecodeError):
        xhtml_escape(b"\xff")
