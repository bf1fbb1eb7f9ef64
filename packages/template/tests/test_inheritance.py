"""extends / block / include through DictLoader (outputs recorded from Tornado 6.6)."""

from __future__ import annotations

from typing import Any

import pytest
from squall.template import DictLoader


def f(b: bytes) -> bytes:
    return b"F[" + b + b"]"


CASES = [
    (
        "three_levels",
        {
            "base.html": "B[{% block a %}ba{% end %}|{% block b %}bb{% end %}]",
            "mid.html": "{% extends 'base.html' %}{% block a %}ma{% block c %}mc{% end %}{% end %}",
            "child.html": "junk{% set z = 1 %}{% extends 'mid.html' %}{% block c %}cc{% end %}{% block b %}cb{% end %}{% block nope %}no{% end %}",
        },
        "child.html",
        {},
        {},
        b"B[macc|cb]",
    ),
    (
        "three_levels",
        {
            "base.html": "B[{% block a %}ba{% end %}|{% block b %}bb{% end %}]",
            "mid.html": "{% extends 'base.html' %}{% block a %}ma{% block c %}mc{% end %}{% end %}",
            "child.html": "junk{% set z = 1 %}{% extends 'mid.html' %}{% block c %}cc{% end %}{% block b %}cb{% end %}{% block nope %}no{% end %}",
        },
        "child.html",
        {},
        {"autoescape": None},
        b"B[macc|cb]",
    ),
    (
        "three_levels",
        {
            "base.html": "B[{% block a %}ba{% end %}|{% block b %}bb{% end %}]",
            "mid.html": "{% extends 'base.html' %}{% block a %}ma{% block c %}mc{% end %}{% end %}",
            "child.html": "junk{% set z = 1 %}{% extends 'mid.html' %}{% block c %}cc{% end %}{% block b %}cb{% end %}{% block nope %}no{% end %}",
        },
        "child.html",
        {},
        {"whitespace": "oneline"},
        b"B[macc|cb]",
    ),
    (
        "mid_level_render",
        {
            "base.html": "B[{% block a %}ba{% end %}|{% block b %}bb{% end %}]",
            "mid.html": "{% extends 'base.html' %}{% block a %}ma{% block c %}mc{% end %}{% end %}",
        },
        "mid.html",
        {},
        {},
        b"B[mamc|bb]",
    ),
    (
        "mid_level_render",
        {
            "base.html": "B[{% block a %}ba{% end %}|{% block b %}bb{% end %}]",
            "mid.html": "{% extends 'base.html' %}{% block a %}ma{% block c %}mc{% end %}{% end %}",
        },
        "mid.html",
        {},
        {"autoescape": None},
        b"B[mamc|bb]",
    ),
    (
        "mid_level_render",
        {
            "base.html": "B[{% block a %}ba{% end %}|{% block b %}bb{% end %}]",
            "mid.html": "{% extends 'base.html' %}{% block a %}ma{% block c %}mc{% end %}{% end %}",
        },
        "mid.html",
        {},
        {"whitespace": "oneline"},
        b"B[mamc|bb]",
    ),
    (
        "autoescape_per_file_in_blocks",
        {
            "base.html": "{{ '<' }}{% block a %}{{ '<' }}{% end %}",
            "child.html": "{% autoescape None %}{% extends 'base.html' %}{% block a %}{{ '<' }}{% end %}",
        },
        "child.html",
        {},
        {},
        b"&lt;<",
    ),
    (
        "autoescape_per_file_in_blocks",
        {
            "base.html": "{{ '<' }}{% block a %}{{ '<' }}{% end %}",
            "child.html": "{% autoescape None %}{% extends 'base.html' %}{% block a %}{{ '<' }}{% end %}",
        },
        "child.html",
        {},
        {"autoescape": None},
        b"<<",
    ),
    (
        "autoescape_per_file_in_blocks",
        {
            "base.html": "{{ '<' }}{% block a %}{{ '<' }}{% end %}",
            "child.html": "{% autoescape None %}{% extends 'base.html' %}{% block a %}{{ '<' }}{% end %}",
        },
        "child.html",
        {},
        {"whitespace": "oneline"},
        b"&lt;<",
    ),
    (
        "include_sees_loop_var_and_own_autoescape",
        {
            "inc.html": "{{ '<' }}{{ i }}",
            "m.html": "{% autoescape None %}{% for i in range(2) %}{% include 'inc.html' %}{{ '<' }}{% end %}",
        },
        "m.html",
        {},
        {},
        b"&lt;0<&lt;1<",
    ),
    (
        "include_sees_loop_var_and_own_autoescape",
        {
            "inc.html": "{{ '<' }}{{ i }}",
            "m.html": "{% autoescape None %}{% for i in range(2) %}{% include 'inc.html' %}{{ '<' }}{% end %}",
        },
        "m.html",
        {},
        {"autoescape": None},
        b"<0<<1<",
    ),
    (
        "include_sees_loop_var_and_own_autoescape",
        {
            "inc.html": "{{ '<' }}{{ i }}",
            "m.html": "{% autoescape None %}{% for i in range(2) %}{% include 'inc.html' %}{{ '<' }}{% end %}",
        },
        "m.html",
        {},
        {"whitespace": "oneline"},
        b"&lt;0<&lt;1<",
    ),
    (
        "block_inside_include_overridable",
        {
            "base.html": "{% include 'inc.html' %}",
            "inc.html": "[{% block x %}ix{% end %}]",
            "child.html": "{% extends 'base.html' %}{% block x %}cx{% end %}",
        },
        "child.html",
        {},
        {},
        b"[cx]",
    ),
    (
        "block_inside_include_overridable",
        {
            "base.html": "{% include 'inc.html' %}",
            "inc.html": "[{% block x %}ix{% end %}]",
            "child.html": "{% extends 'base.html' %}{% block x %}cx{% end %}",
        },
        "child.html",
        {},
        {"autoescape": None},
        b"[cx]",
    ),
    (
        "block_inside_include_overridable",
        {
            "base.html": "{% include 'inc.html' %}",
            "inc.html": "[{% block x %}ix{% end %}]",
            "child.html": "{% extends 'base.html' %}{% block x %}cx{% end %}",
        },
        "child.html",
        {},
        {"whitespace": "oneline"},
        b"[cx]",
    ),
    (
        "relative_include_paths",
        {
            "a/b.html": "{% include '../c.html' %}{% include 'd.html' %}",
            "c.html": "C",
            "a/d.html": "D",
            "m.html": "{% include 'a/b.html' %}",
        },
        "m.html",
        {},
        {},
        b"CD",
    ),
    (
        "relative_include_paths",
        {
            "a/b.html": "{% include '../c.html' %}{% include 'd.html' %}",
            "c.html": "C",
            "a/d.html": "D",
            "m.html": "{% include 'a/b.html' %}",
        },
        "m.html",
        {},
        {"autoescape": None},
        b"CD",
    ),
    (
        "relative_include_paths",
        {
            "a/b.html": "{% include '../c.html' %}{% include 'd.html' %}",
            "c.html": "C",
            "a/d.html": "D",
            "m.html": "{% include 'a/b.html' %}",
        },
        "m.html",
        {},
        {"whitespace": "oneline"},
        b"CD",
    ),
    (
        "absolute_include_name",
        {"a/b.html": "{% include '/c.html' %}", "c.html": "C", "/c.html": "SLASHC"},
        "a/b.html",
        {},
        {},
        b"SLASHC",
    ),
    (
        "absolute_include_name",
        {"a/b.html": "{% include '/c.html' %}", "c.html": "C", "/c.html": "SLASHC"},
        "a/b.html",
        {},
        {"autoescape": None},
        b"SLASHC",
    ),
    (
        "absolute_include_name",
        {"a/b.html": "{% include '/c.html' %}", "c.html": "C", "/c.html": "SLASHC"},
        "a/b.html",
        {},
        {"whitespace": "oneline"},
        b"SLASHC",
    ),
    (
        "duplicate_block_in_base_both_replaced",
        {
            "base.html": "<{% block a %}A{% end %}{% block a %}A2{% end %}>",
            "c.html": "{% extends 'base.html' %}{% block a %}C{% end %}",
        },
        "c.html",
        {},
        {},
        b"<CC>",
    ),
    (
        "duplicate_block_in_base_both_replaced",
        {
            "base.html": "<{% block a %}A{% end %}{% block a %}A2{% end %}>",
            "c.html": "{% extends 'base.html' %}{% block a %}C{% end %}",
        },
        "c.html",
        {},
        {"autoescape": None},
        b"<CC>",
    ),
    (
        "duplicate_block_in_base_both_replaced",
        {
            "base.html": "<{% block a %}A{% end %}{% block a %}A2{% end %}>",
            "c.html": "{% extends 'base.html' %}{% block a %}C{% end %}",
        },
        "c.html",
        {},
        {"whitespace": "oneline"},
        b"<CC>",
    ),
    (
        "block_inside_apply",
        {
            "m.html": "{% apply f %}{% block a %}x{% end %}{% end %}",
            "c.html": "{% extends 'm.html' %}{% block a %}<{{ 1 }}>{% end %}",
        },
        "c.html",
        {"f": f},
        {},
        b"F[<1>]",
    ),
    (
        "block_inside_apply",
        {
            "m.html": "{% apply f %}{% block a %}x{% end %}{% end %}",
            "c.html": "{% extends 'm.html' %}{% block a %}<{{ 1 }}>{% end %}",
        },
        "c.html",
        {"f": f},
        {"autoescape": None},
        b"F[<1>]",
    ),
    (
        "block_inside_apply",
        {
            "m.html": "{% apply f %}{% block a %}x{% end %}{% end %}",
            "c.html": "{% extends 'm.html' %}{% block a %}<{{ 1 }}>{% end %}",
        },
        "c.html",
        {"f": f},
        {"whitespace": "oneline"},
        b"F[<1>]",
    ),
    (
        "block_in_loop_sees_loop_var",
        {
            "m.html": "{% for i in range(2) %}{% block a %}{{ i }}{% end %}{% end %}",
            "c.html": "{% extends 'm.html' %}{% block a %}<{{ i }}>{% end %}",
        },
        "c.html",
        {},
        {},
        b"<0><1>",
    ),
    (
        "block_in_loop_sees_loop_var",
        {
            "m.html": "{% for i in range(2) %}{% block a %}{{ i }}{% end %}{% end %}",
            "c.html": "{% extends 'm.html' %}{% block a %}<{{ i }}>{% end %}",
        },
        "c.html",
        {},
        {"autoescape": None},
        b"<0><1>",
    ),
    (
        "block_in_loop_sees_loop_var",
        {
            "m.html": "{% for i in range(2) %}{% block a %}{{ i }}{% end %}{% end %}",
            "c.html": "{% extends 'm.html' %}{% block a %}<{{ i }}>{% end %}",
        },
        "c.html",
        {},
        {"whitespace": "oneline"},
        b"<0><1>",
    ),
    (
        "last_child_block_wins",
        {
            "b.html": "<{% block a %}{% end %}>",
            "c.html": "{% extends 'b.html' %}{% block a %}1{% end %}{% block a %}2{% end %}",
        },
        "c.html",
        {},
        {},
        b"<2>",
    ),
    (
        "last_child_block_wins",
        {
            "b.html": "<{% block a %}{% end %}>",
            "c.html": "{% extends 'b.html' %}{% block a %}1{% end %}{% block a %}2{% end %}",
        },
        "c.html",
        {},
        {"autoescape": None},
        b"<2>",
    ),
    (
        "last_child_block_wins",
        {
            "b.html": "<{% block a %}{% end %}>",
            "c.html": "{% extends 'b.html' %}{% block a %}1{% end %}{% block a %}2{% end %}",
        },
        "c.html",
        {},
        {"whitespace": "oneline"},
        b"<2>",
    ),
    (
        "last_extends_wins",
        {
            "b.html": "<{% block a %}{% end %}>",
            "b2.html": "[{% block a %}{% end %}]",
            "c.html": "{% extends 'b.html' %}{% extends 'b2.html' %}{% block a %}1{% end %}",
        },
        "c.html",
        {},
        {},
        b"[1]",
    ),
    (
        "last_extends_wins",
        {
            "b.html": "<{% block a %}{% end %}>",
            "b2.html": "[{% block a %}{% end %}]",
            "c.html": "{% extends 'b.html' %}{% extends 'b2.html' %}{% block a %}1{% end %}",
        },
        "c.html",
        {},
        {"autoescape": None},
        b"[1]",
    ),
    (
        "last_extends_wins",
        {
            "b.html": "<{% block a %}{% end %}>",
            "b2.html": "[{% block a %}{% end %}]",
            "c.html": "{% extends 'b.html' %}{% extends 'b2.html' %}{% block a %}1{% end %}",
        },
        "c.html",
        {},
        {"whitespace": "oneline"},
        b"[1]",
    ),
    (
        "block_before_extends",
        {
            "b.html": "<{% block a %}B{% end %}>",
            "c.html": "{% block a %}C{% end %}{% extends 'b.html' %}",
        },
        "c.html",
        {},
        {},
        b"<C>",
    ),
    (
        "block_before_extends",
        {
            "b.html": "<{% block a %}B{% end %}>",
            "c.html": "{% block a %}C{% end %}{% extends 'b.html' %}",
        },
        "c.html",
        {},
        {"autoescape": None},
        b"<C>",
    ),
    (
        "block_before_extends",
        {
            "b.html": "<{% block a %}B{% end %}>",
            "c.html": "{% block a %}C{% end %}{% extends 'b.html' %}",
        },
        "c.html",
        {},
        {"whitespace": "oneline"},
        b"<C>",
    ),
    (
        "block_inside_if_in_child",
        {
            "b.html": "<{% block a %}B{% end %}>",
            "c.html": "{% extends 'b.html' %}{% if 1 %}{% block a %}C{% end %}{% end %}",
        },
        "c.html",
        {},
        {},
        b"<C>",
    ),
    (
        "block_inside_if_in_child",
        {
            "b.html": "<{% block a %}B{% end %}>",
            "c.html": "{% extends 'b.html' %}{% if 1 %}{% block a %}C{% end %}{% end %}",
        },
        "c.html",
        {},
        {"autoescape": None},
        b"<C>",
    ),
    (
        "block_inside_if_in_child",
        {
            "b.html": "<{% block a %}B{% end %}>",
            "c.html": "{% extends 'b.html' %}{% if 1 %}{% block a %}C{% end %}{% end %}",
        },
        "c.html",
        {},
        {"whitespace": "oneline"},
        b"<C>",
    ),
    (
        "block_from_include_in_child",
        {
            "b.html": "<{% block a %}B{% end %}>",
            "i.html": "{% block a %}I{% end %}",
            "c.html": "{% extends 'b.html' %}{% include 'i.html' %}",
        },
        "c.html",
        {},
        {},
        b"<I>",
    ),
    (
        "block_from_include_in_child",
        {
            "b.html": "<{% block a %}B{% end %}>",
            "i.html": "{% block a %}I{% end %}",
            "c.html": "{% extends 'b.html' %}{% include 'i.html' %}",
        },
        "c.html",
        {},
        {"autoescape": None},
        b"<I>",
    ),
    (
        "block_from_include_in_child",
        {
            "b.html": "<{% block a %}B{% end %}>",
            "i.html": "{% block a %}I{% end %}",
            "c.html": "{% extends 'b.html' %}{% include 'i.html' %}",
        },
        "c.html",
        {},
        {"whitespace": "oneline"},
        b"<I>",
    ),
    (
        "child_top_level_code_ignored",
        {
            "b.html": "{% set x = 1 %}{% block a %}{{ x }}{% end %}",
            "c.html": "{% extends 'b.html' %}{% set x = 2 %}{% block a %}[{{ x }}]{% end %}",
        },
        "c.html",
        {},
        {},
        b"[1]",
    ),
    (
        "child_top_level_code_ignored",
        {
            "b.html": "{% set x = 1 %}{% block a %}{{ x }}{% end %}",
            "c.html": "{% extends 'b.html' %}{% set x = 2 %}{% block a %}[{{ x }}]{% end %}",
        },
        "c.html",
        {},
        {"autoescape": None},
        b"[1]",
    ),
    (
        "child_top_level_code_ignored",
        {
            "b.html": "{% set x = 1 %}{% block a %}{{ x }}{% end %}",
            "c.html": "{% extends 'b.html' %}{% set x = 2 %}{% block a %}[{{ x }}]{% end %}",
        },
        "c.html",
        {},
        {"whitespace": "oneline"},
        b"[1]",
    ),
    (
        "whitespace_per_file",
        {
            "b.txt": "  a  \n\n {% block a %}  b  \n\n{% end %}",
            "c.html": "{% extends 'b.txt' %}{% block a %}  c  \n\n  {% end %}",
        },
        "c.html",
        {},
        {},
        b"  a  \n\n  c\n",
    ),
    (
        "whitespace_per_file",
        {
            "b.txt": "  a  \n\n {% block a %}  b  \n\n{% end %}",
            "c.html": "{% extends 'b.txt' %}{% block a %}  c  \n\n  {% end %}",
        },
        "c.html",
        {},
        {"autoescape": None},
        b"  a  \n\n  c\n",
    ),
    (
        "whitespace_per_file",
        {
            "b.txt": "  a  \n\n {% block a %}  b  \n\n{% end %}",
            "c.html": "{% extends 'b.txt' %}{% block a %}  c  \n\n  {% end %}",
        },
        "c.html",
        {},
        {"whitespace": "oneline"},
        b" a  c ",
    ),
    (
        "include_txt_keeps_whitespace",
        {"i.txt": "  a  \n\n ", "c.html": "  x  \n\n{% include 'i.txt' %}  y  \n\n"},
        "c.html",
        {},
        {},
        b" x\n  a  \n\n  y\n",
    ),
    (
        "include_txt_keeps_whitespace",
        {"i.txt": "  a  \n\n ", "c.html": "  x  \n\n{% include 'i.txt' %}  y  \n\n"},
        "c.html",
        {},
        {"autoescape": None},
        b" x\n  a  \n\n  y\n",
    ),
    (
        "include_txt_keeps_whitespace",
        {"i.txt": "  a  \n\n ", "c.html": "  x  \n\n{% include 'i.txt' %}  y  \n\n"},
        "c.html",
        {},
        {"whitespace": "oneline"},
        b" x  a  y ",
    ),
    (
        "whitespace_directive_stays_in_file",
        {
            "i.html": "{% whitespace oneline %}  a  \n\n ",
            "c.html": "  x  \n\n{% include 'i.html' %}  y  \n\n",
        },
        "c.html",
        {},
        {},
        b" x\n a  y\n",
    ),
    (
        "whitespace_directive_stays_in_file",
        {
            "i.html": "{% whitespace oneline %}  a  \n\n ",
            "c.html": "  x  \n\n{% include 'i.html' %}  y  \n\n",
        },
        "c.html",
        {},
        {"autoescape": None},
        b" x\n a  y\n",
    ),
    (
        "whitespace_directive_stays_in_file",
        {
            "i.html": "{% whitespace oneline %}  a  \n\n ",
            "c.html": "  x  \n\n{% include 'i.html' %}  y  \n\n",
        },
        "c.html",
        {},
        {"whitespace": "oneline"},
        b" x  a  y ",
    ),
    (
        "include_inside_block_override",
        {
            "b.html": "<{% block a %}{% end %}>",
            "i.html": "[{{ v }}]",
            "c.html": "{% extends 'b.html' %}{% block a %}{% for v in 'xy' %}{% include 'i.html' %}{% end %}{% end %}",
        },
        "c.html",
        {},
        {},
        b"<[x][y]>",
    ),
    (
        "include_inside_block_override",
        {
            "b.html": "<{% block a %}{% end %}>",
            "i.html": "[{{ v }}]",
            "c.html": "{% extends 'b.html' %}{% block a %}{% for v in 'xy' %}{% include 'i.html' %}{% end %}{% end %}",
        },
        "c.html",
        {},
        {"autoescape": None},
        b"<[x][y]>",
    ),
    (
        "include_inside_block_override",
        {
            "b.html": "<{% block a %}{% end %}>",
            "i.html": "[{{ v }}]",
            "c.html": "{% extends 'b.html' %}{% block a %}{% for v in 'xy' %}{% include 'i.html' %}{% end %}{% end %}",
        },
        "c.html",
        {},
        {"whitespace": "oneline"},
        b"<[x][y]>",
    ),
    (
        "nested_includes",
        {
            "a.html": "a{% include 'b.html' %}",
            "b.html": "b{% include 'c.html' %}",
            "c.html": "c{{ 1 }}",
            "m.html": "{% include 'a.html' %}{% include 'b.html' %}",
        },
        "m.html",
        {},
        {},
        b"abc1bc1",
    ),
    (
        "nested_includes",
        {
            "a.html": "a{% include 'b.html' %}",
            "b.html": "b{% include 'c.html' %}",
            "c.html": "c{{ 1 }}",
            "m.html": "{% include 'a.html' %}{% include 'b.html' %}",
        },
        "m.html",
        {},
        {"autoescape": None},
        b"abc1bc1",
    ),
    (
        "nested_includes",
        {
            "a.html": "a{% include 'b.html' %}",
            "b.html": "b{% include 'c.html' %}",
            "c.html": "c{{ 1 }}",
            "m.html": "{% include 'a.html' %}{% include 'b.html' %}",
        },
        "m.html",
        {},
        {"whitespace": "oneline"},
        b"abc1bc1",
    ),
]


