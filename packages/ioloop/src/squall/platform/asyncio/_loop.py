"""The asyncio-backed :class:`~squall.ioloop.IOLoop` implementations.

:class:`BaseAsyncIOLoop` forwards every IOLoop primitive to one asyncio event loop (the
standard selector loop, uvloop, ...). File descriptors are watched with the loop's own
``add_reader`` / ``add_writer``: each registration hands asyncio the user's handler
directly (wrapped by a small module-level trampoline), so a ready fd costs one function
call and no lookups. Timeouts are asyncio timer handles.
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
from squall.ioloop._choice import _new_loop
from squall.ioloop._ioloop import (
    _policy_loop_peek,
    _register_wrapper,
    _run_guarded,
    _Selectable,
    _unregister_wrapper,
    _usable_thread_loop,
)
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

_IN = IOLoop.READ
_OUT = IOLoop.WRITE
_get_running_loop = asyncio._get_running_loop

# Loops whose add_reader/add_writer raise NotImplementedError (Windows' proactor).
_FD_LESS_LOOPS: tuple[type, ...] = tuple(
    kind for kind in [getattr(asyncio, "ProactorEventLoop", None)] if kind is not None
)


def _fire(handler: Callable[..., None], fileobj: Any, events: int) -> None:
    """What asyncio calls for a ready fd: the user's handler, with errors logged."""
    try:
        handler(fileobj, events)
    except Exception:
        app_log.error("Exception in I/O handler %r for %r", handler, fileobj, exc_info=True)


class BaseAsyncIOLoop(IOLoop):
    """Shared machinery: an :class:`~squall.ioloop.IOLoop` delegating to one asyncio loop.

    ``initialize(asyncio_loop, make_current=True)``. Only one IOLoop may wrap a given
    asyncio loop (:class:`RuntimeError` otherwise). The asyncio loop is available as
    ``asyncio_loop``. On Windows' proactor loop the fd methods are provided by an
    :class:`AddThreadSelectorEventLoop` running beside it.
    """

    asyncio_loop: asyncio.AbstractEventLoop

    def initialize(  # type: ignore[override]
        self, asyncio_loop: asyncio.AbstractEventLoop, **kwargs: Any
    ) -> None:
        self.asyncio_loop = asyncio_loop
        self._fd_loop: asyncio.AbstractEventLoop = asyncio_loop
        if _FD_LESS_LOOPS and isinstance(asyncio_loop, _FD_LESS_LOOPS):
            from ._selector_thread import AddThreadSelectorEventLoop

            self._fd_loop = AddThreadSelectorEventLoop(asyncio_loop)  # type: ignore[abstract]
        # fileno -> (object given to add_handler, handler, READ/WRITE mask in force)
        self._watches: dict[int, tuple[Any, Callable[..., None], int]] = {}
        self._shut = False
        self._installed = False
        self._displaced: asyncio.AbstractEventLoop | None = None
        _register_wrapper(asyncio_loop, self)
        try:
            super().initialize(**kwargs)
        except BaseException:
            _unregister_wrapper(asyncio_loop, self)
            raise

    # -- being the thread's current loop -----------------------------------------------

    def _become_current(self) -> None:
        mine = self.asyncio_loop
        before = _policy_loop_peek()
        if before is not mine:
            if not self._installed:
                self._displaced = before
            asyncio.set_event_loop(mine)
        self._installed = True

    def _resign_current(self) -> None:
        if _policy_loop_peek() is self.asyncio_loop:
            back = self._displaced
            asyncio.set_event_loop(None if back is None or back.is_closed() else back)
        self._installed = False
        self._displaced = None

    def close(self, all_fds: bool = False) -> None:
        if self._shut:
            return
        if self.asyncio_loop.is_running():
            raise RuntimeError("an IOLoop cannot be closed while it is running")
        self._shut = True
        watches, self._watches = self._watches, {}
        for fileno, (fileobj, _handler, mask) in watches.items():
            self._unwatch(fileno, mask)
            if all_fds:
                self.close_fd(fileobj)
        _unregister_wrapper(self.asyncio_loop, self)
        self._resign_current()
        if self._fd_loop is not self.asyncio_loop:
            self._fd_loop.close()  # also closes the asyncio loop it wraps
        else:
            self.asyncio_loop.close()

    # -- file descriptors --------------------------------------------------------------

    def _unwatch(self, fileno: int, mask: int) -> None:
        if mask & _IN:
            self._fd_loop.remove_reader(fileno)
        if mask & _OUT:
            self._fd_loop.remove_writer(fileno)

    def add_handler(self, fd: int | _Selectable, handler: Callable[..., None], events: int) -> None:
        fileno = fd if isinstance(fd, int) else fd.fileno()
        if fileno in self._watches:
            raise ValueError(f"fd {fileno} added twice: use update_handler to change its events")
        mask = events & (_IN | _OUT)
        self._watches[fileno] = (fd, handler, mask)
        if mask & _IN:
            self._fd_loop.add_reader(fileno, _fire, handler, fd, _IN)
        if mask & _OUT:
            self._fd_loop.add_writer(fileno, _fire, handler, fd, _OUT)

    def update_handler(self, fd: int | _Selectable, events: int) -> None:
        fileno = fd if isinstance(fd, int) else fd.fileno()
        fileobj, handler, before = self._watches[fileno]
        after = events & (_IN | _OUT)
        if after == before:
            return
        self._watches[fileno] = (fileobj, handler, after)
        fd_loop = self._fd_loop
        gained = after & ~before
        if gained & _IN:
            fd_loop.add_reader(fileno, _fire, handler, fileobj, _IN)
        if gained & _OUT:
            fd_loop.add_writer(fileno, _fire, handler, fileobj, _OUT)
        self._unwatch(fileno, before & ~after)

    def remove_handler(self, fd: int | _Selectable) -> None:
        fileno = fd if isinstance(fd, int) else fd.fileno()
        entry = self._watches.pop(fileno, None)
        if entry is not None:
            self._unwatch(fileno, entry[2])

    # -- running and scheduling --------------------------------------------------------

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
            return self.asyncio_loop.call_at(
                when, _run_guarded, functools.partial(callback, *args, **kwargs)
            )
        return self.asyncio_loop.call_at(when, _run_guarded, callback, *args)

    def remove_timeout(self, timeout: object) -> None:
        # An asyncio (or uvloop) TimerHandle; cancelling a spent one does nothing.
        timeout.cancel()  # type: ignore[attr-defined]

    def add_callback(self, callback: Callable[..., Any], *args: Any, **kwargs: Any) -> None:
        if kwargs:
            callback = functools.partial(callback, *args, **kwargs)
            args = ()
        loop = self.asyncio_loop
        try:
            if _get_running_loop() is loop:
                # Already on the loop's thread: no need to wake its selector.
                loop.call_soon(_run_guarded, callback, *args)
            else:
                loop.call_soon_threadsafe(_run_guarded, callback, *args)
        except (RuntimeError, AttributeError):
            # A closed loop (or one torn down at interpreter exit) drops the callback.
            pass

    def add_callback_from_signal(
        self, callback: Callable[..., Any], *args: Any, **kwargs: Any
    ) -> None:
        warnings.warn(
            "add_callback_from_signal() is deprecated; use asyncio's add_signal_handler",
            DeprecationWarning,
            stacklevel=2,
        )
        if kwargs:
            callback = functools.partial(callback, *args, **kwargs)
            args = ()
        try:
            self.asyncio_loop.call_soon_threadsafe(_run_guarded, callback, *args)
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


