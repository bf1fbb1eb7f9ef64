"""AsyncTestCase and gen_test: unittest support for code running on an IOLoop.

Each test owns a fresh asyncio loop (wrapped in an IOLoop).  Whatever the test
waits for -- a ``stop()`` call in the callback style, or a coroutine under
``gen_test`` -- is driven with ``run_until_complete`` on that loop, with a
``call_later`` alarm as the time limit.  A :class:`_Trap` collects exceptions
that escape callbacks on the loop and ends the current wait early.
"""

from __future__ import annotations

import asyncio
import functools
import inspect
import logging
import unittest
import warnings
from collections.abc import Callable, Coroutine, Generator
from typing import TYPE_CHECKING, Any, overload

from squall.log import app_log

from ._helpers import get_async_test_timeout

if TYPE_CHECKING:
    from squall.ioloop import IOLoop

__all__ = ["AsyncTestCase", "gen_test"]


def _peek_event_loop() -> asyncio.AbstractEventLoop | None:
    """The loop set as this thread's current one, if any; never makes one up.

    ``asyncio.get_event_loop()`` may create a loop (and warn), so the standard
    policies' thread-local slot is read instead.
    """
    with warnings.catch_warnings():
        # The policy API is deprecated from Python 3.14 on.
        warnings.simplefilter("ignore", DeprecationWarning)
        slot = getattr(asyncio.get_event_loop_policy(), "_local", None)
    found = getattr(slot, "_loop", None)
    return found if isinstance(found, asyncio.AbstractEventLoop) else None


