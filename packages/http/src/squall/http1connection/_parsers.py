"""The HTTP/1 parser choice: squall's pure-Python :class:`H1Reader`, or one whose heads llhttp tokenises.

:class:`LlhttpReader` has the reader interface and the reader policy of
:mod:`._codec` to the letter; only the tokenising of a request or status head
moves into C, through ``httptools`` (the optional ``speedups`` extra). How the
two are kept identical:

* Finding the end of a head, the limits (414, 431, 413), blank lines before a
  request, bodies (Content-Length, chunked framing and trailers, read until
  close), keep-alive, 100-continue and the reader's death after an error stay
  the inherited Python code. llhttp sees exactly one whole head at a time,
  never a body byte, so its body rules (a bare LF in chunked framing, chunk
  extensions, HEAD responses, 1xx, Upgrade and CONNECT) never decide anything.
* llhttp runs in its strict default mode and only has to say "yes" or "no".
  Every head it refuses (an obs-fold, a CR or LF outside a CRLF pair, a
  repeated Content-Length, a method it does not know, a target with
  obs-text, a version it does not speak, a transfer coding it dislikes, ...)
  is parsed again by the pure reader, whose answer (a head, or the error and
  its status) is final. So is a head with fewer distinct field names than
  field lines (a repeated field, whichever its spelling).
* For heads llhttp accepts, the start line is still matched by the pure
  reader's grammar (llhttp allows two spaces between the parts, for one) and
  the whole field policy (Host, Content-Length, Transfer-Encoding,
  Connection, Expect, the absolute-form target) is the pure reader's code run
  on the fields llhttp found. The field grammar of strict llhttp (token names,
  no whitespace before the colon, no control but HTAB in values, obs-text
  allowed) is the pure reader's; the tests compare every byte value in both
  positions.

Choosing: :func:`reader_class` resolves ``"auto"`` (the pure reader when
this installation is the compiled build, :data:`COMPILED`, whose mypyc-made
reader outruns the llhttp one; else llhttp when httptools is importable),
``"httptools"`` (required: an :class:`ImportError` without it) or
``"python"``; ``None`` reads the ``SQUALL_HTTP_PARSER`` environment variable,
``"auto"`` when unset. The first resolution of each outcome is logged on
``squall.general`` at INFO.
"""

from __future__ import annotations

import functools
import os
from typing import Any

from squall.httputil._headers import _canonical
from squall.log import gen_log

from . import _codec
from ._codec import _DEAD, _DEFAULT_LIMITS, H1Limits, H1ProtocolError, H1Reader

#: The installed httptools' version, ``None`` without it (the pure reader only).
HTTPTOOLS_VERSION: str | None
try:
    from httptools import HttpParserError as _Refused
    from httptools import HttpParserUpgrade as _Upgrade
    from httptools import HttpRequestParser as _RequestParser
    from httptools import HttpResponseParser as _ResponseParser
    from httptools import __version__ as HTTPTOOLS_VERSION
except ImportError:
    HTTPTOOLS_VERSION = None

__all__ = [
    "COMPILED",
    "ENV_VARIABLE",
    "HTTPTOOLS_VERSION",
    "LlhttpReader",
    "make_reader",
    "reader_class",
]

#: True when the codec is the compiled build's C extension (mypyc), not Python source.
COMPILED: bool = not str(_codec.__file__).endswith(".py")

#: The environment variable consulted when no parser is named explicitly.
ENV_VARIABLE = "SQUALL_HTTP_PARSER"
_CHOICES = ("auto", "httptools", "python")

# Raw field name as received -> its canonical form (bounded, like the str cache).
_names: dict[bytes, str] = {}
_NAMES_LIMIT = 4096


def _canonical_from_bytes(raw: bytes) -> str:
    made = _canonical(raw.decode("latin-1"))
    if len(_names) < _NAMES_LIMIT:
        _names[raw] = made
    return made


class _Sink:
    """The "protocol" httptools calls back: C callables only, so no Python frame runs per field."""

    __slots__ = ("on_header", "on_message_complete")

    def __init__(self, fields: dict[bytes, bytes], completed: list[bool]) -> None:
        self.on_header = fields.__setitem__
        self.on_message_complete = functools.partial(completed.append, True)


