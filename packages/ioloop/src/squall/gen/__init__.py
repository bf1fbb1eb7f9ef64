"""Coroutine utilities (the ``tornado.gen`` API).

Generator-based coroutines (:func:`coroutine`, :class:`Return`), and helpers that work
equally in native coroutines: :func:`multi`, :func:`with_timeout`, :func:`sleep`,
:class:`WaitIterator`, :func:`convert_yielded` and ``moment``.
"""

from __future__ import annotations

from squall.concurrent import ReturnValueIgnoredError
from squall.util import TimeoutError
from squall.util._util import _publish_public_names

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


_publish_public_names(globals())
