"""Tests for squall.options: defining, parsing (argv and config files), help, errors."""

from __future__ import annotations

import datetime
import io
import logging
import os
import sys
from unittest import mock

import pytest
import squall.log
import squall.options
from squall.options import Error, OptionParser


@pytest.fixture
def parser():
    return OptionParser()


def write(path, text):
    path.write_text(text, encoding="utf-8")
    return str(path)


# -- defining and access ----------------------------------------------------------------


def test_default_value(parser):
    parser.define("port", default=80)
    assert parser.port == 80


def test_no_default_is_none(parser):
    parser.define("name")
    assert parser.name is None


def test_type_inferred_from_default(parser):
    parser.define("port", default=80)
    parser.parse_command_line(["prog", "--port=81"])
    assert parser.port == 81


def test_type_str_without_default(parser):
    parser.define("thing")
    parser.parse_command_line(["prog", "--thing=5"])
    assert parser.thing == "5"


def test_attribute_and_item_access(parser):
    parser.define("port", default=80)
    parser["port"] = 90
    assert parser["port"] == 90 and parser.port == 90
    parser.port = 91
    assert parser["port"] == 91


def test_unknown_attribute_raises_attribute_error(parser):
    with pytest.raises(AttributeError, match="Unrecognized option 'nope'"):
        parser.nope
    with pytest.raises(AttributeError):
        parser.nope = 1
    with pytest.raises(AttributeError):
        parser["nope"]


def test_dash_and_underscore_are_the_same(parser):
    parser.define("some_thing", default=1)
    assert parser["some-thing"] == 1
    parser.parse_command_line(["prog", "--some-thing=5"])
    assert parser.some_thing == 5
    parser.parse_command_line(["prog", "--some_thing=6"])
    assert parser.some_thing == 6


def test_iteration_gives_names_as_defined(parser):
    parser.define("some_thing")
    parser.define("with-dash")
    assert list(parser) == ["help", "some_thing", "with-dash"]


def test_contains(parser):
    parser.define("some_thing")
    assert "some_thing" in parser and "some-thing" in parser
    assert "other" not in parser


def test_items_and_as_dict(parser):
    parser.define("a", default=1)
    parser.define("b", default="x")
    assert dict(parser.items()) == {"help": None, "a": 1, "b": "x"}
    assert parser.as_dict() == {"help": None, "a": 1, "b": "x"}


def test_groups_default_to_defining_file(parser):
    parser.define("a")
    parser.define("b", group="app")
    assert parser.groups() == {"", __file__, "app"}


def test_group_dict(parser):
    parser.define("a", default=1, group="app")
    parser.define("b", default=2, group="app")
    parser.define("c", default=3)
    assert parser.group_dict("app") == {"a": 1, "b": 2}
    assert parser.group_dict("missing") == {}


def test_group_dict_empty_name_is_everything(parser):
    parser.define("a", default=1, group="app")
    assert parser.group_dict("") == {"help": None, "a": 1}


def test_redefinition_names_first_file(parser):
    parser.define("port")
    with pytest.raises(Error, match=r"Option 'port' already defined in .*test_options\.py"):
        parser.define("port")


def test_redefinition_across_spelling(parser):
    parser.define("some_thing")
    with pytest.raises(Error, match="Option 'some-thing' already defined"):
        parser.define("some-thing")


def test_multiple_default_is_empty_list(parser):
    parser.define("names", multiple=True)
    assert parser.names == []


# -- command line -------------------------------------------------------------------------


def test_parse_returns_remaining_args(parser):
    parser.define("port", default=80)
    assert parser.parse_command_line(["prog", "--port=1", "rest", "--port=2"]) == [
        "rest",
        "--port=2",
    ]
    assert parser.port == 1


def test_double_dash_stops_parsing(parser):
    parser.define("port", default=80)
    assert parser.parse_command_line(["prog", "--", "--port=2"]) == ["--port=2"]
    assert parser.port == 80


