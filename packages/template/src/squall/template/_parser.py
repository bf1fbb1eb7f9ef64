"""Template text to parse tree.

One pass over the source with ``str.find``: literal text, ``{{ expr }}``,
``{% directive %}`` and ``{# comment #}``.  Block structure is checked here
(``{% end %}`` matching, ``else`` placement, ``break`` outside loops) so that
errors name the template and line; Python syntax inside directives is checked
when the generated code is compiled.
"""

from __future__ import annotations

import re

from ._errors import ParseError, TemplateSyntaxError
from ._nodes import (
    Apply,
    Body,
    Comment,
    Control,
    Expression,
    Extends,
    File,
    Include,
    Intermediate,
    Module,
    NamedBlock,
    Node,
    Statement,
    Text,
)

__all__ = ["filter_whitespace", "parse"]

_SPACES_OR_TABS = re.compile(r"[\t ]+")
_AROUND_NEWLINE = re.compile(r"\s*\n\s*")
_ANY_WHITESPACE = re.compile(r"\s+")

_WHITESPACE_MODES = ("all", "single", "oneline")


def filter_whitespace(mode: str, text: str) -> str:
    """Transform whitespace in ``text`` according to ``mode``.

    Available modes are:

    * ``all``: return all whitespace unmodified.
    * ``single``: collapse consecutive whitespace with a single whitespace
      character, preserving newlines.
    * ``oneline``: collapse all runs of whitespace into a single space
      character, removing all newlines in the process.

    :raises ValueError: for any other mode (Tornado raises a bare
        :class:`Exception` with the same message).
    """
    if mode == "all":
        return text
    if mode == "single":
        text = _SPACES_OR_TABS.sub(" ", text)
        return _AROUND_NEWLINE.sub("\n", text)
    if mode == "oneline":
        return _ANY_WHITESPACE.sub(" ", text)
    raise ValueError(f"invalid whitespace mode {mode}")


# Directives that open a block closed by {% end %}.
_CONTROL_OPS = frozenset({"if", "for", "while", "try"})
# Clause -> the block kinds it may continue (Tornado's rules).
_INTERMEDIATE_OPS: dict[str, tuple[str, ...]] = {
    "else": ("for", "if", "while", "try"),
    "elif": ("if",),
    "except": ("try",),
    "finally": ("try",),
}
_LOOP_OPS = ("for", "while")


class _Frame:
    """An open block while parsing: its kind, body, start line, loop state."""

    __slots__ = ("body", "in_loop", "line", "op")

    def __init__(self, op: str, body: Body, line: int, in_loop: bool) -> None:
        self.op = op
        self.body = body
        self.line = line
        self.in_loop = in_loop


def _set_repr(ops: tuple[str, ...]) -> str:
    return "{" + ", ".join(repr(op) for op in ops) + "}"


