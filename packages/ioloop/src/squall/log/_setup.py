"""Turning on squall's logging from options: handlers, rotation and the ``--logging`` flags."""

from __future__ import annotations

import logging
import logging.handlers
from typing import Any

from ._formatter import LogFormatter

__all__ = ["define_logging_options", "enable_pretty_logging"]


def enable_pretty_logging(options: Any = None, logger: logging.Logger | None = None) -> None:
    """Attach :class:`LogFormatter` handlers to ``logger`` following the logging options.

    You rarely need to call it: :func:`squall.options.parse_command_line` and
    :func:`squall.options.parse_config_file` do so once parsing is done.

    :arg options: an object with the logging options (see
        :func:`define_logging_options`); defaults to :data:`squall.options.options`.
    :arg logger: the logger to configure; defaults to the root logger.
    :raises ValueError: if ``log_rotate_mode`` is neither ``"size"`` nor ``"time"``.

    Does nothing when ``options.logging`` is ``None`` or ``"none"``.  Sets the
    logger's level from ``options.logging``, adds a rotating file handler when
    ``log_file_prefix`` is set, and a (coloured when possible) stderr handler
    when ``log_to_stderr`` is true, or when it is ``None`` and the logger has
    no other handler.
    """
    if options is None:
        import squall.options

        options = squall.options.options
    if options.logging is None or options.logging.lower() == "none":
        return
    if logger is None:
        logger = logging.getLogger()
    logger.setLevel(getattr(logging, options.logging.upper()))
    if options.log_file_prefix:
        mode = options.log_rotate_mode
        handler: logging.Handler
        if mode == "size":
            handler = logging.handlers.RotatingFileHandler(
                filename=options.log_file_prefix,
                mode="a",
                maxBytes=options.log_file_max_size,
                backupCount=options.log_file_num_backups,
                encoding="utf-8",
            )
        elif mode == "time":
            handler = logging.handlers.TimedRotatingFileHandler(
                filename=options.log_file_prefix,
                when=options.log_rotate_when,
                interval=options.log_rotate_interval,
                backupCount=options.log_file_num_backups,
                encoding="utf-8",
            )
        else:
            raise ValueError(
                f'The value of log_rotate_mode option should be "size" or "time", not "{mode}".'
            )
        handler.setFormatter(LogFormatter(color=False))
        logger.addHandler(handler)
    if options.log_to_stderr or (options.log_to_stderr is None and not logger.handlers):
        stream_handler = logging.StreamHandler()
        stream_handler.setFormatter(LogFormatter())
        logger.addHandler(stream_handler)


def define_logging_options(options: Any = None) -> None:
    """Define the logging options on ``options`` and register the logging callback.

    :arg options: an :class:`squall.options.OptionParser`; defaults to the
        global :data:`squall.options.options` (where squall defines them at import).

    Defines ``logging``, ``log_to_stderr``, ``log_file_prefix``,
    ``log_file_max_size``, ``log_file_num_backups``, ``log_rotate_when``,
    ``log_rotate_interval`` and ``log_rotate_mode``, and adds a parse callback
    that calls :func:`enable_pretty_logging` with them.
    """
    if options is None:
        import squall.options

        options = squall.options.options
    options.define(
        "logging",
        default="info",
        help="Set the Python log level. If 'none', squall won't touch the logging configuration.",
        metavar="debug|info|warning|error|none",
    )
    options.define(
        "log_to_stderr",
        type=bool,
        default=None,
        help=(
            "Send log output to stderr (colorized if possible). By default use stderr "
            "if --log_file_prefix is not set and no other logging is configured."
        ),
    )
    options.define(
        "log_file_prefix",
        type=str,
        default=None,
        metavar="PATH",
        help=(
            "Path prefix for log files. Note that if you are running multiple squall "
            "processes, log_file_prefix must be different for each of them (e.g. "
            "include the port number)"
        ),
    )
    options.define(
        "log_file_max_size",
        type=int,
        default=100 * 1000 * 1000,
        help="max size of log files before rollover",
    )
    options.define("log_file_num_backups", type=int, default=10, help="number of log files to keep")
    options.define(
        "log_rotate_when",
        type=str,
        default="midnight",
        help=(
            "specify the type of TimedRotatingFileHandler interval "
            "other options:('S', 'M', 'H', 'D', 'W0'-'W6')"
        ),
    )
    options.define(
        "log_rotate_interval",
        type=int,
        default=1,
        help="The interval value of timed rotating",
    )
    options.define(
        "log_rotate_mode",
        type=str,
        default="size",
        help="The mode of rotating files(time or size)",
    )
    options.add_parse_callback(lambda: enable_pretty_logging(options))
