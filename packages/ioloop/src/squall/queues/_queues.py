"""FIFO, priority and LIFO queues for coroutines, plus their empty/full exceptions.

Not thread-safe (use :meth:`IOLoop.add_callback <squall.ioloop.IOLoop.add_callback>`
to feed a queue from another thread). Every blocking call takes a ``timeout``: an
absolute :meth:`IOLoop.time() <squall.ioloop.IOLoop.time>` deadline or a
:class:`datetime.timedelta`; when it expires, the pending call ends in
:class:`squall.util.TimeoutError`.

Blocked getters, putters and joiners wait on the same wait-list helper as
:mod:`squall.locks`: an item (or a free slot) is handed straight to the oldest caller
still waiting, so a call that timed out or was cancelled never swallows one.
Storage goes through three overridable hooks, ``_init()``, ``_put(item)`` and
``_get()``, working on ``self._queue``; :class:`PriorityQueue` and
:class:`LifoQueue` are nothing more than other choices of those hooks.
"""

from __future__ import annotations

import collections
import heapq
from collections.abc import Awaitable
from typing import Any, Generic, TypeVar

from squall.concurrent import Future
from squall.locks._waitlist import _ready, _Timeout, _WaitList

__all__ = ["LifoQueue", "PriorityQueue", "Queue", "QueueEmpty", "QueueFull"]

_T = TypeVar("_T")


class QueueEmpty(Exception):
    """Signals that :meth:`Queue.get_nowait` found nothing to take."""


class QueueFull(Exception):
    """Signals that :meth:`Queue.put_nowait` found the queue already holding ``maxsize`` items."""


class _QueueIterator(Generic[_T]):
    """``async for`` over a :class:`Queue`: each step is one :meth:`Queue.get`."""

    __slots__ = ("_source",)

    def __init__(self, source: Queue[_T]) -> None:
        self._source = source

    def __anext__(self) -> Awaitable[_T]:
        return self._source.get()


class Queue(Generic[_T]):
    """A FIFO queue for coroutines, with an optional ``maxsize`` (0 = unbounded).

    :meth:`put` waits while the queue is full, :meth:`get` while it is empty;
    :meth:`task_done` and :meth:`join` track completion as in :mod:`queue`.
    ``async for item in q:`` gets items forever (it never ends by itself).
    Raises :class:`TypeError` for ``maxsize=None`` and :class:`ValueError` if negative.
    """

    # The container made by _init(); its type is up to the subclass.
    _queue: Any

    def __init__(self, maxsize: int = 0) -> None:
        if maxsize is None:
            raise TypeError("Queue maxsize must be an int (0 for unbounded), not None")
        if maxsize < 0:
            raise ValueError(f"Queue maxsize cannot be negative (got {maxsize})")
        self._maxsize = maxsize
        self._getters: _WaitList[_T] = _WaitList()
        self._putters: _WaitList[None] = _WaitList()
        self._joiners: _WaitList[None] = _WaitList()
        self._unfinished = 0
        self._init()

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
        return 0 < self._maxsize <= self.qsize()

    def put(self, item: _T, timeout: _Timeout | None = None) -> Future[None]:
        """Add ``item``; the returned Future completes once there was space (or times out).

        If ``timeout`` passes first the future fails with :class:`TimeoutError` and
        ``item`` is not added.
        """
        if self.full():
            # Putters only ever wait behind a full queue, so this keeps them in order.
            return self._putters.park(timeout, payload=item)
        self._accept(item)
        return _ready(None)

    def put_nowait(self, item: _T) -> None:
        """Add ``item`` immediately, or raise :class:`QueueFull` when at capacity."""
        if self.full():
            raise QueueFull(f"queue already holds its maximum of {self._maxsize} items")
        self._accept(item)

    def get(self, timeout: _Timeout | None = None) -> Awaitable[_T]:
        """Take the next item, waiting while the queue is empty (or until ``timeout``).

        If ``timeout`` passes first the awaitable fails with :class:`TimeoutError`;
        the next item then goes to the next caller instead.
        """
        if self.empty():
            return self._getters.park(timeout)
        return _ready(self.get_nowait())

    def get_nowait(self) -> _T:
        """Non-waiting :meth:`get`: pops an item now or fails with :class:`QueueEmpty`."""
        if self.empty():
            raise QueueEmpty("no item is ready")
        # A blocked putter's item joins the queue before the pick is made, as if its
        # put() had succeeded first (this matters for priority and LIFO ordering).
        putter = self._putters.pop()
        if putter is not None:
            self._admit(putter[2])
            putter[0].set_result(None)
        return self._get()

    def task_done(self) -> None:
        """Mark one fetched item as processed (for :meth:`join`).

        Calling it more often than items were added is a :class:`ValueError`.
        """
        if not self._unfinished:
            raise ValueError("task_done() called too many times for the items put")
        self._unfinished -= 1
        if not self._unfinished:
            self._joiners.wake_all(None)

    def join(self, timeout: _Timeout | None = None) -> Awaitable[None]:
        """Wait until every item put has been processed (:meth:`task_done`).

        Raises :class:`TimeoutError` if ``timeout`` passes first.
        """
        if self._unfinished:
            return self._joiners.park(timeout)
        return _ready(None)

    def __aiter__(self) -> _QueueIterator[_T]:
        return _QueueIterator(self)

    def _admit(self, item: _T) -> None:
        self._unfinished += 1
        self._put(item)

    def _accept(self, item: _T) -> None:
        """Store ``item`` (there is room) and serve the oldest live getter, if any."""
        self._admit(item)
        # Getters only ever wait on an empty queue, so the item just stored is theirs.
        getter = self._getters.pop()
        if getter is not None:
            getter[0].set_result(self._get())

    # Storage hooks: subclasses override all three to change the ordering.
    def _init(self) -> None:
        """Create ``self._queue``, the item container."""
        self._queue = collections.deque()

    def _put(self, item: _T) -> None:
        """Store ``item`` in ``self._queue``."""
        self._queue.append(item)

    def _get(self) -> _T:
        """Remove and return the next item from ``self._queue`` (never called when empty)."""
        item: _T = self._queue.popleft()
        return item

    def _describe(self) -> str:
        parts = [f"maxsize={self._maxsize!r}"]
        if self._queue:
            parts.append(f"queue={self._queue!r}")
        for label, waiting in (("getters", self._getters), ("putters", self._putters)):
            count = len(waiting)
            if count:
                parts.append(f"{label}[{count}]")
        if self._unfinished:
            parts.append(f"tasks={self._unfinished}")
        return " ".join(parts)

    def __str__(self) -> str:
        return f"<{type(self).__name__} {self._describe()}>"

    def __repr__(self) -> str:
        return f"<{type(self).__name__} at {id(self):#x} {self._describe()}>"


class PriorityQueue(Queue[_T]):
    """A :class:`Queue` that returns the lowest item first (entries are often tuples
    like ``(priority, item)``); kept as a binary heap."""

    def _init(self) -> None:
        self._queue = []

    def _put(self, item: _T) -> None:
        heapq.heappush(self._queue, item)

    def _get(self) -> _T:
        smallest: _T = heapq.heappop(self._queue)
        return smallest


class LifoQueue(Queue[_T]):
    """A stack-ordered :class:`Queue`: :meth:`Queue.get` hands out the newest item.

    It shares :class:`Queue`'s deque and ``_put``; only ``_get`` takes from the other end.
    """

    def _get(self) -> _T:
        newest: _T = self._queue.pop()
        return newest
