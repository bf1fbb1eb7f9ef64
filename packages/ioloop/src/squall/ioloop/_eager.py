"""Start a coroutine at once, and give it a Task only if it has to wait.

Most request handlers never wait (their writes complete at once): a Task for
each costs a pass of the event loop and several allocations. Like Python
3.12's eager tasks, :func:`_start_eagerly` runs the coroutine's first step
right away, in a copy of the caller's context, and only when the coroutine
waits does a Task carry it on from there, in that same context. Python
3.12+ uses asyncio's own eager start, 3.11 the small driver below; on 3.10
(no ``create_task(context=...)``) every coroutine simply gets its Task.
"""

from __future__ import annotations

import asyncio
import contextvars
import sys
from collections.abc import Coroutine, Generator
from typing import Any, TypeVar

__all__: list[str] = []

_T = TypeVar("_T")

_NATIVE = sys.version_info >= (3, 12)
# The Task that carries on must run in the very context of the first step
# (a ContextVar token made there is reset there): create_task(context=) is 3.11+.
_DRIVEN = sys.version_info >= (3, 11)


def _start_eagerly(coro: Coroutine[Any, Any, _T]) -> asyncio.Future[_T] | None:
    """Run ``coro`` until it first waits; ``None`` if it finished, else its Task.

    An exception raised before the first wait is raised here; later ones
    end up in the Task, as usual. Call it from the loop's thread.
    """
    loop = asyncio.get_running_loop()
    if _NATIVE:
        task: asyncio.Task[_T] = asyncio.Task(coro, loop=loop, eager_start=True)  # type: ignore[call-arg,unused-ignore]
        if not task.done():
            return task
        if not task.cancelled() and task.exception() is not None:
            raise task.exception()  # type: ignore[misc]
        return None
    if not _DRIVEN:
        return loop.create_task(coro)
    context = contextvars.copy_context()
    try:
        waiting_on = context.run(coro.send, None)
    except StopIteration:
        return None
    return loop.create_task(_carry_on(coro, waiting_on), context=context)  # type: ignore[call-arg,unused-ignore]


class _Yield:
    """Awaitable that gives the loop one turn (what a bare ``yield`` asks for)."""

    __slots__ = ()

    def __await__(self) -> Generator[None, None, None]:
        yield


async def _carry_on(coro: Coroutine[Any, Any, _T], waiting_on: Any) -> _T:
    """Drive ``coro`` on from a step that yielded ``waiting_on``, as a Task would."""
    while True:
        error: BaseException | None = None
        try:
            if waiting_on is None:
                await _Yield()
            elif getattr(waiting_on, "_asyncio_future_blocking", None) is not None:
                waiting_on._asyncio_future_blocking = False
                await waiting_on
            else:
                error = RuntimeError(f"coroutine yielded {waiting_on!r}, not a future")
        except asyncio.CancelledError as exc:
            error = exc  # this task was cancelled: the coroutine gets it where it waits
        except Exception:
            pass  # the future failed: the coroutine reads that itself when resumed
        try:
            waiting_on = coro.send(None) if error is None else coro.throw(error)
        except StopIteration as done:
            return done.value  # type: ignore[no-any-return]
