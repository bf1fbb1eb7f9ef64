"""Combinators over futures: :func:`multi` (all of them), :class:`WaitIterator` (each as it
finishes), :func:`with_timeout` (a deadline) and :func:`sleep` (a pause).

All of them take anything :func:`~squall.gen.convert_yielded` accepts and hand back
plain asyncio futures, scheduled straight on the running asyncio loop.
"""

from __future__ import annotations

import asyncio
import collections
import datetime
from collections.abc import Awaitable, Mapping, Sequence
from typing import Any, overload

from squall.concurrent import (
    Future,
    chain_future,
    future_add_done_callback,
    future_set_exception_unless_cancelled,
    future_set_result_unless_cancelled,
)
from squall.log import app_log
from squall.util import TimeoutError

from ._gen import convert_yielded

__all__ = ["WaitIterator", "multi", "multi_future", "sleep", "with_timeout"]

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
    """Run several futures/awaitables side by side; resolve to all their results.

    A list gives a list of results in the same positions, a dict a dict with the
    same keys. The returned Future settles once every child has finished, even
    when some fail: it then raises the exception of the earliest failed child in
    ``children`` order, and the other failures are logged unless they are
    instances of ``quiet_exceptions``. Cancelling the returned Future leaves the
    children alone. Yielding a list or dict in a :func:`~squall.gen.coroutine`
    goes through here.
    """
    if isinstance(children, Mapping):
        keys: list[Any] | None = list(children)
        parts = [convert_yielded(child) for child in children.values()]
    else:
        keys = None
        parts = [convert_yielded(child) for child in children]
    combined: Future[Any] = Future()
    pending = {part for part in parts if not part.done()}
    if not pending:
        _collect(combined, parts, keys, quiet_exceptions)
        return combined
    left = len(pending)

    def count_down(_part: object) -> None:
        nonlocal left
        left -= 1
        if not left:
            _collect(combined, parts, keys, quiet_exceptions)

    for part in pending:
        part.add_done_callback(count_down)
    return combined


def multi_future(
    children: Sequence[_Yieldable] | Mapping[Any, _Yieldable],
    quiet_exceptions: _QuietSpec = (),
) -> Future[Any]:
    """The same as :func:`multi`, under the name Tornado 4 used."""
    return multi(children, quiet_exceptions)


# Lists and dicts yielded in generator coroutines are waited on as a group.
convert_yielded.register(list, multi)
convert_yielded.register(dict, multi)


def _collect(
    combined: Future[Any],
    parts: list[Future[Any]],
    keys: list[Any] | None,
    quiet: _QuietSpec,
) -> None:
    """Every part is done: settle ``combined`` from them, in order."""
    values: list[Any] = []
    raised: BaseException | None = None
    for part in parts:
        try:
            values.append(part.result())
        except (Exception, asyncio.CancelledError) as error:
            if raised is None:
                raised = error
            elif error is not raised and not isinstance(error, quiet):
                app_log.error(
                    "Multiple exceptions in multi(): this one is not re-raised", exc_info=error
                )
    if raised is None:
        future_set_result_unless_cancelled(
            combined, values if keys is None else dict(zip(keys, values, strict=True))
        )
    elif isinstance(raised, asyncio.CancelledError):
        combined.cancel()
    else:
        future_set_exception_unless_cancelled(combined, raised)


