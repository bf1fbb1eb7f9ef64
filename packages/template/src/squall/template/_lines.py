"""Line numbers: from generated Python lines to template lines.

Every line of generated code comes from one template location.  The
compiled code object must report *template* lines (so tracebacks read
``File "page.html", line 12``), which this module arranges in one of two
ways:

* CPython 3.11+: compile the generated source as is, then rewrite each code
  object's location table (the format documented in CPython's
  ``Objects/locations.md``) with the template lines and no column data.
  This costs a fraction of a compile.
* otherwise: parse to an AST, renumber every node, compile the AST.

Lines from files other than the compiled template (includes, base
templates) get "virtual" numbers past the template's last line; the text
registered in :mod:`linecache` shows the right source there, and
:class:`LineMap` turns a number back into the full location stack.

Tracebacks must not show those virtual numbers: when an error escapes a
render, :func:`stand_in_frames` builds one real frame per template of the
location stack (outermost first), each compiled under that template's own
file name and line, to take the place of the compiled code's frame.
"""

from __future__ import annotations

import ast
import sys
from types import CodeType, FrameType, TracebackType
from typing import Any

from ._nodes import File

__all__ = [
    "Frame",
    "LineMap",
    "Location",
    "code_filename",
    "compile_relocated",
    "split_lines",
    "stand_in_frames",
]

# One frame of a template location: (how we got here, template name, line).
# The first frame's "how" is "".  Later frames name the directive that led
# to the previous one ("included from", "extended by", "in block 'x' of").
Frame = tuple[str, str, int]
Location = tuple[Frame, ...]


def split_lines(text: str) -> list[str]:
    """``text`` as lines that each end with ``"\\n"`` (at least one line).

    Only ``"\\n"`` ends a line, as when template lines are counted:
    :meth:`str.splitlines` would also split at ``"\\f"``, ``"\\r"``,
    ``"\\u2028"`` and the like, and shift every later line.
    """
    parts = text.split("\n")
    if len(parts) > 1 and not parts[-1]:
        parts.pop()
    return [part + "\n" for part in parts]


class LineMap:
    """Maps line numbers of the compiled code back to template locations."""

    def __init__(self, root: str, root_source: str) -> None:
        self.root = root
        self.lines: list[str] = split_lines(root_source)
        #: The text of every template the compiled code draws from, by name.
        self.sources: dict[str, str] = {root: root_source}
        self.segments: dict[tuple[str, Location], int] = {}
        self.info: dict[int, Location] = {}

    def code_line(self, file: File, line: int, context: Location) -> int:
        """The line number the compiled code uses for ``file:line`` in ``context``."""
        if file.name == self.root:
            # The template itself keeps its real line numbers (its block
            # overrides too, when it extends another template).
            number = line
        else:
            key = (file.name, context)
            offset = self.segments.get(key)
            if offset is None:
                offset = len(self.lines)
                self.segments[key] = offset
                self.lines.extend(split_lines(file.source))
                self.sources.setdefault(file.name, file.source)
            number = offset + line
        if number not in self.info:
            self.info[number] = (("", file.name, line), *context)
        return number

    def location(self, number: int) -> Location | None:
        """The template location stack of compiled line ``number``."""
        return self.info.get(number)

    def source(self) -> str:
        """Root template text followed by every inlined segment (linecache)."""
        return "".join(self.lines)


# -- CPython 3.11+ location tables -------------------------------------------

_NO_COLUMNS = 13
_NO_LOCATION = 15


def _write_varint(out: bytearray, value: int) -> None:
    while value >= 64:
        out.append(0x40 | (value & 63))
        value >>= 6
    out.append(value)


def _write_svarint(out: bytearray, value: int) -> None:
    _write_varint(out, ((-value) << 1) | 1 if value < 0 else value << 1)


_SAME_LINE_8 = bytes((0x80 | (_NO_COLUMNS << 3) | 7, 0))
_NO_LOCATION_8 = bytes((0x80 | (_NO_LOCATION << 3) | 7,))


def _emit(out: bytearray, units: int, line: int | None, previous: int) -> int:
    """Append entries covering ``units`` code units on ``line``; new previous."""
    if line is None:
        full, rest = divmod(units, 8)
        out += _NO_LOCATION_8 * full
        if rest:
            out.append(0x80 | (_NO_LOCATION << 3) | (rest - 1))
        return previous
    # The first entry carries the line delta, the others repeat the line.
    length = units if units < 8 else 8
    out.append(0x80 | (_NO_COLUMNS << 3) | (length - 1))
    _write_svarint(out, line - previous)
    full, rest = divmod(units - length, 8)
    out += _SAME_LINE_8 * full
    if rest:
        out.append(0x80 | (_NO_COLUMNS << 3) | (rest - 1))
        out.append(0)
    return line


class _LineTable(dict[int | None, int | None]):
    """Generated line -> template line (``None`` for no line).

    A line past the end maps to the last template line.
    """

    __slots__ = ("last",)

    def __init__(self, numbers: list[int]) -> None:
        super().__init__(enumerate(numbers, 1))
        self[None] = None
        self.last = numbers[-1] if numbers else 1

    def __missing__(self, line: int | None) -> int | None:
        return self.last if line is not None and line >= 1 else None


