"""Values marked as HTML (``__html__``) skip autoescaping, and only those.

Any value whose type defines ``__html__()`` -- squall.escape.SafeHTML,
MarkupSafe's Markup -- is written as what that method returns when a
template autoescapes, whichever escape function is configured; ``{% raw %}``
and ``autoescape None`` output are unchanged; plain values are escaped as
before, inside loops (inline fast path) and outside (helper call).
"""

from __future__ import annotations

from typing import Any

import pytest
from squall.escape import SafeHTML, xhtml_escape
from squall.escape._html import _xhtml_escape_marked
from squall.template import DictLoader, Template
from squall.template._runtime import escaper


class _Widget:
    """Not a str: markup comes from ``__html__`` only."""

    def __init__(self, html: Any) -> None:
        self.html = html

    def __html__(self) -> Any:
        return self.html

    def __str__(self) -> str:
        return "<str() of widget>"


# The same expressions outside and inside a loop (the two generated forms).
_OUTSIDE = "[{{ v }}]"
_INSIDE = "{% for v in vs %}[{{ v }}]{% end %}"


def _render(source: str, value: Any, **namespace: Any) -> bytes:
    if "for v" in source:
        return Template(source).generate(vs=[value], **namespace)
    return Template(source).generate(v=value, **namespace)


@pytest.mark.parametrize("source", [_OUTSIDE, _INSIDE])
@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (SafeHTML("<b>&amp;</b>"), b"[<b>&amp;</b>]"),
        (SafeHTML(""), b"[]"),
        (_Widget("<i>w</i>"), b"[<i>w</i>]"),
        (_Widget(b"<i>caf\xc3\xa9</i>"), "[<i>café</i>]".encode()),
        # Plain values are escaped as ever.
        ("<b>&amp;</b>", b"[&lt;b&gt;&amp;amp;&lt;/b&gt;]"),
        (b"<b>", b"[&lt;b&gt;]"),
        (7, b"[7]"),
        (None, b"[None]"),
        (str.__new__(type("Sub", (str,), {}), "<s>"), b"[&lt;s&gt;]"),
    ],
)
def test_xhtml_autoescape(source: str, value: Any, expected: bytes) -> None:
    assert _render(source, value) == expected


def test_mixed_values_in_one_loop() -> None:
    template = Template("{% for v in vs %}{{ v }}|{% end %}")
    values = ["<", SafeHTML("<br>"), b"&", 2, SafeHTML("&lt;")]
    assert template.generate(vs=values) == b"&lt;|<br>|&amp;|2|&lt;|"


@pytest.mark.parametrize("source", [_OUTSIDE, _INSIDE])
def test_custom_escape_function_is_skipped_for_markup(source: str) -> None:
    seen: list[bytes] = []

    def shout(value: bytes) -> bytes:
        seen.append(value)
        return value.upper()

    source = "{% autoescape shout %}" + source
    assert _render(source, SafeHTML("<b>x</b>"), shout=shout) == b"[<b>x</b>]"
    assert _render(source, _Widget("<i>y</i>"), shout=shout) == b"[<i>y</i>]"
    assert seen == []
    assert _render(source, "<b>x</b>", shout=shout) == b"[<B>X</B>]"
    assert seen == [b"<b>x</b>"]


@pytest.mark.parametrize("source", [_OUTSIDE, _INSIDE])
def test_escape_function_set_on_the_template(source: str) -> None:
    template = Template(source, autoescape="shout")
    for value, expected in [(SafeHTML("<b>"), b"[<b>]"), ("<b>", b"[<B>]")]:
        args = {"vs": [value]} if "for" in source else {"v": value}
        assert template.generate(shout=bytes.upper, **args) == expected


def test_escape_function_rebound_in_the_template() -> None:
    # A name the template assigns is looked up at each expression.
    source = "{% set esc = pick %}{% autoescape esc %}{{ v }}{% for w in ws %}{{ w }}{% end %}"
    template = Template(source)
    out = template.generate(pick=bytes.upper, v=SafeHTML("<a>"), ws=["<b>", SafeHTML("<c>")])
    assert out == b"<a><B><c>"


@pytest.mark.parametrize("source", [_OUTSIDE, _INSIDE])
def test_raw_output_is_unchanged(source: str) -> None:
    raw = source.replace("{{ v }}", "{% raw v %}")
    assert _render(raw, SafeHTML("<b>")) == b"[<b>]"
    assert _render(raw, "<b>") == b"[<b>]"
    # {% raw %} writes str(), never __html__ (as for any object).
    assert _render(raw, _Widget("<i>")) == b"[<str() of widget>]"


@pytest.mark.parametrize("source", [_OUTSIDE, _INSIDE])
def test_autoescape_none_is_unchanged(source: str) -> None:
    off = "{% autoescape None %}" + source
    assert _render(off, SafeHTML("<b>")) == b"[<b>]"
    assert _render(off, "<b>") == b"[<b>]"
    assert _render(off, _Widget("<i>")) == b"[<str() of widget>]"
    args = {"vs": ["<b>"]} if "for" in source else {"v": "<b>"}
    assert Template(source, autoescape=None).generate(**args) == b"[<b>]"


def test_html_method_is_looked_up_on_the_type() -> None:
    # An instance attribute named __html__ does not make a value markup.
    value = _Widget("ignored")
    plain = type("Plain", (), {"__str__": lambda self: "<p>"})()
    plain.__html__ = lambda: "<never>"
    assert _render(_OUTSIDE, plain) == b"[&lt;p&gt;]"
    assert _render(_INSIDE, plain) == b"[&lt;p&gt;]"
    assert _render(_OUTSIDE, value) == b"[ignored]"


@pytest.mark.parametrize("source", [_OUTSIDE, "{% autoescape bytes.upper %}" + _INSIDE])
def test_html_method_must_return_text(source: str) -> None:
    with pytest.raises(TypeError, match=r"__html__\(\) must return str or bytes, got int"):
        _render(source, _Widget(3))


def test_template_namespace_keeps_tornado_escape() -> None:
    # Outside squall.web, escape() returns a plain str: escaped again, as in Tornado 6.
    assert Template("{{ escape('<a>') }}").generate() == b"&amp;lt;a&amp;gt;"
    assert Template("{{ xhtml_escape('&') }}").generate() == b"&amp;amp;"
    # A namespace that supplies the marking variant escapes once.
    namespace = {"escape": _xhtml_escape_marked}
    assert Template("{{ escape('<a>') }}").generate(**namespace) == b"&lt;a&gt;"


def test_marking_escape_function_as_autoescape_keeps_the_fast_path() -> None:
    assert escaper(_xhtml_escape_marked) == escaper(xhtml_escape)
    assert escaper(_xhtml_escape_marked)[0] is str
    loader = DictLoader({"p.html": _INSIDE + "[{{ w }}]"})
    out = loader.load("p.html").generate(
        xhtml_escape=_xhtml_escape_marked, vs=["<", SafeHTML("<b>")], w=b"&"
    )
    assert out == b"[&lt;][<b>][&amp;]"


def test_included_and_inherited_templates() -> None:
    loader = DictLoader(
        {
            "base.html": "{% block body %}{% end %}{{ tail }}",
            "item.html": "<{{ v }}>",
            "page.html": "{% extends 'base.html' %}{% block body %}"
            "{% for v in vs %}{% include 'item.html' %}{% end %}{% end %}",
        }
    )
    out = loader.load("page.html").generate(vs=["&", SafeHTML("&amp;")], tail=SafeHTML("<hr>"))
    assert out == b"<&amp;><&amp;><hr>"
