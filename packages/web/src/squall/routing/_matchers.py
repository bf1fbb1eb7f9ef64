"""Matchers: the predicates a :class:`~squall.routing.Rule` tests a request with.

A matcher answers ``match(request)`` with ``None`` (not mine) or a dict of
keyword arguments for the rule's target, and may be able to build a URL back
from positional values with ``reverse(*args)``.
"""

from __future__ import annotations

import re
from typing import Any

from squall.escape import url_escape, url_unescape, utf8
from squall.httputil import HTTPServerRequest

__all__ = [
    "AnyMatches",
    "DefaultHostMatches",
    "HostMatches",
    "Matcher",
    "PathMatches",
    "_unquote_or_none",
]

# Characters that make a regex fragment something other than literal text.
_SPECIAL = frozenset("()[]{}?*+|^$.")


def _unescape_group(value: str | None) -> bytes | None:
    """Percent-decode one captured path segment to bytes; an unmatched group stays ``None``.

    ``+`` is left alone (it is a literal plus in a path); the result is bytes
    so that the consumer (a request handler) chooses the text encoding.
    """
    return None if value is None else url_unescape(value, encoding=None, plus=False)


#: Old private name, kept for callers that import it.
_unquote_or_none = _unescape_group


def _anchored(pattern: str | re.Pattern[str]) -> re.Pattern[str]:
    if isinstance(pattern, re.Pattern):
        return pattern
    return re.compile(pattern if pattern.endswith("$") else pattern + "$")


def _url_template(source: str) -> str | None:
    """Turn a path regex into a ``%s`` template, or ``None`` when it cannot be reversed.

    Reversible means: literal text (escapes allowed) around capture groups
    that do not nest; a leading ``^`` and trailing ``$`` are ignored.
    """
    text = source[1:] if source.startswith("^") else source
    if text.endswith("$") and not text.endswith("\\$"):
        text = text[:-1]
    out: list[str] = []
    pos, size = 0, len(text)
    while pos < size:
        char = text[pos]
        if char == "\\":
            if pos + 1 >= size or text[pos + 1].isalnum():
                return None  # a class such as \d, or a dangling backslash
            out.append(text[pos + 1])
            pos += 2
        elif char == "(":
            depth, pos = 1, pos + 1
            while pos < size and depth:
                if text[pos] == "\\":
                    pos += 1
                elif text[pos] == "(":
                    return None  # nested groups are beyond a plain template
                elif text[pos] == ")":
                    depth -= 1
                pos += 1
            if depth:
                return None
            out.append("%s")
        elif char in _SPECIAL:
            return None
        else:
            out.append("%%" if char == "%" else char)
            pos += 1
    return "".join(out)


class Matcher:
    """Base class: decides whether a request belongs to a rule."""

    def match(self, request: HTTPServerRequest) -> dict[str, Any] | None:
        """Return keyword arguments for the target when ``request`` matches, else ``None``."""
        raise NotImplementedError(f"{type(self).__name__} must implement match()")

    def reverse(self, *args: Any) -> str | None:
        """Build the URL this matcher accepts from ``args``; ``None`` when it cannot."""
        return None


class AnyMatches(Matcher):
    """Accepts every request."""

    def match(self, request: HTTPServerRequest) -> dict[str, Any] | None:
        return {}


class HostMatches(Matcher):
    """Accepts requests whose host name (no port) matches ``host_pattern``.

    A string pattern is anchored at both ends (``$`` is added when missing).
    """

    def __init__(self, host_pattern: str | re.Pattern[str]) -> None:
        self.host_pattern = _anchored(host_pattern)

    def match(self, request: HTTPServerRequest) -> dict[str, Any] | None:
        return {} if self.host_pattern.match(request.host_name) else None


class DefaultHostMatches(Matcher):
    """Accepts requests when ``application.default_host`` matches ``host_pattern``.

    Requests carrying ``X-Real-Ip`` (they came through a proxy) are refused,
    so the default host never answers for a proxied virtual host.
    """

    def __init__(self, application: Any, host_pattern: re.Pattern[str]) -> None:
        self.application = application
        self.host_pattern = host_pattern

    def match(self, request: HTTPServerRequest) -> dict[str, Any] | None:
        if "X-Real-Ip" in request.headers:
            return None
        return {} if self.host_pattern.match(self.application.default_host) else None


class PathMatches(Matcher):
    """Accepts requests whose path matches ``path_pattern`` (anchored at the end).

    Capture groups become the target's ``path_args`` (unnamed groups) or
    ``path_kwargs`` (when the pattern names any group, only the named ones),
    each percent-decoded to bytes (``None`` for a group that did not take part).
    """

    def __init__(self, path_pattern: str | re.Pattern[str]) -> None:
        self.regex = _anchored(path_pattern)
        self._path = _url_template(self.regex.pattern)
        self._group_count = self.regex.groups
        # A pattern that is plain text (no parentheses at all, no flags)
        # matches exactly that path, or that path and a newline (what "$"
        # also accepts): two string comparisons instead of running the regex.
        self._literal: tuple[str, str] | None = None
        source = self.regex.pattern
        if self._path is not None and "(" not in source and self.regex.flags == re.UNICODE:
            text = self._path.replace("%%", "%")
            self._literal = (text, text + "\n")

    def match(self, request: HTTPServerRequest) -> dict[str, Any] | None:
        literal = self._literal
        if literal is not None:
            return {} if request.path in literal else None
        found = self.regex.match(request.path)
        if found is None:
            return None
        if not self._group_count:
            return {}
        if self.regex.groupindex:
            named = found.groupdict()
            return {
                "path_args": [],
                "path_kwargs": {key: _unescape_group(val) for key, val in named.items()},
            }
        return {"path_args": [_unescape_group(val) for val in found.groups()], "path_kwargs": {}}

    def reverse(self, *args: Any) -> str | None:
        """Fill the pattern's groups with ``args``, percent-encoded (``/`` is kept as it is).

        :raises ValueError: the pattern is too complex to reverse, or ``args``
            does not supply exactly one value per group.
        """
        if self._path is None:
            raise ValueError(f"the URL pattern {self.regex.pattern!r} cannot be reversed")
        if len(args) != self._group_count:
            raise ValueError(
                f"{self.regex.pattern!r} takes {self._group_count} argument(s), got {len(args)}"
            )
        if not args:
            return self._path.replace("%%", "%")
        pieces = tuple(
            url_escape(utf8(a if isinstance(a, (str, bytes)) else str(a)), plus=False) for a in args
        )
        return self._path % pieces
