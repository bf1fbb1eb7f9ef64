"""Pre-forking workers and asynchronous child processes; mirrors ``tornado.process``.

Forking a server into worker processes (:func:`fork_processes`) and running
child processes with non-blocking pipes (:class:`Subprocess`).
"""

from __future__ import annotations

from squall.util._util import _publish_public_names

from ._fork import cpu_count, fork_processes, task_id
from ._subprocess import CalledProcessError, Subprocess

__all__ = ["CalledProcessError", "Subprocess", "cpu_count", "fork_processes", "task_id"]


_publish_public_names(globals())
