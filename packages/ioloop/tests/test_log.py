"""Tests for squall.log: named loggers, LogFormatter and enable_pretty_logging."""

from __future__ import annotations

import logging
import logging.handlers
import os
import sys
import types

import pytest
import squall.log
from squall.log import (
    LogFormatter,
    _formatter,
    access_log,
    app_log,
    define_logging_options,
    enable_pretty_logging,
    gen_log,
)
from squall.options import OptionParser


def make_record(msg: object, *args: object, level: int = logging.INFO, exc_info=None):
    record = logging.LogRecord("test", level, "/src/mod.py", 12, msg, args, exc_info)
    record.created = 0.0
    record.msecs = 0.0
    return record


@pytest.fixture
def no_color(monkeypatch):
    monkeypatch.setattr(_formatter, "_color_capable", lambda: False)


@pytest.fixture
def fake_tty_color(monkeypatch):
    monkeypatch.setattr(_formatter, "_color_capable", lambda: True)
    monkeypatch.setattr(
        _formatter,
        "_terminfo_sequences",
        lambda colors: ({lvl: f"<c{code}>" for lvl, code in colors.items()}, "<n>"),
    )


def test_logger_names():
    assert access_log.name == "squall.access"
    assert app_log.name == "squall.application"
    assert gen_log.name == "squall.general"


def test_loggers_are_the_logging_module_singletons():
    assert app_log is logging.getLogger("squall.application")


def test_public_interface():
    assert set(squall.log.__all__) >= {
        "LogFormatter",
        "access_log",
        "app_log",
        "gen_log",
        "enable_pretty_logging",
        "define_logging_options",
    }


def test_default_format_prefix(no_color):
    text = LogFormatter().format(make_record("hello %s", "world"))
    assert text.startswith("[I ")
    assert text.endswith(" mod:12] hello world")


def test_level_letter_for_each_level(no_color):
    formatter = LogFormatter()
    letters = {
        logging.DEBUG: "D",
        logging.INFO: "I",
        logging.WARNING: "W",
        logging.ERROR: "E",
        logging.CRITICAL: "C",
        5: "L",  # "Level 5"
    }
    for level, letter in letters.items():
        assert formatter.format(make_record("m", level=level)).startswith(f"[{letter} ")


def test_multiline_message_is_indented(no_color):
    text = LogFormatter().format(make_record("first\nsecond\nthird"))
    lines = text.split("\n")
    assert lines[1:] == ["    second", "    third"]


def test_exception_is_appended_and_indented(no_color):
    try:
        raise ZeroDivisionError("boom")
    except ZeroDivisionError:
        record = make_record("failed", level=logging.ERROR, exc_info=sys.exc_info())
    lines = LogFormatter().format(record).split("\n")
    assert lines[0].endswith("] failed")
    assert lines[1] == "    Traceback (most recent call last):"
    assert lines[-1] == "    ZeroDivisionError: boom"


def test_precomputed_exc_text_is_used(no_color):
    record = make_record("x")
    record.exc_text = "pre\ncomputed"
    assert LogFormatter().format(record).split("\n")[1:] == ["    pre", "    computed"]


def test_stack_info_is_kept(no_color):
    record = make_record("x")
    record.stack_info = "Stack (most recent call last):\n  here"
    assert "    Stack (most recent call last):" in LogFormatter().format(record)


def test_bad_arguments_do_not_raise(no_color):
    text = LogFormatter().format(make_record("bad %d", "x"))
    assert "Bad message (TypeError(" in text
    assert "'msg': 'bad %d'" in text


def test_bytes_message_does_not_raise(no_color):
    text = LogFormatter().format(make_record(b"caf\xff"))
    assert "caf" in text


def test_non_string_message(no_color):
    assert LogFormatter().format(make_record({"a": 1})).endswith("{'a': 1}")


