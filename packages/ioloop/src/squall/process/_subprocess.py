"""Child processes with non-blocking pipes and exit notification on the event loop.

Exits are noticed by one process-wide :class:`_Reaper`: a ``SIGCHLD``
handler installed with :meth:`asyncio.AbstractEventLoop.add_signal_handler`
on the loop that called :meth:`Subprocess.initialize` first.  On each signal
it polls every watched pid with ``waitpid(WNOHANG)`` and hands each exit
status to the loop of the :class:`Subprocess` it belongs to.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
from collections.abc import Callable, Iterable
from typing import Any, ClassVar

from squall.iostream import PipeIOStream
from squall.log import gen_log

__all__ = ["CalledProcessError", "Subprocess"]

#: An alias of :class:`subprocess.CalledProcessError`.
CalledProcessError = subprocess.CalledProcessError

# The exit code reported for a child whose status was collected by somebody else.
_UNKNOWN_STATUS = 255


def _loop_now() -> asyncio.AbstractEventLoop:
    """The running asyncio loop, else the one behind this thread's current IOLoop."""
    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        from squall.ioloop import IOLoop

        behind: asyncio.AbstractEventLoop = getattr(IOLoop.current(), "asyncio_loop")  # noqa: B009
        return behind


def _close_fds(fds: Iterable[int]) -> None:
    for fd in fds:
        os.close(fd)


class _Reaper:
    """Collects exit statuses of watched children when ``SIGCHLD`` arrives."""

    def __init__(self) -> None:
        self.loop: asyncio.AbstractEventLoop | None = None  # owner of the SIGCHLD handler
        self.watched: dict[int, Subprocess] = {}

    def install(self) -> None:
        if self.loop is not None and not self.loop.is_closed():
            return
        loop = _loop_now()
        loop.add_signal_handler(signal.SIGCHLD, self.sweep)
        self.loop = loop

    def remove(self) -> None:
        loop, self.loop = self.loop, None
        if loop is not None and not loop.is_closed():
            loop.remove_signal_handler(signal.SIGCHLD)

    def watch(self, child: Subprocess) -> None:
        self.watched[child.pid] = child
        self.collect(child.pid)  # it may be gone already, with its SIGCHLD missed

    def sweep(self) -> None:
        for pid in [*self.watched]:
            self.collect(pid)

    def collect(self, pid: int) -> None:
        try:
            reaped, status = os.waitpid(pid, os.WNOHANG)
        except ChildProcessError:
            child = self.watched.pop(pid, None)
            if child is not None:
                known = child.proc.returncode
                if known is None:
                    gen_log.warning("exit status of pid %d was taken by another waiter", pid)
                    known = _UNKNOWN_STATUS
                child._loop.call_soon_threadsafe(child._exited, known)
            return
        if reaped:
            child = self.watched.pop(pid)
            # Popen learns the code now, so a set_exit_callback() made before
            # _exited runs finds it there instead of waiting for the gone pid.
            code = child.proc.returncode = os.waitstatus_to_exitcode(status)
            child._loop.call_soon_threadsafe(child._exited, code)


_reaper = _Reaper()


class Subprocess:
    """A :class:`subprocess.Popen` whose pipes can be non-blocking streams.

    The constructor takes :class:`subprocess.Popen`'s arguments; ``stdin``,
    ``stdout`` and ``stderr`` may also be :attr:`Subprocess.STREAM`, which
    makes the matching attribute a :class:`~squall.iostream.PipeIOStream`
    (the caller closes it when done).  Other attributes: ``proc`` (the
    ``Popen``), ``pid`` and ``returncode`` (set once the exit was seen).

    Exit notification (:meth:`set_exit_callback`, :meth:`wait_for_exit`) uses
    a ``SIGCHLD`` handler installed on the event loop by :meth:`initialize`
    (main thread, Unix only).
    """

    #: Pass as ``stdin``/``stdout``/``stderr`` to get a :class:`~squall.iostream.PipeIOStream`.
    STREAM: ClassVar[object] = object()

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self._loop = _loop_now()
        # name -> (the end the child gets, the end we keep); stdin is the one we write.
        ends: dict[str, tuple[int, int]] = {}
        for name in ("stdin", "stdout", "stderr"):
            if kwargs.get(name) is Subprocess.STREAM:
                r, w = os.pipe()
                ends[name] = (r, w) if name == "stdin" else (w, r)
                kwargs[name] = ends[name][0]
        try:
            self.proc = subprocess.Popen(*args, **kwargs)
        except BaseException:
            _close_fds(ours for _, ours in ends.values())
            raise
        finally:
            _close_fds(theirs for theirs, _ in ends.values())
        streams = {name: PipeIOStream(ours) for name, (_, ours) in ends.items()}
        self.stdin: Any = streams.get("stdin", self.proc.stdin)
        self.stdout: Any = streams.get("stdout", self.proc.stdout)
        self.stderr: Any = streams.get("stderr", self.proc.stderr)
        self.pid: int = self.proc.pid
        self.returncode: int | None = None
        self._on_exit: Callable[[int], None] | None = None

    def set_exit_callback(self, callback: Callable[[int], None]) -> None:
        """Have ``callback(returncode)`` run on this object's loop once the child has ended.

        The return code is negative (``-signal``) for a child killed by a
        signal.  The callback always runs from the loop, never inside this
        call, even when the child is already gone.  A later call replaces an
        earlier callback that has not run yet.  This installs the
        process-wide ``SIGCHLD`` handler (see :meth:`initialize`), which
        clashes with any other library handling that signal.
        """
        self._on_exit = callback
        known = self.proc.returncode
        if known is not None:
            self._loop.call_soon(self._exited, known)
            return
        Subprocess.initialize()
        _reaper.watch(self)

    def wait_for_exit(self, raise_error: bool = True) -> asyncio.Future[int]:
        """A future for the child's return code, resolved once it has ended.

        Raises:
            CalledProcessError: (from the future) when the return code is not
                zero, unless *raise_error* is false.
        """
        result: asyncio.Future[int] = self._loop.create_future()

        def settle(code: int) -> None:
            if result.done():
                return  # cancelled by the caller meanwhile
            if code and raise_error:
                result.set_exception(CalledProcessError(code, self.proc.args))
            else:
                result.set_result(code)

        self.set_exit_callback(settle)
        return result

    @classmethod
    def initialize(cls) -> None:
        """Start collecting child exits: install the ``SIGCHLD`` handler on the current loop.

        :meth:`set_exit_callback` calls this for you.  One loop (the first to
        call, or the next after it closed) owns the handler; each child's
        callback still runs on the loop that created that
        :class:`Subprocess`.  Calling it again does nothing.
        """
        _reaper.install()

    @classmethod
    def uninitialize(cls) -> None:
        """Remove the ``SIGCHLD`` handler :meth:`initialize` installed, if any."""
        _reaper.remove()

    def _exited(self, code: int) -> None:
        self.returncode = self.proc.returncode = code
        callback, self._on_exit = self._on_exit, None
        if callback is not None:
            callback(code)
