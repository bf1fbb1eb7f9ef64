"""The option registry: define options, parse them from argv or a config file, print help."""

from __future__ import annotations

import os
import sys
import textwrap
import types
from collections.abc import Callable, Iterable, Iterator
from typing import Any, TextIO

from ._values import Error, convert

__all__ = ["OptionParser"]

_UNSET: Any = object()
_THIS_DIR = os.path.normcase(os.path.dirname(os.path.abspath(__file__)))


def _normalize_name(name: str) -> str:
    """Options are the same whether written with dashes or underscores."""
    return name.replace("_", "-")


def _caller_file() -> str:
    """File name of the first frame outside this package (the code calling ``define``)."""
    frame: types.FrameType | None = sys._getframe(1)
    while frame is not None:
        filename = frame.f_code.co_filename
        if os.path.normcase(os.path.dirname(os.path.abspath(filename))) != _THIS_DIR:
            return filename
        frame = frame.f_back
    return ""


class _Option:
    """One defined option: its metadata, its type conversion and its current value."""

    def __init__(
        self,
        name: str,
        *,
        default: Any,
        type_: type[Any],
        help: str | None,
        metavar: str | None,
        multiple: bool,
        file_name: str,
        group_name: str,
        callback: Callable[[Any], None] | None,
    ) -> None:
        if default is None and multiple:
            default = []
        self.name = name
        self.type = type_
        self.help = help
        self.metavar = metavar
        self.multiple = multiple
        self.file_name = file_name
        self.group_name = group_name
        self.callback = callback
        self.default = default
        self._value: Any = _UNSET

    def value(self) -> Any:
        """The current value, or the default if never set."""
        return self.default if self._value is _UNSET else self._value

    def _type_name(self) -> str:
        return getattr(self.type, "__name__", repr(self.type))

    def parse(self, value: str) -> Any:
        """Set the option from its command-line/config text and return the new value."""
        if self.multiple:
            items: list[Any] = []
            is_int = issubclass(self.type, int) and self.type is not bool
            for part in value.split(","):
                if is_int:
                    low_text, _, high_text = part.partition(":")
                    low = convert(self.type, self.name, low_text)
                    high = convert(self.type, self.name, high_text) if high_text else low
                    items.extend(range(low, high + 1))
                else:
                    items.append(convert(self.type, self.name, part))
            self._value = items
        else:
            self._value = convert(self.type, self.name, value)
        if self.callback is not None:
            self.callback(self._value)
        return self.value()

    def set(self, value: Any) -> None:
        """Set the option to an already-typed value (checked against the option's type)."""
        if self.multiple:
            if not isinstance(value, list):
                raise Error(f"Option {self.name!r} is required to be a list of {self._type_name()}")
            for item in value:
                if item is not None and not isinstance(item, self.type):
                    raise Error(
                        f"Option {self.name!r} is required to be a list of {self._type_name()}"
                    )
        elif value is not None and not isinstance(value, self.type):
            raise Error(
                f"Option {self.name!r} is required to be a {self._type_name()} "
                f"({type(value)} given)"
            )
        self._value = value
        if self.callback is not None:
            self.callback(self._value)


