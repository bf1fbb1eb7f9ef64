"""Tests for squall.ioloop.IOLoop, run on the default asyncio loop and on uvloop."""

from __future__ import annotations

import asyncio
import concurrent.futures
import datetime
import gc
import logging
import os
import socket
import threading
import warnings
import weakref

import pytest
from squall.ioloop import IOLoop, TimeoutError
from squall.platform.asyncio import AsyncIOLoop, AsyncIOMainLoop, BaseAsyncIOLoop

from squall import gen

LOOP_KINDS = ["asyncio", "uvloop"]


def _new_asyncio_loop(kind: str) -> asyncio.AbstractEventLoop:
    if kind == "uvloop":
        uvloop = pytest.importorskip("uvloop")
        return uvloop.new_event_loop()
    return asyncio.new_event_loop()


@pytest.fixture(params=LOOP_KINDS)
def io_loop(request):
    loop = _new_asyncio_loop(request.param)
    asyncio.set_event_loop(loop)
    io = AsyncIOMainLoop()
    yield io
    io.close()
    asyncio.set_event_loop(None)


@pytest.fixture
def socketpair():
    a, b = socket.socketpair()
    a.setblocking(False)
    b.setblocking(False)
    yield a, b
    a.close()
    b.close()


# -- current / instance bookkeeping ------------------------------------------------


def test_constants_match_tornado():
    assert (IOLoop.NONE, IOLoop.READ, IOLoop.WRITE, IOLoop.ERROR) == (0, 1, 4, 0x18)


def test_timeout_error_is_asyncios():
    # asyncio.TimeoutError, which is the builtin TimeoutError from Python 3.11 on.
    assert TimeoutError is asyncio.TimeoutError


def test_current_is_stable_and_instance_is_same_object(io_loop):
    assert IOLoop.current() is io_loop
    assert IOLoop.current() is IOLoop.current()
    assert IOLoop.instance() is io_loop
    assert IOLoop.initialized()


def test_current_inside_running_loop_wraps_running_loop(io_loop):
    async def main():
        return IOLoop.current(), asyncio.get_running_loop()

    current, running = io_loop.run_sync(main)
    assert current is io_loop
    assert running is io_loop.asyncio_loop


def test_asyncio_run_gets_its_own_ioloop():
    async def main():
        loop = IOLoop.current()
        assert isinstance(loop, AsyncIOMainLoop)
        assert loop.asyncio_loop is asyncio.get_running_loop()
        assert IOLoop.current() is loop
        return loop

    result = asyncio.run(main())
    assert isinstance(result, IOLoop)
    assert result.asyncio_loop.is_closed()
    result.close()  # harmless


def test_wrapper_of_loop_closed_behind_its_back_is_forgotten():
    async def main():
        return weakref.ref(IOLoop.current()), weakref.ref(asyncio.get_running_loop())

    ioloop_ref, loop_ref = asyncio.run(main())
    # A new IOLoop drops wrappers whose asyncio loop was closed without IOLoop.close().
    other = IOLoop(make_current=False)
    other.close()
    gc.collect()
    assert ioloop_ref() is None
    assert loop_ref() is None


def _in_thread(fn):
    box = {}

    def run():
        try:
            box["value"] = fn()
        except BaseException as e:  # pragma: no cover - reported below
            box["error"] = e

    t = threading.Thread(target=run)
    t.start()
    t.join(10)
    if "error" in box:
        raise box["error"]
    return box["value"]


def test_current_without_instance_returns_none_in_new_thread():
    assert _in_thread(lambda: IOLoop.current(instance=False)) is None
    assert _in_thread(lambda: IOLoop.initialized()) is False


def test_current_creates_loop_in_new_thread():
    def fn():
        loop = IOLoop.current()
        try:
            return type(loop), IOLoop.current() is loop, loop.run_sync(lambda: gen.sleep(0))
        finally:
            loop.close()
            assert IOLoop.current(instance=False) is None

    cls, same, result = _in_thread(fn)
    assert cls is AsyncIOMainLoop
    assert same
    assert result is None


def test_new_ioloop_becomes_current_and_close_restores_previous():
    def fn():
        first = IOLoop()
        assert isinstance(first, AsyncIOLoop)
        assert IOLoop.current() is first
        second = IOLoop()
        assert IOLoop.current() is second
        second.close()
        assert IOLoop.current() is first
        first.close()
        return IOLoop.current(instance=False)

    assert _in_thread(fn) is None


