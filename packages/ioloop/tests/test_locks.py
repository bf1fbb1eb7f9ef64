"""Tests for squall.locks."""

from __future__ import annotations

import asyncio
import datetime

import pytest
from squall.ioloop import IOLoop
from squall.locks import BoundedSemaphore, Condition, Event, Lock, Semaphore
from squall.util import TimeoutError

from squall import gen

SHORT = datetime.timedelta(milliseconds=5)


@pytest.fixture
def io_loop():
    loop = IOLoop(make_current=False)
    yield loop
    loop.close()


# -- Condition -------------------------------------------------------------------------


def test_condition_notify_wakes_waiter_with_true(io_loop):
    async def main():
        c = Condition()
        waiter = c.wait()
        assert "waiters[1]" in repr(c)
        c.notify()
        return await waiter

    assert io_loop.run_sync(main) is True


def test_condition_wait_timeout_resolves_false(io_loop):
    async def main():
        c = Condition()
        return await c.wait(timeout=SHORT)

    assert io_loop.run_sync(main) is False


def test_condition_notify_n_and_all(io_loop):
    async def main():
        c = Condition()
        waiters = [c.wait() for _ in range(5)]
        c.notify(2)
        await gen.sleep(0)
        first = [w.done() for w in waiters]
        c.notify_all()
        await gen.multi(waiters)
        return first

    assert io_loop.run_sync(main) == [True, True, False, False, False]


def test_condition_notify_skips_timed_out_waiters(io_loop):
    async def main():
        c = Condition()
        timed = c.wait(timeout=SHORT)
        assert await timed is False
        live = c.wait()
        c.notify(1)
        return await live

    assert io_loop.run_sync(main) is True


def test_condition_repr():
    assert repr(Condition()) == "<Condition>"


# -- Event -----------------------------------------------------------------------------


def test_event_set_wakes_waiters(io_loop):
    async def main():
        e = Event()
        assert not e.is_set()
        assert repr(e) == "<Event clear>"
        waiters = [e.wait(), e.wait()]
        e.set()
        await gen.multi(waiters)
        assert e.is_set() and repr(e) == "<Event set>"
        await e.wait()  # returns at once when set
        e.clear()
        return e.is_set()

    assert io_loop.run_sync(main) is False


def test_event_wait_timeout_raises(io_loop):
    async def main():
        e = Event()
        with pytest.raises(TimeoutError):
            await e.wait(timeout=SHORT)
        with pytest.raises(gen.TimeoutError):
            await e.wait(timeout=io_loop.time() + 0.005)
        # A later set() must not fail on the timed-out waiters.
        e.set()
        for _ in range(5):  # done-callbacks run on later iterations
            await asyncio.sleep(0)
        return len(e._waiters)

    assert io_loop.run_sync(main) == 0


# -- Semaphore -------------------------------------------------------------------------


def test_semaphore_counts_and_blocks(io_loop):
    async def main():
        sem = Semaphore(2)
        await sem.acquire()
        await sem.acquire()
        assert "locked" in repr(sem)
        third = sem.acquire()
        assert not third.done()
        assert "waiters:1" in repr(sem)
        sem.release()
        await third
        sem.release()
        sem.release()
        return repr(sem)

    assert io_loop.run_sync(main).endswith("[unlocked,value:2]>")


def test_semaphore_negative_value_rejected():
    with pytest.raises(ValueError):
        Semaphore(-1)


def test_semaphore_acquire_timeout(io_loop):
    async def main():
        sem = Semaphore(0)
        with pytest.raises(TimeoutError):
            await sem.acquire(timeout=SHORT)
        # The timed-out waiter must not swallow a later release.
        sem.release()
        await sem.acquire(timeout=datetime.timedelta(seconds=5))
        return repr(sem)

    assert io_loop.run_sync(main).endswith("[locked]>")


def test_semaphore_async_with(io_loop):
    async def main():
        sem = Semaphore(1)
        async with sem:
            assert repr(sem).endswith("[locked]>")
        return repr(sem)

    assert io_loop.run_sync(main).endswith("[unlocked,value:1]>")


def test_semaphore_with_yield_acquire_in_generator_coroutine(io_loop):
    sem = Semaphore(1)

    @gen.coroutine
    def f():
        with (yield sem.acquire()):
            inside = repr(sem)
        return inside, repr(sem)

    inside, after = io_loop.run_sync(f)
    assert inside.endswith("[locked]>") and after.endswith("[unlocked,value:1]>")


def test_semaphore_plain_with_raises():
    with pytest.raises(RuntimeError, match="async with"):
        with Semaphore():
            pass


def test_bounded_semaphore_over_release(io_loop):
    async def main():
        sem = BoundedSemaphore(1)
        await sem.acquire()
        sem.release()
        with pytest.raises(ValueError, match="too many times"):
            sem.release()

    io_loop.run_sync(main)


# -- Lock ------------------------------------------------------------------------------


def test_lock_serialises_coroutines(io_loop):
    lock = Lock()
    log = []

    async def worker(name):
        async with lock:
            log.append(f"{name} in")
            await gen.sleep(0.001)
            log.append(f"{name} out")

    async def main():
        await gen.multi([worker("a"), worker("b")])

    io_loop.run_sync(main)
    assert log == ["a in", "a out", "b in", "b out"]


def test_lock_acquire_timeout(io_loop):
    async def main():
        lock = Lock()
        await lock.acquire()
        with pytest.raises(TimeoutError):
            await lock.acquire(timeout=SHORT)
        lock.release()
        await lock.acquire(timeout=SHORT)
        lock.release()

    io_loop.run_sync(main)


def test_lock_release_unlocked_raises():
    with pytest.raises(RuntimeError, match="release unlocked lock"):
        Lock().release()


def test_lock_plain_with_raises():
    with pytest.raises(RuntimeError, match="async with"):
        with Lock():
            pass


def test_lock_repr_mentions_state(io_loop):
    async def main():
        lock = Lock()
        before = repr(lock)
        await lock.acquire()
        return before, repr(lock)

    before, after = io_loop.run_sync(main)
    assert "unlocked" in before and "locked" in after and "unlocked" not in after


def test_lock_acquire_is_cancel_safe(io_loop):
    async def main():
        lock = Lock()
        await lock.acquire()
        waiter = asyncio.ensure_future(lock.acquire())
        await asyncio.sleep(0)
        waiter.cancel()
        await asyncio.sleep(0)
        lock.release()
        await lock.acquire(timeout=SHORT)  # the cancelled waiter did not take it

    io_loop.run_sync(main)
