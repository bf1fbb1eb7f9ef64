"""Generator-based coroutines: :func:`coroutine`, :class:`Return`, the :class:`Runner`
that drives a generator, and :func:`convert_yielded`, which turns whatever a coroutine
yields (futures, lists/dicts of them, awaitables, None) into one :class:`Future`.
"""

from __future__ import annotations

import asyncio
import contextvars
import functools
import sys
import types
from collections.abc import Awaitable, Callable, Generator
from concurrent import futures
from functools import singledispatch
from inspect import isawaitable
from typing import Any, TypeVar, cast, overload

from squall.concurrent import (
    Future,
    chain_future,
    future_set_exc_info,
    future_set_result_unless_cancelled,
    is_future,
)
from squall.ioloop import IOLoop

__all__ = [
    "BadYieldError",
    "KeyReuseError",
    "LeakedCallbackError",
    "Return",
    "Runner",
    "UnknownKeyError",
    "convert_yielded",
    "coroutine",
    "is_coroutine_function",
    "maybe_future",
    "moment",
]

_T = TypeVar("_T")


class KeyReuseError(Exception):
    """A callback key was registered twice (legacy callback API)."""


class UnknownKeyError(Exception):
    """A callback key was waited on but never registered (legacy callback API)."""


class LeakedCallbackError(Exception):
    """A coroutine finished while callbacks it created were still pending (legacy API)."""


class BadYieldError(Exception):
    """A coroutine yielded something that is not a Future, awaitable, list or dict."""


class Return(Exception):
    """Raise ``Return(value)`` in a generator coroutine to return a value.

    On Python 3 a plain ``return value`` does the same; this remains for old code.
    The value is available as ``value`` (and ``args[0]``).
    """

    def __init__(self, value: Any = None) -> None:
        super().__init__()
        self.value = value
        # Keep args consistent with the value (exception repr and pickling).
        self.args = (value,)


class _MomentType:
    """The type of ``moment``: a completed pseudo-future that yields one iteration."""

    __slots__ = ()

    def result(self) -> None:
        return None

    def done(self) -> bool:
        return True

    def __await__(self) -> Generator[None, None, None]:
        # A bare yield makes an asyncio Task give the loop one iteration.
        yield

    def __repr__(self) -> str:
        return "squall.gen.moment"


#: Yield this (``yield gen.moment``) in a generator coroutine to let the IOLoop run one
#: iteration before resuming. ``yield None`` is the same. Unlike Tornado's, it may also
#: be awaited in native coroutines (like ``await asyncio.sleep(0)``).
moment = cast("Future[None]", _MomentType())

_CORO_MARKER = "__squall_coroutine__"


def _value_from_stopiteration(e: StopIteration | Return) -> Any:
    return e.value


@overload
def coroutine(
    func: Callable[..., Generator[Any, Any, _T]],
) -> Callable[..., Future[_T]]: ...


@overload
def coroutine(func: Callable[..., _T]) -> Callable[..., Future[_T]]: ...


def coroutine(func: Callable[..., Any]) -> Callable[..., Future[Any]]:
    """Decorator for generator-based coroutines; the decorated function returns a Future.

    Inside, ``yield`` a :class:`Future`, an awaitable, a list or dict of them (waited
    for together, see :func:`multi`) or None/``moment``; the yield evaluates to the
    result. ``return value`` or ``raise Return(value)`` resolves the Future. A plain
    (non-generator) function is also accepted: its return value or exception resolves
    the Future at once. The coroutine runs in a copy of the caller's
    :mod:`contextvars` context. Call the decorated function only where an
    event loop is current.
    """

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Future[Any]:
        future: Future[Any] = Future()
        ctx_run = contextvars.copy_context().run
        try:
            result = ctx_run(func, *args, **kwargs)
        except (Return, StopIteration) as e:
            result = _value_from_stopiteration(e)
        except Exception:
            future_set_exc_info(future, sys.exc_info())
            return future
        if isinstance(result, types.GeneratorType):
            try:
                yielded = ctx_run(next, result)
            except (StopIteration, Return) as e:
                future_set_result_unless_cancelled(future, _value_from_stopiteration(e))
            except Exception:
                future_set_exc_info(future, sys.exc_info())
            else:
                runner = Runner(ctx_run, result, future, yielded)
                # The future keeps the runner (and so the generator) alive.
                future.add_done_callback(lambda _: runner)
            return future
        future_set_result_unless_cancelled(future, result)
        return future

    setattr(wrapper, "__wrapped__", func)  # noqa: B010
    setattr(wrapper, _CORO_MARKER, True)
    return wrapper


