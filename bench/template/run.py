"""Template rendering benchmark: squall.template vs tornado.template, jinja2, mako.

Run from the repository root:  python bench/template/run.py [--quick] [--profile]

Every engine renders the same pages from the same data; outputs are
checked equal (ignoring whitespace) before anything is timed.  Times are
CPU time (time.process_time) per render, median of several repeats.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from typing import Any

import jinja2
import mako.lookup
import squall.template
import tornado.template

# --------------------------------------------------------------------------
# Data


def format_price(cents: int) -> str:
    return f"${cents // 100}.{cents % 100:02d}"


ITEMS = [
    {
        "id": i,
        "name": f"Item <{i}> & co",
        "active": i % 3 != 0,
        "price": 1999 + i * 37,
        "description": f"Description of item {i} with <b>markup</b> & ampersands",
    }
    for i in range(100)
]
PAGE_ARGS: dict[str, Any] = {
    "title": "Products & <Services>",
    "site_name": "Squall > Tornado",
    "year": 2024,
    "items": ITEMS,
    "format_price": format_price,
}
TABLE = [{k: i for i, k in enumerate("abcdefghij", 1)} for _ in range(1000)]
TABLE_ARGS: dict[str, Any] = {"title": "Big <table>", "table": TABLE}

# --------------------------------------------------------------------------
# Templates: tornado syntax (shared by squall), jinja2, mako

TORNADO = {
    "base.html": """<!DOCTYPE html>
<html><head><title>{% block title %}Site{% end %}</title></head>
<body>
<div id="header">{% block header %}<h1>{{ site_name }}</h1>{% end %}</div>
<div id="content">{% block content %}{% end %}</div>
{% include "footer.html" %}
</body></html>
""",
    "footer.html": """<div id="footer">&copy; {{ year }} {{ site_name }}</div>""",
    "item.html": """<li class="{{ 'odd' if item['id'] % 2 else 'even' }}">
  {% if item['active'] %}<b>{{ item['name'] }}</b>{% else %}<i>{{ item['name'] }}</i>{% end %}
  <span>{{ format_price(item['price']) }}</span> {{ item['description'] }}
  </li>""",
    "page.html": """{% extends "base.html" %}
{% block title %}{{ title }}{% end %}
{% block content %}
<h2>{{ title }}</h2>
<ul class="items">
{% for item in items %}
  <li class="{{ 'odd' if item['id'] % 2 else 'even' }}">
  {% if item['active'] %}<b>{{ item['name'] }}</b>{% else %}<i>{{ item['name'] }}</i>{% end %}
  <span>{{ format_price(item['price']) }}</span> {{ item['description'] }}
  </li>
{% end %}
</ul>
{% end %}
""",
    "page_inc.html": """{% extends "base.html" %}
{% block title %}{{ title }}{% end %}
{% block content %}
<h2>{{ title }}</h2>
<ul class="items">
{% for item in items %}
  {% include "item.html" %}
{% end %}
</ul>
{% end %}
""",
    "bigtable.html": """<html><head><title>{{ title }}</title></head><body>
<ul class="nav">{% for href, caption in [('index.html', 'Home'), ('downloads.html', 'Downloads'), ('products.html', 'Products')] %}<li><a href="{{ href }}">{{ caption }}</a></li>{% end %}</ul>
<table>{% for row in table %}<tr>{% for cell in row.values() %}<td>{{ cell }}</td>{% end %}</tr>{% end %}</table>
</body></html>
""",
}

JINJA = {
    "base.html": """<!DOCTYPE html>
<html><head><title>{% block title %}Site{% endblock %}</title></head>
<body>
<div id="header">{% block header %}<h1>{{ site_name }}</h1>{% endblock %}</div>
<div id="content">{% block content %}{% endblock %}</div>
{% include "footer.html" %}
</body></html>
""",
    "footer.html": TORNADO["footer.html"],
    "item.html": """<li class="{{ 'odd' if item['id'] % 2 else 'even' }}">
  {% if item['active'] %}<b>{{ item['name'] }}</b>{% else %}<i>{{ item['name'] }}</i>{% endif %}
  <span>{{ format_price(item['price']) }}</span> {{ item['description'] }}
  </li>""",
    "page.html": """{% extends "base.html" %}
{% block title %}{{ title }}{% endblock %}
{% block content %}
<h2>{{ title }}</h2>
<ul class="items">
{% for item in items %}
  <li class="{{ 'odd' if item['id'] % 2 else 'even' }}">
  {% if item['active'] %}<b>{{ item['name'] }}</b>{% else %}<i>{{ item['name'] }}</i>{% endif %}
  <span>{{ format_price(item['price']) }}</span> {{ item['description'] }}
  </li>
{% endfor %}
</ul>
{% endblock %}
""",
    "page_inc.html": """{% extends "base.html" %}
{% block title %}{{ title }}{% endblock %}
{% block content %}
<h2>{{ title }}</h2>
<ul class="items">
{% for item in items %}
  {% include "item.html" %}
{% endfor %}
</ul>
{% endblock %}
""",
    "bigtable.html": """<html><head><title>{{ title }}</title></head><body>
