"""Process-wide settings that any module can declare and the entry point fills in.

Options live in one global registry, :data:`options`. A module declares the
settings it reads right where it reads them, so no central list has to
know about them::

    from squall.options import define, options

    define("cache_ttl", default=300, type=int, help="seconds to keep entries")

    def expiry(now: float) -> float:
        return now + options.cache_ttl

At start-up the program fills the registry once, either from ``sys.argv``
with ``squall.options.parse_command_line()`` or from a Python file with
``squall.options.parse_config_file("app.conf")``.  Parsing
(with ``final=True``) runs the parse callbacks, which by default configure
logging from the ``--logging`` options defined here at import (see
:func:`squall.log.define_logging_options`); ``--help`` prints every option,
grouped by the file that defined it, and exits.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TextIO

from squall.log import define_logging_options
from squall.util._util import _publish_public_names

from ._parser import OptionParser
from ._values import Error

__all__ = [
    "Error",
    "OptionParser",
    "add_parse_callback",
    "define",
    "options",
    "parse_command_line",
    "parse_config_file",
    "print_help",
]

options = OptionParser()
"""The global options object; all options are attributes of it."""


def define(
    name: str,
    default: Any = None,
    type: type[Any] | None = None,
    help: str | None = None,
    metavar: str | None = None,
    multiple: bool = False,
    group: str | None = None,
    callback: Callable[[Any], None] | None = None,
) -> None:
    """Shortcut for ``options.define(...)``; arguments as in :meth:`OptionParser.define`."""
    options.define(
        name,
        default=default,
        type=type,
        help=help,
        metavar=metavar,
        multiple=multiple,
        group=group,
        callback=callback,
    )


def parse_command_line(args: list[str] | None = None, final: bool = True) -> list[str]:
    """Fill :data:`options` from ``args`` or ``sys.argv``; see :meth:`OptionParser.parse_command_line`."""
    return options.parse_command_line(args, final=final)


def parse_config_file(path: str, final: bool = True) -> None:
    """Fill :data:`options` from the Python file ``path``; see :meth:`OptionParser.parse_config_file`."""
    options.parse_config_file(path, final=final)


def print_help(file: TextIO | None = None) -> None:
    """Write the ``--help`` text for :data:`options` to ``file``, stderr by default."""
    options.print_help(file)


def add_parse_callback(callback: Callable[[], None]) -> None:
    """Run ``callback`` once the global :data:`options` are parsed.

    See :meth:`OptionParser.add_parse_callback`.
    """
    options.add_parse_callback(callback)


define_logging_options(options)


_publish_public_names(globals())
