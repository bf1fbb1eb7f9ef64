"""Tests for squall.gen: generator coroutines, multi, with_timeout, WaitIterator..."""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextvars
import datetime
import logging

import pytest
from squall.concurrent import Future

from squall import gen


@pytest.fixture(params=["asyncio", "uvloop"])
def io_loop(request):
    if request.param == "uvloop":
        uvloop = pytest.importorskip("uvloop")
        aloop = uvloop.new_event_loop()
    else:
        aloop = asyncio.new_event_loop()
    asyncio.set_event_loop(aloop)
    from squall.platform.asyncio import AsyncIOMainLoop

    loop = AsyncIOMainLoop()
    yield loop
    loop.close()
    asyncio.set_event_loop(None)


def _later(io_loop, value, delay=0.0, exc=None):
    f = Future()

    def fire():
        if exc is not None:
            f.set_exception(exc)
        else:
            f.set_result(value)

    io_loop.call_later(delay, fire)
    return f


# -- coroutine -----------------------------------------------------------------------


def test_coroutine_returns_future_with_plain_return(io_loop):
    @gen.coroutine
    def f():
        x = yield gen.sleep(0)
        return ("done", x)

    async def main():
        fut = f()
        assert isinstance(fut, asyncio.Future)
        return await fut

    assert io_loop.run_sync(main) == ("done", None)


def test_coroutine_raise_return(io_loop):
    @gen.coroutine
    def f():
        yield gen.moment
        raise gen.Return(7)

    assert io_loop.run_sync(f) == 7


def test_return_exception_value():
    r = gen.Return(3)
    assert r.value == 3 and r.args == (3,)
    assert gen.Return().value is None


def test_coroutine_non_generator_function(io_loop):
    @gen.coroutine
    def f(x):
        return x + 1

    @gen.coroutine
    def g():
        raise gen.Return("r")

    async def main():
        return await f(1), await g()

    assert io_loop.run_sync(main) == (2, "r")


def test_coroutine_exception_before_first_yield(io_loop):
    @gen.coroutine
    def f():
        raise ValueError("early")
        yield  # pragma: no cover

    async def main():
        fut = f()
        assert fut.done()
        with pytest.raises(ValueError):
            await fut

    io_loop.run_sync(main)


def test_coroutine_exception_after_yield_is_thrown_into_future(io_loop):
    @gen.coroutine
    def f():
        yield gen.sleep(0)
        raise KeyError("late")

    with pytest.raises(KeyError):
        io_loop.run_sync(f)


def test_yielded_future_exception_is_thrown_into_generator(io_loop):
    @gen.coroutine
    def f():
        try:
            yield _later(io_loop, None, exc=ValueError("from future"))
        except ValueError as e:
            return f"caught {e}"

    assert io_loop.run_sync(f) == "caught from future"


def test_yield_list_and_dict(io_loop):
    @gen.coroutine
    def f():
        a = yield [_later(io_loop, 1, 0.002), _later(io_loop, 2)]
        b = yield {"x": _later(io_loop, "X"), "y": asyncio.sleep(0, "Y")}
        return a, b

    assert io_loop.run_sync(f) == ([1, 2], {"x": "X", "y": "Y"})


def test_yield_none_and_moment(io_loop):
    @gen.coroutine
    def f():
        a = yield None
        b = yield gen.moment
        return a, b

    assert io_loop.run_sync(f) == (None, None)


def test_yield_native_coroutine_and_concurrent_future(io_loop):
    async def native():
        await asyncio.sleep(0)
        return "native"

    @gen.coroutine
    def f():
        a = yield native()
        with concurrent.futures.ThreadPoolExecutor(1) as pool:
            b = yield pool.submit(lambda: "thread")
        return a, b

    assert io_loop.run_sync(f) == ("native", "thread")


def test_yield_unknown_object_raises_bad_yield_error(io_loop):
    @gen.coroutine
    def f():
        yield 42

    with pytest.raises(gen.BadYieldError, match="yielded unknown object 42"):
        io_loop.run_sync(f)


def test_native_coroutine_awaits_gen_coroutine(io_loop):
    @gen.coroutine
    def inner(x):
        yield gen.sleep(0.001)
        return x * 2

    async def main():
        return await inner(4)

    assert io_loop.run_sync(main) == 8


