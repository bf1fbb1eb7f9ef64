"""The :class:`Template` class: compile once, render many times.

Rendering is thread-safe and re-entrant: a template's compiled code is shared
and immutable; each :meth:`Template.generate` call builds its own namespace
dict and function object and touches no other state.
"""

from __future__ import annotations

import builtins
import linecache
import sys
from collections.abc import Callable, Iterator
from types import CodeType, FunctionType, TracebackType
from typing import TYPE_CHECKING, Any

from squall.escape import to_unicode

from ._codegen import compile_template
from ._lines import Location, code_filename, stand_in_frames
from ._parser import filter_whitespace, parse
from ._runtime import (
    ENCODING_ERRORS,
    NeverStr,
    apply_filter,
    default_namespace,
    escaper,
    to_text,
)

if TYPE_CHECKING:
    from ._loader import BaseLoader

__all__ = ["_DEFAULT_AUTOESCAPE", "_UNSET", "Template"]

_DEFAULT_AUTOESCAPE = "xhtml_escape"


class _UnsetMarker:
    """Type of :data:`_UNSET`, the "argument not given" marker."""

    def __repr__(self) -> str:
        return "_UNSET"


_UNSET: Any = _UnsetMarker()


class _SourceLoader:
    """``__loader__`` for template namespaces: lets linecache find the source."""

    __slots__ = ("_text",)

    def __init__(self, text: Callable[[], str]) -> None:
        self._text = text

    def get_source(self, name: str) -> str:
        return self._text()


def _text_loader(text: str) -> _SourceLoader:
    return _SourceLoader(lambda: text)


def _code_objects(code: CodeType) -> Iterator[CodeType]:
    """``code`` and every code object nested in it (``{% apply %}`` bodies)."""
    yield code
    for const in code.co_consts:
        if isinstance(const, CodeType):
            yield from _code_objects(const)


def _failed_escaper(error: BaseException) -> tuple[type, Any]:
    # The escape function could not be looked up when rendering started;
    # Tornado looks it up at each expression, so fail there, not earlier.
    def escape(value: Any) -> str:
        raise error

    return NeverStr, escape


def _escape_functions(name: str, namespace: dict[str, Any]) -> tuple[type, Any]:
    """The ``(fast_class, slow_escape)`` pair for escape function ``name``.

    Does what the generated code would do by evaluating ``name`` in the
    template's globals, minus the compile: a dict lookup, and only for
    builtins or a missing name an ``eval`` (which raises the same error).
    """
    try:
        func = namespace[name]
    except KeyError:
        try:
            func = eval(name, namespace)
        except Exception as error:
            return _failed_escaper(error)
    return escaper(func)


_HELPERS: dict[str, Any] = {
    "_tt_escaper": escaper,
    "_tt_failed_escaper": _failed_escaper,
    "_tt_apply_filter": apply_filter,
}

# What every template namespace starts with (each template gets a copy).
_SHARED_NAMESPACE: dict[str, Any] = {
    **default_namespace(),
    # Code that imports at run time (datetime.strftime, __import__)
    # looks builtins up in its frame's globals: they must be there.
    "__builtins__": builtins,
    **_HELPERS,
}


def _describe(location: Location, source_line: Any) -> str:
    first, *rest = location
    lines = [f'template "{first[1]}", line {first[2]}']
    text = source_line(first[1], first[2])
    if text:
        lines[0] += f": {text}"
    lines.extend(f"  {how} {name}, line {line}" for how, name, line in rest)
    return "\n".join(lines)


