"""Tests for squall.ioloop.PeriodicCallback (default asyncio loop and uvloop)."""

from __future__ import annotations

import asyncio
import datetime
import logging

import pytest
from squall.ioloop import PeriodicCallback
from squall.platform.asyncio import AsyncIOMainLoop

from squall import gen


@pytest.fixture(params=["asyncio", "uvloop"])
def io_loop(request):
    if request.param == "uvloop":
        uvloop = pytest.importorskip("uvloop")
        loop = uvloop.new_event_loop()
    else:
        loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    io = AsyncIOMainLoop()
    yield io
    io.close()
    asyncio.set_event_loop(None)


async def _wait_for(predicate, limit=500):
    for _ in range(limit):
        if predicate():
            return True
        await asyncio.sleep(0.002)
    return False


def test_callback_time_must_be_positive():
    with pytest.raises(ValueError, match="positive callback_time"):
        PeriodicCallback(lambda: None, 0)
    with pytest.raises(ValueError):
        PeriodicCallback(lambda: None, -5)
    with pytest.raises(ValueError):
        PeriodicCallback(lambda: None, datetime.timedelta(0))


def test_callback_time_accepts_timedelta_in_milliseconds():
    pc = PeriodicCallback(lambda: None, datetime.timedelta(seconds=1.5))
    assert pc.callback_time == 1500.0
    assert PeriodicCallback(lambda: None, 250).callback_time == 250


def test_runs_repeatedly_then_stops(io_loop):
    calls = []
    pc = PeriodicCallback(lambda: calls.append(1), 1)

    async def main():
        assert not pc.is_running()
        pc.start()
        assert pc.is_running()
        assert await _wait_for(lambda: len(calls) >= 3)
        pc.stop()
        assert not pc.is_running()
        count = len(calls)
        await gen.sleep(0.02)
        return count

    count = io_loop.run_sync(main, timeout=10)
    assert len(calls) == count


def test_can_restart_after_stop(io_loop):
    calls = []
    pc = PeriodicCallback(lambda: calls.append(1), 1)

    async def main():
        pc.start()
        assert await _wait_for(lambda: len(calls) >= 1)
        pc.stop()
        before = len(calls)
        pc.start()
        assert await _wait_for(lambda: len(calls) > before)
        pc.stop()

    io_loop.run_sync(main, timeout=10)


def test_exception_is_logged_and_timer_keeps_running(io_loop, caplog):
    calls = []

    def cb():
        calls.append(1)
        raise ValueError("periodic failure")

    pc = PeriodicCallback(cb, 1)

    async def main():
        pc.start()
        assert await _wait_for(lambda: len(calls) >= 2)
        pc.stop()

    with caplog.at_level(logging.ERROR, logger="squall.application"):
        io_loop.run_sync(main, timeout=10)
    assert any(
        r.exc_info and isinstance(r.exc_info[1], ValueError)
        for r in caplog.records
        if r.name == "squall.application"
    )


def test_coroutine_callback_is_awaited_before_next_run(io_loop):
    active = []
    overlaps = []
    runs = []

    async def cb():
        if active:
            overlaps.append(True)
        active.append(1)
        await gen.sleep(0.005)
        active.pop()
        runs.append(1)

    pc = PeriodicCallback(cb, 1)

    async def main():
        pc.start()
        assert await _wait_for(lambda: len(runs) >= 3)
        pc.stop()
        await gen.sleep(0.01)

    io_loop.run_sync(main, timeout=10)
    assert overlaps == []


class _ManualClock:
    """Replaces an IOLoop's clock and timers: deadlines are recorded, fired on demand."""

    def __init__(self, io_loop, monkeypatch, now):
        self.now = now
        self.deadlines = []
        self.cancelled = 0
        self._due = None
        monkeypatch.setattr(io_loop, "time", lambda: self.now)
        monkeypatch.setattr(io_loop, "call_at", self._call_at)
        monkeypatch.setattr(io_loop, "remove_timeout", self._remove)

    def _call_at(self, when, callback, *args, **kwargs):
        self.deadlines.append(when)
        handle = object()
        self._due = (handle, callback, args, kwargs)
        return handle

    def _remove(self, handle):
        if self._due is not None and self._due[0] is handle:
            self._due = None
            self.cancelled += 1

    def fire(self):
        _, callback, args, kwargs = self._due
        self._due = None
        callback(*args, **kwargs)


def test_first_run_is_one_interval_after_start(io_loop, monkeypatch):
    clock = _ManualClock(io_loop, monkeypatch, now=50.0)
    pc = PeriodicCallback(lambda: None, datetime.timedelta(milliseconds=250))
    pc.start()
    assert pc.io_loop is io_loop
    assert clock.deadlines == [pytest.approx(50.25)]