def test_single_dash_prefix_accepted(parser):
    parser.define("port", default=80)
    parser.parse_command_line(["prog", "-port=3"])
    assert parser.port == 3


def test_value_may_contain_equals(parser):
    parser.define("name", default="")
    parser.parse_command_line(["prog", "--name=a=b"])
    assert parser.name == "a=b"


def test_empty_string_value(parser):
    parser.define("name", default="x")
    parser.parse_command_line(["prog", "--name="])
    assert parser.name == ""


def test_unknown_option_prints_help_and_raises(parser, capsys):
    with pytest.raises(Error, match="Unrecognized command line option: 'no-pe'"):
        parser.parse_command_line(["prog", "--no_pe=1"])
    assert "Usage:" in capsys.readouterr().err


def test_missing_value_raises(parser):
    parser.define("port", type=int)
    with pytest.raises(Error, match="Option 'port' requires a value"):
        parser.parse_command_line(["prog", "--port"])


def test_bad_int_is_error_and_value_error(parser):
    parser.define("port", type=int)
    with pytest.raises(Error, match="port") as info:
        parser.parse_command_line(["prog", "--port=abc"])
    assert isinstance(info.value, ValueError)


def test_int_accepts_negative_and_spaces(parser):
    parser.define("n", type=int)
    parser.parse_command_line(["prog", "--n=-5"])
    assert parser.n == -5
    parser.parse_command_line(["prog", "--n= 7"])
    assert parser.n == 7


def test_float(parser):
    parser.define("rate", type=float)
    parser.parse_command_line(["prog", "--rate=1.5"])
    assert parser.rate == 1.5


def test_bool_flag_without_value_is_true(parser):
    parser.define("debug", default=False)
    parser.parse_command_line(["prog", "--debug"])
    assert parser.debug is True


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("true", True),
        ("True", True),
        ("1", True),
        ("t", True),
        ("yes", True),
        ("false", False),
        ("FALSE", False),
        ("0", False),
        ("f", False),
    ],
)
def test_bool_values(parser, text, expected):
    parser.define("debug", type=bool)
    parser.parse_command_line(["prog", f"--debug={text}"])
    assert parser.debug is expected


def test_multiple_strings(parser):
    parser.define("names", multiple=True)
    parser.parse_command_line(["prog", "--names=a,b, c"])
    assert parser.names == ["a", "b", " c"]


def test_multiple_int_ranges(parser):
    parser.define("ports", type=int, multiple=True)
    parser.parse_command_line(["prog", "--ports=1:3,7"])
    assert parser.ports == [1, 2, 3, 7]


def test_multiple_int_empty_range(parser):
    parser.define("ports", type=int, multiple=True)
    parser.parse_command_line(["prog", "--ports=3:1"])
    assert parser.ports == []


def test_multiple_int_bad_range(parser):
    parser.define("ports", type=int, multiple=True)
    with pytest.raises(Error):
        parser.parse_command_line(["prog", "--ports=a:b"])


def test_multiple_str_colon_is_not_a_range(parser):
    parser.define("names", multiple=True)
    parser.parse_command_line(["prog", "--names=1:3"])
    assert parser.names == ["1:3"]


def test_multiple_bool(parser):
    parser.define("flags", type=bool, multiple=True)
    parser.parse_command_line(["prog", "--flags=true,false"])
    assert parser.flags == [True, False]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2020-01-02 03:04:05", datetime.datetime(2020, 1, 2, 3, 4, 5)),
        ("2020-01-02 03:04", datetime.datetime(2020, 1, 2, 3, 4)),
        ("2020-01-02T03:04", datetime.datetime(2020, 1, 2, 3, 4)),
        ("2020-01-02T03:04:05", datetime.datetime(2020, 1, 2, 3, 4, 5)),
        ("20200102 03:04:05", datetime.datetime(2020, 1, 2, 3, 4, 5)),
        ("2020-01-02", datetime.datetime(2020, 1, 2)),
        ("20200102", datetime.datetime(2020, 1, 2)),
        ("03:04:05", datetime.datetime(1900, 1, 1, 3, 4, 5)),
        ("03:04", datetime.datetime(1900, 1, 1, 3, 4)),
        ("Thu Jan  2 03:04:05 2020", datetime.datetime(2020, 1, 2, 3, 4, 5)),
    ],
)
def test_datetime_formats(parser, text, expected):
    parser.define("when", type=datetime.datetime)
    parser.parse_command_line(["prog", f"--when={text}"])
    assert parser.when == expected


