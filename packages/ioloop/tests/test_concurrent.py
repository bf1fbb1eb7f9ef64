"""Tests for squall.concurrent."""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
import sys
import threading

import pytest
from squall.concurrent import (
    FUTURES,
    DummyExecutor,
    Future,
    chain_future,
    dummy_executor,
    future_add_done_callback,
    future_set_exc_info,
    future_set_exception_unless_cancelled,
    future_set_result_unless_cancelled,
    futures,
    is_future,
    run_on_executor,
)
from squall.ioloop import IOLoop


@pytest.fixture
def io_loop():
    loop = IOLoop(make_current=False)
    yield loop
    loop.close()


def test_future_is_asyncio_future_and_futures_module():
    assert Future is asyncio.Future
    assert futures is concurrent.futures
    assert FUTURES == (concurrent.futures.Future, asyncio.Future)


def test_is_future(io_loop):
    assert is_future(concurrent.futures.Future())
    assert is_future(io_loop.asyncio_loop.create_future())
    assert not is_future(object())
    assert not is_future(None)


def test_dummy_executor_runs_synchronously():
    assert isinstance(dummy_executor, DummyExecutor)
    f = dummy_executor.submit(lambda a, b=0: a + b, 1, b=2)
    assert f.done() and f.result() == 3
    f = dummy_executor.submit(lambda: 1 / 0)
    assert isinstance(f.exception(), ZeroDivisionError)
    dummy_executor.shutdown()


class _Worker:
    def __init__(self):
        self.executor = concurrent.futures.ThreadPoolExecutor(1)
        self.other = DummyExecutor()

    @run_on_executor
    def where(self, x):
        return x, threading.current_thread().name

    @run_on_executor(executor="other")
    def on_other(self, x):
        return x * 2

    @run_on_executor
    def fails(self):
        raise ValueError("in thread")


def test_run_on_executor_default_attribute(io_loop):
    w = _Worker()

    async def main():
        fut = w.where(1)
        assert isinstance(fut, asyncio.Future)
        return await fut

    try:
        x, name = io_loop.run_sync(main)
    finally:
        w.executor.shutdown()
    assert x == 1
    assert name != threading.current_thread().name


def test_run_on_executor_named_executor_and_errors(io_loop):
    w = _Worker()

    async def main():
        doubled = await w.on_other(21)
        with pytest.raises(ValueError, match="in thread"):
            await w.fails()
        return doubled

    try:
        assert io_loop.run_sync(main) == 42
    finally:
        w.executor.shutdown()


def test_run_on_executor_argument_errors():
    with pytest.raises(ValueError):
        run_on_executor(lambda: None, executor="x")
    with pytest.raises(ValueError):
        run_on_executor(lambda: None, lambda: None)


def test_chain_future_copies_result_and_exception(io_loop):
    async def main():
        loop = asyncio.get_running_loop()
        a, b = loop.create_future(), loop.create_future()
        chain_future(a, b)
        a.set_result(3)
        assert await b == 3
        c, d = loop.create_future(), loop.create_future()
        chain_future(c, d)
        c.set_exception(KeyError("x"))
        with pytest.raises(KeyError):
            await d

    io_loop.run_sync(main)


def test_chain_future_does_not_overwrite_done_target(io_loop):
    async def main():
        loop = asyncio.get_running_loop()
        a, b = loop.create_future(), loop.create_future()
        chain_future(a, b)
        b.cancel()
        a.set_result(1)  # must not raise InvalidStateError
        await asyncio.sleep(0)
        return b.cancelled()

    assert io_loop.run_sync(main)


def test_chain_future_from_concurrent_future_in_thread(io_loop):
    async def main():
        b = asyncio.get_running_loop().create_future()
        with concurrent.futures.ThreadPoolExecutor(1) as pool:
            chain_future(pool.submit(lambda: "from thread"), b)
            return await asyncio.wait_for(b, 10)

    assert io_loop.run_sync(main) == "from thread"


def test_chain_future_to_concurrent_future(io_loop):
    async def main():
        a = asyncio.get_running_loop().create_future()
        b = concurrent.futures.Future()
        chain_future(a, b)
        a.set_result("x")
        await asyncio.sleep(0)
        return b.result(timeout=0)

    assert io_loop.run_sync(main) == "x"


def test_future_set_result_unless_cancelled(io_loop):
    f = io_loop.asyncio_loop.create_future()
    f.cancel()
    future_set_result_unless_cancelled(f, 1)
    assert f.cancelled()
    g = io_loop.asyncio_loop.create_future()
    future_set_result_unless_cancelled(g, 2)
    assert g.result() == 2


