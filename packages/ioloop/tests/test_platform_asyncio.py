"""Tests for squall.platform.asyncio."""

from __future__ import annotations

import asyncio
import socket
import threading

import pytest
from squall.ioloop import IOLoop
from squall.platform.asyncio import (
    AddThreadSelectorEventLoop,
    AnyThreadEventLoopPolicy,
    AsyncIOLoop,
    AsyncIOMainLoop,
    BaseAsyncIOLoop,
    SelectorThread,
    to_asyncio_future,
    to_tornado_future,
)

from squall import gen


def test_asyncio_loop_owns_a_new_asyncio_loop():
    loop = AsyncIOLoop(make_current=False)
    try:
        assert isinstance(loop, BaseAsyncIOLoop)

        # The new asyncio loop is paired with this IOLoop (and only with it).
        async def current():
            return IOLoop.current()

        assert loop.run_sync(current) is loop
        with pytest.raises(RuntimeError, match="already associated"):
            BaseAsyncIOLoop(loop.asyncio_loop, make_current=False)
    finally:
        loop.close()
    assert loop.asyncio_loop.is_closed()


def test_asyncio_main_loop_wraps_existing_loop():
    aloop = asyncio.new_event_loop()
    asyncio.set_event_loop(aloop)
    try:
        main = AsyncIOMainLoop()
        assert main.asyncio_loop is aloop
        assert IOLoop.current() is main
        main.close()
        assert aloop.is_closed()
        assert IOLoop.current(instance=False) is None
    finally:
        asyncio.set_event_loop(None)
        aloop.close()


def test_ioloop_and_asyncio_interoperate():
    loop = AsyncIOLoop(make_current=False)

    async def main():
        # squall futures are asyncio futures; asyncio primitives work inside.
        f = gen.sleep(0)
        assert isinstance(f, asyncio.Future)
        await asyncio.sleep(0)
        return await asyncio.wait_for(f, 5)

    try:
        assert loop.run_sync(main) is None
    finally:
        loop.close()


def test_to_tornado_future_and_to_asyncio_future():
    loop = AsyncIOLoop(make_current=False)

    async def coro():
        return 3

    async def main():
        f = asyncio.get_running_loop().create_future()
        assert to_tornado_future(f) is f
        assert to_asyncio_future(f) is f
        converted = to_asyncio_future(coro())
        assert isinstance(converted, asyncio.Future)
        return await converted

    try:
        assert loop.run_sync(main) == 3
    finally:
        loop.close()


def test_any_thread_event_loop_policy_is_deprecated():
    with pytest.warns(DeprecationWarning):
        policy = AnyThreadEventLoopPolicy()
    loop = policy.get_event_loop()
    try:
        assert isinstance(loop, asyncio.AbstractEventLoop)
        assert policy.get_event_loop() is loop
    finally:
        loop.close()


def test_selector_thread_delivers_readiness_on_loop_thread():
    aloop = asyncio.new_event_loop()
    selector = SelectorThread(aloop)
    a, b = socket.socketpair()
    a.setblocking(False)
    try:

        async def main():
            got = aloop.create_future()

            def on_readable():
                got.set_result(a.recv(10))

            selector.add_reader(a.fileno(), on_readable)
            b.send(b"ping")
            data = await asyncio.wait_for(got, 10)
            assert selector.remove_reader(a.fileno())
            assert not selector.remove_reader(a.fileno())
            writable = aloop.create_future()
            selector.add_writer(a, lambda: writable.done() or writable.set_result(True))
            ok = await asyncio.wait_for(writable, 10)
            assert selector.remove_writer(a)
            return data, ok

        assert aloop.run_until_complete(main()) == (b"ping", True)
    finally:
        selector.close()
        selector.close()  # idempotent
        a.close()
        b.close()
        aloop.close()


