"""An incremental, I/O-free parser for ``multipart/form-data`` bodies (RFC 7578, RFC 2046).

Feed it bytes as they arrive; pull :class:`_PartHead` (a part's headers),
:class:`_PartData` (pieces of its body, never empty), :class:`_PartEnd`, and
finally :data:`_FINISHED`; :data:`NEED_DATA` asks for more. Nothing is
buffered beyond one part header and a delimiter's length of body, so a large
upload can stream to disk. Errors raise :class:`HTTPInputError`. A preamble
before the first delimiter and an epilogue after the last one are ignored.
"""

from __future__ import annotations

from typing import NamedTuple

from ._errors import HTTPInputError
from ._headers import HTTPHeaders

__all__: list[str] = []


class _PartHead(NamedTuple):
    headers: HTTPHeaders


class _PartData(NamedTuple):
    data: bytes


class _PartEnd(NamedTuple):
    pass


class _Marker:
    __slots__ = ("_name",)

    def __init__(self, name: str) -> None:
        self._name = name

    def __repr__(self) -> str:
        return self._name


NEED_DATA = _Marker("NEED_DATA")
_FINISHED = _Marker("FINISHED")
_PART_END = _PartEnd()

# States.
_PREAMBLE = 0
_AFTER_DELIMITER = 1
_HEADERS = 2
_BODY = 3
_DONE = 4
_BROKEN = 5


class _MultipartParser:
    """Splits a multipart body with ``boundary`` into part events."""

    __slots__ = ("_buf", "_delimiter", "_eof", "_max_header_size", "_state")

    def __init__(self, boundary: bytes, *, max_header_size: int = 16384) -> None:
        if not boundary or len(boundary) > 200:
            raise HTTPInputError("invalid multipart boundary")
        # Every delimiter after the first is preceded by the CRLF that ends the
        # previous part; the buffer starts with a virtual CRLF so the first
        # delimiter (at the very start of the body) looks the same.
        self._delimiter = b"\r\n--" + boundary
        self._buf = bytearray(b"\r\n")
        self._state = _PREAMBLE
        self._eof = False
        self._max_header_size = max_header_size

    def feed(self, data: bytes) -> None:
        """Append body bytes; ``b""`` means the body is complete."""
        if data:
            if self._state != _DONE:
                self._buf += data
        else:
            self._eof = True

    def next_event(self) -> object:
        """The next part event, :data:`NEED_DATA` or :data:`_FINISHED`."""
        try:
            event = self._step()
        except HTTPInputError:
            self._state = _BROKEN
            raise
        if event is NEED_DATA and self._eof:
            self._state = _BROKEN
            raise HTTPInputError("multipart body ends before its final boundary")
        return event

    def _step(self) -> object:
        buf = self._buf
        delimiter = self._delimiter
        state = self._state
        if state == _BODY:
            found = buf.find(delimiter)
            if found == 0:
                del buf[: len(delimiter)]
                self._state = _AFTER_DELIMITER
                return _PART_END
            if found < 0:
                # Hold back the tail from the first CR that could open a delimiter.
                tail = max(0, len(buf) - len(delimiter) + 1)
                carriage = buf.find(b"\r", tail)
                found = len(buf) if carriage < 0 else carriage
                if not found:
                    return NEED_DATA
            piece = bytes(buf[:found])
            del buf[:found]
            return _PartData(piece)
        if state == _HEADERS:
            return self._headers()
        if state == _AFTER_DELIMITER:
            return self._after_delimiter()
        if state == _PREAMBLE:
            found = buf.find(delimiter)
            if found < 0:
                keep = len(delimiter) - 1
                if len(buf) > keep:
                    del buf[: len(buf) - keep]
                return NEED_DATA
            del buf[: found + len(delimiter)]
            self._state = _AFTER_DELIMITER
            return self._after_delimiter()
        if state == _DONE:
            return _FINISHED
        raise HTTPInputError("the multipart parser failed earlier")

    def _after_delimiter(self) -> object:
        buf = self._buf
        if len(buf) < 2:
            return NEED_DATA
        if buf[:2] == b"--":
            self._state = _DONE
            buf.clear()
            return _FINISHED
        line_end = buf.find(b"\r\n")
        if line_end < 0:
            pending = buf[:-1] if buf.endswith(b"\r") else buf
            if pending.strip(b" \t") or len(buf) > 256:
                raise HTTPInputError("junk after a multipart boundary")
            return NEED_DATA
        if buf[:line_end].strip(b" \t"):
            raise HTTPInputError("junk after a multipart boundary")
        del buf[: line_end + 2]
        self._state = _HEADERS
        return self._headers()

    def _headers(self) -> object:
        buf = self._buf
        if buf.startswith(self._delimiter[2:]):
            # "--boundary" right after a delimiter line: an empty part, skipped.
            del buf[: len(self._delimiter) - 2]
            self._state = _AFTER_DELIMITER
            return self._after_delimiter()
        if buf[:2] == b"\r\n":
            del buf[:2]
            self._state = _BODY
            return _PartHead(HTTPHeaders())
        end = buf.find(b"\r\n\r\n")
        if end < 0:
            if len(buf) > self._max_header_size:
                raise HTTPInputError("multipart part headers are too large")
            return NEED_DATA
        if end > self._max_header_size:
            raise HTTPInputError("multipart part headers are too large")
        raw = bytes(buf[:end])
        del buf[: end + 4]
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            text = raw.decode("latin-1")
        if "\n" in text.replace("\r\n", "") or "\r" in text.replace("\r\n", ""):
            raise HTTPInputError("bare CR or LF in multipart part headers")
        headers = HTTPHeaders.parse(text)
        self._state = _BODY
        return _PartHead(headers)
