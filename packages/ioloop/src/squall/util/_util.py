"""Small utilities shared by every squall package.

The ``tornado.util`` helpers: attribute dictionaries, dotted-name imports, a
gzip decompressor with an output limit, argument and exception helpers, and
the private :func:`_publish_public_names` that every package ``__init__``
calls last.
"""

from __future__ import annotations

import asyncio
import importlib
import inspect
import re
import zlib
from collections.abc import Callable, Mapping, Sequence
from datetime import timedelta
from types import FunctionType, TracebackType
from typing import Any, NoReturn

__all__ = [
    "ArgReplacer",
    "GzipDecompressor",
    "ObjectDict",
    "TimeoutError",
    "basestring_type",
    "bytes_type",
    "errno_from_exception",
    "exec_in",
    "import_object",
    "raise_exc_info",
    "re_unescape",
    "timedelta_to_seconds",
    "unicode_type",
]

#: What squall raises when a deadline passes (:func:`squall.gen.with_timeout`,
#: :meth:`squall.ioloop.IOLoop.run_sync`, locks, queues, ``TCPClient.connect``):
#: :class:`asyncio.TimeoutError`, which is the builtin :class:`TimeoutError`
#: from Python 3.11 on.
TimeoutError = asyncio.TimeoutError

#: Names left over from Python 2, still exported by Tornado 6.
unicode_type = str
basestring_type = str
bytes_type = bytes

_ABSENT: Any = object()


class ObjectDict(dict[str, Any]):
    """A :class:`dict` whose string keys double as attributes (``d.key is d["key"]``)."""

    def __getattr__(self, name: str) -> Any:
        value = self.get(name, _ABSENT)
        if value is _ABSENT:
            raise AttributeError(f"ObjectDict has no key {name!r}")
        return value

    def __setattr__(self, name: str, value: Any) -> None:
        self[name] = value


def import_object(name: str) -> Any:
    """Return the object a dotted name refers to: a module, or an attribute of one.

    ``import_object("a.b.c")`` behaves like ``from a.b import c`` (``c`` may
    be a submodule not imported yet); a name without a dot like ``import a``.

    Raises:
        ImportError: no such module, or the module has no such attribute.
    """
    parent, _, leaf = name.rpartition(".")
    if not parent:
        return importlib.import_module(name)
    owner = importlib.import_module(parent)
    found = getattr(owner, leaf, _ABSENT)
    if found is not _ABSENT:
        return found
    try:
        return importlib.import_module(name)
    except ModuleNotFoundError as exc:
        if exc.name != name:
            raise  # the submodule exists but one of its own imports failed
        raise ImportError(f"No module named {leaf} (looked in {parent})") from None


def exec_in(code: Any, glob: dict[str, Any], loc: Mapping[str, Any] | None = None) -> None:
    """Run ``code`` (source text or a code object) with the given global and local namespaces.

    Source is compiled without inheriting this module's ``__future__`` flags.
    """
    compiled = (
        compile(code, "<string>", "exec", dont_inherit=True)
        if isinstance(code, (str, bytes))
        else code
    )
    exec(compiled, glob, loc)


def raise_exc_info(
    exc_info: tuple[type[BaseException] | None, BaseException | None, TracebackType | None],
) -> NoReturn:
    """Raise again the exception of a :func:`sys.exc_info` triple, with its traceback.

    Raises:
        TypeError: the triple holds no exception.
    """
    _, error, tb = exc_info
    del exc_info
    if error is None:
        raise TypeError("raise_exc_info() needs a triple holding an exception")
    try:
        raise error.with_traceback(tb)
    finally:
        # This frame would otherwise stay alive through error.__traceback__.
        del error, tb


def errno_from_exception(e: BaseException) -> int | None:
    """The error number carried by an exception, or None.

    That is its ``errno`` attribute when set, otherwise its first argument
    (some socket errors carry the number only there); None for an
    exception with neither.
    """
    code = getattr(e, "errno", None)
    if code is None and e.args:
        code = e.args[0]
    return code


_BACKSLASHED = re.compile(r"\\(.)", re.DOTALL)


