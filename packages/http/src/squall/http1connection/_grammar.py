"""The HTTP/1.1 grammar (RFC 9110, RFC 9112) as named, precompiled patterns.

Each pattern sits next to the rule it encodes. Patterns over a decoded head
work on ``str`` (the head is decoded as latin-1 once, so one character is one
byte); patterns over framing lines work on ``bytes``.
"""

from __future__ import annotations

import re

from squall.httputil._headers import _FIELD_CHARS, _TCHAR

__all__: list[str] = []

# tchar / token (RFC 9110 section 5.6.2).
TOKEN = re.compile(f"[{_TCHAR}]+")

# The end of a head: an empty line. A bare LF may end a head line (RFC 9112
# section 2.2), so the empty line is LF, optional CR, LF.
HEAD_END = re.compile(rb"\n\r?\n")

# request-line = method SP request-target SP HTTP-version (RFC 9112 section 3);
# the target may hold no whitespace or control character; only HTTP/1.0 and
# HTTP/1.1 are spoken here.
REQUEST_LINE = re.compile(f"([{_TCHAR}]+) ([^\\x00-\\x20\\x7f]+) (HTTP/1\\.[01])")
# Same shape with any HTTP-version: tells "505 unsupported version" from "400".
REQUEST_LINE_OTHER_VERSION = re.compile(f"[{_TCHAR}]+ [^\\x00-\\x20\\x7f]+ HTTP/[0-9]\\.[0-9]")

# status-line = HTTP-version SP status-code SP [ reason-phrase ] (RFC 9112
# section 4); the SP before an empty reason is tolerated.
STATUS_LINE = re.compile(f"(HTTP/1\\.[01]) ([0-9]{{3}})(?: ([{_FIELD_CHARS}]*))?")

# field-line = field-name ":" OWS field-value OWS, one per line, the line ending
# in CRLF or a bare LF. Lines that do not match at all (bad name, space before
# the colon, controls in the value, obs-fold) make the match count fall short
# and send the block to the slow path. The value group is greedy (no
# backtracking); trailing OWS it swallowed is stripped by the caller.
FIELD_LINE = re.compile(f"^([{_TCHAR}]+):[ \\t]*([{_FIELD_CHARS}]*)\\r?\\n", re.MULTILINE)
FIELD_VALUE_BAD = re.compile(f"[^{_FIELD_CHARS}]")

# Content-Length = 1*DIGIT; at most 18 digits, so it always fits in 63 bits.
CONTENT_LENGTH = re.compile(r"[0-9]{1,18}")

# chunk-size = 1*HEXDIG, bounded to 16 digits (RFC 9112 section 7.1); after it
# optional chunk extensions, which are ignored but may hold no control.
CHUNK_SIZE = re.compile(rb"([0-9A-Fa-f]{1,16})[ \t]*(?:;[\t\x20-\x7e\x80-\xff]*)?")
