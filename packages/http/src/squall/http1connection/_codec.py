"""The HTTP/1.x codec: bytes in, events out (:class:`H1Reader`); messages in, bytes out (:class:`H1Writer`).

Neither class does any I/O. A driver feeds received bytes to
:meth:`H1Reader.feed` and pulls :class:`Head`, :class:`Data`,
:class:`EndOfMessage` or :data:`NEED_DATA` from :meth:`H1Reader.next_event`;
it asks :class:`H1Writer` for the bytes of a head, of each body piece and of
the end of a message. Feeding a whole buffer or one byte at a time gives the
same events (body pieces may be cut differently).

Policy (fixed, not configurable):

* Head lines end with CRLF; a bare LF is also accepted as a line end in the
  head (RFC 9112 section 2.2); a CR anywhere else in the head is a 400. Inside
  chunked framing (chunk-size lines, the CRLF after chunk data, trailers) only
  CRLF is accepted: a bare LF there is a 400 (request-smuggling hardening).
* Empty lines before a request line are skipped (RFC 9112 section 2.2).
* obs-fold continuation lines are unfolded: the value continues after one space.
* Field names are tokens; whitespace between name and colon is a 400. Values
  may hold no control character but HTAB (400); leading and trailing SP/HTAB
  are stripped.
* Content-Length is 1 to 18 ASCII digits. Repeated identical values (repeated
  fields or a comma list) count as one; different values are a 400.
  Content-Length together with Transfer-Encoding in a request is a 400.
* Transfer-Encoding in a request must end with ``chunked`` (else 400) and hold
  nothing else (else 501). In a response (RFC 9112 section 6.3) a final
  ``chunked`` frames the body; any other coding means "read until close".
* Chunk sizes are 1 to 16 hex digits; chunk extensions are ignored; trailer
  fields follow the header rules and arrive in :attr:`EndOfMessage.trailers`.
* Request targets: origin form (``/p?q``); absolute form with an http or https
  scheme, reported as its origin form with the Host field replaced by the
  target's authority (RFC 9112 section 3.2.2); ``*`` for OPTIONS only. Other
  schemes or forms are a 400; CONNECT is a 501.
* Request line: token method, one SP, target, one SP, ``HTTP/1.0`` or
  ``HTTP/1.1``. Another ``HTTP/d.d`` is a 505; anything else a 400.
* An HTTP/1.1 request without exactly one Host field is a 400.
* Limits (:class:`H1Limits`): a start line over ``max_start_line`` is a 414, a
  head over ``max_header_size`` a 431 (trailers count against the same
  limit), a body over ``max_body_size`` a 413.
* After an error the reader is dead: every later call raises again.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from http.client import responses
from typing import Any, cast
from urllib.parse import urlsplit

from squall.httputil._errors import HTTPOutputError
from squall.httputil._headers import (
    HTTPHeaders,
    _canonical,
    _canonical_names,
    _headers_from_dicts,
)
from squall.httputil._mypyc import mypyc_attr
from squall.httputil._startline import RequestStartLine, ResponseStartLine

from . import _grammar as g
from ._events import NEED_DATA, Data, EndOfMessage, H1ProtocolError, Head

__all__ = [
    "NEED_DATA",
    "Data",
    "EndOfMessage",
    "H1Limits",
    "H1ProtocolError",
    "H1Reader",
    "H1Writer",
    "Head",
]


@dataclass(frozen=True, slots=True)
class H1Limits:
    """Size limits a reader enforces (status code of the error in brackets).

    ``max_start_line``: request or status line (414); ``max_header_size``: the
    whole head, start line included, and separately the trailer section (431);
    ``max_body_size``: the body after de-chunking, ``None`` for no limit (413).
    """

    max_start_line: int = 8192
    max_header_size: int = 65536
    max_body_size: int | None = None


_DEFAULT_LIMITS = H1Limits()
_END = EndOfMessage(None)
_new_tuple = tuple.__new__
_EMPTY = b""

# Reader states.
_HEAD = 0
_LENGTH = 1
_CHUNK_SIZE = 2
_CHUNK_DATA = 3
_CHUNK_CRLF = 4
_TRAILERS = 5
_UNTIL_CLOSE = 6
_END_PENDING = 7
_DONE = 8
_DEAD = 9

# The longest chunk-size line we wait for (16 hex digits plus extensions).
_MAX_CHUNK_LINE = 4096


def _fail(status: int, reason: str) -> H1ProtocolError:
    return H1ProtocolError(status, reason)


def _tokens(value: str) -> list[str]:
    """A comma-separated list field, lower-cased, empty elements dropped."""
    value = value.lower()
    if "," not in value:
        value = value.strip(" \t")
        return [value] if value else []
    return [item for item in (part.strip(" \t") for part in value.split(",")) if item]


def _content_length(value: str) -> int:
    """Validate a Content-Length value (possibly a list of identical values)."""
    if g.CONTENT_LENGTH.fullmatch(value) is not None:
        return int(value)
    seen = {part.strip(" \t") for part in value.split(",")}
    if len(seen) != 1:
        raise _fail(400, f"conflicting Content-Length values {value!r}")
    (only,) = seen
    if g.CONTENT_LENGTH.fullmatch(only) is None:
        raise _fail(400, f"invalid Content-Length {value!r}")
    return int(only)


def _parse_fields(block: str, what: str) -> tuple[dict[str, str], dict[str, list[str]]]:
    """Field lines, then the empty line -> the two dicts behind :class:`HTTPHeaders`.

    Lines end in CRLF or LF (no bare CR is left at this point). The fast path is
    one regex pass; a block it does not cover entirely (obs-fold or an invalid
    line) is walked line by line to unfold or to name the error.
    """
    pairs = g.FIELD_LINE.findall(block)
    if len(pairs) == block.count("\n") - 1:
        if " \r\n" in block or "\t\r\n" in block or " \n" in block or "\t\n" in block:
            pairs = [(name, value.rstrip(" \t")) for name, value in pairs]
        lookup = _canonical_names.get
        joined = {lookup(name) or _canonical(name): value for name, value in pairs}
        if len(joined) == len(pairs):
            return joined, {}
    else:
        pairs = _walk_fields(block, what)
    joined = {}
    lists: dict[str, list[str]] = {}
    for name, value in pairs:
        key = _canonical(name)
        earlier = joined.get(key)
        if earlier is None:
            joined[key] = value
            continue
        joined[key] = f"{earlier},{value}"
        values = lists.get(key)
        if values is None:
            lists[key] = [earlier, value]
        else:
            values.append(value)
    return joined, lists


def _walk_fields(block: str, what: str) -> list[tuple[str, str]]:
    """Line-by-line field parsing: unfolds obs-fold, raises on the first bad line."""
    pairs: list[tuple[str, str]] = []
    for line in block.replace("\r\n", "\n").split("\n")[:-2]:
        if line[:1] in (" ", "\t"):
            if not pairs:
                raise _fail(400, f"{what} starts with a continuation line")
            extra = line.strip(" \t")
            if g.FIELD_VALUE_BAD.search(extra) is not None:
                raise _fail(400, f"control character in a {what} continuation line")
            if extra:
                name, value = pairs[-1]
                pairs[-1] = (name, f"{value} {extra}" if value else extra)
            continue
        name, colon, value = line.partition(":")
        if not colon:
            raise _fail(400, f"{what} line without a colon")
        if g.TOKEN.fullmatch(name) is None:
            if name.rstrip(" \t") != name:
                raise _fail(400, f"whitespace before the colon in {what} line {name!r}")
            raise _fail(400, f"invalid {what} name {name!r}")
        value = value.strip(" \t")
        if g.FIELD_VALUE_BAD.search(value) is not None:
            raise _fail(400, f"control character in the value of {name!r}")
        pairs.append((name, value))
    return pairs


# LlhttpReader (squall.http1connection._parsers) subclasses it in Python.
@mypyc_attr(allow_interpreted_subclasses=True)
class H1Reader:
    """Parses one side of an HTTP/1.x connection: requests (server) or responses (client).

    ``feed(data)`` appends received bytes (``b""`` means the peer closed);
    ``next_event()`` returns the next :class:`Head`, :class:`Data`,
    :class:`EndOfMessage`, or :data:`NEED_DATA` when more bytes are needed. After
    :class:`EndOfMessage` the reader waits for :meth:`start_next_message`.
    Violations raise :class:`H1ProtocolError` (its ``status`` is what a server
    answers). After EOF at a message boundary ``next_event`` keeps returning
    :data:`NEED_DATA`; EOF inside a message raises.

    Client side, a 1xx response other than 101 yields a :class:`Head` and the
    reader goes straight on to the next head of the same exchange; call
    :meth:`expect_response_to` before each response so HEAD answers are read
    without a body.
    """

    __slots__ = (
        "_body_seen",
        "_buf",
        "_client",
        "_continue",
        "_eof",
        "_keep_alive",
        "_limits",
        "_method",
        "_pos",
        "_remaining",
        "_scan",
        "_state",
    )

    def __init__(self, *, client: bool, limits: H1Limits = _DEFAULT_LIMITS) -> None:
        self._client = client
        self._limits = limits
        self._buf: bytes | bytearray = _EMPTY
        self._pos = 0
        self._scan = 0
        self._state = _HEAD
        self._remaining = 0
        self._body_seen = 0
        self._eof = False
        self._keep_alive = True
        self._continue = False
        self._method = "GET"

    # -- the driver's interface ------------------------------------------------

    def feed(self, data: bytes | bytearray | memoryview) -> None:
        """Append received bytes; ``b""`` marks the end of the stream."""
        if not data:
            self._eof = True
            return
        # Never keep (and later grow) the caller's buffer.
        chunk = data if type(data) is bytes else bytes(data)
        buf = self._buf
        pos = self._pos
        if pos >= len(buf):
            self._buf = chunk
            self._pos = 0
            self._scan = 0
        elif type(buf) is bytes:
            grown = bytearray(memoryview(buf)[pos:])
            grown += chunk
            self._buf = grown
            self._scan -= pos
            self._pos = 0
        else:
            buf += chunk

    def next_event(self) -> object:
        """The next event, or :data:`NEED_DATA`; raises :class:`H1ProtocolError`."""
        state = self._state
        if state == _HEAD:
            return self._read_head()
        if state == _LENGTH:
            return self._read_counted()
        if state == _END_PENDING:
            self._state = _DONE
            return _END
        if state == _DONE:
            return NEED_DATA
        if state == _UNTIL_CLOSE:
            return self._read_until_close()
        if state == _DEAD:
            raise _fail(400, "the reader failed earlier and cannot continue")
        return self._read_chunked()

    def expect_response_to(self, method: str) -> None:
        """Client side: the next response answers a ``method`` request (HEAD: no body)."""
        self._method = method

    def start_next_message(self) -> None:
        """After :class:`EndOfMessage` (on a kept-alive connection): read the next one."""
        if self._state != _DONE:
            raise RuntimeError("start_next_message() before the end of the current message")
        self._state = _HEAD
        self._continue = False
        self._body_seen = 0
        buf = self._buf
        if type(buf) is bytearray and self._pos:
            del buf[: self._pos]
            self._pos = 0
        self._scan = self._pos

    @property
    def keep_alive(self) -> bool:
        """Whether the connection may carry another message after the current one."""
        return self._keep_alive

    @property
    def expects_continue(self) -> bool:
        """Whether the current request carried ``Expect: 100-continue``."""
        return self._continue

    @property
    def buffered(self) -> bytes:
        """Bytes received but not parsed yet (after an upgrade: the new protocol's)."""
        return bytes(self._buf[self._pos :])

    @property
    def has_unread(self) -> bool:
        """Whether received bytes wait unparsed: :attr:`buffered` without the copy."""
        return self._pos < len(self._buf)

    # -- the head ----------------------------------------------------------------

    def _read_head(self) -> object:
        buf = self._buf
        pos = self._pos
        if pos < len(buf) and buf[pos] in (13, 10) and not self._client:
            pos = self._skip_blank_lines(buf, pos)
            if pos < 0:
                return self._head_needs_data(buf, self._pos)
        found = g.HEAD_END.search(buf, max(self._scan, pos))
        if found is None:
            return self._head_needs_data(buf, pos)
        end = found.end()
        limits = self._limits
        # Same order of checks as while the head is still arriving.
        if (
            end - pos > limits.max_start_line
            and buf.find(b"\n", pos, pos + limits.max_start_line + 2) < 0
        ):
            self._die(414 if not self._client else 400, "start line too long")
        if end - pos > limits.max_header_size:
            self._die(431, "head larger than max_header_size")
        self._pos = end
        return self._parse_head(buf[pos:end] if type(buf) is bytes else bytes(buf[pos:end]))

    def _parse_head(self, head: bytes) -> object:
        """One whole head (start line to empty line) -> :class:`Head`; sets the body state.

        The hook a reader with another tokeniser overrides; this one is the
        reference: it gives the verdict on any head the other one declines.
        """
        limits = self._limits
        text = head.decode("latin-1")
        start, _, block = text.partition("\n")
        if "\r" in text:
            if text.count("\r") != text.count("\r\n"):
                return self._die(400, "bare CR in the head")
            if start[-1:] == "\r":
                start = start[:-1]
        if len(start) > limits.max_start_line:
            return self._die(414 if not self._client else 400, "start line too long")
        try:
            joined, lists = _parse_fields(block, "header")
            if self._client:
                return self._response_head(start, joined, lists)
            return self._request_head(start, joined, lists)
        except H1ProtocolError:
            self._state = _DEAD
            raise

    def _skip_blank_lines(self, buf: bytes | bytearray, pos: int) -> int:
        """Skip CRLF / LF lines before a request line; -1 when the buffer ends first."""
        size = len(buf)
        while pos < size:
            byte = buf[pos]
            if byte == 10:
                pos += 1
            elif byte == 13:
                if pos + 1 >= size:
                    return -1
                if buf[pos + 1] != 10:
                    self._die(400, "bare CR before the request line")
                pos += 2
            else:
                self._pos = pos
                return pos
            if pos - self._pos > self._limits.max_header_size:
                self._die(431, "too many empty lines before the request line")
        self._pos = pos
        return -1

    def _head_needs_data(self, buf: bytes | bytearray, pos: int) -> object:
        pending = len(buf) - pos
        limits = self._limits
        if (
            pending > limits.max_start_line + 1
            and buf.find(b"\n", pos, pos + limits.max_start_line + 2) < 0
        ):
            self._die(414 if not self._client else 400, "start line too long")
        if pending > limits.max_header_size:
            self._die(431, "head larger than max_header_size")
        if self._eof:
            if pending:
                self._die(400, "connection closed in the middle of a head")
            return NEED_DATA
        self._scan = max(pos, len(buf) - 2)
        return NEED_DATA

    def _request_head(
        self, start: str, joined: dict[str, str], lists: dict[str, list[str]]
    ) -> object:
        found = g.REQUEST_LINE.fullmatch(start)
        if found is None:
            if g.REQUEST_LINE_OTHER_VERSION.fullmatch(start) is not None:
                raise _fail(505, f"unsupported HTTP version in {start!r}")
            raise _fail(400, f"malformed request line {start!r}")
        line: RequestStartLine = _new_tuple(RequestStartLine, found.groups())
        http11 = line.version == "HTTP/1.1"
        if line.path[0] != "/":
            line = self._other_target_form(line, joined, lists)
        if "Host" not in joined:
            if http11:
                raise _fail(400, "HTTP/1.1 request without Host")
        elif lists and "Host" in lists:
            raise _fail(400, "more than one Host field")
        connection = joined.get("Connection")
        if connection is None:
            self._keep_alive = http11
        else:
            tokens = _tokens(connection)
            self._keep_alive = "keep-alive" in tokens if not http11 else "close" not in tokens
        expect = joined.get("Expect")
        self._continue = expect is not None and http11 and expect.lower() == "100-continue"
        coding = joined.get("Transfer-Encoding")
        length = joined.get("Content-Length")
        if coding is not None:
            if length is not None:
                raise _fail(400, "both Content-Length and Transfer-Encoding")
            codings = _tokens(coding)
            if not codings or codings[-1] != "chunked":
                raise _fail(400, f"chunked is not the final transfer coding in {coding!r}")
            if len(codings) > 1:
                raise _fail(501, f"unsupported transfer coding {coding!r}")
            if not http11:
                self._keep_alive = False
            self._state = _CHUNK_SIZE
        elif length is not None:
            size = _content_length(length)
            limit = self._limits.max_body_size
            if limit is not None and size > limit:
                raise _fail(413, "Content-Length larger than max_body_size")
            self._remaining = size
            self._state = _LENGTH if size else _END_PENDING
        else:
            self._state = _END_PENDING
        return _new_tuple(Head, (line, _headers_from_dicts(joined, lists)))

    def _other_target_form(
        self, line: RequestStartLine, joined: dict[str, str], lists: dict[str, list[str]]
    ) -> RequestStartLine:
        """Absolute form, asterisk form or authority form of the request target."""
        method, target, version = line
        if method == "CONNECT":
            raise _fail(501, "CONNECT is not supported")
        if target == "*":
            if method != "OPTIONS":
                raise _fail(400, "asterisk-form target on a method other than OPTIONS")
            return line
        try:
            parts = urlsplit(target)
        except ValueError:
            raise _fail(400, f"unparsable request target {target!r}")
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise _fail(
                400, f"request target is neither origin nor http(s) absolute form: {target!r}"
            )
        authority = parts.netloc.rpartition("@")[2]
        if not authority or g.FIELD_VALUE_BAD.search(authority) is not None:
            raise _fail(400, f"request target without a host: {target!r}")
        joined["Host"] = authority
        lists.pop("Host", None)
        path = parts.path or "/"
        if parts.query or target.endswith("?"):
            path = f"{path}?{parts.query}"
        return RequestStartLine(method, path, version)

    def _response_head(
        self, start: str, joined: dict[str, str], lists: dict[str, list[str]]
    ) -> object:
        found = g.STATUS_LINE.fullmatch(start)
        if found is None:
            raise _fail(400, f"malformed status line {start!r}")
        version, code_text, reason = found.groups()
        code = int(code_text)
        line = ResponseStartLine(version, code, reason or "")
        head = _new_tuple(Head, (line, _headers_from_dicts(joined, lists)))
        http11 = version == "HTTP/1.1"
        connection = joined.get("Connection")
        if connection is None:
            self._keep_alive = http11
        else:
            tokens = _tokens(connection)
            self._keep_alive = "keep-alive" in tokens if not http11 else "close" not in tokens
        if code < 200 and code != 101:
            # Informational: the final response of the same exchange follows.
            self._scan = self._pos
            return head
        if code == 101 or (self._method == "CONNECT" and code < 300):
            self._keep_alive = False
            self._state = _END_PENDING
            return head
        if self._method == "HEAD" or code in (204, 304):
            self._state = _END_PENDING
            return head
        coding = joined.get("Transfer-Encoding")
        length = joined.get("Content-Length")
        if coding is not None:
            codings = _tokens(coding)
            if codings == ["chunked"]:
                self._state = _CHUNK_SIZE
            else:
                self._state = _UNTIL_CLOSE
                self._keep_alive = False
            return head
        if length is not None:
            size = _content_length(length)
            limit = self._limits.max_body_size
            if limit is not None and size > limit:
                raise _fail(413, "Content-Length larger than max_body_size")
            self._remaining = size
            self._state = _LENGTH if size else _END_PENDING
            return head
        self._state = _UNTIL_CLOSE
        self._keep_alive = False
        return head

    # -- bodies ----------------------------------------------------------------

    def _take(self, wanted: int) -> bytes:
        """Up to ``wanted`` buffered bytes (at least one is there)."""
        buf = self._buf
        pos = self._pos
        end = pos + wanted
        if type(buf) is bytes:
            piece = buf[pos:end]
        else:
            with memoryview(buf) as view:
                piece = bytes(view[pos:end])
        self._pos = pos + len(piece)
        return piece

    def _count_body(self, size: int) -> None:
        seen = self._body_seen + size
        self._body_seen = seen
        limit = self._limits.max_body_size
        if limit is not None and seen > limit:
            self._die(413, "body larger than max_body_size")

    def _read_counted(self) -> object:
        if self._pos >= len(self._buf):
            if self._eof:
                self._die(400, "connection closed in the middle of a body")
            return NEED_DATA
        piece = self._take(self._remaining)
        self._remaining -= len(piece)
        if not self._remaining:
            self._state = _END_PENDING
        return _new_tuple(Data, (piece,))

    def _read_until_close(self) -> object:
        if self._pos < len(self._buf):
            piece = self._take(len(self._buf) - self._pos)
            self._count_body(len(piece))
            return _new_tuple(Data, (piece,))
        if self._eof:
            self._state = _DONE
            return _END
        return NEED_DATA

    def _read_chunked(self) -> object:
        try:
            while True:
                state = self._state
                if state == _CHUNK_DATA:
                    if self._pos >= len(self._buf):
                        break
                    piece = self._take(self._remaining)
                    self._remaining -= len(piece)
                    if not self._remaining:
                        self._state = _CHUNK_CRLF
                    return _new_tuple(Data, (piece,))
                if state == _CHUNK_SIZE:
                    if not self._chunk_size_line():
                        break
                elif state == _CHUNK_CRLF:
                    buf = self._buf
                    pos = self._pos
                    if len(buf) - pos < 2:
                        if pos < len(buf) and buf[pos] != 13:
                            raise _fail(400, "chunk data not followed by CRLF")
                        break
                    if buf[pos] != 13 or buf[pos + 1] != 10:
                        raise _fail(400, "chunk data not followed by CRLF")
                    self._pos = pos + 2
                    self._state = _CHUNK_SIZE
                else:
                    return self._trailers()
        except H1ProtocolError:
            self._state = _DEAD
            raise
        if self._eof:
            self._die(400, "connection closed in the middle of a chunked body")
        return NEED_DATA

    def _chunk_size_line(self) -> bool:
        buf = self._buf
        pos = self._pos
        end = buf.find(b"\r\n", pos, pos + _MAX_CHUNK_LINE)
        if end < 0:
            if buf.find(b"\n", pos, pos + _MAX_CHUNK_LINE) >= 0:
                raise _fail(400, "bare LF in chunked framing")
            if len(buf) - pos >= _MAX_CHUNK_LINE:
                raise _fail(400, "chunk-size line too long")
            return False
        found = g.CHUNK_SIZE.fullmatch(buf, pos, end)
        if found is None:
            raise _fail(400, "invalid chunk-size line")
        size = int(found.group(1), 16)
        self._pos = end + 2
        if size:
            self._count_body(size)
            self._remaining = size
            self._state = _CHUNK_DATA
        else:
            self._state = _TRAILERS
        return True

    def _trailers(self) -> object:
        buf = self._buf
        pos = self._pos
        if buf[pos : pos + 2] == b"\r\n":
            self._pos = pos + 2
            self._state = _DONE
            return _END
        limit = self._limits.max_header_size
        end = buf.find(b"\r\n\r\n", pos, pos + limit + 4)
        if end < 0:
            if len(buf) - pos > limit:
                raise _fail(431, "trailer section larger than max_header_size")
            pending = bytes(buf[pos:])
            self._bare_line_ends(pending[:-1] if pending.endswith(b"\r") else pending)
            if self._eof:
                raise _fail(400, "connection closed in the trailer section")
            return NEED_DATA
        section = bytes(buf[pos : end + 4])
        self._bare_line_ends(section)
        joined, lists = _parse_fields(section.decode("latin-1"), "trailer")
        self._pos = end + 4
        self._state = _DONE
        return _new_tuple(EndOfMessage, (_headers_from_dicts(joined, lists),))

    @staticmethod
    def _bare_line_ends(section: bytes) -> None:
        crlf = section.count(b"\r\n")
        if section.count(b"\n") != crlf:
            raise _fail(400, "bare LF in chunked framing")
        if section.count(b"\r") != crlf:
            raise _fail(400, "bare CR in the trailer section")

    def _die(self, status: int, reason: str) -> object:
        self._state = _DEAD
        raise _fail(status, reason)


# Writer modes.
_NO_BODY = 0
_COUNTED = 1
_CHUNKED = 2
_TO_CLOSE = 3
_IDLE = 4


# A response's start line -> its text: the same few recur on every connection.
_status_lines: dict[tuple[object, ...], str] = {}
_STATUS_LINES_LIMIT = 256
# The same for response_head(): status code -> b"HTTP/1.1 200 OK\r\n".
_status_bytes_made: dict[int, bytes] = {}
# Field names that decide the framing.
_FRAMING_NAMES = frozenset((b"content-length", b"transfer-encoding", b"connection"))
# A field name as given -> (its Http-Header-Case form, its lower-case form): the
# bytes path writes the same spelling as head() does.
_wire_names: dict[bytes, tuple[bytes, bytes]] = {}
_WIRE_NAMES_LIMIT = 4096


def _wire_name(name: bytes) -> tuple[bytes, bytes]:
    made = (_canonical(name.decode("latin-1")).encode("latin-1"), name.lower())
    if len(_wire_names) < _WIRE_NAMES_LIMIT:
        _wire_names[name] = made
    return made


def _status_bytes(code: int) -> bytes:
    made = _status_bytes_made.get(code)
    if made is None:
        made = b"HTTP/1.1 %d %s\r\n" % (code, responses.get(code, "Unknown").encode("latin-1"))
        if len(_status_bytes_made) < _STATUS_LINES_LIMIT:
            _status_bytes_made[code] = made
    return made


class H1Writer:
    """Serialises one side of an HTTP/1.x connection: responses (server) or requests (client).

    :meth:`head` returns the bytes of the start line and headers and decides
    the framing: ``Content-Length`` as given; otherwise chunked when the peer
    speaks HTTP/1.1 (adding ``Transfer-Encoding: chunked``); otherwise (server
    side) the body runs until the connection closes. HEAD answers, 1xx, 204 and
    304 carry no body. :meth:`data` frames a body piece, :meth:`end` closes the
    message; both raise :class:`~squall.httputil.HTTPOutputError` when the body
    disagrees with the declared length or when no body is allowed.
    """

    __slots__ = ("_client", "_keep_alive", "_mode", "_remaining")

    def __init__(self, *, client: bool) -> None:
        self._client = client
        self._mode = _IDLE
        self._remaining = 0
        self._keep_alive = True

    @property
    def keep_alive(self) -> bool:
        """Whether the connection may stay open after this message (``False`` for close-delimited bodies)."""
        return self._keep_alive

    def head(
        self,
        start_line: RequestStartLine | ResponseStartLine,
        headers: HTTPHeaders,
        *,
        request_method: str | None = None,
        keep_alive: bool,
        peer_version: str = "HTTP/1.1",
    ) -> bytes:
        """The bytes of ``start_line`` and ``headers``, framing fields added.

        Server side ``request_method`` is the method being answered (HEAD means
        no body) and ``peer_version`` the request's version (chunked needs
        HTTP/1.1). ``keep_alive`` is the driver's wish; ``Connection: close``
        (or ``keep-alive`` for an HTTP/1.0 peer) is added when the headers do
        not say it already. Raises :class:`HTTPOutputError` for a header value
        holding CR or LF, or when the previous message was not ended.
        """
        if self._mode != _IDLE:
            raise HTTPOutputError("head() before the previous message was ended")
        joined = headers._joined
        if self._client:
            first = "%s %s %s\r\n" % start_line  # noqa: UP031 (one C call)
            mode = self._request_mode(start_line[0], joined)
        else:
            code = cast(int, start_line[1])
            known = _status_lines.get(start_line)
            if known is not None:
                first = known
            else:
                # %d: an HTTPStatus member prints as its number on every Python
                # (Python 3.10's str() of an IntEnum is its name).
                first = "%s %d %s\r\n" % (start_line[0], code, start_line[2])  # noqa: UP031
                if len(_status_lines) < _STATUS_LINES_LIMIT:
                    _status_lines[start_line] = first
            if code < 200:
                # Informational: no body, and the real response follows.
                text = first + "".join([f"{k}: {v}\r\n" for k, v in headers.get_all()])
                return self._encode(text + "\r\n", 2 + sum(1 for _ in headers.get_all()))
            if request_method == "HEAD" or code in (204, 304):
                mode = _NO_BODY
            else:
                mode = self._declared_mode(
                    joined.get("Content-Length"),
                    joined.get("Transfer-Encoding"),
                    chunked_ok=peer_version == "HTTP/1.1",
                )
        extra = self._framing_fields(
            mode, "Transfer-Encoding" in joined, joined.get("Connection"), keep_alive, peer_version
        )
        if headers._lists:
            body = "".join([f"{k}: {v}\r\n" for k, v in headers.get_all()])
        else:
            body = "".join([f"{k}: {v}\r\n" for k, v in joined.items()])
        text = f"{first}{body}{extra}\r\n"
        fields = len(joined)
        if headers._lists:
            fields += sum([len(values) - 1 for values in headers._lists.values()])
        made = self._encode(text, fields + 2 + extra.count("\n"))
        self._mode = mode
        return made

    def response_head(
        self,
        code: int,
        fields: Iterable[Any],
        *,
        request_method: str | None,
        keep_alive: bool,
        peer_version: str = "HTTP/1.1",
        body_length: int | None = None,
    ) -> bytes:
        """:meth:`head` for a final response (``code`` >= 200) whose fields are bytes pairs.

        The form ASGI applications give (any case for the names): no
        :class:`HTTPHeaders` is built and no value is decoded; names go out in
        ``Http-Header-Case`` as :meth:`head` writes them. The reason phrase
        is the standard one. ``body_length`` declares a
        ``Content-Length`` when the fields carry neither it nor
        ``Transfer-Encoding`` (a body given whole). Same framing and the same
        errors as :meth:`head`.
        """
        if self._mode != _IDLE:
            raise HTTPOutputError("head() before the previous message was ended")
        if self._client or code < 200:
            raise HTTPOutputError("response_head() writes a server's final response")
        length = coding = connection = None
        lines = [_status_bytes(code)]
        add = lines.extend
        known = _wire_names.get
        count = 0
        for name, value in fields:
            if type(name) is not bytes:
                name = bytes(name)
            if type(value) is not bytes:
                value = bytes(value)
            spelled, low = known(name) or _wire_name(name)
            if low in _FRAMING_NAMES:
                text = value.decode("latin-1")
                if low == b"content-length":
                    length = text if length is None else f"{length},{text}"
                elif low == b"transfer-encoding":
                    coding = text if coding is None else f"{coding},{text}"
                else:
                    connection = text if connection is None else f"{connection},{text}"
            add((spelled, b": ", value, b"\r\n"))
            count += 1
        if body_length is not None and length is None and coding is None:
            length = str(body_length)
            lines.append(b"Content-Length: %d\r\n" % body_length)
            count += 1
        if request_method == "HEAD" or code in (204, 304):
            mode = _NO_BODY
        else:
            mode = self._declared_mode(length, coding, chunked_ok=peer_version == "HTTP/1.1")
        extra = self._framing_fields(mode, coding is not None, connection, keep_alive, peer_version)
        # Status line, fields, framing lines, the empty line: one LF each,
        # unless a value held a CR or LF.
        line_count = count + 2 + extra.count("\n")
        if extra:
            lines.append(extra.encode("latin-1"))
        lines.append(b"\r\n")
        made = b"".join(lines)
        if made.count(b"\n") != line_count or made.count(b"\r") != line_count:
            raise HTTPOutputError("header value holds a CR or LF")
        self._mode = mode
        return made

    def _framing_fields(
        self,
        mode: int,
        has_coding: bool,
        connection: str | None,
        keep_alive: bool,
        peer_version: str,
    ) -> str:
        """The framing lines to add (chunked coding, Connection); settles keep-alive."""
        extra = ""
        if mode == _CHUNKED and not has_coding:
            extra = "Transfer-Encoding: chunked\r\n"
        if mode == _TO_CLOSE:
            keep_alive = False
        if connection is None:
            if not keep_alive:
                extra += "Connection: close\r\n"
            elif peer_version == "HTTP/1.0" and not self._client:
                extra += "Connection: keep-alive\r\n"
        elif keep_alive and "close" in _tokens(connection):
            # The message itself announces the close: honour it.
            keep_alive = False
        self._keep_alive = keep_alive
        return extra

    @staticmethod
    def _encode(text: str, line_count: int) -> bytes:
        if text.count("\n") != line_count or text.count("\r") != line_count:
            raise HTTPOutputError("header value holds a CR or LF")
        try:
            return text.encode("latin-1")
        except UnicodeEncodeError:
            raise HTTPOutputError("header text is not latin-1") from None

    def _request_mode(self, method: str, joined: dict[str, str]) -> int:
        if "Content-Length" in joined or "Transfer-Encoding" in joined:
            return self._declared_mode(
                joined.get("Content-Length"), joined.get("Transfer-Encoding"), chunked_ok=True
            )
        return _CHUNKED if method in ("POST", "PUT", "PATCH") else _NO_BODY

    def _declared_mode(self, length: str | None, coding: str | None, *, chunked_ok: bool) -> int:
        if length is not None:
            if coding is not None:
                raise HTTPOutputError("both Content-Length and Transfer-Encoding")
            length = str(length)
            # 1 to 18 ASCII digits (g.CONTENT_LENGTH), without a regex call per response.
            if not (length.isdigit() and length.isascii() and len(length) <= 18):
                raise HTTPOutputError(f"invalid Content-Length {length!r}")
            self._remaining = int(length)
            return _COUNTED
        if coding is not None:
            if _tokens(coding)[-1:] != ["chunked"]:
                raise HTTPOutputError(f"unsupported Transfer-Encoding {coding!r}")
            return _CHUNKED
        if chunked_ok:
            return _CHUNKED
        if self._client:
            raise HTTPOutputError("a request body needs Content-Length or chunked coding")
        return _TO_CLOSE

    def data(self, chunk: bytes) -> bytes:
        """The bytes that carry ``chunk`` (a chunk-size line around it when chunked)."""
        mode = self._mode
        if mode == _COUNTED:
            size = len(chunk)
            if size > self._remaining:
                self._mode = _IDLE
                raise HTTPOutputError(
                    f"body exceeds Content-Length by {size - self._remaining} bytes"
                )
            self._remaining -= size
            return chunk
        if not chunk:
            return _EMPTY
        if mode == _CHUNKED:
            return b"%x\r\n%b\r\n" % (len(chunk), chunk)
        if mode == _TO_CLOSE:
            return chunk
        if mode == _NO_BODY:
            raise HTTPOutputError("this message cannot have a body")
        raise HTTPOutputError("data() before head()")

    def end(self) -> bytes:
        """The bytes that end the message; the writer is then ready for the next head."""
        mode = self._mode
        self._mode = _IDLE
        if mode == _CHUNKED:
            return b"0\r\n\r\n"
        if mode == _COUNTED and self._remaining:
            missing = self._remaining
            raise HTTPOutputError(f"body is {missing} bytes short of its Content-Length")
        if mode == _IDLE:
            raise HTTPOutputError("end() before head()")
        return _EMPTY
