"""The option registry: declare options, fill them from argv or a config file, print help."""

from __future__ import annotations

import os
import sys
import textwrap
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from operator import attrgetter
from types import FrameType
from typing import Any, TextIO

from ._values import Error, convert

__all__ = ["OptionParser"]

_UNSET: Any = object()
_HELP_INDENT = 35  # "  --" + a 30-column flag + one space
_HELP_WIDTH = 79 - _HELP_INDENT
_OWN_PREFIX = __name__.rpartition(".")[0] + "."  # "squall.options."


def _key(name: str) -> str:
    """The registry key of an option name: ``-`` and ``_`` are interchangeable."""
    return name.replace("_", "-")


def _public_module(module: str) -> str:
    """``squall.log._setup`` -> ``squall.log``: the name up to the first private part."""
    kept: list[str] = []
    for part in module.split("."):
        if part.startswith("_"):
            break
        kept.append(part)
    return ".".join(kept)


def _definition_site() -> str:
    """Name where ``define`` was called from, skipping squall.options' own frames.

    Application code is named by its file, as in Tornado.  Squall's own modules
    are named by their public package (``squall.log``), never by the private
    file that happens to hold the code.
    """
    frame: FrameType | None = sys._getframe(1)
    while frame is not None and f"{frame.f_globals.get('__name__')}.".startswith(_OWN_PREFIX):
        frame = frame.f_back
    if frame is None:
        return ""
    module = frame.f_globals.get("__name__")
    if isinstance(module, str) and module.startswith("squall."):
        return _public_module(module)
    return frame.f_code.co_filename


@dataclass(eq=False)
class _Entry:
    """An option's declaration together with its current value."""

    name: str
    kind: Any
    default: Any
    help: str | None
    metavar: str | None
    multiple: bool
    origin: str
    group: str
    callback: Callable[[Any], None] | None
    current: Any = _UNSET

    def get(self) -> Any:
        return self.default if self.current is _UNSET else self.current

    def store(self, value: Any) -> None:
        self.current = value
        if self.callback is not None:
            self.callback(value)

    def kind_name(self) -> str:
        return getattr(self.kind, "__name__", repr(self.kind))

    def from_text(self, text: str) -> None:
        """Convert command-line style text (a comma list when ``multiple``) and store it."""
        if not self.multiple:
            self.store(convert(self.kind, self.name, text))
            return
        ranges = (
            isinstance(self.kind, type) and issubclass(self.kind, int) and self.kind is not bool
        )
        values: list[Any] = []
        for piece in text.split(","):
            if ranges and ":" in piece:
                first, last = (convert(self.kind, self.name, end) for end in piece.split(":", 1))
                values.extend(range(first, last + 1))
            else:
                values.append(convert(self.kind, self.name, piece))
        self.store(values)

    def fits(self, value: Any) -> bool:
        return value is None or not isinstance(self.kind, type) or isinstance(value, self.kind)

    def accept(self, value: Any) -> None:
        """Store an already-typed value after checking it against the option's type."""
        if self.multiple:
            if not (isinstance(value, list) and all(map(self.fits, value))):
                raise Error(f"Option {self.name!r} is required to be a list of {self.kind_name()}")
        elif not self.fits(value):
            raise Error(
                f"Option {self.name!r} is required to be a {self.kind_name()} ({type(value)} given)"
            )
        self.store(value)

    def help_lines(self) -> list[str]:
        flag = _key(self.name)
        if self.metavar:
            flag = f"{flag}={self.metavar}"
        text = self.help or ""
        if self.default is not None and self.default != "":
            text = f"{text} (default {self.default})"
        wrapped = textwrap.wrap(text, _HELP_WIDTH)
        if not wrapped or len(flag) > _HELP_INDENT - 5:
            wrapped.insert(0, "")
        indent = " " * _HELP_INDENT
        return [f"  --{flag:<30} {wrapped[0]}", *(indent + line for line in wrapped[1:])]


