"""AsyncTestCase and gen_test: unittest support for code running on an IOLoop."""

from __future__ import annotations

import asyncio
import functools
import inspect
import logging
import sys
import types
import unittest
from collections.abc import Callable, Coroutine, Generator
from typing import TYPE_CHECKING, Any, TypeVar, overload

from squall.log import app_log

from ._helpers import get_async_test_timeout

if TYPE_CHECKING:
    from squall.ioloop import IOLoop

__all__ = ["AsyncTestCase", "gen_test"]

_ExcInfo = tuple[type[BaseException], BaseException, types.TracebackType | None]
_F = TypeVar("_F", bound=Callable[..., Any])


class _CallbackFailureCatcher(logging.Handler):
    """Log handler reporting ``Exception in callback`` records to a test case."""

    def __init__(self, report: Callable[[_ExcInfo], None]) -> None:
        super().__init__(logging.ERROR)
        self._report = report

    def emit(self, record: logging.LogRecord) -> None:
        self._show_if_unhandled(record)
        if not isinstance(record.msg, str) or not record.msg.startswith("Exception in callback"):
            return
        exc_info = record.exc_info
        if exc_info and exc_info[0] is not None and exc_info[1] is not None:
            self._report((exc_info[0], exc_info[1], exc_info[2]))

    def _show_if_unhandled(self, record: logging.LogRecord) -> None:
        """Print like :data:`logging.lastResort` would have, had this handler not been added."""
        last_resort = logging.lastResort
        if last_resort is None or record.levelno < last_resort.level:
            return
        logger: logging.Logger | None = app_log
        while logger is not None:
            if any(handler is not self for handler in logger.handlers):
                return
            if not logger.propagate:
                break
            logger = logger.parent
        last_resort.handle(record)


def _peek_event_loop() -> asyncio.AbstractEventLoop | None:
    """The thread's current asyncio loop, without creating one or warning."""
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        policy = asyncio.get_event_loop_policy()
        local = getattr(policy, "_local", None)
        loop = getattr(local, "_loop", None)
        if isinstance(loop, asyncio.AbstractEventLoop):
            return loop
        return None