class OptionParser:
    """A registry of named options whose values read and write like attributes.

    Most code only ever touches the shared instance,
    :data:`squall.options.options`, and the module-level functions wrapping
    it; create another instance when a separate set of options is needed.
    Option names are normalised (``foo_bar`` and ``foo-bar`` are the same
    option).  Values are read and written as attributes or items; unknown
    names raise :class:`AttributeError`.
    """

    def __init__(self) -> None:
        self.__dict__["_options"] = {}
        self.__dict__["_parse_callbacks"] = []
        self._define_option(
            "help",
            type_=bool,
            help="show this help information",
            callback=self._help_callback,
            file_name="",
            group="",
        )

    _options: dict[str, _Option]
    _parse_callbacks: list[Callable[[], None]]

    # -- mapping/attribute access -------------------------------------------------

    def __getattr__(self, name: str) -> Any:
        options = self.__dict__.get("_options")
        if options is None:
            raise AttributeError(name)
        normalized = _normalize_name(name)
        if normalized in options:
            return options[normalized].value()
        raise AttributeError(f"Unrecognized option {normalized!r}")

    def __setattr__(self, name: str, value: Any) -> None:
        normalized = _normalize_name(name)
        if normalized in self._options:
            self._options[normalized].set(value)
            return
        raise AttributeError(f"Unrecognized option {normalized!r}")

    def __iter__(self) -> Iterator[str]:
        return (option.name for option in self._options.values())

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and _normalize_name(name) in self._options

    def __getitem__(self, name: str) -> Any:
        return self.__getattr__(name)

    def __setitem__(self, name: str, value: Any) -> None:
        self.__setattr__(name, value)

    def items(self) -> Iterable[tuple[str, Any]]:
        """Every option as a ``(name, value)`` tuple."""
        return [(option.name, option.value()) for option in self._options.values()]

    def groups(self) -> set[str]:
        """The set of option group names (by default the files that defined them)."""
        return {option.group_name for option in self._options.values()}

    def group_dict(self, group: str) -> dict[str, Any]:
        """Map each option of ``group`` to its value (all options when ``group`` is empty).

        For example, to pass every option defined under the ``"web"`` group as
        settings::

            web_settings = options.group_dict("web")
            app = Application(routes, **web_settings)
        """
        return {
            option.name: option.value()
            for option in self._options.values()
            if not group or group == option.group_name
        }

    def as_dict(self) -> dict[str, Any]:
        """A plain ``dict`` from every option name to its current value."""
        return {option.name: option.value() for option in self._options.values()}

    # -- defining -----------------------------------------------------------------

    def define(
        self,
        name: str,
        default: Any = None,
        type: type[Any] | None = None,
        help: str | None = None,
        metavar: str | None = None,
        multiple: bool = False,
        group: str | None = None,
        callback: Callable[[Any], None] | None = None,
    ) -> None:
        """Register option ``name`` so parsing and attribute access know about it.

        :arg name: the option name (``_`` and ``-`` are interchangeable).
        :arg default: the value before any parsing (``[]`` for ``multiple``).
        :arg type: one of ``str``, ``int``, ``float``, ``bool``,
            :class:`datetime.datetime`, :class:`datetime.timedelta` or any
            callable taking a string; inferred from ``default`` when omitted
            (``str`` if there is no default or ``multiple`` is set).
        :arg help: text for :meth:`print_help`.
        :arg metavar: placeholder shown in help (``--name=METAVAR``).
        :arg multiple: accept a comma-separated list (integer types also
            accept ``lo:hi`` ranges, inclusive).
        :arg group: group for :meth:`print_help` and :meth:`group_dict`;
            by default the file that called ``define``.
        :arg callback: receives the value each time parsing (or assignment) sets it.
        :raises Error: if an option of that (normalised) name already exists;
            the message names the file that defined it first.
        """
        self._define_option(
            name,
            default=default,
            type_=type,
            help=help,
            metavar=metavar,
            multiple=multiple,
            group=group,
            callback=callback,
            file_name=_caller_file(),
        )

    def _define_option(
        self,
        name: str,
        *,
        file_name: str,
        default: Any = None,
        type_: type[Any] | None = None,
        help: str | None = None,
        metavar: str | None = None,
        multiple: bool = False,
        group: str | None = None,
        callback: Callable[[Any], None] | None = None,
    ) -> None:
        normalized = _normalize_name(name)
        if normalized in self._options:
            raise Error(
                f"Option {normalized!r} already defined in {self._options[normalized].file_name}"
            )
        if type_ is None:
            type_ = default.__class__ if (not multiple and default is not None) else str
        self._options[normalized] = _Option(
            name,
            default=default,
            type_=type_,
            help=help,
            metavar=metavar,
            multiple=multiple,
            file_name=file_name,
            group_name=group or file_name,
            callback=callback,
        )

    # -- parsing ------------------------------------------------------------------

    def parse_command_line(self, args: list[str] | None = None, final: bool = True) -> list[str]:
        """Parse ``--name=value`` options from ``args`` (default :data:`sys.argv`).

        The first element of ``args`` (the program name) is not parsed.  Parsing stops at the
        first argument that does not start with ``-`` or after ``--``; the
        rest is returned.  A boolean option given without a value is set to
        ``True``.

        :arg final: when true (the default) run the parse callbacks
            afterwards (this is what turns on logging); pass ``False`` when
            another parse (e.g. a config file) follows.
        :raises Error: for unknown options (after printing help), a missing
            value, or a value of the wrong type.
        """
        if args is None:
            args = sys.argv
        remaining: list[str] = []
        for index in range(1, len(args)):
            arg = args[index]
            if not arg.startswith("-"):
                remaining = list(args[index:])
                break
            if arg == "--":
                remaining = list(args[index + 1 :])
                break
            name, equals, value = arg.lstrip("-").partition("=")
            normalized = _normalize_name(name)
            option = self._options.get(normalized)
            if option is None:
                self.print_help()
                raise Error(f"Unrecognized command line option: {normalized!r}")
            if not equals:
                if option.type is bool:
                    value = "true"
                else:
                    raise Error(f"Option {normalized!r} requires a value")
            option.parse(value)
        if final:
            self.run_parse_callbacks()
        return remaining

    def parse_config_file(self, path: str, final: bool = True) -> None:
        """Execute the Python file ``path`` and take option values from its globals.

        The file is executed as Python code; every global whose (normalised)
        name is a defined option sets that option.  Other globals are ignored.
        A string assigned to a non-``str`` or ``multiple`` option is parsed as
        on the command line (``port = "80"``, ``ports = "80,81"``); anything
        else must already have the option's type.  ``__file__`` is set to the
        absolute path of the config file while it runs.

        :arg final: as for :meth:`parse_command_line`.
        :raises Error: for values of the wrong type.
        :raises OSError: when opening or reading ``path`` fails.
        """
        config: dict[str, Any] = {"__file__": os.path.abspath(path)}
        with open(path, "rb") as source:
            code = compile(source.read(), path, "exec")
        exec(code, config, config)
        for name, value in config.items():
            option = self._options.get(_normalize_name(name))
            if option is None:
                continue
            if option.multiple and not isinstance(value, (list, str)):
                raise Error(
                    f"Option {option.name!r} is required to be a list of "
                    f"{option._type_name()} or a comma-separated string"
                )
            if isinstance(value, str) and (option.type is not str or option.multiple):
                option.parse(value)
            else:
                option.set(value)
        if final:
            self.run_parse_callbacks()

    # -- help and callbacks ---------------------------------------------------------

    def print_help(self, file: TextIO | None = None) -> None:
        """Write a usage summary of every option, one section per group, to ``file`` or stderr."""
        out = sys.stderr if file is None else file
        print(f"Usage: {sys.argv[0] if sys.argv else ''} [OPTIONS]", file=out)
        print("\nOptions:\n", file=out)
        by_group: dict[str, list[_Option]] = {}
        for option in self._options.values():
            by_group.setdefault(option.group_name, []).append(option)
        for group_name, group_options in sorted(by_group.items()):
            if group_name:
                print(f"\n{os.path.normpath(group_name)} options:\n", file=out)
            for option in sorted(group_options, key=lambda opt: opt.name):
                prefix = _normalize_name(option.name)
                if option.metavar:
                    prefix += "=" + option.metavar
                description = option.help or ""
                if option.default is not None and option.default != "":
                    description += f" (default {option.default})"
                lines = textwrap.wrap(description, 79 - 35)
                if len(prefix) > 30 or not lines:
                    lines.insert(0, "")
                print(f"  --{prefix:<30} {lines[0]}", file=out)
                for line in lines[1:]:
                    print(f"{' ':<34} {line}", file=out)
        print(file=out)

    def _help_callback(self, value: bool) -> None:
        if value:
            self.print_help()
            sys.exit(0)

    def add_parse_callback(self, callback: Callable[[], None]) -> None:
        """Register ``callback`` to be invoked after each final (``final=True``) parse."""
        self._parse_callbacks.append(callback)

    def run_parse_callbacks(self) -> None:
        """Invoke the registered parse callbacks, oldest first."""
        for callback in list(self._parse_callbacks):
            callback()

    def mockable(self) -> _Mockable:
        """An object for :func:`unittest.mock.patch.object` that sets options and restores them.

        ``mock.patch.object(options, "port", 8888)`` does not work on the
        parser itself (it has no real attributes); patch
        ``options.mockable()`` instead.
        """
        return _Mockable(self)


class _Mockable:
    """Adapter letting :mod:`unittest.mock` patch and restore options."""

    def __init__(self, options: OptionParser) -> None:
        self.__dict__["_options"] = options
        self.__dict__["_originals"] = {}

    def __getattr__(self, name: str) -> Any:
        return getattr(self.__dict__["_options"], name)

    def __setattr__(self, name: str, value: Any) -> None:
        originals: dict[str, Any] = self.__dict__["_originals"]
        if name in originals:
            raise AssertionError("don't reuse mockable objects")
        originals[name] = getattr(self.__dict__["_options"], name)
        setattr(self.__dict__["_options"], name, value)

    def __delattr__(self, name: str) -> None:
        setattr(self.__dict__["_options"], name, self.__dict__["_originals"].pop(name))
