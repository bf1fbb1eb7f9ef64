"""Add ``add_reader``/``add_writer`` to event loops that lack them (Windows' proactor loop).

A :class:`SelectorThread` runs :func:`select.select` in a hidden daemon thread and hands
readiness back to the real loop's thread, where every callback runs. This is what
:class:`AddThreadSelectorEventLoop` uses; it works on any platform (and is tested on
Linux), but only Windows' proactor loop needs it.
"""

from __future__ import annotations

import asyncio
import errno
import functools
import select
import socket
import threading
from collections.abc import Callable
from typing import Any

__all__ = ["AddThreadSelectorEventLoop", "SelectorThread"]

_FileLike = Any  # an int fd or an object with fileno()


class SelectorThread:
    """Run a selector in a background thread for an event loop without fd support.

    Readiness callbacks registered with :meth:`add_reader` / :meth:`add_writer` run on
    ``real_loop``'s thread. Call :meth:`close` to stop the thread.
    """

    def __init__(self, real_loop: asyncio.AbstractEventLoop) -> None:
        self._real_loop = real_loop
        self._readers: dict[_FileLike, Callable[[], None]] = {}
        self._writers: dict[_FileLike, Callable[[], None]] = {}
        self._cond = threading.Condition()
        self._select_args: tuple[list[_FileLike], list[_FileLike]] | None = None
        self._closing = False
        self._closed = False
        self._waker_r, self._waker_w = socket.socketpair()
        self._waker_r.setblocking(False)
        self._waker_w.setblocking(False)
        self._readers[self._waker_r] = self._consume_waker
        self._thread = threading.Thread(
            target=self._run_select, name="squall selector", daemon=True
        )
        self._thread.start()
        self._start_select()

    def close(self) -> None:
        """Stop the selector thread and release its sockets (idempotent)."""
        if self._closed:
            return
        self._closed = True
        with self._cond:
            self._closing = True
            self._cond.notify()
        self._wake_selector()
        self._thread.join()
        self._waker_r.close()
        self._waker_w.close()

    def _wake_selector(self) -> None:
        if self._closed and self._waker_w.fileno() < 0:
            return
        try:
            self._waker_w.send(b"a")
        except (BlockingIOError, OSError):
            pass

    def _consume_waker(self) -> None:
        try:
            self._waker_r.recv(1024)
        except (BlockingIOError, OSError):
            pass

    def _start_select(self) -> None:
        with self._cond:
            self._select_args = (list(self._readers), list(self._writers))
            self._cond.notify()

    def _run_select(self) -> None:
        while True:
            with self._cond:
                while self._select_args is None and not self._closing:
                    self._cond.wait()
                if self._closing:
                    return
                assert self._select_args is not None
                to_read, to_write = self._select_args
                self._select_args = None
            try:
                rs, ws, xs = select.select(to_read, to_write, to_write)
                ws = ws + xs
            except OSError as e:
                if e.errno != errno.EBADF and not isinstance(e, ValueError):
                    raise
                # A registered fd was closed: report it ready so its owner notices.
                rs = [fd for fd in to_read if not _selectable(fd)]
                ws = [fd for fd in to_write if not _selectable(fd)]
            except ValueError:
                rs = [fd for fd in to_read if not _selectable(fd)]
                ws = [fd for fd in to_write if not _selectable(fd)]
            try:
                self._real_loop.call_soon_threadsafe(self._handle_select, rs, ws)
            except RuntimeError:
                return  # the real loop is closed

    def _handle_select(self, rs: list[_FileLike], ws: list[_FileLike]) -> None:
        for fd in rs:
            callback = self._readers.get(fd)
            if callback is not None:
                callback()
        for fd in ws:
            callback = self._writers.get(fd)
            if callback is not None:
                callback()
        if not self._closing:
            self._start_select()

    def add_reader(self, fd: _FileLike, callback: Callable[..., None], *args: Any) -> None:
        """Call ``callback(*args)`` on the real loop whenever ``fd`` is readable."""
        self._readers[fd] = functools.partial(callback, *args)
        self._wake_selector()

    def add_writer(self, fd: _FileLike, callback: Callable[..., None], *args: Any) -> None:
        """Call ``callback(*args)`` on the real loop whenever ``fd`` is writable."""
        self._writers[fd] = functools.partial(callback, *args)
        self._wake_selector()

    def remove_reader(self, fd: _FileLike) -> bool:
        """Stop watching ``fd`` for reading; return whether it was watched."""
        if self._readers.pop(fd, None) is None:
            return False
        self._wake_selector()
        return True

    def remove_writer(self, fd: _FileLike) -> bool:
        """Stop watching ``fd`` for writing; return whether it was watched."""
        if self._writers.pop(fd, None) is None:
            return False
        self._wake_selector()
        return True


def _selectable(fd: _FileLike) -> bool:
    try:
        select.select([fd], [], [], 0)
    except (OSError, ValueError):
        return False
    return True


class AddThreadSelectorEventLoop(asyncio.AbstractEventLoop):
    """Proxy for a loop lacking ``add_reader``/``add_writer`` (the proactor) that supplies them.

    Every other attribute is delegated to ``real_loop``. The fd methods are served by a
    :class:`SelectorThread`; :meth:`close` stops that thread and closes the real loop.
    Squall uses this automatically for Windows' ``ProactorEventLoop``.
    """

    MY_ATTRIBUTES = frozenset(
        {
            "_real_loop",
            "_selector",
            "add_reader",
            "add_writer",
            "close",
            "remove_reader",
            "remove_writer",
        }
    )

    def __getattribute__(self, name: str) -> Any:
        if name in AddThreadSelectorEventLoop.MY_ATTRIBUTES or name.startswith("__"):
            return super().__getattribute__(name)
        return getattr(super().__getattribute__("_real_loop"), name)

    def __init__(self, real_loop: asyncio.AbstractEventLoop) -> None:
        self._real_loop = real_loop
        self._selector = SelectorThread(real_loop)

    def close(self) -> None:
        """Stop the selector thread, then close the real loop."""
        self._selector.close()
        self._real_loop.close()

    def add_reader(  # type: ignore[override]
        self, fd: _FileLike, callback: Callable[..., Any], *args: Any
    ) -> None:
        self._selector.add_reader(fd, callback, *args)

    def add_writer(  # type: ignore[override]
        self, fd: _FileLike, callback: Callable[..., Any], *args: Any
    ) -> None:
        self._selector.add_writer(fd, callback, *args)

    def remove_reader(self, fd: _FileLike) -> bool:
        return self._selector.remove_reader(fd)

    def remove_writer(self, fd: _FileLike) -> bool:
        return self._selector.remove_writer(fd)
