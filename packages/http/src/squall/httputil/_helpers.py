"""Small HTTP helpers: URLs, dates, host:port, cookies, credentials, ranges, parameters."""

from __future__ import annotations

import calendar
import datetime
import email.utils
import re
import time
from collections.abc import Iterable, Sequence
from http.client import responses  # the reason phrase of each status code
from typing import AnyStr
from urllib.parse import parse_qsl, unquote, urlencode, urlsplit, urlunsplit

from squall.escape import utf8

__all__ = [
    "encode_username_password",
    "format_timestamp",
    "parse_cookie",
    "qs_to_qsl",
    "responses",
    "split_host_and_port",
    "url_concat",
]


def url_concat(
    url: str,
    args: dict[str, str] | list[tuple[str, str]] | tuple[tuple[str, str], ...] | None,
) -> str:
    """Append query arguments to ``url``, after any query it already has.

    ``args`` is a dict, or a list or tuple of ``(name, value)`` pairs (a name
    may repeat); ``None`` returns ``url`` unchanged. The fragment is kept.

    >>> url_concat("http://example.com/foo?a=b", dict(c="d"))
    'http://example.com/foo?a=b&c=d'
    >>> url_concat("http://example.com/foo", [("c", "d"), ("c", "d2")])
    'http://example.com/foo?c=d&c=d2'
    """
    if args is None:
        return url
    if isinstance(args, dict):
        extra: Sequence[tuple[str, str]] = list(args.items())
    elif isinstance(args, (list, tuple)):
        extra = args
    else:
        raise TypeError(f"url_concat() takes a dict, list or tuple of arguments, not {type(args)}")
    scheme, netloc, path, query, fragment = urlsplit(url)
    pairs = parse_qsl(query, keep_blank_values=True)
    pairs.extend(extra)
    return urlunsplit((scheme, netloc, path, urlencode(pairs), fragment))


def format_timestamp(
    ts: int | float | tuple[int, ...] | time.struct_time | datetime.datetime,
) -> str:
    """An HTTP date (``"Sun, 27 Jan 2013 18:43:20 GMT"``) for a moment in time.

    ``ts`` is a POSIX timestamp, a UTC time tuple or ``struct_time`` (as from
    :func:`time.gmtime`), or a :class:`~datetime.datetime` (naive means UTC).
    """
    if isinstance(ts, datetime.datetime):
        if ts.tzinfo is None:
            ts = ts.replace(tzinfo=datetime.timezone.utc)
        seconds: float = ts.timestamp()
    elif isinstance(ts, (int, float)) and not isinstance(ts, bool):
        seconds = ts
    elif isinstance(ts, (tuple, time.struct_time)):
        seconds = calendar.timegm(ts)
    else:
        raise TypeError(f"cannot format {ts!r} as an HTTP date")
    return email.utils.formatdate(seconds, usegmt=True)


# host ":" port, where the port is all digits: everything before the last such
# colon is the host, brackets of an IPv6 literal included.
_HOST_PORT = re.compile(r"(.+):([0-9]+)")


def split_host_and_port(netloc: str) -> tuple[str, int | None]:
    """``"example.com:8080"`` -> ``("example.com", 8080)``; no port gives ``None``."""
    found = _HOST_PORT.fullmatch(netloc)
    if found is None:
        return netloc, None
    return found.group(1), int(found.group(2))


def qs_to_qsl(qs: dict[str, list[AnyStr]]) -> Iterable[tuple[str, AnyStr]]:
    """Flatten ``{"a": ["1", "2"]}`` (as from ``parse_qs``) into ``("a", "1"), ("a", "2")``."""
    for name, values in qs.items():
        for value in values:
            yield name, value


_COOKIE_ESCAPE = re.compile(r"\\(?:([0-3][0-7][0-7])|(.))", re.DOTALL)


def _cookie_escape_value(found: re.Match[str]) -> str:
    octal = found.group(1)
    return chr(int(octal, 8)) if octal else found.group(2)


