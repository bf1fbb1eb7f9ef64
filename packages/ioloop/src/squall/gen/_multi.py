"""Waiting on several futures (:func:`multi`, :class:`WaitIterator`), on time
(:func:`sleep`) and with a deadline (:func:`with_timeout`).
"""

from __future__ import annotations

import asyncio
import collections
import datetime
import sys
from collections.abc import Awaitable, Mapping, Sequence
from typing import Any, TypeVar, overload

from squall.concurrent import (
    Future,
    chain_future,
    future_add_done_callback,
    future_set_exc_info,
    future_set_result_unless_cancelled,
)
from squall.ioloop import IOLoop
from squall.log import app_log
from squall.util import TimeoutError

from ._gen import convert_yielded

__all__ = ["WaitIterator", "multi", "multi_future", "sleep", "with_timeout"]

_T = TypeVar("_T")

_Yieldable = Any  # a Future, an awaitable, or a list/dict of them
_QuietSpec = type[BaseException] | tuple[type[BaseException], ...]


@overload
def multi(
    children: Sequence[_Yieldable], quiet_exceptions: _QuietSpec = ...
) -> Future[list[Any]]: ...


@overload
def multi(
    children: Mapping[Any, _Yieldable], quiet_exceptions: _QuietSpec = ...
) -> Future[dict[Any, Any]]: ...


def multi(
    children: Sequence[_Yieldable] | Mapping[Any, _Yieldable],
    quiet_exceptions: _QuietSpec = (),
) -> Future[Any]:
    """Wait for several futures/awaitables in parallel; resolve to a list or dict of results.

    Given a list, the results form a list in matching positions; given a dict, a
    dict keyed like the input. Resolution waits for the slowest child. If
    any child fails it fails with the first exception (in ``children`` order); later
    exceptions are logged unless they are instances of ``quiet_exceptions``.
    Yielding a list or dict in a :func:`coroutine` calls this implicitly.
    """
    return multi_future(children, quiet_exceptions=quiet_exceptions)


def multi_future(
    children: Sequence[_Yieldable] | Mapping[Any, _Yieldable],
    quiet_exceptions: _QuietSpec = (),
) -> Future[Any]:
    """Same as :func:`multi` (kept for compatibility with Tornado 4.x code)."""
    if isinstance(children, Mapping):
        keys: list[Any] | None = list(children.keys())
        children_seq: Sequence[Any] = list(children.values())
    else:
        keys = None
        children_seq = children
    children_futs = [convert_yielded(child) for child in children_seq]
    unfinished = set(children_futs)
    future: Future[Any] = Future()
    if not children_futs:
        future_set_result_unless_cancelled(future, {} if keys is not None else [])
        return future

    def callback(fut: Future[Any]) -> None:
        unfinished.discard(fut)
        if unfinished:
            return
        results: list[Any] = []
        for f in children_futs:
            try:
                results.append(f.result())
            except (Exception, asyncio.CancelledError) as e:
                if future.done():
                    if not isinstance(e, quiet_exceptions):
                        app_log.error("Multiple exceptions in yield list", exc_info=True)
                else:
                    future_set_exc_info(future, sys.exc_info())
        if not future.done():
            if keys is not None:
                future_set_result_unless_cancelled(future, dict(zip(keys, results, strict=True)))
            else:
                future_set_result_unless_cancelled(future, results)

    listening: set[Future[Any]] = set()
    for f in children_futs:
        if f not in listening:
            listening.add(f)
            future_add_done_callback(f, callback)
    return future


