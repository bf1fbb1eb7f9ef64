"""Template text to parse tree.

One pass over the source, one regular-expression search per tag: literal
text, ``{{ expr }}``, ``{% directive %}`` and ``{# comment #}``.  Block
structure is checked here (``{% end %}`` matching, ``else`` placement,
``break`` outside loops) so that errors name the template and line; Python
syntax inside directives is checked when the generated code is compiled.
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
    """Return ``text`` with its whitespace treated the way ``mode`` says.

    ``mode`` is one of:

    * ``"all"``: the text comes back untouched.
    * ``"single"``: each run of spaces and tabs shrinks to one space, and
      each run of whitespace that holds a line break to one newline.
    * ``"oneline"``: each run of whitespace, line breaks included, becomes
      one space.

    :raises ValueError: for any other mode (Tornado raises a bare
        :class:`Exception` with the same message).
    """
    if mode == "all":
        return text
    if mode == "single":
        if "\n" not in text and "\t" not in text and "  " not in text:
            return text  # nothing to collapse (the common short chunk)
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

# One search finds the next tag and its end: the first alternative that
# matches at the leftmost "{{", "{%" or "{#" names what it is.  A closer is
# the first one after the opener, as with str.find.
_TAG = re.compile(
    r"\{[{%#](!)"  # 1: escaped opener, emitted literally
    r"|\{\{(.*?)\}\}"  # 2: expression
    r"|\{%(.*?)%\}"  # 3: directive
    r"|\{#.*?(#)\}"  # 4: comment
    r"|\{([{%#])",  # 5: opener without a closer
    re.DOTALL,
)
_ESCAPED, _EXPRESSION, _DIRECTIVE, _COMMENT, _UNCLOSED = 1, 2, 3, 4, 5
_MISSING_END = {
    "{": "Missing end expression }}",
    "%": "Missing end block %}",
    "#": "Missing end comment #}",
}


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
    search = _TAG.search
    mode = whitespace

    def add_text(chunk: str, at: int) -> None:
        if mode != "all" and "<pre>" not in chunk:
            chunk = filter_whitespace(mode, chunk)
        if chunk:
            stack[-1].body.nodes.append(Text(at, chunk))

    def fail(message: str, at: int) -> ParseError:
        return ParseError(message, name, at)

    while True:
        match = search(source, pos)
        if match is None:
            if pos < length:
                add_text(source[pos:], line)
            break
        start = match.start()
        text_line = line
        line += source.count("\n", pos, start)
        # Every alternative captures a group: the last one names the kind.
        group = match.lastindex or _UNCLOSED
        if group == _ESCAPED:
            # "{{!", "{%!" and "{#!" emit the opener literally.
            add_text(source[pos : start + 2], text_line)
            pos = start + 3
            continue
        if start > pos:
            add_text(source[pos:start], text_line)
        tag_line = line
        end = match.end()
        pos = end
        if group == _COMMENT:
            stack[-1].body.nodes.append(Comment(tag_line))
            line += source.count("\n", start, end)
            continue
        if group == _UNCLOSED:
            raise fail(_MISSING_END[match[_UNCLOSED]], tag_line)
        contents = match[group].strip()
        line += source.count("\n", start, end)
        if group == _EXPRESSION:
            if not contents:
                raise fail("Empty expression", tag_line)
            stack[-1].body.nodes.append(Expression(tag_line, contents))
            continue
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