def test_make_current_false_does_not_change_current():
    def fn():
        loop = IOLoop(make_current=False)
        try:
            return IOLoop.current(instance=False)
        finally:
            loop.close()

    assert _in_thread(fn) is None


def test_make_current_and_clear_current_warn():
    def fn():
        loop = IOLoop(make_current=False)
        try:
            with pytest.warns(DeprecationWarning):
                loop.make_current()
            assert IOLoop.current() is loop
            with pytest.warns(DeprecationWarning):
                IOLoop.clear_current()
            return IOLoop.current(instance=False)
        finally:
            loop.close()

    assert _in_thread(fn) is None


def test_install_and_clear_instance_classic_api():
    def fn():
        loop = IOLoop(make_current=False)
        try:
            with pytest.warns(DeprecationWarning):
                loop.install()
            assert IOLoop.instance() is loop
            with pytest.warns(DeprecationWarning):
                IOLoop.clear_instance()
            return IOLoop.initialized()
        finally:
            loop.close()

    assert _in_thread(fn) is False


def test_second_ioloop_on_same_asyncio_loop_is_refused(io_loop):
    with pytest.raises(RuntimeError, match="already associated"):
        AsyncIOMainLoop()


def test_configure_rejects_non_asyncio_class():
    class NotALoop(IOLoop):
        pass

    with pytest.raises(RuntimeError):
        IOLoop.configure(NotALoop)


def test_configure_by_name_and_kwargs():
    saved = IOLoop._save_configuration()
    try:
        IOLoop.configure("squall.platform.asyncio.AsyncIOLoop", make_current=False)
        assert IOLoop.configured_class() is AsyncIOLoop

        def fn():
            loop = IOLoop()
            try:
                return IOLoop.current(instance=False) is loop
            finally:
                loop.close()

        assert _in_thread(fn) is False
    finally:
        IOLoop._restore_configuration(saved)
    assert IOLoop.configured_class() is AsyncIOLoop
    assert issubclass(IOLoop.configurable_default(), BaseAsyncIOLoop)


# -- run_sync ----------------------------------------------------------------------


def test_run_sync_returns_coroutine_result(io_loop):
    async def main():
        await asyncio.sleep(0)
        return 42

    assert io_loop.run_sync(main) == 42


def test_run_sync_accepts_function_returning_none(io_loop):
    calls = []
    assert io_loop.run_sync(lambda: calls.append(1)) is None
    assert calls == [1]


def test_run_sync_propagates_exception(io_loop):
    async def main():
        raise ValueError("boom")

    with pytest.raises(ValueError, match="boom"):
        io_loop.run_sync(main)


def test_run_sync_propagates_synchronous_exception(io_loop):
    def main():
        raise KeyError("sync")

    with pytest.raises(KeyError):
        io_loop.run_sync(main)


def test_run_sync_rejects_plain_value(io_loop):
    with pytest.raises(gen.BadYieldError):
        io_loop.run_sync(lambda: 3)


def test_run_sync_timeout_raises_timeout_error(io_loop):
    cancelled = []

    async def slow():
        try:
            await asyncio.sleep(10)
        except asyncio.CancelledError:
            cancelled.append(True)
            raise

    with pytest.raises(TimeoutError, match="timed out after 0.01 seconds"):
        io_loop.run_sync(slow, timeout=0.01)
    assert cancelled == [True]


def test_run_sync_timeout_not_hit(io_loop):
    async def quick():
        return "done"

    assert io_loop.run_sync(quick, timeout=5) == "done"


def test_run_sync_can_be_called_repeatedly(io_loop):
    for i in range(3):

        async def main(i=i):
            return i

        assert io_loop.run_sync(main) == i


# -- callbacks ---------------------------------------------------------------------


def test_add_callback_passes_args_and_kwargs(io_loop):
    seen = []
    io_loop.add_callback(lambda a, b=None: seen.append((a, b)), 1, b=2)
    io_loop.run_sync(lambda: gen.sleep(0.001))
    assert seen == [(1, 2)]


