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


# -- Timeouts, ordering and cancellation (shared wait-list behaviour) -------------------


async def _spin(n=5):
    for _ in range(n):  # let done-callbacks and task steps run
        await asyncio.sleep(0)


def test_condition_wait_deadline_as_loop_time(io_loop):
    async def main():
        c = Condition()
        return await c.wait(timeout=io_loop.time() + 0.005)

    assert io_loop.run_sync(main) is False


def test_condition_notify_wakes_oldest_first(io_loop):
    async def main():
        c = Condition()
        waiters = [c.wait() for _ in range(3)]
        c.notify()
        await _spin()
        first = [w.done() for w in waiters]
        c.notify(2)
        await _spin()
        return first, [w.done() for w in waiters]

    assert io_loop.run_sync(main) == ([True, False, False], [True, True, True])


def test_condition_cancelled_waiter_does_not_consume_notify(io_loop):
    async def main():
        c = Condition()
        gone = c.wait()
        live = c.wait()
        gone.cancel()
        c.notify(1)
        assert "waiters" not in repr(c)
        return await live

    assert io_loop.run_sync(main) is True


def test_condition_notify_without_waiters_is_not_remembered(io_loop):
    async def main():
        c = Condition()
        c.notify()
        c.notify_all()
        return await c.wait(timeout=SHORT)

    assert io_loop.run_sync(main) is False


def test_condition_notified_before_deadline_stays_true(io_loop):
    async def main():
        c = Condition()
        waiter = c.wait(timeout=SHORT)
        c.notify()
        await gen.sleep(0.02)  # past the deadline: the timer must have been disarmed
        return await waiter

    assert io_loop.run_sync(main) is True


def test_event_set_before_deadline_does_not_time_out(io_loop):
    async def main():
        e = Event()
        waiter = e.wait(timeout=SHORT)
        e.set()
        await gen.sleep(0.02)
        return await waiter

    assert io_loop.run_sync(main) is None


def test_event_clear_makes_wait_block_again(io_loop):
    async def main():
        e = Event()
        e.set()
        e.set()  # idempotent
        e.clear()
        waiter = e.wait()
        await _spin()
        blocked = not waiter.done()
        e.set()
        await waiter
        return blocked

    assert io_loop.run_sync(main) is True


def test_event_cancelled_wait_leaves_others_waiting(io_loop):
    async def main():
        e = Event()
        gone, live = e.wait(), e.wait()
        gone.cancel()
        e.set()
        await live
        return gone.cancelled()

    assert io_loop.run_sync(main) is True


def test_timeout_of_wrong_type_is_rejected(io_loop):
    async def main():
        with pytest.raises(TypeError):
            Event().wait(timeout="soon")
        lock = Lock()
        await lock.acquire()
        with pytest.raises(TypeError):
            lock.acquire(timeout=[1])

    io_loop.run_sync(main)


def test_semaphore_waiters_served_in_fifo_order(io_loop):
    async def main():
        sem = Semaphore(1)
        order = []

        async def worker(name):
            async with sem:
                order.append(name)
                await asyncio.sleep(0)

        await gen.multi([worker(i) for i in range(4)])
        return order, repr(sem)

    order, final = io_loop.run_sync(main)
    assert order == [0, 1, 2, 3]
    assert final.endswith("[unlocked,value:1]>")


def test_semaphore_cancelled_waiter_does_not_consume_release(io_loop):
    async def main():
        sem = Semaphore(0)
        gone = sem.acquire()
        live = sem.acquire()
        gone.cancel()
        sem.release()
        await live
        return repr(sem)

    assert io_loop.run_sync(main).endswith("[locked]>")


def test_semaphore_deadline_timeout_does_not_consume_release(io_loop):
    async def main():
        sem = Semaphore(0)
        with pytest.raises(TimeoutError):
            await sem.acquire(timeout=io_loop.time() + 0.005)
        sem.release()
        return repr(sem)

    assert io_loop.run_sync(main).endswith("[unlocked,value:1]>")


