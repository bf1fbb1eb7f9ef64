"""squall.web._ui on its own: UI modules, UI methods and page assembly, driven by a stand-in handler."""

from __future__ import annotations

import types
from typing import Any

import pytest
from squall.template import DictLoader
from squall.util import ObjectDict
from squall.web._ui import (
    _BUILTIN_UI_MODULES,
    TemplateModule,
    UIModule,
    _assemble_page,
    _load_ui_methods,
    _load_ui_modules,
    _make_ui,
    _UIModuleNamespace,
)


class FakeApplication:
    def __init__(self, ui_modules: object = None, ui_methods: object = None) -> None:
        self.ui_modules = {**_BUILTIN_UI_MODULES, **_load_ui_modules(ui_modules)}
        self.ui_methods = _load_ui_methods(ui_methods)


class FakeHandler:
    """Just what the UI code needs from a RequestHandler."""

    def __init__(self, templates: dict[str, str], **settings: Any) -> None:
        self.application = FakeApplication(settings.get("ui_modules"), settings.get("ui_methods"))
        self.request = object()
        self.current_user = "ann"
        self.locale = "xx_XX"
        self.loader = DictLoader(templates)
        self._ui: ObjectDict | None = None

    @property
    def ui(self) -> ObjectDict:
        if self._ui is None:
            self._ui = _make_ui(self)
        return self._ui

    def static_url(self, path: str) -> str:
        return f"/static/{path}?v=1"

    def xsrf_form_html(self) -> str:
        return '<input type="hidden" name="_xsrf" value="tok"/>'

    def render_string(self, name: str, **kwargs: Any) -> bytes:
        namespace = {"handler": self, **self.ui, **kwargs}
        return self.loader.load(name).generate(**namespace)

    def render(self, name: str, **kwargs: Any) -> bytes:
        return _assemble_page(self, self.render_string(name, **kwargs))


def page(body: str, **modules: type[UIModule]) -> bytes:
    handler = FakeHandler({"page.html": body}, ui_modules=modules)
    return handler.render("page.html")


def resources_module(name: str, **hooks: Any) -> type[UIModule]:
    """A UIModule class rendering ``<name/>`` whose resource hooks return ``hooks``."""
    namespace: dict[str, Any] = {"render": lambda self: f"<{name}/>"}
    for hook, value in hooks.items():
        namespace[hook] = lambda self, value=value: value
    return type(name, (UIModule,), namespace)


# --- loading the settings ------------------------------------------------------


def python_module(name: str, **members: Any) -> types.ModuleType:
    module = types.ModuleType(name)
    for key, value in members.items():
        setattr(module, key, value)
    return module


class Entry(UIModule):
    def render(self) -> str:
        return "entry"


class Other(UIModule):
    def render(self) -> str:
        return "other"


def test_ui_modules_from_a_python_module_take_public_uimodule_subclasses() -> None:
    module = python_module(
        "uimodules",
        Entry=Entry,
        UIModule=UIModule,
        _Hidden=Other,
        NotAModule=dict,
        helper=len,
        value=3,
    )
    assert _load_ui_modules(module) == {"Entry": Entry}


def test_ui_modules_module_with_all_lists_only_those() -> None:
    module = python_module("uimodules", Entry=Entry, Other=Other, __all__=["Other"])
    assert _load_ui_modules(module) == {"Other": Other}


def test_ui_modules_from_dict_list_and_none() -> None:
    module = python_module("uimodules", Entry=Entry)
    assert _load_ui_modules({"X": Other}) == {"X": Other}
    assert _load_ui_modules([module, {"Entry": Other}]) == {"Entry": Other}
    assert _load_ui_modules([[module], ({"Y": Entry},)]) == {"Entry": Entry, "Y": Entry}
    assert _load_ui_modules(None) == {}


def test_ui_settings_of_the_wrong_kind_raise_type_error() -> None:
    with pytest.raises(TypeError, match="ui_modules"):
        _load_ui_modules("uimodules")
    with pytest.raises(TypeError, match="ui_methods"):
        _load_ui_methods(42)


def test_ui_methods_from_a_python_module_take_public_lowercase_callables() -> None:
    def shout(handler: Any, text: str) -> str:
        return text.upper()

    def Capital(handler: Any) -> str:  # noqa: N802
        return "no"

    module = python_module(
        "uimethods",
        shout=shout,
        Capital=Capital,
        _private=shout,
        Klass=Entry,
        klass=Entry,
        value=3,
        label="text",
    )
    assert _load_ui_methods(module) == {"shout": shout}
    assert _load_ui_methods([module, {"extra": len}]) == {"shout": shout, "extra": len}
    with_all = python_module("uimethods", shout=shout, other=len, __all__=["other"])
    assert _load_ui_methods(with_all) == {"other": len}