def test_add_callbacks_run_in_order(io_loop):
    seen = []
    for i in range(5):
        io_loop.add_callback(seen.append, i)
    io_loop.run_sync(lambda: gen.sleep(0.001))
    assert seen == [0, 1, 2, 3, 4]


def test_add_callback_from_other_thread_wakes_loop(io_loop):
    result = []

    async def main():
        fut = asyncio.get_running_loop().create_future()

        def from_thread():
            io_loop.add_callback(lambda: fut.set_result(threading.get_ident()))

        t = threading.Thread(target=from_thread)
        t.start()
        ident = await fut
        t.join()
        # The callback ran on the loop thread, not the caller's.
        result.append(ident == threading.get_ident())

    io_loop.run_sync(main, timeout=10)
    assert result == [True]


def test_exception_in_callback_is_logged_and_loop_continues(io_loop, caplog):
    seen = []

    def bad():
        raise ValueError("callback failed")

    io_loop.add_callback(bad)
    io_loop.add_callback(seen.append, "after")
    with caplog.at_level(logging.ERROR, logger="squall.application"):
        io_loop.run_sync(lambda: gen.sleep(0.001))
    assert seen == ["after"]
    records = [r for r in caplog.records if r.name == "squall.application"]
    assert any("Exception in callback" in r.getMessage() for r in records)
    assert any(r.exc_info and isinstance(r.exc_info[1], ValueError) for r in records)


def test_failing_coroutine_callback_is_logged(io_loop, caplog):
    async def bad():
        await asyncio.sleep(0)
        raise KeyError("async failure")

    with caplog.at_level(logging.ERROR, logger="squall.application"):
        io_loop.spawn_callback(bad)
        io_loop.run_sync(lambda: gen.sleep(0.01))
    assert any(
        r.exc_info and isinstance(r.exc_info[1], KeyError)
        for r in caplog.records
        if r.name == "squall.application"
    )


def test_spawn_callback_runs_coroutine(io_loop):
    seen = []

    async def job(x):
        await asyncio.sleep(0)
        seen.append(x)

    io_loop.spawn_callback(job, "x")
    io_loop.run_sync(lambda: gen.sleep(0.01))
    assert seen == ["x"]


def test_add_callback_from_signal_is_deprecated_but_works(io_loop):
    seen = []
    with pytest.warns(DeprecationWarning):
        io_loop.add_callback_from_signal(seen.append, 1)
    io_loop.run_sync(lambda: gen.sleep(0.001))
    assert seen == [1]


def test_add_callback_after_close_is_ignored():
    loop = IOLoop(make_current=False)
    loop.close()
    loop.add_callback(lambda: None)  # must not raise


def test_close_twice_is_harmless():
    loop = IOLoop(make_current=False)
    loop.close()
    loop.close()
    assert loop.asyncio_loop.is_closed()


def test_close_running_loop_raises(io_loop):
    async def main():
        with pytest.raises(RuntimeError):
            io_loop.close()

    io_loop.run_sync(main)
    assert not io_loop.asyncio_loop.is_closed()


# -- futures -----------------------------------------------------------------------


def test_add_future_with_asyncio_future(io_loop):
    seen = []

    async def main():
        fut = asyncio.get_running_loop().create_future()
        io_loop.add_future(fut, lambda f: seen.append(f.result()))
        fut.set_result(5)
        await gen.sleep(0.001)

    io_loop.run_sync(main)
    assert seen == [5]


def test_add_future_with_concurrent_future(io_loop):
    seen = []

    async def main():
        with concurrent.futures.ThreadPoolExecutor(1) as pool:
            cfut = pool.submit(lambda: "threaded")
            done = asyncio.get_running_loop().create_future()

            def cb(f):
                seen.append(f.result())
                done.set_result(None)

            io_loop.add_future(cfut, cb)
            await asyncio.wait_for(done, 10)

    io_loop.run_sync(main)
    assert seen == ["threaded"]


def test_add_future_callback_exception_is_logged(io_loop, caplog):
    async def main():
        fut = asyncio.get_running_loop().create_future()
        io_loop.add_future(fut, lambda f: 1 / 0)
        fut.set_result(None)
        await gen.sleep(0.001)

    with caplog.at_level(logging.ERROR, logger="squall.application"):
        io_loop.run_sync(main)
    assert any(r.exc_info and isinstance(r.exc_info[1], ZeroDivisionError) for r in caplog.records)


