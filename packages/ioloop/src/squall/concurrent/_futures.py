"""Glue between :class:`asyncio.Future` and :class:`concurrent.futures.Future`.

In squall (as in Tornado 6) :class:`Future` *is* :class:`asyncio.Future`; these helpers
bridge thread-pool futures to it and set results without tripping over cancellation.
"""

from __future__ import annotations

import asyncio
import functools
import sys
import types
from collections.abc import Callable
from concurrent import futures
from typing import Any, TypeVar, overload

from squall.log import app_log

__all__ = [
    "FUTURES",
    "DummyExecutor",
    "Future",
    "ReturnValueIgnoredError",
    "chain_future",
    "dummy_executor",
    "future_add_done_callback",
    "future_set_exc_info",
    "future_set_exception_unless_cancelled",
    "future_set_result_unless_cancelled",
    "futures",
    "is_future",
    "run_on_executor",
]

_T = TypeVar("_T")
_F = TypeVar("_F", bound=Callable[..., Any])

#: squall's Future is :class:`asyncio.Future`.
Future = asyncio.Future

#: The future types squall accepts wherever "a future" is expected.
FUTURES = (futures.Future, Future)


class ReturnValueIgnoredError(Exception):
    """Raised when a callback-style function returns a value that would be lost."""


def is_future(x: Any) -> bool:
    """Tell whether ``x`` is a future of either kind (asyncio or :mod:`concurrent.futures`)."""
    return isinstance(x, FUTURES)


class DummyExecutor(futures.Executor):
    """An executor that runs each submitted function at once, in the calling thread."""

    def submit(  # type: ignore[override]
        self, fn: Callable[..., _T], *args: Any, **kwargs: Any
    ) -> futures.Future[_T]:
        """Run ``fn`` now, in the calling thread; return a finished future."""
        future: futures.Future[_T] = futures.Future()
        try:
            future_set_result_unless_cancelled(future, fn(*args, **kwargs))
        except Exception:
            future_set_exc_info(future, sys.exc_info())
        return future

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        pass


#: A shared :class:`DummyExecutor`.
dummy_executor = DummyExecutor()


def _wrap_on_executor(fn: _F, executor_name: str) -> _F:
    @functools.wraps(fn)
    def wrapper(self: Any, *args: Any, **kwargs: Any) -> Future[Any]:
        async_future: Future[Any] = Future()
        conc_future = getattr(self, executor_name).submit(fn, self, *args, **kwargs)
        chain_future(conc_future, async_future)
        return async_future

    return wrapper  # type: ignore[return-value]


@overload
def run_on_executor(fn: _F) -> _F: ...


@overload
def run_on_executor(*, executor: str = ...) -> Callable[[_F], _F]: ...


def run_on_executor(*args: Any, **kwargs: Any) -> Any:
    """Decorator: run a method on ``self.executor`` and return an awaitable :class:`Future`.

    Use bare (``@run_on_executor``) or with the attribute name of another executor
    (``@run_on_executor(executor="_thread_pool")``). Must be called while an event loop
    is running (the returned future belongs to it). Raises :class:`ValueError` for
    positional arguments other than the decorated function.
    """
    if args and kwargs:
        raise ValueError("cannot combine positional and keyword args")
    if len(args) == 1:
        return _wrap_on_executor(args[0], "executor")
    if args:
        raise ValueError(f"expected 1 argument, got {len(args)}")
    name = kwargs.pop("executor", "executor")
    if kwargs:
        raise TypeError(f"unexpected keyword arguments: {sorted(kwargs)}")

    def decorator(fn: _F) -> _F:
        return _wrap_on_executor(fn, name)

    return decorator


def _copy_future_state(a: Future[Any] | futures.Future[Any], b: Future[Any]) -> None:
    if b.done():
        return
    if a.cancelled():
        b.cancel()
        return
    exc = a.exception()
    if exc is not None:
        b.set_exception(exc)
    else:
        b.set_result(a.result())


def chain_future(a: Future[_T] | futures.Future[_T], b: Future[_T] | futures.Future[_T]) -> None:
    """Copy the outcome of future ``a`` into future ``b`` when ``a`` completes.

    Nothing is copied if ``b`` is already done (or cancelled) by then. ``a`` may be a
    :class:`concurrent.futures.Future` finishing in another thread: ``b`` is then
    completed from its own event loop's thread.
    """

    def copy(a: Future[_T] | futures.Future[_T]) -> None:
        if isinstance(b, Future):
            _copy_future_state(a, b)
            return
        # b is a concurrent future: thread-safe to complete from anywhere.
        if b.done():
            return
        if a.cancelled():
            b.cancel()
        elif (exc := a.exception()) is not None:
            b.set_exception(exc)
        else:
            b.set_result(a.result())

    if isinstance(a, Future) or not isinstance(b, Future):
        future_add_done_callback(a, copy)
        return
    loop = b.get_loop()

    def copy_threadsafe(a: futures.Future[_T]) -> None:
        try:
            loop.call_soon_threadsafe(copy, a)
        except RuntimeError:
            pass  # b's loop is closed: nobody can observe b any more.

    future_add_done_callback(a, copy_threadsafe)


def future_set_result_unless_cancelled(future: Future[_T] | futures.Future[_T], value: _T) -> None:
    """Set ``future``'s result unless it has been cancelled (avoids InvalidStateError)."""
    if not future.cancelled():
        future.set_result(value)


def future_set_exception_unless_cancelled(
    future: Future[Any] | futures.Future[Any], exc: BaseException
) -> None:
    """Fail ``future`` with ``exc``; if it was cancelled already, log ``exc`` instead."""
    if not future.cancelled():
        future.set_exception(exc)
    else:
        app_log.error("Exception after Future was cancelled", exc_info=exc)


def future_set_exc_info(
    future: Future[Any] | futures.Future[Any],
    exc_info: tuple[type[BaseException] | None, BaseException | None, types.TracebackType | None],
) -> None:
    """Set ``future``'s exception from a :func:`sys.exc_info` triple (unless cancelled)."""
    if exc_info[1] is None:
        raise Exception("future_set_exc_info called with no exception")
    future_set_exception_unless_cancelled(future, exc_info[1])


@overload
def future_add_done_callback(
    future: futures.Future[_T], callback: Callable[[futures.Future[_T]], None]
) -> None: ...


@overload
def future_add_done_callback(
    future: Future[_T], callback: Callable[[Future[_T]], None]
) -> None: ...


def future_add_done_callback(future: Any, callback: Callable[[Any], None]) -> None:
    """``future.add_done_callback(callback)``, minus the deferral for finished futures.

    The callback receives ``future`` as its only argument. When ``future`` has
    already finished, the callback is invoked synchronously, before this function
    returns, rather than being scheduled on the loop.
    """
    if future.done():
        callback(future)
    else:
        future.add_done_callback(callback)