def test_await_moment_in_native_coroutine(io_loop):
    async def main():
        await gen.moment
        return "ok"

    assert io_loop.run_sync(main) == "ok"


def test_coroutine_runs_in_copied_context(io_loop):
    var = contextvars.ContextVar("var", default="outer")

    @gen.coroutine
    def f():
        var.set("inner")
        yield gen.sleep(0)
        return var.get()

    async def main():
        result = await f()
        return result, var.get()

    assert io_loop.run_sync(main) == ("inner", "outer")


def test_is_coroutine_function():
    @gen.coroutine
    def f():
        yield

    async def g():
        pass

    assert gen.is_coroutine_function(f)
    assert not gen.is_coroutine_function(g)
    assert not gen.is_coroutine_function(lambda: None)
    assert f.__wrapped__ is not None


def test_many_sequential_yields_do_not_recurse(io_loop):
    @gen.coroutine
    def f():
        total = 0
        for i in range(3000):
            total += yield _done(i)
        return total

    def _done(v):
        fut = Future()
        fut.set_result(v)
        return fut

    assert io_loop.run_sync(f) == sum(range(3000))


# -- convert_yielded / maybe_future ----------------------------------------------------


def test_convert_yielded_none_is_moment():
    assert gen.convert_yielded(None) is gen.moment
    assert gen.convert_yielded(gen.moment) is gen.moment


def test_convert_yielded_future_passes_through(io_loop):
    f = io_loop.asyncio_loop.create_future()
    assert gen.convert_yielded(f) is f


def test_convert_yielded_is_registrable(io_loop):
    class Custom:
        def __init__(self, v):
            self.v = v

    @gen.convert_yielded.register(Custom)
    def _(obj):
        f = Future()
        f.set_result(obj.v)
        return f

    @gen.coroutine
    def f():
        return (yield Custom(9))

    assert io_loop.run_sync(f) == 9


def test_convert_yielded_rejects_unknown():
    with pytest.raises(gen.BadYieldError):
        gen.convert_yielded(object())


def test_maybe_future(io_loop):
    async def main():
        f = gen.maybe_future(5)
        assert f.result() == 5
        g = asyncio.get_running_loop().create_future()
        assert gen.maybe_future(g) is g

    io_loop.run_sync(main)


# -- multi ---------------------------------------------------------------------------


def test_multi_list_keeps_order(io_loop):
    async def main():
        return await gen.multi([_later(io_loop, "slow", 0.01), _later(io_loop, "fast")])

    assert io_loop.run_sync(main) == ["slow", "fast"]


def test_multi_dict(io_loop):
    async def main():
        return await gen.multi({"a": _later(io_loop, 1), "b": asyncio.sleep(0, 2)})

    assert io_loop.run_sync(main) == {"a": 1, "b": 2}


def test_multi_empty(io_loop):
    async def main():
        return await gen.multi([]), await gen.multi({})

    assert io_loop.run_sync(main) == ([], {})


def test_multi_future_alias(io_loop):
    async def main():
        return await gen.multi_future([_later(io_loop, 1)])

    assert io_loop.run_sync(main) == [1]


def test_multi_raises_first_error_and_logs_others(io_loop, caplog):
    async def main():
        with pytest.raises(ValueError):
            await gen.multi(
                [
                    _later(io_loop, None, exc=ValueError("first")),
                    _later(io_loop, None, exc=KeyError("second")),
                ]
            )

    with caplog.at_level(logging.ERROR, logger="squall.application"):
        io_loop.run_sync(main)
    assert any("Multiple exceptions" in r.getMessage() for r in caplog.records)


def test_multi_quiet_exceptions_suppresses_logging(io_loop, caplog):
    async def main():
        with pytest.raises(ValueError):
            await gen.multi(
                [
                    _later(io_loop, None, exc=ValueError("first")),
                    _later(io_loop, None, exc=KeyError("second")),
                ],
                quiet_exceptions=KeyError,
            )

    with caplog.at_level(logging.ERROR, logger="squall.application"):
        io_loop.run_sync(main)
    assert not any("Multiple exceptions" in r.getMessage() for r in caplog.records)


def test_multi_waits_for_all_children_even_after_failure(io_loop):
    finished = []

    async def slow():
        await asyncio.sleep(0.01)
        finished.append("slow")

    async def main():
        with pytest.raises(ValueError):
            await gen.multi([_later(io_loop, None, exc=ValueError()), slow()])
        return list(finished)

    assert io_loop.run_sync(main) == ["slow"]


