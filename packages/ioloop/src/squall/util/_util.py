"""Small utilities shared by every squall package.

Holds the helpers that Tornado keeps in ``tornado.util``: attribute dictionaries,
dotted-name imports, the :class:`Configurable` factory base, a bounded gzip
decompressor and a few argument/exception helpers.
"""

from __future__ import annotations

import asyncio
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

#: Alias of :class:`asyncio.TimeoutError` (as in Tornado 6.2+; the builtin
#: :class:`TimeoutError` from Python 3.11 on), raised by
#: :func:`squall.gen.with_timeout`, :meth:`squall.ioloop.IOLoop.run_sync`, locks,
#: queues and :meth:`squall.tcpclient.TCPClient.connect`.
TimeoutError = asyncio.TimeoutError

#: Python 2 compatibility aliases kept by Tornado 6.
unicode_type = str
basestring_type = str
bytes_type = bytes


class ObjectDict(dict[str, Any]):
    """A :class:`dict` whose keys can also be read and written as attributes."""

    def __getattr__(self, name: str) -> Any:
        try:
            return self[name]
        except KeyError:
            raise AttributeError(name)

    def __setattr__(self, name: str, value: Any) -> None:
        self[name] = value


def import_object(name: str) -> Any:
    """Resolve a dotted path such as ``"os.path.join"`` to the object it names.

    A name without a dot imports and returns that module. Raises :class:`ImportError`
    when the module or attribute does not exist.
    """
    if "." not in name:
        return __import__(name)
    module_name, _, attr = name.rpartition(".")
    module = __import__(module_name, fromlist=[attr])
    try:
        return getattr(module, attr)
    except AttributeError:
        raise ImportError(f"No module named {attr}")


def exec_in(code: Any, glob: dict[str, Any], loc: Mapping[str, Any] | None = None) -> None:
    """Execute ``code`` (a string or code object) in the given namespaces."""
    if isinstance(code, str):
        code = compile(code, "<string>", "exec", dont_inherit=True)
    exec(code, glob, loc)


def raise_exc_info(
    exc_info: tuple[type[BaseException] | None, BaseException | None, TracebackType | None],
) -> NoReturn:
    """Re-raise the exception described by a :func:`sys.exc_info` style triple."""
    try:
        if exc_info[1] is not None:
            raise exc_info[1].with_traceback(exc_info[2])
        raise TypeError("raise_exc_info called with no exception")
    finally:
        # Break the reference cycle frame -> exc_info -> traceback -> frame.
        exc_info = (None, None, None)


def errno_from_exception(e: BaseException) -> int | None:
    """Return the errno of an exception: its ``errno`` attribute, else its first arg.

    Returns None when neither is available.
    """
    errno = getattr(e, "errno", None)
    if errno is not None:
        return int(errno)
    if e.args:
        # Like Tornado: the first argument, whatever it is (socket errors put errno there).
        first: int | None = e.args[0]
        return first
    return None


_ALPHANUMERIC = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789")
_RE_UNESCAPE = re.compile(r"\\(.)", re.DOTALL)


def _unescape_one(match: re.Match[str]) -> str:
    char = match.group(1)
    if char in _ALPHANUMERIC:
        raise ValueError(f"cannot unescape '\\\\{char}'")
    return char


def re_unescape(s: str) -> str:
    r"""Undo :func:`re.escape`: ``re_unescape(re.escape(s)) == s``.

    Raises :class:`ValueError` for escapes that stand for classes or special
    characters (``\d``, ``\n`` ...), which cannot be turned back into one literal.
    """
    return _RE_UNESCAPE.sub(_unescape_one, s)


def timedelta_to_seconds(td: timedelta) -> float:
    """Return the total number of seconds in a :class:`datetime.timedelta`."""
    return td.total_seconds()


class GzipDecompressor:
    """Streaming gzip decompressor with an output limit per call.

    The interface is like :class:`zlib.Decompress` (``decompress``, ``unconsumed_tail``,
    ``flush``) but always expects gzip framing.
    """

    def __init__(self) -> None:
        self.decompressobj = zlib.decompressobj(16 + zlib.MAX_WBITS)

    def decompress(self, value: bytes, max_length: int = 0) -> bytes:
        """Decompress a chunk, returning at most ``max_length`` bytes (0 = no limit).

        Input that was not consumed because of the limit is kept in
        :attr:`unconsumed_tail` and must be passed back in a later call.
        """
        return self.decompressobj.decompress(value, max_length)

    @property
    def unconsumed_tail(self) -> bytes:
        """The input not yet consumed because ``max_length`` was reached."""
        return self.decompressobj.unconsumed_tail

    def flush(self) -> bytes:
        """Return any remaining buffered output; call once all input has been given."""
        return self.decompressobj.flush()


class ArgReplacer:
    """Locate a given parameter of ``func`` in a call's ``args``/``kwargs``, to read or swap it.

    The argument may be passed by position or by keyword; :meth:`replace` handles both.
    """

    def __init__(self, func: Callable[..., Any], name: str) -> None:
        self.name = name
        try:
            self.arg_pos: int | None = self._positional_names(func).index(name)
        except ValueError:
            self.arg_pos = None

    @staticmethod
    def _positional_names(func: Callable[..., Any]) -> list[str]:
        code = getattr(func, "__code__", None)
        if code is not None:
            return list(code.co_varnames[: code.co_argcount])
        try:
            sig = inspect.signature(func)
        except (TypeError, ValueError):
            return []
        kinds = (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
        return [p.name for p in sig.parameters.values() if p.kind in kinds]

    def get_old_value(
        self, args: Sequence[Any], kwargs: dict[str, Any], default: Any = None
    ) -> Any:
        """Return the argument's current value, or ``default`` if it was not passed."""
        if self.arg_pos is not None and len(args) > self.arg_pos:
            return args[self.arg_pos]
        return kwargs.get(self.name, default)

    def replace(
        self, new_value: Any, args: Sequence[Any], kwargs: dict[str, Any]
    ) -> tuple[Any, Sequence[Any], dict[str, Any]]:
        """Substitute ``new_value`` for the parameter and report what it was before.

        Returns ``(old_value, args, kwargs)``; ``old_value`` is None if it was not passed.
        The returned ``args``/``kwargs`` may be new objects; ``kwargs`` may be changed in place.
        """
        if self.arg_pos is not None and len(args) > self.arg_pos:
            old_value = args[self.arg_pos]
            new_args = list(args)
            new_args[self.arg_pos] = new_value
            return old_value, new_args, kwargs
        old_value = kwargs.get(self.name)
        kwargs[self.name] = new_value
        return old_value, args, kwargs


def _publish_public_names(namespace: dict[str, Any]) -> None:
    """Make a package's public classes and functions report the package as ``__module__``.

    Called at the end of each public package's ``__init__``: reprs, tracebacks
    and pickles then name the public path (``squall.gen.coroutine``) rather
    than the private module that defines the object.
    """
    package = namespace["__name__"]
    for name in namespace["__all__"]:
        obj = namespace[name]
        if isinstance(obj, (type, FunctionType)) and obj.__module__.startswith(package + "._"):
            obj.__module__ = package
