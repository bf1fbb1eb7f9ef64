"""The log formatter squall installs: one line per record, level colours on a terminal.

Every record gets a bracketed prefix (level letter, timestamp, module and line),
extra lines of a multi-line message or traceback are indented by four spaces,
and formatting never raises: a record whose arguments do not fit its message
is shown as ``Bad message (...)`` instead.
"""

from __future__ import annotations

import logging
import sys
from typing import Any

__all__ = ["DEFAULT_COLORS", "DEFAULT_DATE_FORMAT", "DEFAULT_FORMAT", "LogFormatter"]

DEFAULT_FORMAT = (
    "%(color)s[%(levelname)1.1s %(asctime)s %(module)s:%(lineno)d]%(end_color)s %(message)s"
)
DEFAULT_DATE_FORMAT = "%y%m%d %H:%M:%S"
DEFAULT_COLORS: dict[int, int] = {
    logging.DEBUG: 4,  # blue
    logging.INFO: 2,  # green
    logging.WARNING: 3,  # yellow
    logging.ERROR: 1,  # red
    logging.CRITICAL: 5,  # magenta
}

_INDENT = "    "


def _curses_codes(colors: dict[int, int]) -> tuple[dict[int, str], str] | None:
    """Ask terminfo for the escape sequences of ``colors``; None if it cannot."""
    try:
        import curses
    except ImportError:
        return None
    try:
        curses.setupterm()
        if curses.tigetnum("colors") <= 0:
            return None
        set_fg = curses.tigetstr("setaf") or curses.tigetstr("setf") or b""
        normal = curses.tigetstr("sgr0") or b""
    except Exception:
        return None
    if not set_fg:
        return None
    codes = {level: str(curses.tparm(set_fg, code), "ascii") for level, code in colors.items()}
    return codes, str(normal, "ascii")


def _windows_ansi_ok() -> bool:
    """True when colorama has wrapped stderr so ANSI sequences work on Windows."""
    colorama = sys.modules.get("colorama")
    if colorama is None:
        return False
    wrapped = getattr(getattr(colorama, "initialise", None), "wrapped_stderr", None)
    return wrapped is not None and wrapped is sys.stderr


def _stderr_supports_color() -> bool:
    """Whether records written to stderr may carry colour escape sequences."""
    try:
        if not (hasattr(sys.stderr, "isatty") and sys.stderr.isatty()):
            return _windows_ansi_ok()
    except Exception:
        return False
    if _curses_codes({}) is not None:
        return True
    return _windows_ansi_ok()


def _safe_text(value: Any) -> str:
    """Turn anything (including undecodable bytes) into text without raising."""
    if isinstance(value, bytes):
        try:
            return value.decode("utf-8")
        except UnicodeDecodeError:
            return repr(value)
    try:
        return str(value)
    except Exception:
        return repr(value)


class LogFormatter(logging.Formatter):
    """One-line, timestamped log records, coloured by level on capable terminals.

    The counterpart of Tornado's ``tornado.log.LogFormatter``. A message that
    is bytes in a bad encoding, or whose ``%`` arguments do not fit, still
    produces a line instead of an error. :func:`squall.options.parse_command_line`
    and :func:`squall.options.parse_config_file` install it for you unless
    ``--logging=none`` is given.

    :arg fmt: the format of a record.  When colour is on, whatever sits
        between ``%(color)s`` and ``%(end_color)s`` takes the colour of the
        record's level.
    :arg datefmt: the :func:`time.strftime` pattern that renders ``asctime``.
    :arg style: ``"%"`` (default), ``"{"`` or ``"$"``, as for
        :class:`logging.Formatter`; ``color`` and ``end_color`` are available
        in every style.  (Tornado applies ``fmt`` with ``%`` whatever the
        style; squall honours the style.)
    :arg color: enable colour support; colour is only used when stderr is a
        terminal that supports it (via :mod:`curses`) or a colorama-wrapped
        stream on Windows.
    :arg colors: ``{level number: terminal colour number}``.

    Unlike Tornado, a record's ``stack_info`` is appended (indented) instead
    of being dropped.
    """

    DEFAULT_FORMAT = DEFAULT_FORMAT
    DEFAULT_DATE_FORMAT = DEFAULT_DATE_FORMAT
    DEFAULT_COLORS = DEFAULT_COLORS

    def __init__(
        self,
        fmt: str = DEFAULT_FORMAT,
        datefmt: str = DEFAULT_DATE_FORMAT,
        style: str = "%",
        color: bool = True,
        colors: dict[int, int] = DEFAULT_COLORS,
    ) -> None:
        if style not in ("%", "{", "$"):
            raise ValueError(f"Style must be one of: %, {{, $ (not {style!r})")
        logging.Formatter.__init__(self, datefmt=datefmt)
        self._fmt: str = fmt
        self._style_char = style
        self._colors: dict[int, str] = {}
        self._normal = ""
        if color and _stderr_supports_color():
            codes = _curses_codes(colors)
            if codes is not None:
                self._colors, self._normal = codes
            else:
                self._colors = {level: f"\033[2;3{code}m" for level, code in colors.items()}
                self._normal = "\033[0m"

    def _apply_fmt(self, values: dict[str, Any]) -> str:
        """Apply ``fmt`` to the record attributes in the configured style."""
        if self._style_char == "{":
            return self._fmt.format(**values)
        if self._style_char == "$":
            import string

            return string.Template(self._fmt).substitute(values)
        return self._fmt % values

    def format(self, record: logging.LogRecord) -> str:
        """Format ``record`` as text; never raises for bad messages or arguments."""
        try:
            message = record.getMessage()
            record.message = _safe_text(message)
        except Exception as exc:
            record.message = f"Bad message ({exc!r}): {record.__dict__!r}"
        record.asctime = self.formatTime(record, self.datefmt)
        if record.levelno in self._colors:
            record.color = self._colors[record.levelno]
            record.end_color = self._normal
        else:
            record.color = record.end_color = ""
        formatted = self._apply_fmt(record.__dict__)
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        extra: list[str] = []
        if record.exc_text:
            extra.append(_safe_text(record.exc_text))
        if record.stack_info:
            extra.append(_safe_text(record.stack_info))
        if extra:
            formatted = "\n".join([formatted.rstrip(), *extra])
        return formatted.replace("\n", "\n" + _INDENT)