def test_multi_with_duplicate_future(io_loop):
    async def main():
        f = _later(io_loop, 3)
        return await gen.multi([f, f])

    assert io_loop.run_sync(main) == [3, 3]


# -- with_timeout / sleep --------------------------------------------------------------


def test_with_timeout_timedelta_times_out(io_loop):
    async def main():
        inner = asyncio.get_running_loop().create_future()
        with pytest.raises(gen.TimeoutError):
            await gen.with_timeout(datetime.timedelta(milliseconds=5), inner)
        # The wrapped future is not cancelled.
        assert not inner.done()
        inner.cancel()

    io_loop.run_sync(main)


def test_with_timeout_absolute_deadline(io_loop):
    async def main():
        inner = asyncio.get_running_loop().create_future()
        with pytest.raises(gen.TimeoutError):
            await gen.with_timeout(io_loop.time() + 0.005, inner)
        inner.cancel()

    io_loop.run_sync(main)


def test_with_timeout_result_in_time(io_loop):
    async def main():
        return await gen.with_timeout(datetime.timedelta(seconds=5), _later(io_loop, "ok"))

    assert io_loop.run_sync(main) == "ok"


def test_with_timeout_accepts_coroutine(io_loop):
    async def coro():
        return "c"

    async def main():
        return await gen.with_timeout(datetime.timedelta(seconds=5), coro())

    assert io_loop.run_sync(main) == "c"


def test_with_timeout_logs_late_exception_unless_quiet(io_loop, caplog):
    async def run(quiet):
        inner = asyncio.get_running_loop().create_future()
        with pytest.raises(gen.TimeoutError):
            await gen.with_timeout(
                datetime.timedelta(milliseconds=1), inner, quiet_exceptions=quiet
            )
        inner.set_exception(ValueError("late"))
        await gen.sleep(0.001)

    with caplog.at_level(logging.ERROR, logger="squall.application"):
        io_loop.run_sync(lambda: run(ValueError))
        assert not any("after timeout" in r.getMessage() for r in caplog.records)
        io_loop.run_sync(lambda: run(()))
        assert any("after timeout" in r.getMessage() for r in caplog.records)


def test_sleep_resolves_to_none(io_loop):
    async def main():
        start = io_loop.time()
        result = await gen.sleep(0.01)
        return result, io_loop.time() >= start

    assert io_loop.run_sync(main) == (None, True)


def test_gen_timeout_error_is_builtin():
    assert gen.TimeoutError is asyncio.TimeoutError


# -- WaitIterator ----------------------------------------------------------------------


def test_wait_iterator_yields_in_completion_order(io_loop):
    @gen.coroutine
    def f():
        futs = [_later(io_loop, "a", 0.02), _later(io_loop, "b", 0.0), _later(io_loop, "c", 0.01)]
        wait = gen.WaitIterator(*futs)
        seen = []
        while not wait.done():
            result = yield wait.next()
            seen.append(
                (wait.current_index, result, wait.current_future is futs[wait.current_index])
            )
        return seen, wait.current_index, wait.current_future

    seen, idx, fut = io_loop.run_sync(f)
    assert seen == [(1, "b", True), (2, "c", True), (0, "a", True)]
    assert idx is None and fut is None


def test_wait_iterator_keywords_and_async_for(io_loop):
    async def main():
        wait = gen.WaitIterator(x=_later(io_loop, 1, 0.01), y=_later(io_loop, 2))
        seen = []
        async for result in wait:
            seen.append((wait.current_index, result))
        return seen

    assert io_loop.run_sync(main) == [("y", 2), ("x", 1)]


def test_wait_iterator_with_already_done_futures(io_loop):
    async def main():
        a, b = Future(), Future()
        a.set_result("A")
        b.set_result("B")
        return [r async for r in gen.WaitIterator(a, b)]

    assert io_loop.run_sync(main) == ["A", "B"]


def test_wait_iterator_raises_failed_future_and_continues(io_loop):
    async def main():
        wait = gen.WaitIterator(
            _later(io_loop, None, exc=ValueError("x")), _later(io_loop, 2, 0.01)
        )
        results = []
        while not wait.done():
            try:
                results.append(await wait.next())
            except ValueError:
                results.append(("error", wait.current_index))
        return results

    assert io_loop.run_sync(main) == [("error", 0), 2]


