"""Coroutine-friendly synchronisation primitives: :class:`Condition`, :class:`Event`,
:class:`Semaphore`, :class:`BoundedSemaphore` and :class:`Lock`.

They are not thread-safe (like asyncio's) and, unlike asyncio's, every wait accepts a
``timeout``: an absolute :meth:`IOLoop.time() <squall.ioloop.IOLoop.time>` deadline or a
:class:`datetime.timedelta` from now.
"""

from __future__ import annotations

import collections
import datetime
import types
from collections.abc import Awaitable
from typing import Any

from squall.concurrent import Future, future_set_result_unless_cancelled
from squall.gen import with_timeout
from squall.ioloop import IOLoop
from squall.util import TimeoutError

__all__ = ["BoundedSemaphore", "Condition", "Event", "Lock", "Semaphore"]

_Timeout = float | datetime.timedelta


def _current_loop() -> IOLoop:
    io_loop = IOLoop.current()
    assert io_loop is not None
    return io_loop


class _TimeoutGarbageCollector:
    """Drop waiters that timed out, every so often, so the waiter deque cannot grow forever."""

    def __init__(self) -> None:
        self._waiters: collections.deque[Future[Any]] = collections.deque()
        self._timeouts = 0

    def _garbage_collect(self) -> None:
        self._timeouts += 1
        if self._timeouts > 100:
            self._timeouts = 0
            self._waiters = collections.deque(w for w in self._waiters if not w.done())


class Condition(_TimeoutGarbageCollector):
    """Park coroutines until some other code signals them with :meth:`notify`.

    :meth:`wait` returns an awaitable resolving to True when notified, or to False if
    ``timeout`` passes first (no exception). There is no associated lock.
    """

    def __repr__(self) -> str:
        result = f"<{self.__class__.__name__}"
        if self._waiters:
            result += f" waiters[{len(self._waiters)}]"
        return result + ">"

    def wait(self, timeout: _Timeout | None = None) -> Awaitable[bool]:
        """Wait for :meth:`notify`; resolves True, or False if ``timeout`` passes first."""
        waiter: Future[bool] = Future()
        self._waiters.append(waiter)
        if timeout is not None:

            def on_timeout() -> None:
                if not waiter.done():
                    future_set_result_unless_cancelled(waiter, False)
                self._garbage_collect()

            io_loop = _current_loop()
            handle = io_loop.add_timeout(timeout, on_timeout)
            waiter.add_done_callback(lambda _: io_loop.remove_timeout(handle))
        return waiter

    def notify(self, n: int = 1) -> None:
        """Wake up to ``n`` waiters."""
        waiters = []
        while n and self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():  # it may have timed out
                n -= 1
                waiters.append(waiter)
        for waiter in waiters:
            future_set_result_unless_cancelled(waiter, True)

    def notify_all(self) -> None:
        """Wake up every waiter."""
        self.notify(len(self._waiters))


class Event:
    """A one-bit signal: coroutines calling :meth:`wait` stay parked while it is clear.

    Like :class:`asyncio.Event`, but :meth:`wait` accepts a ``timeout`` and then raises
    :class:`squall.util.TimeoutError`.
    """

    def __init__(self) -> None:
        self._value = False
        self._waiters: set[Future[None]] = set()

    def __repr__(self) -> str:
        return f"<{self.__class__.__name__} {'set' if self.is_set() else 'clear'}>"

    def is_set(self) -> bool:
        """Whether :meth:`set` has been called since the last :meth:`clear`."""
        return self._value

    def set(self) -> None:
        """Set the flag and wake every waiter; later :meth:`wait` calls return at once."""
        if not self._value:
            self._value = True
            for fut in self._waiters:
                if not fut.done():
                    fut.set_result(None)

    def clear(self) -> None:
        """Reset the flag: :meth:`wait` blocks again until :meth:`set`."""
        self._value = False

    def wait(self, timeout: _Timeout | None = None) -> Awaitable[None]:
        """Block the caller until :meth:`set`; on ``timeout``, raise :class:`TimeoutError`."""
        fut: Future[None] = Future()
        if self._value:
            fut.set_result(None)
            return fut
        self._waiters.add(fut)
        fut.add_done_callback(self._waiters.discard)
        if timeout is None:
            return fut
        timeout_fut = with_timeout(timeout, fut)
        # Stop waiting on the inner future once the timeout fires (or the caller cancels).
        timeout_fut.add_done_callback(lambda tf: fut.cancel() if not fut.done() else None)
        return timeout_fut


class _ReleasingContextManager:
    """What :meth:`Semaphore.acquire` resolves to: ``with (yield sem.acquire()):``."""

    __slots__ = ("_obj",)

    def __init__(self, obj: Semaphore | Lock) -> None:
        self._obj = obj

    def __enter__(self) -> None:
        pass

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc_val: BaseException | None,
        exc_tb: types.TracebackType | None,
    ) -> None:
        self._obj.release()


