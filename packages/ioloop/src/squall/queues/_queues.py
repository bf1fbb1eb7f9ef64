"""FIFO, priority and LIFO queues for coroutines, plus their empty/full exceptions.

Not thread-safe (use :meth:`IOLoop.add_callback <squall.ioloop.IOLoop.add_callback>`
to feed a queue from another thread). Every blocking call takes a ``timeout``: an
absolute :meth:`IOLoop.time() <squall.ioloop.IOLoop.time>` deadline or a
:class:`datetime.timedelta`; when it expires, the pending call ends in
:class:`squall.util.TimeoutError`.
"""

from __future__ import annotations

import collections
import datetime
import heapq
from collections.abc import Awaitable
from typing import Any, Generic, TypeVar

from squall.concurrent import Future, future_set_result_unless_cancelled
from squall.ioloop import IOLoop
from squall.locks import Event
from squall.util import TimeoutError

__all__ = ["LifoQueue", "PriorityQueue", "Queue", "QueueEmpty", "QueueFull"]

_T = TypeVar("_T")
_Timeout = float | datetime.timedelta


class QueueEmpty(Exception):
    """Signals that :meth:`Queue.get_nowait` found nothing to take."""


class QueueFull(Exception):
    """Signals that :meth:`Queue.put_nowait` found the queue already holding ``maxsize`` items."""


def _set_timeout(future: Future[Any], timeout: _Timeout | None) -> None:
    if timeout is None:
        return

    def on_timeout() -> None:
        if not future.done():
            future.set_exception(TimeoutError())

    io_loop = IOLoop.current()
    assert io_loop is not None
    handle = io_loop.add_timeout(timeout, on_timeout)
    future.add_done_callback(lambda _: io_loop.remove_timeout(handle))


class _QueueIterator(Generic[_T]):
    __slots__ = ("q",)

    def __init__(self, q: Queue[_T]) -> None:
        self.q = q

    def __anext__(self) -> Awaitable[_T]:
        return self.q.get()