def test_wait_iterator_rejects_args_and_kwargs(io_loop):
    f = io_loop.asyncio_loop.create_future()
    with pytest.raises(ValueError):
        gen.WaitIterator(f, x=f)


def test_wait_iterator_empty_is_done():
    assert gen.WaitIterator().done()


def test_exception_classes_exist():
    for name in (
        "KeyReuseError",
        "UnknownKeyError",
        "LeakedCallbackError",
        "BadYieldError",
        "ReturnValueIgnoredError",
    ):
        assert issubclass(getattr(gen, name), Exception)


# -- behaviour pinned by the clean-room rewrite ----------------------------------------


def test_coroutine_keeps_function_metadata():
    @gen.coroutine
    def documented():
        """The doc."""
        yield

    assert documented.__name__ == "documented"
    assert documented.__doc__ == "The doc."


def test_cancelled_yielded_future_raises_cancelled_error_inside(io_loop):
    @gen.coroutine
    def f():
        inner = Future()
        io_loop.add_callback(inner.cancel)
        try:
            yield inner
        except asyncio.CancelledError:
            return "saw cancellation"

    assert io_loop.run_sync(f) == "saw cancellation"


def test_uncaught_cancellation_cancels_result_future(io_loop):
    @gen.coroutine
    def f():
        inner = Future()
        io_loop.add_callback(inner.cancel)
        yield inner

    async def main():
        fut = f()
        with pytest.raises(asyncio.CancelledError):
            await asyncio.shield(fut)
        return fut.cancelled()

    assert io_loop.run_sync(main)


def test_plain_function_raising_cancelled_error_gives_cancelled_future(io_loop):
    @gen.coroutine
    def f():
        raise asyncio.CancelledError

    async def main():
        return f().cancelled()

    assert io_loop.run_sync(main)


def test_bad_yield_can_be_caught_at_the_yield(io_loop):
    @gen.coroutine
    def f():
        try:
            yield object()
        except gen.BadYieldError:
            pass
        return (yield _later(io_loop, "went on"))

    assert io_loop.run_sync(f) == "went on"


def test_result_future_cancelled_by_consumer_is_left_cancelled(io_loop):
    steps = []

    @gen.coroutine
    def f():
        yield gen.sleep(0.001)
        steps.append("resumed")
        return "unused"

    async def main():
        fut = f()
        fut.cancel()
        await gen.sleep(0.01)
        return fut.cancelled()

    assert io_loop.run_sync(main)
    assert steps == ["resumed"]


def test_awaitables_yielded_run_in_the_coroutine_context(io_loop):
    var = contextvars.ContextVar("var", default="outer")

    async def read():
        return var.get()

    @gen.coroutine
    def f():
        var.set("inner")
        first = yield read()  # the very first yield
        second = yield read()
        return first, second

    assert io_loop.run_sync(f) == ("inner", "inner")


def test_yielded_concurrent_future_failure_is_thrown_in(io_loop):
    @gen.coroutine
    def f():
        with concurrent.futures.ThreadPoolExecutor(1) as pool:
            try:
                yield pool.submit(lambda: 1 / 0)
            except ZeroDivisionError:
                return "caught"

    assert io_loop.run_sync(f) == "caught"


def test_convert_yielded_kinds(io_loop):
    async def native():
        return "n"

    async def main():
        task = asyncio.ensure_future(native())
        assert gen.convert_yielded(task) is task
        wrapped = gen.convert_yielded(native())
        assert isinstance(wrapped, asyncio.Task)
        pool_future = concurrent.futures.Future()
        bridged = gen.convert_yielded(pool_future)
        assert isinstance(bridged, asyncio.Future)
        pool_future.set_result("p")
        both = gen.convert_yielded([task, bridged])
        return await wrapped, await both

    assert io_loop.run_sync(main) == ("n", ["n", "p"])


def test_multi_raises_first_in_children_order_not_time_order(io_loop):
    async def main():
        with pytest.raises(KeyError) as info:
            await gen.multi(
                [
                    _later(io_loop, None, 0.01, exc=KeyError("listed first")),
                    _later(io_loop, None, 0.0, exc=ValueError("failed first")),
                ],
                quiet_exceptions=ValueError,
            )
        return info.value.args[0]

    assert io_loop.run_sync(main) == "listed first"


