"""Errors raised while rendering point at template names and lines."""

from __future__ import annotations

import linecache
import pathlib
import traceback

import pytest
from squall.template import DictLoader, Loader, Template


def render_error(template: Template, **kwargs: object) -> BaseException:
    with pytest.raises(Exception) as info:
        template.generate(**kwargs)
    return info.value


def formatted(error: BaseException) -> str:
    return "".join(traceback.format_exception(type(error), error, error.__traceback__))


def notes(error: BaseException) -> list[str]:
    return list(getattr(error, "__notes__", []))


def boom() -> None:
    raise KeyError("boom")


LOADER_TEMPLATES = {
    "base.html": "<html>\n{% block body %}\n{% end %}\n{% include 'footer.html' %}\n{{ base_fail() }}\n</html>",
    "footer.html": "f1\n{{ 1/zero }}\n",
    "page.html": "{% extends 'base.html' %}\n{% block body %}\nline3\n{{ boom() }}\n{% end %}",
}


def page() -> Template:
    return DictLoader(LOADER_TEMPLATES).load("page.html")


def test_traceback_frame_names_template_and_line() -> None:
    template = Template(
        "line1\nline2\n{% for i in range(2) %}\n  {{ 10 // i }}\n{% end %}", name="page.html"
    )
    error = render_error(template)
    assert isinstance(error, ZeroDivisionError)
    text = formatted(error)
    assert 'File "page.html", line 4, in _tt_execute' in text
    assert "{{ 10 // i }}" in text  # the template line is shown as source


def test_note_names_template_line_with_source() -> None:
    template = Template("a\n\n{{ boom() }}", name="x.html")
    error = render_error(template, boom=boom)
    assert notes(error) == ['template "x.html", line 3: {{ boom() }}']


def test_error_in_statement_line() -> None:
    error = render_error(Template("a\n{% set x = 1 / 0 %}", name="s.html"))
    assert notes(error) == ['template "s.html", line 2: {% set x = 1 / 0 %}']


def test_error_in_control_header_line() -> None:
    error = render_error(Template("\n\n{% if missing_name %}{% end %}", name="c.html"))
    assert isinstance(error, NameError)
    assert 'File "c.html", line 3' in formatted(error)


def test_block_override_keeps_child_line() -> None:
    error = render_error(page(), boom=boom, zero=1, base_fail=int)
    text = formatted(error)
    assert 'File "page.html", line 4' in text
    assert notes(error) == [
        'template "page.html", line 4: {{ boom() }}\n'
        "  in block 'body' of base.html, line 2\n"
        "  extended by page.html, line 1"
    ]


def test_include_error_note_names_include_chain() -> None:
    error = render_error(page(), boom=int, zero=0, base_fail=int)
    assert isinstance(error, ZeroDivisionError)
    assert notes(error) == [
        'template "footer.html", line 2: {{ 1/zero }}\n'
        "  included from base.html, line 4\n"
        "  extended by page.html, line 1"
    ]
    # The frame shows the included line's text even though it is inlined.
    assert "{{ 1/zero }}" in formatted(error)


def test_base_template_error_note() -> None:
    error = render_error(page(), boom=int, zero=1, base_fail=lambda: 1 / 0)
    assert notes(error) == [
        'template "base.html", line 5: {{ base_fail() }}\n  extended by page.html, line 1'
    ]


def test_error_inside_apply_block() -> None:
    error = render_error(
        Template("x\n{% apply f %}\n{{ 1/0 }}\n{% end %}", name="ap.html"), f=lambda b: b
    )
    assert notes(error) == ['template "ap.html", line 3: {{ 1/0 }}']


def test_error_raised_by_apply_function_points_at_apply_line() -> None:
    def bad(b: bytes) -> bytes:
        raise ValueError("bad")

    error = render_error(Template("x\n{% apply bad %}\ny\n{% end %}", name="ap.html"), bad=bad)
    assert notes(error) == ['template "ap.html", line 2: {% apply bad %}']


def test_error_in_included_template_rendered_alone_uses_real_lines() -> None:
    footer = DictLoader(LOADER_TEMPLATES).load("footer.html")
    error = render_error(footer, zero=0)
    assert 'File "footer.html", line 2' in formatted(error)
    assert notes(error) == ['template "footer.html", line 2: {{ 1/zero }}']


def test_string_template_uses_a_distinct_filename() -> None:
    error = render_error(Template("{{ 1/0 }}"))
    assert 'File "<template <string>>", line 1' in formatted(error)
    assert notes(error) == ['template "<string>", line 1: {{ 1/0 }}']
    # exec()'d code named "<string>" must not borrow our source lines.
    assert linecache.getline("<string>", 1) == ""


def test_nested_render_adds_one_note_per_template() -> None:
    inner = Template("\n{{ 1/0 }}", name="inner.html")
    outer = Template("{{ inner.generate() }}", name="outer.html")
    error = render_error(outer, inner=inner)
    assert notes(error) == [
        'template "inner.html", line 2: {{ 1/0 }}',
        'template "outer.html", line 1: {{ inner.generate() }}',
    ]


def test_linecache_holds_template_source() -> None:
    Template("first\nsecond {{ x }}", name="cached_page.html")
    assert linecache.getline("cached_page.html", 2) == "second {{ x }}\n"


def test_exception_type_and_message_unchanged() -> None:
    error = render_error(Template("{{ d['k'] }}"), d={})
    assert type(error) is KeyError
    assert error.args == ("k",)


# -- frames name the template that holds the failing line ----------------------

TEMPLATE_FILES = {"page.html", "inc.html", "base.html", "child.html", "mid.html"}


