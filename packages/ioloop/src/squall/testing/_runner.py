"""``squall.testing.main``: unittest's runner with squall options (and autoreload)."""

from __future__ import annotations

import signal
import sys
import unittest
from typing import Any

__all__ = ["main"]


def main(**kwargs: Any) -> None:
    """Command-line test runner: :func:`unittest.main` driven by :mod:`squall.options`.

    Name test modules as arguments; with none, the main module's ``all()``
    function (if present) provides the suite. Wrapping the runner in
    :mod:`squall.autoreload` repeats the run after every edit::

        python -m squall.testing myproject.tests.test_api
        python -m squall.autoreload -m squall.testing myproject.tests.test_api

    unittest's ``--verbose``, ``--quiet``, ``--failfast``, ``--catch`` and
    ``--buffer`` flags are accepted (as squall options), plus
    ``--exception-on-interrupt=false`` to let Ctrl-C kill the process
    without a traceback, and the logging options.  :func:`unittest.main`
    receives ``kwargs`` untouched.
    """
    from squall.options import define, options, parse_command_line

    if "exception_on_interrupt" not in options:
        define(
            "exception_on_interrupt",
            type=bool,
            default=True,
            help=(
                "If true (default), ctrl-c raises a KeyboardInterrupt exception. "
                "This prints a stack trace but cannot interrupt certain operations. "
                "If false, the process is more reliably killed, but does not print "
                "a stack trace."
            ),
        )
    # The same flags as unittest's own command line.
    for name in ("verbose", "quiet", "failfast", "catch", "buffer"):
        if name not in options:
            define(name, type=bool)

    argv = [sys.argv[0], *parse_command_line(sys.argv)]
    if not options.exception_on_interrupt:
        signal.signal(signal.SIGINT, signal.SIG_DFL)
    if options.verbose is not None:
        kwargs["verbosity"] = 2
    if options.quiet is not None:
        kwargs["verbosity"] = 0
    if options.failfast is not None:
        kwargs["failfast"] = True
    if options.catch is not None:
        kwargs["catchbreak"] = True
    if options.buffer is not None:
        kwargs["buffer"] = True

    main_module = sys.modules.get("__main__")
    if len(argv) > 1:
        # Names on the command line are fully qualified; don't import anything else.
        unittest.main(module=None, argv=argv, **kwargs)
    elif main_module is not None and callable(getattr(main_module, "all", None)):
        unittest.main(defaultTest="all", argv=argv, **kwargs)
    else:
        print("No tests specified", file=sys.stderr)
        sys.exit(1)
