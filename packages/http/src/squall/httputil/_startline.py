"""The first line of a message: request line and status line, as named tuples."""

from __future__ import annotations

import re
from typing import NamedTuple

from ._errors import HTTPInputError

__all__ = [
    "RequestStartLine",
    "ResponseStartLine",
    "parse_request_start_line",
    "parse_response_start_line",
]


class RequestStartLine(NamedTuple):
    """``method``, ``path`` (the request target) and ``version`` of a request.

    Nothing here assumes HTTP/1: ``RequestStartLine("GET", "/", "HTTP/2.0")`` is
    what an HTTP/2 driver hands to the same delegates.
    """

    method: str
    path: str
    version: str


class ResponseStartLine(NamedTuple):
    """``version``, status ``code`` (an int) and ``reason`` phrase of a response."""

    version: str
    code: int
    reason: str


# method SP request-target SP HTTP-version (RFC 9112 section 3), method a token,
# the target free of whitespace and controls, the version HTTP/1.x.
_REQUEST_LINE = re.compile(r"([!#$%&'*+.^_`|~0-9A-Za-z-]+) ([^\x00-\x20\x7f]+) (HTTP/1\.[0-9])")
# status-line = HTTP-version SP 3DIGIT SP [ reason-phrase ]; a missing SP before
# an empty reason is tolerated, as most clients do.
_STATUS_LINE = re.compile(r"(HTTP/[0-9]\.[0-9]) ([0-9]{3})(?: ([^\r\n]*))?")


def parse_request_start_line(line: str) -> RequestStartLine:
    """Split ``"GET /path HTTP/1.1"`` into a :class:`RequestStartLine`.

    Raises :class:`HTTPInputError` unless the line is a token method, a target
    without whitespace or controls and an ``HTTP/1.x`` version, separated by
    single spaces.
    """
    found = _REQUEST_LINE.fullmatch(line)
    if found is None:
        raise HTTPInputError(f"malformed request line {line!r}")
    return RequestStartLine(*found.groups())


def parse_response_start_line(line: str) -> ResponseStartLine:
    """Split ``"HTTP/1.1 200 OK"`` into a :class:`ResponseStartLine` (code as ``int``).

    Raises :class:`HTTPInputError` when the line is not a valid status line. An
    absent reason phrase gives ``""``.
    """
    found = _STATUS_LINE.fullmatch(line)
    if found is None:
        raise HTTPInputError(f"malformed status line {line!r}")
    version, code, reason = found.groups()
    return ResponseStartLine(version, int(code), reason or "")