def test_add_future_rejects_non_future(io_loop):
    with pytest.raises(TypeError):
        io_loop.add_future(object(), lambda f: None)


def test_run_in_executor_default_pool(io_loop):
    async def main():
        return await io_loop.run_in_executor(None, lambda a, b: a + b, 2, 3)

    assert io_loop.run_sync(main) == 5


def test_run_in_executor_and_set_default_executor(io_loop):
    pool = concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="squall-test")
    io_loop.set_default_executor(pool)

    async def main():
        explicit = await io_loop.run_in_executor(pool, lambda: threading.current_thread().name)
        default = await io_loop.run_in_executor(None, lambda: threading.current_thread().name)
        return explicit, default

    explicit, default = io_loop.run_sync(main)
    pool.shutdown()
    assert explicit.startswith("squall-test")
    assert default.startswith("squall-test")


# -- timeouts ----------------------------------------------------------------------


def test_time_is_non_decreasing(io_loop):
    a = io_loop.time()
    b = io_loop.time()
    assert b >= a
    assert a == pytest.approx(io_loop.asyncio_loop.time(), abs=1.0)


def test_call_later_runs_callbacks_in_deadline_order(io_loop):
    seen = []

    async def main():
        io_loop.call_later(0.02, seen.append, "late")
        io_loop.call_later(0.0, seen.append, "early")
        io_loop.call_at(io_loop.time() + 0.01, seen.append, "middle")
        await gen.sleep(0.05)

    io_loop.run_sync(main)
    assert seen == ["early", "middle", "late"]


def test_add_timeout_accepts_number_and_timedelta(io_loop):
    seen = []

    async def main():
        io_loop.add_timeout(io_loop.time(), seen.append, "number")
        io_loop.add_timeout(datetime.timedelta(milliseconds=1), lambda x: seen.append(x), x="td")
        await gen.sleep(0.03)

    io_loop.run_sync(main)
    assert sorted(seen) == ["number", "td"]


def test_add_timeout_rejects_other_types(io_loop):
    with pytest.raises(TypeError, match="Unsupported deadline"):
        io_loop.add_timeout("soon", lambda: None)


def test_remove_timeout_cancels(io_loop):
    seen = []

    async def main():
        handle = io_loop.call_later(0.005, seen.append, "no")
        io_loop.remove_timeout(handle)
        await gen.sleep(0.02)

    io_loop.run_sync(main)
    assert seen == []


def test_exception_in_timeout_is_logged(io_loop, caplog):
    async def main():
        io_loop.call_later(0, lambda: [][1])
        await gen.sleep(0.01)

    with caplog.at_level(logging.ERROR, logger="squall.application"):
        io_loop.run_sync(main)
    assert any(r.exc_info and isinstance(r.exc_info[1], IndexError) for r in caplog.records)


# -- file descriptors ----------------------------------------------------------------


def test_split_fd_and_close_fd(io_loop, socketpair):
    a, _ = socketpair
    assert io_loop.split_fd(a) == (a.fileno(), a)
    assert io_loop.split_fd(7) == (7, 7)
    r, w = os.pipe()
    io_loop.close_fd(r)
    with pytest.raises(OSError):
        os.fstat(r)
    s = socket.socket()
    io_loop.close_fd(s)
    assert s.fileno() == -1
    io_loop.close_fd(w)
    io_loop.close_fd(w)  # already closed: OSError swallowed


def test_add_handler_read_with_socket_object(io_loop, socketpair):
    a, b = socketpair
    events_seen = []

    async def main():
        done = asyncio.get_running_loop().create_future()

        def handler(fd, events):
            events_seen.append((fd, events))
            assert fd.recv(10) == b"x"
            io_loop.remove_handler(fd)
            done.set_result(None)

        io_loop.add_handler(a, handler, IOLoop.READ)
        b.send(b"x")
        await asyncio.wait_for(done, 5)

    io_loop.run_sync(main)
    assert events_seen == [(a, IOLoop.READ)]


