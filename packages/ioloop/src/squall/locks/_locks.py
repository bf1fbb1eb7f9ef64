"""Coroutine-friendly synchronisation primitives: :class:`Condition`, :class:`Event`,
:class:`Semaphore`, :class:`BoundedSemaphore` and :class:`Lock`.

They are not thread-safe (like asyncio's) and, unlike asyncio's, every wait accepts a
``timeout``: an absolute :meth:`IOLoop.time() <squall.ioloop.IOLoop.time>` deadline or a
:class:`datetime.timedelta` from now. All of them park their waiters on one shared
helper, :class:`~squall.locks._waitlist._WaitList`, which hands each notification,
permit or flag change straight to the oldest waiter that is still waiting.
"""

from __future__ import annotations

import asyncio
import types
from collections.abc import Awaitable
from typing import Any, cast

from ._waitlist import _expire_with_false, _ready, _Timeout, _WaitList

__all__ = ["BoundedSemaphore", "Condition", "Event", "Lock", "Semaphore"]


class _TimeoutGarbageCollector:
    """Shared base of :class:`Condition` and :class:`Semaphore`: owns their wait list.

    (The name is kept for API compatibility; expired waiters are dropped by the
    wait list itself.)
    """

    def __init__(self) -> None:
        self._waiters: _WaitList[Any] = _WaitList()


class Condition(_TimeoutGarbageCollector):
    """Park coroutines until some other code signals them with :meth:`notify`.

    :meth:`wait` returns an awaitable resolving to True when notified, or to False if
    ``timeout`` passes first (no exception). There is no associated lock.
    """

    def __repr__(self) -> str:
        parked = len(self._waiters)
        return (
            f"<{type(self).__name__} waiters[{parked}]>" if parked else f"<{type(self).__name__}>"
        )

    def wait(self, timeout: _Timeout | None = None) -> Awaitable[bool]:
        """Wait for :meth:`notify`; resolves True, or False if ``timeout`` passes first."""
        return self._waiters.park(timeout, _expire_with_false)

    def notify(self, n: int = 1) -> None:
        """Wake up to ``n`` waiters, oldest first (expired or cancelled ones do not count)."""
        wake = self._waiters.wake
        while n > 0 and wake(True):
            n -= 1

    def notify_all(self) -> None:
        """Wake up every waiter."""
        self._waiters.wake_all(True)


class Event:
    """A one-bit signal: coroutines calling :meth:`wait` stay parked while it is clear.

    Like :class:`asyncio.Event`, but :meth:`wait` accepts a ``timeout`` and then raises
    :class:`squall.util.TimeoutError`.
    """

    def __init__(self) -> None:
        self._flag = False
        self._waiters: _WaitList[None] = _WaitList()

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {'set' if self._flag else 'clear'}>"

    def is_set(self) -> bool:
        """Whether :meth:`set` has been called since the last :meth:`clear`."""
        return self._flag

    def set(self) -> None:
        """Set the flag and wake every waiter; later :meth:`wait` calls return at once."""
        self._flag = True
        self._waiters.wake_all(None)

    def clear(self) -> None:
        """Reset the flag: :meth:`wait` blocks again until :meth:`set`."""
        self._flag = False

    def wait(self, timeout: _Timeout | None = None) -> Awaitable[None]:
        """Block the caller until :meth:`set`; on ``timeout``, raise :class:`TimeoutError`.

        Cancelling the returned future abandons just this wait.
        """
        if self._flag:
            return _ready(None)
        return self._waiters.park(timeout)


class _ReleasingContextManager:
    """What :meth:`Semaphore.acquire` resolves to: ``with (yield sem.acquire()):``."""

    __slots__ = ("_obj",)

    def __init__(self, obj: Semaphore | Lock) -> None:
        self._obj = obj

    def __enter__(self) -> None:
        return None

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc_val: BaseException | None,
        exc_tb: types.TracebackType | None,
    ) -> None:
        self._obj.release()


async def _enter(owner: Semaphore | Lock) -> None:
    """``async with`` entry that never leaks the resource when the task is cancelled."""
    grant = cast("asyncio.Future[_ReleasingContextManager]", owner.acquire())
    try:
        await grant
    except BaseException:
        # cancel() fails only if the grant already settled; if it settled with the
        # resource (not by being cancelled), hand the resource back.
        if not grant.cancel() and not grant.cancelled():
            owner.release()
        raise


def _sync_with_refused(kind: str) -> RuntimeError:
    return RuntimeError(f"{kind} must be used with 'async with', not a plain 'with'")


