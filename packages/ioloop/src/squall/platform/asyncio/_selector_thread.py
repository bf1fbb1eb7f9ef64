"""Add ``add_reader``/``add_writer`` to event loops that lack them (Windows' proactor loop).

A :class:`SelectorThread` owns a daemon thread that blocks in :func:`select.select` on
the registered fds plus one end of a private socketpair (written to whenever the
registrations change, or to shut down). Ready fds are handed to the real loop with
``call_soon_threadsafe``; the thread then waits until the loop has run those callbacks
before it selects again, so a level-triggered fd is not reported twice for one event.
It works on any platform (and is tested on Linux), but only the proactor needs it.
"""

from __future__ import annotations

import asyncio
import select
import socket
import threading
from collections.abc import Callable
from typing import Any

__all__ = ["AddThreadSelectorEventLoop", "SelectorThread"]

_FileLike = Any  # an int fd or an object with fileno()

_Entry = tuple[Callable[..., Any], tuple[Any, ...]]


def _fd_number(fd: _FileLike) -> int:
    return fd if isinstance(fd, int) else int(fd.fileno())


def _broken(fds: list[int]) -> list[int]:
    """The fds of ``fds`` that select() refuses (closed behind our back)."""
    refused = []
    for fd in fds:
        try:
            select.select([fd], [], [], 0)
        except (OSError, ValueError):
            refused.append(fd)
    return refused


class SelectorThread:
    """Run a selector in a background thread for an event loop without fd support.

    Readiness callbacks registered with :meth:`add_reader` / :meth:`add_writer` run on
    ``real_loop``'s thread (as do the registration calls themselves). Call
    :meth:`close` to stop the thread.
    """

    def __init__(self, real_loop: asyncio.AbstractEventLoop) -> None:
        self._real_loop = real_loop
        self._readers: dict[int, _Entry] = {}
        self._writers: dict[int, _Entry] = {}
        self._guard = threading.Lock()
        # Set while the worker may select; cleared while a batch awaits delivery.
        self._may_select = threading.Event()
        self._may_select.set()
        self._halt = threading.Event()
        self._bell_in, self._bell_out = socket.socketpair()
        for end in (self._bell_in, self._bell_out):
            end.setblocking(False)
        self._worker = threading.Thread(target=self._serve, name="squall-selector", daemon=True)
        self._worker.start()

    # -- the worker thread -------------------------------------------------------------

    def _serve(self) -> None:
        bell = self._bell_in.fileno()
        while True:
            self._may_select.wait()
            if self._halt.is_set():
                return
            with self._guard:
                watch_in = [bell, *self._readers]
                watch_out = list(self._writers)
            try:
                got_in, got_out, got_err = select.select(watch_in, watch_out, watch_out)
            except (OSError, ValueError):
                # Some fd was closed while registered: report it so its owner finds out.
                got_in, got_out, got_err = _broken(watch_in), _broken(watch_out), []
                if not got_in and not got_out:
                    # Cannot tell which one: wake every owner so each can check its fd.
                    got_in, got_out = watch_in[1:], watch_out
            if self._halt.is_set():
                return
            if bell in got_in:
                self._silence()
                got_in = [fd for fd in got_in if fd != bell]
            got_out.extend(fd for fd in got_err if fd not in got_out)
            if not got_in and not got_out:
                continue  # only the bell: registrations changed, look again
            self._may_select.clear()
            try:
                self._real_loop.call_soon_threadsafe(self._deliver, got_in, got_out)
            except RuntimeError:
                return  # the real loop is closed; nobody is listening any more

    def _ring(self) -> None:
        try:
            self._bell_out.send(b"\0")
        except OSError:
            pass  # full (it will wake anyway) or already closed

    def _silence(self) -> None:
        try:
            while self._bell_in.recv(512):
                pass
        except OSError:
            pass

    # -- back on the real loop ---------------------------------------------------------

    def _deliver(self, readable: list[int], writable: list[int]) -> None:
        try:
            for fd in readable:
                self._invoke(self._readers.get(fd))
            for fd in writable:
                self._invoke(self._writers.get(fd))
        finally:
            self._may_select.set()

    def _invoke(self, entry: _Entry | None) -> None:
        if entry is None:
            return  # unregistered by an earlier callback of the same batch
        callback, args = entry
        try:
            callback(*args)
        except Exception as exc:
            self._real_loop.call_exception_handler(
                {"message": f"fd callback {callback!r} failed", "exception": exc}
            )

    # -- public API --------------------------------------------------------------------

    def close(self) -> None:
        """Stop the selector thread and release its sockets (idempotent)."""
        if self._halt.is_set():
            return
        self._halt.set()
        self._may_select.set()
        self._ring()
        self._worker.join()
        # A batch already queued on the loop finds nothing left to call.
        self._readers.clear()
        self._writers.clear()
        self._bell_in.close()
        self._bell_out.close()

    def _register(self, table: dict[int, _Entry], fd: _FileLike, entry: _Entry) -> None:
        with self._guard:
            table[_fd_number(fd)] = entry
        if self._may_select.is_set():
            self._ring()  # the worker is (about to be) in select(): make it look again

    def _unregister(self, table: dict[int, _Entry], fd: _FileLike) -> bool:
        with self._guard:
            found = table.pop(_fd_number(fd), None) is not None
        if found:
            self._ring()
        return found

    def add_reader(self, fd: _FileLike, callback: Callable[..., None], *args: Any) -> None:
        """Call ``callback(*args)`` on the real loop whenever ``fd`` is readable."""
        self._register(self._readers, fd, (callback, args))

    def add_writer(self, fd: _FileLike, callback: Callable[..., None], *args: Any) -> None:
        """Call ``callback(*args)`` on the real loop whenever ``fd`` is writable."""
        self._register(self._writers, fd, (callback, args))

    def remove_reader(self, fd: _FileLike) -> bool:
        """Stop watching ``fd`` for reading; return whether it was watched."""
        return self._unregister(self._readers, fd)

    def remove_writer(self, fd: _FileLike) -> bool:
        """Stop watching ``fd`` for writing; return whether it was watched."""
        return self._unregister(self._writers, fd)


class AddThreadSelectorEventLoop(asyncio.AbstractEventLoop):
    """Proxy for a loop lacking ``add_reader``/``add_writer`` (the proactor) that supplies them.

    Every other attribute is delegated to ``real_loop``. The fd methods are served by a
    :class:`SelectorThread`; :meth:`close` stops that thread and closes the real loop.
    Squall uses this automatically for Windows' ``ProactorEventLoop``.
    """

    #: Names served by the proxy itself; every other attribute comes from the real loop.
    MY_ATTRIBUTES = frozenset(
        (
            "_real_loop",
            "_selector",
            "add_reader",
            "add_writer",
            "remove_reader",
            "remove_writer",
            "close",
        )
    )

    def __init__(self, real_loop: asyncio.AbstractEventLoop) -> None:
        self._real_loop = real_loop
        self._selector = SelectorThread(real_loop)

    def __getattribute__(self, name: str) -> Any:
        if name.startswith("__") or name in AddThreadSelectorEventLoop.MY_ATTRIBUTES:
            return object.__getattribute__(self, name)
        return getattr(object.__getattribute__(self, "_real_loop"), name)

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
