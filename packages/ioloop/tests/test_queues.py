"""Tests for squall.queues."""

from __future__ import annotations

import asyncio
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


# -- Timeouts, ordering, cancellation and subclass hooks --------------------------------


async def _spin(n=5):
    for _ in range(n):
        await asyncio.sleep(0)


def test_get_timeout_as_loop_deadline(io_loop):
    async def main():
        q = Queue()
        with pytest.raises(TimeoutError):
            await q.get(timeout=io_loop.time() + 0.005)
        return q.qsize(), str(q)

    assert io_loop.run_sync(main) == (0, "<Queue maxsize=0>")


def test_put_timeout_as_timedelta_drops_the_item(io_loop):
    async def main():
        q = Queue(maxsize=1)
        q.put_nowait("kept")
        with pytest.raises(TimeoutError):
            await q.put("dropped", timeout=SHORT)
        first = q.get_nowait()
        return first, q.empty()

    assert io_loop.run_sync(main) == ("kept", True)


def test_cancelled_getter_does_not_swallow_item(io_loop):
    async def main():
        q = Queue()
        gone = q.get()
        live = q.get()
        gone.cancel()
        q.put_nowait("a")
        return await live, gone.cancelled()

    assert io_loop.run_sync(main) == ("a", True)


def test_cancelled_putter_item_is_not_added(io_loop):
    async def main():
        q = Queue(maxsize=1)
        q.put_nowait(1)
        gone = q.put(2)
        live = q.put(3)
        gone.cancel()
        assert q.get_nowait() == 1
        await live
        return q.get_nowait(), q.empty()

    assert io_loop.run_sync(main) == (3, True)


def test_getters_are_served_in_arrival_order(io_loop):
    async def main():
        q = Queue()
        getters = [q.get() for _ in range(3)]
        assert "getters[3]" in str(q)
        for item in "xyz":
            q.put_nowait(item)
        return [await g for g in getters]

    assert io_loop.run_sync(main) == ["x", "y", "z"]


def test_putters_are_admitted_in_arrival_order(io_loop):
    async def main():
        q = Queue(maxsize=1)
        q.put_nowait(0)
        putters = [q.put(i) for i in (1, 2, 3)]
        assert "putters[3]" in str(q)
        out = []
        for _ in range(4):
            out.append(await q.get())
        await gen.multi(putters)
        return out

    assert io_loop.run_sync(main) == [0, 1, 2, 3]


def test_get_nowait_admits_a_waiting_putter(io_loop):
    async def main():
        q = Queue(maxsize=2)
        q.put_nowait("a")
        q.put_nowait("b")
        putter = q.put("c")
        assert q.get_nowait() == "a"
        assert putter.done() and q.full() and q.qsize() == 2
        return [q.get_nowait(), q.get_nowait()]

    assert io_loop.run_sync(main) == ["b", "c"]


def test_priority_queue_counts_a_waiting_putter_when_picking(io_loop):
    async def main():
        q = PriorityQueue(maxsize=1)
        q.put_nowait((5, "low"))
        putter = q.put((0, "urgent"))
        first = await q.get()
        await putter
        return first, q.get_nowait()

    assert io_loop.run_sync(main) == ((0, "urgent"), (5, "low"))


def test_lifo_queue_with_waiting_getter_and_limit(io_loop):
    async def main():
        q = LifoQueue(maxsize=2)
        getter = q.get()
        q.put_nowait("handed")
        assert await getter == "handed" and q.empty()
        q.put_nowait(1)
        q.put_nowait(2)
        with pytest.raises(QueueFull):
            q.put_nowait(3)
        return [q.get_nowait(), q.get_nowait()]

    assert io_loop.run_sync(main) == [2, 1]


def test_subclass_storage_hooks_are_used(io_loop):
    class UpperQueue(Queue):
        def _init(self):
            self._queue = []

        def _put(self, item):
            self._queue.append(item.upper())

        def _get(self):
            return self._queue.pop(0) + "!"

    async def main():
        q = UpperQueue()
        waiting = q.get()
        q.put_nowait("a")  # handed to the getter through _put/_get
        q.put_nowait("b")
        return await waiting, q.get_nowait(), q.qsize()

    assert io_loop.run_sync(main) == ("A!", "B!", 0)


def test_item_handed_to_getter_still_needs_task_done(io_loop):
    async def main():
        q = Queue()
        getter = q.get()
        q.put_nowait("x")
        await getter
        joined = q.join()
        await _spin()
        pending = not joined.done()
        q.task_done()
        await joined
        with pytest.raises(ValueError):
            q.task_done()
        return pending

    assert io_loop.run_sync(main) is True


def test_join_waits_for_every_task_done_and_times_out_with_deadline(io_loop):
    async def main():
        q = Queue()
        q.put_nowait(1)
        q.put_nowait(2)
        q.get_nowait()
        q.get_nowait()
        q.task_done()
        with pytest.raises(TimeoutError):
            await q.join(timeout=io_loop.time() + 0.005)
        joined = q.join(timeout=datetime.timedelta(seconds=30))
        q.task_done()
        await joined
        await q.join()  # and again at once
        return str(q)

    assert io_loop.run_sync(main) == "<Queue maxsize=0>"


def test_async_for_yields_items_as_they_arrive(io_loop):
    async def main():
        q = Queue()
        seen = []

        async def consume():
            async for item in q:
                seen.append(item)
                if item == "stop":
                    return

        task = asyncio.ensure_future(consume())
        for item in ("a", "b", "stop"):
            await q.put(item)
            await _spin()
        await task
        return seen

    assert io_loop.run_sync(main) == ["a", "b", "stop"]


def test_get_with_timeout_of_wrong_type_is_rejected(io_loop):
    async def main():
        with pytest.raises(TypeError):
            Queue().get(timeout="later")

    io_loop.run_sync(main)


def test_queue_exceptions_are_plain_exceptions():
    assert issubclass(QueueEmpty, Exception) and issubclass(QueueFull, Exception)
    with pytest.raises(QueueEmpty):
        Queue().get_nowait()
