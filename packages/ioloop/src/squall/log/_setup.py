"""Turning on squall's logging from options: handlers, rotation and the ``--logging`` flags."""

from __future__ import annotations

import logging
import logging.handlers
from typing import Any

from ._formatter import LogFormatter

__all__ = ["define_logging_options", "enable_pretty_logging"]

# (name, type, default, metavar, help) of each logging option, in --help order.
_LOGGING_OPTIONS: tuple[tuple[str, type[Any], Any, str | None, str], ...] = (
    (
        "logging",
        str,
        "info",
        "debug|info|warning|error|none",
        "Log level to set; with 'none' squall leaves the logging configuration alone.",
    ),
    (
        "log_to_stderr",
        bool,
        None,
        None,
        "Write records to stderr, coloured on a capable terminal. Unset: only "
        "when --log_file_prefix is not given and the logger has no handler yet.",
    ),
    (
        "log_file_prefix",
        str,
        None,
        "PATH",
        "Also write records to this file, rotated as the log_rotate_* options "
        "say. Every process needs its own path (add the port, for instance).",
    ),
    (
        "log_file_max_size",
        int,
        100_000_000,
        None,
        "Bytes a log file may grow to before it is rotated (size mode).",
    ),
    ("log_file_num_backups", int, 10, None, "How many rotated log files to keep."),
    (
        "log_rotate_when",
        str,
        "midnight",
        None,
        "Time unit for time-mode rotation, as TimedRotatingFileHandler's 'when': "
        "S, M, H, D, W0-W6 or midnight.",
    ),
    ("log_rotate_interval", int, 1, None, "How many log_rotate_when units between rotations."),
    ("log_rotate_mode", str, "size", None, "Rotate log files by 'size' or by 'time'."),
)


def _rotating_file(options: Any) -> logging.Handler:
    """The file handler the ``log_rotate_mode`` option asks for."""
    mode = options.log_rotate_mode
    path = options.log_file_prefix
    keep = options.log_file_num_backups
    if mode == "time":
        return logging.handlers.TimedRotatingFileHandler(
            path,
            when=options.log_rotate_when,
            interval=options.log_rotate_interval,
            backupCount=keep,
            encoding="utf-8",
        )
    if mode == "size":
        return logging.handlers.RotatingFileHandler(
            path, maxBytes=options.log_file_max_size, backupCount=keep, encoding="utf-8"
        )
    raise ValueError(f'log_rotate_mode should be "size" or "time", not "{mode}"')


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
        from squall.options import options
    level = options.logging
    if level is None or level.lower() == "none":
        return
    target = logging.getLogger() if logger is None else logger
    target.setLevel(level.upper())
    handlers: list[logging.Handler] = []
    if options.log_file_prefix:
        file_handler = _rotating_file(options)
        file_handler.setFormatter(LogFormatter(color=False))
        handlers.append(file_handler)
    to_stderr = options.log_to_stderr
    if to_stderr or (to_stderr is None and not handlers and not target.handlers):
        console = logging.StreamHandler()
        console.setFormatter(LogFormatter())
        handlers.append(console)
    for handler in handlers:
        target.addHandler(handler)


def define_logging_options(options: Any = None) -> None:
    """Define the logging options on ``options`` and register the logging callback.

    :arg options: an :class:`squall.options.OptionParser`; defaults to the
        global :data:`squall.options.options` (where squall defines them at import).

    Defines ``logging``, ``log_to_stderr``, ``log_file_prefix``,
    ``log_file_max_size``, ``log_file_num_backups``, ``log_rotate_when``,
    ``log_rotate_interval`` and ``log_rotate_mode``, and adds a parse callback
    that calls :func:`enable_pretty_logging` with them.  In ``--help`` they
    are listed under ``squall.log``.
    """
    if options is None:
        from squall.options import options
    for name, kind, default, metavar, text in _LOGGING_OPTIONS:
        options.define(name, default=default, type=kind, help=text, metavar=metavar)
    # Looked up at call time, so a patched enable_pretty_logging is honoured.
    options.add_parse_callback(lambda: enable_pretty_logging(options))