class Template:
    """A template turned into Python code, ready to render.

    The text is parsed and compiled when the object is created, so errors in
    it surface here; :meth:`generate` then renders it any number of times.

    :arg str template_string: the template text, as ``str`` or UTF-8
        ``bytes``.
    :arg str name: where the text came from, usually a file name; error
        messages and tracebacks show it.  Names ending in ``.html`` or
        ``.js`` default to ``whitespace="single"``.
    :arg loader: the :class:`~squall.template.BaseLoader` this template
        belongs to.  It finds the templates named by ``{% include %}`` and
        ``{% extends %}`` and provides default ``autoescape``,
        ``namespace`` and ``whitespace`` settings.
    :arg bool compress_whitespace: the old way (deprecated in Tornado 4.3)
        to choose a whitespace mode: true stands for ``"single"``, false for
        ``"all"``.  Giving it together with ``whitespace`` raises
        :class:`ValueError`.
    :arg str autoescape: name of the function, looked up among the template's
        variables, that escapes every ``{{ }}`` value; ``None`` turns
        escaping off.  Defaults to the loader's setting, else
        ``"xhtml_escape"``.
    :arg str whitespace: what happens to runs of whitespace in the template
        text: ``"all"``, ``"single"`` or ``"oneline"``, as described for
        :func:`filter_whitespace`.

    Differences from Tornado: invalid Python in a directive raises
    :class:`~squall.template.ParseError` (also a :class:`SyntaxError`)
    naming the template and line; tracebacks of errors raised while
    rendering show a frame per template on the way to the failing line
    (for includes, base templates and blocks, each frame names its own
    template file and line) and carry a note naming the template location
    (with the include/extends chain).
    """

    def __init__(
        self,
        template_string: str | bytes,
        name: str = "<string>",
        loader: BaseLoader | None = None,
        compress_whitespace: bool | None = _UNSET,
        autoescape: str | None = _UNSET,
        whitespace: str | None = None,
    ) -> None:
        self.name = name
        if compress_whitespace is not _UNSET:
            # The old boolean picks one of two whitespace modes.
            if whitespace is not None:
                raise ValueError("cannot set both whitespace and compress_whitespace")
            whitespace = "single" if compress_whitespace else "all"
        if whitespace is None:
            if loader is not None and loader.whitespace:
                whitespace = loader.whitespace
            elif name.endswith((".html", ".js")):
                # Browsers ignore repeated whitespace in HTML and JS.
                whitespace = "single"
            else:
                whitespace = "all"
        # Reject an unknown mode now (on empty text, so it costs nothing).
        filter_whitespace(whitespace, "")

        if autoescape is not _UNSET:
            self.autoescape: str | None = autoescape
        elif loader is not None:
            self.autoescape = loader.autoescape
        else:
            self.autoescape = _DEFAULT_AUTOESCAPE

        self.namespace: dict[str, Any] = loader.namespace if loader is not None else {}
        self.loader = loader
        self.file = parse(to_unicode(template_string), name, whitespace, self.autoescape or None)
        self._filename = code_filename(name)
        compiled = compile_template(self, self._filename)
        #: The generated Python source (for inspection and debugging).
        self.code: str = compiled.source
        #: The code object compiled from :attr:`code`; executing it defines
        #: ``_tt_execute``, whose arguments :meth:`generate` supplies.
        self.compiled = compiled.module
        self._function = compiled.function
        self._escapes = compiled.escapes
        self._lines = compiled.lines
        lines = compiled.lines.lines
        self._base_namespace: dict[str, Any] = {
            **_SHARED_NAMESPACE,
            "__name__": name.replace(".", "_"),
            "__loader__": _SourceLoader(compiled.lines.source),
        }
        linecache.cache[self._filename] = (
            sum(map(len, lines)),
            None,
            list(lines),
            self._filename,
        )

    def generate(self, **kwargs: Any) -> bytes:
        """Render the template, its variables being ``kwargs``.

        :returns: the output, encoded as UTF-8 :class:`bytes`.
        """
        namespace = {**self._base_namespace, **self.namespace, **kwargs}
        function = FunctionType(self._function, namespace)
        buffer: list[str] = []
        # The generated function's parameters (see _codegen._FIXED_PARAMS).
        args: list[Any] = [buffer, buffer.append, buffer.extend, str, to_text, "".join]
        try:
            for name in self._escapes:
                args += _escape_functions(name, namespace)
            text: str = function(*args)
            return text.encode("utf-8", ENCODING_ERRORS)
        except Exception as error:
            self._annotate(error)
            raise

    def _annotate(self, error: BaseException) -> None:
        """Point ``error``'s traceback and a note at the failing template line.

        Each traceback entry of this template's code whose line comes from
        another template (include, base template, block override) is
        replaced by entries that name every template on the way, outermost
        first, with their real lines (see :func:`._lines.stand_in_frames`).
        A note then names the innermost failing location with its source
        text and the include/extends chain.
        """
        ours = {id(code) for code in _code_objects(self._function)}
        lines = self._lines
        location: Location | None = None
        previous: TracebackType | None = None
        entry = error.__traceback__
        while entry is not None:
            following = entry.tb_next
            found = lines.location(entry.tb_lineno) if id(entry.tb_frame.f_code) in ours else None
            if found is not None:
                location = found
                if len(found) > 1 and previous is not None:
                    head, entry = stand_in_frames(
                        found, entry.tb_frame, following, lines.sources, _text_loader
                    )
                    previous.tb_next = head
            previous = entry
            entry = following
        if location is None:
            return
        note = _describe(location, self._source_line)
        notes = getattr(error, "__notes__", None)
        if notes is not None and note in notes:
            return
        if sys.version_info >= (3, 11):
            error.add_note(note)
        else:  # pragma: no cover - Python 3.10 has no add_note
            if notes is None:
                notes = []
                error.__notes__ = notes  # type: ignore[attr-defined]
            notes.append(note)

    def _source_line(self, name: str, line: int) -> str:
        lines = self._lines.sources.get(name, "").split("\n")
        return lines[line - 1].strip() if 0 < line <= len(lines) else ""
