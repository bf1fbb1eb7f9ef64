"""Syntax errors raise ParseError naming the template and line."""

from __future__ import annotations

import pytest
from squall.template import DictLoader, ParseError, Template

STRUCTURE_ERRORS = [
    ("{% if 1 %}x", "Missing {% end %} block for if", 1),
    ("a\n\n{% for x in y %}\n{% try %}\n\n", "Missing {% end %} block for try", 4),
    ("{% bogus %}", "unknown operator: 'bogus'", 1),
    ("{% end %}", "Extra {% end %} block", 1),
    ("\n\n{% if 1 %}\n{% end %}{% end %}", "Extra {% end %} block", 4),
    ("{% block %}{% end %}", "block missing name", 1),
    ("{% else %}", "else outside {'for', 'if', 'while', 'try'} block", 1),
    ("{% elif 1 %}", "elif outside {'if'} block", 1),
    ("{% finally %}", "finally outside {'try'} block", 1),
    ("{% try %}{% elif 1 %}{% end %}", "elif block cannot be attached to try block", 1),
    ("{% for x in y %}{% except %}{% end %}", "except block cannot be attached to for block", 1),
    ("{% if 1 %}{% finally %}{% end %}", "finally block cannot be attached to if block", 1),
    ("{{ }}", "Empty expression", 1),
    ("{% %}", "Empty block tag ({% %})", 1),
    ("x\n{{ 1", "Missing end expression }}", 2),
    ("{% if 1", "Missing end block %}", 1),
    ("{# abc", "Missing end comment #}", 1),
    ("{% comment x", "Missing end block %}", 1),
    ("{% extends %}", "extends missing file path", 1),
    ("{% include %}", "include missing file path", 1),
    ("{% set %}", "set missing statement", 1),
    ("{% import %}", "import missing statement", 1),
    ("{% from %}", "import missing statement", 1),
    ("{% apply %}{% end %}", "apply missing method name", 1),
    ("{% break %}", "break outside {'for', 'while'} block", 1),
    ("{% continue %}", "continue outside {'for', 'while'} block", 1),
    (
        "{% while 1 %}{% apply f %}{% break %}{% end %}{% end %}",
        "break outside {'for', 'while'} block",
        1,
    ),
    ("{% if\tx %}{% end %}", "unknown operator: 'if\\tx'", 1),
    (
        "{% if 1 %}{% extends 'x' %}{% end %}",
        "{% extends %} must be at the top level of the template",
        1,
    ),
]


@pytest.mark.parametrize(("source", "message", "line"), STRUCTURE_ERRORS)
def test_structure_errors(source: str, message: str, line: int) -> None:
    with pytest.raises(ParseError) as info:
        Template(source, name="page.html")
    assert info.value.message == message
    assert info.value.filename == "page.html"
    assert info.value.lineno == line
    assert str(info.value) == f"{message} at page.html:{line}"


PYTHON_ERRORS = [
    ("{% if 1 %}{% elif %}{% end %}", 1),
    ("line1\n{% for x %}{% end %}", 2),
    ("\n{{ 1 +  }}", 2),
    ("\n\n\n{% if 1 + %}{% end %}", 4),
    ("{% if 1 %}\n{% else %}\n{% else %}{% end %}", 3),
    ("{% raw %}", 1),
    ("{% module %}", 1),
    ("a\n{% set x = = 1 %}", 2),
]


@pytest.mark.parametrize(("source", "line"), PYTHON_ERRORS)
def test_python_syntax_errors_name_template_line(source: str, line: int) -> None:
    with pytest.raises(ParseError) as info:
        Template(source, name="page.html")
    assert info.value.filename == "page.html"
    assert info.value.lineno == line
    # Also a SyntaxError, which is what Tornado lets escape.
    assert isinstance(info.value, SyntaxError)
    assert str(info.value).endswith(f"at page.html:{line}")


def test_syntax_error_in_included_file_names_that_file() -> None:
    loader = DictLoader({"m.html": "x\n{% include 'i.html' %}", "i.html": "\n\n{{ 1 + }}"})
    with pytest.raises(ParseError) as info:
        loader.load("m.html")
    assert (info.value.filename, info.value.lineno) == ("i.html", 3)


def test_structure_error_in_included_file_names_that_file() -> None:
    loader = DictLoader({"m.html": "x\n{% include 'i.html' %}", "i.html": "\n\n{% end %}"})
    with pytest.raises(ParseError, match=r"Extra \{% end %\} block at i.html:3"):
        loader.load("m.html")


def test_error_in_base_template_names_base() -> None:
    loader = DictLoader({"m.html": "x\n{% extends 'b.html' %}", "b.html": "\n{% bogus %}"})
    with pytest.raises(ParseError, match="unknown operator: 'bogus' at b.html:2"):
        loader.load("m.html")


def test_extends_without_loader() -> None:
    with pytest.raises(ParseError, match="no template loader at <string>:2"):
        Template("\n{% extends 'x.html' %}")


def test_include_without_loader() -> None:
    with pytest.raises(ParseError, match="no template loader at <string>:1"):
        Template("{% include 'x.html' %}")


def test_parse_error_attributes_and_str() -> None:
    error = ParseError("msg", "f.html", 3)
    assert (error.message, error.filename, error.lineno) == ("msg", "f.html", 3)
    assert str(error) == "msg at f.html:3"
    assert error.args == ("msg", "f.html", 3)
    assert str(ParseError("m")) == "m at None:0"


def test_end_tag_may_carry_text() -> None:
    assert Template("{% if 1 %}a{% end if %}").generate() == b"a"


def test_comment_directive_needs_no_end() -> None:
    assert Template("a{% comment x %}b{% comment %}c").generate() == b"abc"


def test_hash_comment_spans_lines_and_keeps_line_count() -> None:
    with pytest.raises(ParseError) as info:
        Template("{# a\nb\nc #}\n{% bogus %}")
    assert info.value.lineno == 4