def test_add_handler_with_int_fd_passes_int(io_loop, socketpair):
    a, b = socketpair
    seen = []

    async def main():
        done = asyncio.get_running_loop().create_future()

        def handler(fd, events):
            seen.append((fd, events))
            io_loop.remove_handler(fd)
            done.set_result(None)

        io_loop.add_handler(a.fileno(), handler, IOLoop.WRITE)
        await asyncio.wait_for(done, 5)

    io_loop.run_sync(main)
    assert seen == [(a.fileno(), IOLoop.WRITE)]


def test_add_handler_twice_raises(io_loop, socketpair):
    a, _ = socketpair
    io_loop.add_handler(a, lambda fd, ev: None, IOLoop.READ)
    try:
        with pytest.raises(ValueError, match="added twice"):
            io_loop.add_handler(a.fileno(), lambda fd, ev: None, IOLoop.READ)
    finally:
        io_loop.remove_handler(a)


def test_remove_unknown_handler_is_harmless(io_loop, socketpair):
    a, _ = socketpair
    io_loop.remove_handler(a)
    io_loop.add_handler(a, lambda fd, ev: None, IOLoop.READ)
    io_loop.remove_handler(a)
    io_loop.remove_handler(a)
    # Really gone: registering it again is allowed.
    io_loop.add_handler(a, lambda fd, ev: None, IOLoop.READ)
    io_loop.remove_handler(a)


def test_update_handler_switches_events(io_loop, socketpair):
    a, b = socketpair
    seen = []

    async def main():
        got_write = asyncio.get_running_loop().create_future()
        got_read = asyncio.get_running_loop().create_future()

        def handler(fd, events):
            seen.append(events)
            if events & IOLoop.WRITE and not got_write.done():
                # Stop watching for writability; wait for data instead.
                io_loop.update_handler(fd, IOLoop.READ)
                got_write.set_result(None)
                b.send(b"y")
            elif events & IOLoop.READ:
                fd.recv(10)
                io_loop.update_handler(fd, IOLoop.NONE)
                got_read.set_result(None)

        io_loop.add_handler(a, handler, IOLoop.WRITE)
        await asyncio.wait_for(got_write, 5)
        await asyncio.wait_for(got_read, 5)
        # Watching nothing now: the (always writable) socket no longer calls the handler.
        count = len(seen)
        for _ in range(5):
            await asyncio.sleep(0)
        assert len(seen) == count
        io_loop.remove_handler(a)

    io_loop.run_sync(main)
    assert seen[0] == IOLoop.WRITE
    assert seen[-1] == IOLoop.READ


def test_handler_exception_is_logged_and_loop_survives(io_loop, socketpair, caplog):
    a, b = socketpair

    async def main():
        called = []

        def handler(fd, events):
            io_loop.remove_handler(fd)
            called.append(events)
            raise RuntimeError("handler failed")

        io_loop.add_handler(a, handler, IOLoop.READ)
        b.send(b"z")
        for _ in range(100):
            await asyncio.sleep(0.001)
            if called:
                break
        return "alive"

    with caplog.at_level(logging.ERROR, logger="squall.application"):
        assert io_loop.run_sync(main) == "alive"
    assert any(
        r.exc_info and isinstance(r.exc_info[1], RuntimeError)
        for r in caplog.records
        if r.name == "squall.application"
    )


def test_close_all_fds_closes_registered_objects():
    loop = IOLoop(make_current=False)
    a, b = socket.socketpair()
    try:
        loop.add_handler(a, lambda fd, ev: None, IOLoop.READ)
        loop.close(all_fds=True)
        assert a.fileno() == -1
    finally:
        a.close()
        b.close()


def test_close_without_all_fds_leaves_sockets_open():
    loop = IOLoop(make_current=False)
    a, b = socket.socketpair()
    try:
        loop.add_handler(a, lambda fd, ev: None, IOLoop.READ)
        loop.close()
        assert a.fileno() != -1
    finally:
        a.close()
        b.close()


def test_many_handlers_on_one_loop(io_loop):
    pairs = [socket.socketpair() for _ in range(50)]
    got = set()
    try:

        async def main():
            done = asyncio.get_running_loop().create_future()

            def handler(fd, events):
                fd.recv(1)
                io_loop.remove_handler(fd)
                got.add(fd.fileno())
                if len(got) == len(pairs) and not done.done():
                    done.set_result(None)

            for a, b in pairs:
                a.setblocking(False)
                io_loop.add_handler(a, handler, IOLoop.READ)
                b.send(b"!")
            await asyncio.wait_for(done, 10)

        io_loop.run_sync(main)
    finally:
        for a, b in pairs:
            a.close()
            b.close()
    assert len(got) == 50