class LlhttpReader(H1Reader):
    """An :class:`H1Reader` whose heads llhttp tokenises (see the module docstring).

    Same constructor, methods, events and errors as :class:`H1Reader`; needs
    the ``httptools`` package.
    """

    __slots__ = ("_completed", "_fields", "_llhttp", "_sink")

    def __init__(self, *, client: bool, limits: H1Limits = _DEFAULT_LIMITS) -> None:
        if HTTPTOOLS_VERSION is None:
            raise ImportError("LlhttpReader needs httptools: pip install 'squall-http[speedups]'")
        super().__init__(client=client, limits=limits)
        self._fields: dict[bytes, bytes] = {}
        self._completed: list[bool] = []
        self._sink = _Sink(self._fields, self._completed)
        # One llhttp parser serves consecutive body-less messages; a message
        # with a body or an upgrade leaves it mid-way, and a fresh one is made.
        self._llhttp: Any = None

    def _parse_head(self, head: bytes) -> object:
        parser = self._llhttp
        if parser is None:
            parser = (_ResponseParser if self._client else _RequestParser)(self._sink)
        fields = self._fields
        completed = self._completed
        try:
            parser.feed_data(head)
        except _Upgrade:
            parser = None  # llhttp stops at an upgrade; our rules decide what follows
        except _Refused:
            self._llhttp = None
            fields.clear()
            completed.clear()
            return H1Reader._parse_head(self, head)
        if completed:
            completed.clear()
        else:
            parser = None
        self._llhttp = parser
        # Strict llhttp refuses a CR or LF outside CRLF pairs and obs-fold, so
        # each line after the start line is one field: fewer distinct names
        # than lines means a repeated field.
        cut = head.find(b"\r\n")
        if len(fields) != head.count(b"\n") - 2 or cut > self._limits.max_start_line:
            fields.clear()
            return H1Reader._parse_head(self, head)
        # llhttp drops the OWS before a value but keeps the OWS after it.
        known = _names.get
        joined = {
            known(raw) or _canonical_from_bytes(raw): value.decode("latin-1").rstrip(" \t")
            for raw, value in fields.items()
        }
        if len(joined) != len(fields):
            # Two spellings of one name (``Cookie`` and ``cookie``).
            fields.clear()
            return H1Reader._parse_head(self, head)
        fields.clear()
        start = head[:cut].decode("latin-1")
        try:
            if self._client:
                made = self._response_head(start, joined, {})
            else:
                made = self._request_head(start, joined, {})
        except H1ProtocolError:
            self._state = _DEAD
            raise
        return made


_announced: set[str] = set()


def reader_class(choice: str | None = None) -> type[H1Reader]:
    """The reader class for ``choice``: ``"auto"``, ``"httptools"``, ``"python"`` or ``None``.

    ``None`` takes the ``SQUALL_HTTP_PARSER`` environment variable (``"auto"``
    when unset or empty). ``"auto"`` means the compiled reader in the
    compiled build (:data:`COMPILED`), else llhttp when httptools is
    installed, else the pure-Python reader. Raises :class:`ValueError`
    for another name and :class:`ImportError` for ``"httptools"`` without the
    package.
    """
    source = "argument"
    if choice is None:
        choice = os.environ.get(ENV_VARIABLE, "").strip().lower() or "auto"
        source = ENV_VARIABLE
    if choice not in _CHOICES:
        raise ValueError(f"unknown HTTP parser {choice!r} (from {source}); use one of {_CHOICES}")
    if choice == "httptools" and HTTPTOOLS_VERSION is None:
        raise ImportError(
            f"HTTP parser 'httptools' asked for (from {source}) but httptools is not "
            "installed: pip install 'squall-http[speedups]'"
        )
    llhttp = choice == "httptools" or (choice == "auto" and not COMPILED)
    chosen: type[H1Reader] = LlhttpReader if llhttp and HTTPTOOLS_VERSION is not None else H1Reader
    key = f"{choice}:{chosen.__name__}"
    if key not in _announced:
        _announced.add(key)
        if chosen is LlhttpReader:
            gen_log.info("HTTP/1 parser: llhttp (httptools %s), %r", HTTPTOOLS_VERSION, choice)
        else:
            why = (
                "asked for"
                if choice == "python"
                else "auto"
                if COMPILED
                else "httptools is not installed"
            )
            gen_log.info("HTTP/1 parser: %s (%s)", "compiled" if COMPILED else "pure Python", why)
    return chosen


def make_reader(
    *, client: bool, limits: H1Limits = _DEFAULT_LIMITS, parser: str | None = None
) -> H1Reader:
    """A new reader of the class :func:`reader_class` picks for ``parser``."""
    return reader_class(parser)(client=client, limits=limits)