def test_bad_datetime(parser):
    parser.define("when", type=datetime.datetime)
    with pytest.raises(Error, match="Unrecognized date/time format: 'soon'"):
        parser.parse_command_line(["prog", "--when=soon"])


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("1h 30m", 5400),
        ("1h30m", 5400),
        ("30", 30),
        ("1.5", 1.5),
        ("1d", 86400),
        ("2w", 14 * 86400),
        ("5s", 5),
        ("10ms", 0.01),
        ("3us", 0.000003),
        ("2 hours", 7200),
        ("1 hour", 3600),
        ("1min", 60),
        ("1m", 60),
        ("-1h", -3600),
        ("3.5h", 12600),
        ("1 h, 2 m", 3720),
    ],
)
def test_timedelta_formats(parser, text, seconds):
    parser.define("dur", type=datetime.timedelta)
    parser.parse_command_line(["prog", f"--dur={text}"])
    assert parser.dur == datetime.timedelta(seconds=seconds)


@pytest.mark.parametrize("text", ["bad", "1y", "", "1h x"])
def test_bad_timedelta(parser, text):
    parser.define("dur", type=datetime.timedelta)
    with pytest.raises(Error):
        parser.parse_command_line(["prog", f"--dur={text}"])


def test_custom_type_callable(parser):
    parser.define("path", type=os.path.normpath)  # type: ignore[arg-type]
    parser.parse_command_line(["prog", "--path=a//b"])
    assert parser.path == os.path.normpath("a//b")


def test_callback_called_with_parsed_value(parser):
    seen = []
    parser.define("port", type=int, callback=seen.append)
    parser.parse_command_line(["prog", "--port=4"])
    assert seen == [4]


def test_callback_called_on_set(parser):
    seen = []
    parser.define("port", type=int, callback=seen.append)
    parser.port = 9
    assert seen == [9]


def test_parse_callbacks_run_only_when_final(parser):
    calls = []
    parser.add_parse_callback(lambda: calls.append(1))
    parser.parse_command_line(["prog"], final=False)
    assert calls == []
    parser.parse_command_line(["prog"])
    assert calls == [1]
    parser.run_parse_callbacks()
    assert calls == [1, 1]


def test_help_prints_and_exits(parser, capsys):
    parser.define("port", default=80, help="the port")
    with pytest.raises(SystemExit) as info:
        parser.parse_command_line(["prog", "--help"])
    assert info.value.code == 0
    assert "--port" in capsys.readouterr().err


# -- setting typed values ---------------------------------------------------------------


def test_set_wrong_type(parser):
    parser.define("port", type=int)
    with pytest.raises(
        Error, match=r"Option 'port' is required to be a int \(<class 'str'> given\)"
    ):
        parser.port = "x"


def test_set_none_allowed(parser):
    parser.define("port", default=1)
    parser.port = None
    assert parser.port is None


def test_set_multiple_requires_list(parser):
    parser.define("ports", type=int, multiple=True)
    with pytest.raises(Error, match="required to be a list of int"):
        parser.ports = 5
    with pytest.raises(Error, match="required to be a list of int"):
        parser.ports = ["a"]
    parser.ports = [5]
    assert parser.ports == [5]


# -- config files -----------------------------------------------------------------------


