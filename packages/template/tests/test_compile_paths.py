"""The code paths chosen to keep compilation cheap render what the others do.

Expressions outside loops compile to a helper call, inside loops to an
inline fast path; escape functions named by a plain identifier are looked up
by :meth:`Template.generate` and passed in; the parser finds tags with one
regular expression; line tables are rebuilt from ``co_lines()``.
"""

from __future__ import annotations

import random
import re
import traceback

import pytest
from squall.template import DictLoader, Template, filter_whitespace
from squall.template._lines import LineMap, _LineTable, split_lines


def test_expression_outside_loops_compiles_to_a_helper_call() -> None:
    template = Template("{{ a }}{% raw b %}")
    assert ".replace(" not in template.code
    assert "_tt_xa0((a))" in template.code
    assert "_tt_text((b))" in template.code
    assert template.generate(a="<", b="<") == b"&lt;<"


def test_expression_inside_loops_compiles_to_the_inline_fast_path() -> None:
    template = Template("{% for x in xs %}{{ x }}{% raw x %}{% end %}")
    assert template.code.count(".replace('&', '&amp;')") == 1
    assert ".__class__ is _tt_str" in template.code
    assert template.generate(xs=["<", 1, b"&"]) == b"&lt;<11&amp;&"


def test_while_loop_and_include_inside_loop_use_the_fast_path() -> None:
    loader = DictLoader(
        {
            "item.html": "{{ x }}",
            "page.html": "{% for x in xs %}{% include 'item.html' %}{% end %}"
            "{% set i = 1 %}{% while i %}{{ i }}{% set i -= 1 %}{% end %}",
        }
    )
    template = loader.load("page.html")
    assert template.code.count(".replace('&', '&amp;')") == 2
    # Rendered alone, the include is not in a loop.
    assert ".replace(" not in loader.load("item.html").code
    assert template.generate(xs=["<", ">"]) == b"&lt;&gt;1"


def test_apply_inside_loop_uses_the_fast_path() -> None:
    template = Template("{% for x in xs %}{% apply f %}{{ x }}{% end %}{% end %}")
    assert ".replace('&', '&amp;')" in template.code
    assert template.generate(xs=["<", 2], f=lambda b: b"[" + b + b"]") == b"[&lt;][2]"


def test_builtin_named_as_autoescape_is_found() -> None:
    # Recorded from Tornado 6.6: the builtin gets the UTF-8 bytes.
    source = "{% autoescape ascii %}{{ 'a' }}{% for i in [1] %}{{ 'b' }}{% end %}"
    assert Template(source).generate() == b"b'a'b'b'"


@pytest.mark.parametrize(
    "source",
    [
        "{% autoescape nope %}x{{ 'a' }}",
        "{% autoescape nope %}{% for i in [1] %}x{{ 'a' }}{% end %}",
    ],
)
def test_missing_autoescape_function_raises_name_error_at_the_expression(source: str) -> None:
    template = Template(source)
    with pytest.raises(NameError, match="name 'nope' is not defined"):
        template.generate()
    # Nothing is looked up for a template that escapes nothing.
    assert Template("{% autoescape nope %}x").generate() == b"x"


def test_autoescape_function_is_looked_up_at_each_render() -> None:
    template = Template("{% autoescape esc %}{{ 'a' }}{% for i in [1] %}{{ 'b' }}{% end %}")
    assert template.generate(esc=lambda b: b"1" + b) == b"1a1b"
    assert template.generate(esc=lambda b: b"2" + b) == b"2a2b"
    assert template.generate(xhtml_escape=lambda b: b"3", esc=bytes.upper) == b"AB"


class _Escapes:
    @staticmethod
    def esc(value: bytes) -> bytes:
        return b"E" + value


@pytest.mark.parametrize("name", ["m.esc", "_tt_q", "(m.esc)"])
def test_escape_expression_that_is_not_a_plain_name(name: str) -> None:
    source = f"{{% autoescape {name} %}}{{{{ 'a' }}}}{{% for i in [1] %}}{{{{ 'b' }}}}{{% end %}}"
    template = Template(source)
    assert template.generate(m=_Escapes, _tt_q=_Escapes.esc) == b"EaEb"


def test_error_in_autoescape_expression_is_raised_at_the_expression() -> None:
    template = Template("{% autoescape m.missing %}ok{{ 'a' }}")
    with pytest.raises(AttributeError):
        template.generate(m=_Escapes)