class AsyncTestCase(unittest.TestCase):
    """A :class:`unittest.TestCase` giving each test its own :class:`~squall.ioloop.IOLoop`.

    Each test gets a fresh IOLoop as ``self.io_loop`` (from
    :meth:`get_new_ioloop`), set as the thread's current loop, and closed
    after the test, with any tasks still pending cancelled first.

    Write coroutine tests with :func:`gen_test`; undecorated test methods
    that return a coroutine or generator fail with :class:`TypeError`.  The
    older style is also supported: call ``self.wait()`` in the test and have
    a callback call ``self.stop(value)``; ``wait`` returns that value.  Do not
    call the loop's ``start``/``stop`` yourself.

    An exception raised by a callback run on the loop (logged as
    ``Exception in callback ...``, or reported to the asyncio exception
    handler) fails the test unless an :class:`ExpectLog` swallows it.  This
    is stricter than Tornado 6, which only logs such exceptions.
    """

    io_loop: IOLoop

    def __init__(self, methodName: str = "runTest") -> None:
        super().__init__(methodName)
        self.__stopped = False
        self.__running = False
        self.__failure: _ExcInfo | None = None
        self.__stop_args: Any = None
        self.__timeout: object | None = None
        self.__catcher: _CallbackFailureCatcher | None = None
        self.__previous_loop: asyncio.AbstractEventLoop | None = None

    def setUp(self) -> None:
        super().setUp()
        self.__previous_loop = _peek_event_loop()
        self.io_loop = self.get_new_ioloop()
        asyncio_loop = self._asyncio_loop()
        if asyncio_loop is not None:
            asyncio.set_event_loop(asyncio_loop)
            asyncio_loop.set_exception_handler(self.__asyncio_exception)
        self.__catcher = _CallbackFailureCatcher(self._handle_exception_info)
        app_log.addHandler(self.__catcher)

    def tearDown(self) -> None:
        try:
            self.__cancel_pending_tasks()
        finally:
            if self.__catcher is not None:
                app_log.removeHandler(self.__catcher)
                self.__catcher = None
            asyncio_loop = self._asyncio_loop()
            if asyncio_loop is not None and not asyncio_loop.is_closed():
                asyncio_loop.set_exception_handler(None)
            if not self.__is_shared_loop():
                self.io_loop.close(all_fds=True)
            previous = self.__previous_loop
            self.__previous_loop = None
            if previous is not None and previous.is_closed():
                previous = None
            asyncio.set_event_loop(previous)
            super().tearDown()
        # A failure in a callback after the last wait() still fails the test.
        self.__rethrow()

    def get_new_ioloop(self) -> IOLoop:
        """Hook supplying the loop a test runs on; normally a fresh :class:`~squall.ioloop.IOLoop`.

        Override to return a shared loop (e.g. ``IOLoop.current()`` when the
        code under test needs the global loop); a loop that is an
        :class:`~squall.platform.asyncio.AsyncIOMainLoop` is not closed after
        the test.
        """
        from squall.ioloop import IOLoop

        loop: IOLoop = IOLoop(make_current=False)
        return loop

    def _asyncio_loop(self) -> asyncio.AbstractEventLoop | None:
        loop = getattr(self.io_loop, "asyncio_loop", None)
        return loop if isinstance(loop, asyncio.AbstractEventLoop) else None

    def __is_shared_loop(self) -> bool:
        try:
            from squall.platform.asyncio import AsyncIOMainLoop
        except ImportError:  # pragma: no cover - same distribution
            return False
        return isinstance(self.io_loop, AsyncIOMainLoop)

    def __cancel_pending_tasks(self) -> None:
        """Cancel the tasks the test left behind and let them finish (no warnings)."""
        loop = self._asyncio_loop()
        if loop is None or loop.is_closed() or loop.is_running():
            return
        tasks = [task for task in asyncio.all_tasks(loop) if not task.done()]
        if not tasks:
            return
        for task in tasks:
            task.cancel()
        results = loop.run_until_complete(asyncio.gather(*tasks, return_exceptions=True))
        for result in results:
            if isinstance(result, Exception) and not isinstance(result, asyncio.CancelledError):
                self._handle_exception_info((type(result), result, result.__traceback__))

    def __asyncio_exception(self, loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
        loop.default_exception_handler(context)
        exc = context.get("exception")
        if isinstance(exc, Exception):
            self._handle_exception_info((type(exc), exc, exc.__traceback__))

    def _handle_exception(
        self,
        typ: type[BaseException],
        value: BaseException,
        tb: types.TracebackType | None,
    ) -> bool:
        """Record an exception to fail the test with and stop :meth:`wait`."""
        self._handle_exception_info((typ, value, tb))
        return True

    def _handle_exception_info(self, exc_info: _ExcInfo) -> None:
        if self.__failure is None:
            self.__failure = exc_info
        self.stop()

    def __rethrow(self) -> None:
        if self.__failure is not None:
            failure = self.__failure
            self.__failure = None
            raise failure[1].with_traceback(failure[2])

    def _callTestMethod(self, method: Callable[[], Any]) -> None:
        result = method()
        if inspect.isgenerator(result) or inspect.iscoroutine(result):
            result.close()
            raise TypeError(
                "Generator and coroutine test methods should be decorated with "
                "squall.testing.gen_test"
            )
        if result is not None:
            raise ValueError(f"Return value from test method ignored: {result!r}")

    def stop(self, _arg: Any = None, **kwargs: Any) -> None:
        """Stop the loop, making :meth:`wait` return (``_arg`` or the keyword arguments).

        Stopping before ``wait`` is called makes the next ``wait`` return at once.
        """
        assert _arg is None or not kwargs
        self.__stop_args = kwargs or _arg
        if self.__running:
            self.io_loop.stop()
            self.__running = False
        self.__stopped = True

    def wait(
        self, condition: Callable[..., bool] | None = None, timeout: float | None = None
    ) -> Any:
        """Drive ``self.io_loop`` until some callback calls :meth:`stop`.

        :arg condition: a predicate checked at each ``stop``; while it is
            false the loop is started again.
        :arg timeout: seconds before the test fails with
            ``failureException`` (default :func:`get_async_test_timeout`).
        :returns: whatever was passed to the :meth:`stop` call that ended the wait.
        """
        if timeout is None:
            timeout = get_async_test_timeout()
        if not self.__stopped:
            if timeout:

                def timeout_func() -> None:
                    try:
                        raise self.failureException(
                            f"Async operation timed out after {timeout} seconds"
                        )
                    except Exception:
                        self._handle_exception_info(sys.exc_info())  # type: ignore[arg-type]

                self.__timeout = self.io_loop.add_timeout(
                    self.io_loop.time() + timeout, timeout_func
                )
            while True:
                self.__running = True
                self.io_loop.start()
                if self.__failure is not None or condition is None or condition():
                    break
            if self.__timeout is not None:
                self.io_loop.remove_timeout(self.__timeout)
                self.__timeout = None
        assert self.__stopped
        self.__stopped = False
        self.__rethrow()
        result = self.__stop_args
        self.__stop_args = None
        return result

    def _rethrow_callback_failure(self) -> None:
        """Raise the first exception recorded from a callback, if any (used by gen_test)."""
        self.__rethrow()


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

    :arg timeout: seconds before the test fails with
        :class:`squall.util.TimeoutError`; default
        :func:`get_async_test_timeout` (``ASYNC_TEST_TIMEOUT`` or 5).  Use as
        ``@gen_test(timeout=10)``.
    """
    if timeout is None:
        timeout = get_async_test_timeout()

    def wrap(f: _TestFunc) -> Callable[..., None]:
        # Generators (and plain functions) run through gen.coroutine.
        target: Callable[..., Any] = f if inspect.iscoroutinefunction(f) else _LazyCoroutine(f)

        @functools.wraps(f)
        def post_coroutine(self: AsyncTestCase, *args: Any, **kwargs: Any) -> Any:
            try:
                result = self.io_loop.run_sync(
                    functools.partial(target, self, *args, **kwargs), timeout=timeout
                )
            finally:
                # A callback failure is the more useful report than a timeout it caused.
                self._rethrow_callback_failure()
            return result

        return post_coroutine

    if func is not None:
        return wrap(func)
    return wrap


class _LazyCoroutine:
    """``gen.coroutine(f)``, built on first call so importing tests needs no squall.gen."""

    def __init__(self, func: Callable[..., Any]) -> None:
        self._func = func
        self._wrapped: Callable[..., Any] | None = None

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        if self._wrapped is None:
            from squall.gen import coroutine

            self._wrapped = coroutine(self._func)
        return self._wrapped(*args, **kwargs)