def test_custom_fmt_and_datefmt(no_color):
    formatter = LogFormatter(fmt="%(levelname)s|%(asctime)s|%(message)s", datefmt="%Y")
    text = formatter.format(make_record("hi"))
    level, year, message = text.split("|")
    assert (level, message) == ("INFO", "hi")
    assert year.isdigit() and len(year) == 4


def test_brace_style_with_color_fields(fake_tty_color):
    formatter = LogFormatter(fmt="{color}{levelname}{end_color} {message}", style="{")
    assert formatter.format(make_record("m")) == "<c2>INFO<n> m"


def test_dollar_style(no_color):
    formatter = LogFormatter(fmt="${levelname}:${message}", style="$")
    assert formatter.format(make_record("m")) == "INFO:m"


def test_bad_style_rejected():
    with pytest.raises(ValueError):
        LogFormatter(style="#")


def test_no_color_when_not_a_tty(no_color):
    record = make_record("m")
    LogFormatter(color=True).format(record)
    assert record.color == "" and record.end_color == ""


def test_color_on_tty(fake_tty_color):
    text = LogFormatter().format(make_record("m", level=logging.WARNING))
    assert text.startswith("<c3>[W ")
    assert "<n> m" in text


def test_custom_colors(fake_tty_color):
    text = LogFormatter(colors={logging.INFO: 6}).format(make_record("m"))
    assert text.startswith("<c6>[I ")


def test_level_without_color_gets_none(fake_tty_color):
    text = LogFormatter().format(make_record("m", level=5))
    assert text.startswith("[L ")


def test_color_false_disables_color(fake_tty_color):
    text = LogFormatter(color=False).format(make_record("m"))
    assert text.startswith("[I ")


def test_stderr_not_tty_means_no_color(monkeypatch):
    monkeypatch.setattr(sys, "stderr", types.SimpleNamespace(isatty=lambda: False))
    assert _formatter._color_capable() is False


def test_curses_codes_for_real_terminal(monkeypatch):
    curses = pytest.importorskip("curses")
    monkeypatch.setenv("TERM", "xterm-256color")
    try:
        codes = _formatter._terminfo_sequences({logging.INFO: 2})
    except curses.error:  # pragma: no cover - terminfo missing
        pytest.skip("no terminfo")
    if codes is None:
        pytest.skip("terminfo has no xterm-256color")
    colors, normal = codes
    assert colors[logging.INFO] == "\x1b[32m"
    assert normal.startswith("\x1b")


def test_formatter_matches_tornado_layout_for_record(no_color):
    # Same output as tornado's LogFormatter for the same record (checked by hand).
    record = make_record("hello w\nsecond line")
    text = LogFormatter(datefmt="X").format(record)
    assert text == "[I X mod:12] hello w\n    second line"


# -- enable_pretty_logging ------------------------------------------------------------


@pytest.fixture
def opts():
    parser = OptionParser()
    define_logging_options(parser)
    return parser


@pytest.fixture
def logger():
    lg = logging.getLogger("squall.test.pretty")
    yield lg
    for handler in list(lg.handlers):
        lg.removeHandler(handler)
        handler.close()
    lg.setLevel(logging.NOTSET)


def test_define_logging_options_defaults(opts):
    assert opts.logging == "info"
    assert opts.log_to_stderr is None
    assert opts.log_file_prefix is None
    assert opts.log_file_max_size == 100_000_000
    assert opts.log_file_num_backups == 10
    assert opts.log_rotate_when == "midnight"
    assert opts.log_rotate_interval == 1
    assert opts.log_rotate_mode == "size"


def test_enable_pretty_logging_sets_level_and_stderr(opts, logger):
    opts.logging = "debug"
    enable_pretty_logging(opts, logger)
    assert logger.level == logging.DEBUG
    assert len(logger.handlers) == 1
    assert isinstance(logger.handlers[0], logging.StreamHandler)
    assert isinstance(logger.handlers[0].formatter, LogFormatter)


def test_logging_none_touches_nothing(opts, logger):
    opts.logging = "none"
    enable_pretty_logging(opts, logger)
    assert logger.handlers == [] and logger.level == logging.NOTSET


