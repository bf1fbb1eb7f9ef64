"""Asynchronous queues for coroutines (the ``tornado.queues`` API).

:class:`Queue`, :class:`PriorityQueue`, :class:`LifoQueue`, :class:`QueueEmpty`,
:class:`QueueFull`.
"""

from __future__ import annotations

from types import FunctionType

from ._queues import LifoQueue, PriorityQueue, Queue, QueueEmpty, QueueFull

__all__ = ["LifoQueue", "PriorityQueue", "Queue", "QueueEmpty", "QueueFull"]


def _publish() -> None:
    # Report public classes and functions under this package rather than the
    # private module that defines them: clearer reprs and tracebacks, and
    # pickles that name the public path.
    for name in __all__:
        obj = globals()[name]
        if isinstance(obj, (type, FunctionType)) and obj.__module__.startswith(__name__ + "._"):
            obj.__module__ = __name__


_publish()
