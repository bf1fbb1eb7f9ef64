"""From option text to typed values: booleans, dates, durations, lists and ranges.

Every failure surfaces as :class:`Error` (the only exception name users see);
the instance raised for a bad value is additionally a :class:`ValueError`.
"""

from __future__ import annotations

import datetime
import re
from collections.abc import Callable
from typing import Any, NoReturn

__all__ = ["Error", "convert", "parse_bool", "parse_datetime", "parse_timedelta"]


class Error(Exception):
    """Raised for a bad option definition, command line, config file or value."""


class _ValueProblem(Error, ValueError):
    # What a value that will not convert raises: an ``Error`` as documented, and a
    # ``ValueError`` as code written against ``int("x")`` expects.  It presents
    # itself everywhere (tracebacks, reprs, pickles) as ``squall.options.Error``.
    def __reduce__(self) -> tuple[Callable[..., _ValueProblem], tuple[Any, ...]]:
        return _value_problem, self.args


_ValueProblem.__name__ = _ValueProblem.__qualname__ = "Error"
_ValueProblem.__module__ = "squall.options"


def _value_problem(*args: Any) -> _ValueProblem:
    """Rebuild an unpickled bad-value error (pickle cannot find the class by its name)."""
    return _ValueProblem(*args)


def _reject(message: str) -> NoReturn:
    raise _ValueProblem(message)


# Tried in order; the first that fits wins.
_WHEN_LAYOUTS = (
    "%Y-%m-%d %H:%M:%S",
    "%Y-%m-%d %H:%M",
    "%Y-%m-%dT%H:%M:%S",
    "%Y-%m-%dT%H:%M",
    "%Y-%m-%d %H:%M:%S.%f",
    "%Y-%m-%dT%H:%M:%S.%f",
    "%Y%m%d %H:%M:%S",
    "%Y%m%d %H:%M",
    "%Y-%m-%d",
    "%Y%m%d",
    "%H:%M:%S",
    "%H:%M",
    "%a %b %d %H:%M:%S %Y",
)


def parse_datetime(value: str) -> datetime.datetime:
    """Read a date, a time of day or both.

    Dates are ``YYYY-MM-DD`` or ``YYYYMMDD``, optionally followed (after a
    space, or ``T`` for the dashed form) by ``HH:MM``, ``HH:MM:SS`` or
    ``HH:MM:SS.ffffff``; a bare ``HH:MM[:SS]`` and :func:`time.ctime` output
    are accepted too.

    :raises Error: when no layout fits.
    """
    text = value.strip()
    for layout in _WHEN_LAYOUTS:
        try:
            return datetime.datetime.strptime(text, layout)
        except ValueError:
            pass
    _reject(f"Unrecognized date/time format: {value!r}")


# Each spelling of a unit, mapped to the timedelta keyword it feeds.
_UNIT_KEYWORD = {
    spelling: keyword
    for keyword, spellings in (
        ("microseconds", "us usec usecs microsecond microseconds"),
        ("milliseconds", "ms msec msecs millisecond milliseconds"),
        ("seconds", "s sec secs second seconds"),
        ("minutes", "m min mins minute minutes"),
        ("hours", "h hr hrs hour hours"),
        ("days", "d day days"),
        ("weeks", "w wk wks week weeks"),
    )
    for spelling in spellings.split()
}
_UNIT_KEYWORD[""] = "seconds"

_AMOUNT = re.compile(r"\s*([-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)\s*([a-zA-Z]*)\s*,?")


def parse_timedelta(value: str) -> datetime.timedelta:
    """Read a duration made of amounts with units, e.g. ``"1h 30m"``, ``"2.5 days"``.

    A bare number is seconds.  Units: ``us``, ``ms``, ``s``, ``m``/``min``,
    ``h``/``hr``, ``d``, ``w`` and their spelt-out singular and plural names.
    Amounts may be separated by spaces, commas or nothing at all.

    :raises Error: for anything else (including an empty string).
    """
    end = len(value)
    pos = 0
    total = datetime.timedelta()
    while pos < end and not value[pos:].isspace():
        found = _AMOUNT.match(value, pos)
        if found is None:
            _reject(f"Unrecognized timedelta format: {value!r}")
        keyword = _UNIT_KEYWORD.get(found[2].lower())
        if keyword is None:
            _reject(f"Unrecognized timedelta unit {found[2]!r} in {value!r}")
        total += datetime.timedelta(**{keyword: float(found[1])})
        pos = found.end()
    if pos == 0:
        _reject(f"Unrecognized timedelta format: {value!r}")
    return total


def parse_bool(value: str) -> bool:
    """Any text is true except ``false``, ``f`` and ``0`` in any letter case."""
    return value.lower() not in {"false", "f", "0"}


_SPECIAL: dict[Any, Callable[[str], Any]] = {
    datetime.datetime: parse_datetime,
    datetime.timedelta: parse_timedelta,
    bool: parse_bool,
}


def convert(type_: Any, name: str, value: str) -> Any:
    """Turn one piece of option text into a value of ``type_`` for option ``name``.

    :raises Error: (which is then also a :class:`ValueError`) when it does not convert.
    """
    if type_ is str:
        return value
    special = _SPECIAL.get(type_)
    if special is not None:
        return special(value)
    try:
        return type_(value)
    except (TypeError, ValueError) as exc:
        kind = getattr(type_, "__name__", type_)
        raise _ValueProblem(f"Option {name!r}: {value!r} is not a valid {kind} ({exc})") from exc
