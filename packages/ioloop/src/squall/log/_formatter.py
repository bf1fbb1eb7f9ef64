"""The log formatter squall installs: one line per record, level colours on a terminal.

Every record gets a bracketed prefix (level letter, timestamp, module and line),
extra lines of a multi-line message or traceback are indented by four spaces,
and formatting never raises: a record whose arguments do not fit its message
is shown as ``Bad message (...)`` instead.
"""

from __future__ import annotations

import logging
import sys

__all__ = ["DEFAULT_COLORS", "DEFAULT_DATE_FORMAT", "DEFAULT_FORMAT", "LogFormatter"]

DEFAULT_FORMAT = (
    "%(color)s[%(levelname)1.1s %(asctime)s %(module)s:%(lineno)d]%(end_color)s %(message)s"
)
DEFAULT_DATE_FORMAT = "%y%m%d %H:%M:%S"
DEFAULT_COLORS: dict[int, int] = {
    logging.CRITICAL: 5,  # magenta
    logging.ERROR: 1,  # red
    logging.WARNING: 3,  # yellow
    logging.INFO: 2,  # green
    logging.DEBUG: 4,  # blue
}

_PLAIN = ("", "")


def _terminfo_sequences(colors: dict[int, int]) -> tuple[dict[int, str], str] | None:
    """The terminal's own escape sequences for ``colors`` and for "back to normal".

    None when :mod:`curses` is missing or the terminal description has no colours.
    """
    try:
        import curses

        curses.setupterm()
        if curses.tigetnum("colors") < 1:
            return None
        foreground = curses.tigetstr("setaf") or curses.tigetstr("setf")
        reset = curses.tigetstr("sgr0") or b""
        if not foreground:
            return None
        return {
            level: curses.tparm(foreground, number).decode("ascii")
            for level, number in colors.items()
        }, reset.decode("ascii")
    except Exception:  # no curses, unknown terminal, stdout without a descriptor...
        return None


def _colorama_owns_stderr() -> bool:
    """True once ``colorama.init()`` has wrapped stderr (ANSI codes then work on Windows)."""
    colorama = sys.modules.get("colorama")
    setup = getattr(colorama, "initialise", None)
    wrapped = getattr(setup, "wrapped_stderr", None)
    return wrapped is not None and wrapped is sys.stderr


def _color_capable() -> bool:
    """Whether colour escapes written to stderr will show up as colour."""
    if _colorama_owns_stderr():
        return True
    try:
        interactive = bool(sys.stderr.isatty())
    except Exception:  # replaced by an object without isatty, closed, ...
        return False
    return interactive and _terminfo_sequences({}) is not None


def _palette(colors: dict[int, int]) -> dict[int, tuple[str, str]]:
    """``{level: (start, stop)}`` escapes for ``colors``, or nothing without colour support."""
    if not _color_capable():
        return {}
    sequences = _terminfo_sequences(colors)
    if sequences is None:  # colorama: plain ANSI SGR foreground codes
        return {level: (f"\x1b[3{number}m", "\x1b[0m") for level, number in colors.items()}
    starts, stop = sequences
    return {level: (start, stop) for level, start in starts.items()}


def _message_of(record: logging.LogRecord) -> str:
    """``record``'s text: undecodable bytes become their repr, bad arguments a note."""
    raw = record.msg
    if isinstance(raw, bytes) and not record.args:
        try:
            return raw.decode("utf-8")
        except UnicodeDecodeError:
            return repr(raw)
    try:
        return record.getMessage()
    except Exception as exc:
        return f"Bad message ({exc!r}): {record.__dict__!r}"


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
        # logging.Formatter checks ``style`` (ValueError) and builds the style
        # object that formatMessage() applies; fmt is not validated, as in Tornado.
        super().__init__(fmt, datefmt, style, validate=False)  # type: ignore[arg-type]
        self._escapes = _palette(colors) if color else {}
        self._stamped = self.usesTime()

    def format(self, record: logging.LogRecord) -> str:
        """Format ``record`` as text; never raises for bad messages or arguments."""
        record.message = _message_of(record)
        if self._stamped:
            record.asctime = self.formatTime(record, self.datefmt)
        record.color, record.end_color = self._escapes.get(record.levelno, _PLAIN)
        text = self.formatMessage(record)
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text or record.stack_info:
            parts = [text.rstrip()]
            if record.exc_text:
                parts.append(record.exc_text)
            if record.stack_info:
                parts.append(self.formatStack(record.stack_info))
            text = "\n".join(parts)
        return text.replace("\n", "\n    ")