class Semaphore(_TimeoutGarbageCollector):
    """A counter: :meth:`acquire` decrements it (waiting at zero), :meth:`release` increments.

    Use ``async with sem:`` or ``await sem.acquire()`` ... ``sem.release()``; the
    generator-coroutine form ``with (yield sem.acquire()):`` also works. Raises
    :class:`ValueError` for a negative initial ``value``.
    """

    def __init__(self, value: int = 1) -> None:
        super().__init__()
        if value < 0:
            raise ValueError("semaphore initial value must be >= 0")
        self._value = value

    def __repr__(self) -> str:
        res = super().__repr__()
        extra = "locked" if self._value == 0 else f"unlocked,value:{self._value}"
        if self._waiters:
            extra = f"{extra},waiters:{len(self._waiters)}"
        return f"<{res[1:-1]} [{extra}]>"

    def release(self) -> None:
        """Add one to the counter, letting the longest-waiting :meth:`acquire` proceed."""
        self._value += 1
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                self._value -= 1
                # The waiter gets a context manager that releases on exit.
                waiter.set_result(_ReleasingContextManager(self))
                break

    def acquire(self, timeout: _Timeout | None = None) -> Awaitable[_ReleasingContextManager]:
        """Decrement the counter, waiting while it is zero.

        Raises :class:`TimeoutError` if ``timeout`` passes first.
        """
        waiter: Future[_ReleasingContextManager] = Future()
        if self._value > 0:
            self._value -= 1
            waiter.set_result(_ReleasingContextManager(self))
            return waiter
        self._waiters.append(waiter)
        if timeout is not None:

            def on_timeout() -> None:
                if not waiter.done():
                    waiter.set_exception(TimeoutError())
                self._garbage_collect()

            io_loop = _current_loop()
            handle = io_loop.add_timeout(timeout, on_timeout)
            waiter.add_done_callback(lambda _: io_loop.remove_timeout(handle))
        return waiter

    def __enter__(self) -> None:
        raise RuntimeError("Use 'async with' instead of 'with' for Semaphore")

    def __exit__(
        self,
        typ: type[BaseException] | None,
        value: BaseException | None,
        traceback: types.TracebackType | None,
    ) -> None:
        self.__enter__()

    async def __aenter__(self) -> None:
        await self.acquire()

    async def __aexit__(
        self,
        typ: type[BaseException] | None,
        value: BaseException | None,
        tb: types.TracebackType | None,
    ) -> None:
        self.release()


class BoundedSemaphore(Semaphore):
    """A :class:`Semaphore` that refuses to be released above its initial value.

    :meth:`release` raises :class:`ValueError` ("Semaphore released too many times").
    """

    def __init__(self, value: int = 1) -> None:
        super().__init__(value=value)
        self._initial_value = value

    def release(self) -> None:
        """Give back one unit; exceeding the starting count is refused with ValueError."""
        if self._value >= self._initial_value:
            raise ValueError("Semaphore released too many times")
        super().release()


class Lock:
    """Mutual exclusion for coroutines: :meth:`acquire` takes it, :meth:`release` frees it.

    Use ``async with lock:`` (or ``with (yield lock.acquire()):`` in a generator
    coroutine). Waiters acquire it in FIFO order. Both calling :meth:`release`
    while nobody holds the lock and a bare ``with lock:`` are errors
    (:class:`RuntimeError`).
    """

    def __init__(self) -> None:
        self._block = BoundedSemaphore(value=1)

    def __repr__(self) -> str:
        return f"<{self.__class__.__name__} _block={self._block}>"

    def acquire(self, timeout: _Timeout | None = None) -> Awaitable[_ReleasingContextManager]:
        """Block the caller until it holds the lock; on ``timeout``, raise :class:`TimeoutError`."""
        return self._block.acquire(timeout)

    def release(self) -> None:
        """Release the lock, waking the next waiter. RuntimeError if it is not locked."""
        try:
            self._block.release()
        except ValueError:
            raise RuntimeError("release unlocked lock")

    def __enter__(self) -> None:
        raise RuntimeError("Use `async with` instead of `with` for Lock")

    def __exit__(
        self,
        typ: type[BaseException] | None,
        value: BaseException | None,
        tb: types.TracebackType | None,
    ) -> None:
        self.__enter__()

    async def __aenter__(self) -> None:
        await self.acquire()

    async def __aexit__(
        self,
        typ: type[BaseException] | None,
        value: BaseException | None,
        tb: types.TracebackType | None,
    ) -> None:
        self.release()
