"""A simple template system that compiles templates to Python code.

This is the API of ``tornado.template``.  Basic usage looks like::

    t = template.Template("<html>{{ myvalue }}</html>")
    print(t.generate(myvalue="XXX"))

:class:`Loader` is a class that loads templates from a root directory and
caches the compiled templates::

    loader = template.Loader("/home/btaylor")
    print(loader.load("test.html").generate(myvalue="XXX"))

Templates support ``{{ expr }}``, ``{% raw expr %}``, ``{% if %}``,
``{% for %}``, ``{% while %}``, ``{% try %}`` (all closed by ``{% end %}``),
``{% set %}``, ``{% import %}``, ``{% from %}``, ``{% extends %}`` with
``{% block %}``, ``{% include %}``, ``{% apply %}``, ``{% autoescape %}``,
``{% module %}``, ``{% comment %}``, ``{# ... #}``, ``{% whitespace %}`` and
the literal escapes ``{{!``, ``{%!`` and ``{#!``.
"""

from __future__ import annotations

from ._errors import ParseError
from ._loader import BaseLoader, DictLoader, Loader
from ._parser import filter_whitespace
from ._template import _DEFAULT_AUTOESCAPE, _UNSET, Template

__all__ = [
    "_DEFAULT_AUTOESCAPE",
    "_UNSET",
    "BaseLoader",
    "DictLoader",
    "Loader",
    "ParseError",
    "Template",
    "filter_whitespace",
]
