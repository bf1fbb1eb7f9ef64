"""The ``python -m squall.autoreload`` wrapper: run a script or module, rerun it on change."""

from __future__ import annotations

import importlib.util
import os
import runpy
import sys
import traceback

from squall.log import gen_log

from ._reloader import wait, watch

__all__ = ["main"]

_USAGE = """\
Usage:
  python -m squall.autoreload -m module.to.run [args...]
  python -m squall.autoreload path/to/script.py [args...]
  python -m squall.autoreload --until-success (-m module | script.py) [args...]
"""


def main() -> None:
    """Entry point of ``python -m squall.autoreload``: run a program, rerun it on edits.

    Name the program either by path or, after ``-m``, by module::

        python -m squall.autoreload -m myproject.worker
        python -m squall.autoreload tools/seed_db.py --dry-run

    The effect resembles a :func:`wait` call placed at the end of the
    program, with one gain: a program that dies while importing (a syntax
    error, say) never gets to call ``wait`` itself, whereas the wrapper logs
    the error,
    watches the files in its traceback and restarts when one changes.  After
    the script exits (normally or not) the wrapper waits for a change and
    runs it again.  With ``--until-success`` the wrapper stops instead once
    the script exits successfully.
    """
    original_argv = sys.argv
    sys.argv = list(sys.argv)
    until_success = False
    if len(sys.argv) >= 2 and sys.argv[1] == "--until-success":
        until_success = True
        del sys.argv[1]
    module: str | None = None
    script: str | None = None
    if len(sys.argv) >= 3 and sys.argv[1] == "-m":
        module = sys.argv[2]
        del sys.argv[1:3]
    elif len(sys.argv) >= 2 and sys.argv[1] != "-m":
        script = sys.argv[1]
        sys.argv = sys.argv[1:]
    else:
        print("Either -m or a path must be specified", file=sys.stderr)
        print(_USAGE, file=sys.stderr)
        sys.exit(1)

    if script is not None:
        watch(os.path.abspath(script))
    exit_status: object = 1
    try:
        if module is not None:
            runpy.run_module(module, run_name="__main__", alter_sys=True)
        else:
            assert script is not None
            runpy.run_path(script, run_name="__main__")
    except SystemExit as exc:
        exit_status = exc.code
        gen_log.info("Script exited with status %s", exc.code)
    except Exception as exc:
        gen_log.warning("Script exited with uncaught exception", exc_info=True)
        # The files in the traceback are where a fix will land; a syntax
        # error's file is not in the traceback, so add it by hand.
        for frame in traceback.extract_tb(exc.__traceback__):
            watch(frame.filename)
        if isinstance(exc, SyntaxError) and exc.filename:
            watch(exc.filename)
    else:
        exit_status = 0
        gen_log.info("Script exited normally")
    sys.argv = original_argv

    if module is not None:
        try:
            spec = importlib.util.find_spec(module)
        except (ImportError, ValueError):
            spec = None
        if spec is not None and spec.origin and os.path.exists(spec.origin):
            watch(spec.origin)
    if until_success and exit_status in (0, None):
        sys.exit(0)
    wait()