class Semaphore(_TimeoutGarbageCollector):
    """A counter: :meth:`acquire` decrements it (waiting at zero), :meth:`release` increments.

    Use ``async with sem:`` or ``await sem.acquire()`` ... ``sem.release()``; the
    generator-coroutine form ``with (yield sem.acquire()):`` also works. Waiters are
    served in FIFO order. Raises :class:`ValueError` for a negative initial ``value``.
    """

    def __init__(self, value: int = 1) -> None:
        if value < 0:
            raise ValueError(f"a semaphore cannot start below zero (got {value})")
        super().__init__()
        self._free = value
        self._grant = _ReleasingContextManager(self)

    def __repr__(self) -> str:
        state = f"unlocked,value:{self._free}" if self._free else "locked"
        parked = len(self._waiters)
        if parked:
            state += f",waiters:{parked}"
        return f"<{type(self).__name__} at {id(self):#x} [{state}]>"

    def release(self) -> None:
        """Add one to the counter, letting the longest-waiting :meth:`acquire` proceed."""
        # A permit goes straight to a waiter if there is one; otherwise it is banked.
        if not self._waiters.wake(self._grant):
            self._free += 1

    def acquire(self, timeout: _Timeout | None = None) -> Awaitable[_ReleasingContextManager]:
        """Decrement the counter, waiting while it is zero.

        Raises :class:`TimeoutError` if ``timeout`` passes first; a waiter that timed
        out or was cancelled never consumes a later :meth:`release`.
        """
        if self._free > 0:
            self._free -= 1
            return _ready(self._grant)
        return self._waiters.park(timeout)

    def __enter__(self) -> None:
        raise _sync_with_refused("Semaphore")

    def __exit__(
        self,
        typ: type[BaseException] | None,
        value: BaseException | None,
        traceback: types.TracebackType | None,
    ) -> None:
        raise _sync_with_refused("Semaphore")

    async def __aenter__(self) -> None:
        await _enter(self)

    async def __aexit__(
        self,
        typ: type[BaseException] | None,
        value: BaseException | None,
        tb: types.TracebackType | None,
    ) -> None:
        self.release()


class BoundedSemaphore(Semaphore):
    """A :class:`Semaphore` that refuses to be released above its initial value.

    Such a :meth:`release` raises :class:`ValueError`.
    """

    def __init__(self, value: int = 1) -> None:
        super().__init__(value=value)
        self._ceiling = value

    def release(self) -> None:
        """Give back one unit; exceeding the starting count is refused with ValueError."""
        if self._free >= self._ceiling:
            raise ValueError(f"BoundedSemaphore released too many times (limit {self._ceiling})")
        super().release()


class Lock:
    """Mutual exclusion for coroutines: :meth:`acquire` takes it, :meth:`release` frees it.

    Use ``async with lock:`` (or ``with (yield lock.acquire()):`` in a generator
    coroutine). Waiters acquire it in FIFO order. Both calling :meth:`release`
    while nobody holds the lock and a bare ``with lock:`` are errors
    (:class:`RuntimeError`).
    """

    def __init__(self) -> None:
        self._held = False
        self._waiters: _WaitList[_ReleasingContextManager] = _WaitList()
        self._grant = _ReleasingContextManager(self)

    def __repr__(self) -> str:
        state = "locked" if self._held else "unlocked"
        parked = len(self._waiters)
        if parked:
            state += f", {parked} waiting"
        return f"<{type(self).__name__} {state}>"

    def acquire(self, timeout: _Timeout | None = None) -> Awaitable[_ReleasingContextManager]:
        """Block the caller until it holds the lock; on ``timeout``, raise :class:`TimeoutError`."""
        if self._held:
            return self._waiters.park(timeout)
        self._held = True
        return _ready(self._grant)

    def release(self) -> None:
        """Release the lock, waking the next waiter. RuntimeError if it is not locked."""
        if not self._held:
            raise RuntimeError("cannot release unlocked lock")
        # Ownership passes directly to the oldest live waiter, if any.
        self._held = self._waiters.wake(self._grant)

    def __enter__(self) -> None:
        raise _sync_with_refused("Lock")

    def __exit__(
        self,
        typ: type[BaseException] | None,
        value: BaseException | None,
        tb: types.TracebackType | None,
    ) -> None:
        raise _sync_with_refused("Lock")

    async def __aenter__(self) -> None:
        await _enter(self)

    async def __aexit__(
        self,
        typ: type[BaseException] | None,
        value: BaseException | None,
        tb: types.TracebackType | None,
    ) -> None:
        self.release()
