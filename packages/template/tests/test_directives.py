"""Every directive renders exactly what Tornado renders (outputs recorded from Tornado 6.6)."""

from __future__ import annotations

from typing import Any

import pytest
from squall.template import Template


def f(b: bytes) -> bytes:
    return b"F[" + b + b"]"


def up(b: bytes) -> bytes:
    return b.upper()


class Mods:
    @staticmethod
    def Foo(x: int) -> str:
        return f"<m{x}>"


CASES: list[tuple[str, str, dict[str, Any], bytes]] = [
    (
        "int_none_bytes_str",
        "{{ 1 }}|{{ None }}|{{ b'<a>' }}|{{ '<a>' }}|{{ 1.5 }}|{{ [1,'<'] }}|{{ True }}",
        {},
        b"1|None|&lt;a&gt;|&lt;a&gt;|1.5|[1, &#x27;&lt;&#x27;]|True",
    ),
    (
        "raw_values",
        "{% raw 1 %}|{% raw None %}|{% raw b'<a>' %}|{% raw '<a>' %}",
        {},
        b"1|None|<a>|<a>",
    ),
    (
        "autoescape_none_values",
        "{% autoescape None %}{{ 1 }}|{{ None }}|{{ b'<a>' }}|{{ '<a>' }}",
        {},
        b"1|None|<a>|<a>",
    ),
    (
        "default_namespace",
        "{{ escape('<') }}{{ datetime.date(2020,1,1) }}{{ url_escape('a b&') }}{{ json_encode({'a': '<'}) }}{{ squeeze(' a  b ') }}",
        {},
        b"&amp;lt;2020-01-01a+b%26{&quot;a&quot;: &quot;&lt;&quot;}a b",
    ),
    (
        "linkify_in_namespace",
        "{% raw linkify('see http://x.com') %}",
        {},
        b'see <a href="http://x.com">http://x.com</a>',
    ),
    ("name_dunder", "{{ __name__ }}", {}, b"&lt;string&gt;"),
    (
        "literal_openers",
        "{{! x }}|{%! if %}|{#! c #}|{{!}}|{{!!}}",
        {},
        b"{{ x }}|{% if %}|{# c #}|{{}}|{{!}}",
    ),
    ("stray_braces", "{ | } | }} | %} | #} | {{ '{' }}", {}, b"{ | } | }} | %} | #} | {"),
    ("tag_spacing", "{%if 1%}a{%end%}|{%  if 1  %}b{%   end%}|{%\nif 1 %}c{% end %}", {}, b"a|b|c"),
    ("autoescape_is_file_wide", "{{ '<' }}{% autoescape None %}{{ '<' }}", {}, b"<<"),
    (
        "last_autoescape_wins",
        "{% autoescape None %}{{ '<' }}{% autoescape xhtml_escape %}{{ '>' }}",
        {},
        b"&lt;&gt;",
    ),
    ("apply_gets_bytes", "{% apply f %}a{{ 1 }}b{% end %}", {"f": f}, b"F[a1b]"),
    ("apply_empty", "{% apply f %}{% end %}", {"f": f}, b"F[]"),
    (
        "apply_nested",
        "{% apply up %}a{% apply up %}b{{ 'c' }}{% end %}{% end %}",
        {"up": up},
        b"ABC",
    ),
    (
        "apply_linkify",
        "{% apply linkify %}see http://a.com/x{% end %}",
        {},
        b'see <a href="http://a.com/x">http://a.com/x</a>',
    ),
    (
        "apply_in_loop",
        "{% for i in range(3) %}{% apply f %}{{ i }}{% end %}{% end %}",
        {"f": f},
        b"F[0]F[1]F[2]",
    ),
    (
        "apply_set_is_local",
        "{% set x = 5 %}{% apply f %}{% set x = 6 %}{{ x }}{% end %}{{ x }}",
        {"f": f},
        b"F[6]5",
    ),
    (
        "custom_autoescape_gets_bytes",
        "{% autoescape f %}{{ 'a' }}{{ 1 }}{{ b'x' }}{% raw 'r' %}",
        {"f": f},
        b"F[a]F[1]F[x]r",
    ),
    ("autoescape_url_escape", "{% autoescape url_escape %}{{ '< &' }}", {}, b"%3C+%26"),
    ("autoescape_escape_alias", "{% autoescape escape %}{{ '<' }}", {}, b"&lt;"),
    ("namespace_overrides_xhtml_escape", "{{ '<' }}", {"xhtml_escape": lambda b: b"X"}, b"X"),
    (
        "set_escape_then_autoescape",
        "{% set escape = f %}{% autoescape escape %}{{ '<' }}",
        {"f": f},
        b"F[<]",
    ),
    ("module", "{% module Foo(1) %}", {"_tt_modules": Mods}, b"<m1>"),
    ("set_and_augmented", "{% set x = 1 %}{% set x += 2 %}{{ x }}", {}, b"3"),
    ("set_multiline", "{% set x = [1,\n2] %}{{ x }}|{{ x\n }}", {}, b"[1, 2]|[1, 2]"),
    (
        "import_from",
        "{% import os.path %}{{ os.path.join('a','b') }}{% from os.path import join %}{{ join('c','d') }}",
        {},
        b"a/bc/d",
    ),
    (
        "import_as",
        "{% from os import path as p %}{{ p.sep }}{% import os, sys %}{{ sys.maxsize > 0 }}",
        {},
        b"/True",
    ),
    (
        "try_except_else_finally",
        "{% try %}{{ 1/0 }}{% except ZeroDivisionError as e %}Z{{ e }}{% else %}E{% finally %}F{% end %}",
        {},
        b"Zdivision by zeroF",
    ),
    ("try_else", "{% try %}ok{% except %}no{% else %}E{% finally %}F{% end %}", {}, b"okEF"),
    ("try_keeps_partial_output", "{% try %}a{{ 1/0 }}b{% except %}c{% end %}", {}, b"ac"),
    (
        "try_loop_partial_output",
        "{% try %}{% for i in range(3) %}<{{ i }}>{{ 1/(1-i) }}{% end %}{% except %}c{% end %}",
        {},
        b"<0>1.0<1>c",
    ),
    (
        "break_continue",
        "{% for i in range(5) %}{% if i == 1 %}{% continue %}{% end %}{% if i == 3 %}{% break %}{% end %}{{ i }}{% end %}",
        {},
        b"02",
    ),
    ("for_else", "{% for i in [] %}x{% else %}empty{% end %}", {}, b"empty"),
    (
        "for_unpack",
        "{% for k, v in d.items() %}{{ k }}={{ v }};{% end %}",
        {"d": {"a": 1, "b": "<"}},
        b"a=1;b=&lt;;",
    ),
    ("while_loop", "{% set i = 3 %}{% while i %}{{ i }}{% set i -= 1 %}{% end %}", {}, b"321"),
    (
        "while_break_in_try_finally",
        "{% while True %}{% try %}{% break %}{% finally %}F{% end %}{% end %}",
        {},
        b"F",
    ),
    (
        "nested_loops_break",
        "{% for i in range(2) %}{% for j in range(2) %}{% if j %}{% break %}{% end %}{{ i }}{{ j }}{% end %}{% end %}",
        {},
        b"0010",
    ),
    ("if_elif_else", "{% if x %}a{% elif y %}b{% else %}c{% end %}", {"x": 0, "y": 1}, b"b"),
    (
        "empty_blocks",
        "{% if 1 %}{% else %}{% end %}{% for i in [] %}{% end %}{% try %}{% except %}{% end %}x",
        {},
        b"x",
    ),
    ("comments", "{% comment this is {{ ignored }} %}a{# x {{ y }} #}b", {}, b"ab"),
    (
        "raw_vs_escaped",
        "{% raw x %}{{ x }}",
        {"x": "a&b'\"<>"},
        b"a&b'\"<>a&amp;b&#x27;&quot;&lt;&gt;",
    ),
    (
        "tuple_expression",
        "{{ a, b }}|{{ x # c }}|{% set y = 1 # c %}{{ y }}",
        {"a": 1, "b": 2, "x": 1},
        b"(1, 2)|1|1",
    ),
    ("unicode_value", "{{ x }}", {"x": "é中"}, b"\xc3\xa9\xe4\xb8\xad"),
    ("utf8_bytes_value", "é{{ x }}", {"x": "é".encode()}, b"\xc3\xa9\xc3\xa9"),
    ("raw_invalid_utf8_bytes", "{% raw x %}", {"x": b"\xff\xfe"}, b"\xff\xfe"),
    (
        "unescaped_invalid_utf8_bytes",
        "{% autoescape None %}{{ x }}",
        {"x": b"\xff\xfe"},
        b"\xff\xfe",
    ),
    ("bytearray_uses_str", "{{ x }}", {"x": bytearray(b"ab")}, b"bytearray(b&#x27;ab&#x27;)"),
    (
        "str_subclass_not_str_called",
        "{{ x }}",
        {"x": type("S", (str,), {"__str__": lambda s: "NO"})("<s>")},
        b"&lt;s&gt;",
    ),
    ("globals_available", "{{ globals().get('undeclared', 'dflt') }}", {}, b"dflt"),
    ("dict_access", "{{ d['a'] }}{{ d.get('b', '<>') }}", {"d": {"a": "&"}}, b"&amp;&lt;&gt;"),
    ("block_without_extends", "{% block a b %}1{% end %}{% block 'x' %}2{% end %}", {}, b"12"),
]