def test_make_ui_binds_methods_to_the_handler_and_shares_one_namespace() -> None:
    def greet(handler: Any, who: str, punctuation: str = "!") -> str:
        return f"{handler.current_user} greets {who}{punctuation}"

    handler = FakeHandler({}, ui_methods={"greet": greet})
    ui = handler.ui
    assert ui["greet"]("bob") == "ann greets bob!"
    assert ui.greet("bob", punctuation="?") == "ann greets bob?"
    assert isinstance(ui.modules, _UIModuleNamespace)
    assert ui["_tt_modules"] is ui["modules"]


def test_ui_methods_are_callable_from_templates() -> None:
    def money(handler: Any, cents: int) -> str:
        return f"${cents / 100:.2f}<"

    handler = FakeHandler(
        {"t.html": "{{ money(1234) }}|{% raw money(5) %}"}, ui_methods={"money": money}
    )
    assert handler.render_string("t.html") == b"$12.34&lt;|$0.05<"


# --- UIModule ------------------------------------------------------------------


def test_uimodule_attributes_read_through_to_the_handler() -> None:
    handler = FakeHandler({})
    module = Entry(handler)
    assert module.handler is handler
    assert module.request is handler.request
    assert module.ui is handler.ui
    assert module.locale == "xx_XX"
    assert module.current_user == "ann"
    handler.current_user = "bob"
    assert module.current_user == "bob"


def test_uimodule_defaults() -> None:
    module = UIModule(FakeHandler({}))
    with pytest.raises(NotImplementedError):
        module.render()
    for hook in (
        module.embedded_javascript,
        module.javascript_files,
        module.embedded_css,
        module.css_files,
        module.html_head,
        module.html_body,
    ):
        assert hook() is None


def test_uimodule_render_string_uses_the_handler_loader_and_namespace() -> None:
    class Card(UIModule):
        def render(self, title: str) -> bytes:
            return self.render_string("card.html", title=title)

    handler = FakeHandler(
        {
            "page.html": "<p>{% module Card('<x>') %}</p>",
            "card.html": "<b>{{ title }}</b> for {{ handler.current_user }}",
        },
        ui_modules={"Card": Card},
    )
    assert handler.render("page.html") == b"<p><b>&lt;x&gt;</b> for ann</p>"


def test_one_module_instance_per_handler_created_on_first_use() -> None:
    made: list[Any] = []

    class Counter(UIModule):
        def __init__(self, handler: Any) -> None:
            super().__init__(handler)
            made.append(handler)
            self.calls = 0

        def render(self) -> str:
            self.calls += 1
            return str(self.calls)

    templates = {
        "p.html": "{% module Counter() %}{{ modules.Counter() }}{{ modules['Counter']() }}"
    }
    first = FakeHandler(templates, ui_modules={"Counter": Counter})
    second = FakeHandler(templates, ui_modules={"Counter": Counter})
    assert first.ui.modules.Counter is not None and made == []
    assert first.render("p.html") == b"123"
    assert second.render("p.html") == b"123"
    assert made == [first, second]


def test_module_output_goes_in_unescaped_bytes_or_str() -> None:
    class Raw(UIModule):
        def render(self, as_bytes: bool = False) -> str | bytes:
            return b"<i>b</i>" if as_bytes else "<i>s</i>"

    out = page("{% module Raw() %}{% module Raw(as_bytes=True) %}", Raw=Raw)
    assert out == b"<i>s</i><i>b</i>"


def test_unknown_module_name_raises() -> None:
    handler = FakeHandler({"p.html": "{% module Missing() %}"})
    with pytest.raises(AttributeError, match="Missing"):
        handler.render_string("p.html")
    with pytest.raises(KeyError):
        handler.ui.modules["Missing"]


def test_handler_ui_module_hook_is_used_when_present() -> None:
    calls: list[tuple[str, type]] = []

    class Hooked(FakeHandler):
        def _ui_module(self, name: str, cls: type[UIModule]) -> Any:
            calls.append((name, cls))
            return lambda *args: f"hooked {name}{args}"

    handler = Hooked({"p.html": "{% module Entry(1) %}{% module Entry(2) %}"}, ui_modules=[])
    handler.application.ui_modules["Entry"] = Entry
    assert handler.render_string("p.html") == b"hooked Entry(1,)hooked Entry(2,)"
    assert calls == [("Entry", Entry)]


