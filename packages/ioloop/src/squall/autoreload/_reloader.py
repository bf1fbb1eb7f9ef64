"""Watching source files and re-executing the process when one changes."""

from __future__ import annotations

import functools
import os
import signal
import subprocess
import sys
import types
import weakref
from collections.abc import Callable
from typing import Any

from squall.log import gen_log

__all__ = ["add_reload_hook", "start", "wait", "watch"]

_watched_files: set[str] = set()
_reload_hooks: list[Callable[[], None]] = []
_reload_attempted = False
_io_loops: weakref.WeakKeyDictionary[Any, bool] = weakref.WeakKeyDictionary()


def start(check_time: int = 500) -> None:
    """Poll the program's files for edits from the current :class:`~squall.ioloop.IOLoop`.

    Every ``check_time`` milliseconds the files of all imported modules and
    every :func:`watch`-ed file are checked; when one's modification time
    changes the process restarts (see the module docs).  Calling it again
    for the same loop does nothing.
    """
    from squall.ioloop import IOLoop, PeriodicCallback

    io_loop = IOLoop.current()
    if io_loop in _io_loops:
        return
    _io_loops[io_loop] = True
    if len(_io_loops) > 1:
        gen_log.warning("squall.autoreload started more than once in the same process")
    modify_times: dict[str, tuple[int, int]] = {}
    callback = functools.partial(_reload_on_update, modify_times)
    scheduler = PeriodicCallback(callback, check_time)
    scheduler.start()


def wait() -> None:
    """Block until a watched file is edited, then re-execute the program.

    Put a call at the bottom of a script (a test runner, for instance) so
    that saving any of its sources starts it again. It never returns
    normally; the restart replaces the process.
    """
    from squall.ioloop import IOLoop

    io_loop = IOLoop()
    io_loop.add_callback(start)
    io_loop.start()


def watch(filename: str) -> None:
    """Also restart when ``filename`` changes.

    Only needed for non-module files (configs, data): every imported
    module's file is checked without being listed here.
    """
    _watched_files.add(filename)


def add_reload_hook(fn: Callable[[], None]) -> None:
    """Register ``fn`` to run right before the program re-executes itself.

    Hooks are a poor way to release file descriptors: a descriptor that is
    not inheritable (see :func:`os.set_inheritable`) is closed by the
    ``exec`` anyway, which is the more reliable choice.
    """
    _reload_hooks.append(fn)


def _in_forked_child() -> bool:
    """True in a child of ``fork_processes``, where reloading must not happen."""
    process = sys.modules.get("squall.process")
    task_id = getattr(process, "task_id", None)
    if task_id is None:
        return False
    try:
        return task_id() is not None
    except Exception:
        return False


def _module_files() -> list[str]:
    files = []
    modules: list[object] = list(sys.modules.values())
    for module in modules:
        if not isinstance(module, types.ModuleType):
            continue
        path = getattr(module, "__file__", None)
        if not isinstance(path, str) or not path:
            continue
        if path.endswith((".pyc", ".pyo")):
            path = path[:-1]
        files.append(path)
    return files


def _reload_on_update(modify_times: dict[str, tuple[int, int]]) -> None:
    if _reload_attempted or _in_forked_child():
        return
    for path in [*_module_files(), *sorted(_watched_files)]:
        if _check_file(modify_times, path):
            return


def _check_file(modify_times: dict[str, tuple[int, int]], path: str) -> bool:
    """Record ``path``'s state; restart (and return True) if it changed since last time."""
    try:
        info = os.stat(path)
    except OSError:
        return False
    state = (info.st_mtime_ns, info.st_size)
    previous = modify_times.setdefault(path, state)
    if previous == state:
        return False
    gen_log.info("%s modified; restarting server", path)
    _reload()
    return True


def _restart_argv() -> list[str]:
    """The arguments (after the interpreter) that start this program again.

    :data:`sys.orig_argv` keeps interpreter options (``-u``, ``-X dev``) and
    the ``python -m squall.autoreload`` wrapper itself, so both survive a
    restart; the fallback rebuilds ``-m module`` from ``__main__.__spec__``.
    """
    orig_argv = getattr(sys, "orig_argv", None)
    if orig_argv:
        return list(orig_argv[1:])
    spec = getattr(sys.modules.get("__main__"), "__spec__", None)
    if spec is not None and spec.name not in ("__main__", ""):
        name = spec.name
        if name.endswith(".__main__"):
            name = name[: -len(".__main__")]
        return ["-m", name, *sys.argv[1:]]
    return list(sys.argv)


def _reload() -> None:
    global _reload_attempted
    _reload_attempted = True
    for hook in _reload_hooks:
        hook()
    if hasattr(signal, "setitimer"):
        # A pending interval timer would kill the new process image.
        signal.setitimer(signal.ITIMER_REAL, 0, 0)
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except Exception:
            pass
    command = [sys.executable, *_restart_argv()]
    if sys.platform == "win32":
        # os.execv on Windows starts a new process and lets the old one exit,
        # which confuses the console; start a child and leave instead.
        subprocess.Popen(command)
        os._exit(0)
    try:
        os.execv(sys.executable, command)
    except OSError:
        # execv can fail in multi-threaded processes on some systems.
        os.spawnv(os.P_NOWAIT, sys.executable, command)
        os._exit(0)
