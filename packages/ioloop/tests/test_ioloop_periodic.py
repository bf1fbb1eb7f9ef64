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


def test_missed_runs_are_skipped():
    pc = PeriodicCallback(lambda: None, 1000)
    pc._next_timeout = 100.0
    # Woken 3.5 intervals late: the next run is the first slot after now, not a burst.
    pc._update_next(103.5)
    assert pc._next_timeout == pytest.approx(104.0)
    # On time: exactly one interval later.
    pc._update_next(104.0)
    assert pc._next_timeout == pytest.approx(105.0)


def test_clock_going_backwards_adds_one_interval():
    pc = PeriodicCallback(lambda: None, 500)
    pc._next_timeout = 10.0
    pc._update_next(5.0)
    assert pc._next_timeout == pytest.approx(10.5)


def test_jitter_stays_within_bounds(monkeypatch):
    import squall.ioloop._periodic as periodic

    pc = PeriodicCallback(lambda: None, 1000, jitter=0.5)
    monkeypatch.setattr(periodic.random, "random", lambda: 1.0)
    pc._next_timeout = 0.0
    pc._update_next(0.0)
    assert pc._next_timeout == pytest.approx(1.25)
    monkeypatch.setattr(periodic.random, "random", lambda: 0.0)
    pc._next_timeout = 0.0
    pc._update_next(0.0)
    assert pc._next_timeout == pytest.approx(0.75)
