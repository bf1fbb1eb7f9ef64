"""Streaming ``multipart/form-data`` (RFC 7578 over RFC 2046), free of any I/O.

:class:`MultipartParser` is fed the body in chunks of any size and answers each
:meth:`~MultipartParser.feed` with the events those bytes complete: a
:class:`MultipartPart` when a part's headers are in, :class:`MultipartData`
for pieces of its content, :class:`MultipartPartEnd` when its closing
delimiter is seen and :class:`MultipartEnd` after the close delimiter. Part
content is never collected: between two calls the parser keeps at most one
delimiter's worth of bytes (or one part's header block), so an upload of any
size streams through in constant memory. Malformed input raises
:class:`MultipartError`, an :class:`HTTPInputError`.

The whole-body :func:`parse_multipart_form_data` is built on the same parser.
Differences from Tornado's whole-body parser: a preamble before the first
delimiter and spaces or tabs after a delimiter are accepted (RFC 2046 allows
both); an epilogue after the close delimiter is ignored.
"""

from __future__ import annotations

from ._errors import HTTPInputError
from ._headers import HTTPHeaders
from ._helpers import _parse_header

__all__ = [
    "MultipartData",
    "MultipartEnd",
    "MultipartError",
    "MultipartEvent",
    "MultipartParser",
    "MultipartPart",
    "MultipartPartEnd",
]


class MultipartError(HTTPInputError):
    """A ``multipart/form-data`` body (or its boundary) is malformed.

    Raised by :class:`MultipartParser` and :func:`parse_multipart_form_data`;
    a server answers it with 400 Bad Request.
    """


class _Event:
    """Shared plumbing of the event types: slots, equality by value, a readable repr."""

    __slots__: tuple[str, ...] = ()

    def __eq__(self, other: object) -> bool:
        if type(other) is not type(self):
            return NotImplemented
        return all(getattr(self, k) == getattr(other, k) for k in self.__slots__)

    __hash__ = None  # type: ignore[assignment]  # events compare by value and may hold headers

    def __repr__(self) -> str:
        fields = ", ".join(f"{k}={getattr(self, k)!r}" for k in self.__slots__)
        return f"{type(self).__name__}({fields})"


class MultipartPart(_Event):
    """A part begins: its header block has been read and checked.

    ``name`` is the form field name from ``Content-Disposition: form-data``;
    ``filename`` is the uploaded file's name (RFC 5987 ``filename*=`` decoded)
    or None for a plain field (an empty string when a browser sent an empty
    file input); ``content_type`` is the part's ``Content-Type``, defaulting
    to ``application/unknown`` for files (as :class:`HTTPFile` does) and
    ``text/plain`` for fields (RFC 7578); ``headers`` holds every part header.
    """

    __slots__ = ("content_type", "filename", "headers", "name")

    def __init__(
        self, name: str, filename: str | None, content_type: str, headers: HTTPHeaders
    ) -> None:
        self.name = name
        self.filename = filename
        self.content_type = content_type
        self.headers = headers

    @property
    def is_file(self) -> bool:
        """True when the part carries a ``filename`` (an upload, not a plain field)."""
        return self.filename is not None


class MultipartData(_Event):
    """A non-empty piece of the current part's content, in order."""

    __slots__ = ("data",)

    def __init__(self, data: bytes) -> None:
        self.data = data


class MultipartPartEnd(_Event):
    """The current part's content is complete; ``part`` is its :class:`MultipartPart`."""

    __slots__ = ("part",)

    def __init__(self, part: MultipartPart) -> None:
        self.part = part


class MultipartEnd(_Event):
    """The close delimiter arrived: the message is complete (an epilogue is ignored)."""

    __slots__ = ()


MultipartEvent = MultipartPart | MultipartData | MultipartPartEnd | MultipartEnd
"""Any event :meth:`MultipartParser.feed` returns."""

# Where the parser is in the body.
_PREAMBLE = 0  # before the first delimiter
_LINE = 1  # right after a delimiter: "--" closes, else padding then CRLF
_HEAD = 2  # inside a part's header block
_CONTENT = 3  # inside a part's content
_CLOSED = 4  # after the close delimiter
_FAILED = 5

