"""Exceptions raised for bad template syntax.

Both classes present themselves as ``squall.template.ParseError`` (module,
qualified name and name), so tracebacks, reprs and log lines only ever show
the public name.
"""

from __future__ import annotations

from typing import Any

__all__ = ["ParseError", "TemplateSyntaxError"]


class ParseError(Exception):
    """A template whose text cannot be compiled.

    The ``filename`` and ``lineno`` attributes say where the problem is, and
    ``str()`` gives ``"<message> at <filename>:<lineno>"``, the same text as
    Tornado's.
    """

    def __init__(self, message: str, filename: str | None = None, lineno: int = 0) -> None:
        self.message = message
        # Same attribute names as SyntaxError's.
        self.filename = filename
        self.lineno = lineno

    def __str__(self) -> str:
        return f"{self.message} at {self.filename}:{self.lineno}"


class TemplateSyntaxError(ParseError, SyntaxError):  # type: ignore[misc]
    """Python syntax error inside a template directive or expression.

    Tornado lets the raw :class:`SyntaxError` of its generated module escape;
    squall raises this class instead, which is both a :class:`ParseError`
    (naming the template and line) and a :class:`SyntaxError` (so code that
    catches SyntaxError keeps working). It is not public: it reports itself
    as ``squall.template.ParseError``.
    """

    def __init__(self, message: str, filename: str | None = None, lineno: int = 0) -> None:
        SyntaxError.__init__(self, message)
        ParseError.__init__(self, message, filename, lineno)
        self.msg = message

    def __str__(self) -> str:
        return ParseError.__str__(self)

    def __reduce__(self) -> tuple[Any, ...]:
        # Pickle looks classes up by module and qualified name, which lead
        # to ParseError: rebuild through a function instead.
        return (_python_syntax_error, (self.message, self.filename, self.lineno))


def _python_syntax_error(message: str, filename: str | None, lineno: int) -> TemplateSyntaxError:
    return TemplateSyntaxError(message, filename, lineno)


for _cls in (ParseError, TemplateSyntaxError):
    _cls.__module__ = "squall.template"
    _cls.__name__ = _cls.__qualname__ = "ParseError"
del _cls