# -- start / stop ------------------------------------------------------------------


def test_start_and_stop(io_loop):
    seen = []
    io_loop.add_callback(seen.append, 1)
    io_loop.add_callback(io_loop.stop)
    io_loop.start()
    assert seen == [1]
    assert not io_loop.asyncio_loop.is_running()


def test_uvloop_policy_one_liner_makes_ioloop_use_uvloop():
    uvloop = pytest.importorskip("uvloop")

    def fn():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)  # policies: 3.14+
            asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())
        try:
            loop = IOLoop(make_current=False)
            try:
                kind = type(loop.asyncio_loop)
                result = loop.run_sync(lambda: gen.sleep(0))
            finally:
                loop.close()
        finally:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", DeprecationWarning)
                asyncio.set_event_loop_policy(None)
        return kind, result

    kind, result = fn()
    assert issubclass(kind, uvloop.Loop)
    assert result is None


# -- behaviours pinned for the clean-room rewrite ------------------------------------


def test_run_sync_stopped_early_raises_runtime_error(io_loop):
    async def main():
        io_loop.stop()
        await asyncio.sleep(10)

    with pytest.raises(RuntimeError, match="stopped before Future completed"):
        io_loop.run_sync(main)


def test_run_sync_accepts_list_of_awaitables(io_loop):
    async def one(x):
        await asyncio.sleep(0)
        return x

    assert io_loop.run_sync(lambda: [one(1), one(2)]) == [1, 2]


def test_run_sync_accepts_concurrent_future(io_loop):
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        assert io_loop.run_sync(lambda: pool.submit(lambda: "pooled"), timeout=10) == "pooled"


def test_run_sync_keeps_timeout_error_raised_by_func(io_loop):
    async def main():
        raise TimeoutError("raised by the function itself")

    with pytest.raises(TimeoutError, match="raised by the function itself"):
        io_loop.run_sync(main, timeout=5)


def test_run_sync_timeout_cancels_future_and_loop_is_reusable(io_loop):
    made = []

    def never():
        made.append(asyncio.get_running_loop().create_future())
        return made[0]

    with pytest.raises(TimeoutError, match="Operation timed out after 0.01 seconds"):
        io_loop.run_sync(never, timeout=0.01)
    assert made[0].cancelled()

    async def after():
        return "still works"

    assert io_loop.run_sync(after) == "still works"


def test_run_sync_while_running_raises(io_loop):
    async def main():
        with pytest.raises(RuntimeError):
            io_loop.run_sync(lambda: None)
        return "ok"

    assert io_loop.run_sync(main) == "ok"


def test_callback_returning_plain_value_is_not_logged(io_loop, caplog):
    with caplog.at_level(logging.ERROR, logger="squall.application"):
        io_loop.add_callback(lambda: 42)
        io_loop.add_callback(lambda: "text")
        io_loop.run_sync(lambda: gen.sleep(0.001))
    assert [r for r in caplog.records if r.name == "squall.application"] == []


def test_callback_raising_cancelled_error_is_not_logged(io_loop, caplog):
    def cancelled():
        raise asyncio.CancelledError()

    with caplog.at_level(logging.ERROR):
        io_loop.add_callback(cancelled)
        io_loop.run_sync(lambda: gen.sleep(0.001))
    assert [r for r in caplog.records if r.levelno >= logging.ERROR] == []


def test_spawn_callback_failing_future_is_logged(io_loop, caplog):
    async def main():
        failed = asyncio.get_running_loop().create_future()
        io_loop.spawn_callback(lambda: failed)
        await asyncio.sleep(0)
        failed.set_exception(LookupError("from a future"))
        await gen.sleep(0.001)

    with caplog.at_level(logging.ERROR, logger="squall.application"):
        io_loop.run_sync(main)
    assert any(r.exc_info and isinstance(r.exc_info[1], LookupError) for r in caplog.records)