def with_timeout(
    timeout: float | datetime.timedelta,
    future: _Yieldable,
    quiet_exceptions: _QuietSpec = (),
) -> Future[Any]:
    """Wrap ``future`` (or any yieldable) in a Future that gives up at a deadline.

    ``timeout`` is either a :class:`datetime.timedelta` from now or an absolute
    time on the loop's clock (:meth:`squall.ioloop.IOLoop.time`). Should the
    deadline pass first, the returned Future raises :class:`squall.util.TimeoutError`
    while ``future`` itself is *not* cancelled and keeps running; if it later fails,
    its exception is logged unless it is cancellation or an instance of
    ``quiet_exceptions``. Otherwise the returned Future takes on ``future``'s outcome.
    """
    inner = convert_yielded(future)
    outer: Future[Any] = Future()
    if inner.done():
        chain_future(inner, outer)
        return outer
    loop = outer.get_loop()

    def expire() -> None:
        if not outer.done():
            outer.set_exception(TimeoutError("Timeout"))

    if isinstance(timeout, datetime.timedelta):
        timer = loop.call_later(timeout.total_seconds(), expire)
    elif isinstance(timeout, (int, float)):
        timer = loop.call_at(timeout, expire)
    else:
        raise TypeError(f"with_timeout() needs a deadline or a timedelta, not {timeout!r}")

    def inner_done(done: Future[Any]) -> None:
        timer.cancel()
        if not outer.done():
            chain_future(done, outer)
        elif not outer.cancelled() and not done.cancelled():
            # ``outer`` timed out earlier: nobody else will ever see this failure.
            late = done.exception()
            if late is not None and not isinstance(late, quiet_exceptions):
                app_log.error("%r raised after timeout", done, exc_info=late)

    inner.add_done_callback(inner_done)
    return outer


def sleep(duration: float) -> Future[None]:
    """A Future resolving to None after ``duration`` seconds, without blocking the loop.

    ``yield gen.sleep(1)`` (or ``await``) is the coroutine's ``time.sleep(1)``.
    """
    pause: Future[None] = Future()
    pause.get_loop().call_later(duration, future_set_result_unless_cancelled, pause, None)
    return pause


class WaitIterator:
    """Hand out the outcomes of several futures in the order they finish.

    Give the futures positionally (``current_index`` is then the position) or
    as keywords (``current_index`` is the keyword), never both
    (:class:`ValueError`). Loop with::

        waiter = gen.WaitIterator(f1, f2)
        while not waiter.done():
            result = await waiter.next()   # or ``yield waiter.next()``

    or ``async for result in gen.WaitIterator(f1, f2)``. A future that failed makes
    ``next()`` raise its exception, and iterating may go on afterwards. Once a
    result is delivered, ``current_future`` is the input future it came from;
    both attributes go back to None when :meth:`done` reports the end.
    """

    def __init__(self, *args: Future[Any], **kwargs: Future[Any]) -> None:
        if args and kwargs:
            raise ValueError("WaitIterator takes futures by position or by keyword, not both")
        labelled = kwargs.items() if kwargs else enumerate(args)
        self._label = {convert_yielded(fut): label for label, fut in labelled}
        self._ready: collections.deque[Future[Any]] = collections.deque()
        self._waiter: Future[Any] | None = None
        self.current_index: Any = None
        self.current_future: Future[Any] | None = None
        for fut in self._label:
            future_add_done_callback(fut, self._arrived)

    def done(self) -> bool:
        """True once :meth:`next` has delivered every future (and clears ``current_*``)."""
        if self._label:
            return False
        self.current_index = self.current_future = None
        return True

    def next(self) -> Future[Any]:
        """A Future taking on the outcome of the next input future to finish."""
        waiter: Future[Any] = Future()
        if self._ready:
            self._deliver(self._ready.popleft(), waiter)
        else:
            self._waiter = waiter
        return waiter

    def _arrived(self, fut: Future[Any]) -> None:
        waiter = self._waiter
        if waiter is None or waiter.done():
            self._ready.append(fut)
        else:
            self._waiter = None
            self._deliver(fut, waiter)

    def _deliver(self, fut: Future[Any], waiter: Future[Any]) -> None:
        self.current_future = fut
        self.current_index = self._label.pop(fut)
        chain_future(fut, waiter)

    def __aiter__(self) -> WaitIterator:
        return self

    def __anext__(self) -> Awaitable[Any]:
        if self.done():
            raise StopAsyncIteration
        return self.next()