def test_config_file(parser, tmp_path):
    parser.define("port", default=80)
    parser.define("names", multiple=True)
    parser.define("ids", multiple=True, type=int)
    parser.define("debug", type=bool)
    parser.define("when", type=datetime.datetime)
    parser.define("dur", type=datetime.timedelta)
    parser.define("some-thing", type=int)
    path = write(
        tmp_path / "cfg.py",
        'port = "81"\nnames = "a,b"\nids = [1, 2]\ndebug = "false"\n'
        'when = "2020-01-02 03:04"\ndur = "1h"\nsome_thing = 7\nunknown = 3\nimport os\n',
    )
    parser.parse_config_file(path)
    assert parser.port == 81
    assert parser.names == ["a", "b"]
    assert parser.ids == [1, 2]
    assert parser.debug is False
    assert parser.when == datetime.datetime(2020, 1, 2, 3, 4)
    assert parser.dur == datetime.timedelta(hours=1)
    assert parser.some_thing == 7


def test_config_file_int_range_string(parser, tmp_path):
    parser.define("ids", multiple=True, type=int)
    parser.parse_config_file(write(tmp_path / "c.py", 'ids = "1:3"\n'))
    assert parser.ids == [1, 2, 3]


def test_config_file_sees_its_own_path(parser, tmp_path):
    parser.define("where")
    path = write(tmp_path / "c.py", "where = __file__\n")
    parser.parse_config_file(path)
    assert parser.where == os.path.abspath(path)


def test_config_file_wrong_type(parser, tmp_path):
    parser.define("dur", type=datetime.timedelta)
    with pytest.raises(Error, match="required to be a timedelta"):
        parser.parse_config_file(write(tmp_path / "c.py", "dur = 5\n"))


def test_config_file_bad_string(parser, tmp_path):
    parser.define("port", type=int)
    with pytest.raises(ValueError):
        parser.parse_config_file(write(tmp_path / "c.py", 'port = "abc"\n'))


def test_config_file_multiple_needs_list_or_string(parser, tmp_path):
    parser.define("ids", multiple=True, type=int)
    with pytest.raises(Error, match="list of int or a comma-separated string"):
        parser.parse_config_file(write(tmp_path / "c.py", "ids = 5\n"))


def test_config_file_missing(parser, tmp_path):
    with pytest.raises(FileNotFoundError):
        parser.parse_config_file(str(tmp_path / "nope.py"))


def test_config_file_final_runs_callbacks(parser, tmp_path):
    calls = []
    parser.add_parse_callback(lambda: calls.append(1))
    path = write(tmp_path / "c.py", "x = 1\n")
    parser.parse_config_file(path, final=False)
    assert calls == []
    parser.parse_config_file(path)
    assert calls == [1]


# -- help -------------------------------------------------------------------------------


def test_help_layout(parser, monkeypatch):
    monkeypatch.setattr(sys, "argv", ["prog"])
    parser.define("port", default=80, type=int, help="the port " * 12, metavar="PORT", group="g1")
    parser.define("e", default="", help="empty default")
    parser.define("z", default=0, help="zero")
    parser.define("longname" * 5, default=1, help="x")
    parser.define("lst", default=[1, 2], multiple=True, help="list")
    parser.define("nohelp")
    out = io.StringIO()
    parser.print_help(out)
    lines = out.getvalue().splitlines()
    here = os.path.normpath(__file__)
    assert lines == [
        "Usage: prog [OPTIONS]",
        "",
        "Options:",
        "",
        "  --help                           show this help information",
        "",
        f"{here} options:",
        "",
        "  --e                              empty default",
        "  --longnamelongnamelongnamelongnamelongname ",
        "                                   x (default 1)",
        "  --lst                            list (default [1, 2])",
        "  --nohelp                         ",
        "  --z                              zero (default 0)",
        "",
        "g1 options:",
        "",
        "  --port=PORT                      the port the port the port the port the port",
        "                                   the port the port the port the port the port",
        "                                   the port the port  (default 80)",
        "",
    ]


