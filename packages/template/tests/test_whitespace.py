"""Whitespace modes: defaults by file name, {% whitespace %}, filter_whitespace (Tornado's outputs)."""

from __future__ import annotations

import pytest
from squall.template import DictLoader, ParseError, Template, filter_whitespace

NAMES = [
    ("collapse", "a  \n\n  b\t\tc   {{ 1 }}  \n  ", "x.html", b"a\nb c 1\n"),
    ("collapse", "a  \n\n  b\t\tc   {{ 1 }}  \n  ", "x.js", b"a\nb c 1\n"),
    ("collapse", "a  \n\n  b\t\tc   {{ 1 }}  \n  ", "x.txt", b"a  \n\n  b\t\tc   1  \n  "),
    ("collapse", "a  \n\n  b\t\tc   {{ 1 }}  \n  ", "<string>", b"a  \n\n  b\t\tc   1  \n  "),
    (
        "around_tags",
        "  a  {{ 1 }}  \n  {% if 1 %}  \n  b  \n  {% end %}  \n",
        "x.html",
        b" a 1\n\nb\n\n",
    ),
    (
        "around_tags",
        "  a  {{ 1 }}  \n  {% if 1 %}  \n  b  \n  {% end %}  \n",
        "x.js",
        b" a 1\n\nb\n\n",
    ),
    (
        "around_tags",
        "  a  {{ 1 }}  \n  {% if 1 %}  \n  b  \n  {% end %}  \n",
        "x.txt",
        b"  a  1  \n    \n  b  \n    \n",
    ),
    (
        "around_tags",
        "  a  {{ 1 }}  \n  {% if 1 %}  \n  b  \n  {% end %}  \n",
        "<string>",
        b"  a  1  \n    \n  b  \n    \n",
    ),
    (
        "pre_untouched",
        "<pre>  a  \n\n  b</pre>   c\n\n",
        "x.html",
        b"<pre>  a  \n\n  b</pre>   c\n\n",
    ),
    (
        "pre_untouched",
        "<pre>  a  \n\n  b</pre>   c\n\n",
        "x.js",
        b"<pre>  a  \n\n  b</pre>   c\n\n",
    ),
    (
        "pre_untouched",
        "<pre>  a  \n\n  b</pre>   c\n\n",
        "x.txt",
        b"<pre>  a  \n\n  b</pre>   c\n\n",
    ),
    (
        "pre_untouched",
        "<pre>  a  \n\n  b</pre>   c\n\n",
        "<string>",
        b"<pre>  a  \n\n  b</pre>   c\n\n",
    ),
    (
        "directive",
        "a  \n\n  b{% whitespace oneline %}  c \n\n d{% whitespace all %}  e  \n\n",
        "x.html",
        b"a\nb c d  e  \n\n",
    ),
    (
        "directive",
        "a  \n\n  b{% whitespace oneline %}  c \n\n d{% whitespace all %}  e  \n\n",
        "x.js",
        b"a\nb c d  e  \n\n",
    ),
    (
        "directive",
        "a  \n\n  b{% whitespace oneline %}  c \n\n d{% whitespace all %}  e  \n\n",
        "x.txt",
        b"a  \n\n  b c d  e  \n\n",
    ),
    (
        "directive",
        "a  \n\n  b{% whitespace oneline %}  c \n\n d{% whitespace all %}  e  \n\n",
        "<string>",
        b"a  \n\n  b c d  e  \n\n",
    ),
    (
        "odd_spaces",
        " x {{! y }}  \r\n z\xa0\xa0w \x0c\x0c\tq",
        "x.html",
        b" x {{ y }}\nz\xc2\xa0\xc2\xa0w \x0c\x0c q",
    ),
    (
        "odd_spaces",
        " x {{! y }}  \r\n z\xa0\xa0w \x0c\x0c\tq",
        "x.js",
        b" x {{ y }}\nz\xc2\xa0\xc2\xa0w \x0c\x0c q",
    ),
    (
        "odd_spaces",
        " x {{! y }}  \r\n z\xa0\xa0w \x0c\x0c\tq",
        "x.txt",
        b" x {{ y }}  \r\n z\xc2\xa0\xc2\xa0w \x0c\x0c\tq",
    ),
    (
        "odd_spaces",
        " x {{! y }}  \r\n z\xa0\xa0w \x0c\x0c\tq",
        "<string>",
        b" x {{ y }}  \r\n z\xc2\xa0\xc2\xa0w \x0c\x0c\tq",
    ),
    ("comment_split", "a  {# c #}  b\n\n{% comment x %}\n\n c", "x.html", b"a  b\n\nc"),
    ("comment_split", "a  {# c #}  b\n\n{% comment x %}\n\n c", "x.js", b"a  b\n\nc"),
    ("comment_split", "a  {# c #}  b\n\n{% comment x %}\n\n c", "x.txt", b"a    b\n\n\n\n c"),
    ("comment_split", "a  {# c #}  b\n\n{% comment x %}\n\n c", "<string>", b"a    b\n\n\n\n c"),
]
MODES = [
    ("collapse", "a  \n\n  b\t\tc   {{ 1 }}  \n  ", "all", b"a  \n\n  b\t\tc   1  \n  "),
    ("collapse", "a  \n\n  b\t\tc   {{ 1 }}  \n  ", "single", b"a\nb c 1\n"),
    ("collapse", "a  \n\n  b\t\tc   {{ 1 }}  \n  ", "oneline", b"a b c 1 "),
    (
        "around_tags",
        "  a  {{ 1 }}  \n  {% if 1 %}  \n  b  \n  {% end %}  \n",
        "all",
        b"  a  1  \n    \n  b  \n    \n",
    ),
    (
        "around_tags",
        "  a  {{ 1 }}  \n  {% if 1 %}  \n  b  \n  {% end %}  \n",
        "single",
        b" a 1\n\nb\n\n",
    ),
    (
        "around_tags",
        "  a  {{ 1 }}  \n  {% if 1 %}  \n  b  \n  {% end %}  \n",
        "oneline",
        b" a 1  b  ",
    ),
    ("pre_untouched", "<pre>  a  \n\n  b</pre>   c\n\n", "all", b"<pre>  a  \n\n  b</pre>   c\n\n"),
    (
        "pre_untouched",
        "<pre>  a  \n\n  b</pre>   c\n\n",
        "single",
        b"<pre>  a  \n\n  b</pre>   c\n\n",
    ),
    (
        "pre_untouched",
        "<pre>  a  \n\n  b</pre>   c\n\n",
        "oneline",
        b"<pre>  a  \n\n  b</pre>   c\n\n",
    ),
    (
        "directive",
        "a  \n\n  b{% whitespace oneline %}  c \n\n d{% whitespace all %}  e  \n\n",
        "all",
        b"a  \n\n  b c d  e  \n\n",
    ),
    (
        "directive",
        "a  \n\n  b{% whitespace oneline %}  c \n\n d{% whitespace all %}  e  \n\n",
        "single",
        b"a\nb c d  e  \n\n",
    ),
    (
        "directive",
        "a  \n\n  b{% whitespace oneline %}  c \n\n d{% whitespace all %}  e  \n\n",
        "oneline",
        b"a b c d  e  \n\n",
    ),
    (
        "odd_spaces",
        " x {{! y }}  \r\n z\xa0\xa0w \x0c\x0c\tq",
        "all",
        b" x {{ y }}  \r\n z\xc2\xa0\xc2\xa0w \x0c\x0c\tq",
    ),
    (
        "odd_spaces",
        " x {{! y }}  \r\n z\xa0\xa0w \x0c\x0c\tq",
        "single",
        b" x {{ y }}\nz\xc2\xa0\xc2\xa0w \x0c\x0c q",
    ),
    ("odd_spaces", " x {{! y }}  \r\n z\xa0\xa0w \x0c\x0c\tq", "oneline", b" x {{ y }} z w q"),
    ("comment_split", "a  {# c #}  b\n\n{% comment x %}\n\n c", "all", b"a    b\n\n\n\n c"),
    ("comment_split", "a  {# c #}  b\n\n{% comment x %}\n\n c", "single", b"a  b\n\nc"),
    ("comment_split", "a  {# c #}  b\n\n{% comment x %}\n\n c", "oneline", b"a  b  c"),
]
FILTER = [
    ("all", "a  \n\n  b", "a  \n\n  b"),
    ("single", "a  \n\n  b", "a\nb"),
    ("oneline", "a  \n\n  b", "a b"),
    ("all", " \t x \t ", " \t x \t "),
    ("single", " \t x \t ", " x "),
    ("oneline", " \t x \t ", " x "),
    ("all", "a \r\n b", "a \r\n b"),
    ("single", "a \r\n b", "a\nb"),
    ("oneline", "a \r\n b", "a b"),
    ("all", "a\xa0\xa0b\x0c\x0cc\x0b", "a\xa0\xa0b\x0c\x0cc\x0b"),
    ("single", "a\xa0\xa0b\x0c\x0cc\x0b", "a\xa0\xa0b\x0c\x0cc\x0b"),
    ("oneline", "a\xa0\xa0b\x0c\x0cc\x0b", "a b c "),
    ("all", "", ""),
    ("single", "", ""),
    ("oneline", "", ""),
    ("all", "\n", "\n"),
    ("single", "\n", "\n"),
    ("oneline", "\n", " "),
    ("all", "  ", "  "),
    ("single", "  ", " "),
    ("oneline", "  ", " "),
]


