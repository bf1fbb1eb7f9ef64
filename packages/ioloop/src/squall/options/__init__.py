"""A command-line parsing module that lets modules define their own options.

Each module defines the options it uses, next to the code using them::

    from squall.options import define, options

    define("port", default=8888, help="run on the given port", type=int)
    define("mysql_host", default="127.0.0.1:3306", help="database host")

    def connect():
        return db.Connection(options.mysql_host)

The main program parses them once: ``squall.options.parse_command_line()``
or ``squall.options.parse_config_file("/etc/server.conf")``.  Parsing
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
    """Define an option in the global namespace (see :meth:`OptionParser.define`)."""
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
    """Parse global options from the command line (see :meth:`OptionParser.parse_command_line`)."""
    return options.parse_command_line(args, final=final)


def parse_config_file(path: str, final: bool = True) -> None:
    """Parse global options from a config file (see :meth:`OptionParser.parse_config_file`)."""
    options.parse_config_file(path, final=final)


def print_help(file: TextIO | None = None) -> None:
    """Print all the global command-line options to stderr (or ``file``)."""
    options.print_help(file)


def add_parse_callback(callback: Callable[[], None]) -> None:
    """Add a parse callback to the global options (see :meth:`OptionParser.add_parse_callback`)."""
    options.add_parse_callback(callback)


define_logging_options(options)


_publish_public_names(globals())
