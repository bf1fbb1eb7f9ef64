"""Templates, UI modules and locales through RequestHandler.render, over real sockets.

Covers the overview's "Templates", "Localization" and "UI modules" sections:
the template namespace, loader settings, autoescape and whitespace settings,
the template cache, UI modules and ``{% module Template(...) %}``, and locale
selection (``get_user_locale``, ``Accept-Language``, the ``en_US`` fallback).
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
import types
import unittest
from collections.abc import Iterable
from typing import Any

from squall.escape import to_unicode
from squall.testing import AsyncHTTPTestCase
from squall.web import Application, RequestHandler, UIModule, url

from squall import locale, template

# StaticFileHandler (squall.web._static) comes from another branch; the tests
# of static_url in templates wait for it.
try:
    from squall.web import StaticFileHandler  # noqa: F401
except ImportError:
    HAVE_STATIC = False
else:
    HAVE_STATIC = True
needs_static = unittest.skipUnless(HAVE_STATIC, "needs squall.web.StaticFileHandler")


class TemplateCase(AsyncHTTPTestCase):
    """A case with a temporary template directory (``self.tdir``) made before get_app."""

    templates: dict[str, str] = {}

    def setUp(self) -> None:
        self.tdir = tempfile.mkdtemp(prefix="squall-templates-")
        self.addCleanup(shutil.rmtree, self.tdir, True)
        for name, text in self.templates.items():
            self.write_template(name, text)
        super().setUp()

    def static_settings(self, *names: str) -> dict[str, Any]:
        """``static_path`` (holding ``names``) when StaticFileHandler is there, else nothing."""
        if not HAVE_STATIC:
            return {}
        static = os.path.join(self.tdir, "static")
        os.makedirs(static, exist_ok=True)
        for name in names:
            with open(os.path.join(static, name), "w") as f:
                f.write("/* static */")
        return {"static_path": static}

    def write_template(self, name: str, text: str) -> None:
        path = os.path.join(self.tdir, name)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "w", encoding="utf-8") as f:
            f.write(text)

    def body(self, path: str, **kwargs: Any) -> str:
        response = self.fetch(path, **kwargs)
        self.assertEqual(response.code, 200, response.body)
        return to_unicode(response.body)


# --- the overview's template example and the namespace -------------------------

OVERVIEW_TEMPLATE = """<html>
   <head>
      <title>{{ title }}</title>
   </head>
   <body>
     <ul>
       {% for item in items %}
         <li>{{ escape(item) }}</li>
       {% end %}
     </ul>
   </body>
 </html>
