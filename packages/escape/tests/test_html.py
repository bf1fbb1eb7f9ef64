"""Tests for squall.escape.xhtml_escape and xhtml_unescape."""

from __future__ import annotations

import pickle
from typing import Any

import pytest
import squall.escape
from squall.escape import SafeHTML, linkify, xhtml_escape, xhtml_unescape
from squall.escape._html import _xhtml_escape_marked, _xhtml_escape_str


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


# -- SafeHTML ------------------------------------------------------------------


def test_safe_html_is_a_str_whose_html_is_itself() -> None:
    marked = SafeHTML("<b>x</b>")
    assert isinstance(marked, str)
    assert marked == "<b>x</b>"
    assert marked.__html__() is marked
    assert hasattr(SafeHTML, "__html__")
    assert repr(marked) == "SafeHTML('<b>x</b>')"
    assert SafeHTML.__module__ == "squall.escape"
    assert "SafeHTML" in squall.escape.__all__


def test_safe_html_carries_no_instance_dict() -> None:
    with pytest.raises(AttributeError):
        SafeHTML("x").extra = 1  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    "derived",
    [
        lambda s: s + "<i>",
        lambda s: "<i>" + s,
        lambda s: s[1:],
        lambda s: s.upper(),
        lambda s: f"{s}!",
        lambda s: s.center(9),
        lambda s: s.replace("b", "i"),
        lambda s: "".join([s, s]),
    ],
)
def test_string_operations_drop_the_mark(derived: Any) -> None:
    # Anything built from SafeHTML is a plain str, escaped by templates again.
    result = derived(SafeHTML("<b>"))
    assert type(result) is str


def test_safe_html_survives_pickling() -> None:
    marked = pickle.loads(pickle.dumps(SafeHTML("<hr>")))
    assert type(marked) is SafeHTML
    assert marked == "<hr>"


@pytest.mark.parametrize("function", [xhtml_escape, linkify])
def test_escape_functions_still_escape_and_return_plain_str(function: Any) -> None:
    # Tornado compatibility: the module's own functions know nothing of the mark.
    result = function(SafeHTML("<b>&</b>"))
    assert result == "&lt;b&gt;&amp;&lt;/b&gt;"
    assert type(result) is str
    assert type(function("<b>")) is str


def test_marking_escape_variant() -> None:
    # What squall.web's templates call escape() and xhtml_escape().
    result = _xhtml_escape_marked("<a href='x'>")
    assert type(result) is SafeHTML
    assert result == xhtml_escape("<a href='x'>")
    assert _xhtml_escape_marked(b"&") == "&amp;"
