"""Parse tree to Python source, and source to a code object.

The generated function builds a list of ``str`` pieces and returns their
join; :meth:`Template.generate` encodes it once.  Choices made for speed,
at render time and at compile time (where :func:`compile` dominates, and
its cost grows with the number of AST nodes):

* the buffer, its bound ``append``/``extend``, the runtime helpers and the
  escape functions named by a plain identifier are parameters (fast locals
  that cost no statement to compile), passed in by ``Template.generate``;
* adjacent literal text is merged; a run of text and expressions between two
  statements becomes one ``extend`` of a tuple (never inside ``try``, where a
  partial run must stay visible to the ``except`` clause, as in Tornado);
* inside loops, autoescaped ``str`` values are escaped inline with
  ``str.replace`` when the escape function is
  :func:`squall.escape.xhtml_escape` (the choice is made once per render, so
  a namespace that replaces ``xhtml_escape`` still wins); any other value,
  ``__html__`` markup included, goes to the runtime helper; outside loops,
  where the code runs once, a helper call is cheaper to compile;
* includes, ``extends`` and blocks are inlined at compile time.

Every generated line carries the template location it came from; the code
object's line numbers are then rewritten to template lines (see
:mod:`._lines`), so tracebacks read ``File "page.html", line 12``.  Lines
from other files (includes, base templates) get "virtual" line numbers past
the end of the template; :class:`LineMap` turns any line back into a
location stack, from which a failed render's traceback gets one frame per
template (see :func:`._lines.stand_in_frames`).
"""

from __future__ import annotations

import re
from keyword import iskeyword
from types import CodeType
from typing import TYPE_CHECKING

from ._errors import ParseError, TemplateSyntaxError
from ._lines import Frame, LineMap, compile_relocated
from ._nodes import (
    Apply,
    Body,
    Comment,
    Control,
    Expression,
    File,
    Include,
    Intermediate,
    Module,
    NamedBlock,
    Node,
    Statement,
    Text,
)

if TYPE_CHECKING:
    from ._template import Template

__all__ = ["Compiled", "compile_template"]

_ESCAPE_CHAIN = (
    ".replace('&', '&amp;').replace('<', '&lt;').replace('>', '&gt;')"
    ".replace('\"', '&quot;').replace(\"'\", '&#x27;')"
)

FUNCTION_NAME = "_tt_execute"


class Compiled:
    """The result of compiling one template.

    ``escapes`` names the escape functions that :meth:`Template.generate`
    looks up and passes in (after the fixed arguments), in parameter order.
    """

    def __init__(
        self,
        source: str,
        module: CodeType,
        function: CodeType,
        lines: LineMap,
        escapes: tuple[str, ...],
    ) -> None:
        self.source = source
        self.module = module
        self.function = function
        self.lines = lines
        self.escapes = escapes


class _Piece:
    __slots__ = ("code", "const", "number")

    def __init__(self, code: str, const: str | None, number: int) -> None:
        self.code = code
        self.const = const
        self.number = number


class _Scope:
    """Per generated function: pending output pieces and ``try`` depth."""

    __slots__ = ("pending", "try_depth")

    def __init__(self) -> None:
        self.pending: list[_Piece] = []
        self.try_depth = 0


