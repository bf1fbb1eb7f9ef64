"""Synchronisation primitives for coroutines (the ``tornado.locks`` API).

:class:`Condition`, :class:`Event`, :class:`Semaphore`, :class:`BoundedSemaphore` and
:class:`Lock`; every wait takes an optional ``timeout`` (deadline or timedelta).
"""

from __future__ import annotations

from squall.util._util import _publish_public_names

from ._locks import BoundedSemaphore, Condition, Event, Lock, Semaphore

__all__ = ["BoundedSemaphore", "Condition", "Event", "Lock", "Semaphore"]


_publish_public_names(globals())
