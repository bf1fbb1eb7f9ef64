"""Producer/consumer queues whose blocking calls are awaitable; mirrors ``tornado.queues``.

:class:`Queue`, :class:`PriorityQueue`, :class:`LifoQueue`, :class:`QueueEmpty`,
:class:`QueueFull`.
"""

from __future__ import annotations

from squall.util._util import _publish_public_names

from ._queues import LifoQueue, PriorityQueue, Queue, QueueEmpty, QueueFull

__all__ = ["LifoQueue", "PriorityQueue", "Queue", "QueueEmpty", "QueueFull"]


_publish_public_names(globals())
