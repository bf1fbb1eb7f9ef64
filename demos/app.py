"""The squall demo application.

For now squall has no web server yet, so the demo renders a page with the
template engine (inheritance, a loop, autoescaping, an include) and prints it.
It grows into the web demo as the server and the web framework land.
"""

from __future__ import annotations

import datetime

from squall.escape import json_encode
from squall.template import DictLoader

TEMPLATES = {
    "base.html": (
        "<!doctype html>\n<html><head><title>{% block title %}squall{% end %}</title></head>\n"
        "<body>\n{% block body %}{% end %}\n{% include 'footer.html' %}\n</body></html>\n"
    ),
    "footer.html": "<footer>rendered {{ now.strftime('%Y-%m-%d %H:%M') }}</footer>",
    "page.html": (
        "{% extends 'base.html' %}\n"
        "{% block title %}{{ title }}{% end %}\n"
        "{% block body %}\n<h1>{{ title }}</h1>\n<ul>\n"
        "{% for item in items %}  <li class=\"{{ 'odd' if item['n'] % 2 else 'even' }}\">"
        "{{ item['name'] }}</li>\n{% end %}</ul>\n"
        "<script>var items = {% raw json_encode(items) %};</script>\n{% end %}\n"
    ),
}


def main() -> None:
    loader = DictLoader(TEMPLATES)
    items = [{"n": n, "name": name} for n, name in enumerate(["squall", "<script>", "a & b"])]
    page = loader.load("page.html").generate(
        title="Hello from squall",
        items=items,
        json_encode=json_encode,
        now=datetime.datetime.now(),
    )
    print(page.decode("utf-8"))


if __name__ == "__main__":
    main()