# --- built-in modules ---------------------------------------------------------


def test_builtin_linkify_and_xsrf_form_html_modules() -> None:
    out = page(
        "{% module linkify('see http://a.b/c & x') %}"
        "{% module linkify('http://x.y', extra_params='rel=\"a\"') %}"
        "{% module xsrf_form_html() %}"
    )
    assert out == (
        b'see <a href="http://a.b/c">http://a.b/c</a> &amp; x'
        b'<a href="http://x.y" rel="a">http://x.y</a>'
        b'<input type="hidden" name="_xsrf" value="tok"/>'
    )


def test_builtins_work_even_when_the_application_lacks_them() -> None:
    handler = FakeHandler({"p.html": "{% module xsrf_form_html() %}"})
    handler.application.ui_modules = {}
    assert handler.render_string("p.html") == b'<input type="hidden" name="_xsrf" value="tok"/>'


# --- page assembly --------------------------------------------------------------


class Full(UIModule):
    def render(self) -> str:
        return "<a/>"

    def css_files(self) -> list[str]:
        return ["a.css", "http://x/b.css", "//cdn/c.css", "/abs.css"]

    def embedded_css(self) -> str:
        return "a{}"

    def javascript_files(self) -> list[str]:
        return ["a.js", "https://x/b.js", "/abs.js"]

    def embedded_javascript(self) -> str:
        return "ajs()"

    def html_head(self) -> str:
        return "<meta a>"

    def html_body(self) -> str:
        return "<div a>"


class Single(UIModule):
    def render(self, n: int) -> str:
        return f"<b>{n}</b>"

    def css_files(self) -> str:
        return "a.css"

    def embedded_css(self) -> str:
        return ".b{}"

    def javascript_files(self) -> str:
        return "b.js"

    def embedded_javascript(self) -> str:
        return "bjs()"


TM_SOURCE = (
    '{{ set_resources(embedded_css=".tm{}", css_files=["tm.css"], javascript_files="tm.js",'
    ' embedded_javascript="tmjs()", html_head="<meta tm>", html_body="<p tm>") }}TM{{x}}\n'
)


def test_page_assembly_matches_tornado_byte_for_byte() -> None:
    # The same modules and page rendered by Tornado 6.6 give exactly this
    # (with its static_url's version hash where ours says v=1).
    handler = FakeHandler(
        {
            "page.html": "<html><head><title>t</title></head><body>{% module A() %}"
            "{% module B(1) %}{% module A() %}{% module Template('tm.html', x=1) %}"
            "{% module Template('tm.html', x=2) %}</body></html>\n",
            "tm.html": TM_SOURCE,
        },
        ui_modules={"A": Full, "B": Single},
    )
    assert handler.render("page.html").decode() == (
        "<html><head><title>t</title>"
        '<link href="/static/a.css?v=1" type="text/css" rel="stylesheet"/>'
        '<link href="http://x/b.css" type="text/css" rel="stylesheet"/>'
        '<link href="//cdn/c.css" type="text/css" rel="stylesheet"/>'
        '<link href="/abs.css" type="text/css" rel="stylesheet"/>'
        '<link href="/static/tm.css?v=1" type="text/css" rel="stylesheet"/>\n'
        '<style type="text/css">\na{}\n.b{}\n.tm{}\n</style>\n'
        "<meta a><meta tm>\n"
        "</head><body><a/><b>1</b><a/>TM1\nTM2\n"
        '<script src="/static/a.js?v=1" type="text/javascript"></script>'
        '<script src="https://x/b.js" type="text/javascript"></script>'
        '<script src="/abs.js" type="text/javascript"></script>'
        '<script src="/static/b.js?v=1" type="text/javascript"></script>'
        '<script src="/static/tm.js?v=1" type="text/javascript"></script>\n'
        '<script type="text/javascript">\n//<![CDATA[\najs()\nbjs()\ntmjs()\n//]]>\n</script>\n'
        "<div a><p tm>\n"
        "</body></html>\n"
    )


