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

from types import FunctionType

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


def _publish() -> None:
    # Report public classes and functions under this package rather than the
    # private module that defines them: clearer reprs and tracebacks, and
    # pickles that name the public path.
    for name in __all__:
        obj = globals()[name]
        if isinstance(obj, (type, FunctionType)) and obj.__module__.startswith(__name__ + "._"):
            obj.__module__ = __name__


_publish()