@pytest.mark.parametrize(
    ("source", "kwargs", "expected"),
    [case[1:] for case in CASES],
    ids=[case[0] for case in CASES],
)
def test_renders_like_tornado(source: str, kwargs: dict[str, Any], expected: bytes) -> None:
    assert Template(source).generate(**kwargs) == expected


@pytest.mark.parametrize(
    ("source", "kwargs", "expected"),
    [case[1:] for case in CASES],
    ids=[case[0] for case in CASES],
)
def test_renders_twice_the_same(source: str, kwargs: dict[str, Any], expected: bytes) -> None:
    template = Template(source)
    assert template.generate(**kwargs) == template.generate(**kwargs) == expected


def _in_loop(source: str) -> str:
    # Inside a loop expressions compile to their inline fast path.
    return "{% for _once in (0,) %}" + source + "{% end %}"


@pytest.mark.parametrize(
    ("source", "kwargs", "expected"),
    [case[1:] for case in CASES],
    ids=[case[0] for case in CASES],
)
def test_directive_renders_the_same_inside_a_loop(
    source: str, kwargs: dict[str, Any], expected: bytes
) -> None:
    assert Template(_in_loop(source)).generate(**kwargs) == expected


def test_generate_returns_bytes() -> None:
    assert isinstance(Template("x").generate(), bytes)


