"""Automatically restart the process when a source file is modified.

Most applications do not use this module directly: they pass
``autoreload=True`` (or ``debug=True``) to :class:`squall.web.Application`.
It can also wrap a script, such as a test runner, from the command line
(see :func:`main`)::

    python -m squall.autoreload -m mypackage.tests
    python -m squall.autoreload path/to/script.py --some-arg

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
