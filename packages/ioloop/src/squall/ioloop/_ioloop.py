"""The :class:`IOLoop` interface: Tornado's event-loop API as a face over asyncio.

Every asyncio event loop has at most one :class:`IOLoop`, and every IOLoop wraps exactly
one asyncio loop; the pairing lives in a small registry in this module. The concrete
class is :class:`squall.platform.asyncio.BaseAsyncIOLoop` (and its two subclasses); the
class here declares the primitives they provide and builds the convenience methods
(:meth:`IOLoop.run_sync`, :meth:`IOLoop.add_timeout`, :meth:`IOLoop.add_future`, ...)
out of them and out of asyncio itself.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import datetime
import numbers
import os
import typing
import warnings
from collections.abc import Callable
from typing import Any, Literal, Protocol, TypeVar

from squall.concurrent import Future
from squall.log import app_log
from squall.util import Configurable, TimeoutError, import_object

__all__ = ["IOLoop"]

_T = TypeVar("_T")
_S = TypeVar("_S", bound="_Selectable")


class _Selectable(Protocol):
    """What :meth:`IOLoop.add_handler` accepts besides an int: ``fileno()`` plus ``close()``."""

    def fileno(self) -> int: ...

    def close(self) -> None: ...


# -- which asyncio loop belongs to this thread -------------------------------------------


def _policy_loop_peek() -> asyncio.AbstractEventLoop | None:
    """The loop installed with :func:`asyncio.set_event_loop` in this thread, or None.

    Never creates a loop (``asyncio.get_event_loop`` may, or may warn, depending on
    the Python version), and never looks at the *running* loop.
    """
    with warnings.catch_warnings():
        # The policy API itself is deprecated from Python 3.14 on.
        warnings.simplefilter("ignore", DeprecationWarning)
        policy = asyncio.get_event_loop_policy()
        thread_state = getattr(policy, "_local", None)
        if thread_state is None:
            # A third-party policy: ask it, accepting that it may build a loop.
            try:
                return policy.get_event_loop()
            except RuntimeError:
                return None
    installed: asyncio.AbstractEventLoop | None = getattr(thread_state, "_loop", None)
    return installed


def _usable_thread_loop() -> asyncio.AbstractEventLoop | None:
    """The running loop, else this thread's installed loop unless it is closed."""
    running = asyncio._get_running_loop()
    if running is not None:
        return running
    installed = _policy_loop_peek()
    if installed is None or installed.is_closed():
        return None
    return installed


# -- the registry: asyncio loop <-> IOLoop ----------------------------------------------

_wrappers: dict[asyncio.AbstractEventLoop, IOLoop] = {}


def _register_wrapper(loop: asyncio.AbstractEventLoop, wrapper: IOLoop) -> None:
    """Pair ``wrapper`` with ``loop``; :class:`RuntimeError` if ``loop`` is taken."""
    # Loops closed without IOLoop.close() (asyncio.run, a test harness...) are dropped here.
    for dead in [known for known in _wrappers if known.is_closed()]:
        del _wrappers[dead]
    holder = _wrappers.setdefault(loop, wrapper)
    if holder is not wrapper:
        raise RuntimeError(f"{loop!r} is already associated with {holder!r} (one IOLoop each)")


def _unregister_wrapper(loop: asyncio.AbstractEventLoop, wrapper: IOLoop) -> None:
    if _wrappers.get(loop) is wrapper:
        del _wrappers[loop]


# -- running callbacks -------------------------------------------------------------------

# Futures of awaitables returned by callbacks: kept alive here until they finish.
_in_flight: set[Future[Any]] = set()

_converter: Callable[[Any], Future[Any]] | None = None


def _to_future(value: Any) -> Future[Any]:
    """:func:`squall.gen.convert_yielded`, imported on first use (gen imports us)."""
    global _converter
    if _converter is None:
        from squall.gen import convert_yielded

        _converter = convert_yielded
    return _converter(value)


#: Hooks consulted before a failed callback is logged: each gets the exception,
#: called in the failed callback's own context, and returns True when it has
#: dealt with it (squall.web's ``@asynchronous`` answers the request the
#: callback belonged to). Empty unless such a feature registered itself.
_callback_error_hooks: list[Callable[[Exception], bool]] = []


def _run_guarded(callback: Callable[..., Any], *args: Any) -> None:
    """Call ``callback(*args)``; log what it raises, and watch an awaitable it returns."""
    try:
        outcome = callback(*args)
    except asyncio.CancelledError:
        return
    except Exception as exc:
        if _callback_error_hooks and any(hook(exc) for hook in _callback_error_hooks):
            return
        app_log.error("Exception in callback %r with arguments %r", callback, args, exc_info=True)
        return
    if outcome is not None:
        _watch(outcome)


def _watch(outcome: Any) -> None:
    from squall.gen import BadYieldError

    try:
        pending = _to_future(outcome)
    except BadYieldError:
        return  # an ordinary return value: ignored
    _in_flight.add(pending)
    pending.add_done_callback(_report_outcome)