@pytest.mark.parametrize(
    ("templates", "main", "kwargs", "loader_kwargs", "expected"),
    [case[1:] for case in CASES],
    ids=[f"{case[0]}-{i % 3}" for i, case in enumerate(CASES)],
)
def test_inheritance_and_includes_like_tornado(
    templates: dict[str, str],
    main: str,
    kwargs: dict[str, Any],
    loader_kwargs: dict[str, Any],
    expected: bytes,
) -> None:
    assert DictLoader(templates, **loader_kwargs).load(main).generate(**kwargs) == expected


def test_three_level_inheritance_overrides_at_every_level() -> None:
    loader = DictLoader(
        {
            "base.html": "<h>{% block head %}H0{% end %}</h><b>{% block body %}B0{% end %}</b><f>{% block foot %}F0{% end %}</f>",
            "mid.html": "{% extends 'base.html' %}{% block head %}H1{% end %}{% block body %}B1[{% block inner %}I1{% end %}]{% end %}",
            "leaf.html": "{% extends 'mid.html' %}{% block inner %}I2 {{ x }}{% end %}{% block foot %}F2{% end %}",
        }
    )
    assert loader.load("leaf.html").generate(x="<") == b"<h>H1</h><b>B1[I2 &lt;]</b><f>F2</f>"
    assert loader.load("mid.html").generate() == b"<h>H1</h><b>B1[I1]</b><f>F0</f>"
    assert loader.load("base.html").generate() == b"<h>H0</h><b>B0</b><f>F0</f>"


def test_extended_templates_are_inlined_into_one_function() -> None:
    loader = DictLoader(
        {
            "b.html": "{% block a %}{% end %}{% include 'i.html' %}",
            "i.html": "INC",
            "c.html": "{% extends 'b.html' %}{% block a %}C{% end %}",
        }
    )
    template = loader.load("c.html")
    assert "INC" in template.code
    assert "'C" in template.code
    assert template.generate() == b"CINC"