@pytest.mark.parametrize(("cid", "source", "name", "expected"), NAMES)
def test_default_mode_depends_on_name(cid: str, source: str, name: str, expected: bytes) -> None:
    assert Template(source, name=name).generate() == expected


@pytest.mark.parametrize(("cid", "source", "mode", "expected"), MODES)
def test_explicit_mode(cid: str, source: str, mode: str, expected: bytes) -> None:
    assert Template(source, name="x.html", whitespace=mode).generate() == expected


@pytest.mark.parametrize(("mode", "text", "expected"), FILTER)
def test_filter_whitespace(mode: str, text: str, expected: str) -> None:
    assert filter_whitespace(mode, text) == expected


def test_filter_whitespace_rejects_unknown_mode() -> None:
    with pytest.raises(Exception, match="invalid whitespace mode bogus"):
        filter_whitespace("bogus", "x")


def test_template_rejects_unknown_mode() -> None:
    with pytest.raises(Exception, match="invalid whitespace mode"):
        Template("x", whitespace="bogus")


def test_whitespace_directive_rejects_unknown_mode_with_line() -> None:
    with pytest.raises(ParseError) as info:
        Template("a\n{% whitespace bogus %}")
    assert info.value.lineno == 2


def test_compress_whitespace_true_means_single() -> None:
    assert Template("a  \n\n b", name="x.txt", compress_whitespace=True).generate() == b"a\nb"


def test_compress_whitespace_false_means_all() -> None:
    assert (
        Template("a  \n\n b", name="x.html", compress_whitespace=False).generate() == b"a  \n\n b"
    )


def test_compress_whitespace_and_whitespace_conflict() -> None:
    with pytest.raises(Exception, match="cannot set both whitespace and compress_whitespace"):
        Template("x", compress_whitespace=True, whitespace="all")


def test_loader_whitespace_is_the_default() -> None:
    loader = DictLoader({"a.txt": "a  \n\n b"}, whitespace="oneline")
    assert loader.load("a.txt").generate() == b"a b"


def test_template_whitespace_beats_loader() -> None:
    loader = DictLoader({}, whitespace="oneline")
    assert Template("a  \n\n b", loader=loader, whitespace="all").generate() == b"a  \n\n b"


def test_compress_whitespace_beats_loader() -> None:
    loader = DictLoader({}, whitespace="oneline")
    assert (
        Template(" \n\n x", name="a.txt", loader=loader, compress_whitespace=False).generate()
        == b" \n\n x"
    )