def test_add_future_passes_the_same_future(io_loop):
    got = []

    async def main():
        fut = asyncio.get_running_loop().create_future()
        io_loop.add_future(fut, got.append)
        fut.set_exception(ValueError("kept"))
        await gen.sleep(0.001)

    io_loop.run_sync(main)
    assert len(got) == 1 and isinstance(got[0].exception(), ValueError)


def test_add_future_concurrent_callback_runs_on_loop_thread(io_loop):
    async def main():
        done = asyncio.get_running_loop().create_future()
        cfut = concurrent.futures.Future()
        io_loop.add_future(cfut, lambda f: done.set_result(threading.get_ident()))
        threading.Thread(target=cfut.set_result, args=(1,)).start()
        return await asyncio.wait_for(done, 10)

    assert io_loop.run_sync(main) == threading.get_ident()


def test_timeouts_accept_kwargs_and_real_numbers(io_loop):
    import fractions

    seen = []

    async def main():
        io_loop.call_later(0, lambda a, b: seen.append((a, b)), 1, b=2)
        io_loop.call_at(io_loop.time(), lambda *, k: seen.append(k), k="kw")
        io_loop.add_timeout(fractions.Fraction(0), seen.append, "fraction")
        io_loop.add_timeout(datetime.timedelta(0), seen.append, "timedelta")
        await gen.sleep(0.01)

    io_loop.run_sync(main)
    assert sorted(map(str, seen)) == sorted(map(str, [(1, 2), "kw", "fraction", "timedelta"]))


def test_add_timeout_timedelta_is_relative_to_now(io_loop):
    fired = []

    async def main():
        io_loop.add_timeout(datetime.timedelta(days=1), fired.append, "tomorrow")
        io_loop.add_timeout(datetime.timedelta(0), fired.append, "now")
        await gen.sleep(0.01)

    io_loop.run_sync(main)
    assert fired == ["now"]


def test_remove_timeout_after_it_ran_or_twice_is_harmless(io_loop):
    seen = []

    async def main():
        handle = io_loop.call_later(0, seen.append, "ran")
        await gen.sleep(0.01)
        io_loop.remove_timeout(handle)
        io_loop.remove_timeout(handle)

    io_loop.run_sync(main)
    assert seen == ["ran"]


def test_add_handler_read_and_write_report_separately(io_loop, socketpair):
    a, b = socketpair
    seen = set()

    async def main():
        done = asyncio.get_running_loop().create_future()

        def handler(fd, events):
            seen.add(events)
            if {IOLoop.READ, IOLoop.WRITE} <= seen and not done.done():
                io_loop.remove_handler(fd)
                done.set_result(None)

        b.send(b"r")
        io_loop.add_handler(a, handler, IOLoop.READ | IOLoop.WRITE)
        await asyncio.wait_for(done, 5)

    io_loop.run_sync(main)
    assert seen == {IOLoop.READ, IOLoop.WRITE}


def test_update_handler_to_same_events_keeps_watching(io_loop, socketpair):
    a, b = socketpair
    got = []

    async def main():
        done = asyncio.get_running_loop().create_future()

        def handler(fd, events):
            got.append(fd.recv(10))
            io_loop.remove_handler(fd)
            done.set_result(None)

        io_loop.add_handler(a, handler, IOLoop.READ)
        io_loop.update_handler(a, IOLoop.READ)
        b.send(b"same")
        await asyncio.wait_for(done, 5)

    io_loop.run_sync(main)
    assert got == [b"same"]


def test_close_all_fds_closes_int_fds():
    loop = IOLoop(make_current=False)
    r, w = os.pipe()
    try:
        loop.add_handler(r, lambda fd, ev: None, IOLoop.READ)
        loop.close(all_fds=True)
        with pytest.raises(OSError):
            os.fstat(r)
    finally:
        os.close(w)


def test_closed_ioloop_is_no_longer_current_and_new_one_is_made():
    def fn():
        first = IOLoop.current()
        first.close()
        second = IOLoop.current()
        try:
            return first is not second, second.asyncio_loop.is_closed()
        finally:
            second.close()

    assert _in_thread(fn) == (True, False)


def test_ioloop_created_inside_asyncio_run_wraps_the_running_loop():
    async def main():
        a = IOLoop.current()
        b = IOLoop.current(instance=False)
        return a is b, a.asyncio_loop is asyncio.get_running_loop()

    assert asyncio.run(main()) == (True, True)