def test_logging_option_is_case_insensitive(opts, logger):
    opts.logging = "WARNING"
    enable_pretty_logging(opts, logger)
    assert logger.level == logging.WARNING


def test_size_rotating_file(opts, logger, tmp_path):
    opts.log_file_prefix = str(tmp_path / "app.log")
    opts.log_file_max_size = 1234
    opts.log_file_num_backups = 3
    enable_pretty_logging(opts, logger)
    (handler,) = logger.handlers  # stderr not added: a handler exists now
    assert isinstance(handler, logging.handlers.RotatingFileHandler)
    assert (handler.maxBytes, handler.backupCount) == (1234, 3)
    logger.info("to the file")
    handler.flush()
    content = (tmp_path / "app.log").read_text(encoding="utf-8")
    assert content.startswith("[I ") and "to the file" in content


def test_time_rotating_file(opts, logger, tmp_path):
    opts.log_file_prefix = str(tmp_path / "t.log")
    opts.log_rotate_mode = "time"
    opts.log_rotate_when = "H"
    opts.log_rotate_interval = 2
    enable_pretty_logging(opts, logger)
    (handler,) = logger.handlers
    assert isinstance(handler, logging.handlers.TimedRotatingFileHandler)
    assert handler.when == "H" and handler.interval == 2 * 3600


def test_bad_rotate_mode(opts, logger, tmp_path):
    opts.log_file_prefix = str(tmp_path / "x.log")
    opts.log_rotate_mode = "weird"
    with pytest.raises(ValueError, match='should be "size" or "time", not "weird"'):
        enable_pretty_logging(opts, logger)
    assert not os.path.exists(tmp_path / "x.log")


def test_log_to_stderr_true_adds_stream_even_with_file(opts, logger, tmp_path):
    opts.log_file_prefix = str(tmp_path / "y.log")
    opts.log_to_stderr = True
    enable_pretty_logging(opts, logger)
    kinds = sorted(type(h).__name__ for h in logger.handlers)
    assert kinds == ["RotatingFileHandler", "StreamHandler"]


def test_log_to_stderr_false_adds_nothing(opts, logger):
    opts.log_to_stderr = False
    enable_pretty_logging(opts, logger)
    assert logger.handlers == []


def test_existing_handler_prevents_default_stderr(opts, logger):
    existing = logging.NullHandler()
    logger.addHandler(existing)
    enable_pretty_logging(opts, logger)
    assert logger.handlers == [existing]


def test_parse_callback_enables_logging(logger):
    parser = OptionParser()
    define_logging_options(parser)
    calls = []
    import squall.log._setup as setup

    original = setup.enable_pretty_logging
    try:
        setup.enable_pretty_logging = lambda options=None, logger=None: calls.append(options)
        parser.parse_command_line(["prog", "--logging=error"])
    finally:
        setup.enable_pretty_logging = original
    assert calls == [parser]


def test_log_formatter_exposes_its_defaults_as_class_attributes():
    from squall.log import LogFormatter

    assert "%(levelname)" in LogFormatter.DEFAULT_FORMAT
    assert LogFormatter.DEFAULT_DATE_FORMAT == "%y%m%d %H:%M:%S"
    assert set(LogFormatter.DEFAULT_COLORS) >= {logging.DEBUG, logging.INFO, logging.WARNING}


# -- more formatter behaviour ---------------------------------------------------------------


def test_utf8_bytes_message_is_decoded(no_color):
    text = LogFormatter().format(make_record("café ☕".encode()))
    assert text.endswith("] café ☕")


def test_bytes_message_with_args_goes_through_get_message(no_color):
    text = LogFormatter().format(make_record(b"raw", "arg"))
    assert "Bad message (TypeError(" in text  # bytes % args cannot mix with str


def test_format_without_asctime_or_fields(no_color):
    assert LogFormatter(fmt="static").format(make_record("m")) == "static"
    assert LogFormatter(fmt="%(message)s!").format(make_record("m")) == "m!"


