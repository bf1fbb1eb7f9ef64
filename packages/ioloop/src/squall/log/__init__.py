"""Logging support for squall.

squall uses three logger streams, configurable independently with the
standard :mod:`logging` module:

* ``squall.access``: per-request logging for squall's HTTP servers;
* ``squall.application``: errors from application code (e.g. uncaught
  exceptions from callbacks);
* ``squall.general``: general-purpose logging, including errors and warnings
  from squall itself.

:class:`LogFormatter` gives one-line, optionally coloured records;
:func:`enable_pretty_logging` installs it from the logging options.
"""

from __future__ import annotations

import logging

from squall.util._util import _publish_public_names

from ._formatter import LogFormatter
from ._setup import define_logging_options, enable_pretty_logging

access_log = logging.getLogger("squall.access")
app_log = logging.getLogger("squall.application")
gen_log = logging.getLogger("squall.general")

__all__ = [
    "LogFormatter",
    "access_log",
    "app_log",
    "define_logging_options",
    "enable_pretty_logging",
    "gen_log",
]


_publish_public_names(globals())