def _literal(match: re.Match[str]) -> str:
    char = match[1]
    if char.isascii() and char.isalnum():
        raise ValueError(f"cannot unescape {match[0]!r}: it is a regex escape, not a literal")
    return char


def re_unescape(s: str) -> str:
    r"""Undo :func:`re.escape`: ``re_unescape(re.escape(s)) == s``.

    Raises:
        ValueError: ``s`` holds an escape that means more than one literal
            character (``\d``, ``\n``, ``\1`` ...).
    """
    return _BACKSLASHED.sub(_literal, s)


def timedelta_to_seconds(td: timedelta) -> float:
    """Return the total number of seconds in a :class:`datetime.timedelta`."""
    return td.total_seconds()


_GZIP_WBITS = zlib.MAX_WBITS | 16  # zlib's window bits, asking for a gzip header


class GzipDecompressor:
    """Incremental gunzip with a cap on the output of each call.

    Works like a :func:`zlib.decompressobj` (``decompress``,
    ``unconsumed_tail``, ``flush``) that only accepts gzip framing;
    malformed input raises :class:`zlib.error`.
    """

    def __init__(self) -> None:
        self.decompressobj = zlib.decompressobj(_GZIP_WBITS)

    def decompress(self, value: bytes, max_length: int = 0) -> bytes:
        """Feed ``value`` and return what it decompresses to, at most ``max_length`` bytes.

        ``max_length`` 0 means no cap.  Input left unread because of the cap
        waits in :attr:`unconsumed_tail`; pass it to a later call.
        """
        return self.decompressobj.decompress(value, max_length)

    @property
    def unconsumed_tail(self) -> bytes:
        """Input held back by the last call's ``max_length``; feed it again."""
        return self.decompressobj.unconsumed_tail

    def flush(self) -> bytes:
        """Once the input is exhausted, return whatever output is still buffered."""
        return self.decompressobj.flush()


_POSITIONAL = (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)


def _position_of(func: Callable[..., Any], name: str) -> int | None:
    try:
        params = inspect.signature(func, follow_wrapped=False).parameters.values()
    except (TypeError, ValueError):
        return None
    order = [p.name for p in params if p.kind in _POSITIONAL]
    return order.index(name) if name in order else None


class ArgReplacer:
    """Find one named parameter of ``func`` in a call's ``(args, kwargs)``, to read or swap it.

    Meant for wrappers and decorators: the argument is found whether it was
    passed by position or by keyword.
    """

    def __init__(self, func: Callable[..., Any], name: str) -> None:
        self.name = name
        self.arg_pos: int | None = _position_of(func, name)

    def get_old_value(
        self, args: Sequence[Any], kwargs: dict[str, Any], default: Any = None
    ) -> Any:
        """The argument's value in this call, or ``default`` when it was not passed."""
        pos = self.arg_pos
        return args[pos] if pos is not None and pos < len(args) else kwargs.get(self.name, default)

    def replace(
        self, new_value: Any, args: Sequence[Any], kwargs: dict[str, Any]
    ) -> tuple[Any, Sequence[Any], dict[str, Any]]:
        """Put ``new_value`` in the argument's place; return ``(old_value, args, kwargs)``.

        A positional argument is replaced in a new list; otherwise ``kwargs``
        gets the new value in place (old value None when it was not passed).
        """
        pos = self.arg_pos
        if pos is None or pos >= len(args):
            previous = kwargs.get(self.name)
            kwargs[self.name] = new_value
            return previous, args, kwargs
        patched = [*args]
        previous, patched[pos] = patched[pos], new_value
        return previous, patched, kwargs


def _publish_public_names(namespace: dict[str, Any]) -> None:
    """Make a package's public classes and functions report the package as ``__module__``.

    Called at the end of each public package's ``__init__``: reprs, tracebacks
    and pickles then name the public path (``squall.gen.coroutine``) rather
    than the private module that defines the object.
    """
    package = namespace["__name__"]
    private_prefix = package + "._"
    for obj in map(namespace.__getitem__, namespace["__all__"]):
        if isinstance(obj, (type, FunctionType)) and obj.__module__.startswith(private_prefix):
            obj.__module__ = package