class _Generator:
    def __init__(self, template: Template, dynamic_escapes: frozenset[str]) -> None:
        self.template = template
        self.root = template.name
        self.lines: list[str] = []
        self.numbers: list[int] = []
        self.map = LineMap(template.name, template.file.source)
        self.escape_slots: dict[str, int] = {}
        self.dynamic = dynamic_escapes
        self.blocks: dict[str, NamedBlock] = {}
        self.block_files: dict[int, File] = {}
        self.apply_count = 0
        self.indent = 1
        # Loop nesting: the inline (fast, but slow to compile) forms of
        # expressions are only worth it for code that runs repeatedly.
        self.loops = 0
        self.scope = _Scope()
        self.expanding: list[str] = []
        # Statement texts (and walrus expressions): see _clashing().
        self.statements: list[str] = []

    # -- output ----------------------------------------------------------
    def emit(self, text: str, number: int, indent: int | None = None) -> None:
        pad = "    " * (self.indent if indent is None else indent)
        if "\n" not in text:
            self.lines.append(pad + text)
            self.numbers.append(number)
            return
        first, *rest = text.split("\n")
        self.lines.append(pad + first)
        self.numbers.append(number)
        for more in rest:
            self.lines.append(more)
            self.numbers.append(number)

    def flush(self) -> None:
        pending = self.scope.pending
        if not pending:
            return
        self.scope.pending = []
        if len(pending) == 1:
            piece = pending[0]
            self.emit(f"_tt_append({piece.code})", piece.number)
            return
        self.emit("_tt_extend((", pending[0].number)
        for piece in pending:
            self.emit(f"    {piece.code},", piece.number)
        self.emit("))", pending[-1].number)

    def add_text(self, value: str, number: int) -> None:
        pending = self.scope.pending
        if pending and pending[-1].const is not None:
            last = pending[-1]
            merged = last.const + value if last.const is not None else value
            last.const = merged
            last.code = repr(merged)
            return
        pending.append(_Piece(repr(value), value, number))

    def add_code(self, code: str, number: int) -> None:
        if self.scope.try_depth:
            # Output before a failing expression must reach the buffer.
            self.flush()
            self.scope.pending.append(_Piece(code, None, number))
            self.flush()
            return
        self.scope.pending.append(_Piece(code, None, number))

    # -- structure -------------------------------------------------------
    def generate(self) -> str:
        file = self.template.file
        chain = self.ancestors(file)
        for ancestor in reversed(chain):
            self.collect_blocks(ancestor, ancestor.body)
        top = chain[-1]
        context: tuple[Frame, ...] = ()
        for child in chain[:-1]:
            assert child.extends is not None
            context = (*context, ("extended by", child.name, child.extends.line))
        # Context frames are innermost first: reverse the chain of "extended by".
        context = tuple(reversed(context))
        body_lines_start = len(self.lines)
        self.body(top, top.body, context)
        self.flush()
        body = self.lines[body_lines_start:]
        body_numbers = self.numbers[body_lines_start:]
        self.lines = []
        self.numbers = []
        self.prologue()
        self.lines.extend(body)
        self.numbers.extend(body_numbers)
        self.emit("return _tt_join(_tt_buffer)", 1)
        return "\n".join(self.lines) + "\n"

    def passed_escapes(self) -> list[tuple[str, int]]:
        """Escape expressions looked up by the caller: plain names, not rebound."""
        return [
            (expression, slot)
            for expression, slot in self.escape_slots.items()
            if expression not in self.dynamic and _is_name(expression)
        ]

    def prologue(self) -> None:
        # The helpers, the output buffer and the escape functions named by a
        # plain identifier arrive as arguments (see Template.generate):
        # parameters cost nothing to compile, statements do.
        params = [*_FIXED_PARAMS]
        for _expression, slot in self.passed_escapes():
            params += [f"_tt_fs{slot}", f"_tt_xa{slot}"]
        self.emit(f"def {FUNCTION_NAME}({', '.join(params)}):", 1, 0)
        for expression, slot in self.escape_slots.items():
            if expression in self.dynamic or _is_name(expression):
                continue
            self.emit("try:", 1)
            self.emit(f"    _tt_fs{slot}, _tt_xa{slot} = _tt_escaper({expression})", 1)
            self.emit("except Exception as _tt_error:", 1)
            self.emit(f"    _tt_fs{slot}, _tt_xa{slot} = _tt_failed_escaper(_tt_error)", 1)

    def ancestors(self, file: File) -> list[File]:
        chain = [file]
        names = [file.name]
        while chain[-1].extends is not None:
            child = chain[-1]
            assert child.extends is not None
            parent = self.load(child.extends.name, child, child.extends.line, "extends")
            if parent.name in names:
                cycle = " -> ".join([*names, parent.name])
                raise ParseError(f"{{% extends %}} cycle: {cycle}", child.name, child.extends.line)
            names.append(parent.name)
            chain.append(parent)
        return chain

    def load(self, name: str, file: File, line: int, what: str) -> File:
        loader = self.template.loader
        if loader is None:
            raise ParseError(f"{{% {what} %}} found, but no template loader", file.name, line)
        return loader.load(name, file.name).file

    def collect_blocks(self, file: File, body: Body) -> None:
        for node in body.nodes:
            if isinstance(node, NamedBlock):
                self.blocks[node.name] = node
                self.block_files[id(node)] = file
                self.collect_blocks(file, node.body)
            elif isinstance(node, (Control, Apply)):
                self.collect_blocks(file, node.body)
            elif isinstance(node, Include):
                included = self.load(node.name, file, node.line, "include")
                if included.name in self.expanding:
                    continue
                self.expanding.append(included.name)
                self.collect_blocks(included, included.body)
                self.expanding.pop()

    def body(self, file: File, body: Body, context: tuple[Frame, ...]) -> None:
        for node in body.nodes:
            self.node(file, node, context)

    def node(self, file: File, node: Node, context: tuple[Frame, ...]) -> None:
        number = self.map.code_line(file, node.line, context)
        if isinstance(node, Text):
            self.add_text(node.value, number)
        elif isinstance(node, Expression):
            if ":=" in node.code:
                self.statements.append(node.code)
            if node.raw or not file.autoescape:
                self.add_code(self.raw(node.code), number)
            else:
                self.add_code(self.escaped(node.code, file.autoescape), number)
        elif isinstance(node, Module):
            self.add_code(self.raw("_tt_modules." + node.code), number)
        elif isinstance(node, Statement):
            self.flush()
            self.statements.append(node.code)
            self.emit(node.code, number)
        elif isinstance(node, Control):
            self.control(file, node, number, context)
        elif isinstance(node, Apply):
            self.apply(file, node, number, context)
        elif isinstance(node, NamedBlock):
            self.named_block(file, node, context)
        elif isinstance(node, Include):
            self.include(file, node, context)
        else:
            assert isinstance(node, (Comment, Intermediate))

    def control(self, file: File, node: Control, number: int, context: tuple[Frame, ...]) -> None:
        self.flush()
        op = node.code.partition(" ")[0]
        is_try = op == "try"
        is_loop = op in ("for", "while")
        if is_try:
            self.scope.try_depth += 1
        if is_loop:
            self.loops += 1
        self.statements.append(node.code)
        self.emit(node.code + ":", number)
        self.indent += 1
        mark = len(self.lines)
        for child in node.body.nodes:
            if isinstance(child, Intermediate):
                self.flush()
                if len(self.lines) == mark:
                    self.emit("pass", number)
                self.statements.append(child.code)
                child_number = self.map.code_line(file, child.line, context)
                self.emit(child.code + ":", child_number, self.indent - 1)
                mark = len(self.lines)
                number = child_number
            else:
                self.node(file, child, context)
        self.flush()
        if len(self.lines) == mark:
            self.emit("pass", number)
        self.indent -= 1
        if is_try:
            self.scope.try_depth -= 1
        if is_loop:
            self.loops -= 1

    def apply(self, file: File, node: Apply, number: int, context: tuple[Frame, ...]) -> None:
        self.flush()
        name = f"_tt_apply{self.apply_count}"
        self.apply_count += 1
        outer = self.scope
        self.scope = _Scope()
        self.emit(f"def {name}():", number)
        self.indent += 1
        self.emit("_tt_buffer = []", number)
        self.emit("_tt_append = _tt_buffer.append", number)
        self.emit("_tt_extend = _tt_buffer.extend", number)
        self.body(file, node.body, context)
        self.flush()
        self.emit("return _tt_join(_tt_buffer)", number)
        self.indent -= 1
        self.scope = outer
        self.add_code(f"_tt_apply_filter({node.func}, {name}())", number)

    def named_block(self, file: File, node: NamedBlock, context: tuple[Frame, ...]) -> None:
        chosen = self.blocks.get(node.name, node)
        chosen_file = self.block_files.get(id(chosen), file)
        key = f"block {node.name}"
        if key in self.expanding:
            raise ParseError(f"block {node.name!r} contains itself", file.name, node.line)
        self.expanding.append(key)
        if chosen is node:
            self.body(file, node.body, context)
        else:
            inner = (("in block " + repr(node.name) + " of", file.name, node.line), *context)
            self.body(chosen_file, chosen.body, inner)
        self.expanding.pop()

    def include(self, file: File, node: Include, context: tuple[Frame, ...]) -> None:
        included = self.load(node.name, file, node.line, "include")
        if included.name in self.expanding or included.name == self.root:
            raise ParseError(f"{included.name} includes itself", file.name, node.line)
        self.expanding.append(included.name)
        inner = (("included from", file.name, node.line), *context)
        self.body(included, included.body, inner)
        self.expanding.pop()

    # -- expressions -----------------------------------------------------
    @staticmethod
    def wrap(code: str) -> str:
        # A trailing comment in the expression must not swallow the ")".
        return f"({code}\n)" if "#" in code else f"({code})"

    # Outside loops an expression becomes a plain helper call; inside loops
    # the helper's fast path is written inline (no Python call for a str),
    # which renders faster but takes several times longer to compile.
    def raw(self, code: str) -> str:
        if not self.loops:
            return f"_tt_text({self.wrap(code)})"
        return f"(_tt_t if (_tt_t := {self.wrap(code)}).__class__ is _tt_str else _tt_text(_tt_t))"

    def escaped(self, code: str, escape: str) -> str:
        if escape in self.dynamic:
            # Evaluate the value first, then look the function up (Tornado's order).
            return f"(_tt_t := {self.wrap(code)}, _tt_escaper({escape})[1](_tt_t))[1]"
        slot = self.escape_slots.setdefault(escape, len(self.escape_slots))
        if not self.loops:
            return f"_tt_xa{slot}({self.wrap(code)})"
        return (
            f"(_tt_t{_ESCAPE_CHAIN} if (_tt_t := {self.wrap(code)}).__class__ is _tt_fs{slot}"
            f" else _tt_xa{slot}(_tt_t))"
        )


