"""Locks, events and semaphores that coroutines can await (mirrors ``tornado.locks``).

The package offers :class:`Condition`, :class:`Event`, :class:`Semaphore`,
:class:`BoundedSemaphore` and :class:`Lock`. Any of their waiting methods can be
bounded with ``timeout``, given as a loop-clock deadline or a timedelta.
"""

from __future__ import annotations

from squall.util._util import _publish_public_names

from ._locks import BoundedSemaphore, Condition, Event, Lock, Semaphore

__all__ = ["BoundedSemaphore", "Condition", "Event", "Lock", "Semaphore"]


_publish_public_names(globals())
