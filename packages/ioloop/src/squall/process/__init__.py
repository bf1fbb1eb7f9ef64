"""Utilities for working with multiple processes (the ``tornado.process`` API).

Forking a server into worker processes (:func:`fork_processes`) and running
child processes with non-blocking pipes (:class:`Subprocess`).
"""

from __future__ import annotations

from types import FunctionType

from ._fork import cpu_count, fork_processes, task_id
from ._subprocess import CalledProcessError, Subprocess

__all__ = ["CalledProcessError", "Subprocess", "cpu_count", "fork_processes", "task_id"]


def _publish() -> None:
    # Report public classes and functions under this package rather than the
    # private module that defines them: clearer reprs and tracebacks, and
    # pickles that name the public path.
    for name in __all__:
        obj = globals()[name]
        if isinstance(obj, (type, FunctionType)) and obj.__module__.startswith(__name__ + "._"):
            obj.__module__ = __name__


_publish()
