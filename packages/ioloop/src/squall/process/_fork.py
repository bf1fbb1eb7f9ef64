"""Forking a server into several worker processes and restarting failed ones."""

from __future__ import annotations

import os
import random
import sys

from squall.log import gen_log

__all__ = ["cpu_count", "fork_processes", "task_id"]

_task_id: int | None = None


def cpu_count() -> int:
    """How many CPUs this process may run on; 1 when that cannot be determined."""
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        pass
    count = os.cpu_count()
    if count:
        return count
    gen_log.error("Could not detect number of processors; assuming 1")
    return 1


def _reseed_random() -> None:
    # Children must not share the parent's random sequence.
    random.seed(int.from_bytes(os.urandom(16), "big"))


def fork_processes(num_processes: int | None, max_restarts: int | None = None) -> int:
    """Fork *num_processes* workers; only the children return, each with its task id.

    With *num_processes* ``None`` or <= 0, one child per CPU is forked.  Task
    ids count up from 0, so the last child gets ``num_processes - 1``.
    The parent never returns: it waits for the children, restarts (with the
    same task id) any that exits abnormally (killed by a signal or non-zero
    status), and calls ``sys.exit(0)`` once all exited normally.  No event
    loop may be created before the call.  Unix only.

    Args:
        max_restarts: restarts allowed in total (default 100).

    Raises:
        RuntimeError: in the parent, when more than *max_restarts* restarts
            were needed, or if called twice.
    """
    if sys.platform == "win32":
        raise RuntimeError("fork_processes is not available on Windows")
    if max_restarts is None:
        max_restarts = 100
    if _task_id is not None:
        raise RuntimeError("fork_processes called from a forked child")
    if num_processes is None or num_processes <= 0:
        num_processes = cpu_count()
    gen_log.info("Starting %d processes", num_processes)
    children: dict[int, int] = {}

    def start_child(i: int) -> int | None:
        pid = os.fork()
        if pid == 0:
            _reseed_random()
            global _task_id
            _task_id = i
            return i
        children[pid] = i
        return None

    for i in range(num_processes):
        child_id = start_child(i)
        if child_id is not None:
            return child_id
    num_restarts = 0
    while children:
        try:
            pid, status = os.wait()
        except ChildProcessError:
            break
        if pid not in children:
            continue
        child_id = children.pop(pid)
        if os.WIFSIGNALED(status):
            gen_log.warning(
                "child %d (pid %d) killed by signal %d, restarting",
                child_id,
                pid,
                os.WTERMSIG(status),
            )
        elif os.WEXITSTATUS(status) != 0:
            gen_log.warning(
                "child %d (pid %d) exited with status %d, restarting",
                child_id,
                pid,
                os.WEXITSTATUS(status),
            )
        else:
            gen_log.info("child %d (pid %d) exited normally", child_id, pid)
            continue
        num_restarts += 1
        if num_restarts > max_restarts:
            raise RuntimeError("Too many child restarts, giving up")
        new_id = start_child(child_id)
        if new_id is not None:
            return new_id
    # All children exited normally: the parent's work is done.
    sys.exit(0)


def task_id() -> int | None:
    """Returns the current task id, or ``None`` outside :func:`fork_processes` children."""
    return _task_id