class OptionParser:
    """A registry of named options whose values read and write like attributes.

    Most code only ever touches the shared instance,
    :data:`squall.options.options`, and the module-level functions wrapping
    it; create another instance when a separate set of options is needed.
    Option names are normalised (``foo_bar`` and ``foo-bar`` are the same
    option).  Values are read and written as attributes or items; unknown
    names raise :class:`AttributeError`.
    """

    _registry: dict[str, _Entry]
    _after_parse: list[Callable[[], None]]

    def __init__(self) -> None:
        object.__setattr__(self, "_registry", {})
        object.__setattr__(self, "_after_parse", [])
        self._registry["help"] = _Entry(
            "help", bool, None, "show this help information", None, False, "", "", self._on_help
        )

    def _entry(self, name: str) -> _Entry:
        registry: dict[str, _Entry] = self.__dict__.get("_registry", {})
        entry = registry.get(_key(name))
        if entry is None:
            raise AttributeError(f"Unrecognized option {_key(name)!r}")
        return entry

    # -- reading and writing values -----------------------------------------------

    def __getattr__(self, name: str) -> Any:
        return self._entry(name).get()

    def __setattr__(self, name: str, value: Any) -> None:
        self._entry(name).accept(value)

    def __getitem__(self, name: str) -> Any:
        return self._entry(name).get()

    def __setitem__(self, name: str, value: Any) -> None:
        self._entry(name).accept(value)

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and _key(name) in self._registry

    def __iter__(self) -> Iterator[str]:
        return iter([entry.name for entry in self._registry.values()])

    def items(self) -> Iterable[tuple[str, Any]]:
        """Every option as a ``(name, value)`` pair, in definition order."""
        return [(entry.name, entry.get()) for entry in self._registry.values()]

    def as_dict(self) -> dict[str, Any]:
        """A plain ``dict`` from every option name to its current value."""
        return dict(self.items())

    def groups(self) -> set[str]:
        """The group names in use (by default, where each option was defined)."""
        return {entry.group for entry in self._registry.values()}

    def group_dict(self, group: str) -> dict[str, Any]:
        """Map each option of ``group`` to its value (all options when ``group`` is empty).

        For example, to pass every option defined under the ``"web"`` group as
        settings::

            web_settings = options.group_dict("web")
            app = Application(routes, **web_settings)
        """
        return {
            entry.name: entry.get()
            for entry in self._registry.values()
            if not group or entry.group == group
        }

    # -- declaring ------------------------------------------------------------------

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
            by default the file that called ``define`` (for options squall
            itself defines, the public module, such as ``squall.log``).
        :arg callback: receives the value each time parsing (or assignment) sets it.
        :raises Error: if an option of that (normalised) name already exists;
            the message names where it was defined first.
        """
        key = _key(name)
        taken = self._registry.get(key)
        if taken is not None:
            raise Error(f"Option {key!r} already defined in {taken.origin}")
        if type is None:
            type = str if multiple or default is None else default.__class__
        if multiple and default is None:
            default = []
        origin = _definition_site()
        self._registry[key] = _Entry(
            name, type, default, help, metavar, multiple, origin, group or origin, callback
        )

    # -- parsing --------------------------------------------------------------------

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
        argv = sys.argv if args is None else args
        rest: list[str] = []
        for position in range(1, len(argv)):
            arg = argv[position]
            if arg[:1] != "-" or arg == "--":
                # A plain argument is kept; the "--" separator itself is dropped.
                rest = list(argv[position + 1 if arg == "--" else position :])
                break
            name, has_value, text = arg.lstrip("-").partition("=")
            entry = self._registry.get(_key(name))
            if entry is None:
                self.print_help()
                raise Error(f"Unrecognized command line option: {_key(name)!r}")
            if has_value:
                entry.from_text(text)
            elif entry.kind is bool:
                entry.store([True] if entry.multiple else True)
            else:
                raise Error(f"Option {_key(name)!r} requires a value")
        if final:
            self.run_parse_callbacks()
        return rest

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
        with open(path, "rb") as stream:
            code = compile(stream.read(), path, "exec")
        scope: dict[str, Any] = {"__file__": os.path.abspath(path)}
        exec(code, scope)
        for name, value in scope.items():
            entry = self._registry.get(_key(name))
            if entry is None:
                continue
            if isinstance(value, str) and (entry.multiple or entry.kind is not str):
                entry.from_text(value)
            elif entry.multiple and not isinstance(value, list):
                raise Error(
                    f"Option {entry.name!r} is required to be a list of "
                    f"{entry.kind_name()} or a comma-separated string"
                )
            else:
                entry.accept(value)
        if final:
            self.run_parse_callbacks()

    # -- help and callbacks -----------------------------------------------------------

    def print_help(self, file: TextIO | None = None) -> None:
        """Write a usage summary of every option, one section per group, to ``file`` or stderr."""
        sections: dict[str, list[_Entry]] = {}
        for entry in self._registry.values():
            sections.setdefault(entry.group, []).append(entry)
        program = sys.argv[0] if sys.argv else ""
        lines = [f"Usage: {program} [OPTIONS]", "", "Options:", ""]
        for group in sorted(sections):
            if group:
                lines += ["", f"{os.path.normpath(group)} options:", ""]
            for entry in sorted(sections[group], key=attrgetter("name")):
                lines += entry.help_lines()
        lines.append("")
        print("\n".join(lines), file=sys.stderr if file is None else file)

    def _on_help(self, value: bool) -> None:
        if value:
            self.print_help()
            sys.exit(0)

    def add_parse_callback(self, callback: Callable[[], None]) -> None:
        """Register ``callback`` to be invoked after each final (``final=True``) parse."""
        self._after_parse.append(callback)

    def run_parse_callbacks(self) -> None:
        """Invoke the registered parse callbacks, oldest first."""
        for callback in tuple(self._after_parse):
            callback()

    def mockable(self) -> _Mockable:
        """An object for :func:`unittest.mock.patch.object` that sets options and restores them.

        ``mock.patch.object(options, "port", 8888)`` does not work on the
        parser itself (it has no real attributes); patch
        ``options.mockable()`` instead.
        """
        return _Mockable(self)


class _Mockable:
    """Stand-in for an :class:`OptionParser` that :mod:`unittest.mock` can patch.

    Setting an attribute sets the option and remembers its old value;
    deleting the attribute (which is how ``mock.patch`` undoes itself) puts
    the old value back.
    """

    def __init__(self, parser: OptionParser) -> None:
        object.__setattr__(self, "_parser", parser)
        object.__setattr__(self, "_saved", {})

    _parser: OptionParser
    _saved: dict[str, Any]

    def __getattr__(self, name: str) -> Any:
        return getattr(self._parser, name)

    def __setattr__(self, name: str, value: Any) -> None:
        if name in self._saved:
            raise AssertionError(f"option {name!r} is already patched through this object")
        self._saved[name] = getattr(self._parser, name)
        setattr(self._parser, name, value)

    def __delattr__(self, name: str) -> None:
        setattr(self._parser, name, self._saved.pop(name))
