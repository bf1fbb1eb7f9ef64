"""The parse tree of one template file.

The parser turns template text into these small immutable-ish nodes; the code
generator walks them.  Every node remembers the line it came from so that
errors (at parse time and at render time) can name the template line.
"""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = [
    "Apply",
    "Body",
    "Comment",
    "Control",
    "Expression",
    "Extends",
    "File",
    "Include",
    "Intermediate",
    "Module",
    "NamedBlock",
    "Node",
    "Statement",
    "Text",
]


@dataclass(slots=True)
class Node:
    """Base class: a piece of a template that starts on ``line``."""

    line: int


@dataclass(slots=True)
class Text(Node):
    """Literal text, already whitespace-filtered by the mode in force."""

    value: str


@dataclass(slots=True)
class Comment(Node):
    """A ``{# ... #}`` or ``{% comment %}``; renders nothing."""


@dataclass(slots=True)
class Expression(Node):
    """``{{ expr }}`` (``raw=False``) or ``{% raw expr %}`` (``raw=True``)."""

    code: str
    raw: bool = False


@dataclass(slots=True)
class Module(Node):
    """``{% module expr %}``: renders ``_tt_modules.expr`` unescaped."""

    code: str


@dataclass(slots=True)
class Statement(Node):
    """A Python statement: set, import, from, break, continue."""

    code: str


@dataclass(slots=True)
class Body:
    """A sequence of nodes (the inside of a file or block)."""

    nodes: list[Node] = field(default_factory=list)


@dataclass(slots=True)
class Intermediate(Node):
    """``{% else %}``, ``{% elif x %}``, ``{% except %}``, ``{% finally %}``."""

    code: str


@dataclass(slots=True)
class Control(Node):
    """if/for/while/try: ``code`` is the header (``if x``), ``body`` its nodes.

    Intermediate clauses appear inside ``body`` as :class:`Intermediate` nodes.
    """

    code: str
    body: Body


@dataclass(slots=True)
class Apply(Node):
    """``{% apply func %}...{% end %}``: ``func`` applied to the rendered body."""

    func: str
    body: Body


@dataclass(slots=True)
class NamedBlock(Node):
    """``{% block name %}...{% end %}``: replaceable by templates that extend."""

    name: str
    body: Body
    template_name: str


@dataclass(slots=True)
class Include(Node):
    """``{% include "name" %}``: another template's body, inlined."""

    name: str


@dataclass(slots=True)
class Extends(Node):
    """``{% extends "name" %}``: this template fills the blocks of ``name``."""

    name: str


@dataclass(slots=True)
class File:
    """A parsed template file.

    ``autoescape`` is the file-wide escape function name (the last
    ``{% autoescape %}`` directive wins, as in Tornado), or None.
    """

    name: str
    body: Body
    autoescape: str | None
    source: str
    extends: Extends | None = None
