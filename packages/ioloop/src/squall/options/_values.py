"""Turning option strings into typed values: bools, dates, durations, lists and ranges."""

from __future__ import annotations

import datetime
import re
from typing import Any

__all__ = ["Error", "parse_bool", "parse_datetime", "parse_timedelta"]


class Error(Exception):
    """Base error for bad option definitions, values and config files."""


class _BadValue(Error, ValueError):
    """A value that cannot be converted to its option's type.

    It is both an :class:`Error` (squall's documented error) and a
    :class:`ValueError` (what Tornado lets escape from ``int("x")``), so code
    written for either keeps working.
    """


_DATETIME_FORMATS = (
    "%a %b %d %H:%M:%S %Y",
    "%Y-%m-%d %H:%M:%S.%f",
    "%Y-%m-%d %H:%M:%S",
    "%Y-%m-%d %H:%M",
    "%Y-%m-%dT%H:%M:%S.%f",
    "%Y-%m-%dT%H:%M:%S",
    "%Y-%m-%dT%H:%M",
    "%Y%m%d %H:%M:%S",
    "%Y%m%d %H:%M",
    "%Y-%m-%d",
    "%Y%m%d",
    "%H:%M:%S",
    "%H:%M",
)


def parse_datetime(value: str) -> datetime.datetime:
    """Parse a date and/or time in one of the accepted formats.

    Accepts ``2020-01-02 03:04:05``, ``2020-01-02 03:04``, ``2020-01-02T03:04``,
    ``20200102 03:04:05``, ``2020-01-02``, ``20200102``, ``03:04:05``,
    ``03:04`` and ``ctime`` output (Tornado's formats), plus ISO ``T`` with
    seconds and fractional seconds.

    :raises Error: if no format matches.
    """
    text = value.strip()
    for fmt in _DATETIME_FORMATS:
        try:
            return datetime.datetime.strptime(text, fmt)
        except ValueError:
            continue
    raise _BadValue(f"Unrecognized date/time format: {value!r}")


_UNIT_SECONDS: dict[str, float] = {}
for _names, _seconds in (
    (("us", "usec", "usecs", "microsecond", "microseconds"), 1e-6),
    (("ms", "msec", "msecs", "millisecond", "milliseconds"), 1e-3),
    (("", "s", "sec", "secs", "second", "seconds"), 1.0),
    (("m", "min", "mins", "minute", "minutes"), 60.0),
    (("h", "hr", "hrs", "hour", "hours"), 3600.0),
    (("d", "day", "days"), 86400.0),
    (("w", "wk", "wks", "week", "weeks"), 7 * 86400.0),
):
    for _name in _names:
        _UNIT_SECONDS[_name] = _seconds

_NUMBER_UNIT = re.compile(r"\s*([-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)\s*([a-zA-Z]*)\s*,?")


def parse_timedelta(value: str) -> datetime.timedelta:
    """Parse a duration such as ``"1h 30m"``, ``"45"`` (seconds) or ``"2.5 days"``.

    Each part is a number and an optional unit: ``us``, ``ms``, ``s``/``sec``,
    ``m``/``min``, ``h``/``hr``, ``d``, ``w`` (singular and plural spelt-out
    names work too); parts may be separated by spaces or commas or nothing.

    :raises Error: on text that is not a sequence of number-and-unit parts.
    """
    text = value.strip()
    if not text:
        raise _BadValue(f"Unrecognized timedelta format: {value!r}")
    total = datetime.timedelta()
    pos = 0
    while pos < len(text):
        match = _NUMBER_UNIT.match(text, pos)
        if match is None or match.end() == pos:
            raise _BadValue(f"Unrecognized timedelta format: {value!r}")
        number, unit = match.group(1), match.group(2).lower()
        if unit not in _UNIT_SECONDS:
            raise _BadValue(f"Unrecognized timedelta unit {unit!r} in {value!r}")
        if unit in ("us", "usec", "usecs", "microsecond", "microseconds"):
            total += datetime.timedelta(microseconds=float(number))
        elif unit in ("ms", "msec", "msecs", "millisecond", "milliseconds"):
            total += datetime.timedelta(milliseconds=float(number))
        else:
            total += datetime.timedelta(seconds=float(number) * _UNIT_SECONDS[unit])
        pos = match.end()
    return total


def parse_bool(value: str) -> bool:
    """Parse a boolean like Tornado: false only for ``false``, ``0`` and ``f`` (any case)."""
    return value.lower() not in ("false", "0", "f")


def convert(type_: Any, name: str, value: str) -> Any:
    """Convert one string item to ``type_`` for option ``name``.

    :raises Error: (also a :class:`ValueError`) when conversion fails.
    """
    if type_ is datetime.datetime:
        return parse_datetime(value)
    if type_ is datetime.timedelta:
        return parse_timedelta(value)
    if type_ is bool:
        return parse_bool(value)
    if type_ is str:
        return value
    try:
        return type_(value)
    except (ValueError, TypeError) as exc:
        raise _BadValue(
            f"Option {name!r}: invalid {getattr(type_, '__name__', type_)} value {value!r} ({exc})"
        ) from exc