def with_timeout(
    timeout: float | datetime.timedelta,
    future: _Yieldable,
    quiet_exceptions: _QuietSpec = (),
) -> Future[Any]:
    """Give ``future`` (or any yieldable) a deadline.

    ``timeout`` is an absolute deadline on :meth:`squall.ioloop.IOLoop.time`'s clock, or a
    :class:`datetime.timedelta` from now. If the deadline comes first, the Future this
    returns raises :class:`squall.util.TimeoutError`; the wrapped future is *not* cancelled, and an
    exception it raises later is logged unless it is one of ``quiet_exceptions``.
    """
    future_converted = convert_yielded(future)
    result: Future[Any] = Future()
    chain_future(future_converted, result)
    io_loop = IOLoop.current()
    assert io_loop is not None

    def error_callback(fut: Future[Any]) -> None:
        try:
            fut.result()
        except asyncio.CancelledError:
            pass
        except Exception as e:
            if not isinstance(e, quiet_exceptions):
                app_log.error("Exception in Future %r after timeout", fut, exc_info=True)

    def timeout_callback() -> None:
        if not result.done():
            result.set_exception(TimeoutError("Timeout"))
        # The wrapped future's failure would otherwise go unobserved.
        future_add_done_callback(future_converted, error_callback)

    timeout_handle = io_loop.add_timeout(timeout, timeout_callback)
    future_add_done_callback(future_converted, lambda _: io_loop.remove_timeout(timeout_handle))
    return result


def sleep(duration: float) -> Future[None]:
    """Non-blocking pause: a Future that gets the result None ``duration`` seconds from now.

    ``yield gen.sleep(0.5)`` in a coroutine is the non-blocking ``time.sleep``.
    """
    f: Future[None] = Future()
    io_loop = IOLoop.current()
    assert io_loop is not None
    io_loop.call_later(duration, lambda: future_set_result_unless_cancelled(f, None))
    return f


class WaitIterator:
    """Yield futures in the order they finish, telling which one finished.

    Pass futures positionally (``current_index`` is the position) or by keyword
    (``current_index`` is the key), not both (:class:`ValueError`). Use::

        wait = gen.WaitIterator(f1, f2)
        while not wait.done():
            result = yield wait.next()  # or await wait.next()

    or ``async for result in gen.WaitIterator(f1, f2)``. A failed future raises from
    ``next()``; iteration may continue after it. After each step,
    ``current_future`` holds the input future whose outcome was just delivered.
    """

    _unfinished: dict[Future[Any], Any]

    def __init__(self, *args: Future[Any], **kwargs: Future[Any]) -> None:
        if args and kwargs:
            raise ValueError("You must provide args or kwargs, not both")
        pairs: list[tuple[Future[Any], Any]]
        if kwargs:
            pairs = [(convert_yielded(f), k) for k, f in kwargs.items()]
        else:
            pairs = [(convert_yielded(f), i) for i, f in enumerate(args)]
        self._unfinished = dict(pairs)
        self._finished: collections.deque[Future[Any]] = collections.deque()
        self.current_index: Any = None
        self.current_future: Future[Any] | None = None
        self._running_future: Future[Any] | None = None
        for fut, _ in pairs:
            future_add_done_callback(fut, self._done_callback)

    def done(self) -> bool:
        """Return True when every future has been returned by :meth:`next`."""
        if self._finished or self._unfinished:
            return False
        self.current_index = self.current_future = None
        return True

    def next(self) -> Future[Any]:
        """Await this to get the outcome of whichever remaining future completes first."""
        self._running_future = Future()
        if self._finished:
            return self._return_result(self._finished.popleft())
        return self._running_future

    def _done_callback(self, done: Future[Any]) -> None:
        if self._running_future is not None and not self._running_future.done():
            self._return_result(done)
        else:
            self._finished.append(done)

    def _return_result(self, done: Future[Any]) -> Future[Any]:
        running = self._running_future
        if running is None:
            raise Exception("no future is running")
        chain_future(done, running)
        self._running_future = None
        self.current_future = done
        self.current_index = self._unfinished.pop(done)
        return running

    def __aiter__(self) -> WaitIterator:
        return self

    def __anext__(self) -> Awaitable[Any]:
        if self.done():
            raise StopAsyncIteration()
        return self.next()
