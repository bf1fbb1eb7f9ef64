"""The :class:`Template` class: compile once, render many times.

Rendering is thread-safe and re-entrant: a template's compiled code is shared
and immutable; each :meth:`Template.generate` call builds its own namespace
dict and function object and touches no other state.
"""

from __future__ import annotations

import builtins
import linecache
import sys
from types import FunctionType, TracebackType
from typing import TYPE_CHECKING, Any

from squall.escape import to_unicode

from ._codegen import compile_template
from ._lines import Location
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

    __slots__ = ("_source",)

    def __init__(self, source: str) -> None:
        self._source = source

    def get_source(self, name: str) -> str:
        return self._source


def _failed_escaper(error: BaseException) -> tuple[type, Any]:
    # The escape function could not be looked up when rendering started;
    # Tornado looks it up at each expression, so fail there, not earlier.
    def escape(value: Any) -> str:
        raise error

    return NeverStr, escape


_HELPERS: dict[str, Any] = {
    "_tt_str_type": str,
    "_tt_to_text": to_text,
    "_tt_escaper": escaper,
    "_tt_failed_escaper": _failed_escaper,
    "_tt_apply_filter": apply_filter,
}


def _code_filename(name: str) -> str:
    # "<string>" is what exec() uses for anonymous code: registering our
    # source under that name would mislabel other tracebacks.
    if name.startswith("<") and name.endswith(">"):
        return f"<template {name}>"
    return name


def _describe(location: Location, source_line: Any) -> str:
    first, *rest = location
    lines = [f'template "{first[1]}", line {first[2]}']
    text = source_line(first[1], first[2])
    if text:
        lines[0] += f": {text}"
    lines.extend(f"  {how} {name}, line {line}" for how, name, line in rest)
    return "\n".join(lines)


class Template:
    """A compiled template.

    We compile into Python from the given ``template_string``.  You can
    generate the template from variables with :meth:`generate`.

    :arg str template_string: the contents of the template (str or bytes).
    :arg str name: the filename from which the template was loaded (used for
        error messages and tracebacks).
    :arg loader: the :class:`~squall.template.BaseLoader` responsible for
        this template, used to resolve ``{% include %}`` and
        ``{% extends %}`` directives.
    :arg bool compress_whitespace: deprecated since Tornado 4.3; equivalent
        to ``whitespace="single"`` if true and ``whitespace="all"`` if false.
    :arg str autoescape: the name of a function in the template namespace,
        or ``None`` to disable escaping by default.
    :arg str whitespace: a string specifying treatment of whitespace; see
        :func:`filter_whitespace` for options.

    Differences from Tornado: invalid Python in a directive raises
    :class:`~squall.template.ParseError` (also a :class:`SyntaxError`)
    naming the template and line; tracebacks of errors raised while
    rendering point at template lines and carry a note naming the template
    location (with the include/extends chain).
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
            # Convert deprecated compress_whitespace (bool) to whitespace (str).
            if whitespace is not None:
                raise ValueError("cannot set both whitespace and compress_whitespace")
            whitespace = "single" if compress_whitespace else "all"
        if whitespace is None:
            if loader is not None and loader.whitespace:
                whitespace = loader.whitespace
            elif name.endswith((".html", ".js")):
                # Whitespace is insignificant in HTML and JavaScript.
                whitespace = "single"
            else:
                whitespace = "all"
        # Validate the whitespace setting.
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
        self._filename = _code_filename(name)
        compiled = compile_template(self, self._filename)
        #: The generated Python source (for inspection and debugging).
        self.code: str = compiled.source
        #: The code object compiled from :attr:`code`; executing it defines ``_tt_execute``.
        self.compiled = compiled.module
        self._function = compiled.function
        self._lines = compiled.lines
        full_source = compiled.lines.source()
        self._base_namespace: dict[str, Any] = {
            **default_namespace(),
            # Code that imports at run time (datetime.strftime, __import__)
            # looks builtins up in its frame's globals: they must be there.
            "__builtins__": builtins,
            "__name__": name.replace(".", "_"),
            "__loader__": _SourceLoader(full_source),
            **_HELPERS,
        }
        linecache.cache[self._filename] = (
            len(full_source),
            None,
            full_source.splitlines(keepends=True),
            self._filename,
        )

    def generate(self, **kwargs: Any) -> bytes:
        """Generate this template with the given arguments.

        :returns: the rendered output, UTF-8 encoded.
        """
        namespace = {**self._base_namespace, **self.namespace, **kwargs}
        function = FunctionType(self._function, namespace)
        try:
            text: str = function()
            return text.encode("utf-8", ENCODING_ERRORS)
        except Exception as error:
            self._annotate(error)
            raise

    def _annotate(self, error: BaseException) -> None:
        """Add a note naming the template line (and include chain) to ``error``."""
        tb: TracebackType | None = error.__traceback__
        number = None
        while tb is not None:
            if tb.tb_frame.f_code.co_filename == self._filename:
                number = tb.tb_lineno
            tb = tb.tb_next
        if number is None:
            return
        location = self._lines.location(number)
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
        source = self._find_source(name)
        if source is None:
            return ""
        lines = source.splitlines()
        return lines[line - 1].strip() if 0 < line <= len(lines) else ""

    def _find_source(self, name: str) -> str | None:
        if name == self.name:
            return self.file.source
        loader = self.loader
        if loader is not None:
            with loader.lock:
                for template in loader.templates.values():
                    if template.name == name:
                        return template.file.source
        return None
