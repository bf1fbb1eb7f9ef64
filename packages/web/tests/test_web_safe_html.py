"""Templates written before autoescaping render right under squall.web.

The classic overview writes ``<li>{{ escape(item) }}</li>`` and
``{{ xsrf_form_html() }}``.  In RequestHandler's template namespace
``escape``, ``xhtml_escape`` and ``linkify`` return
:class:`squall.escape.SafeHTML`, and so does ``xsrf_form_html()``, which
autoescaping inserts unchanged: each value is escaped exactly once, while
plain values stay autoescaped as in Tornado 6.
"""

from __future__ import annotations

import re
import urllib.parse
from typing import Any

from squall.escape import SafeHTML, linkify, xhtml_escape
from squall.template import DictLoader
from squall.testing import AsyncHTTPTestCase
from squall.web import Application, RequestHandler

TEMPLATES = {
    # The overview's template, as printed.
    "overview.html": "<ul>{% for item in items %}<li>{{ escape(item) }}</li>{% end %}</ul>",
    "helpers.html": "{{ escape(v) }}|{{ xhtml_escape(v) }}|{{ v }}|{% raw escape(v) %}|"
    "{{ linkify(link) }}|{{ escape(v) + '<' }}",
    "form.html": '<form method="post">{{ xsrf_form_html() }}</form>',
    "shout.html": "{% autoescape shout %}{{ escape(v) }}|{{ v }}",
    "method.html": "{{ bold(v) }}|{{ plain(v) }}",
}

LINK = "see http://x.org/?a=1&b=<2>"
_FIELD = re.compile(r'<form method="post"><input type="hidden" name="_xsrf" value="([^"<>]+)"/>')


def bold(handler: RequestHandler, text: str) -> SafeHTML:
    return SafeHTML("<b>" + xhtml_escape(text) + "</b>")


def plain(handler: RequestHandler, text: str) -> str:
    return "<b>" + text + "</b>"


class Page(RequestHandler):
    def get(self, name: str) -> None:
        self.render(
            name + ".html",
            items=["Item 1", "Item <3>"],
            v="<a & 'b'>",
            link=LINK,
            shout=bytes.upper,
        )

    def post(self, name: str) -> None:
        self.write("posted " + self.get_argument("message"))


class Direct(RequestHandler):
    def get(self) -> None:
        field = self.xsrf_form_html()
        assert type(field) is SafeHTML
        self.write(field)
        self.write("\n" + field)


class SafeHTMLTest(AsyncHTTPTestCase):
    settings: dict[str, Any] = {}

    def get_app(self) -> Application:
        return Application(
            [(r"/direct", Direct), (r"/(\w+)", Page)],
            template_loader=DictLoader(TEMPLATES, **self.settings),
            ui_methods={"bold": bold, "plain": plain},
            xsrf_cookies=True,
        )

    def page(self, name: str) -> str:
        response = self.fetch("/" + name)
        self.assertEqual(response.code, 200, response.body)
        return response.body.decode()

    def test_overview_template_escapes_items_once(self) -> None:
        self.assertEqual(self.page("overview"), "<ul><li>Item 1</li><li>Item &lt;3&gt;</li></ul>")

    def test_namespace_helpers_escape_once(self) -> None:
        once = "&lt;a &amp; &#x27;b&#x27;&gt;"
        parts = self.page("helpers").split("|")
        self.assertEqual(parts[:4], [once, once, once, once])
        self.assertEqual(parts[4], linkify(LINK))
        self.assertIn('<a href="http://x.org/?a=1&amp;b">', parts[4])
        # Building on a marked string gives a plain str: escaped again.
        self.assertEqual(parts[5], "&amp;lt;a &amp;amp; &amp;#x27;b&amp;#x27;&amp;gt;&lt;")

    def test_marked_value_skips_a_custom_autoescape_function(self) -> None:
        self.assertEqual(self.page("shout"), "&lt;a &amp; &#x27;b&#x27;&gt;|<A & 'B'>")

    def test_ui_methods_may_return_marked_html(self) -> None:
        self.assertEqual(
            self.page("method"),
            "<b>&lt;a &amp; &#x27;b&#x27;&gt;</b>|&lt;b&gt;&lt;a &amp; &#x27;b&#x27;&gt;&lt;/b&gt;",
        )

    def test_overview_form_posts_back(self) -> None:
        response = self.fetch("/form")
        self.assertEqual(response.code, 200)
        match = _FIELD.fullmatch(response.body.decode().removesuffix("</form>"))
        assert match is not None, response.body
        cookie = next(
            header.split(";")[0]
            for header in response.headers.get_list("Set-Cookie")
            if header.startswith("_xsrf=")
        )
        body = urllib.parse.urlencode({"_xsrf": match.group(1), "message": "hi"})
        posted = self.fetch("/form", method="POST", body=body, headers={"Cookie": cookie})
        self.assertEqual((posted.code, posted.body), (200, b"posted hi"))
        # Without the field the same post is refused.
        refused = self.fetch("/form", method="POST", body="message=hi", headers={"Cookie": cookie})
        self.assertEqual(refused.code, 403)

    def test_xsrf_form_html_written_directly(self) -> None:
        body = self.fetch("/direct").body.decode()
        first, second = body.split("\n")
        self.assertEqual(first, second)
        self.assertRegex(first, r'^<input type="hidden" name="_xsrf" value="[^"]+"/>$')


class AutoescapeOffTest(SafeHTMLTest):
    """With autoescape off nothing changes: the helpers still escape once."""

    settings = {"autoescape": None}

    def test_namespace_helpers_escape_once(self) -> None:
        once = "&lt;a &amp; &#x27;b&#x27;&gt;"
        parts = self.page("helpers").split("|")
        self.assertEqual(parts[:4], [once, once, "<a & 'b'>", once])
        self.assertEqual(parts[5], once + "<")

    def test_ui_methods_may_return_marked_html(self) -> None:
        self.assertEqual(
            self.page("method"), "<b>&lt;a &amp; &#x27;b&#x27;&gt;</b>|<b><a & 'b'></b>"
        )