def test_missed_runs_are_skipped(io_loop, monkeypatch):
    clock = _ManualClock(io_loop, monkeypatch, now=100.0)
    calls = []
    pc = PeriodicCallback(lambda: calls.append(clock.now), 1000)
    pc.start()
    assert clock.deadlines == [pytest.approx(101.0)]
    # Woken 3.5 intervals late: the next run is the first slot after now, not a burst.
    clock.now = 104.5
    clock.fire()
    assert clock.deadlines[-1] == pytest.approx(105.0)
    # On time: exactly one interval later.
    clock.now = 105.0
    clock.fire()
    assert clock.deadlines[-1] == pytest.approx(106.0)
    assert calls == [104.5, 105.0]
    pc.stop()
    assert clock.cancelled == 1


def test_clock_going_backwards_adds_one_interval(io_loop, monkeypatch):
    clock = _ManualClock(io_loop, monkeypatch, now=10.0)
    pc = PeriodicCallback(lambda: None, 500)
    pc.start()
    assert clock.deadlines == [pytest.approx(10.5)]
    clock.now = 5.0
    clock.fire()
    assert clock.deadlines[-1] == pytest.approx(11.0)


def test_stopped_from_inside_callback_schedules_nothing(io_loop, monkeypatch):
    clock = _ManualClock(io_loop, monkeypatch, now=0.0)
    pc = PeriodicCallback(lambda: pc.stop(), 100)
    pc.start()
    clock.now = 0.1
    clock.fire()
    assert len(clock.deadlines) == 1
    assert not pc.is_running()


def test_jitter_stays_within_bounds(io_loop, monkeypatch):
    import squall.ioloop._periodic as periodic

    clock = _ManualClock(io_loop, monkeypatch, now=0.0)
    monkeypatch.setattr(periodic.random, "random", lambda: 1.0)
    pc = PeriodicCallback(lambda: None, 1000, jitter=0.5)
    pc.start()
    assert clock.deadlines[-1] == pytest.approx(1.25)
    pc.stop()
    monkeypatch.setattr(periodic.random, "random", lambda: 0.0)
    pc.start()
    assert clock.deadlines[-1] == pytest.approx(0.75)


def test_callback_time_nan_is_rejected():
    with pytest.raises(ValueError, match="positive callback_time"):
        PeriodicCallback(lambda: None, float("nan"))


def test_start_twice_keeps_one_timer(io_loop, monkeypatch):
    clock = _ManualClock(io_loop, monkeypatch, now=0.0)
    pc = PeriodicCallback(lambda: None, 100)
    pc.start()
    pc.start()
    # The second start replaced the first timer instead of adding one.
    assert clock.cancelled == 1
    assert len(clock.deadlines) == 2


def test_late_coroutine_after_restart_does_not_double_schedule(io_loop, monkeypatch):
    clock = _ManualClock(io_loop, monkeypatch, now=0.0)
    gate = io_loop.asyncio_loop.create_future()
    pc = PeriodicCallback(lambda: gate, 100)
    pc.start()
    clock.now = 0.1
    clock.fire()  # the run is now waiting on ``gate``
    assert len(clock.deadlines) == 1
    pc.stop()
    pc.start()
    assert len(clock.deadlines) == 2
    gate.set_result(None)
    io_loop.asyncio_loop.run_until_complete(asyncio.sleep(0))
    # The stale run finished without scheduling a second timer.
    assert len(clock.deadlines) == 2
    pc.stop()


def test_awaitable_is_awaited_before_next_schedule(io_loop, monkeypatch):
    clock = _ManualClock(io_loop, monkeypatch, now=0.0)
    gate = io_loop.asyncio_loop.create_future()
    pc = PeriodicCallback(lambda: gate, 1000)
    pc.start()
    clock.now = 1.0
    clock.fire()
    assert len(clock.deadlines) == 1  # nothing scheduled while the run is pending
    clock.now = 3.5
    gate.set_result(None)
    io_loop.asyncio_loop.run_until_complete(asyncio.sleep(0))
    assert clock.deadlines[-1] == pytest.approx(4.0)
    pc.stop()


def test_failing_awaitable_is_logged_and_timer_continues(io_loop, monkeypatch, caplog):
    clock = _ManualClock(io_loop, monkeypatch, now=0.0)

    async def bad():
        raise KeyError("periodic coroutine")

    pc = PeriodicCallback(bad, 100)
    pc.start()
    clock.now = 0.1
    with caplog.at_level(logging.ERROR, logger="squall.application"):
        clock.fire()
        io_loop.asyncio_loop.run_until_complete(asyncio.sleep(0.001))
    assert any(r.exc_info and isinstance(r.exc_info[1], KeyError) for r in caplog.records)
    assert len(clock.deadlines) == 2
    assert pc.is_running()
    pc.stop()