def test_help_shows_dashes_for_underscores(parser):
    parser.define("some_thing", default=1)
    out = io.StringIO()
    parser.print_help(out)
    assert "--some-thing" in out.getvalue()


def test_print_help_defaults_to_stderr(parser, capsys):
    parser.print_help()
    assert "Options:" in capsys.readouterr().err


# -- mockable -----------------------------------------------------------------------------


def test_mockable_patch_and_restore(parser):
    parser.define("port", default=80)
    with mock.patch.object(parser.mockable(), "port", 555):
        assert parser.port == 555
    assert parser.port == 80


def test_mockable_reads_through(parser):
    parser.define("port", default=80)
    assert parser.mockable().port == 80


# -- the global options -----------------------------------------------------------------


def test_module_functions_exist():
    for name in (
        "options",
        "define",
        "parse_command_line",
        "parse_config_file",
        "print_help",
        "add_parse_callback",
        "Error",
        "OptionParser",
    ):
        assert name in squall.options.__all__
        assert hasattr(squall.options, name)


def test_global_options_have_logging_options():
    for name in ("logging", "log_to_stderr", "log_file_prefix", "log_rotate_mode"):
        assert name in squall.options.options


def test_global_logging_option_configures_root_logger(tmp_path):
    # Run in a child so the global options and the root logger stay untouched here.
    import subprocess

    code = (
        "import logging, squall.options as o\n"
        "rest = o.parse_command_line(['prog', '--logging=debug', 'x'])\n"
        "root = logging.getLogger()\n"
        "print(rest, root.level, type(root.handlers[0].formatter).__name__)\n"
        "logging.getLogger('a').debug('dbg line')\n"
    )
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(p for p in sys.path if p))
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=60
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == f"['x'] {logging.DEBUG} LogFormatter"
    assert result.stderr.startswith("[D ") and "dbg line" in result.stderr


def test_global_define_uses_callers_file_as_group():
    name = "squall_test_option_for_group"
    squall.options.define(name, default=1)
    try:
        groups = {os.path.normcase(g) for g in squall.options.options.groups()}
        assert os.path.normcase(__file__) in groups
        assert squall.options.options.group_dict(__file__) == {name: 1}
    finally:
        del squall.options.options._registry[name.replace("_", "-")]


# -- errors users see name only public things ---------------------------------------------


def _bad_value_error(parser, kind, text):
    parser.define("value", type=kind)
    with pytest.raises(Error) as info:
        parser.parse_command_line(["prog", f"--value={text}"])
    return info.value


@pytest.mark.parametrize(
    ("kind", "text"),
    [(int, "abc"), (float, "x"), (datetime.datetime, "soon"), (datetime.timedelta, "1y")],
)
def test_bad_value_error_shows_only_public_names(parser, kind, text):
    import traceback

    error = _bad_value_error(parser, kind, text)
    assert isinstance(error, ValueError)
    assert type(error).__module__ == "squall.options"
    assert type(error).__name__ == type(error).__qualname__ == "Error"
    assert repr(error).startswith("Error(")
    last = traceback.format_exception_only(type(error), error)[-1]
    assert last.startswith("squall.options.Error: ")
    full = "".join(traceback.format_exception(type(error), error, error.__traceback__))
    assert full.splitlines()[-1].startswith("squall.options.Error: ")
    for leaked in ("_values", "_parser", "_BadValue", "_ValueProblem"):
        assert leaked not in last and leaked not in repr(error)


def test_bad_value_error_names_option_and_value(parser):
    error = _bad_value_error(parser, int, "abc")
    assert "'value'" in str(error) and "'abc'" in str(error)
    assert isinstance(error.__cause__, ValueError)


def test_bad_value_error_pickles_as_error_and_value_error(parser):
    import pickle

    error = _bad_value_error(parser, int, "abc")
    copy = pickle.loads(pickle.dumps(error))
    assert isinstance(copy, Error) and isinstance(copy, ValueError)
    assert copy.args == error.args