_MAX_PADDING = 256  # spaces/tabs tolerated after a delimiter


def _check_boundary(boundary: bytes | str) -> bytes:
    raw = boundary.encode("utf-8") if isinstance(boundary, str) else bytes(boundary)
    if len(raw) >= 2 and raw[:1] == raw[-1:] == b'"':
        raw = raw[1:-1]
    if not 0 < len(raw) <= 200 or b"\r" in raw or b"\n" in raw:
        raise MultipartError(f"unusable multipart boundary {raw[:40]!r}")
    return raw


class MultipartParser:
    """Incremental parser for one ``multipart/form-data`` body.

    ``boundary`` is the ``boundary`` parameter of the request's
    ``Content-Type`` (str or bytes; surrounding quotes are removed), or build
    the parser with :meth:`from_content_type`. ``max_header_size`` bounds one
    part's header block in bytes and ``max_parts`` the number of parts; going
    over either raises :class:`MultipartError`.

    Call :meth:`feed` with each chunk of the body as it arrives and handle the
    events it returns, then :meth:`finish` once the body is complete::

        parser = MultipartParser.from_content_type(request.headers["Content-Type"])
        for chunk in chunks:
            for event in parser.feed(chunk):
                if isinstance(event, MultipartPart):
                    sink = open_sink(event.name, event.filename)
                elif isinstance(event, MultipartData):
                    sink.write(event.data)
                elif isinstance(event, MultipartPartEnd):
                    sink.close()
        parser.finish()

    Data events are slices of the chunks fed (a chunk that is all content is
    passed on as is), so the parser itself holds no more than a delimiter's
    length of content between calls. After an error every call raises again.
    """

    def __init__(
        self, boundary: bytes | str, *, max_header_size: int = 16384, max_parts: int = 1000
    ) -> None:
        self.boundary = _check_boundary(boundary)
        self.max_header_size = max_header_size
        self.max_parts = max_parts
        self._delimiter = b"\r\n--" + self.boundary
        # A virtual CRLF in front of the body makes a delimiter on its very
        # first line look like every later one.
        self._held = b"\r\n"
        self._state = _PREAMBLE
        self._part: MultipartPart | None = None
        self._count = 0
        self._error: MultipartError | None = None

    @classmethod
    def from_content_type(
        cls, content_type: str, *, max_header_size: int = 16384, max_parts: int = 1000
    ) -> MultipartParser:
        """A parser for the body of a request with this ``Content-Type`` header value.

        Raises :class:`MultipartError` unless it is ``multipart/form-data``
        with a ``boundary`` parameter.
        """
        kind, params = _parse_header(content_type)
        if kind.lower() != "multipart/form-data":
            raise MultipartError(f"not a multipart/form-data content type: {kind!r}")
        boundary = params.get("boundary")
        if not boundary:
            raise MultipartError("multipart/form-data without a boundary parameter")
        return cls(boundary, max_header_size=max_header_size, max_parts=max_parts)

    @property
    def complete(self) -> bool:
        """True once the close delimiter has been parsed."""
        return self._state == _CLOSED

    @property
    def part_count(self) -> int:
        """How many parts have started so far."""
        return self._count

    def feed(self, data: bytes) -> list[MultipartEvent]:
        """Parse the next chunk of the body; returns the events it completes (maybe none).

        Bytes after the close delimiter are ignored. Raises
        :class:`MultipartError` on malformed input.
        """
        state = self._state
        if state >= _CLOSED:
            if self._error is not None:
                raise self._error
            return []
        if type(data) is not bytes:
            data = bytes(data)
        held = self._held
        buf = held + data if held else data
        events: list[MultipartEvent] = []
        try:
            pos = self._run(buf, events)
        except MultipartError as exc:
            self._fail(exc)
            raise
        if self._state == _CLOSED:
            self._held = b""
        else:
            self._held = buf[pos:] if pos < len(buf) else b""
        return events

    def finish(self) -> None:
        """Declare the body complete; raises :class:`MultipartError` if it was cut short."""
        if self._error is not None:
            raise self._error
        if self._state != _CLOSED:
            where = "before its first boundary" if self._state == _PREAMBLE else "mid-part"
            exc = MultipartError(f"multipart body truncated {where}")
            self._fail(exc)
            raise exc

    def _fail(self, exc: MultipartError) -> None:
        self._state = _FAILED
        self._error = exc
        self._held = b""

    def _run(self, buf: bytes, events: list[MultipartEvent]) -> int:
        """Consume ``buf`` as far as possible; returns where the unconsumed rest starts."""
        delimiter = self._delimiter
        dlen = len(delimiter)
        end = len(buf)
        state = self._state
        pos = 0
        while pos < end:
            if state == _CONTENT:
                hit = buf.find(delimiter, pos)
                if hit >= 0:
                    if hit > pos:
                        events.append(MultipartData(buf[pos:hit]))
                    assert self._part is not None
                    events.append(MultipartPartEnd(self._part))
                    pos = hit + dlen
                    state = _LINE
                    continue
                # Keep back a tail that may be the start of a delimiter. The
                # boundary holds no CR, so only the last CR can open one.
                stop = end
                cr = buf.rfind(b"\r", max(pos, end - dlen + 1))
                if cr >= 0 and delimiter.startswith(buf[cr:]):
                    stop = cr
                if stop > pos:
                    events.append(MultipartData(buf if stop - pos == end else buf[pos:stop]))
                pos = stop
                break
            if state == _LINE:
                if end - pos < 2:
                    break
                if buf.startswith(b"--", pos):
                    events.append(MultipartEnd())
                    state = _CLOSED
                    pos = end
                    break
                eol = buf.find(b"\r\n", pos, pos + _MAX_PADDING + 2)
                if eol < 0:
                    rest = buf[pos : pos + _MAX_PADDING + 2]
                    if len(rest) > _MAX_PADDING + 1 or rest.rstrip(b"\r").strip(b" \t"):
                        raise MultipartError("unexpected bytes after a multipart boundary")
                    break
                if buf[pos:eol].strip(b" \t"):
                    raise MultipartError("unexpected bytes after a multipart boundary")
                pos = eol + 2
                state = _HEAD
            elif state == _HEAD:
                if buf.startswith(delimiter[2:], pos):
                    # A delimiter where headers should start: an empty part, skipped.
                    pos += dlen - 2
                    state = _LINE
                    continue
                if buf.startswith(b"\r\n", pos):
                    stop = pos  # no headers at all; _begin refuses the part
                else:
                    stop = buf.find(b"\r\n\r\n", pos, pos + self.max_header_size + 4)
                    if stop < 0:
                        if end - pos >= self.max_header_size + 4:
                            raise MultipartError(
                                f"multipart part headers exceed {self.max_header_size} bytes"
                            )
                        break
                block = buf[pos:stop]
                pos = stop + (2 if stop == pos else 4)
                events.append(self._begin(block))
                state = _CONTENT
            else:  # _PREAMBLE
                hit = buf.find(delimiter, pos)
                if hit < 0:
                    pos = max(pos, end - dlen + 1)
                    break
                pos = hit + dlen
                state = _LINE
        self._state = state
        return pos

    def _begin(self, block: bytes) -> MultipartPart:
        self._count += 1
        if self._count > self.max_parts:
            raise MultipartError(f"more than {self.max_parts} multipart parts")
        crlf = block.count(b"\r\n")
        if block.count(b"\r") != crlf or block.count(b"\n") != crlf:
            raise MultipartError("bare CR or LF in multipart part headers")
        try:
            text = block.decode("utf-8")
        except UnicodeDecodeError:
            text = block.decode("latin-1")
        try:
            headers = HTTPHeaders.parse(text)
        except HTTPInputError as exc:
            raise MultipartError(f"bad multipart part headers: {exc}") from exc
        disposition, params = _parse_header(headers.get("Content-Disposition", ""))
        if disposition.lower() != "form-data":
            raise MultipartError("multipart part without Content-Disposition: form-data")
        name = params.get("name")
        if name is None:
            raise MultipartError("multipart part without a field name")
        filename = params.get("filename")
        default = "text/plain" if filename is None else "application/unknown"
        part = MultipartPart(name, filename, headers.get("Content-Type", default), headers)
        self._part = part
        return part
