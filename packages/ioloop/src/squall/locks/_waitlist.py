"""The parking lot behind every squall lock and queue.

A :class:`_WaitList` is a FIFO of asyncio futures, each optionally bounded by a
timer on the future's own event loop. Whoever frees a resource calls
:meth:`_WaitList.wake` (or :meth:`_WaitList.pop`), which hands it to the oldest
future still pending: futures that expired or were cancelled are skipped, so they
never swallow what was meant for a live waiter. Dead entries are swept in
batches, so a list whose waiters keep timing out stays bounded.
"""

from __future__ import annotations

import asyncio
import collections
import datetime
import numbers
from collections.abc import Callable
from typing import Any, Generic, TypeVar

from squall.util import TimeoutError

_R = TypeVar("_R")

#: A deadline on the loop clock (:meth:`IOLoop.time`) or a span from now.
_Timeout = float | datetime.timedelta

#: (future, its deadline timer or None, whatever the parker left with it).
_Entry = tuple[asyncio.Future[Any], asyncio.TimerHandle | None, Any]

# Sweep dead entries once the list is this long (and then at twice the live size).
_FIRST_SWEEP = 64


def _ready(value: _R) -> asyncio.Future[_R]:
    """A future that already holds ``value`` (for calls that need not wait)."""
    fut: asyncio.Future[_R] = asyncio.Future()
    fut.set_result(value)
    return fut


def _expire_with_error(fut: asyncio.Future[Any]) -> None:
    """Deadline action for waits that fail with :class:`squall.util.TimeoutError`."""
    if not fut.done():
        fut.set_exception(TimeoutError("timed out while waiting"))


def _expire_with_false(fut: asyncio.Future[Any]) -> None:
    """Deadline action for waits that report a timeout by resolving to False."""
    if not fut.done():
        fut.set_result(False)


def _start_timer(
    fut: asyncio.Future[Any], timeout: _Timeout, expire: Callable[[asyncio.Future[Any]], None]
) -> asyncio.TimerHandle:
    # The asyncio loop's clock is IOLoop.time(), so its timers serve directly.
    loop = fut.get_loop()
    span: object = timeout  # checked at run time: callers may pass anything
    if isinstance(span, datetime.timedelta):
        return loop.call_later(span.total_seconds(), expire, fut)
    if isinstance(span, numbers.Real):
        return loop.call_at(float(span), expire, fut)
    raise TypeError(f"timeout must be a loop-clock deadline or a timedelta, not {timeout!r}")


class _WaitList(Generic[_R]):
    """Futures parked in arrival order, each with an optional deadline and payload."""

    __slots__ = ("_entries", "_sweep_at")

    def __init__(self) -> None:
        self._entries: collections.deque[_Entry] = collections.deque()
        self._sweep_at = _FIRST_SWEEP

    def park(
        self,
        timeout: _Timeout | None = None,
        expire: Callable[[asyncio.Future[Any]], None] = _expire_with_error,
        payload: Any = None,
    ) -> asyncio.Future[_R]:
        """Queue a new pending future; at ``timeout`` it is settled by ``expire``."""
        fut: asyncio.Future[_R] = asyncio.Future()
        timer = None if timeout is None else _start_timer(fut, timeout, expire)
        entries = self._entries
        entries.append((fut, timer, payload))
        if len(entries) >= self._sweep_at:
            self._sweep()
        return fut

    def pop(self) -> _Entry | None:
        """Detach the oldest entry whose future is still pending (its timer disarmed)."""
        entries = self._entries
        while entries:
            entry = entries.popleft()
            if not entry[0].done():
                if entry[1] is not None:
                    entry[1].cancel()
                return entry
        return None

    def wake(self, value: _R) -> bool:
        """Resolve the oldest pending future with ``value``; False if nobody was waiting."""
        entry = self.pop()
        if entry is None:
            return False
        entry[0].set_result(value)
        return True

    def wake_all(self, value: _R) -> None:
        """Resolve every pending future with ``value`` and empty the list."""
        if not self._entries:
            return
        entries, self._entries = self._entries, collections.deque()
        for fut, timer, _ in entries:
            if not fut.done():
                if timer is not None:
                    timer.cancel()
                fut.set_result(value)

    def _sweep(self) -> None:
        live: collections.deque[_Entry] = collections.deque()
        for entry in self._entries:
            if not entry[0].done():
                live.append(entry)
            elif entry[1] is not None:
                entry[1].cancel()  # a cancelled waiter's deadline is moot
        self._entries = live
        self._sweep_at = max(_FIRST_SWEEP, 2 * len(live))

    def __len__(self) -> int:
        """How many futures are still pending (linear; meant for reprs and tests)."""
        return sum(not entry[0].done() for entry in self._entries)
