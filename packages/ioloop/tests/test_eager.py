"""Tests for squall.ioloop._eager: coroutines started at once, a Task only if they wait."""

from __future__ import annotations

import asyncio
import contextvars
import sys

import pytest
from squall.ioloop._eager import _start_eagerly

marker: contextvars.ContextVar[str] = contextvars.ContextVar("marker", default="caller")
eager = pytest.mark.skipif(sys.version_info < (3, 12), reason="eager tasks are 3.12+")


def run(body):  # type: ignore[no-untyped-def]
    return asyncio.run(asyncio.wait_for(body(), 30))


@eager
def test_a_coroutine_that_never_waits_gets_no_task() -> None:
    seen: list[str] = []

    async def quick() -> None:
        seen.append(marker.get())
        marker.set("inside")

    async def body() -> None:
        assert _start_eagerly(quick()) is None
        assert seen == ["caller"]  # ran before _start_eagerly returned
        assert marker.get() == "caller"  # in a copy of the caller's context

    run(body)


def test_a_coroutine_that_waits_carries_on_in_a_task() -> None:
    steps: list[object] = []

    async def slow() -> int:
        token = marker.set("inside")
        steps.append("first")
        await asyncio.sleep(0)
        fut = asyncio.get_running_loop().create_future()
        asyncio.get_running_loop().call_soon(fut.set_result, 5)
        steps.append(await fut)
        marker.reset(token)  # the same context as the first step
        return 7

    async def body() -> None:
        task = _start_eagerly(slow())
        assert task is not None
        assert await task == 7
        assert steps == ["first", 5]
        assert marker.get() == "caller"

    run(body)


def test_errors_before_and_after_the_first_wait() -> None:
    async def at_once() -> None:
        raise KeyError("now")

    async def later() -> None:
        await asyncio.sleep(0)
        raise ValueError("later")

    async def awaits_a_failed_future() -> str:
        fut = asyncio.get_running_loop().create_future()
        asyncio.get_running_loop().call_soon(fut.set_exception, OSError("gone"))
        try:
            await fut
        except OSError as exc:
            return f"caught {exc}"
        return "not raised"

    async def body() -> None:
        if sys.version_info >= (3, 12):
            with pytest.raises(KeyError):
                _start_eagerly(at_once())
        else:
            first = _start_eagerly(at_once())
            assert first is not None
            with pytest.raises(KeyError):
                await first
        task = _start_eagerly(later())
        assert task is not None
        with pytest.raises(ValueError, match="later"):
            await task
        task = _start_eagerly(awaits_a_failed_future())
        assert task is not None and await task == "caught gone"

    run(body)


def test_cancelling_the_task_reaches_the_coroutine() -> None:
    events: list[str] = []

    async def sleeper() -> None:
        try:
            await asyncio.sleep(3600)
        except asyncio.CancelledError:
            events.append("cancelled inside")
            raise
        finally:
            events.append("finally")

    async def body() -> None:
        task = _start_eagerly(sleeper())
        assert task is not None
        await asyncio.sleep(0)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert events == ["cancelled inside", "finally"]

    run(body)


def test_the_first_step_runs_as_a_task() -> None:
    # Libraries (redis-py, anyio) use asyncio.timeout(), which needs current_task().
    seen: list[object] = []

    async def uses_timeout() -> str:
        seen.append(asyncio.current_task())
        async with asyncio.timeout(30):
            await asyncio.sleep(0)
        return "ok"

    async def body() -> None:
        task = _start_eagerly(uses_timeout())
        assert task is not None and await task == "ok"
        assert seen == [task]

    if sys.version_info < (3, 11):
        pytest.skip("asyncio.timeout is 3.11+")
    run(body)