<ul class="nav">{% for href, caption in [('index.html', 'Home'), ('downloads.html', 'Downloads'), ('products.html', 'Products')] %}<li><a href="{{ href }}">{{ caption }}</a></li>{% endfor %}</ul>
<table>{% for row in table %}<tr>{% for cell in row.values() %}<td>{{ cell }}</td>{% endfor %}</tr>{% endfor %}</table>
</body></html>
""",
}

MAKO = {
    "base.html": """<!DOCTYPE html>
<html><head><title><%block name="title_block">Site</%block></title></head>
<body>
<div id="header"><%block name="header"><h1>${site_name}</h1></%block></div>
<div id="content"><%block name="content"></%block></div>
<%include file="footer.html"/>
</body></html>
""",
    "footer.html": """<div id="footer">&copy; ${year} ${site_name}</div>""",
    "item.html": """<%page args="item"/><li class="${'odd' if item['id'] % 2 else 'even'}">
  % if item['active']:
<b>${item['name']}</b>
  % else:
<i>${item['name']}</i>
  % endif
  <span>${format_price(item['price'])}</span> ${item['description']}
  </li>""",
    "page.html": """<%inherit file="base.html"/>
<%block name="title_block">${title}</%block>
<%block name="content">
<h2>${title}</h2>
<ul class="items">
% for item in items:
  <li class="${'odd' if item['id'] % 2 else 'even'}">
  % if item['active']:
<b>${item['name']}</b>
  % else:
<i>${item['name']}</i>
  % endif
  <span>${format_price(item['price'])}</span> ${item['description']}
  </li>
% endfor
</ul>
</%block>
""",
    "page_inc.html": """<%inherit file="base.html"/>
<%block name="title_block">${title}</%block>
<%block name="content">
<h2>${title}</h2>
<ul class="items">
% for item in items:
  <%include file="item.html" args="item=item"/>
% endfor
</ul>
</%block>
""",
    "bigtable.html": """<html><head><title>${title}</title></head><body>