def test_each_kind_alone_has_tornados_layout() -> None:
    shell = "<head></head><body>{% module M() %}</body>"
    assert page(shell, M=resources_module("M", embedded_css="x{}")) == (
        b'<head><style type="text/css">\nx{}\n</style>\n</head><body><M/></body>'
    )
    assert page(shell, M=resources_module("M", embedded_javascript="f()")) == (
        b'<head></head><body><M/><script type="text/javascript">\n//<![CDATA[\nf()\n'
        b"//]]>\n</script>\n</body>"
    )
    assert page(shell, M=resources_module("M", html_head="<h>")) == (
        b"<head><h>\n</head><body><M/></body>"
    )
    assert page(shell, M=resources_module("M", html_body="<bd>")) == (
        b"<head></head><body><M/><bd>\n</body>"
    )
    assert page(
        shell, M=resources_module("M", css_files=["q.css"], javascript_files=("q.js",))
    ) == (
        b'<head><link href="/static/q.css?v=1" type="text/css" rel="stylesheet"/>\n</head>'
        b'<body><M/><script src="/static/q.js?v=1" type="text/javascript"></script>\n</body>'
    )


def test_bytes_resources_are_accepted_and_empty_ones_skipped() -> None:
    shell = "<head></head><body>{% module M() %}{% module E() %}</body>"
    bytes_module = resources_module(
        "M", embedded_css=b"bc{}", html_head=b"<bh>", embedded_javascript=b"bj()", html_body=b"<bb>"
    )
    empty = resources_module(
        "E",
        embedded_css="",
        embedded_javascript="",
        html_head="",
        html_body="",
        css_files=[],
        javascript_files=["", b""],
    )
    assert page(shell, M=bytes_module, E=empty) == (
        b'<head><style type="text/css">\nbc{}\n</style>\n<bh>\n</head><body><M/><E/>'
        b'<script type="text/javascript">\n//<![CDATA[\nbj()\n//]]>\n</script>\n<bb>\n</body>'
    )
    assert page(shell, M=empty, E=empty) == b"<head></head><body><E/><E/></body>"


def test_page_without_modules_is_returned_unchanged() -> None:
    handler = FakeHandler({"p.html": "<head></head><body>plain</body>"})
    html = handler.render_string("p.html")
    assert _assemble_page(handler, html) is html
    handler._active_modules = {}  # type: ignore[attr-defined]
    assert _assemble_page(handler, html) is html


def test_identical_resources_from_different_modules_appear_once() -> None:
    # Tornado repeats embedded text that two module classes share; we do not.
    shell = "<head></head><body>{% module A() %}{% module B() %}</body>"
    twin = {"embedded_css": "x{}", "html_head": "<h>", "embedded_javascript": "f()"}
    out = page(shell, A=resources_module("A", **twin), B=resources_module("B", **twin))
    assert out.count(b"x{}") == out.count(b"<h>") == out.count(b"f()") == 1


def test_resources_keep_first_use_order() -> None:
    shell = "<head></head><body>{% module B() %}{% module A() %}{% module B() %}</body>"
    out = page(
        shell,
        A=resources_module("A", css_files=["a.css", "shared.css"], embedded_css="a{}"),
        B=resources_module("B", css_files=["shared.css", "b.css"], embedded_css="b{}"),
    )
    order = [out.index(x) for x in (b"shared.css", b"b.css", b"a.css", b"b{}", b"a{}")]
    assert order == sorted(order)
    assert out.count(b"shared.css") == 1


def test_urls_with_a_scheme_or_leading_slash_skip_static_url() -> None:
    out = page(
        "<head></head><body>{% module M() %}</body>",
        M=resources_module(
            "M",
            css_files=["data:text/css,x", "HTTPS://H/x.css", "rel/x.css", "//h/y.css"],
        ),
    )
    hrefs = [part.split(b'"')[0] for part in out.split(b'href="')[1:]]
    assert hrefs == [b"data:text/css,x", b"HTTPS://H/x.css", b"/static/rel/x.css?v=1", b"//h/y.css"]


def test_urls_are_html_escaped_in_attributes() -> None:
    out = page(
        "<head></head><body>{% module M() %}</body>",
        M=resources_module(
            "M", css_files=['a"b.css', "https://f/css?a=1&b=<2>"], javascript_files=['x"y.js']
        ),
    )
    assert b'href="/static/a&quot;b.css?v=1"' in out
    assert b'href="https://f/css?a=1&amp;b=&lt;2&gt;"' in out
    assert b'src="/static/x&quot;y.js?v=1"' in out


def test_page_without_head_gets_head_resources_first() -> None:
    out = page("<body>{% module A() %}</body>", A=Full)
    assert out.startswith(b'<link href="/static/a.css?v=1"')
    assert out.endswith(b"<div a>\n</body>")