# -- lines -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "lines"),
    [
        ("", ["\n"]),
        ("a", ["a\n"]),
        ("a\n", ["a\n"]),
        ("a\nb", ["a\n", "b\n"]),
        ("a\n\n", ["a\n", "\n"]),
        ("a\fb\u2028c\rd\r\ne", ["a\fb\u2028c\rd\r\n", "e\n"]),
    ],
)
def test_split_lines_splits_at_newlines_only(text: str, lines: list[str]) -> None:
    assert split_lines(text) == lines


def test_line_map_source_keeps_other_line_separators() -> None:
    line_map = LineMap("t", "a\fb\nc")
    assert line_map.source() == "a\fb\nc\n"


@pytest.mark.parametrize("separator", ["\f", "\u2028", "\r", "\x1c", "\v"])
def test_traceback_shows_the_right_line_after_other_separators(separator: str) -> None:
    template = Template(f"a{separator}b\n\n{{{{ 1/0 }}}}\n", name="sep.html")
    with pytest.raises(ZeroDivisionError) as info:
        template.generate()
    text = "".join(traceback.format_exception(info.value))
    assert 'File "sep.html", line 3' in text
    assert "{{ 1/0 }}" in text
    assert info.value.__notes__ == ['template "sep.html", line 3: {{ 1/0 }}']


def test_included_template_with_other_separators_maps_lines() -> None:
    loader = DictLoader(
        {"inc.html": "p\u2028q\n{{ 1/0 }}", "m.html": "x\n{% include 'inc.html' %}"}
    )
    with pytest.raises(ZeroDivisionError) as info:
        loader.load("m.html").generate()
    text = "".join(traceback.format_exception(info.value))
    assert "    {{ 1/0 }}\n" in text
    assert info.value.__notes__ == [
        'template "inc.html", line 2: {{ 1/0 }}\n  included from m.html, line 2'
    ]


def test_line_table_maps_past_the_end_to_the_last_line() -> None:
    table = _LineTable([4, 9, 7])
    assert [table[1], table[2], table[3]] == [4, 9, 7]
    assert table[4] == table[100] == 7
    assert table[None] is None
    assert table[0] is None
    assert table.get(4) is None  # get() reports only real lines


def test_line_table_of_no_lines() -> None:
    assert _LineTable([])[3] == 1


# -- parsing -----------------------------------------------------------------


def _reference_filter(mode: str, text: str) -> str:
    if mode == "single":
        text = re.sub(r"[\t ]+", " ", text)
        return re.sub(r"\s*\n\s*", "\n", text)
    return re.sub(r"\s+", " ", text)


@pytest.mark.parametrize("mode", ["single", "oneline"])
def test_filter_whitespace_matches_the_plain_regex_definition(mode: str) -> None:
    rng = random.Random(1234)
    alphabet = ["a", "b", " ", "  ", "\t", "\n", "\r", "\f", "\u2028", "\xa0"]
    for _ in range(2000):
        text = "".join(rng.choice(alphabet) for _ in range(rng.randrange(12)))
        assert filter_whitespace(mode, text) == _reference_filter(mode, text), repr(text)


# Outputs and messages below were recorded from Tornado 6.6.
@pytest.mark.parametrize(
    ("source", "expected"),
    [
        # The first closer ends a tag, whatever comes later.
        ("{{ 'a' }}}", b"a}"),
        ("{# a #} #}", b" #}"),
        ("{% if 1 %}x{% end %}%}", b"x%}"),
        # An escaped opener emits the opener, then scanning resumes after it.
        ("{{! {{ 1 }} }}", b"{{ 1 }}"),
        ("{%!{{ 2 }}", b"{%2"),
        ("a{b{{ 3 }}c}", b"a{b3c}"),
        ("{{ '{%' }}|{{ '#}' }}", b"{%|#}"),
        ("{\n{{ 1 }}\n{", b"{\n1\n{"),
    ],
)
def test_tag_scanner(source: str, expected: bytes) -> None:
    assert Template(source).generate() == expected


@pytest.mark.parametrize(
    ("source", "message", "line"),
    [
        ("a\n{{ 1 }}\n{{ 2 %}\n", "Missing end expression }}", 3),
        ("{% if 1 %}\n{%! x %}\n{# y", "Missing end comment #}", 3),
        ("{#\n\n#}\n{% if x }}", "Missing end block %}", 4),
    ],
)
def test_unclosed_tag_reports_its_line(source: str, message: str, line: int) -> None:
    with pytest.raises(Exception) as info:
        Template(source, name="u.html")
    assert str(info.value) == f"{message} at u.html:{line}"