def _unquote_cookie(value: str) -> str:
    """Undo the double quotes (and backslash escapes inside them) of a cookie value."""
    if len(value) < 2 or value[0] != '"' or value[-1] != '"':
        return value
    inner = value[1:-1]
    if "\\" not in inner:
        return inner
    return _COOKIE_ESCAPE.sub(_cookie_escape_value, inner)


def parse_cookie(cookie: str) -> dict[str, str]:
    """Parse a ``Cookie`` request header the way browsers send it.

    Lenient on purpose (it does not follow the strict RFC grammar): pairs are
    split on ``;``, a part without ``=`` counts as a value with an empty name,
    and quoted values are unquoted. Later pairs win over earlier ones.
    """
    found: dict[str, str] = {}
    for part in cookie.split(";"):
        name, eq, value = part.partition("=")
        if not eq:
            name, value = "", name
        name = name.strip()
        value = value.strip()
        if name or value:
            found[name] = _unquote_cookie(value)
    return found


def encode_username_password(username: str | bytes, password: str | bytes) -> bytes:
    """``username:password`` as UTF-8 bytes, ready for HTTP basic authentication."""
    return utf8(username) + b":" + utf8(password)


def _split_parameters(line: str) -> list[str]:
    """Split a header value on ``;`` outside quoted strings."""
    pieces: list[str] = []
    start = 0
    quoted = False
    escaped = False
    for index, char in enumerate(line):
        if escaped:
            escaped = False
        elif char == "\\" and quoted:
            escaped = True
        elif char == '"':
            quoted = not quoted
        elif char == ";" and not quoted:
            pieces.append(line[start:index])
            start = index + 1
    pieces.append(line[start:])
    return pieces


_QUOTED_PAIR = re.compile(r"\\(.)", re.DOTALL)


def _parse_header(line: str) -> tuple[str, dict[str, str]]:
    """Split ``form-data; name="a"; filename*=UTF-8''%C3%A9`` into its value and parameters.

    Parameter names come back lower-cased, quoted values unquoted, and RFC 2231
    extended values (``name*=charset'lang'pct-encoded``) decoded under the
    plain name.
    """
    value, *params = _split_parameters(line)
    found: dict[str, str] = {}
    for param in params:
        name, eq, text = param.partition("=")
        if not eq:
            continue
        name = name.strip().lower()
        text = text.strip()
        if len(text) >= 2 and text[0] == text[-1] == '"':
            text = _QUOTED_PAIR.sub(r"\1", text[1:-1])
        if name.endswith("*"):
            name = name[:-1]
            charset, _, rest = text.partition("'")
            _, _, encoded = rest.partition("'")
            try:
                text = unquote(encoded, encoding=charset or "latin-1", errors="replace")
            except LookupError:
                text = unquote(encoded, encoding="latin-1")
        found[name] = text
    return value.strip(), found


def _encode_header(value: str, params: dict[str, str | None]) -> str:
    """The inverse of :func:`_parse_header`: ``value; k="v"; flag``."""
    parts = [value]
    for name, text in params.items():
        if text is None:
            parts.append(name)
        else:
            escaped = text.replace("\\", "\\\\").replace('"', '\\"')
            parts.append(f'{name}="{escaped}"')
    return "; ".join(parts)


_RANGE = re.compile(r"bytes=([0-9]*)-([0-9]*)")


def _parse_request_range(range_header: str) -> tuple[int | None, int | None] | None:
    """A single ``Range: bytes=a-b`` as a Python slice ``(start, stop)``; None if unusable.

    ``bytes=1-2`` -> ``(1, 3)``; ``bytes=-5`` (the last five) -> ``(-5, None)``;
    ``bytes=5-`` -> ``(5, None)``. Several ranges are not supported (None).
    """
    found = _RANGE.fullmatch(range_header.strip())
    if found is None:
        return None
    first, last = found.groups()
    if not first:
        if not last:
            return None
        suffix = int(last)
        return (-suffix, None) if suffix else (None, 0)
    start = int(first)
    return (start, int(last) + 1 if last else None)


def _get_content_range(start: int | None, end: int | None, total: int) -> str:
    """The ``Content-Range`` value for the slice ``[start:end]`` of ``total`` bytes."""
    first = start or 0
    last = (end or total) - 1
    return f"bytes {first}-{last}/{total}"