def test_page_without_body_end_gets_body_resources_before_html_end_or_at_the_end() -> None:
    out = page("<html><head></head>{% module A() %}</html>", A=Full)
    assert out.endswith(b"<div a>\n</html>")
    assert out.index(b"<style") < out.index(b"</head>") < out.index(b"<a/>") < out.index(b"<script")
    bare = page("{% module A() %}", A=Full)
    assert bare.startswith(b"<link") and bare.endswith(b"<div a>\n")
    assert bare.index(b"</style>") < bare.index(b"<a/>") < bare.index(b"<script")


def test_closing_tags_in_any_case_and_the_last_body() -> None:
    out = page("<HEAD></HEAD ><BODY>{% module A() %}</BODY></Body >", A=Full)
    assert out.startswith(b"<HEAD><link")
    assert out.index(b"</HEAD >") > out.index(b"<meta a>")
    assert b"</BODY><script" in out and out.endswith(b"<div a>\n</Body >")
    repeated = page("<head></head><head></head><body>{% module A() %}</body></body>", A=Full)
    assert repeated.startswith(b"<head><link") and repeated.count(b"</head>") == 2
    assert b"<a/></body><script" in repeated and repeated.endswith(b"<div a>\n</body>")


# --- TemplateModule ------------------------------------------------------------


def test_set_resources_returns_nothing_and_unknown_keys_are_ignored() -> None:
    handler = FakeHandler(
        {
            "p.html": "<head></head><body>{% module Template('t.html') %}</body>",
            "t.html": "[{{ set_resources(js_files='j.js', bogus=1) }}]",
        }
    )
    assert handler.render("p.html") == b"<head></head><body>[]</body>"


def test_template_module_resources_once_for_the_same_template() -> None:
    handler = FakeHandler(
        {
            "p.html": "<head></head><body>{% module Template('r.html', x=1) %}"
            "{% module Template('r.html', x=2) %}</body>",
            "r.html": "{{ set_resources(embedded_css='.r{}', css_files='r.css') }}R{{ x }}",
        }
    )
    assert handler.render("p.html") == (
        b'<head><link href="/static/r.css?v=1" type="text/css" rel="stylesheet"/>\n'
        b'<style type="text/css">\n.r{}\n</style>\n</head><body>R1R2</body>'
    )


def test_template_module_rejects_different_resources_for_one_template() -> None:
    templates = {
        "p.html": "{% module Template('r.html', x=1) %}{% module Template('r.html', x=2) %}",
        "r.html": "{{ set_resources(embedded_css='.r%d{}' % x) }}",
        "s.html": "{{ set_resources(html_head='a') }}{{ set_resources(html_head='b') }}",
        "q.html": "{% module Template('s.html') %}",
    }
    with pytest.raises(ValueError, match="r.html"):
        FakeHandler(templates).render("p.html")
    with pytest.raises(ValueError, match="s.html"):
        FakeHandler(templates).render("q.html")


def test_template_modules_from_two_templates_combine() -> None:
    handler = FakeHandler(
        {
            "p.html": "<head></head><body>{% module Template('a.html') %}"
            "{% module Template('b.html') %}</body>",
            "a.html": "{{ set_resources(embedded_css='a{}', css_files=['a.css']) }}A",
            "b.html": "{{ set_resources(embedded_css='b{}', css_files='b.css') }}B",
        }
    )
    assert handler.render("p.html") == (
        b'<head><link href="/static/a.css?v=1" type="text/css" rel="stylesheet"/>'
        b'<link href="/static/b.css?v=1" type="text/css" rel="stylesheet"/>\n'
        b'<style type="text/css">\na{}\nb{}\n</style>\n</head><body>AB</body>'
    )


def test_template_module_sees_its_kwargs_and_the_global_namespace_only() -> None:
    handler = FakeHandler(
        {
            "p.html": "{% set outer = 'hidden' %}{% module Template('n.html', x='<') %}",
            "n.html": "{{ x }}|{{ handler.current_user }}|{{ globals().get('outer', 'unseen') }}",
            "m.html": "{% module Template('n.html') %}",
        }
    )
    assert handler.render("p.html") == b"&lt;|ann|unseen"
    with pytest.raises(NameError):
        handler.render("m.html")


def test_template_module_directly() -> None:
    handler = FakeHandler({"t.html": "{{ set_resources(html_body='<z>') }}T{{ n }}"})
    module = TemplateModule(handler)
    assert module.html_body() is None
    assert module.render("t.html", n=1) == b"T1"
    assert module.html_body() == "<z>"
    assert module.embedded_css() is None and module.css_files() is None