class AsyncIOMainLoop(BaseAsyncIOLoop):
    """The :class:`~squall.ioloop.IOLoop` of the thread's current asyncio loop.

    Built implicitly by :meth:`IOLoop.current() <squall.ioloop.IOLoop.current>`; rarely
    constructed by hand. Wraps the running loop, else the loop set with
    :func:`asyncio.set_event_loop` (a new one is created and set if there is none).
    """

    def initialize(self, **kwargs: Any) -> None:  # type: ignore[override]
        target = _usable_thread_loop()
        if target is None:
            target = _new_loop()
            asyncio.set_event_loop(target)
        super().initialize(target, **kwargs)


class AsyncIOLoop(BaseAsyncIOLoop):
    """An :class:`~squall.ioloop.IOLoop` that creates, and owns, a fresh asyncio loop.

    What ``IOLoop()`` builds. Created from :func:`asyncio.new_event_loop`, so it
    honours the asyncio policy in force (uvloop's after
    :func:`~squall.ioloop.use_event_loop`, or with ``SQUALL_EVENT_LOOP=uvloop``);
    closed by :meth:`~squall.ioloop.IOLoop.close`.
    """

    def initialize(self, **kwargs: Any) -> None:  # type: ignore[override]
        owned = _new_loop()
        try:
            super().initialize(owned, **kwargs)
        except BaseException:
            owned.close()
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
            "AnyThreadEventLoopPolicy is deprecated: create loops with asyncio.run() "
            "or asyncio.new_event_loop()",
            DeprecationWarning,
            stacklevel=2,
        )
        super().__init__()

    def get_event_loop(self) -> asyncio.AbstractEventLoop:
        with warnings.catch_warnings():
            # Newer Pythons warn before creating a loop implicitly: that is our job here.
            warnings.simplefilter("ignore", DeprecationWarning)
            try:
                existing: asyncio.AbstractEventLoop = super().get_event_loop()
            except RuntimeError:
                existing = self.new_event_loop()
                self.set_event_loop(existing)
        return existing