def _location_table(code: CodeType, table: _LineTable, first: int) -> bytes:
    """A 3.11+ location table for ``code`` with lines mapped through ``table``.

    Built from ``co_lines()``, whose ranges are contiguous: consecutive
    ranges that map to the same template line form one run, written as "no
    column" entries of at most 8 code units each.
    """
    out = bytearray()
    previous = first
    run_line: int | None = None
    run_start = 0
    end = 0
    mapped = table.__getitem__
    for start, end, line in code.co_lines():  # noqa: B007 - the last end is used below
        new = mapped(line)
        if new != run_line:
            if start:
                previous = _emit(out, (start - run_start) >> 1, run_line, previous)
            run_line = new
            run_start = start
    if end:
        _emit(out, (end - run_start) >> 1, run_line, previous)
    return bytes(out)


def _relocate(code: CodeType, table: _LineTable) -> CodeType:
    first = table.get(code.co_firstlineno) or 1
    consts = code.co_consts
    if CodeType in map(type, consts):
        consts = tuple(
            _relocate(const, table) if isinstance(const, CodeType) else const for const in consts
        )
    return code.replace(
        co_firstlineno=first,
        co_linetable=_location_table(code, table, first),
        co_consts=consts,
    )


def _compile_via_ast(source: str, filename: str, numbers: list[int]) -> CodeType:
    tree = ast.parse(source, filename)
    for node in ast.walk(tree):
        line = getattr(node, "lineno", None)
        if line is None:
            continue
        end = getattr(node, "end_lineno", None) or line
        start = numbers[line - 1]
        stop = numbers[end - 1]
        node.lineno = start  # type: ignore[attr-defined]
        node.end_lineno = stop if stop >= start else start  # type: ignore[attr-defined]
        # Columns refer to the generated code, not the template: drop them
        # so tracebacks don't underline the wrong characters.
        node.col_offset = -1  # type: ignore[attr-defined]
        node.end_col_offset = -1  # type: ignore[attr-defined]
    return compile(tree, filename, "exec", dont_inherit=True)


_FAST = sys.version_info >= (3, 11) and sys.implementation.name == "cpython"


def compile_relocated(source: str, filename: str, numbers: list[int]) -> CodeType:
    """Compile ``source``; generated line ``i`` reports line ``numbers[i - 1]``.

    :raises SyntaxError: with the *generated* line number.
    """
    module = compile(source, filename, "exec", dont_inherit=True)
    if _FAST:
        try:
            return _relocate(module, _LineTable(numbers))
        except (ValueError, TypeError):  # pragma: no cover - unknown format
            pass
    return _compile_via_ast(source, filename, numbers)  # pragma: no cover - 3.10


def code_filename(name: str) -> str:
    """The ``co_filename`` (and :mod:`linecache` key) of template ``name``.

    ``"<string>"`` is what exec() uses for anonymous code: registering our
    source under that name would mislabel other tracebacks.
    """
    if name.startswith("<") and name.endswith(">"):
        return f"<template {name}>"
    return name


# -- stand-in frames -----------------------------------------------------------

# A module body that fails at once, with no name lookups; a copy renamed and
# moved to a template line yields a frame that reads as that line.
_STAND_IN = compile("0 / 0\n", "<template>", "exec", dont_inherit=True)
if _FAST:
    # No columns: the traceback would underline template text otherwise.
    _STAND_IN = _relocate(_STAND_IN, _LineTable([1]))


def _stand_in(
    filename: str, line: int, function: str, namespace: dict[str, Any], variables: dict[str, Any]
) -> tuple[FrameType, int]:
    """A finished frame of code named ``filename``, stopped at ``line``; and its lasti."""
    names: dict[str, Any] = {"co_filename": filename, "co_firstlineno": line, "co_name": function}
    if sys.version_info >= (3, 11):
        names["co_qualname"] = function
    try:
        exec(_STAND_IN.replace(**names), namespace, variables)
    except ZeroDivisionError as error:
        failed = error.__traceback__
        assert failed is not None and failed.tb_next is not None
        entry = failed.tb_next
        return entry.tb_frame, entry.tb_lasti
    raise AssertionError("stand-in code did not fail")  # pragma: no cover


def stand_in_frames(
    location: Location,
    frame: FrameType,
    rest: TracebackType | None,
    sources: dict[str, str],
    make_loader: Any,
) -> tuple[TracebackType, TracebackType]:
    """Traceback entries for ``location`` (outermost first), followed by ``rest``.

    Each entry's frame runs under the template's own file name at its real
    line, sees the variables ``frame`` held and a copy of its globals whose
    ``__loader__`` (from ``make_loader(text)``) serves that template's text.
    Returns the first and the last of the new entries.
    """
    variables = dict(frame.f_locals)
    function = frame.f_code.co_name
    link = rest
    last: TracebackType | None = None
    for _how, name, line in location:
        text = sources.get(name, "")
        namespace = {**frame.f_globals, "__loader__": make_loader(text)}
        stand_in, lasti = _stand_in(code_filename(name), line, function, namespace, variables)
        link = TracebackType(link, stand_in, lasti, line)
        if last is None:
            last = link
    assert link is not None and last is not None
    return link, last
