"""``squall.testing.main``: unittest's runner with squall options (and autoreload)."""

from __future__ import annotations

import signal
import sys
import unittest
from typing import Any

__all__ = ["main"]

#: unittest command-line switches accepted as squall options, and the
#: :func:`unittest.main` keyword each one sets (later entries win).
_SWITCHES: dict[str, tuple[str, Any]] = {
    "verbose": ("verbosity", 2),
    "quiet": ("verbosity", 0),
    "failfast": ("failfast", True),
    "catch": ("catchbreak", True),
    "buffer": ("buffer", True),
}

_INTERRUPT_HELP = (
    "What Ctrl-C does while tests run: true (the default) raises KeyboardInterrupt "
    "and shows where the tests were, but cannot break out of every blocking call; "
    "false lets the signal kill the process at once, without a traceback."
)


def _declare_options() -> Any:
    """Define main()'s options once per process and return the global options object."""
    from squall.options import define, options

    if "exception_on_interrupt" not in options:
        define("exception_on_interrupt", default=True, type=bool, help=_INTERRUPT_HELP)
    for switch in _SWITCHES:
        if switch not in options:
            define(switch, type=bool, help=f"as unittest's --{switch}")
    return options


def main(**kwargs: Any) -> None:
    """Command-line test runner: :func:`unittest.main` driven by :mod:`squall.options`.

    Name test modules (or classes, or methods) as arguments; with none, the
    main module's ``all()`` function (if present) provides the suite.
    Wrapping the runner in :mod:`squall.autoreload` repeats the run after
    every edit::

        python -m squall.testing myproject.tests.test_api
        python -m squall.autoreload -m squall.testing myproject.tests.test_api

    unittest's ``--verbose``, ``--quiet``, ``--failfast``, ``--catch`` and
    ``--buffer`` flags are accepted (as squall options), plus
    ``--exception-on-interrupt=false`` to let Ctrl-C kill the process
    without a traceback, and the logging options.  Other keyword arguments
    go to :func:`unittest.main` as they are; the flags above override them.
    Exits 1 with "No tests specified" when there is nothing to run.
    """
    from squall.options import parse_command_line

    options = _declare_options()
    names = parse_command_line(sys.argv)
    if not options.exception_on_interrupt:
        signal.signal(signal.SIGINT, signal.SIG_DFL)
    for switch, (keyword, value) in _SWITCHES.items():
        if options[switch] is not None:
            kwargs[keyword] = value

    if names:
        # The names are fully qualified: load nothing from __main__.
        source: dict[str, Any] = {"module": None}
    elif callable(getattr(sys.modules.get("__main__"), "all", None)):
        source = {"defaultTest": "all"}
    else:
        sys.exit("No tests specified")
    unittest.main(argv=[sys.argv[0], *names], **source, **kwargs)