def test_uncaught_bad_value_last_traceback_line_is_public(tmp_path):
    import subprocess

    code = (
        "import squall.options as o\n"
        "o.define('port', type=int)\n"
        "o.parse_command_line(['prog', '--port=abc'])\n"
    )
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(p for p in sys.path if p))
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=60
    )
    assert result.returncode == 1
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith("squall.options.Error: Option 'port': 'abc'"), result.stderr


@pytest.mark.parametrize(
    "action",
    [
        lambda p: p.define("port"),
        lambda p: p.parse_command_line(["prog", "--nope"]),
        lambda p: p.parse_command_line(["prog", "--port"]),
        lambda p: setattr(p, "port", "x"),
    ],
)
def test_other_errors_are_public_error(parser, action, capsys):
    parser.define("port", type=int)
    with pytest.raises(Error) as info:
        action(parser)
    assert type(info.value) is Error
    assert repr(type(info.value)) == "<class 'squall.options.Error'>"


# -- help groups: squall's own options under public names ---------------------------------


def test_logging_options_help_is_grouped_under_squall_log(monkeypatch):
    monkeypatch.setattr(sys, "argv", ["prog"])
    parser = OptionParser()
    squall.log.define_logging_options(parser)
    out = io.StringIO()
    parser.print_help(out)
    text = out.getvalue()
    assert "_setup" not in text and ".py" not in text
    assert text.splitlines() == [
        "Usage: prog [OPTIONS]",
        "",
        "Options:",
        "",
        "  --help                           show this help information",
        "",
        "squall.log options:",
        "",
        "  --log-file-max-size              Bytes a log file may grow to before it is",
        "                                   rotated (size mode). (default 100000000)",
        "  --log-file-num-backups           How many rotated log files to keep. (default",
        "                                   10)",
        "  --log-file-prefix=PATH           Also write records to this file, rotated as",
        "                                   the log_rotate_* options say. Every process",
        "                                   needs its own path (add the port, for",
        "                                   instance).",
        "  --log-rotate-interval            How many log_rotate_when units between",
        "                                   rotations. (default 1)",
        "  --log-rotate-mode                Rotate log files by 'size' or by 'time'.",
        "                                   (default size)",
        "  --log-rotate-when                Time unit for time-mode rotation, as",
        "                                   TimedRotatingFileHandler's 'when': S, M, H,",
        "                                   D, W0-W6 or midnight. (default midnight)",
        "  --log-to-stderr                  Write records to stderr, coloured on a",
        "                                   capable terminal. Unset: only when",
        "                                   --log_file_prefix is not given and the",
        "                                   logger has no handler yet.",
        "  --logging=debug|info|warning|error|none ",
        "                                   Log level to set; with 'none' squall leaves",
        "                                   the logging configuration alone. (default",
        "                                   info)",
        "",
    ]
    assert parser.groups() == {"", "squall.log"}
    assert set(parser.group_dict("squall.log")) == {
        "logging",
        "log_to_stderr",
        "log_file_prefix",
        "log_file_max_size",
        "log_file_num_backups",
        "log_rotate_when",
        "log_rotate_interval",
        "log_rotate_mode",
    }


def test_global_help_shows_squall_log_group(capsys):
    squall.options.print_help()
    err = capsys.readouterr().err
    assert "\nsquall.log options:\n" in err
    assert "_setup" not in err


def test_redefining_a_logging_option_names_the_public_module(parser):
    squall.log.define_logging_options(parser)
    with pytest.raises(Error, match=r"^Option 'logging' already defined in squall\.log$"):
        parser.define("logging")


def test_define_from_a_private_squall_module_groups_under_the_package(parser):
    scope = {"__name__": "squall.web._handlers", "parser": parser}
    exec("parser.define('from_web')", scope)
    scope["__name__"] = "squall.thing"
    exec("parser.define('from_thing')", scope)
    assert parser.groups() == {"", "squall.web", "squall.thing"}