def parse(source: str, name: str, whitespace: str, autoescape: str | None) -> File:
    """Parse ``source`` (the template named ``name``) into a :class:`File`.

    ``whitespace`` is the initial whitespace mode (``{% whitespace %}``
    changes it for the text that follows); ``autoescape`` the default escape
    function name, overridden file-wide by ``{% autoescape %}``.

    :raises ParseError: with the template name and line of the problem.
    """
    root = Body()
    file = File(name=name, body=root, autoescape=autoescape, source=source)
    stack: list[_Frame] = [_Frame("", root, 1, False)]
    pos = 0
    line = 1
    length = len(source)
    find = source.find
    mode = whitespace

    def add_text(chunk: str, at: int) -> None:
        if mode != "all" and "<pre>" not in chunk:
            chunk = filter_whitespace(mode, chunk)
        if chunk:
            stack[-1].body.nodes.append(Text(at, chunk))

    def fail(message: str, at: int) -> ParseError:
        return ParseError(message, name, at)

    while True:
        # Find the next "{{", "{%" or "{#".
        scan = pos
        start = -1
        while True:
            start = find("{", scan)
            if start == -1 or start + 1 >= length:
                start = -1
                break
            if source[start + 1] in "{%#":
                break
            scan = start + 1
        if start == -1:
            if pos < length:
                add_text(source[pos:], line)
            break
        text_line = line
        line += source.count("\n", pos, start)
        if source.startswith("!", start + 2):
            # "{{!", "{%!" and "{#!" emit the opener literally.
            add_text(source[pos : start + 2], text_line)
            pos = start + 3
            continue
        if start > pos:
            add_text(source[pos:start], text_line)
        kind = source[start + 1]
        tag_line = line
        if kind == "#":
            end = find("#}", start + 2)
            if end == -1:
                raise fail("Missing end comment #}", tag_line)
            stack[-1].body.nodes.append(Comment(tag_line))
            line += source.count("\n", start, end)
            pos = end + 2
            continue
        if kind == "{":
            end = find("}}", start + 2)
            if end == -1:
                raise fail("Missing end expression }}", tag_line)
            contents = source[start + 2 : end].strip()
            line += source.count("\n", start, end)
            pos = end + 2
            if not contents:
                raise fail("Empty expression", tag_line)
            stack[-1].body.nodes.append(Expression(tag_line, contents))
            continue
        end = find("%}", start + 2)
        if end == -1:
            raise fail("Missing end block %}", tag_line)
        contents = source[start + 2 : end].strip()
        line += source.count("\n", start, end)
        pos = end + 2
        if not contents:
            raise fail("Empty block tag ({% %})", tag_line)
        op, _, suffix = contents.partition(" ")
        suffix = suffix.strip()
        frame = stack[-1]
        nodes = frame.body.nodes
        node: Node

        if op in _INTERMEDIATE_OPS:
            allowed = _INTERMEDIATE_OPS[op]
            if len(stack) == 1:
                raise fail(f"{op} outside {_set_repr(allowed)} block", tag_line)
            if frame.op not in allowed:
                raise fail(f"{op} block cannot be attached to {frame.op} block", tag_line)
            nodes.append(Intermediate(tag_line, contents))
            continue
        if op == "end":
            if len(stack) == 1:
                raise fail("Extra {% end %} block", tag_line)
            stack.pop()
            continue
        if op in ("extends", "include"):
            target = suffix.strip("\"'")
            if not target:
                raise fail(f"{op} missing file path", tag_line)
            if op == "include":
                nodes.append(Include(tag_line, target))
                continue
            if len(stack) != 1:
                raise fail("{% extends %} must be at the top level of the template", tag_line)
            file.extends = Extends(tag_line, target)
            continue
        if op == "comment":
            nodes.append(Comment(tag_line))
            continue
        if op == "autoescape":
            file.autoescape = None if suffix in ("None", "") else suffix
            continue
        if op == "whitespace":
            if suffix not in _WHITESPACE_MODES:
                raise fail(f"invalid whitespace mode {suffix}", tag_line)
            mode = suffix
            continue
        if op in ("set", "import", "from"):
            if not suffix:
                raise fail(f"{'set' if op == 'set' else 'import'} missing statement", tag_line)
            nodes.append(Statement(tag_line, suffix if op == "set" else contents))
            continue
        if op in ("raw", "module"):
            if not suffix:
                raise TemplateSyntaxError(f"{op} missing expression", name, tag_line)
            node = (
                Expression(tag_line, suffix, raw=True) if op == "raw" else Module(tag_line, suffix)
            )
            nodes.append(node)
            continue
        if op in ("break", "continue"):
            if not frame.in_loop:
                raise fail(f"{op} outside {_set_repr(_LOOP_OPS)} block", tag_line)
            nodes.append(Statement(tag_line, op))
            continue
        body = Body()
        if op in _CONTROL_OPS:
            node = Control(tag_line, contents, body)
            in_loop = frame.in_loop or op in _LOOP_OPS
        elif op == "apply":
            if not suffix:
                raise fail("apply missing method name", tag_line)
            # The body becomes a nested function: break/continue can't cross it.
            node = Apply(tag_line, suffix, body)
            in_loop = False
        elif op == "block":
            if not suffix:
                raise fail("block missing name", tag_line)
            node = NamedBlock(tag_line, suffix, body, name)
            in_loop = frame.in_loop
        else:
            raise fail(f"unknown operator: {op!r}", tag_line)
        nodes.append(node)
        stack.append(_Frame(op, body, tag_line, in_loop))

    if len(stack) > 1:
        frame = stack[-1]
        raise fail(f"Missing {{% end %}} block for {frame.op}", frame.line)
    return file
