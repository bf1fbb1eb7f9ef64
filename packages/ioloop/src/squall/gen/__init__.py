"""Coroutine utilities (the ``tornado.gen`` API).

Generator-based coroutines (:func:`coroutine`, :class:`Return`), and helpers that work
equally in native coroutines: :func:`multi`, :func:`with_timeout`, :func:`sleep`,
:class:`WaitIterator`, :func:`convert_yielded` and ``moment``.
"""

from __future__ import annotations

from types import FunctionType

from squall.concurrent import ReturnValueIgnoredError
from squall.util import TimeoutError

from ._gen import (
    BadYieldError,
    KeyReuseError,
    LeakedCallbackError,
    Return,
    Runner,
    UnknownKeyError,
    convert_yielded,
    coroutine,
    is_coroutine_function,
    maybe_future,
    moment,
)
from ._multi import WaitIterator, multi, multi_future, sleep, with_timeout

__all__ = [
    "BadYieldError",
    "KeyReuseError",
    "LeakedCallbackError",
    "Return",
    "ReturnValueIgnoredError",
    "Runner",
    "TimeoutError",
    "UnknownKeyError",
    "WaitIterator",
    "convert_yielded",
    "coroutine",
    "is_coroutine_function",
    "maybe_future",
    "moment",
    "multi",
    "multi_future",
    "sleep",
    "with_timeout",
]


def _publish() -> None:
    # Report public classes and functions under this package rather than the
    # private module that defines them: clearer reprs and tracebacks, and
    # pickles that name the public path.
    for name in __all__:
        obj = globals()[name]
        if isinstance(obj, (type, FunctionType)) and obj.__module__.startswith(__name__ + "._"):
            obj.__module__ = __name__


_publish()