def test_define_from_unnamed_code_uses_its_file_name(parser):
    exec(compile("parser.define('x')", "some/config.py", "exec"), {"parser": parser})
    assert parser.groups() == {"", "some/config.py"}


# -- more parsing edge cases ----------------------------------------------------------------


def test_parse_defaults_to_sys_argv(parser, monkeypatch):
    parser.define("port", default=80)
    monkeypatch.setattr(sys, "argv", ["prog", "--port=5", "tail"])
    assert parser.parse_command_line() == ["tail"]
    assert parser.port == 5


def test_empty_argument_stops_parsing(parser):
    parser.define("port", default=80)
    assert parser.parse_command_line(["prog", "", "--port=2"]) == ["", "--port=2"]
    assert parser.port == 80


def test_multiple_bool_flag_without_value(parser):
    parser.define("flags", type=bool, multiple=True)
    parser.parse_command_line(["prog", "--flags"])
    assert parser.flags == [True]


def test_multiple_custom_callable_type(parser):
    parser.define("paths", type=str.upper, multiple=True)  # type: ignore[arg-type]
    parser.parse_command_line(["prog", "--paths=a:b,c"])
    assert parser.paths == ["A:B", "C"]
    parser.paths = ["x"]
    assert parser.paths == ["x"]


def test_multiple_float_has_no_ranges(parser):
    parser.define("xs", type=float, multiple=True)
    with pytest.raises(Error):
        parser.parse_command_line(["prog", "--xs=1:2"])


def test_multiple_int_single_element_range(parser):
    parser.define("ports", type=int, multiple=True)
    parser.parse_command_line(["prog", "--ports=5:5"])
    assert parser.ports == [5]


@pytest.mark.parametrize("text", ["   ", ",", "h"])
def test_more_bad_timedeltas(parser, text):
    parser.define("dur", type=datetime.timedelta)
    with pytest.raises(Error):
        parser.parse_command_line(["prog", f"--dur={text}"])


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1e3ms", datetime.timedelta(seconds=1)),
        (" 2 weeks ", datetime.timedelta(weeks=2)),
        ("1H", datetime.timedelta(hours=1)),
        (".5m", datetime.timedelta(seconds=30)),
        ("1d,1s", datetime.timedelta(days=1, seconds=1)),
    ],
)
def test_more_timedeltas(parser, text, expected):
    parser.define("dur", type=datetime.timedelta)
    parser.parse_command_line(["prog", f"--dur={text}"])
    assert parser.dur == expected


def test_datetime_with_fraction(parser):
    parser.define("when", type=datetime.datetime)
    parser.parse_command_line(["prog", "--when=2020-01-02T03:04:05.25"])
    assert parser.when == datetime.datetime(2020, 1, 2, 3, 4, 5, 250000)


def test_set_callback_runs_and_wrong_type_does_not(parser):
    seen = []
    parser.define("port", type=int, callback=seen.append)
    with pytest.raises(Error):
        parser.port = "x"
    assert seen == [] and parser.port is None


def test_config_file_str_option_takes_string_as_is(parser, tmp_path):
    parser.define("name", default="")
    parser.parse_config_file(write(tmp_path / "c.py", 'name = "a,b"\n'))
    assert parser.name == "a,b"


def test_mockable_refuses_second_patch_of_same_name(parser):
    parser.define("port", default=80)
    mockable = parser.mockable()
    with mock.patch.object(mockable, "port", 1):
        with pytest.raises(AssertionError):
            mockable.port = 2
        assert parser.port == 1
    assert parser.port == 80


def test_mockable_nested_patches(parser):
    parser.define("a", default=1)
    parser.define("b", default=2)
    mockable = parser.mockable()
    with mock.patch.object(mockable, "a", 10), mock.patch.object(mockable, "b", 20):
        assert (parser.a, parser.b) == (10, 20)
    assert (parser.a, parser.b) == (1, 2)


def test_iteration_is_a_snapshot(parser):
    names = iter(parser)
    parser.define("late")
    assert list(names) == ["help"]
