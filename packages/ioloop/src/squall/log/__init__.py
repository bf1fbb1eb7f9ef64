"""The loggers squall writes to, and helpers to format and configure them.

Everything squall logs goes to one of three named :mod:`logging` loggers,
so each can get its own level and handlers:

* ``squall.access`` (``access_log``) gets one record per HTTP request
  served;
* ``squall.application`` (``app_log``) reports exceptions that escaped
  user code, such as a callback that raised;
* ``squall.general`` (``gen_log``) carries the library's own warnings,
  errors and other messages.

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