def is_coroutine_function(func: Any) -> bool:
    """Return True if ``func`` was decorated with :func:`coroutine` (not for ``async def``)."""
    return bool(getattr(func, _CORO_MARKER, False))


class Runner:
    """Drive a generator coroutine: resolve what it yields and send the results back.

    Internal to :func:`coroutine`; exposed for completeness as in Tornado.
    """

    __slots__ = ("ctx_run", "finished", "future", "gen", "io_loop", "result_future", "running")

    def __init__(
        self,
        ctx_run: Callable[..., Any],
        gen: Generator[Any, Any, Any],
        result_future: Future[Any],
        first_yielded: Any,
    ) -> None:
        self.ctx_run = ctx_run
        self.gen: Generator[Any, Any, Any] | None = gen
        self.result_future: Future[Any] | None = result_future
        self.future: Any = None
        self.running = False
        self.finished = False
        io_loop = IOLoop.current()
        assert io_loop is not None
        self.io_loop = io_loop
        if self.handle_yield(first_yielded):
            self.ctx_run(self.run)

    def run(self) -> None:
        """Resume the generator as long as what it yields is already done."""
        if self.running or self.finished:
            return
        try:
            self.running = True
            while True:
                future = self.future
                if future is None:
                    raise Exception("No pending future")
                if not future.done():
                    return
                self.future = None
                gen = self.gen
                assert gen is not None
                try:
                    exc: BaseException | None = None
                    try:
                        value = future.result()
                    except (Exception, asyncio.CancelledError) as e:
                        exc = e
                    future = None
                    if exc is not None:
                        try:
                            yielded = gen.throw(exc)
                        finally:
                            exc = None
                    else:
                        yielded = gen.send(value)
                except (StopIteration, Return) as e:
                    self._finish()
                    assert self.result_future is not None
                    future_set_result_unless_cancelled(
                        self.result_future, _value_from_stopiteration(e)
                    )
                    self.result_future = None
                    return
                except asyncio.CancelledError:
                    self._finish()
                    assert self.result_future is not None
                    self.result_future.cancel()
                    self.result_future = None
                    return
                except Exception:
                    self._finish()
                    assert self.result_future is not None
                    future_set_exc_info(self.result_future, sys.exc_info())
                    self.result_future = None
                    return
                if not self.handle_yield(yielded):
                    return
                yielded = None
        finally:
            self.running = False

    def _finish(self) -> None:
        self.finished = True
        self.future = None
        self.gen = None

    def handle_yield(self, yielded: Any) -> bool:
        """Convert a yielded object; return True if it is already done (keep running)."""
        try:
            self.future = convert_yielded(yielded)
        except BadYieldError:
            failed: Future[Any] = Future()
            future_set_exc_info(failed, sys.exc_info())
            self.future = failed
        if self.future is moment:
            self.io_loop.add_callback(self.ctx_run, self.run)
            return False
        if not self.future.done():

            def inner(f: Any) -> None:
                # Drop the reference to the finished future before resuming.
                del f
                self.ctx_run(self.run)

            self.io_loop.add_future(self.future, inner)
            return False
        return True


def _wrap_awaitable(awaitable: Awaitable[_T]) -> Future[_T]:
    return asyncio.ensure_future(awaitable)


@singledispatch
def convert_yielded(yielded: Any) -> Future[Any]:
    """Turn whatever a generator coroutine yielded into the Future the runner waits on.

    None and ``moment`` give ``moment``; lists and dicts go through
    :func:`multi`; futures pass through (:class:`concurrent.futures.Future` included);
    other awaitables (native coroutines...) are wrapped with
    :func:`asyncio.ensure_future`. Anything else raises :class:`BadYieldError`.
    This is a :func:`functools.singledispatch` function: register converters for
    more types with ``@convert_yielded.register(SomeType)``.
    """
    if yielded is None or yielded is moment:
        return moment
    if isinstance(yielded, (list, dict)):
        from ._multi import multi

        return multi(yielded)
    if is_future(yielded):
        if isinstance(yielded, futures.Future):
            # A thread-pool future: bridge it to the current loop.
            bridged: Future[Any] = Future()
            chain_future(yielded, bridged)
            return bridged
        return cast("Future[Any]", yielded)
    if isawaitable(yielded):
        return _wrap_awaitable(yielded)
    raise BadYieldError(f"yielded unknown object {yielded!r}")


def maybe_future(x: Any) -> Future[Any]:
    """Return ``x`` if it is a Future, else a Future already resolved to ``x``.

    Deprecated in Tornado (since 4.3) and kept for compatibility; prefer
    :func:`convert_yielded` or plain ``await``.
    """
    if is_future(x):
        return cast("Future[Any]", x)
    fut: Future[Any] = Future()
    fut.set_result(x)
    return fut