_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")

# Parameters of the generated function, before the escape functions; the
# values come from Template.generate, in this order.
_FIXED_PARAMS = ("_tt_buffer", "_tt_append", "_tt_extend", "_tt_str", "_tt_text", "_tt_join")


def _is_name(expression: str) -> bool:
    return (
        expression.isidentifier()
        and not iskeyword(expression)
        and not expression.startswith("_tt_")
    )


def _syntax_error(error: SyntaxError, gen: _Generator) -> TemplateSyntaxError:
    number = error.lineno or 1
    number = gen.numbers[number - 1] if 0 < number <= len(gen.numbers) else 1
    location = gen.map.location(number)
    name, line = (location[0][1], location[0][2]) if location else (gen.root, 1)
    message = error.msg or "invalid syntax"
    return TemplateSyntaxError(message, name, line)


def _clashing(gen: _Generator) -> frozenset[str]:
    """Escape expressions whose names the template itself (re)binds.

    Such an escape function must be looked up at each expression, as
    Tornado does, not once per render.  The test is textual and errs on the
    side of the slow path: any statement mentioning the name counts.
    """
    if not gen.escape_slots or not gen.statements:
        return frozenset()
    mentioned = set(_IDENTIFIER.findall("\n".join(gen.statements)))
    return frozenset(
        expression
        for expression in gen.escape_slots
        if mentioned.intersection(_IDENTIFIER.findall(expression))
    )


def compile_template(template: Template, filename: str) -> Compiled:
    """Generate and compile the code of ``template`` (its includes inlined).

    :raises ParseError: for structural errors, :class:`TemplateSyntaxError`
        for invalid Python inside the template, both naming template and line.
    """
    gen = _Generator(template, frozenset())
    source = gen.generate()
    dynamic = _clashing(gen)
    if dynamic:
        gen = _Generator(template, dynamic)
        source = gen.generate()
    try:
        module = compile_relocated(source, filename, gen.numbers)
    except SyntaxError as error:
        raise _syntax_error(error, gen) from None
    function = next(
        const
        for const in module.co_consts
        if isinstance(const, CodeType) and const.co_name == FUNCTION_NAME
    )
    escapes = tuple(expression for expression, _slot in gen.passed_escapes())
    return Compiled(source, module, function, gen.map, escapes)
