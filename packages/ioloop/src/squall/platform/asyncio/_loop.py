"""The asyncio-backed :class:`~squall.ioloop.IOLoop` implementations.

:class:`BaseAsyncIOLoop` maps every IOLoop primitive directly onto an asyncio event loop
(any implementation: the standard selector loop, uvloop, ...). Per-fd state is one
dict entry ``fd -> (fileobj, handler)`` plus membership in a reader and a writer set;
readiness is delivered by ``loop.add_reader`` / ``loop.add_writer`` themselves.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import functools
import warnings
from collections.abc import Callable
from typing import Any, TypeVar

from squall.concurrent import Future
from squall.ioloop import IOLoop
from squall.ioloop._ioloop import _policy_loop_peek, _Selectable
from squall.log import app_log

__all__ = [
    "AnyThreadEventLoopPolicy",
    "AsyncIOLoop",
    "AsyncIOMainLoop",
    "BaseAsyncIOLoop",
    "to_asyncio_future",
    "to_tornado_future",
]

_T = TypeVar("_T")

_READ = IOLoop.READ
_WRITE = IOLoop.WRITE
_get_running_loop = asyncio._get_running_loop


class BaseAsyncIOLoop(IOLoop):
    """Shared machinery: an :class:`~squall.ioloop.IOLoop` delegating to one asyncio loop.

    ``initialize(asyncio_loop, make_current=True)``. Only one IOLoop may wrap a given
    asyncio loop (:class:`RuntimeError` otherwise). The asyncio loop is available as
    ``asyncio_loop``. On Windows' proactor loop the fd methods are provided by an
    :class:`AddThreadSelectorEventLoop` (``selector_loop``).
    """

    asyncio_loop: asyncio.AbstractEventLoop

    def initialize(  # type: ignore[override]
        self, asyncio_loop: asyncio.AbstractEventLoop, **kwargs: Any
    ) -> None:
        self.asyncio_loop = asyncio_loop
        self.selector_loop: asyncio.AbstractEventLoop = asyncio_loop
        proactor = getattr(asyncio, "ProactorEventLoop", None)
        if proactor is not None and isinstance(asyncio_loop, proactor):
            from ._selector_thread import AddThreadSelectorEventLoop

            self.selector_loop = AddThreadSelectorEventLoop(asyncio_loop)  # type: ignore[abstract]
        # fd -> (the object given to add_handler, the handler)
        self.handlers: dict[int, tuple[int | _Selectable, Callable[..., None]]] = {}
        self.readers: set[int] = set()
        self.writers: set[int] = set()
        self.closing = False
        self._is_current = False
        self._prev_asyncio_loop: asyncio.AbstractEventLoop | None = None
        # Forget IOLoops whose asyncio loop was closed behind our back (asyncio.run).
        stale = [loop for loop in IOLoop._ioloop_for_asyncio if loop.is_closed()]
        for loop in stale:
            del IOLoop._ioloop_for_asyncio[loop]
        existing = IOLoop._ioloop_for_asyncio.get(asyncio_loop)
        if existing is not None:
            raise RuntimeError(
                f"IOLoop {existing!r} already associated with asyncio loop {asyncio_loop!r}"
            )
        IOLoop._ioloop_for_asyncio[asyncio_loop] = self
        try:
            super().initialize(**kwargs)
        except Exception:
            del IOLoop._ioloop_for_asyncio[asyncio_loop]
            raise

    # -- current-loop bookkeeping ----------------------------------------------------

    def _make_current(self) -> None:
        if not self._is_current:
            previous = _policy_loop_peek()
            if previous is not self.asyncio_loop:
                self._prev_asyncio_loop = previous
                asyncio.set_event_loop(self.asyncio_loop)
            self._is_current = True
        elif _policy_loop_peek() is not self.asyncio_loop:
            asyncio.set_event_loop(self.asyncio_loop)

    def _clear_current_hook(self) -> None:
        if _policy_loop_peek() is self.asyncio_loop:
            previous = self._prev_asyncio_loop
            if previous is not None and previous.is_closed():
                previous = None
            asyncio.set_event_loop(previous)
        self._is_current = False
        self._prev_asyncio_loop = None

    def close(self, all_fds: bool = False) -> None:
        if self.closing:
            return
        if self.asyncio_loop.is_running():
            raise RuntimeError("Cannot close a running IOLoop")
        self.closing = True
        for fd in list(self.handlers):
            fileobj = self.handlers[fd][0]
            self.remove_handler(fd)
            if all_fds:
                self.close_fd(fileobj)
        if IOLoop._ioloop_for_asyncio.get(self.asyncio_loop) is self:
            del IOLoop._ioloop_for_asyncio[self.asyncio_loop]
        if self._is_current or _policy_loop_peek() is self.asyncio_loop:
            self._clear_current_hook()
        if self.selector_loop is not self.asyncio_loop:
            self.selector_loop.close()
        self.asyncio_loop.close()

    # -- file descriptors (hot path) -------------------------------------------------

    def add_handler(self, fd: int | _Selectable, handler: Callable[..., None], events: int) -> None:
        fileno, fileobj = self.split_fd(fd)
        if fileno in self.handlers:
            raise ValueError(f"fd {fileno} added twice")
        self.handlers[fileno] = (fileobj, handler)
        if events & _READ:
            self.selector_loop.add_reader(fileno, self._handle_events, fileno, _READ)
            self.readers.add(fileno)
        if events & _WRITE:
            self.selector_loop.add_writer(fileno, self._handle_events, fileno, _WRITE)
            self.writers.add(fileno)

    def update_handler(self, fd: int | _Selectable, events: int) -> None:
        fileno = fd if isinstance(fd, int) else fd.fileno()
        readers = self.readers
        if events & _READ:
            if fileno not in readers:
                self.selector_loop.add_reader(fileno, self._handle_events, fileno, _READ)
                readers.add(fileno)
        elif fileno in readers:
            self.selector_loop.remove_reader(fileno)
            readers.remove(fileno)
        writers = self.writers
        if events & _WRITE:
            if fileno not in writers:
                self.selector_loop.add_writer(fileno, self._handle_events, fileno, _WRITE)
                writers.add(fileno)
        elif fileno in writers:
            self.selector_loop.remove_writer(fileno)
            writers.remove(fileno)

    def remove_handler(self, fd: int | _Selectable) -> None:
        fileno = fd if isinstance(fd, int) else fd.fileno()
        if self.handlers.pop(fileno, None) is None:
            return
        if fileno in self.readers:
            self.selector_loop.remove_reader(fileno)
            self.readers.remove(fileno)
        if fileno in self.writers:
            self.selector_loop.remove_writer(fileno)
            self.writers.remove(fileno)

    def _handle_events(self, fd: int, events: int) -> None:
        fileobj, handler = self.handlers[fd]
        try:
            handler(fileobj, events)
        except Exception:
            app_log.error("Exception in callback %r", (handler, fileobj, events), exc_info=True)

    # -- running ---------------------------------------------------------------------

    def start(self) -> None:
        self.asyncio_loop.run_forever()

    def stop(self) -> None:
        self.asyncio_loop.stop()

    def time(self) -> float:
        return self.asyncio_loop.time()

    def call_at(
        self, when: float, callback: Callable[..., Any], *args: Any, **kwargs: Any
    ) -> object:
        if kwargs:
            callback = functools.partial(callback, *args, **kwargs)
            args = ()
        return self.asyncio_loop.call_at(when, self._run_callback, callback, args)

    def remove_timeout(self, timeout: object) -> None:
        timeout.cancel()  # type: ignore[attr-defined]

    def add_callback(self, callback: Callable[..., Any], *args: Any, **kwargs: Any) -> None:
        if kwargs:
            callback = functools.partial(callback, *args, **kwargs)
            args = ()
        loop = self.asyncio_loop
        if _get_running_loop() is loop:
            # On the loop's own thread: no need to wake the selector.
            loop.call_soon(self._run_callback, callback, args)
            return
        try:
            loop.call_soon_threadsafe(self._run_callback, callback, args)
        except RuntimeError:
            # The loop is closed; like Tornado, drop the callback silently.
            pass
        except AttributeError:
            # Interpreter shutdown can tear the loop down under us.
            pass

    def add_callback_from_signal(
        self, callback: Callable[..., Any], *args: Any, **kwargs: Any
    ) -> None:
        warnings.warn("add_callback_from_signal is deprecated", DeprecationWarning, stacklevel=2)
        if kwargs:
            callback = functools.partial(callback, *args, **kwargs)
            args = ()
        try:
            self.asyncio_loop.call_soon_threadsafe(self._run_callback, callback, args)
        except RuntimeError:
            pass

    def run_in_executor(
        self,
        executor: concurrent.futures.Executor | None,
        func: Callable[..., _T],
        *args: Any,
    ) -> Future[_T]:
        return self.asyncio_loop.run_in_executor(executor, func, *args)

    def set_default_executor(self, executor: concurrent.futures.Executor) -> None:
        self.asyncio_loop.set_default_executor(executor)


def _thread_loop_or_new() -> asyncio.AbstractEventLoop:
    loop = _get_running_loop()
    if loop is not None:
        return loop
    loop = _policy_loop_peek()
    if loop is None or loop.is_closed():
        loop = asyncio.new_event_loop()
        asyncio.set_event_loop(loop)
    return loop


class AsyncIOMainLoop(BaseAsyncIOLoop):
    """The :class:`~squall.ioloop.IOLoop` of the thread's current asyncio loop.

    Built implicitly by :meth:`IOLoop.current() <squall.ioloop.IOLoop.current>`; rarely
    constructed by hand. Wraps the running loop, else the loop set with
    :func:`asyncio.set_event_loop` (a new one is created and set if there is none).
    """

    def initialize(self, **kwargs: Any) -> None:  # type: ignore[override]
        super().initialize(_thread_loop_or_new(), **kwargs)


class AsyncIOLoop(BaseAsyncIOLoop):
    """An :class:`~squall.ioloop.IOLoop` that creates, and owns, a fresh asyncio loop.

    What ``IOLoop()`` builds. Created from :func:`asyncio.new_event_loop`, so it
    honours the asyncio policy in force (e.g. uvloop's); closed by :meth:`~squall.ioloop.IOLoop.close`.
    """

    def initialize(self, **kwargs: Any) -> None:  # type: ignore[override]
        loop = asyncio.new_event_loop()
        try:
            super().initialize(loop, **kwargs)
        except Exception:
            loop.close()
            raise


def to_tornado_future(asyncio_future: asyncio.Future[_T]) -> asyncio.Future[_T]:
    """Return the asyncio future unchanged (the types are the same; deprecated in Tornado)."""
    return asyncio_future


def to_asyncio_future(tornado_future: Any) -> asyncio.Future[Any]:
    """Give back an :class:`asyncio.Future` for any yieldable (future, coroutine, list...)."""
    from squall.gen import convert_yielded

    return convert_yielded(tornado_future)


with warnings.catch_warnings():
    # The policy classes are deprecated from Python 3.14.
    warnings.simplefilter("ignore", DeprecationWarning)
    _DefaultPolicy: Any = asyncio.DefaultEventLoopPolicy


class AnyThreadEventLoopPolicy(_DefaultPolicy):  # type: ignore[misc]
    """Event loop policy that creates a loop on demand in any thread (deprecated).

    Constructing it emits :class:`DeprecationWarning`, as in Tornado 6.2+; use
    :func:`asyncio.run` or :func:`asyncio.new_event_loop` instead.
    """

    def __init__(self) -> None:
        warnings.warn(
            "AnyThreadEventLoopPolicy is deprecated, use asyncio.run or "
            "asyncio.new_event_loop instead",
            DeprecationWarning,
            stacklevel=2,
        )
        super().__init__()

    def get_event_loop(self) -> asyncio.AbstractEventLoop:
        try:
            # Python 3.12+ warns when the default policy creates a loop
            # implicitly; creating one on demand is this policy's purpose.
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", DeprecationWarning)
                loop: asyncio.AbstractEventLoop = super().get_event_loop()
            return loop
        except RuntimeError:
            loop = self.new_event_loop()
            self.set_event_loop(loop)
            return loop