def test_template_source_may_be_bytes() -> None:
    assert Template("caf\u00e9 {{ 1 }}".encode()).generate() == "caf\u00e9 1".encode()


def test_empty_template_renders_empty_bytes() -> None:
    assert Template("").generate() == b""


def test_kwargs_override_loader_namespace() -> None:
    from squall.template import DictLoader

    loader = DictLoader({}, namespace={"q": 5})
    assert Template("{{ q }}", loader=loader).generate() == b"5"
    assert Template("{{ q }}", loader=loader).generate(q=9) == b"9"


def test_undefined_name_raises_name_error() -> None:
    with pytest.raises(NameError):
        Template("{{ nope }}").generate()


def test_module_uses_tt_modules_namespace_key() -> None:
    calls: list[int] = []

    class Modules:
        def Show(self, value: int) -> str:
            calls.append(value)
            return f"<div>{value}</div>"

    out = Template("{% module Show(3) %}").generate(_tt_modules=Modules())
    assert out == b"<div>3</div>"  # not escaped
    assert calls == [3]


def test_apply_function_returning_none_is_a_type_error() -> None:
    with pytest.raises(TypeError):
        Template("{% apply f %}x{% end %}").generate(f=lambda b: None)


def test_apply_function_may_return_str() -> None:
    assert Template("{% apply f %}x{% end %}").generate(f=lambda b: "s") == b"s"


def test_autoescaped_invalid_utf8_bytes_raise_like_tornado() -> None:
    with pytest.raises(UnicodeDecodeError):
        Template("{{ x }}").generate(x=b"\xff")


def test_expression_value_with_html_is_escaped_once() -> None:
    assert Template("{{ x }}").generate(x="<&>") == b"&lt;&amp;&gt;"


def test_loop_variable_leaks_like_python() -> None:
    assert Template("{% for i in range(3) %}{% end %}{{ i }}").generate() == b"2"


def test_walrus_rebinding_escape_name_is_respected() -> None:
    source = "{{ (xhtml_escape := g) and '' }}{{ '<' }}"
    # Tornado looks the escape function up at each expression.
    assert Template(source).generate(g=lambda b: b"G") == b"GG"
