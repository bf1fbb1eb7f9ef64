"""Loader and DictLoader: resolution, caching, reset, root confinement, cycles."""

from __future__ import annotations

import os
import pathlib

import pytest
from squall.template import BaseLoader, DictLoader, Loader, ParseError, Template


def write(root: pathlib.Path, name: str, text: str) -> None:
    path = root / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


@pytest.fixture
def root(tmp_path: pathlib.Path) -> pathlib.Path:
    base = tmp_path / "templates"
    write(base, "a.html", "A{% include 'sub/b.html' %}")
    write(base, "sub/b.html", "B{% include '../c.html' %}{% include 'd.html' %}")
    write(base, "c.html", "C")
    write(base, "sub/d.html", "D{{ x }}")
    write(tmp_path, "outside.html", "SECRET")
    return base


def test_loader_resolves_relative_includes(root: pathlib.Path) -> None:
    assert Loader(str(root)).load("a.html").generate(x="<") == b"ABCD&lt;"


def test_loader_template_names_are_root_relative(root: pathlib.Path) -> None:
    loader = Loader(str(root))
    assert (
        loader.load(
            "sub/b.html",
        ).name
        == "sub/b.html"
    )
    assert loader.load("d.html", parent_path="sub/b.html").name == "sub/d.html"


def test_loader_resolve_path(root: pathlib.Path) -> None:
    loader = Loader(str(root))
    assert loader.resolve_path("../c.html", "sub/b.html") == "c.html"
    assert loader.resolve_path("x.html", "sub/b.html") == "sub/x.html"
    assert loader.resolve_path("x.html", None) == "x.html"
    assert loader.resolve_path("x.html", "<string>") == "x.html"
    assert loader.resolve_path("/etc/passwd", "sub/b.html") == "/etc/passwd"
    # Escaping the root is left unresolved (then rejected by load()).
    assert loader.resolve_path("../../x.html", "sub/b.html") == "../../x.html"


def test_loader_root_accepts_trailing_slash(root: pathlib.Path) -> None:
    assert Loader(str(root) + os.sep).load("c.html").generate() == b"C"
    assert Loader(str(root)).root == str(root)


def test_loader_rejects_paths_outside_root(root: pathlib.Path) -> None:
    loader = Loader(str(root))
    with pytest.raises(ValueError, match="outside the loader root"):
        loader.load("../outside.html")
    with pytest.raises(ValueError, match="outside the loader root"):
        loader.load(str(root.parent / "outside.html"))
    with pytest.raises(ValueError, match="outside the loader root"):
        loader.load("../../outside.html", parent_path="sub/b.html")


def test_loader_rejects_include_escaping_root(root: pathlib.Path) -> None:
    write(root, "evil.html", "{% include '../outside.html' %}")
    with pytest.raises(ValueError, match="outside the loader root"):
        Loader(str(root)).load("evil.html")


def test_loader_accepts_absolute_path_inside_root(root: pathlib.Path) -> None:
    assert Loader(str(root)).load(str(root / "c.html")).generate() == b"C"


def test_loader_missing_file(root: pathlib.Path) -> None:
    with pytest.raises(FileNotFoundError):
        Loader(str(root)).load("nope.html")


def test_loader_caches_and_reset_reloads(root: pathlib.Path) -> None:
    loader = Loader(str(root))
    first = loader.load("c.html")
    assert loader.load("c.html") is first
    assert "c.html" in loader.templates
    write(root, "c.html", "C2")
    assert loader.load("c.html").generate() == b"C"
    loader.reset()
    assert loader.templates == {}
    reloaded = loader.load("c.html")
    assert reloaded is not first
    assert reloaded.generate() == b"C2"


def test_loader_passes_settings_to_templates(root: pathlib.Path) -> None:
    loader = Loader(str(root), autoescape=None, namespace={"x": "<ns>"}, whitespace="all")
    template = loader.load("sub/d.html")
    assert template.autoescape is None
    assert template.namespace == {"x": "<ns>"}
    assert template.loader is loader
    assert template.generate() == b"D<ns>"


def test_loader_reads_utf8(root: pathlib.Path) -> None:
    write(root, "u.html", "caf\u00e9 {{ x }}")
    assert Loader(str(root)).load("u.html").generate(x="\u00e9") == "caf\u00e9 \u00e9".encode()


def test_dict_loader_basics() -> None:
    loader = DictLoader(
        {"a": "A{{ 1 }}"}, namespace={"q": 5}, autoescape=None, whitespace="oneline"
    )
    template = loader.load("a")
    assert template.name == "a"
    assert template.autoescape is None
    assert template.namespace == {"q": 5}
    assert template.loader is loader
    assert loader.dict == {"a": "A{{ 1 }}"}
    assert loader.load("a") is template