def test_add_thread_selector_event_loop_wraps_and_delegates():
    real = asyncio.new_event_loop()
    wrapped = AddThreadSelectorEventLoop(real)
    a, b = socket.socketpair()
    a.setblocking(False)
    try:
        assert wrapped.time() == pytest.approx(real.time(), abs=1.0)
        assert wrapped.is_closed() is False

        async def main():
            got = real.create_future()
            wrapped.add_reader(a, lambda: got.done() or got.set_result(a.recv(10)))
            b.send(b"x")
            result = await asyncio.wait_for(got, 10)
            wrapped.remove_reader(a)
            return result

        assert wrapped.run_until_complete(main()) == b"x"
    finally:
        wrapped.close()
        a.close()
        b.close()
    assert real.is_closed()


def test_selector_thread_int_and_object_name_the_same_fd():
    aloop = asyncio.new_event_loop()
    selector = SelectorThread(aloop)
    a, b = socket.socketpair()
    try:
        selector.add_reader(a, lambda: None)
        assert selector.remove_reader(a.fileno())
        assert not selector.remove_reader(a)
        assert not selector.remove_writer(a)
    finally:
        selector.close()
        a.close()
        b.close()
        aloop.close()


def test_selector_thread_callback_error_goes_to_exception_handler():
    aloop = asyncio.new_event_loop()
    selector = SelectorThread(aloop)
    a, b = socket.socketpair()
    a.setblocking(False)
    contexts = []
    aloop.set_exception_handler(lambda loop, context: contexts.append(context))
    try:

        async def main():
            got = aloop.create_future()

            def broken():
                raise ZeroDivisionError("in fd callback")

            def reader():
                if not got.done():
                    got.set_result(a.recv(10))

            selector.add_writer(a, broken)
            selector.add_reader(a, reader)
            b.send(b"after")
            data = await asyncio.wait_for(got, 10)
            selector.remove_writer(a)
            selector.remove_reader(a)
            return data

        assert aloop.run_until_complete(main()) == b"after"
    finally:
        selector.close()
        a.close()
        b.close()
        aloop.close()
    assert any(isinstance(c.get("exception"), ZeroDivisionError) for c in contexts)


def test_selector_thread_is_level_triggered_until_removed():
    # Unread data keeps the fd readable: reported again on each round, until removed.
    aloop = asyncio.new_event_loop()
    selector = SelectorThread(aloop)
    a, b = socket.socketpair()
    a.setblocking(False)
    calls = []
    try:

        async def main():
            done = aloop.create_future()

            def reader():
                calls.append(1)
                if len(calls) == 3:
                    selector.remove_reader(a)
                    done.set_result(None)

            selector.add_reader(a, reader)
            b.send(b"never read")
            await asyncio.wait_for(done, 10)
            for _ in range(5):
                await asyncio.sleep(0)

        aloop.run_until_complete(main())
    finally:
        selector.close()
        a.close()
        b.close()
        aloop.close()
    assert calls == [1, 1, 1]


def test_ioloop_on_fd_less_loop_uses_selector_thread(monkeypatch):
    # Pretend the standard loop lacks add_reader, as Windows' proactor does.
    from squall.platform.asyncio import _loop

    monkeypatch.setattr(_loop, "_FD_LESS_LOOPS", (asyncio.SelectorEventLoop,))
    aloop = asyncio.SelectorEventLoop()
    io = BaseAsyncIOLoop(aloop, make_current=False)
    a, b = socket.socketpair()
    a.setblocking(False)
    try:

        async def main():
            got = aloop.create_future()

            def handler(fd, events):
                io.remove_handler(fd)
                got.set_result((fd.recv(10), events))

            io.add_handler(a, handler, IOLoop.READ)
            assert any(t.name == "squall-selector" for t in threading.enumerate())
            b.send(b"thread")
            return await asyncio.wait_for(got, 10)

        assert io.run_sync(main) == (b"thread", IOLoop.READ)
    finally:
        io.close()
        a.close()
        b.close()
    assert aloop.is_closed()
