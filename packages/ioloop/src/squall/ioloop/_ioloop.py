"""The :class:`IOLoop` interface: a thin, Tornado-compatible face over an asyncio loop.

There is exactly one :class:`IOLoop` per asyncio event loop. The concrete implementation
lives in :mod:`squall.platform.asyncio` (:class:`~squall.platform.asyncio.AsyncIOLoop`
and :class:`~squall.platform.asyncio.AsyncIOMainLoop`); this module holds the abstract
interface, the "current loop" bookkeeping and the helpers built on the primitives
(:meth:`IOLoop.run_sync`, :meth:`IOLoop.add_timeout`, ...).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import datetime
import functools
import numbers
import os
import sys
import typing
import warnings
from collections.abc import Callable
from typing import Any, Literal, Protocol, TypeVar

from squall.concurrent import (
    Future,
    future_add_done_callback,
    future_set_exc_info,
    is_future,
)
from squall.log import app_log
from squall.util import Configurable, TimeoutError, import_object

__all__ = ["IOLoop"]

_T = TypeVar("_T")
_S = TypeVar("_S", bound="_Selectable")


class _Selectable(Protocol):
    """Anything with ``fileno()`` and ``close()`` (sockets, pipes, files)."""

    def fileno(self) -> int: ...

    def close(self) -> None: ...


def _policy_loop_peek() -> asyncio.AbstractEventLoop | None:
    """Return the asyncio loop set as current for this thread, without creating one."""
    with warnings.catch_warnings():
        # asyncio.get_event_loop_policy() is deprecated from Python 3.14.
        warnings.simplefilter("ignore", DeprecationWarning)
        policy = asyncio.get_event_loop_policy()
        local = getattr(policy, "_local", None)
        if local is not None and hasattr(local, "_loop"):
            # The standard policies keep the loop here; reading it never creates a loop.
            loop: asyncio.AbstractEventLoop | None = local._loop
            return loop
        try:
            return policy.get_event_loop()
        except RuntimeError:
            return None


def _thread_asyncio_loop() -> asyncio.AbstractEventLoop | None:
    """The running asyncio loop, else the loop set as current for this thread (or None)."""
    loop = asyncio._get_running_loop()
    if loop is not None:
        return loop
    return _policy_loop_peek()


_convert_yielded: Callable[[Any], Future[Any]] | None = None


def _get_convert_yielded() -> Callable[[Any], Future[Any]]:
    # squall.gen imports this module, so bind its converter lazily.
    global _convert_yielded
    if _convert_yielded is None:
        from squall.gen import convert_yielded

        _convert_yielded = convert_yielded
    return _convert_yielded


class IOLoop(Configurable):
    """An I/O event loop: the Tornado interface over an :mod:`asyncio` event loop.

    ``IOLoop()`` builds a new :class:`~squall.platform.asyncio.AsyncIOLoop` on a new
    asyncio loop and (by default, ``make_current=True``) makes it current for this
    thread. Most code should use :meth:`IOLoop.current` instead, which returns the
    IOLoop of the running (or the thread's) asyncio loop, creating the wrapper on
    first use. :meth:`IOLoop.instance` is the classic spelling of the same call.
    Works with any asyncio loop implementation, uvloop included.
    """

    #: Event mask constants for :meth:`add_handler` (values as in epoll).
    NONE = 0
    READ = 0x001
    WRITE = 0x004
    ERROR = 0x018

    # asyncio loop -> its IOLoop.
    _ioloop_for_asyncio: dict[asyncio.AbstractEventLoop, IOLoop] = {}

    # Strong references to tasks started by spawn_callback/add_callback so that they
    # are not garbage-collected while pending.
    _pending_tasks: set[Future[Any]] = set()

    @classmethod
    def configure(cls, impl: str | type[Configurable] | None, **kwargs: Any) -> None:
        """Choose the :class:`IOLoop` implementation (must be an asyncio-based loop).

        Raises :class:`RuntimeError` for a class that is not a subclass of
        :class:`~squall.platform.asyncio.BaseAsyncIOLoop`.
        """
        from squall.platform.asyncio import BaseAsyncIOLoop

        if isinstance(impl, str):
            impl = import_object(impl)
        if isinstance(impl, type) and not issubclass(impl, BaseAsyncIOLoop):
            raise RuntimeError("only AsyncIOLoop is allowed when asyncio is available")
        super().configure(impl, **kwargs)

    @staticmethod
    def instance() -> IOLoop:
        """Return the current thread's IOLoop (the classic spelling of :meth:`current`)."""
        loop = IOLoop.current()
        assert loop is not None
        return loop

    @staticmethod
    def initialized() -> bool:
        """Return True if the current thread already has an IOLoop (classic Tornado API).

        Not in Tornado 6; kept from the Tornado 4 API as ``IOLoop.current(instance=False)
        is not None``.
        """
        return IOLoop.current(instance=False) is not None

    def install(self) -> None:
        """Make this loop the current one (deprecated classic API; see :meth:`make_current`)."""
        self.make_current()

    @staticmethod
    def clear_instance() -> None:
        """Forget the current IOLoop (deprecated classic API; see :meth:`clear_current`)."""
        IOLoop.clear_current()

    @typing.overload
    @staticmethod
    def current() -> IOLoop: ...

    @typing.overload
    @staticmethod
    def current(instance: Literal[True] = True) -> IOLoop: ...

    @typing.overload
    @staticmethod
    def current(instance: bool = True) -> IOLoop | None: ...

    @staticmethod
    def current(instance: bool = True) -> IOLoop | None:
        """Return the IOLoop of the running asyncio loop (or this thread's current one).

        If there is no IOLoop yet for that asyncio loop, an
        :class:`~squall.platform.asyncio.AsyncIOMainLoop` wrapping it is created when
        ``instance`` is true (the default); if this thread has no asyncio loop at all a
        new one is created and set as the thread's current loop. With
        ``instance=False`` None is returned instead and nothing is created.
        """
        loop = asyncio._get_running_loop()
        if loop is None:
            loop = _policy_loop_peek()
            if loop is not None and loop.is_closed():
                loop = None
            if loop is None:
                if not instance:
                    return None
                loop = asyncio.new_event_loop()
                asyncio.set_event_loop(loop)
        try:
            return IOLoop._ioloop_for_asyncio[loop]
        except KeyError:
            if not instance:
                return None
        from squall.platform.asyncio import AsyncIOMainLoop

        created: IOLoop = AsyncIOMainLoop(make_current=True)
        return created

    def make_current(self) -> None:
        """Make this the current IOLoop of this thread (deprecated, as in Tornado 6.2+).

        Emits :class:`DeprecationWarning`; start the loop (or use ``asyncio.run``)
        instead. Sets the thread's current asyncio loop; the previous one is restored
        by :meth:`clear_current` or :meth:`close`.
        """
        warnings.warn(
            "make_current is deprecated; start the event loop first",
            DeprecationWarning,
            stacklevel=2,
        )
        self._make_current()

    def _make_current(self) -> None:
        raise NotImplementedError()

    @staticmethod
    def clear_current() -> None:
        """Clear the current IOLoop of this thread (deprecated; emits DeprecationWarning)."""
        warnings.warn("clear_current is deprecated", DeprecationWarning, stacklevel=2)
        IOLoop._clear_current()

    @staticmethod
    def _clear_current() -> None:
        old = IOLoop.current(instance=False)
        if old is not None:
            old._clear_current_hook()

    def _clear_current_hook(self) -> None:
        """Undo :meth:`_make_current` (implemented by the asyncio loops)."""

    @classmethod
    def configurable_base(cls) -> type[Configurable]:
        return IOLoop

    @classmethod
    def configurable_default(cls) -> type[Configurable]:
        from squall.platform.asyncio import AsyncIOLoop

        return AsyncIOLoop

    def initialize(self, make_current: bool = True) -> None:
        """Initialise a new loop; ``make_current`` makes it the thread's current loop."""
        if make_current:
            self._make_current()

    # -- primitives, implemented by squall.platform.asyncio.BaseAsyncIOLoop ----------

    def close(self, all_fds: bool = False) -> None:
        """Close the loop and free its resources; with ``all_fds`` also close registered fds.

        The loop must not be running. Closing twice is harmless.
        """
        raise NotImplementedError()

    def add_handler(self, fd: int | _Selectable, handler: Callable[..., None], events: int) -> None:
        """Call ``handler(fd, events)`` whenever ``fd`` is ready for ``events``.

        ``fd`` is an int or an object with ``fileno()``; the handler receives it as
        given. ``events`` is a mask of :attr:`~squall.ioloop.IOLoop.READ` and :attr:`~squall.ioloop.IOLoop.WRITE` (:attr:`~squall.ioloop.IOLoop.ERROR`
        is implied). Raises :class:`ValueError` if the fd already has a handler.
        """
        raise NotImplementedError()

    def update_handler(self, fd: int | _Selectable, events: int) -> None:
        """Change the events ``fd`` is watched for."""
        raise NotImplementedError()

    def remove_handler(self, fd: int | _Selectable) -> None:
        """Stop watching ``fd`` (no error if it was not registered)."""
        raise NotImplementedError()

    def start(self) -> None:
        """Run the loop until :meth:`stop` is called."""
        raise NotImplementedError()

    def stop(self) -> None:
        """Stop the loop after the current iteration (pending callbacks still run)."""
        raise NotImplementedError()

    def time(self) -> float:
        """Return the loop's clock (:func:`time.monotonic` based), used for deadlines."""
        raise NotImplementedError()

    def call_at(
        self, when: float, callback: Callable[..., Any], *args: Any, **kwargs: Any
    ) -> object:
        """Run ``callback`` at absolute time ``when`` (on :meth:`time`'s clock).

        Returns a handle for :meth:`remove_timeout`.
        """
        raise NotImplementedError()

    def remove_timeout(self, timeout: object) -> None:
        """Cancel a pending timeout returned by :meth:`~squall.ioloop.IOLoop.add_timeout` / :meth:`~squall.ioloop.IOLoop.call_at`."""
        raise NotImplementedError()

    def add_callback(self, callback: Callable[..., Any], *args: Any, **kwargs: Any) -> None:
        """Run ``callback(*args, **kwargs)`` on the next loop iteration.

        Safe to call from any thread. Exceptions are logged to ``squall.application``;
        if the callback returns an awaitable its failure is logged too.
        """
        raise NotImplementedError()

    def add_callback_from_signal(
        self, callback: Callable[..., Any], *args: Any, **kwargs: Any
    ) -> None:
        """Like :meth:`add_callback`, from a signal handler (deprecated in Tornado 6.4)."""
        raise NotImplementedError()

    def run_in_executor(
        self,
        executor: concurrent.futures.Executor | None,
        func: Callable[..., _T],
        *args: Any,
    ) -> Future[_T]:
        """Run ``func(*args)`` in ``executor`` (default: a thread pool) and return a Future."""
        raise NotImplementedError()

    def set_default_executor(self, executor: concurrent.futures.Executor) -> None:
        """Set the executor :meth:`run_in_executor` uses when given None."""
        raise NotImplementedError()

    # -- built on the primitives ----------------------------------------------------

    def run_sync(self, func: Callable[..., Any], timeout: float | None = None) -> Any:
        """Start the loop, run ``func()``, stop the loop and return its result.

        ``func`` may return an awaitable (a coroutine, a Future, a list/dict of them)
        or None. With ``timeout`` (seconds) :class:`TimeoutError` is raised if it takes
        longer; the pending coroutine is cancelled. A function returning any other
        value raises :class:`squall.gen.BadYieldError`.
        """
        box: dict[str, Any] = {}

        def run() -> None:
            try:
                result = func()
                if result is not None:
                    result = _get_convert_yielded()(result)
            except Exception:
                fut: Future[Any] = Future()
                box["future"] = fut
                future_set_exc_info(fut, sys.exc_info())
            else:
                if is_future(result):
                    box["future"] = result
                else:
                    fut = Future()
                    fut.set_result(result)
                    box["future"] = fut
            if timeout is not None:

                def timeout_callback() -> None:
                    box["timed_out"] = True
                    # Cancelling a task stops it at its next await; a future that
                    # cannot be cancelled (already running in a thread) stops the loop.
                    if not box["future"].cancel():
                        self.stop()

                box["timeout_handle"] = self.add_timeout(self.time() + timeout, timeout_callback)
            self.add_future(box["future"], lambda f: self.stop())

        self.add_callback(run)
        self.start()
        if "timeout_handle" in box:
            self.remove_timeout(box["timeout_handle"])
        future = box.get("future")
        if future is None:
            raise RuntimeError("Event loop stopped before Future completed.")
        if future.cancelled() or not future.done():
            if box.get("timed_out"):
                if not future.done():
                    # The future may still finish later; nobody will look at it.
                    future_add_done_callback(future, _discard_result)
                raise TimeoutError(f"Operation timed out after {timeout} seconds")
            if future.cancelled():
                raise asyncio.CancelledError()
            raise RuntimeError("Event loop stopped before Future completed.")
        return future.result()

    def add_timeout(
        self,
        deadline: float | datetime.timedelta,
        callback: Callable[..., Any],
        *args: Any,
        **kwargs: Any,
    ) -> object:
        """Run ``callback`` at ``deadline``: an absolute :meth:`time` or a timedelta from now.

        Returns a handle for :meth:`remove_timeout`. Raises :class:`TypeError` for other
        deadline types.
        """
        if isinstance(deadline, datetime.timedelta):
            return self.call_at(self.time() + deadline.total_seconds(), callback, *args, **kwargs)
        when: object = deadline
        if isinstance(when, numbers.Real):
            return self.call_at(float(when), callback, *args, **kwargs)
        raise TypeError(f"Unsupported deadline {deadline!r}")

    def call_later(
        self, delay: float, callback: Callable[..., Any], *args: Any, **kwargs: Any
    ) -> object:
        """Run ``callback`` after ``delay`` seconds. Returns a handle for :meth:`remove_timeout`."""
        return self.call_at(self.time() + delay, callback, *args, **kwargs)

    def spawn_callback(self, callback: Callable[..., Any], *args: Any, **kwargs: Any) -> None:
        """Run ``callback`` on the next iteration; same as :meth:`add_callback` in Tornado 6."""
        self.add_callback(callback, *args, **kwargs)

    def add_future(
        self,
        future: Future[_T] | concurrent.futures.Future[_T],
        callback: Callable[[Future[_T]], None],
    ) -> None:
        """Run ``callback(future)`` on this loop when ``future`` finishes.

        ``future`` may be an asyncio Future or a :class:`concurrent.futures.Future`
        (whose completion may come from another thread).
        """
        if isinstance(future, Future):
            future.add_done_callback(lambda f: self._run_callback(callback, (f,)))
        else:
            if not is_future(future):
                raise TypeError(f"add_future expects a Future, got {future!r}")
            future_add_done_callback(future, lambda f: self.add_callback(callback, f))

    def _run_callback(self, callback: Callable[..., Any], args: tuple[Any, ...] = ()) -> None:
        """Run a callback, logging any exception (and that of an awaitable it returns)."""
        try:
            ret = callback(*args)
            if ret is not None:
                self._watch_result(ret)
        except asyncio.CancelledError:
            pass
        except Exception:
            app_log.error(
                "Exception in callback %r", functools.partial(callback, *args), exc_info=True
            )

    def _watch_result(self, ret: Any) -> None:
        from squall.gen import BadYieldError

        try:
            fut = _get_convert_yielded()(ret)
        except BadYieldError:
            # Plain return values of callbacks are ignored, as in Tornado.
            return
        IOLoop._pending_tasks.add(fut)
        fut.add_done_callback(self._discard_future_result)

    def _discard_future_result(self, future: Future[Any]) -> None:
        """Log the exception of a finished future nobody else will look at."""
        IOLoop._pending_tasks.discard(future)
        if future.cancelled():
            return
        exc = future.exception()
        if exc is not None:
            app_log.error(
                "Exception in callback %r",
                functools.partial(self._discard_future_result, future),
                exc_info=(type(exc), exc, exc.__traceback__),
            )

    def split_fd(self, fd: int | _S) -> tuple[int, int | _S]:
        """Return ``(fileno, fd)`` for an int fd or an object with ``fileno()``."""
        if isinstance(fd, int):
            return fd, fd
        return fd.fileno(), fd

    def close_fd(self, fd: int | _Selectable) -> None:
        """Close an int fd or an object with ``close()``, ignoring :class:`OSError`."""
        try:
            if isinstance(fd, int):
                os.close(fd)
            else:
                fd.close()
        except OSError:
            pass


def _discard_result(future: Future[Any]) -> None:
    if not future.cancelled():
        future.exception()
