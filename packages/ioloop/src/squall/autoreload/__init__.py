"""Re-execute the running program whenever one of its Python files changes.

Web applications normally get this by setting ``autoreload=True`` (implied
by ``debug=True``) on :class:`squall.web.Application` rather than calling
anything here. Outside a web app, :func:`main` turns the module into a
command-line runner that restarts a script or module on every edit::

    python -m squall.autoreload -m myproject.worker
    python -m squall.autoreload tools/seed_db.py --dry-run

Restarting re-executes the interpreter (:func:`os.execv`; a new process on
Windows) and aborts any work in progress.  Unlike Tornado, interpreter
options such as ``-u`` survive the restart (squall re-runs
:data:`sys.orig_argv`).  It does not work in multi-process mode
(``fork_processes`` children never reload).
"""

from __future__ import annotations

from squall.util._util import _publish_public_names

from ._main import main
from ._reloader import add_reload_hook, start, wait, watch

__all__ = ["add_reload_hook", "main", "start", "wait", "watch"]


_publish_public_names(globals())