def _report_outcome(pending: Future[Any]) -> None:
    _in_flight.discard(pending)
    if pending.cancelled():
        return
    problem = pending.exception()
    if problem is not None:
        app_log.error("Exception in callback returning %r", pending, exc_info=problem)


def _retrieve_quietly(pending: Future[Any]) -> None:
    # Marks a late exception as seen so asyncio does not complain about it.
    if not pending.cancelled():
        pending.exception()


async def _call_and_wait(func: Callable[..., Any], timeout: float | None) -> Any:
    """The body of :meth:`IOLoop.run_sync`, run as a task on the loop."""
    produced = func()
    if produced is None:
        return None
    target = _to_future(produced)
    if timeout is None:
        return await target
    finished, _ = await asyncio.wait((target,), timeout=timeout)
    if finished:
        return target.result()
    # Too slow: cancel it, let the cancellation land, then report the timeout.
    target.cancel()
    await asyncio.wait((target,))
    _retrieve_quietly(target)
    raise TimeoutError(f"Operation timed out after {timeout} seconds")


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

    @classmethod
    def configure(cls, impl: str | type[Configurable] | None, **kwargs: Any) -> None:
        """Choose the :class:`IOLoop` implementation (must be an asyncio-based loop).

        Raises :class:`RuntimeError` for a class that is not a subclass of
        :class:`~squall.platform.asyncio.BaseAsyncIOLoop`.
        """
        from squall.platform.asyncio import BaseAsyncIOLoop

        chosen = import_object(impl) if isinstance(impl, str) else impl
        if isinstance(chosen, type) and not issubclass(chosen, BaseAsyncIOLoop):
            raise RuntimeError(f"{chosen.__name__} is not an asyncio-based IOLoop")
        super().configure(chosen, **kwargs)

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
            self._become_current()

    # -- which IOLoop is current -------------------------------------------------------

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
        loop = _usable_thread_loop()
        if loop is not None:
            known = _wrappers.get(loop)
            if known is not None:
                return known
        if not instance:
            return None
        from squall.platform.asyncio import AsyncIOMainLoop

        # Wraps ``loop`` (or, with no loop at all, a new one it installs).
        fresh: IOLoop = AsyncIOMainLoop()
        return fresh

    @staticmethod
    def instance() -> IOLoop:
        """Return the current thread's IOLoop (the classic spelling of :meth:`current`)."""
        return IOLoop.current()

    @staticmethod
    def initialized() -> bool:
        """Return True if the current thread already has an IOLoop (classic Tornado API).

        Not in Tornado 6; kept from the Tornado 4 API as ``IOLoop.current(instance=False)
        is not None``.
        """
        return IOLoop.current(instance=False) is not None

    def make_current(self) -> None:
        """Make this the current IOLoop of this thread (deprecated, as in Tornado 6.2+).

        Emits :class:`DeprecationWarning`; start the loop (or use ``asyncio.run``)
        instead. Sets the thread's current asyncio loop; the previous one is restored
        by :meth:`clear_current` or :meth:`close`.
        """
        warnings.warn(
            "IOLoop.make_current() is deprecated: run the loop instead",
            DeprecationWarning,
            stacklevel=2,
        )
        self._become_current()

    def install(self) -> None:
        """Make this loop the current one (deprecated classic API; see :meth:`make_current`)."""
        self.make_current()

    @staticmethod
    def clear_current() -> None:
        """Clear the current IOLoop of this thread (deprecated; emits DeprecationWarning)."""
        warnings.warn("IOLoop.clear_current() is deprecated", DeprecationWarning, stacklevel=2)
        holder = IOLoop.current(instance=False)
        if holder is not None:
            holder._resign_current()

    @staticmethod
    def clear_instance() -> None:
        """Forget the current IOLoop (deprecated classic API; see :meth:`clear_current`)."""
        IOLoop.clear_current()

    def _become_current(self) -> None:
        """Install this loop as the thread's current one (the asyncio loops do it)."""
        raise NotImplementedError

    def _resign_current(self) -> None:
        """Undo :meth:`_become_current`, bringing back whatever it displaced."""

    # -- primitives, provided by squall.platform.asyncio.BaseAsyncIOLoop ---------------

    def close(self, all_fds: bool = False) -> None:
        """Close the loop and free its resources; with ``all_fds`` also close registered fds.

        The loop must not be running. Closing twice is harmless.
        """
        raise NotImplementedError

    def add_handler(self, fd: int | _Selectable, handler: Callable[..., None], events: int) -> None:
        """Call ``handler(fd, events)`` whenever ``fd`` is ready for ``events``.

        ``fd`` is an int or an object with ``fileno()``; the handler receives it as
        given. ``events`` is a mask of :attr:`~squall.ioloop.IOLoop.READ` and :attr:`~squall.ioloop.IOLoop.WRITE` (:attr:`~squall.ioloop.IOLoop.ERROR`
        is implied). Raises :class:`ValueError` if the fd already has a handler.
        """
        raise NotImplementedError

    def update_handler(self, fd: int | _Selectable, events: int) -> None:
        """Change the events ``fd`` is watched for."""
        raise NotImplementedError

    def remove_handler(self, fd: int | _Selectable) -> None:
        """Stop watching ``fd`` (no error if it was not registered)."""
        raise NotImplementedError

    def start(self) -> None:
        """Run the loop until :meth:`stop` is called."""
        raise NotImplementedError

    def stop(self) -> None:
        """Stop the loop after the current iteration (pending callbacks still run)."""
        raise NotImplementedError

    def time(self) -> float:
        """Return the loop's clock (:func:`time.monotonic` based), used for deadlines."""
        raise NotImplementedError

    def call_at(
        self, when: float, callback: Callable[..., Any], *args: Any, **kwargs: Any
    ) -> object:
        """Run ``callback`` at absolute time ``when`` (on :meth:`time`'s clock).

        Returns a handle for :meth:`remove_timeout`.
        """
        raise NotImplementedError

    def remove_timeout(self, timeout: object) -> None:
        """Cancel a pending timeout returned by :meth:`~squall.ioloop.IOLoop.add_timeout` / :meth:`~squall.ioloop.IOLoop.call_at`.

        Harmless if the callback already ran or the timeout was already removed.
        """
        raise NotImplementedError

    def add_callback(self, callback: Callable[..., Any], *args: Any, **kwargs: Any) -> None:
        """Run ``callback(*args, **kwargs)`` on the next loop iteration.

        Safe to call from any thread. Exceptions are logged to ``squall.application``;
        if the callback returns an awaitable its failure is logged too.
        """
        raise NotImplementedError

    def add_callback_from_signal(
        self, callback: Callable[..., Any], *args: Any, **kwargs: Any
    ) -> None:
        """Like :meth:`add_callback`, from a signal handler (deprecated in Tornado 6.4)."""
        raise NotImplementedError

    def run_in_executor(
        self,
        executor: concurrent.futures.Executor | None,
        func: Callable[..., _T],
        *args: Any,
    ) -> Future[_T]:
        """Run ``func(*args)`` in ``executor`` (default: a thread pool) and return a Future."""
        raise NotImplementedError

    def set_default_executor(self, executor: concurrent.futures.Executor) -> None:
        """Set the executor :meth:`run_in_executor` uses when given None."""
        raise NotImplementedError

    # -- conveniences built on the primitives ------------------------------------------

    def run_sync(self, func: Callable[..., Any], timeout: float | None = None) -> Any:
        """Start the loop, run ``func()``, stop the loop and return its result.

        ``func`` may return an awaitable (a coroutine, a Future, a list/dict of them)
        or None. With ``timeout`` (seconds) :class:`TimeoutError` is raised if it takes
        longer; the pending coroutine is cancelled (and allowed to finish cancelling)
        first. A function returning any other value raises
        :class:`squall.gen.BadYieldError`. If the loop is stopped before ``func``
        finishes, :class:`RuntimeError` is raised.
        """
        started: list[Future[Any]] = []

        def launch() -> None:
            task = asyncio.ensure_future(_call_and_wait(func, timeout))
            task.add_done_callback(lambda _: self.stop())
            started.append(task)

        self.add_callback(launch)
        self.start()
        if not started or not started[0].done():
            raise RuntimeError("Event loop stopped before Future completed.")
        return started[0].result()

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
        given: object = deadline  # checked at run time: callers are not always typed
        if isinstance(given, datetime.timedelta):
            when = self.time() + given.total_seconds()
        elif isinstance(given, numbers.Real):
            when = float(given)
        else:
            raise TypeError(f"Unsupported deadline {given!r}: use a number or a timedelta")
        return self.call_at(when, callback, *args, **kwargs)

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
        (whose completion may come from another thread). Anything else raises
        :class:`TypeError`.
        """
        if isinstance(future, asyncio.Future):
            # asyncio already runs done-callbacks on the loop; only guard them.
            future.add_done_callback(lambda done: _run_guarded(callback, done))
        elif isinstance(future, concurrent.futures.Future):
            future.add_done_callback(lambda done: self.add_callback(callback, done))
        else:
            raise TypeError(f"add_future() needs a Future, not {type(future).__name__}")

    def split_fd(self, fd: int | _S) -> tuple[int, int | _S]:
        """Return ``(fileno, fd)`` for an int fd or an object with ``fileno()``."""
        return (fd if isinstance(fd, int) else fd.fileno()), fd

    def close_fd(self, fd: int | _Selectable) -> None:
        """Close an int fd or an object with ``close()``, ignoring :class:`OSError`."""
        try:
            if isinstance(fd, int):
                os.close(fd)
            else:
                fd.close()
        except OSError:
            pass