class _Trap(logging.Handler):
    """Keeps the first exception that escaped a callback on the test loop.

    It listens twice: as a handler of ``app_log``, where the IOLoop reports
    ``Exception in callback ...`` (a handler runs after the logger's filters,
    so an :class:`ExpectLog` on ``app_log`` swallows a record before it gets
    here), and as the asyncio loop's exception handler.  ``on_catch`` is
    called for every exception caught: the test case points it at whatever
    wakes the wait in progress.
    """

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.caught: BaseException | None = None
        self.on_catch: Callable[[], object] | None = None

    def keep(self, exc: BaseException) -> None:
        if self.caught is None:
            self.caught = exc
        if self.on_catch is not None:
            self.on_catch()

    def take(self) -> BaseException | None:
        exc, self.caught = self.caught, None
        return exc

    def emit(self, record: logging.LogRecord) -> None:
        failure = record.exc_info[1] if record.exc_info else None
        if failure is not None and str(record.msg).startswith("Exception in callback"):
            self.keep(failure)
        if self._alone(logging.getLogger(record.name)) and logging.lastResort is not None:
            # Had this handler not been added, logging would have printed the
            # record through its last-resort handler; keep that visible.
            logging.lastResort.handle(record)

    def _alone(self, logger: logging.Logger | None) -> bool:
        while logger is not None:
            if any(handler is not self for handler in logger.handlers):
                return False
            logger = logger.parent if logger.propagate else None
        return True

    def loop_error(self, loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
        loop.default_exception_handler(context)
        exc = context.get("exception")
        if isinstance(exc, Exception):
            self.keep(exc)


async def _settle(start: Callable[[], Any]) -> Any:
    """Call ``start`` and await what it returns, if that is awaitable."""
    outcome = start()
    if inspect.isawaitable(outcome):
        outcome = await outcome
    return outcome


def _cancel_leftovers(loop: asyncio.AbstractEventLoop, trap: _Trap) -> None:
    """Cancel the tasks a test left running and let them unwind (no warnings)."""
    leftovers = asyncio.all_tasks(loop)
    if not leftovers or loop.is_running():
        return
    for task in leftovers:
        task.cancel()
    outcomes = loop.run_until_complete(asyncio.gather(*leftovers, return_exceptions=True))
    for outcome in outcomes:
        if isinstance(outcome, Exception):
            trap.keep(outcome)


def _asyncio_loop_of(io_loop: IOLoop) -> asyncio.AbstractEventLoop:
    found = getattr(io_loop, "asyncio_loop", None)
    if not isinstance(found, asyncio.AbstractEventLoop):
        raise TypeError(f"get_new_ioloop() must return an asyncio-based IOLoop, not {io_loop!r}")
    return found


def _is_shared(io_loop: IOLoop) -> bool:
    from squall.platform.asyncio import AsyncIOMainLoop

    return isinstance(io_loop, AsyncIOMainLoop)


class AsyncTestCase(unittest.TestCase):
    """A :class:`unittest.TestCase` giving each test its own :class:`~squall.ioloop.IOLoop`.

    Each test gets a fresh IOLoop as ``self.io_loop`` (from
    :meth:`get_new_ioloop`), set as the thread's current loop, and closed
    after the test, with any tasks still pending cancelled first.  If a
    subclass's ``setUp`` fails after ``super().setUp()``, the loop is still
    closed (by a cleanup).

    Write coroutine tests with :func:`gen_test`; undecorated test methods
    that return a coroutine or generator fail with :class:`TypeError`.  The
    older style is also supported: call ``self.wait()`` in the test and have
    a callback call ``self.stop(value)``; ``wait`` returns that value.  Do not
    call the loop's ``start``/``stop`` yourself.

    An exception raised by a callback run on the loop (logged as
    ``Exception in callback ...``, or reported to the asyncio exception
    handler) fails the test unless an :class:`ExpectLog` swallows it; it
    also ends a ``wait`` or ``gen_test`` in progress at once.  This is
    stricter than Tornado 6, which only logs such exceptions.
    """

    io_loop: IOLoop

    def __init__(self, methodName: str = "runTest") -> None:
        super().__init__(methodName)
        self.__trap = _Trap()
        self.__outer_loop: asyncio.AbstractEventLoop | None = None
        self.__live = False
        # stop()/wait() hand-over: the value, whether stop() came, and the
        # future a running wait() sleeps on.
        self.__stop_value: Any = None
        self.__stopped = False
        self.__wakeup: asyncio.Future[None] | None = None

    def setUp(self) -> None:
        super().setUp()
        self.__trap = _Trap()
        self.__outer_loop = _peek_event_loop()
        self.io_loop = self.get_new_ioloop()
        loop = self.__loop = _asyncio_loop_of(self.io_loop)
        self.__outer_handler = loop.get_exception_handler()
        self.__live = True
        self.addCleanup(self.__release)
        asyncio.set_event_loop(loop)
        loop.set_exception_handler(self.__trap.loop_error)
        app_log.addHandler(self.__trap)

    def tearDown(self) -> None:
        try:
            self.__release()
        finally:
            super().tearDown()
        # A callback that failed after the last wait still fails the test.
        self.__reraise()

    def get_new_ioloop(self) -> IOLoop:
        """Hook supplying the loop a test runs on; normally a fresh :class:`~squall.ioloop.IOLoop`.

        Override to return a shared loop (e.g. ``IOLoop.current()`` when the
        code under test needs the global loop); a loop that is an
        :class:`~squall.platform.asyncio.AsyncIOMainLoop` is not closed after
        the test.
        """
        from squall.ioloop import IOLoop

        fresh: IOLoop = IOLoop(make_current=False)
        return fresh

    def __release(self) -> None:
        """Undo setUp (once): settle leftover tasks, close the loop, restore the old one."""
        if not self.__live:
            return
        self.__live = False
        loop = self.__loop
        try:
            if not loop.is_closed():
                _cancel_leftovers(loop, self.__trap)
                loop.set_exception_handler(self.__outer_handler)
            if not _is_shared(self.io_loop):
                self.io_loop.close(all_fds=True)
        finally:
            app_log.removeHandler(self.__trap)
            outer, self.__outer_loop = self.__outer_loop, None
            asyncio.set_event_loop(None if outer is None or outer.is_closed() else outer)

    def __reraise(self) -> None:
        exc = self.__trap.take()
        if exc is not None:
            raise exc

    def _callTestMethod(self, method: Callable[[], Any]) -> None:
        returned = method()
        if inspect.iscoroutine(returned) or inspect.isgenerator(returned):
            returned.close()
            raise TypeError(
                f"Generator and coroutine test methods should be decorated with "
                f"@squall.testing.gen_test ({self.id()} returned {type(returned).__name__})"
            )
        if returned is not None:
            raise ValueError(f"Return value from test method ignored: {returned!r}")

    def stop(self, _arg: Any = None, **kwargs: Any) -> None:
        """Make the current (or the next) :meth:`wait` return ``_arg``, or the keywords as a dict.

        The last call before ``wait`` wakes up wins.  Passing both a
        positional value and keywords is a :class:`TypeError`.
        """
        if kwargs and _arg is not None:
            raise TypeError("stop() takes either one positional value or keyword arguments")
        self.__stop_value = kwargs or _arg
        self.__stopped = True
        self.__wake()

    def __wake(self) -> None:
        pending = self.__wakeup
        if pending is not None and not pending.done():
            pending.set_result(None)

    def wait(
        self, condition: Callable[..., bool] | None = None, timeout: float | None = None
    ) -> Any:
        """Run ``self.io_loop`` until some callback calls :meth:`stop`; return what it passed.

        If ``stop`` was already called since the last ``wait``, return at once.

        :arg condition: a predicate checked after each ``stop``; while it is
            false the loop keeps running.
        :arg timeout: seconds before the test fails with
            ``failureException`` (default :func:`get_async_test_timeout`;
            0 waits forever).
        """
        if not self.__stopped:
            limit = get_async_test_timeout() if timeout is None else timeout
            self.__run_until_stopped(condition, limit)
        self.__stopped = False
        value, self.__stop_value = self.__stop_value, None
        self.__reraise()
        return value

    def __run_until_stopped(self, condition: Callable[..., bool] | None, limit: float) -> None:
        loop = self.__loop
        trap = self.__trap
        alarm = loop.call_later(limit, self.__wait_expired, limit) if limit else None
        trap.on_catch = self.__wake
        try:
            while True:
                self.__wakeup = loop.create_future()
                loop.run_until_complete(self.__wakeup)
                if trap.caught is not None or condition is None or condition():
                    return
        finally:
            self.__wakeup = None
            trap.on_catch = None
            if alarm is not None:
                alarm.cancel()

    def __wait_expired(self, limit: float) -> None:
        self.__trap.keep(
            self.failureException(
                f"Async operation timed out after {limit} seconds without a stop() call "
                f"(wait(timeout=...) or the ASYNC_TEST_TIMEOUT environment variable "
                f"allows longer)"
            )
        )

    def _run_body(self, start: Callable[[], Any], limit: float, what: str, hint: str) -> Any:
        """Run ``start()`` on the loop, awaiting its result, within ``limit`` seconds.

        Used by :func:`gen_test` and ``AsyncHTTPTestCase.fetch``.  Raises
        :class:`squall.util.TimeoutError` naming ``what`` and the limit (with
        ``hint`` on how to raise it) when time runs out, and the first
        callback failure, if any, in preference to everything else.
        """
        from squall.util import TimeoutError

        loop = self.__loop
        if loop.is_running():
            raise RuntimeError(f"{what} cannot run while the test's loop is already running")
        task = loop.create_task(_settle(start))
        expired = False

        def expire() -> None:
            nonlocal expired
            expired = True
            task.cancel()

        alarm = loop.call_later(limit, expire)
        self.__trap.on_catch = task.cancel
        try:
            return loop.run_until_complete(task)
        except asyncio.CancelledError:
            if not expired:
                raise
            raise TimeoutError(
                f"{what}: Operation timed out after {limit} seconds; {hint}"
            ) from None
        finally:
            alarm.cancel()
            self.__trap.on_catch = None
            self.__reraise()


_TestFunc = Callable[..., "Generator[Any, Any, Any] | Coroutine[Any, Any, Any]"]


@overload
def gen_test(*, timeout: float | None = None) -> Callable[[_TestFunc], Callable[..., None]]: ...


@overload
def gen_test(func: _TestFunc) -> Callable[..., None]: ...


def gen_test(
    func: _TestFunc | None = None, timeout: float | None = None
) -> Callable[..., None] | Callable[[_TestFunc], Callable[..., None]]:
    """Run a coroutine (or generator-based) test method on the test's IOLoop.

    The test method of an :class:`AsyncTestCase` subclass may be an
    ``async def`` or a generator yielding futures (``@gen.coroutine``
    style)::

        class QueueTest(AsyncTestCase):
            @gen_test(timeout=2)
            async def test_round_trip(self):
                q = Queue()
                await q.put("ping")
                self.assertEqual(await q.get(), "ping")

    Usable bare (``@gen_test``) or with arguments.

    :arg timeout: seconds before the test is cancelled and fails with
        :class:`squall.util.TimeoutError` (the message names the test and
        the limit); default :func:`get_async_test_timeout`
        (``ASYNC_TEST_TIMEOUT`` or 5), read when the test runs.
    """

    def decorate(test: _TestFunc) -> Callable[..., None]:
        legacy = inspect.isgeneratorfunction(test)

        @functools.wraps(test)
        def run_on_test_loop(self: AsyncTestCase, *args: Any, **kwargs: Any) -> Any:
            if not isinstance(self, AsyncTestCase):
                raise TypeError(f"@gen_test needs an AsyncTestCase method, not {test!r}")

            def start() -> Any:
                if legacy:
                    from squall.gen import coroutine

                    return coroutine(test)(self, *args, **kwargs)
                return test(self, *args, **kwargs)

            limit = get_async_test_timeout() if timeout is None else timeout
            hint = "allow more with @gen_test(timeout=...) or ASYNC_TEST_TIMEOUT"
            return self._run_body(start, limit, self.id(), hint)

        return run_on_test_loop

    return decorate if func is None else decorate(func)
