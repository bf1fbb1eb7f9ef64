"""Helpers around :class:`asyncio.Future`, which squall uses as its only Future type.

The functions here copy outcomes between asyncio futures and thread-pool
(:mod:`concurrent.futures`) futures, resolve futures without tripping over a
consumer's cancellation, and run blocking methods on an executor.
"""

from __future__ import annotations

import asyncio
import functools
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
_AnyFuture = asyncio.Future[Any] | futures.Future[Any]

#: The Future class of squall: exactly :class:`asyncio.Future`.
Future = asyncio.Future

#: Both kinds of future squall accepts (thread-pool first, then asyncio).
FUTURES = (futures.Future, asyncio.Future)


class ReturnValueIgnoredError(Exception):
    """A function handing its result to a callback also returned a value, which is lost.

    Nothing in squall raises it any more; the name stays for old imports.
    """


def is_future(x: Any) -> bool:
    """True for a :class:`concurrent.futures.Future` or an asyncio-compatible future.

    The asyncio side is asked through :func:`asyncio.isfuture`, so futures of other
    asyncio-compatible loops (uvloop, or a third-party Future class) count too.
    """
    return isinstance(x, futures.Future) or asyncio.isfuture(x)


def _transfer(source: _AnyFuture, target: _AnyFuture) -> None:
    """Give ``target`` the outcome of the finished ``source``; a done ``target`` is left be."""
    if target.done():
        return
    if source.cancelled():
        target.cancel()
        return
    error = source.exception()
    if error is None:
        target.set_result(source.result())
    else:
        target.set_exception(error)


def chain_future(a: Future[_T] | futures.Future[_T], b: Future[_T] | futures.Future[_T]) -> None:
    """Once ``a`` finishes, give ``b`` the same outcome (value, exception or cancellation).

    If ``b`` is already done at that point it keeps what it has. Either side may be
    an asyncio or a :mod:`concurrent.futures` future; when ``a`` may finish on a
    worker thread and ``b`` belongs to an event loop, the copy is made on that
    loop's thread. A finished ``a`` is copied before this function returns,
    except across threads.
    """
    if isinstance(a, futures.Future) and isinstance(b, asyncio.Future):
        home = b.get_loop()

        def hop(done: _AnyFuture) -> None:
            try:
                home.call_soon_threadsafe(_transfer, done, b)
            except RuntimeError:
                pass  # the loop owning ``b`` is closed; no one can await ``b`` now

        a.add_done_callback(hop)
    else:
        future_add_done_callback(a, functools.partial(_transfer, target=b))


def future_set_result_unless_cancelled(future: Future[_T] | futures.Future[_T], value: _T) -> None:
    """``future.set_result(value)``, skipped when the consumer already cancelled ``future``."""
    if future.cancelled():
        return
    future.set_result(value)


def future_set_exception_unless_cancelled(
    future: Future[Any] | futures.Future[Any], exc: BaseException
) -> None:
    """Fail ``future`` with ``exc``; when ``future`` was cancelled, log ``exc`` instead.

    Logging keeps the error visible: a cancelled future cannot carry it to anyone.
    """
    if future.cancelled():
        app_log.error("Exception raised after its Future was cancelled", exc_info=exc)
        return
    future.set_exception(exc)


def future_set_exc_info(
    future: Future[Any] | futures.Future[Any],
    exc_info: tuple[type[BaseException] | None, BaseException | None, types.TracebackType | None],
) -> None:
    """Like :func:`future_set_exception_unless_cancelled`, fed a :func:`sys.exc_info` triple.

    Raises :class:`Exception` when the triple holds no exception.
    """
    error = exc_info[1]
    if error is None:
        raise Exception("future_set_exc_info got an exc_info with no exception in it")
    future_set_exception_unless_cancelled(future, error)


def future_add_done_callback(future: Any, callback: Callable[[Any], None]) -> None:
    """Call ``callback(future)`` when ``future`` finishes: at once if it has already.

    Unlike ``future.add_done_callback``, which schedules the call on the loop even
    for a finished future, a finished future's callback runs before this returns.
    """
    if future.done():
        callback(future)
    else:
        future.add_done_callback(callback)


class DummyExecutor(futures.Executor):
    """An :class:`~concurrent.futures.Executor` doing each job inline, on the caller's thread."""

    def submit(  # type: ignore[override]
        self, fn: Callable[..., _T], *args: Any, **kwargs: Any
    ) -> futures.Future[_T]:
        """Call ``fn(*args, **kwargs)`` now; hand back its outcome as a finished future."""
        outcome: futures.Future[_T] = futures.Future()
        try:
            value = fn(*args, **kwargs)
        except Exception as error:
            outcome.set_exception(error)
        else:
            outcome.set_result(value)
        return outcome

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        """Nothing to release: jobs never outlive :meth:`submit`."""


#: A ready-made :class:`DummyExecutor` to share.
dummy_executor = DummyExecutor()


def _offload(method: _F, attribute: str) -> _F:
    """Make ``method`` run on ``getattr(self, attribute)`` and return an asyncio future."""

    @functools.wraps(method)
    def submit_to_pool(self: Any, *args: Any, **kwargs: Any) -> Future[Any]:
        pool = getattr(self, attribute)
        return asyncio.wrap_future(pool.submit(method, self, *args, **kwargs))

    return submit_to_pool  # type: ignore[return-value]


@overload
def run_on_executor(fn: _F) -> _F: ...


@overload
def run_on_executor(*, executor: str = ...) -> Callable[[_F], _F]: ...


def run_on_executor(*args: Any, **kwargs: Any) -> Any:
    """Decorate a blocking method so calls run on an executor and return an awaitable Future.

    The executor is ``self.executor``, or the attribute named with
    ``@run_on_executor(executor="name")``. Call the method while an event loop is
    running: the Future belongs to it, and cancelling the Future also cancels the
    job if the executor has not started it yet. Extra positional arguments, or a
    function together with keywords, raise :class:`ValueError`; unknown keywords
    raise :class:`TypeError`.
    """
    if (args and kwargs) or len(args) > 1:
        raise ValueError(
            "run_on_executor takes either the method alone or only the executor= keyword"
        )
    if args:
        return _offload(args[0], "executor")
    attribute = kwargs.pop("executor", "executor")
    if kwargs:
        raise TypeError(f"run_on_executor() got unknown keywords {sorted(kwargs)}")
    return functools.partial(_offload, attribute=attribute)
