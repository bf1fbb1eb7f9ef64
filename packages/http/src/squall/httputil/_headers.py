"""HTTPHeaders: the case-insensitive, multi-valued mapping of header fields.

Storage is two plain dicts keyed by the canonical ``Http-Header-Case`` name:
``_joined`` holds every field's value (repeated fields joined with ``","``, the
form that ``headers[name]`` returns) and ``_lists`` holds the separate values,
only for names that occur more than once. A typical request has no repeated
field, so building one costs a single dict; the HTTP/1 codec fills both dicts
directly through :func:`_headers_from_dicts`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping, MutableMapping
from typing import Any

from ._errors import HTTPInputError
from ._mypyc import mypyc_attr

__all__ = ["HTTPHeaders"]

# RFC 9110 section 5.6.2: token = 1*tchar.
_TCHAR = r"!#$%&'*+.^_`|~0-9A-Za-z-"
_TOKEN_RE = re.compile(f"[{_TCHAR}]+")
# A field value holds visible characters, SP, HTAB and obs-text (any non-ASCII
# character once decoded); no other controls.
_FIELD_CHARS = r"\t\x20-\x7e\x80-\U0010ffff"
_BAD_VALUE_RE = re.compile(f"[^{_FIELD_CHARS}]")

_canonical_names: dict[str, str] = {}
_CACHE_LIMIT = 4096


def _canonical(name: str) -> str:
    """``content-TYPE`` -> ``Content-Type``: capitalise each dash-separated word."""
    known = _canonical_names.get(name)
    if known is not None:
        return known
    words = name.split("-")
    made = "-".join([word[:1].upper() + word[1:].lower() for word in words])
    if len(_canonical_names) < _CACHE_LIMIT:
        _canonical_names[name] = made
    return made


# Subclassed in Python (squall.websocket's, users') when this module is compiled.
@mypyc_attr(allow_interpreted_subclasses=True)
class HTTPHeaders(MutableMapping[str, str]):
    """A dict of header fields whose keys ignore case and may repeat.

    Keys come back in ``Http-Header-Case``. ``headers[name]`` gives all values of
    a repeated field joined with a comma; :meth:`add` appends another value and
    :meth:`get_list` returns them one by one, in order. Assigning with
    ``headers[name] = value`` replaces every earlier value. Iteration follows
    the order in which names first appeared.

    >>> h = HTTPHeaders({"content-type": "text/html"})
    >>> list(h.keys())
    ['Content-Type']
    >>> h.add("Set-Cookie", "A=B")
    >>> h.add("Set-Cookie", "C=D")
    >>> h["set-cookie"]
    'A=B,C=D'
    >>> h.get_list("set-cookie")
    ['A=B', 'C=D']
    """

    __slots__ = ("_joined", "_last", "_lists")

    def __init__(self, *args: Any, **kwargs: str) -> None:
        self._joined: dict[str, str] = {}
        self._lists: dict[str, list[str]] = {}
        self._last: str | None = None
        if len(args) == 1 and not kwargs:
            given = args[0]
            if type(given) is dict:
                # The common case (a response's fields), without the generic
                # MutableMapping.update and its call per item.
                joined = self._joined
                known = _canonical_names.get
                key = None
                for name, value in given.items():
                    key = known(name) or _canonical(name)
                    joined[key] = value
                self._last = key
                return
            if isinstance(given, HTTPHeaders):
                for name, value in given.get_all():
                    self.add(name, value)
                return
        if args or kwargs:
            self.update(*args, **kwargs)

    # -- the multi-value interface -------------------------------------------

    def add(self, name: str, value: str) -> None:
        """Add one more value for ``name``, keeping the ones already there."""
        if not isinstance(value, str):
            raise TypeError(f"header value must be str, not {type(value).__name__}")
        key = _canonical_names.get(name) or _canonical(name)
        self._last = key
        earlier = self._joined.get(key)
        if earlier is None:
            self._joined[key] = value
            return
        self._joined[key] = f"{earlier},{value}"
        values = self._lists.get(key)
        if values is None:
            self._lists[key] = [earlier, value]
        else:
            values.append(value)

    def get_list(self, name: str) -> list[str]:
        """Every value of ``name`` as a new list (empty when the field is absent)."""
        key = _canonical(name)
        values = self._lists.get(key)
        if values is not None:
            return values[:]
        value = self._joined.get(key)
        return [] if value is None else [value]

    def get_all(self) -> Iterable[tuple[str, str]]:
        """Yield ``(name, value)`` pairs, a repeated field once per value."""
        lists = self._lists
        for key, value in self._joined.items():
            values = lists.get(key) if lists else None
            if values is None:
                yield key, value
            else:
                for one in values:
                    yield key, one

    def parse_line(self, line: str) -> None:
        """Add the field on one header line (a trailing CRLF or LF is ignored).

        A line that starts with a space or tab continues the previous field
        (obs-fold, RFC 9112 section 5.2): its text is appended after one space.
        Raises :class:`HTTPInputError` for a line without a colon, a name that
        is not a token (whitespace before the colon included), control
        characters in the value, or a continuation with nothing to continue.
        """
        if line.endswith("\n"):
            line = line[:-2] if line.endswith("\r\n") else line[:-1]
        if line[:1] in (" ", "\t"):
            self._continue(line)
            return
        name, colon, value = line.partition(":")
        if not colon:
            raise HTTPInputError(f"header line without a colon: {line!r}")
        if _TOKEN_RE.fullmatch(name) is None:
            raise HTTPInputError(f"header name is not a token: {name!r}")
        value = value.strip(" \t")
        if _BAD_VALUE_RE.search(value) is not None:
            raise HTTPInputError(f"control character in the value of {name!r}")
        self.add(name, value)

    def _continue(self, line: str) -> None:
        key = self._last
        if key is None:
            raise HTTPInputError("continuation line before any header field")
        extra = line.strip(" \t")
        if _BAD_VALUE_RE.search(extra) is not None:
            raise HTTPInputError(f"control character in a continuation of {key!r}")
        if not extra:
            return
        self._joined[key] = f"{self._joined[key]} {extra}"
        values = self._lists.get(key)
        if values is not None:
            values[-1] = f"{values[-1]} {extra}"

    @classmethod
    def parse(cls, headers: str) -> HTTPHeaders:
        """Build headers from the text of a header section (CRLF or LF line ends).

        >>> h = HTTPHeaders.parse("Content-Type: text/html\\r\\nContent-Length: 42\\r\\n")
        >>> sorted(h.items())
        [('Content-Length', '42'), ('Content-Type', 'text/html')]
        """
        made = cls()
        for line in headers.split("\n"):
            if line.endswith("\r"):
                line = line[:-1]
            if line:
                made.parse_line(line)
        return made

    # -- the mapping interface ------------------------------------------------

    # The mapping methods look the name up in the cache themselves: a call
    # of _canonical only for a name never seen before.

    def __getitem__(self, name: str) -> str:
        return self._joined[_canonical_names.get(name) or _canonical(name)]

    def __setitem__(self, name: str, value: str) -> None:
        key = _canonical_names.get(name) or _canonical(name)
        self._joined[key] = value
        if self._lists:
            self._lists.pop(key, None)
        self._last = key

    def __delitem__(self, name: str) -> None:
        key = _canonical_names.get(name) or _canonical(name)
        del self._joined[key]
        if self._lists:
            self._lists.pop(key, None)
        if self._last == key:
            self._last = None

    def __contains__(self, name: object) -> bool:
        return (
            isinstance(name, str)
            and (_canonical_names.get(name) or _canonical(name)) in self._joined
        )

    def get(self, name: str, default: Any = None) -> Any:
        """The (comma-joined) value of ``name``, or ``default`` when absent."""
        return self._joined.get(_canonical_names.get(name) or _canonical(name), default)

    def __len__(self) -> int:
        return len(self._joined)

    def __iter__(self) -> Iterator[str]:
        return iter(self._joined)

    def copy(self) -> HTTPHeaders:
        """An independent copy (repeated values included)."""
        twin = HTTPHeaders.__new__(type(self))
        twin._joined = self._joined.copy()
        twin._lists = {key: values[:] for key, values in self._lists.items()}
        twin._last = None
        return twin

    def __copy__(self) -> HTTPHeaders:
        return self.copy()

    def __eq__(self, other: object) -> bool:
        if isinstance(other, HTTPHeaders):
            return self._joined == other._joined
        if isinstance(other, Mapping):
            return dict(self._joined) == dict(other.items())
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]

    def __str__(self) -> str:
        return "".join([f"{name}: {value}\n" for name, value in self.get_all()])

    def __repr__(self) -> str:
        return f"{type(self).__name__}({list(self.get_all())!r})"


def _headers_from_dicts(joined: dict[str, str], lists: dict[str, list[str]]) -> HTTPHeaders:
    """Wrap two ready dicts (keys already canonical) without copying: the codec's entry."""
    made = HTTPHeaders.__new__(HTTPHeaders)
    made._joined = joined
    made._lists = lists
    made._last = None
    return made