class Queue(Generic[_T]):
    """A FIFO queue for coroutines, with an optional ``maxsize`` (0 = unbounded).

    :meth:`put` waits while the queue is full, :meth:`get` while it is empty;
    :meth:`task_done` and :meth:`join` track completion as in :mod:`queue`.
    ``async for item in q:`` gets items forever (it never ends by itself).
    Raises :class:`TypeError` for ``maxsize=None`` and :class:`ValueError` if negative.
    """

    # Exact type is defined by _init() in subclasses.
    _queue: Any = None

    def __init__(self, maxsize: int = 0) -> None:
        if maxsize is None:
            raise TypeError("maxsize can't be None")
        if maxsize < 0:
            raise ValueError("maxsize can't be negative")
        self._maxsize = maxsize
        self._init()
        self._getters: collections.deque[Future[_T]] = collections.deque()
        self._putters: collections.deque[tuple[_T, Future[None]]] = collections.deque()
        self._unfinished_tasks = 0
        self._finished = Event()
        self._finished.set()

    @property
    def maxsize(self) -> int:
        """Capacity given to the constructor; 0 means unbounded."""
        return self._maxsize

    def qsize(self) -> int:
        """How many items are waiting to be taken right now."""
        return len(self._queue)

    def empty(self) -> bool:
        """True when a :meth:`get_nowait` would raise :class:`QueueEmpty`."""
        return not self._queue

    def full(self) -> bool:
        """Return True if the queue holds ``maxsize`` items (never for maxsize 0)."""
        if self.maxsize == 0:
            return False
        return self.qsize() >= self.maxsize

    def put(self, item: _T, timeout: _Timeout | None = None) -> Future[None]:
        """Add ``item``; the returned Future completes once there was space (or times out)."""
        future: Future[None] = Future()
        try:
            self.put_nowait(item)
        except QueueFull:
            self._putters.append((item, future))
            _set_timeout(future, timeout)
        else:
            future.set_result(None)
        return future

    def put_nowait(self, item: _T) -> None:
        """Add ``item`` immediately, or raise :class:`QueueFull` when at capacity."""
        self._consume_expired()
        if self._getters:
            assert self.empty(), "queue non-empty, why are getters waiting?"
            getter = self._getters.popleft()
            self.__put_internal(item)
            future_set_result_unless_cancelled(getter, self._get())
        elif self.full():
            raise QueueFull
        else:
            self.__put_internal(item)

    def get(self, timeout: _Timeout | None = None) -> Awaitable[_T]:
        """Take the next item, waiting while the queue is empty (or until ``timeout``)."""
        future: Future[_T] = Future()
        try:
            future.set_result(self.get_nowait())
        except QueueEmpty:
            self._getters.append(future)
            _set_timeout(future, timeout)
        return future

    def get_nowait(self) -> _T:
        """Non-waiting :meth:`get`: pops an item now or fails with :class:`QueueEmpty`."""
        self._consume_expired()
        if self._putters:
            assert self.full(), "queue not full, why are putters waiting?"
            item, putter = self._putters.popleft()
            self.__put_internal(item)
            future_set_result_unless_cancelled(putter, None)
            return self._get()
        if self.qsize():
            return self._get()
        raise QueueEmpty

    def task_done(self) -> None:
        """Mark one fetched item as processed (for :meth:`join`).

        Calling it more often than items were added is a :class:`ValueError`.
        """
        if self._unfinished_tasks <= 0:
            raise ValueError("task_done() called too many times")
        self._unfinished_tasks -= 1
        if self._unfinished_tasks == 0:
            self._finished.set()

    def join(self, timeout: _Timeout | None = None) -> Awaitable[None]:
        """Wait until every item put has been processed (:meth:`task_done`)."""
        return self._finished.wait(timeout)

    def __aiter__(self) -> _QueueIterator[_T]:
        return _QueueIterator(self)

    # Storage hooks, overridden by PriorityQueue and LifoQueue.
    def _init(self) -> None:
        self._queue = collections.deque()

    def _get(self) -> _T:
        item: _T = self._queue.popleft()
        return item

    def _put(self, item: _T) -> None:
        self._queue.append(item)

    def __put_internal(self, item: _T) -> None:
        self._unfinished_tasks += 1
        self._finished.clear()
        self._put(item)

    def _consume_expired(self) -> None:
        # Drop waiters whose futures timed out or were cancelled.
        while self._putters and self._putters[0][1].done():
            self._putters.popleft()
        while self._getters and self._getters[0].done():
            self._getters.popleft()

    def __repr__(self) -> str:
        return f"<{type(self).__name__} at {hex(id(self))} {self._format()}>"

    def __str__(self) -> str:
        return f"<{type(self).__name__} {self._format()}>"

    def _format(self) -> str:
        result = f"maxsize={self.maxsize!r}"
        if getattr(self, "_queue", None):
            result += f" queue={self._queue!r}"
        if self._getters:
            result += f" getters[{len(self._getters)}]"
        if self._putters:
            result += f" putters[{len(self._putters)}]"
        if self._unfinished_tasks:
            result += f" tasks={self._unfinished_tasks}"
        return result


class PriorityQueue(Queue[_T]):
    """A :class:`Queue` that returns the lowest item first (entries are often tuples
    like ``(priority, item)``)."""

    def _init(self) -> None:
        self._queue = []

    def _put(self, item: _T) -> None:
        heapq.heappush(self._queue, item)

    def _get(self) -> _T:
        item: _T = heapq.heappop(self._queue)
        return item


class LifoQueue(Queue[_T]):
    """A stack-ordered :class:`Queue`: :meth:`Queue.get` hands out the newest item."""

    def _init(self) -> None:
        self._queue = []

    def _put(self, item: _T) -> None:
        self._queue.append(item)

    def _get(self) -> _T:
        item: _T = self._queue.pop()
        return item
