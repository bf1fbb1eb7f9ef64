"""Tests for squall.queues."""

from __future__ import annotations

import datetime

import pytest
from squall.ioloop import IOLoop
from squall.queues import LifoQueue, PriorityQueue, Queue, QueueEmpty, QueueFull
from squall.util import TimeoutError

from squall import gen

SHORT = datetime.timedelta(milliseconds=5)


@pytest.fixture
def io_loop():
    loop = IOLoop(make_current=False)
    yield loop
    loop.close()


def test_maxsize_validation():
    with pytest.raises(TypeError):
        Queue(maxsize=None)
    with pytest.raises(ValueError):
        Queue(maxsize=-1)
    assert Queue().maxsize == 0
    assert Queue(3).maxsize == 3


def test_nowait_fifo_and_limits(io_loop):
    async def main():
        q = Queue(maxsize=2)
        assert q.empty() and not q.full()
        q.put_nowait(1)
        q.put_nowait(2)
        assert q.full() and q.qsize() == 2
        with pytest.raises(QueueFull):
            q.put_nowait(3)
        assert [q.get_nowait(), q.get_nowait()] == [1, 2]
        with pytest.raises(QueueEmpty):
            q.get_nowait()

    io_loop.run_sync(main)


def test_unbounded_queue_is_never_full(io_loop):
    async def main():
        q = Queue()
        for i in range(100):
            q.put_nowait(i)
        return q.full(), q.qsize()

    assert io_loop.run_sync(main) == (False, 100)


def test_get_waits_for_put(io_loop):
    async def main():
        q = Queue()
        getter = q.get()
        assert not getter.done()
        await q.put("item")
        return await getter

    assert io_loop.run_sync(main) == "item"


def test_put_waits_for_room(io_loop):
    async def main():
        q = Queue(maxsize=1)
        await q.put(1)
        putter = q.put(2)
        assert not putter.done()
        assert await q.get() == 1
        await putter
        return q.get_nowait()

    assert io_loop.run_sync(main) == 2


def test_get_timeout(io_loop):
    async def main():
        q = Queue()
        with pytest.raises(TimeoutError):
            await q.get(timeout=SHORT)
        # The expired getter must not swallow the next item.
        q.put_nowait("x")
        return q.get_nowait()

    assert io_loop.run_sync(main) == "x"


def test_put_timeout(io_loop):
    async def main():
        q = Queue(maxsize=1)
        q.put_nowait(1)
        with pytest.raises(gen.TimeoutError):
            await q.put(2, timeout=io_loop.time() + 0.005)
        assert q.get_nowait() == 1
        with pytest.raises(QueueEmpty):
            q.get_nowait()  # the timed-out item was not added

    io_loop.run_sync(main)


def test_task_done_and_join(io_loop):
    async def main():
        q = Queue()
        await q.join()  # nothing pending: returns at once
        for i in range(3):
            q.put_nowait(i)
        joined = q.join()
        results = []

        async def consumer():
            async for item in q:
                results.append(item)
                q.task_done()

        consumer_task = gen.convert_yielded(consumer())
        await joined
        consumer_task.cancel()
        return results

    assert io_loop.run_sync(main) == [0, 1, 2]


def test_task_done_too_many_times():
    q = Queue()
    with pytest.raises(ValueError, match="too many times"):
        q.task_done()


def test_join_timeout(io_loop):
    async def main():
        q = Queue()
        q.put_nowait(1)
        with pytest.raises(TimeoutError):
            await q.join(timeout=SHORT)

    io_loop.run_sync(main)


def test_priority_queue_returns_lowest_first(io_loop):
    async def main():
        q = PriorityQueue()
        for item in [(2, "b"), (0, "a"), (5, "c")]:
            q.put_nowait(item)
        return [q.get_nowait() for _ in range(3)]

    assert io_loop.run_sync(main) == [(0, "a"), (2, "b"), (5, "c")]


def test_lifo_queue_returns_last_first(io_loop):
    async def main():
        q = LifoQueue()
        for i in range(3):
            await q.put(i)
        return [await q.get() for _ in range(3)]

    assert io_loop.run_sync(main) == [2, 1, 0]


def test_repr_and_str(io_loop):
    async def main():
        q = Queue()
        q.put_nowait(1)
        return repr(q), str(q)

    r, s = io_loop.run_sync(main)
    assert r.startswith("<Queue at 0x") and "tasks=1" in r
    assert s == "<Queue maxsize=0 queue=deque([1]) tasks=1>"


def test_producer_consumer(io_loop):
    async def main():
        q = Queue(maxsize=2)
        out = []

        async def producer():
            for i in range(10):
                await q.put(i)

        async def consumer():
            for _ in range(10):
                out.append(await q.get())
                q.task_done()

        await gen.multi([producer(), consumer()])
        await q.join(timeout=datetime.timedelta(seconds=5))
        return out

    assert io_loop.run_sync(main) == list(range(10))