def template_frames(error: BaseException) -> list[tuple[str, int | None, str | None]]:
    return [
        (frame.filename, frame.lineno, frame.line)
        for frame in traceback.extract_tb(error.__traceback__)
        if frame.filename in TEMPLATE_FILES
    ]


def test_include_error_frame_names_included_file_and_line() -> None:
    loader = DictLoader(
        {
            "page.html": "<p>\nhead\n{% include 'inc.html' %}\n</p>",
            "inc.html": "ok\n{{ 1/zero }}\n",
        }
    )
    error = render_error(loader.load("page.html"), zero=0)
    assert isinstance(error, ZeroDivisionError)
    frames = template_frames(error)
    assert frames[-1] == ("inc.html", 2, "{{ 1/zero }}")
    assert frames == [("page.html", 3, "{% include 'inc.html' %}"), ("inc.html", 2, "{{ 1/zero }}")]
    # No frame claims a line past the end of the four-line page.
    assert 'File "page.html", line 10' not in formatted(error)


def test_extends_error_frame_names_base_template_and_line() -> None:
    loader = DictLoader(
        {
            "base.html": "<html>\n{% block b %}{% end %}\n{{ 1/zero }}\n</html>",
            "child.html": "{% extends 'base.html' %}\n{% block b %}x{% end %}",
        }
    )
    error = render_error(loader.load("child.html"), zero=0)
    frames = template_frames(error)
    assert frames[-1] == ("base.html", 3, "{{ 1/zero }}")
    assert frames[0] == ("child.html", 1, "{% extends 'base.html' %}")


def test_block_override_error_frame_names_child_line_inside_base_block() -> None:
    loader = DictLoader(
        {
            "base.html": "<html>\n\n{% block body %}\n{% end %}\n</html>",
            "child.html": "{% extends 'base.html' %}\n{% block body %}\nx\n{{ 1/zero }}\n{% end %}",
        }
    )
    error = render_error(loader.load("child.html"), zero=0)
    assert template_frames(error) == [
        ("child.html", 1, "{% extends 'base.html' %}"),
        ("base.html", 3, "{% block body %}"),
        ("child.html", 4, "{{ 1/zero }}"),
    ]


def test_two_level_extends_lists_every_template() -> None:
    loader = DictLoader(
        {
            "base.html": "{% block b %}{% end %}\n{% include 'inc.html' %}",
            "mid.html": "{% extends 'base.html' %}\n{% block b %}m{% end %}",
            "child.html": "\n{% extends 'mid.html' %}",
            "inc.html": "\n\n{{ fail() }}",
        }
    )

    def fail() -> None:
        raise LookupError("deep")

    error = render_error(loader.load("child.html"), fail=fail)
    assert [(name, line) for name, line, _ in template_frames(error)] == [
        ("child.html", 2),
        ("mid.html", 1),
        ("base.html", 2),
        ("inc.html", 3),
    ]
    # The function the template called still follows the template frames.
    assert traceback.extract_tb(error.__traceback__)[-1].name == "fail"


def test_file_loader_error_frame_names_included_file(tmp_path: pathlib.Path) -> None:
    (tmp_path / "parts").mkdir()
    (tmp_path / "page.html").write_text("a\n{% include 'parts/inc.html' %}\n")
    (tmp_path / "parts" / "inc.html").write_text("\n\n{{ missing }}\n")
    error = render_error(Loader(str(tmp_path)).load("page.html"))
    assert isinstance(error, NameError)
    frames = [(f.filename, f.lineno) for f in traceback.extract_tb(error.__traceback__)]
    assert frames[-2:] == [("page.html", 2), ("parts/inc.html", 3)]
    assert 'File "parts/inc.html", line 3' in formatted(error)


def test_stand_in_frames_show_the_template_variables() -> None:
    loader = DictLoader(
        {
            "page.html": "{% for item in items %}{% include 'inc.html' %}{% end %}",
            "inc.html": "{{ 1/item }}",
        }
    )
    error = render_error(loader.load("page.html"), items=[1, 0])
    entry = error.__traceback__
    assert entry is not None
    while entry.tb_next is not None:
        entry = entry.tb_next
    assert entry.tb_frame.f_code.co_filename == "inc.html"
    assert entry.tb_frame.f_locals["item"] == 0
    assert entry.tb_frame.f_globals["items"] == [1, 0]


def test_error_in_root_lines_keeps_the_real_frame() -> None:
    template = Template("a\n{{ 1/0 }}", name="page.html")
    error = render_error(template)
    entry = error.__traceback__
    assert entry is not None
    while entry.tb_next is not None:
        entry = entry.tb_next
    assert entry.tb_frame.f_code.co_filename == "page.html"
    assert entry.tb_lineno == 2
    assert any(code is entry.tb_frame.f_code for code in template.compiled.co_consts)


def test_include_inside_apply_names_included_file() -> None:
    loader = DictLoader(
        {
            "page.html": "{% apply f %}\n{% include 'inc.html' %}\n{% end %}",
            "inc.html": "\n{{ 1/0 }}",
        }
    )
    error = render_error(loader.load("page.html"), f=lambda b: b)
    assert template_frames(error)[-1][:2] == ("inc.html", 2)


def test_nested_render_of_template_with_include() -> None:
    loader = DictLoader({"page.html": "\n{% include 'inc.html' %}", "inc.html": "{{ 1/0 }}"})
    outer = Template("{{ inner.generate() }}", name="outer.html")
    error = render_error(outer, inner=loader.load("page.html"))
    names = [f.filename for f in traceback.extract_tb(error.__traceback__)]
    assert names[-2:] == ["page.html", "inc.html"]
    assert "outer.html" in names
    assert notes(error) == [
        'template "inc.html", line 1: {{ 1/0 }}\n  included from page.html, line 2',
        'template "outer.html", line 1: {{ inner.generate() }}',
    ]