def test_exception_text_is_cached_on_record(no_color):
    try:
        raise KeyError("k")
    except KeyError:
        record = make_record("oops", exc_info=sys.exc_info())
    first = LogFormatter().format(record)
    assert record.exc_text and record.exc_text.startswith("Traceback")
    assert LogFormatter().format(record) == first


def test_exception_and_stack_both_indented_in_order(no_color):
    record = make_record("x")
    record.exc_text = "EXC"
    record.stack_info = "STACK"
    assert LogFormatter(datefmt="X").format(record) == "[I X mod:12] x\n    EXC\n    STACK"


def test_trailing_whitespace_trimmed_before_traceback(no_color):
    record = make_record("message   ")
    record.exc_text = "EXC"
    assert LogFormatter(fmt="%(message)s").format(record) == "message\n    EXC"


def test_colorama_without_terminfo_uses_ansi(monkeypatch):
    monkeypatch.setattr(_formatter, "_color_capable", lambda: True)
    monkeypatch.setattr(_formatter, "_terminfo_sequences", lambda colors: None)
    text = LogFormatter(fmt="%(color)s%(message)s%(end_color)s").format(make_record("m"))
    assert text == "\x1b[32mm\x1b[0m"


def test_colorama_wrapped_stderr_counts_as_color_capable(monkeypatch):
    stream = types.SimpleNamespace(isatty=lambda: False)
    fake = types.SimpleNamespace(initialise=types.SimpleNamespace(wrapped_stderr=stream))
    monkeypatch.setattr(sys, "stderr", stream)
    monkeypatch.setitem(sys.modules, "colorama", fake)
    assert _formatter._color_capable() is True


def test_stderr_without_isatty_means_no_color(monkeypatch):
    monkeypatch.setattr(sys, "stderr", object())
    assert _formatter._color_capable() is False


def test_record_gets_color_attributes(fake_tty_color):
    record = make_record("m", level=logging.ERROR)
    LogFormatter().format(record)
    assert (record.color, record.end_color) == ("<c1>", "<n>")


# -- more enable_pretty_logging -------------------------------------------------------------


def test_unknown_level_name_raises_value_error(opts, logger):
    opts.logging = "chatty"
    with pytest.raises(ValueError):
        enable_pretty_logging(opts, logger)


def test_logging_option_none_value_touches_nothing(opts, logger):
    opts.logging = None
    enable_pretty_logging(opts, logger)
    assert logger.handlers == [] and logger.level == logging.NOTSET


def test_file_handler_is_never_colored(opts, logger, tmp_path, fake_tty_color):
    opts.log_file_prefix = str(tmp_path / "c.log")
    enable_pretty_logging(opts, logger)
    logger.warning("plain")
    logger.handlers[0].flush()
    assert (tmp_path / "c.log").read_text(encoding="utf-8").startswith("[W ")


def test_stderr_handler_writes_formatted_records(opts, logger, no_color, capsys):
    enable_pretty_logging(opts, logger)
    logger.info("hello %s", "there")
    assert capsys.readouterr().err.rstrip().endswith("] hello there")


def test_enable_pretty_logging_defaults_to_global_options_and_root(monkeypatch):
    import squall.options

    calls = []
    root = logging.getLogger()
    monkeypatch.setattr(root, "setLevel", calls.append)
    monkeypatch.setattr(root, "addHandler", calls.append)
    from unittest import mock

    with mock.patch.object(squall.options.options.mockable(), "logging", "error"):
        enable_pretty_logging()
    assert squall.options.options.logging == "info"
    assert calls[0] in (logging.ERROR, "ERROR")


def test_define_logging_options_defaults_to_global_options():
    import squall.options

    with pytest.raises(squall.options.Error, match="already defined in squall.log"):
        define_logging_options()


def test_logging_options_help_group_is_public():
    parser = OptionParser()
    define_logging_options(parser)
    assert parser.groups() == {"", "squall.log"}