"""

NAMESPACE_TEMPLATE = (
    "escape={% raw escape('<a>') %}~~xhtml_escape={% raw xhtml_escape('\"') %}"
    "~~url_escape={{ url_escape('a b/c') }}~~json_encode={% raw json_encode({'k': [1]}) %}"
    "~~squeeze={{ squeeze('a   b') }}~~linkify={% raw linkify('see http://x.org') %}"
    "~~datetime={{ datetime.date(2020, 1, 2).isoformat() }}"
    "~~handler={{ type(handler).__name__ }}~~request={{ request.path }}"
    "~~current_user={{ current_user }}~~locale={{ locale.code }}~~_={{ _('Hello') }}"
    "~~pgettext={{ pgettext('greeting', 'Hello') }}~~static_url={{ static_url == handler.static_url }}"
    "~~xsrf_form_html={% raw xsrf_form_html() %}~~reverse_url={{ reverse_url('item', 42) }}"
    "~~ui_method={{ shout('hi') }}~~module={% module Badge('b') %}"
    "~~modules={{ modules.Badge('c') }}~~kwarg={{ extra }}"
)


def shout(handler: RequestHandler, text: str) -> str:
    return f"{text.upper()}! ({type(handler).__name__})"


class Badge(UIModule):
    def render(self, label: str) -> str:
        return f"<badge>{label}</badge>"


class OverviewHandler(RequestHandler):
    def get(self) -> None:
        items = ["Item 1", "Item 2", "Item 3"]
        self.render("template.html", title="My title", items=items)


class NamespaceHandler(RequestHandler):
    def get_current_user(self) -> str:
        return "ann"

    def get(self, number: str = "") -> None:
        self.render("namespace.html", extra="<kw>")


class RenderStringHandler(RequestHandler):
    def get(self) -> None:
        html = self.render_string("string.html", name="<you>")
        assert isinstance(html, bytes)
        self.set_header("Content-Type", "text/plain")
        self.write(b"[" + html + b"]")


class NamespaceOverrideHandler(RequestHandler):
    def get_template_namespace(self) -> dict[str, Any]:
        namespace = super().get_template_namespace()
        namespace["site"] = "Squall"
        namespace["escape"] = lambda value: "ESC"
        return namespace

    def get(self) -> None:
        self.render("override.html")


class StaticUrlHandler(RequestHandler):
    def get(self) -> None:
        self.render("static.html")


class NamespaceTest(TemplateCase):
    templates = {
        "template.html": OVERVIEW_TEMPLATE,
        "namespace.html": NAMESPACE_TEMPLATE,
        "string.html": "<b>{{ name }}</b>",
        "override.html": "{{ site }}/{{ escape('x') }}",
    }

    def get_app(self) -> Application:
        return Application(
            [
                ("/overview", OverviewHandler),
                ("/namespace", NamespaceHandler),
                url(r"/item/([0-9]+)", NamespaceHandler, name="item"),
                ("/string", RenderStringHandler),
                ("/override", NamespaceOverrideHandler),
                ("/static-url", StaticUrlHandler),
            ],
            template_path=self.tdir,
            ui_methods={"shout": shout},
            ui_modules={"Badge": Badge},
            **self.static_settings("a.css"),
        )

    def test_overview_template_example(self) -> None:
        response = self.fetch("/overview")
        self.assertEqual(response.code, 200)
        self.assertEqual(response.headers["Content-Type"], "text/html; charset=UTF-8")
        self.assertEqual(
            to_unicode(response.body),
            "<html>\n<head>\n<title>My title</title>\n</head>\n<body>\n<ul>\n\n"
            "<li>Item 1</li>\n\n<li>Item 2</li>\n\n<li>Item 3</li>\n\n</ul>\n</body>\n</html>\n",
        )

    def test_the_whole_documented_namespace(self) -> None:
        body = self.body("/namespace")
        fields = dict(part.split("=", 1) for part in body.split("~~"))
        self.assertEqual(fields["escape"], "&lt;a&gt;")
        self.assertEqual(fields["xhtml_escape"], "&quot;")
        self.assertEqual(fields["url_escape"], "a+b%2Fc")
        self.assertEqual(fields["json_encode"], '{"k": [1]}')
        self.assertEqual(fields["squeeze"], "a b")
        self.assertEqual(fields["linkify"], 'see <a href="http://x.org">http://x.org</a>')
        self.assertEqual(fields["datetime"], "2020-01-02")
        self.assertEqual(fields["handler"], "NamespaceHandler")
        self.assertEqual(fields["request"], "/namespace")
        self.assertEqual(fields["current_user"], "ann")
        self.assertEqual(fields["locale"], "en_US")
        self.assertEqual(fields["_"], "Hello")
        self.assertEqual(fields["pgettext"], "Hello")
        self.assertEqual(fields["static_url"], "True")
        self.assertRegex(
            fields["xsrf_form_html"], r'^<input type="hidden" name="_xsrf" value="[^"]+"/>$'
        )
        self.assertEqual(fields["reverse_url"], "/item/42")
        self.assertEqual(fields["ui_method"], "HI! (NamespaceHandler)")
        self.assertEqual(fields["module"], "<badge>b</badge>")
        self.assertEqual(fields["modules"], "&lt;badge&gt;c&lt;/badge&gt;")
        self.assertEqual(fields["kwarg"], "&lt;kw&gt;")

    @needs_static
    def test_static_url_in_templates_is_versioned(self) -> None:
        self.write_template("static.html", "{{ static_url('a.css') }}")
        self.assertRegex(self.body("/static-url"), r"^/static/a\.css\?v=[0-9a-f]+$")

    def test_render_string_returns_bytes_without_writing(self) -> None:
        self.assertEqual(self.body("/string"), "[<b>&lt;you&gt;</b>]")

    def test_get_template_namespace_override(self) -> None:
        self.assertEqual(self.body("/override"), "Squall/ESC")


# --- where templates come from ---------------------------------------------------


class PathHandler(RequestHandler):
    def get(self, name: str) -> None:
        self.render(name + ".html", who="path")


class OtherPathHandler(PathHandler):
    def get_template_path(self) -> str:
        return os.path.join(self.settings["template_path"], "other")


class CustomLoaderHandler(PathHandler):
    def create_template_loader(self, template_path: str) -> template.BaseLoader:
        return template.DictLoader({"page.html": "custom loader for {{ who }}"})


class LoaderTest(TemplateCase):
    templates = {
        "page.html": "main {{ who }}",
        "other/page.html": "other {{ who }}",
        "base.html": "<{% block x %}base{% end %}>",
        "child.html": "{% extends 'base.html' %}{% block x %}child {{ who }}{% end %}",
        "inc.html": "[{% include 'part.html' %}]",
        "part.html": "part {{ who }}",
    }

    def get_app(self) -> Application:
        return Application(
            [
                (r"/main/(\w+)", PathHandler),
                (r"/other/(\w+)", OtherPathHandler),
                (r"/custom/(\w+)", CustomLoaderHandler),
            ],
            template_path=self.tdir,
        )

    def test_template_path_setting(self) -> None:
        self.assertEqual(self.body("/main/page"), "main path")

    def test_extends_and_include_resolve_in_the_template_path(self) -> None:
        self.assertEqual(self.body("/main/child"), "<child path>")
        self.assertEqual(self.body("/main/inc"), "[part path]")

    def test_get_template_path_override(self) -> None:
        self.assertEqual(self.body("/other/page"), "other path")

    def test_create_template_loader_override(self) -> None:
        self.assertEqual(self.body("/custom/page"), "custom loader for path")

    def test_missing_template_is_a_500(self) -> None:
        self.assertEqual(self.fetch("/main/nope").code, 500)


class TemplateLoaderSettingTest(TemplateCase):
    def get_app(self) -> Application:
        loader = template.DictLoader({"page.html": "from the {{ who }} loader setting"})
        return Application([(r"/main/(\w+)", PathHandler)], template_loader=loader)

    def test_template_loader_setting(self) -> None:
        self.assertEqual(self.body("/main/page"), "from the path loader setting")


# --- autoescape and whitespace settings ------------------------------------------


class EscapeHandler(RequestHandler):
    def get_template_namespace(self) -> dict[str, Any]:
        namespace = super().get_template_namespace()
        namespace["bracket"] = lambda value: "[" + to_unicode(value) + "]"
        return namespace

    def get(self) -> None:
        self.render("escape.html", value="<b>")


class AutoescapeNoneTest(TemplateCase):
    templates = {"escape.html": "{{ value }}|{{ escape(value) }}"}

    def get_app(self) -> Application:
        return Application([("/", EscapeHandler)], template_path=self.tdir, autoescape=None)

    def test_autoescape_none_outputs_raw_values(self) -> None:
        self.assertEqual(self.body("/"), "<b>|&lt;b&gt;")


class AutoescapeCustomTest(TemplateCase):
    templates = {"escape.html": "{{ value }}|{% raw value %}"}

    def get_app(self) -> Application:
        return Application([("/", EscapeHandler)], template_path=self.tdir, autoescape="bracket")

    def test_autoescape_names_a_namespace_function(self) -> None:
        self.assertEqual(self.body("/"), "[<b>]|<b>")


class AutoescapeDefaultTest(TemplateCase):
    templates = {"escape.html": "{{ value }}|{% raw value %}"}

    def get_app(self) -> Application:
        return Application([("/", EscapeHandler)], template_path=self.tdir)

    def test_default_is_xhtml_escape(self) -> None:
        self.assertEqual(self.body("/"), "&lt;b&gt;|<b>")


class SpacesHandler(RequestHandler):
    def get(self) -> None:
        self.render("spaces.html")


SPACES = "<p>\n\n   a    b   </p>\n"


class WhitespaceDefaultTest(TemplateCase):
    templates = {"spaces.html": SPACES}

    def get_app(self) -> Application:
        return Application([("/", SpacesHandler)], template_path=self.tdir)

    def test_html_templates_collapse_whitespace_by_default(self) -> None:
        self.assertEqual(self.body("/"), "<p>\na b </p>\n")


class WhitespaceSettingTest(TemplateCase):
    templates = {"spaces.html": SPACES}

    def get_app(self) -> Application:
        return Application(
            [("/", SpacesHandler)], template_path=self.tdir, template_whitespace="all"
        )

    def test_template_whitespace_all_keeps_it(self) -> None:
        self.assertEqual(self.body("/"), SPACES)


class WhitespaceOnelineTest(TemplateCase):
    templates = {"spaces.html": SPACES}

    def get_app(self) -> Application:
        return Application(
            [("/", SpacesHandler)], template_path=self.tdir, template_whitespace="oneline"
        )

    def test_template_whitespace_oneline(self) -> None:
        self.assertEqual(self.body("/"), "<p> a b </p> ")


# --- the compiled template cache --------------------------------------------------


class CacheHandler(RequestHandler):
    def get(self) -> None:
        self.render("cached.html")


class CachedTemplatesTest(TemplateCase):
    templates = {"cached.html": "version 1"}
    settings: dict[str, Any] = {}

    def get_app(self) -> Application:
        return Application([("/", CacheHandler)], template_path=self.tdir, **self.settings)

    def test_templates_are_compiled_once_by_default(self) -> None:
        self.assertEqual(self.body("/"), "version 1")
        self.write_template("cached.html", "version 2")
        self.assertEqual(self.body("/"), "version 1")


class UncachedTemplatesTest(CachedTemplatesTest):
    settings = {"compiled_template_cache": False}

    def test_templates_are_compiled_once_by_default(self) -> None:
        self.assertEqual(self.body("/"), "version 1")
        self.write_template("cached.html", "version 2")
        self.assertEqual(self.body("/"), "version 2")


class DebugTemplatesTest(UncachedTemplatesTest):
    settings = {"debug": True, "autoreload": False}


# --- UI modules: the overview's Entry example ------------------------------------


class Entry(UIModule):
    def embedded_css(self) -> str:
        return ".entry { margin-bottom: 1em; }"

    def render(self, entry: dict[str, Any], show_comments: bool = False) -> bytes:
        return self.render_string("module-entry.html", entry=entry, show_comments=show_comments)


class Scripted(UIModule):
    def render(self) -> str:
        return "<i>s</i>"

    def javascript_files(self) -> list[str]:
        return ["s.js", "https://cdn.example/lib.js"]

    def embedded_javascript(self) -> str:
        return "start()"

    def css_files(self) -> list[str]:
        return ["/site.css"]


uimodules = types.ModuleType("uimodules")
uimodules.Entry = Entry  # type: ignore[attr-defined]
uimodules.Scripted = Scripted  # type: ignore[attr-defined]
uimodules.helper = len  # type: ignore[attr-defined]

ENTRIES = [
    {"id": 1, "title": "First", "comments": ["a", "b"]},
    {"id": 2, "title": "Second <2>", "comments": []},
]


class HomeHandler(RequestHandler):
    def get(self) -> None:
        self.render("home.html", entries=ENTRIES)


class EntryHandler(RequestHandler):
    def get(self, entry_id: str) -> None:
        self.render("entry.html", entry=ENTRIES[int(entry_id) - 1])


class TemplateModuleHandler(RequestHandler):
    def get(self, name: str) -> None:
        self.render(name + ".html", entries=ENTRIES)


HEAD_CSS = '<style type="text/css">\n.entry { margin-bottom: 1em; }\n</style>\n'


class UIModuleTest(TemplateCase):
    templates = {
        "home.html": "<html><head><title>Blog</title></head><body>"
        "{% for entry in entries %}{% module Entry(entry) %}{% end %}</body></html>",
        "entry.html": "<html><head></head><body>"
        "{% module Entry(entry, show_comments=True) %}</body></html>",
        "module-entry.html": '<div class="entry">{{ entry["title"] }}'
        '{% if show_comments %}: {{ len(entry["comments"]) }} comments{% end %}</div>',
        "scripted.html": "<html><head></head><body>{% module Scripted() %}"
        "{% module Scripted() %}</body></html>",
        # The overview's template module, and the call it shows.
        "module-entry-t.html": '{{ set_resources(embedded_css=".entry { margin-bottom: 1em; }") }}'
        "<div class=entry>{% if show_comments %}with comments{% end %}</div>",
        "overview-t.html": "<html><head></head><body>"
        '{% module Template("module-entry-t.html", show_comments=True) %}'
        '{% module Template("module-entry-t.html", show_comments=False) %}</body></html>',
        "item-t.html": '{{ set_resources(css_files="entry.css", javascript_files=["entry.js"]) }}'
        "<li>{{ entry['title'] }}{{ globals().get('entries', ' (no outer names)') }}</li>",
        "list-t.html": "<html><head></head><body><ul>{% for entry in entries %}"
        '{% module Template("item-t.html", entry=entry) %}{% end %}</ul></body></html>',
    }

    def get_app(self) -> Application:
        return Application(
            [
                ("/", HomeHandler),
                (r"/entry/([0-9]+)", EntryHandler),
                (r"/t/([\w-]+)", TemplateModuleHandler),
            ],
            template_path=self.tdir,
            ui_modules=uimodules,
            **self.static_settings("s.js", "entry.css", "entry.js"),
        )

    def test_home_renders_each_entry_and_its_css_once_in_head(self) -> None:
        self.assertEqual(
            self.body("/"),
            "<html><head><title>Blog</title>" + HEAD_CSS + "</head><body>"
            '<div class="entry">First</div><div class="entry">Second &lt;2&gt;</div>'
            "</body></html>",
        )

    def test_entry_page_shows_comments(self) -> None:
        self.assertEqual(
            self.body("/entry/1"),
            "<html><head>" + HEAD_CSS + "</head><body>"
            '<div class="entry">First: 2 comments</div></body></html>',
        )

    @needs_static
    def test_scripts_go_before_body_end_once_and_static_urls_are_versioned(self) -> None:
        body = self.body("/t/scripted")
        self.assertEqual(body.count("s.js"), 1)
        self.assertEqual(body.count("start()"), 1)
        self.assertRegex(
            body,
            r'^<html><head><link href="/site.css" type="text/css" rel="stylesheet"/>\n</head>'
            r"<body><i>s</i><i>s</i>"
            r'<script src="/static/s\.js\?v=[0-9a-f]+" type="text/javascript"></script>'
            r'<script src="https://cdn\.example/lib\.js" type="text/javascript"></script>\n'
            r'<script type="text/javascript">\n//<!\[CDATA\[\nstart\(\)\n//\]\]>\n</script>\n'
            r"</body></html>$",
        )

    def test_overview_template_module_with_set_resources(self) -> None:
        self.assertEqual(
            self.body("/t/overview-t"),
            "<html><head>" + HEAD_CSS + "</head><body>"
            "<div class=entry>with comments</div><div class=entry></div></body></html>",
        )

    @needs_static
    def test_template_module_namespace_and_resources_once(self) -> None:
        body = self.body("/t/list-t")
        self.assertEqual(body.count("entry.css"), 1)
        self.assertEqual(body.count("entry.js"), 1)
        self.assertIn(
            "<ul><li>First (no outer names)</li><li>Second &lt;2&gt; (no outer names)</li></ul>",
            body,
        )
        self.assertRegex(body, r'<link href="/static/entry\.css\?v=[0-9a-f]+" type="text/css"')
        self.assertRegex(body, r'</ul><script src="/static/entry\.js\?v=[0-9a-f]+"')


class HookedPageHandler(RequestHandler):
    """Overrides the documented markup hooks that render() uses for module resources."""

    def render_linked_js(self, js_files: Iterable[str]) -> str:
        return "<!-- js: " + ", ".join(js_files) + " -->"

    def render_embed_css(self, css_embed: Iterable[bytes]) -> bytes:
        return b"<style>" + b" ".join(css_embed) + b"</style>"

    def get(self) -> None:
        self.render("hooked.html")


class Styled(UIModule):
    def render(self) -> str:
        return "<i>styled</i>"

    def embedded_css(self) -> str:
        return "i { color: red }"

    def javascript_files(self) -> list[str]:
        return ["rel.js", "/abs.js", "rel.js"]

    def embedded_javascript(self) -> str:
        return "go()"


class Tinted(Styled):
    def embedded_css(self) -> str:
        return "b { color: blue }"

    def javascript_files(self) -> list[str]:
        return ["/abs.js", "more.js"]


class MarkupHooksTest(TemplateCase):
    templates = {
        "hooked.html": "<html><head></head><body>{% module Styled() %}{% module Tinted() %}"
        "</body></html>",
    }

    def get_app(self) -> Application:
        return Application(
            [("/", HookedPageHandler)],
            template_path=self.tdir,
            ui_modules={"Styled": Styled, "Tinted": Tinted},
        )

    def test_overridden_render_hooks_receive_the_distinct_resources(self) -> None:
        # Tornado hands the hooks every path and text as asked for, repeats
        # included; squall hands them each distinct one once, in first-use order.
        self.assertEqual(
            self.body("/"),
            "<html><head><style>i { color: red } b { color: blue }</style>\n</head><body>"
            "<i>styled</i><i>styled</i><!-- js: rel.js, /abs.js, more.js -->\n"
            '<script type="text/javascript">\n//<![CDATA[\ngo()\n//]]>\n</script>\n'
            "</body></html>",
        )


# --- locales ------------------------------------------------------------------------

TRANSLATIONS = {
    "es.csv": (
        '"Sign in","Ingresar"\n'
        '"Username","Usuario"\n'
        '"Password","Contraseña"\n'
        '"A person liked this","A una persona le gustó esto","singular"\n'
        '"%(num)d people liked this","A %(num)d personas les gustó esto","plural"\n'
    ),
    "fr_CA.csv": '"Sign in","Connexion"\n',
}

LOGIN_TEMPLATE = (
    "<html><head><title>FriendFeed - {{ _('Sign in') }}</title></head><body>"
    '<form action="{{ request.path }}" method="post">'
    '<div>{{ _(\'Username\') }} <input type="text" name="username"/></div>'
    '<div>{{ _(\'Password\') }} <input type="password" name="password"/></div>'
    '<div><input type="submit" value="{{ _(\'Sign in\') }}"/></div>'
    "{% module xsrf_form_html() %}</form>"
    "<p>{{ _('A person liked this', '%(num)d people liked this', len(people))"
    " % {'num': len(people)} }}</p></body></html>"
)


class LoginHandler(RequestHandler):
    def get(self) -> None:
        self.set_header("X-Locale", self.locale.code)
        people = ["p"] * int(self.get_argument("people", "1"))
        self.render("login.html", people=people)


class PreferenceHandler(LoginHandler):
    def get_user_locale(self) -> locale.Locale | None:
        wanted = self.get_argument("pref", None)
        return locale.get(wanted) if wanted else None


class LocaleTest(TemplateCase):
    templates = {"login.html": LOGIN_TEMPLATE}

    def setUp(self) -> None:
        self.translations = tempfile.mkdtemp(prefix="squall-translations-")
        self.addCleanup(shutil.rmtree, self.translations, True)
        for name, text in TRANSLATIONS.items():
            with open(os.path.join(self.translations, name), "w", encoding="utf-8") as f:
                f.write(text)
        locale.load_translations(self.translations)
        self.addCleanup(self.forget_translations)
        super().setUp()

    def forget_translations(self) -> None:
        empty = tempfile.mkdtemp(prefix="squall-no-translations-")
        locale.load_translations(empty)
        os.rmdir(empty)
        locale.set_default_locale("en_US")

    def get_app(self) -> Application:
        return Application(
            [("/login", LoginHandler), ("/pref", PreferenceHandler)], template_path=self.tdir
        )

    def login(self, path: str, language: str | None = None) -> tuple[str, str]:
        headers = {"Accept-Language": language} if language else {}
        response = self.fetch(path, headers=headers)
        self.assertEqual(response.code, 200, response.body)
        return response.headers["X-Locale"], to_unicode(response.body)

    def test_supported_locales_come_from_the_csv_names(self) -> None:
        self.assertEqual(sorted(locale.get_supported_locales()), ["en_US", "es", "fr_CA"])

    def test_accept_language_es_gt_falls_back_to_es(self) -> None:
        code, body = self.login("/login", "es-GT,es;q=0.8,en;q=0.5")
        self.assertEqual(code, "es")
        self.assertIn("<title>FriendFeed - Ingresar</title>", body)
        self.assertIn("<div>Usuario <input", body)
        self.assertIn("<div>Contraseña <input", body)
        self.assertIn('value="Ingresar"', body)
        self.assertIn("<p>A una persona le gustó esto</p>", body)
        self.assertRegex(body, r'<input type="hidden" name="_xsrf" value="[^"]+"/></form>')

    def test_plural_forms(self) -> None:
        _, body = self.login("/login?people=3", "es")
        self.assertIn("<p>A 3 personas les gustó esto</p>", body)
        _, english = self.login("/login?people=3", "en-US")
        self.assertIn("<p>3 people liked this</p>", english)
        _, one = self.login("/login?people=1")
        self.assertIn("<p>A person liked this</p>", one)

    def test_quality_values_pick_the_best_supported_language(self) -> None:
        code, body = self.login("/login", "de;q=0.9, fr-CA;q=0.8, es;q=0.1")
        self.assertEqual(code, "fr_CA")
        self.assertIn("Connexion", body)
        self.assertIn("<div>Username <input", body)

    def test_unsupported_or_missing_language_falls_back_to_en_us(self) -> None:
        self.assertEqual(self.login("/login", "de-DE,ja;q=0.5")[0], "en_US")
        code, body = self.login("/login")
        self.assertEqual(code, "en_US")
        self.assertIn("<title>FriendFeed - Sign in</title>", body)

    def test_get_user_locale_wins_over_accept_language(self) -> None:
        code, body = self.login("/pref?pref=es", "fr-CA")
        self.assertEqual(code, "es")
        self.assertIn("Ingresar", body)

    def test_get_user_locale_none_uses_accept_language(self) -> None:
        self.assertEqual(self.login("/pref", "fr-CA")[0], "fr_CA")


class LocaleInHandlerTest(TemplateCase):
    def get_app(self) -> Application:
        class Handler(RequestHandler):
            def get(self) -> None:
                self.write(
                    {
                        "code": self.locale.code,
                        "name": self.locale.name,
                        "browser": self.get_browser_locale().code,
                        "browser_default": self.get_browser_locale("fr_CA").code,
                    }
                )

        return Application([("/", Handler)])

    def test_locale_attributes_without_translations(self) -> None:
        response = self.fetch("/", headers={"Accept-Language": "xx"})
        body = to_unicode(response.body)
        self.assertEqual(
            re.sub(r"\s", "", body),
            '{"code":"en_US","name":"English(US)","browser":"en_US","browser_default":"en_US"}',
        )
        self.assertEqual(
            self.fetch("/").body.replace(b" ", b""),
            b'{"code":"en_US","name":"English(US)","browser":"en_US","browser_default":"en_US"}',
        )
