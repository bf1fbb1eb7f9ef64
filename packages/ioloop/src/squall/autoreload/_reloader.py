"""Polling the program's files, and re-executing the interpreter when one of them changes.

Each event loop that called :func:`start` gets one :class:`_Watcher`, which
re-arms itself with :meth:`asyncio.AbstractEventLoop.call_later` and keeps
its own table of file stamps (modification time and size).  The files to
check, the reload hooks and the "restart under way" flag live in one
process-wide :class:`_Settings` record.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
import sys
import weakref
from collections.abc import Callable, Iterator
from types import ModuleType
from typing import Any

from squall.log import gen_log

__all__ = ["add_reload_hook", "start", "wait", "watch"]


class _Settings:
    """Process-wide autoreload state."""

    __slots__ = ("extra_files", "hooks", "restarting")

    def __init__(self) -> None:
        self.extra_files: set[str] = set()  # from watch()
        self.hooks: list[Callable[[], None]] = []  # from add_reload_hook()
        self.restarting = False


_settings = _Settings()

# IOLoop -> the watcher polling on it (weak keys: a closed, dropped loop leaves).
_watchers: weakref.WeakKeyDictionary[Any, _Watcher] = weakref.WeakKeyDictionary()

_Stamp = tuple[int, int]  # (st_mtime_ns, st_size)


def start(check_time: int = 500) -> None:
    """Poll the program's files for edits from the current :class:`~squall.ioloop.IOLoop`.

    Every ``check_time`` milliseconds the files of all imported modules and
    every :func:`watch`-ed file are checked; when one's modification time
    (or size) changes the process restarts (see the module docs).  Calling
    it again for the same loop does nothing.
    """
    from squall.ioloop import IOLoop

    io_loop = IOLoop.current()
    if io_loop in _watchers:
        return
    if len(_watchers):
        gen_log.warning("squall.autoreload: start() on a second IOLoop; both will poll")
    _watchers[io_loop] = _Watcher(getattr(io_loop, "asyncio_loop"), check_time / 1000)  # noqa: B009


def wait() -> None:
    """Block until a watched file is edited, then re-execute the program.

    Put a call at the bottom of a script (a test runner, for instance) so
    that saving any of its sources starts it again.  It runs an event loop
    of its own and never returns normally: the restart replaces the process.
    """

    async def watch_forever() -> None:
        start()
        await asyncio.get_running_loop().create_future()

    asyncio.run(watch_forever())


def watch(filename: str) -> None:
    """Also restart when ``filename`` changes.

    Only needed for non-module files (configs, data): every imported
    module's file is checked without being listed here.
    """
    _settings.extra_files.add(filename)


def add_reload_hook(fn: Callable[[], None]) -> None:
    """Register ``fn`` to run right before the program re-executes itself.

    Hooks run in registration order.  They are a poor way to release file
    descriptors: one that is not inheritable (see :func:`os.set_inheritable`,
    the default for descriptors Python opens) is closed by the ``exec``
    anyway, which is the more reliable choice.
    """
    _settings.hooks.append(fn)


def _files_to_check() -> Iterator[str]:
    """Source files of the loaded modules (``.py`` for a ``.pyc``), then the watched files."""
    for module in [*sys.modules.values()]:
        where = getattr(module, "__file__", None) if isinstance(module, ModuleType) else None
        if isinstance(where, str) and where:
            yield where[:-1] if where.endswith((".pyc", ".pyo")) else where
    yield from sorted(_settings.extra_files)


def _in_worker() -> bool:
    """True in a ``fork_processes`` worker, where autoreload stays idle."""
    forking = sys.modules.get("squall.process._fork")
    return forking is not None and forking.task_id() is not None


class _Watcher:
    """Polls :func:`_files_to_check` every ``interval`` seconds on one asyncio loop."""

    def __init__(self, loop: asyncio.AbstractEventLoop, interval: float) -> None:
        self.stamps: dict[str, _Stamp] = {}
        self.loop = loop
        self.interval = interval
        loop.call_later(interval, self.tick)

    def tick(self) -> None:
        if not self.changed_file():
            self.loop.call_later(self.interval, self.tick)

    def changed_file(self) -> bool:
        """Compare every file with its stamp from earlier passes; restart on the first change.

        A file's first sighting only records its stamp; a missing file is
        skipped.  True when a restart began (or had begun, or this is a
        worker): polling then stops.
        """
        if _settings.restarting or _in_worker():
            return True
        for path in _files_to_check():
            try:
                info = os.stat(path)
            except OSError:
                continue
            now = (info.st_mtime_ns, info.st_size)
            if self.stamps.setdefault(path, now) != now:
                gen_log.info("%s was modified: restarting", path)
                _restart()
                return True
        return False


def _relaunch_args() -> list[str]:
    """The command line (after the interpreter) that starts this same program again.

    :data:`sys.orig_argv` keeps interpreter options (``-u``, ``-X dev``) and
    the ``python -m squall.autoreload`` wrapper itself, so both survive a
    restart.  Where it is empty (an embedded interpreter), ``-m module`` is
    rebuilt from ``__main__.__spec__``, else :data:`sys.argv` is used.
    """
    if sys.orig_argv:
        return sys.orig_argv[1:]
    main_spec = getattr(sys.modules.get("__main__"), "__spec__", None)
    if main_spec is None:
        return [*sys.argv]
    return ["-m", main_spec.name.removesuffix(".__main__"), *sys.argv[1:]]


def _restart() -> None:
    """Run the reload hooks, then start the program over in place of this process."""
    _settings.restarting = True
    for hook in _settings.hooks:
        hook()
    if hasattr(signal, "setitimer"):
        # exec keeps interval timers: a pending SIGALRM would kill the new program.
        signal.setitimer(signal.ITIMER_REAL, 0)
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(Exception):
            stream.flush()
    _replace_process([sys.executable, *_relaunch_args()])


def _replace_process(argv: list[str]) -> None:
    if sys.platform != "win32":
        try:
            os.execv(sys.executable, argv)
        except OSError as exc:
            # Some systems refuse execv in a process with several threads.
            gen_log.warning("autoreload: execv failed (%s); starting a new process", exc)
    # Windows' execv spawns and returns, which confuses the console: start
    # the new interpreter ourselves and leave.
    subprocess.Popen(argv)
    os._exit(0)
