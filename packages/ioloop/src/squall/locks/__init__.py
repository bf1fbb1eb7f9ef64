"""Synchronisation primitives for coroutines (the ``tornado.locks`` API).

:class:`Condition`, :class:`Event`, :class:`Semaphore`, :class:`BoundedSemaphore` and
:class:`Lock`; every wait takes an optional ``timeout`` (deadline or timedelta).
"""

from __future__ import annotations

from ._locks import BoundedSemaphore, Condition, Event, Lock, Semaphore

__all__ = ["BoundedSemaphore", "Condition", "Event", "Lock", "Semaphore"]
