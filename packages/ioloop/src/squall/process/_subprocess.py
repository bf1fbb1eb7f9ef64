"""Child processes with non-blocking pipes and exit notification on the event loop."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
from collections.abc import Callable
from typing import Any, ClassVar

from squall.iostream import PipeIOStream
from squall.log import gen_log

__all__ = ["CalledProcessError", "Subprocess"]

#: An alias of :class:`subprocess.CalledProcessError`.
CalledProcessError = subprocess.CalledProcessError


def _current_loop() -> asyncio.AbstractEventLoop:
    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        from squall.ioloop import IOLoop

        loop: asyncio.AbstractEventLoop = getattr(IOLoop.current(), "asyncio_loop")  # noqa: B009
        return loop


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

    _initialized: ClassVar[asyncio.AbstractEventLoop | None] = None
    _waiting: ClassVar[dict[int, Subprocess]] = {}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self._loop = _current_loop()
        to_close: list[int] = []
        self.stdin: Any = None
        self.stdout: Any = None
        self.stderr: Any = None
        streams: dict[str, PipeIOStream] = {}
        try:
            if kwargs.get("stdin") is Subprocess.STREAM:
                in_r, in_w = os.pipe()
                kwargs["stdin"] = in_r
                to_close.append(in_r)
                streams["stdin"] = PipeIOStream(in_w)
            for name in ("stdout", "stderr"):
                if kwargs.get(name) is Subprocess.STREAM:
                    out_r, out_w = os.pipe()
                    kwargs[name] = out_w
                    to_close.append(out_w)
                    streams[name] = PipeIOStream(out_r)
            self.proc = subprocess.Popen(*args, **kwargs)
        except BaseException:
            for stream in streams.values():
                stream.close()
            raise
        finally:
            # The child holds its ends now; the parent must not.
            for fd in to_close:
                os.close(fd)
        self.stdin = streams.get("stdin", self.proc.stdin)
        self.stdout = streams.get("stdout", self.proc.stdout)
        self.stderr = streams.get("stderr", self.proc.stderr)
        self.pid: int = self.proc.pid
        self.returncode: int | None = None
        self._exit_callback: Callable[[int], None] | None = None

    def set_exit_callback(self, callback: Callable[[int], None]) -> None:
        """Arrange for ``callback(returncode)`` to be called on the loop after the child ends.

        The return code is negative (``-signal``) for a process killed by a
        signal.  Because this goes through :meth:`initialize`, a process-wide
        ``SIGCHLD`` handler gets installed; any other library that also
        handles ``SIGCHLD`` will clash with it.
        """
        self._exit_callback = callback
        Subprocess.initialize()
        Subprocess._waiting[self.pid] = self
        Subprocess._try_cleanup_process(self.pid)

    def wait_for_exit(self, raise_error: bool = True) -> asyncio.Future[int]:
        """Awaitable giving the child's return code once it has terminated.

        Raises:
            CalledProcessError: (from the future) on a non-zero return code,
                unless *raise_error* is false.
        """
        future: asyncio.Future[int] = self._loop.create_future()

        def callback(ret: int) -> None:
            if future.done():
                return
            if ret != 0 and raise_error:
                future.set_exception(CalledProcessError(ret, self.proc.args))
            else:
                future.set_result(ret)

        self.set_exit_callback(callback)
        return future

    @classmethod
    def initialize(cls) -> None:
        """Start reaping children: hook ``SIGCHLD`` on the current event loop.

        Called automatically by :meth:`set_exit_callback`.  Only one loop
        (the first to call) handles the signal; processes watched from other
        loops are notified on their own loops.
        """
        if cls._initialized is not None:
            return
        loop = _current_loop()
        loop.add_signal_handler(signal.SIGCHLD, cls._cleanup)
        Subprocess._initialized = loop

    @classmethod
    def uninitialize(cls) -> None:
        """Removes the ``SIGCHLD`` handler."""
        loop = cls._initialized
        if loop is None:
            return
        Subprocess._initialized = None
        if not loop.is_closed():
            loop.remove_signal_handler(signal.SIGCHLD)

    @classmethod
    def _cleanup(cls) -> None:
        for pid in list(cls._waiting):
            cls._try_cleanup_process(pid)

    @classmethod
    def _try_cleanup_process(cls, pid: int) -> None:
        try:
            ret_pid, status = os.waitpid(pid, os.WNOHANG)
        except ChildProcessError:
            # Someone else reaped it; report what Popen knows, if anything.
            subproc = cls._waiting.pop(pid, None)
            if subproc is not None:
                code = subproc.proc.poll()
                gen_log.warning("process %d was reaped elsewhere", pid)
                subproc._loop.call_soon_threadsafe(
                    subproc._set_code, code if code is not None else 255
                )
            return
        if ret_pid == 0:
            return
        assert ret_pid == pid
        subproc = cls._waiting.pop(pid)
        subproc._loop.call_soon_threadsafe(subproc._set_code, os.waitstatus_to_exitcode(status))

    def _set_code(self, code: int) -> None:
        self.returncode = code
        # Tell Popen, so it neither waits again nor warns at garbage collection.
        self.proc.returncode = code
        callback = self._exit_callback
        if callback is not None:
            self._exit_callback = None
            callback(code)
