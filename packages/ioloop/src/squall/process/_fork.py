"""Pre-forking a server into worker processes, and keeping failed workers replaced.

The parent turns into a small supervisor (:class:`_Supervisor`): it forks one
worker per task id, then blocks in :func:`os.wait` and forks a replacement,
under the same task id, for every worker that ends badly. A ``SIGTERM`` sent
to the parent alone (``kill <pid>``, a process manager stopping only the main
process) is passed on to every worker and ends the restarts, so the service
stops as a whole instead of leaving its workers orphaned.
"""

from __future__ import annotations

import os
import random
import signal
import sys
from types import FrameType
from typing import Any

from squall.log import gen_log

__all__ = ["cpu_count", "fork_processes", "task_id"]

# Set in a worker to its task id; None in any process fork_processes did not create.
_task_id: int | None = None

_DEFAULT_MAX_RESTARTS = 100


def _visible_cpus() -> int | None:
    # Python 3.13+ knows about affinity masks itself; before that, ask the scheduler.
    counter = getattr(os, "process_cpu_count", None)
    if counter is not None:
        visible: int | None = counter()
        return visible
    if hasattr(os, "sched_getaffinity"):
        try:
            return len(os.sched_getaffinity(0))
        except OSError:
            pass
    return os.cpu_count()


def cpu_count() -> int:
    """How many CPUs this process may run on; 1 (with an error logged) if unknown."""
    found = _visible_cpus()
    if found:
        return found
    gen_log.error("cpu_count: the number of processors is unknown, using 1")
    return 1


class _Supervisor:
    """The parent side of :func:`fork_processes`: live workers and the restart budget."""

    def __init__(self, restarts_allowed: int) -> None:
        self.workers: dict[int, int] = {}  # pid -> task id
        self.restarts_left = restarts_allowed
        self.stopping = False
        # The SIGTERM handler the process had before (the workers get it back).
        self.parents_handler: Any = signal.SIG_DFL

    def take_sigterm(self) -> None:
        """From now on a SIGTERM to this process is passed on (set before the first fork)."""
        previous = signal.signal(signal.SIGTERM, self._pass_on)
        self.parents_handler = signal.SIG_DFL if previous is None else previous

    def give_sigterm_back(self) -> None:
        signal.signal(signal.SIGTERM, self.parents_handler)

    def spawn(self, task: int) -> bool:
        """Fork the worker for ``task``; True in that worker, False back in the parent."""
        global _task_id
        # A SIGTERM waits while the process splits: the parent must know the
        # new pid before passing the signal on, and the worker must not run
        # the parent's handler (it gets the handler the process had before).
        blocked = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGTERM})
        try:
            pid = os.fork()
            if pid:
                self.workers[pid] = task
                return False
            _task_id = task
            self.workers = {}
            random.seed()  # fresh entropy: workers must not share the parent's sequence
            signal.signal(signal.SIGTERM, self.parents_handler)
            return True
        finally:
            signal.pthread_sigmask(signal.SIG_SETMASK, blocked)

    def _pass_on(self, signum: int, frame: FrameType | None) -> None:
        """SIGTERM to the parent: stop restarting and pass it to every worker."""
        if not self.stopping:
            gen_log.info("SIGTERM: stopping %d worker processes", len(self.workers))
        self.stopping = True
        for pid in list(self.workers):
            try:
                os.kill(pid, signal.SIGTERM)
            except ProcessLookupError:
                pass

    def supervise(self) -> int | None:
        """Wait on the workers; the task id if this process became a replacement worker.

        None once every worker has exited successfully (or none is left to wait for),
        or every worker has ended after a SIGTERM to the parent.
        """
        while self.workers:
            try:
                pid, status = os.wait()
            except ChildProcessError:
                return None
            task = self.workers.pop(pid, None)
            if task is None:
                continue  # a child someone else started
            code = os.waitstatus_to_exitcode(status)
            if self.stopping:
                gen_log.info("worker %d (pid %d) stopped (exit code %d)", task, pid, code)
                continue
            if code == 0:
                gen_log.info("worker %d (pid %d) finished", task, pid)
                continue
            how = f"died of signal {-code}" if code < 0 else f"exited with status {code}"
            gen_log.warning("worker %d (pid %d) %s; starting it again", task, pid, how)
            self.restarts_left -= 1
            if self.restarts_left < 0:
                raise RuntimeError(f"Too many child restarts: worker {task} failed again")
            if self.spawn(task):
                return task
        return None


def fork_processes(num_processes: int | None, max_restarts: int | None = None) -> int:
    """Fork *num_processes* workers; only the workers return, each with its task id.

    With *num_processes* ``None`` or <= 0, one worker per CPU
    (:func:`cpu_count`) is forked.  Task ids run from 0 to
    ``num_processes - 1``.  The parent never returns: it waits for the
    workers, forks a replacement with the same task id for each one that
    ends abnormally (killed by a signal or with a non-zero status), and calls
    ``sys.exit(0)`` once all have exited successfully.  A ``SIGTERM`` to the
    parent is passed on to every worker and stops the replacing; the parent
    exits with status 0 once the workers are gone (Tornado's parent just
    dies, leaving its workers running).  Workers share no
    memory, so create no event loop before the call.  Unix only; not usable
    together with :mod:`squall.autoreload`.

    Args:
        max_restarts: replacements allowed over the parent's lifetime
            (default 100).

    Raises:
        RuntimeError: in the parent, once more than *max_restarts*
            replacements were needed; on Windows; or when called inside a
            worker.
    """
    if sys.platform == "win32":
        raise RuntimeError("fork_processes needs os.fork, which Windows lacks")
    if _task_id is not None:
        raise RuntimeError(f"fork_processes called again inside worker {_task_id}")
    count = num_processes if num_processes and num_processes > 0 else cpu_count()
    budget = _DEFAULT_MAX_RESTARTS if max_restarts is None else max_restarts
    gen_log.info("Forking %d worker processes", count)
    boss = _Supervisor(budget)
    # Before the first fork: a SIGTERM while the workers start is passed on
    # too, and no further worker is started after it.
    boss.take_sigterm()
    try:
        for task in range(count):
            if boss.stopping:
                break
            if boss.spawn(task):
                return task
        replacement = boss.supervise()
    finally:
        if _task_id is None:  # still the parent (a worker has its own handler already)
            boss.give_sigterm_back()
    if replacement is not None:
        return replacement
    sys.exit(0)


def task_id() -> int | None:
    """This worker's task id from :func:`fork_processes`; None in any other process."""
    return _task_id
