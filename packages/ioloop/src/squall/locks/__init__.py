"""Synchronisation primitives for coroutines (the ``tornado.locks`` API).

:class:`Condition`, :class:`Event`, :class:`Semaphore`, :class:`BoundedSemaphore` and
:class:`Lock`; every wait takes an optional ``timeout`` (deadline or timedelta).
"""

from __future__ import annotations

from types import FunctionType

from ._locks import BoundedSemaphore, Condition, Event, Lock, Semaphore

__all__ = ["BoundedSemaphore", "Condition", "Event", "Lock", "Semaphore"]


def _publish() -> None:
    # Report public classes and functions under this package rather than the
    # private module that defines them: clearer reprs and tracebacks, and
    # pickles that name the public path.
    for name in __all__:
        obj = globals()[name]
        if isinstance(obj, (type, FunctionType)) and obj.__module__.startswith(__name__ + "._"):
            obj.__module__ = __name__


_publish()