def test_multi_dict_quiet_exceptions_tuple(io_loop, caplog):
    async def main():
        with pytest.raises(OSError):
            await gen.multi(
                {
                    "a": _later(io_loop, None, exc=OSError("a")),
                    "b": _later(io_loop, None, exc=KeyError("b")),
                    "c": _later(io_loop, None, exc=IndexError("c")),
                },
                quiet_exceptions=(KeyError, IndexError),
            )

    with caplog.at_level(logging.ERROR, logger="squall.application"):
        io_loop.run_sync(main)
    assert not any("Multiple exceptions" in r.getMessage() for r in caplog.records)


def test_multi_cancelled_child_cancels_result(io_loop):
    async def main():
        child = Future()
        io_loop.add_callback(child.cancel)
        combined = gen.multi([child, _later(io_loop, 1)])
        with pytest.raises(asyncio.CancelledError):
            await asyncio.shield(combined)
        return combined.cancelled()

    assert io_loop.run_sync(main)


def test_cancelling_multi_leaves_children_running(io_loop):
    async def main():
        child = _later(io_loop, "kept", 0.005)
        combined = gen.multi([child])
        combined.cancel()
        return await child

    assert io_loop.run_sync(main) == "kept"


def test_with_timeout_does_not_log_late_cancellation(io_loop, caplog):
    async def main():
        inner = asyncio.get_running_loop().create_future()
        with pytest.raises(gen.TimeoutError):
            await gen.with_timeout(datetime.timedelta(milliseconds=1), inner)
        inner.cancel()
        await gen.sleep(0.001)

    with caplog.at_level(logging.ERROR, logger="squall.application"):
        io_loop.run_sync(main)
    assert not any("after timeout" in r.getMessage() for r in caplog.records)


def test_with_timeout_finished_future_beats_past_deadline(io_loop):
    async def main():
        done = Future()
        done.set_result("already")
        return await gen.with_timeout(io_loop.time() - 1, done)

    assert io_loop.run_sync(main) == "already"


def test_with_timeout_passes_on_failure_in_time(io_loop):
    async def main():
        with pytest.raises(KeyError):
            await gen.with_timeout(
                datetime.timedelta(seconds=5), _later(io_loop, None, exc=KeyError("k"))
            )

    io_loop.run_sync(main)


def test_with_timeout_rejects_other_timeout_types(io_loop):
    async def main():
        inner = asyncio.get_running_loop().create_future()
        try:
            with pytest.raises(TypeError):
                gen.with_timeout("soon", inner)
        finally:
            inner.cancel()

    io_loop.run_sync(main)


def test_sleep_cancelled_before_it_fires_is_quiet(io_loop):
    errors = []

    async def main():
        asyncio.get_running_loop().set_exception_handler(lambda loop, ctx: errors.append(ctx))
        pause = gen.sleep(0.001)
        pause.cancel()
        await asyncio.sleep(0.01)
        return pause.cancelled()

    assert io_loop.run_sync(main)
    assert errors == []


def test_wait_iterator_cancelled_next_does_not_lose_a_result(io_loop):
    async def main():
        source = Future()
        wait = gen.WaitIterator(source)
        abandoned = wait.next()
        abandoned.cancel()
        source.set_result("kept")
        await asyncio.sleep(0)
        value = await wait.next()
        return value, wait.current_index, wait.done()

    assert io_loop.run_sync(main) == ("kept", 0, True)


def test_wait_iterator_accepts_coroutines(io_loop):
    async def value(v, delay):
        await asyncio.sleep(delay)
        return v

    async def main():
        wait = gen.WaitIterator(slow=value("s", 0.01), fast=value("f", 0))
        return [(r, wait.current_index) async for r in wait]

    assert io_loop.run_sync(main) == [("f", "fast"), ("s", "slow")]


def test_converter_returning_a_pool_future_is_waited_on(io_loop):
    var = contextvars.ContextVar("var", default="outer")

    class PoolJob:
        pass

    @gen.convert_yielded.register(PoolJob)
    def _(job):
        done = concurrent.futures.Future()
        io_loop.add_callback(done.set_result, "from pool future")
        return done

    @gen.coroutine
    def f():
        var.set("inner")
        value = yield PoolJob()
        return value, var.get()

    assert io_loop.run_sync(f) == ("from pool future", "inner")
