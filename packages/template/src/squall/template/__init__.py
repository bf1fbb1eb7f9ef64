"""Templates compiled to Python functions, with the API of ``tornado.template``.

A :class:`Template` turns its text into Python code once; every call of
:meth:`Template.generate` runs that code with the keyword arguments as
variables and returns UTF-8 bytes::

    from squall import template

    greeting = template.Template("<p>{{ greeting }}, {{ name }}!</p>")
    greeting.generate(greeting="Hello", name="<you>")  # b'<p>Hello, &lt;you&gt;!</p>'

Templates that use ``{% extends %}`` or ``{% include %}`` need a loader,
which also keeps each template it compiles for reuse: :class:`Loader`
reads files below one directory, :class:`DictLoader` takes the sources
from a dict::

    loader = template.Loader("templates")
    loader.load("index.html").generate(items=[1, 2, 3])

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
