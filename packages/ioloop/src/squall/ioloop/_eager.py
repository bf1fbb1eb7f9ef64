"""Start a coroutine at once, and keep its Task only if it has to wait.

Most request handlers never wait (their writes complete at once): a Task
scheduled for each costs a pass of the event loop before the handler even
starts. On Python 3.12+ :func:`_start_eagerly` makes an eager Task
(``eager_start=True``): the coroutine's first step runs right away, as the
current task (so ``asyncio.timeout()``, ``current_task()`` and
contextvars behave as in any task), and the loop only schedules it if it
waits. Older Pythons have no such Task, and running the step outside any
task breaks libraries that need ``current_task()``: there the coroutine
simply gets an ordinary Task.
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Coroutine
from typing import Any, TypeVar

__all__: list[str] = []

_T = TypeVar("_T")

_EAGER = sys.version_info >= (3, 12)


def _start_eagerly(coro: Coroutine[Any, Any, _T]) -> asyncio.Future[_T] | None:
    """Run ``coro`` until it first waits; ``None`` if it finished, else its Task.

    On 3.12+ an exception raised before the first wait is raised here;
    later ones (and every one before 3.12) end up in the Task, as usual.
    Call it from the loop's thread.
    """
    loop = asyncio.get_running_loop()
    if not _EAGER:
        return loop.create_task(coro)
    task: asyncio.Task[_T] = asyncio.Task(coro, loop=loop, eager_start=True)  # type: ignore[call-arg,unused-ignore]
    if not task.done():
        return task
    if not task.cancelled():
        error = task.exception()
        if error is not None:
            raise error
    return None