<ul class="nav">
% for href, caption in [('index.html', 'Home'), ('downloads.html', 'Downloads'), ('products.html', 'Products')]:
<li><a href="${href}">${caption}</a></li>
% endfor
</ul>
<table>
% for row in table:
<tr>
% for cell in row.values():
<td>${cell}</td>
% endfor
</tr>
% endfor
</table>
</body></html>
""",
}

# --------------------------------------------------------------------------
# Engines: each returns a render callable (str output) for a template name.

Renderer = Callable[[], str]


def tornado_loader() -> tornado.template.DictLoader:
    return tornado.template.DictLoader(TORNADO)


def squall_loader() -> squall.template.DictLoader:
    return squall.template.DictLoader(TORNADO)


def jinja_env() -> jinja2.Environment:
    return jinja2.Environment(loader=jinja2.DictLoader(JINJA), autoescape=True)


_MAKO_DIR = tempfile.mkdtemp(prefix="squall-bench-mako-")
for _name, _text in MAKO.items():
    with open(os.path.join(_MAKO_DIR, _name), "w", encoding="utf-8") as _f:
        _f.write(_text)


def mako_lookup() -> mako.lookup.TemplateLookup:
    # Templates on disk so that, like the others, mako compiles on demand.
    return mako.lookup.TemplateLookup(directories=[_MAKO_DIR], default_filters=["h"])


def renderer(engine: str, name: str, args: dict[str, Any]) -> Renderer:
    if engine == "squall":
        st = squall_loader().load(name)
        return lambda: st.generate(**args).decode()
    if engine == "tornado":
        tt = tornado_loader().load(name)
        return lambda: tt.generate(**args).decode()
    if engine == "jinja2":
        jt = jinja_env().get_template(name)
        return lambda: jt.render(**args)
    mt = mako_lookup().get_template(name)
    return lambda: mt.render(**args)


def compiler(engine: str) -> Callable[[], object]:
    """Compile page.html (with base.html and footer.html) from scratch."""
    if engine == "squall":
        return lambda: squall_loader().load("page.html")
    if engine == "tornado":
        return lambda: tornado_loader().load("page.html")
    if engine == "jinja2":
        return lambda: jinja_env().get_template("page.html")
    return lambda: mako_lookup().get_template("page.html")


ENGINES = ["squall", "tornado", "jinja2", "mako"]
CASES = [
    ("page: extends+blocks, 100-item loop, include", "page.html", PAGE_ARGS),
    ("page with include inside the loop", "page_inc.html", PAGE_ARGS),
    ("bigtable 1000x10 + nav", "bigtable.html", TABLE_ARGS),
]

# --------------------------------------------------------------------------
# Timing


def _normalise(text: str) -> str:
    return re.sub(r"\s+", "", text)


def measure(
    funcs: dict[str, Callable[[], object]], repeats: int, target: float
) -> dict[str, float]:
    """Median CPU microseconds per call for each engine.

    Each engine runs ``repeats`` batches of about ``target`` seconds; the
    batches are interleaved round-robin so that background load affects
    every engine alike.
    """
    numbers = {}
    for engine, func in funcs.items():
        func()
        start = time.process_time()
        func()
        one = max(time.process_time() - start, 1e-6)
        numbers[engine] = max(1, int(target / one))
    samples: dict[str, list[float]] = {engine: [] for engine in funcs}
    for _ in range(repeats):
        for engine, func in funcs.items():
            number = numbers[engine]
            start = time.process_time()
            for _ in range(number):
                func()
            samples[engine].append((time.process_time() - start) / number * 1e6)
    return {engine: statistics.median(values) for engine, values in samples.items()}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="fewer, shorter repeats")
    parser.add_argument(
        "--profile", action="store_true", help="cProfile squall on each case (and compile)"
    )
    parser.add_argument("--engines", default=",".join(ENGINES))
    options = parser.parse_args()
    engines = options.engines.split(",")
    repeats, target = (3, 0.1) if options.quick else (7, 0.3)

    results: dict[str, dict[str, float]] = {}
    for label, name, args in CASES:
        outputs = {engine: renderer(engine, name, args)() for engine in engines}
        reference = _normalise(outputs[engines[0]])
        for engine, output in outputs.items():
            if _normalise(output) != reference:
                print(f"OUTPUT MISMATCH in {label!r}: {engine} differs from {engines[0]}")
                print(output[:2000])
                print(outputs[engines[0]][:2000])
                return 1
        results[label] = measure(
            {engine: renderer(engine, name, args) for engine in engines}, repeats, target
        )
        if options.profile:
            import cProfile
            import pstats

            render = renderer("squall", name, args)
            profile = cProfile.Profile()
            profile.runcall(lambda: [render() for _ in range(50)])
            pstats.Stats(profile).sort_stats("tottime").print_stats(8)
    results["compile page.html+base+footer (fresh loader)"] = measure(
        {engine: compiler(engine) for engine in engines}, repeats, target
    )
    if options.profile:
        import cProfile
        import pstats

        compile_page = compiler("squall")
        profile = cProfile.Profile()
        profile.runcall(lambda: [compile_page() for _ in range(200)])
        pstats.Stats(profile).sort_stats("tottime").print_stats(12)

    print(f"Python {sys.version.split()[0]}; CPU µs per call, median of {repeats} repeats")
    print(f"tornado {tornado.version}, jinja2 {jinja2.__version__}, mako {mako.__version__}")
    header = f"{'case':48} " + " ".join(f"{e:>10}" for e in engines)
    header += "  " + " ".join(f"{'vs ' + e:>11}" for e in engines if e != "squall")
    print(header)
    print("-" * len(header))
    for label, row in results.items():
        line = f"{label:48} " + " ".join(f"{row[e]:10.1f}" for e in engines)
        if "squall" in row:
            line += "  " + " ".join(
                f"{row[e] / row['squall']:10.2f}x" for e in engines if e != "squall"
            )
        print(line)
    print("ratios: time of the other engine / time of squall (> 1 means squall is faster)")
    shutil.rmtree(_MAKO_DIR, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
