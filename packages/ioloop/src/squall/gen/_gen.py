"""Generator coroutines on top of asyncio futures.

A function decorated with :func:`coroutine` returns a plain :class:`asyncio.Future`.
When the function is a generator, a :class:`Runner` steps it: whatever the
generator yields is turned into a future by :func:`convert_yielded`, and the
generator resumes (in its own :mod:`contextvars` context) with that future's
outcome. Futures that are already finished are fed back in a loop, without a
trip through the event loop; pending ones wake the runner through a done
callback that asyncio runs directly in the coroutine's context.
"""

from __future__ import annotations

import asyncio
import contextvars
import functools
import inspect
import types
from collections.abc import Callable, Coroutine, Generator
from concurrent import futures
from typing import Any, TypeVar, cast, overload

from squall.concurrent import (
    Future,
    future_set_exception_unless_cancelled,
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

#: Attribute set on the wrappers made by :func:`coroutine`.
_GEN_MARK = "_squall_gen_coroutine"


class KeyReuseError(Exception):
    """Left from the callback-key API that Tornado removed; nothing raises it now."""


class UnknownKeyError(Exception):
    """Left from the callback-key API that Tornado removed; nothing raises it now."""


class LeakedCallbackError(Exception):
    """Left from the callback-key API that Tornado removed; nothing raises it now."""


class BadYieldError(Exception):
    """What a generator coroutine yielded cannot be waited on (see :func:`convert_yielded`)."""


class Return(Exception):
    """``raise Return(value)`` ends a generator coroutine with ``value`` as its result.

    It predates ``return value`` in generators, which does the same and is what new
    code should use. The value is kept as ``value`` and as ``args[0]``.
    """

    def __init__(self, value: Any = None) -> None:
        super().__init__()
        self.value = value
        self.args = (value,)


class _Moment:
    """A finished stand-in future whose only effect is to give the loop one turn."""

    __slots__ = ()

    def done(self) -> bool:
        return True

    def cancelled(self) -> bool:
        return False

    def result(self) -> None:
        return None

    def exception(self) -> None:
        return None

    def __await__(self) -> Generator[None, None, None]:
        # A bare yield is how a Task hands one iteration back to the loop.
        yield

    def __repr__(self) -> str:
        return "<squall.gen.moment>"


#: ``yield gen.moment`` (or ``yield None``) in a generator coroutine lets the loop
#: run once before the coroutine goes on. squall's moment can also be awaited in
#: ``async def`` code, where it acts like ``await asyncio.sleep(0)``.
moment = cast("Future[None]", _Moment())


@overload
def coroutine(
    func: Callable[..., Generator[Any, Any, _T]],
) -> Callable[..., Future[_T]]: ...


@overload
def coroutine(func: Callable[..., _T]) -> Callable[..., Future[_T]]: ...


def coroutine(func: Callable[..., Any]) -> Callable[..., Future[Any]]:
    """Turn a generator function into a coroutine function returning a :class:`Future`.

    Calling the result runs ``func`` at once, up to its first ``yield``, in a copy
    of the caller's :mod:`contextvars` context; the rest runs on the event loop.
    Each ``yield`` hands over something :func:`convert_yielded` accepts (a future,
    an awaitable, a list or dict of them, None or ``moment``) and evaluates to
    its result, or raises its exception inside the generator. ``return value``
    (or ``raise Return(value)``) resolves the Future; an escaping exception fails
    it (:class:`asyncio.CancelledError` cancels it). A function that is not a
    generator is accepted too: its return value or exception settles the Future
    before the call returns. An event loop must be
    current in the calling thread.
    """

    @functools.wraps(func)
    def start(*args: Any, **kwargs: Any) -> Future[Any]:
        outcome: Future[Any] = Future()
        context = contextvars.copy_context()
        try:
            made = context.run(func, *args, **kwargs)
            if isinstance(made, types.GeneratorType):
                first = context.run(next, made)
                Runner(context.run, made, outcome, first)
                return outcome
        except (Return, StopIteration) as stop:
            made = stop.value
        except asyncio.CancelledError:
            outcome.cancel()
            return outcome
        except Exception as error:
            future_set_exception_unless_cancelled(outcome, error)
            return outcome
        future_set_result_unless_cancelled(outcome, made)
        return outcome

    setattr(start, _GEN_MARK, True)
    return start


def is_coroutine_function(func: Any) -> bool:
    """True when ``func`` came out of :func:`coroutine` (``async def`` functions give False)."""
    return getattr(func, _GEN_MARK, False) is True


class Runner:
    """The engine behind one call of a :func:`coroutine` generator.

    It holds the generator (:attr:`gen`), the future it is waiting on
    (:attr:`future`) and the future that receives the final outcome
    (:attr:`result_future`). :func:`coroutine` creates it; building one by hand
    is rarely useful. ``ctx_run`` is the ``run`` method of the context the
    generator lives in (any callable of that shape works, at the cost of a
    context copy per wait).
    """

    __slots__ = (
        "_context",
        "_loop",
        "ctx_run",
        "finished",
        "future",
        "gen",
        "io_loop",
        "result_future",
        "running",
    )

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
        self.io_loop = IOLoop.current()
        self._loop = result_future.get_loop()
        owner = getattr(ctx_run, "__self__", None)
        self._context = owner if isinstance(owner, contextvars.Context) else None
        ctx_run(self._begin, first_yielded)

    def _begin(self, first_yielded: Any) -> None:
        if self.handle_yield(first_yielded):
            self.run()

    def _wake(self, _ready: object) -> None:
        # With a known Context asyncio already runs us inside it.
        if self._context is None:
            self.ctx_run(self.run)
        else:
            self.run()

    def run(self) -> None:
        """Feed finished outcomes into the generator until it waits on a pending one.

        Does nothing while already running (re-entry) or once the generator is over.
        """
        gen = self.gen
        if gen is None or self.running:
            return
        self.running = True
        try:
            while (waited := self.future) is not None and waited.done():
                self.future = None
                failure: BaseException | None = None
                try:
                    value = waited.result()
                except BaseException as caught:  # anything stored in the future, cancellation too
                    failure = caught
                del waited
                try:
                    yielded = gen.send(value) if failure is None else gen.throw(failure)
                except (Return, StopIteration) as stop:
                    self._conclude(stop.value, None)
                    return
                except (Exception, asyncio.CancelledError) as error:
                    self._conclude(None, error)
                    return
                finally:
                    failure = None
                if not self.handle_yield(yielded):
                    return
        finally:
            self.running = False

    def _conclude(self, value: Any, error: BaseException | None) -> None:
        """The generator is over: release it and settle :attr:`result_future`."""
        target = self.result_future
        self.finished = True
        self.gen = self.future = self.result_future = None
        if target is None:
            return
        if error is None:
            future_set_result_unless_cancelled(target, value)
        elif isinstance(error, asyncio.CancelledError):
            target.cancel()
        else:
            future_set_exception_unless_cancelled(target, error)

    def handle_yield(self, yielded: Any) -> bool:
        """Make :attr:`future` from ``yielded``; True means it is finished already.

        When it is not, a wake-up is arranged and False is returned. A yielded value
        that cannot be converted becomes a failed future, so the error is raised
        inside the generator at its ``yield``.
        """
        if yielded is None or yielded is moment:
            self.future = moment
            self._loop.call_soon(self._wake, None, context=self._context)
            return False
        waited: Any  # a converter registered by an application may return any future
        try:
            waited = convert_yielded(yielded)
        except Exception as error:
            waited = self._loop.create_future()
            waited.set_exception(error)
        self.future = waited
        if waited.done():
            return True
        if isinstance(waited, asyncio.Future):
            waited.add_done_callback(self._wake, context=self._context)
        else:
            self.io_loop.add_future(waited, lambda _ready: self.ctx_run(self.run))
        return False


@functools.singledispatch
def convert_yielded(yielded: Any) -> Future[Any]:
    """Give back the future a generator coroutine waits on for ``yielded``.

    asyncio futures (tasks included) come back unchanged; a
    :class:`concurrent.futures.Future` is wrapped with :func:`asyncio.wrap_future`;
    other awaitables (native coroutines and the like) are scheduled with
    :func:`asyncio.ensure_future`; None and ``moment`` give ``moment``; a
    list or dict goes to :func:`~squall.gen.multi`. Anything else raises
    :class:`BadYieldError`. More types can be taught to it with
    ``@convert_yielded.register(SomeType)`` (a :func:`functools.singledispatch`).
    """
    if asyncio.isfuture(yielded):
        return yielded
    if inspect.isawaitable(yielded):
        return asyncio.ensure_future(yielded)
    raise BadYieldError(f"yielded unknown object {yielded!r}")


@convert_yielded.register(type(None))
@convert_yielded.register(_Moment)
def _one_turn(yielded: Any) -> Future[Any]:
    return moment


@convert_yielded.register(asyncio.Future)
def _as_is(yielded: Future[Any]) -> Future[Any]:
    return yielded


@convert_yielded.register(types.CoroutineType)
def _schedule(yielded: Coroutine[Any, Any, Any]) -> Future[Any]:
    return asyncio.ensure_future(yielded)


@convert_yielded.register(futures.Future)
def _from_thread(yielded: futures.Future[Any]) -> Future[Any]:
    return asyncio.wrap_future(yielded)


def maybe_future(x: Any) -> Future[Any]:
    """``x`` itself when it is a future, else a new Future already holding ``x``.

    Deprecated by Tornado since 4.3 and kept for old code; :func:`convert_yielded`
    or a plain ``await`` serves better.
    """
    if is_future(x):
        return cast("Future[Any]", x)
    holder: Future[Any] = Future()
    holder.set_result(x)
    return holder