def test_semaphore_release_without_waiters_raises_counter(io_loop):
    async def main():
        sem = Semaphore(0)
        sem.release()
        sem.release()
        first, second = sem.acquire(), sem.acquire()
        third = sem.acquire()
        return first.done(), second.done(), third.done()

    assert io_loop.run_sync(main) == (True, True, False)


def test_semaphore_async_with_cancelled_after_grant_gives_it_back(io_loop):
    async def main():
        sem = Semaphore(1)
        await sem.acquire()

        async def user():
            async with sem:
                pass

        task = asyncio.ensure_future(user())
        await _spin()  # parked in acquire
        sem.release()  # the permit is handed to the task...
        task.cancel()  # ...which is cancelled before it can run
        with pytest.raises(asyncio.CancelledError):
            await task
        return repr(sem)

    assert io_loop.run_sync(main).endswith("[unlocked,value:1]>")


def test_semaphore_async_with_cancelled_while_parked(io_loop):
    async def main():
        sem = Semaphore(0)

        async def user():
            async with sem:
                pass

        task = asyncio.ensure_future(user())
        await _spin()
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        sem.release()  # nobody is waiting any more: the counter goes up
        return repr(sem)

    assert io_loop.run_sync(main).endswith("[unlocked,value:1]>")


def test_semaphore_async_with_releases_on_error(io_loop):
    async def main():
        sem = Semaphore(1)
        with pytest.raises(KeyError):
            async with sem:
                raise KeyError("boom")
        return repr(sem)

    assert io_loop.run_sync(main).endswith("[unlocked,value:1]>")


def test_bounded_semaphore_checks_against_initial_value(io_loop):
    async def main():
        sem = BoundedSemaphore(2)
        with pytest.raises(ValueError):
            sem.release()  # never acquired
        await sem.acquire()
        await sem.acquire()
        waiter = sem.acquire()
        sem.release()  # goes to the waiter, the count stays within bounds
        await waiter
        sem.release()
        sem.release()
        with pytest.raises(ValueError, match="too many times"):
            sem.release()
        return repr(sem)

    assert io_loop.run_sync(main).endswith("[unlocked,value:2]>")


def test_lock_waiters_acquire_in_fifo_order(io_loop):
    async def main():
        lock = Lock()
        await lock.acquire()
        waiters = [lock.acquire() for _ in range(3)]
        assert "3 waiting" in repr(lock)
        got = []
        for i, waiter in enumerate(waiters):
            lock.release()
            await waiter
            got.append(i)
            assert all(not w.done() for w in waiters[i + 1 :])
        lock.release()
        return got, repr(lock)

    got, final = io_loop.run_sync(main)
    assert got == [0, 1, 2]
    assert final == "<Lock unlocked>"


def test_lock_timed_out_waiter_does_not_take_the_lock(io_loop):
    async def main():
        lock = Lock()
        await lock.acquire()
        with pytest.raises(TimeoutError):
            await lock.acquire(timeout=io_loop.time() + 0.005)
        lock.release()
        return repr(lock)

    assert io_loop.run_sync(main) == "<Lock unlocked>"


def test_lock_with_yield_acquire_in_generator_coroutine(io_loop):
    lock = Lock()

    @gen.coroutine
    def f():
        with (yield lock.acquire()):
            inside = repr(lock)
        return inside, repr(lock)

    assert io_loop.run_sync(f) == ("<Lock locked>", "<Lock unlocked>")


def test_lock_async_with_cancelled_after_grant_unlocks(io_loop):
    async def main():
        lock = Lock()
        await lock.acquire()

        async def user():
            async with lock:
                pass

        task = asyncio.ensure_future(user())
        await _spin()
        lock.release()
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        return repr(lock)

    assert io_loop.run_sync(main) == "<Lock unlocked>"


def test_wait_list_sweeps_dead_entries(io_loop):
    from squall.locks._waitlist import _WaitList

    async def main():
        waits = _WaitList()
        for _ in range(500):
            waits.park().cancel()
        live = waits.park(timeout=datetime.timedelta(seconds=30))
        stored = len(waits._entries)
        assert len(waits) == 1
        assert waits.wake("x")
        return stored, await live

    stored, value = io_loop.run_sync(main)
    assert stored < 70 and value == "x"
