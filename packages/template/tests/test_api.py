"""The public surface matches tornado.template's documented API."""

from __future__ import annotations

import datetime
import inspect
import pickle
import traceback

import pytest
import squall.template as template_module
from squall.escape import xhtml_escape
from squall.template import (
    _DEFAULT_AUTOESCAPE,
    _UNSET,
    BaseLoader,
    DictLoader,
    Loader,
    ParseError,
    Template,
    filter_whitespace,
)


def test_all_lists_public_names() -> None:
    for name in (
        "Template",
        "BaseLoader",
        "Loader",
        "DictLoader",
        "ParseError",
        "filter_whitespace",
    ):
        assert name in template_module.__all__
        assert hasattr(template_module, name)


def test_default_autoescape_constant() -> None:
    assert _DEFAULT_AUTOESCAPE == "xhtml_escape"
    assert Template("x").autoescape == "xhtml_escape"


def test_template_signature() -> None:
    params = inspect.signature(Template).parameters
    assert list(params) == [
        "template_string",
        "name",
        "loader",
        "compress_whitespace",
        "autoescape",
        "whitespace",
    ]
    assert params["name"].default == "<string>"
    assert params["compress_whitespace"].default is _UNSET
    assert params["autoescape"].default is _UNSET
    assert params["whitespace"].default is None


def test_loader_signatures() -> None:
    params = inspect.signature(BaseLoader).parameters
    assert list(params) == ["autoescape", "namespace", "whitespace"]
    assert params["autoescape"].default == "xhtml_escape"
    assert list(inspect.signature(BaseLoader.load).parameters) == ["self", "name", "parent_path"]
    assert list(inspect.signature(Loader).parameters) == ["root_directory", "kwargs"]
    assert list(inspect.signature(DictLoader).parameters) == ["dict", "kwargs"]


def test_template_attributes() -> None:
    t = Template("{{ x }}", name="a.html")
    assert t.name == "a.html"
    assert t.namespace == {}
    assert t.loader is None
    assert "def _tt_execute" in t.code
    assert t.compiled.co_filename == "a.html"
    assert t.file.name == "a.html"


def test_autoescape_none_template_argument() -> None:
    assert Template("{{ '<' }}", autoescape=None).generate() == b"<"


def test_template_autoescape_beats_loader() -> None:
    loader = DictLoader({}, autoescape=None)
    assert Template("{{ '<' }}", loader=loader).generate() == b"<"
    assert Template("{{ '<' }}", loader=loader, autoescape="xhtml_escape").generate() == b"&lt;"


def test_default_namespace_names() -> None:
    names = Template(
        "{{ sorted(k for k in globals() if not k.startswith('_tt_') and k != '__builtins__') }}",
        autoescape=None,
    ).generate()
    for name in (
        "escape",
        "xhtml_escape",
        "url_escape",
        "json_encode",
        "squeeze",
        "linkify",
        "datetime",
        "__name__",
        "__loader__",
    ):
        assert repr(name).encode() in names
    t = Template(
        "{% raw escape is xhtml_escape %}{% raw datetime is dt %}{% raw _tt_utf8(u'x') %}{% raw _tt_string_types %}"
    )
    assert t.generate(dt=datetime) == b"TrueTruex(<class 'str'>, <class 'bytes'>)"


def test_escape_in_namespace_is_squall_xhtml_escape() -> None:
    assert Template("{% raw escape %}").generate(xe=xhtml_escape) == repr(xhtml_escape).encode()


def test_dunder_name_replaces_dots() -> None:
    assert Template("{{ __name__ }}", name="a/b.c-d.html").generate() == b"a/b_c-d_html"


def test_loader_source_available() -> None:
    assert (
        Template("{% raw __loader__.get_source('x') %}", name="l.html").generate()
        == b"{% raw __loader__.get_source('x') %}\n"
    )


def test_parse_error_is_exception() -> None:
    assert issubclass(ParseError, Exception)


def test_filter_whitespace_is_exported() -> None:
    assert filter_whitespace("oneline", " a \n b ") == " a b "


def test_compiled_code_can_be_executed_like_tornado() -> None:
    t = Template("x{{ 1 }}")
    namespace: dict[str, object] = {}
    exec(t.compiled, namespace)
    assert callable(namespace["_tt_execute"])


def test_unset_repr() -> None:
    assert repr(_UNSET) == "_UNSET"


def test_template_compiles_once() -> None:
    t = Template("{{ x }}")
    code_before = t.compiled
    for i in range(3):
        assert t.generate(x=i) == str(i).encode()
    assert t.compiled is code_before


@pytest.mark.parametrize("name", ["page.html", "script.js"])
def test_html_and_js_names_compress_whitespace(name: str) -> None:
    assert Template("a   b", name=name).generate() == b"a b"


def test_expressions_may_call_code_that_imports_at_run_time() -> None:
    # datetime.strftime imports the time module from C, which looks builtins
    # up in the calling frame's globals (the template namespace).
    import datetime

    template = Template('{{ now.strftime("%Y-%m") }} {{ __import__("math").floor(2.5) }}')
    assert template.generate(now=datetime.datetime(2024, 3, 1)) == b"2024-03 2"


def test_builtins_are_available_in_expressions() -> None:
    template = Template("{{ len(items) }} {{ sorted(items)[0] }} {{ max(items) }}")
    assert template.generate(items=[3, 1, 2]) == b"3 1 3"


# -- users only see public names ------------------------------------------------


def _parse_error(source: str) -> ParseError:
    with pytest.raises(ParseError) as info:
        Template(source, name="bad.html")
    return info.value


@pytest.mark.parametrize("source", ["\n{{ 1 + }}", "{% if x %}", "{% end %}"])
def test_parse_errors_present_the_public_class_name(source: str) -> None:
    error = _parse_error(source)
    cls = type(error)
    assert (cls.__module__, cls.__qualname__, cls.__name__) == (
        "squall.template",
        "ParseError",
        "ParseError",
    )
    text = "".join(traceback.format_exception(cls, error, error.__traceback__))
    assert "squall.template.ParseError: " in text
    assert "_errors" not in text.splitlines()[-1]
    assert repr(error).startswith("ParseError(")


def test_python_syntax_parse_error_pickles_with_its_location() -> None:
    error = _parse_error("a\n\n{% set x = = 1 %}")
    copy = pickle.loads(pickle.dumps(error))
    assert isinstance(copy, ParseError)
    assert isinstance(copy, SyntaxError)
    assert (copy.filename, copy.lineno, str(copy)) == ("bad.html", 3, str(error))


def test_structure_parse_error_pickles() -> None:
    error = _parse_error("{% end %}")
    copy = pickle.loads(pickle.dumps(error))
    assert type(copy) is ParseError
    assert str(copy) == str(error)


def test_loader_signature_shows_a_public_default() -> None:
    text = str(inspect.signature(BaseLoader.__init__))
    assert "autoescape: 'str | None' = 'xhtml_escape'" in text
    assert "_DEFAULT" not in text