def test_dict_loader_missing_template_is_key_error() -> None:
    with pytest.raises(KeyError):
        DictLoader({"m.html": "x{% include 'missing.html' %}"}).load("m.html")


@pytest.mark.parametrize(
    ("name", "parent", "expected"),
    [
        ("x/y.html", "a/b/c.html", "a/b/x/y.html"),
        ("../y.html", "a/b/c.html", "a/y.html"),
        ("y.html", "<string>", "y.html"),
        ("y.html", "/abs/c.html", "y.html"),
        ("/y.html", "a/c.html", "/y.html"),
        ("y.html", None, "y.html"),
        ("../../../y.html", "a/c.html", "../../y.html"),
    ],
)
def test_dict_loader_resolve_path(name: str, parent: str | None, expected: str) -> None:
    assert DictLoader({}).resolve_path(name, parent) == expected


def test_include_cycle_is_a_parse_error() -> None:
    loader = DictLoader({"a.html": "{% include 'b.html' %}", "b.html": "{% include 'a.html' %}"})
    with pytest.raises(ParseError, match="includes or extends itself"):
        loader.load("a.html")


def test_self_include_is_a_parse_error() -> None:
    with pytest.raises(ParseError):
        DictLoader({"a.html": "{% include 'a.html' %}"}).load("a.html")


def test_extends_cycle_is_a_parse_error() -> None:
    with pytest.raises(ParseError):
        DictLoader({"m.html": "{% extends 'm.html' %}"}).load("m.html")


def test_loader_is_usable_after_a_failed_load() -> None:
    loader = DictLoader({"bad.html": "{% if %}", "ok.html": "ok"})
    with pytest.raises(ParseError):
        loader.load("bad.html")
    assert "bad.html" not in loader.templates
    assert loader.load("ok.html").generate() == b"ok"


def test_base_loader_requires_subclass() -> None:
    with pytest.raises(NotImplementedError):
        BaseLoader().load("x")


def test_custom_loader_via_create_template() -> None:
    class Upper(BaseLoader):
        def resolve_path(self, name: str, parent_path: str | None = None) -> str:
            return name

        def _create_template(self, name: str) -> Template:
            return Template(name.upper() + " {{ 1 }}", name=name, loader=self)

    assert Upper().load("abc").generate() == b"ABC 1"


def test_base_loader_defaults() -> None:
    loader = DictLoader({})
    assert loader.autoescape == "xhtml_escape"
    assert loader.namespace == {}
    assert loader.whitespace is None
    assert loader.templates == {}


def test_include_cycle_message_names_the_loop() -> None:
    loader = DictLoader(
        {
            "a.html": "{% include 'b.html' %}",
            "b.html": "{% include 'c.html' %}",
            "c.html": "{% include 'b.html' %}",
        }
    )
    with pytest.raises(ParseError) as info:
        loader.load("a.html")
    assert "b.html -> c.html -> b.html" in str(info.value)
    assert info.value.filename == "b.html"
    # Nothing half-built was cached, and the loader still works.
    assert loader.templates == {}
    loader.dict["c.html"] = "C"
    assert loader.load("a.html").generate() == b"C"


def test_same_template_included_twice_is_not_a_cycle() -> None:
    loader = DictLoader({"p.html": "{% include 'i.html' %}{% include 'i.html' %}", "i.html": "I"})
    assert loader.load("p.html").generate() == b"II"


def test_cache_key_is_the_resolved_name(root: pathlib.Path) -> None:
    loader = Loader(str(root))
    via_parent = loader.load("../c.html", parent_path="sub/b.html")
    assert loader.load("c.html") is via_parent
    assert list(loader.templates) == ["c.html"]


def test_reset_empties_the_cache_in_place() -> None:
    loader = DictLoader({"a": "A"})
    cache = loader.templates
    loader.load("a")
    loader.reset()
    assert cache == {} and loader.templates is cache


def test_loader_accepts_a_path_object_as_root(root: pathlib.Path) -> None:
    loader = Loader(root)  # type: ignore[arg-type]
    assert loader.root == str(root)
    assert loader.load("c.html").generate() == b"C"


def test_base_loader_hooks_name_the_class() -> None:
    class Bare(BaseLoader):
        pass

    with pytest.raises(NotImplementedError, match="Bare"):
        Bare().load("x")

    class Named(BaseLoader):
        def resolve_path(self, name: str, parent_path: str | None = None) -> str:
            return name

    with pytest.raises(NotImplementedError, match="Named"):
        Named().load("x")


def test_namespace_given_is_used_as_is() -> None:
    shared: dict[str, object] = {}
    loader = DictLoader({"a": "{{ v }}"}, namespace=shared)
    shared["v"] = 7
    assert loader.load("a").generate() == b"7"