def test_future_set_exception_unless_cancelled_logs_when_cancelled(io_loop, caplog):
    f = io_loop.asyncio_loop.create_future()
    f.cancel()
    with caplog.at_level(logging.ERROR, logger="squall.application"):
        future_set_exception_unless_cancelled(f, ValueError("late"))
    assert f.cancelled()
    assert any("cancelled" in r.getMessage() for r in caplog.records)
    g = io_loop.asyncio_loop.create_future()
    future_set_exception_unless_cancelled(g, ValueError("now"))
    assert isinstance(g.exception(), ValueError)


def test_future_set_exc_info(io_loop):
    f = io_loop.asyncio_loop.create_future()
    try:
        raise IndexError("i")
    except IndexError:
        future_set_exc_info(f, sys.exc_info())
    assert isinstance(f.exception(), IndexError)
    with pytest.raises(Exception, match="no exception"):
        future_set_exc_info(io_loop.asyncio_loop.create_future(), (None, None, None))


def test_future_add_done_callback_runs_immediately_when_done(io_loop):
    seen = []
    f = io_loop.asyncio_loop.create_future()
    f.set_result(1)
    future_add_done_callback(f, lambda fut: seen.append(fut.result()))
    assert seen == [1]  # synchronously, unlike Future.add_done_callback
    c = concurrent.futures.Future()
    future_add_done_callback(c, lambda fut: seen.append(fut.result()))
    assert seen == [1]
    c.set_result(2)
    assert seen == [1, 2]


# -- behaviour pinned by the clean-room rewrite ----------------------------------------


def test_is_future_accepts_tasks(io_loop):
    async def main():
        task = asyncio.ensure_future(asyncio.sleep(0))
        try:
            return is_future(task)
        finally:
            await task

    assert io_loop.run_sync(main)


def test_run_on_executor_unknown_keyword_is_type_error():
    with pytest.raises(TypeError):
        run_on_executor(executor="pool", other=1)


def test_run_on_executor_cancel_before_start_skips_the_job(io_loop):
    release = threading.Event()
    ran = []

    class Busy:
        def __init__(self):
            self.executor = concurrent.futures.ThreadPoolExecutor(1)

        @run_on_executor
        def block(self):
            release.wait(10)

        @run_on_executor
        def record(self):
            ran.append("second")

    w = Busy()

    async def main():
        first = w.block()
        second = w.record()
        second.cancel()
        await asyncio.sleep(0)  # the cancellation reaches the pool's future
        release.set()
        await first
        return second.cancelled()

    try:
        assert io_loop.run_sync(main)
    finally:
        release.set()
        w.executor.shutdown(wait=True)
    assert ran == []


def test_chain_future_copies_cancellation(io_loop):
    async def main():
        loop = asyncio.get_running_loop()
        a, b = loop.create_future(), loop.create_future()
        chain_future(a, b)
        a.cancel()
        await asyncio.sleep(0)
        await asyncio.sleep(0)
        return b.cancelled()

    assert io_loop.run_sync(main)


def test_chain_future_from_finished_future_copies_at_once(io_loop):
    loop = io_loop.asyncio_loop
    a, b = loop.create_future(), loop.create_future()
    a.set_result("now")
    chain_future(a, b)
    assert b.done() and b.result() == "now"


def test_chain_future_between_concurrent_futures():
    a, b = concurrent.futures.Future(), concurrent.futures.Future()
    chain_future(a, b)
    a.set_exception(KeyError("k"))
    assert isinstance(b.exception(timeout=0), KeyError)


def test_chain_future_into_closed_loop_is_ignored():
    loop = asyncio.new_event_loop()
    b = loop.create_future()
    a = concurrent.futures.Future()
    chain_future(a, b)
    loop.close()
    a.set_result(1)  # must not raise although b's loop is gone
    assert not b.done()


def test_future_set_exc_info_on_cancelled_future_logs(io_loop, caplog):
    f = io_loop.asyncio_loop.create_future()
    f.cancel()
    try:
        raise IndexError("late")
    except IndexError:
        with caplog.at_level(logging.ERROR, logger="squall.application"):
            future_set_exc_info(f, sys.exc_info())
    assert f.cancelled()
    assert any(r.exc_info and r.exc_info[0] is IndexError for r in caplog.records)


def test_dummy_executor_lets_base_exceptions_through():
    def interrupt():
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        dummy_executor.submit(interrupt)
