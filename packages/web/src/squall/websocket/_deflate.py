"""permessage-deflate (RFC 7692): negotiating it in the handshake, and compressing messages.

Negotiation is plain string work on the ``Sec-WebSocket-Extensions`` field:

* :func:`parse_extensions` splits the field into ``(name, {param: value})``
  pairs (quoted values unquoted; a parameter without ``=`` has value ``None``).
* A server calls :func:`server_accept` with the client's field: the first
  acceptable ``permessage-deflate`` offer wins; offers with an unknown,
  repeated or malformed parameter are declined, as section 5.1 requires.
* A client sends :func:`client_offer` and checks the answer with
  :func:`client_confirm`, which raises :class:`ExtensionError` for anything
  the RFC tells a client to fail the connection over.

The outcome is a :class:`DeflateParams`; :class:`MessageDeflater` then does the
per-message work for one endpoint: compress with a sync flush and drop the
``00 00 ff ff`` tail; decompress with the tail appended and a bound on the
output, so a small "zip bomb" cannot expand past ``max_message_size``.

The options dict is what :meth:`WebSocketHandler.get_compression_options`
returns (and ``websocket_connect``'s ``compression_options``):
``compression_level`` and ``mem_level`` go to :func:`zlib.compressobj`;
other keys are ignored.
"""

from __future__ import annotations

import zlib
from collections.abc import Mapping
from typing import Any, NamedTuple

__all__ = [
    "DeflateParams",
    "ExtensionError",
    "MessageDeflater",
    "client_confirm",
    "client_offer",
    "parse_extensions",
    "server_accept",
]

_NAME = "permessage-deflate"
_TAIL = b"\x00\x00\xff\xff"
_FLAGS = ("server_no_context_takeover", "client_no_context_takeover")
_BITS = ("server_max_window_bits", "client_max_window_bits")


class ExtensionError(ValueError):
    """A ``Sec-WebSocket-Extensions`` answer a client must not accept."""


class DeflateParams(NamedTuple):
    """The negotiated parameters (window bits 8 to 15; 15 when not limited)."""

    server_no_context_takeover: bool = False
    client_no_context_takeover: bool = False
    server_max_window_bits: int = 15
    client_max_window_bits: int = 15

    def header_value(self) -> str:
        """This agreement as the server writes it in its 101 answer."""
        words = [_NAME]
        if self.server_no_context_takeover:
            words.append("server_no_context_takeover")
        if self.client_no_context_takeover:
            words.append("client_no_context_takeover")
        if self.server_max_window_bits != 15:
            words.append(f"server_max_window_bits={self.server_max_window_bits}")
        if self.client_max_window_bits != 15:
            words.append(f"client_max_window_bits={self.client_max_window_bits}")
        return "; ".join(words)


def _unquote(value: str) -> str:
    if len(value) >= 2 and value[0] == value[-1] == '"':
        return value[1:-1].replace("\\", "")
    return value


def parse_extensions(field: str | None) -> list[tuple[str, list[tuple[str, str | None]]]]:
    """``a; x=1; y, b`` -> ``[("a", [("x", "1"), ("y", None)]), ("b", [])]``.

    Names are lower-cased; parameters keep their order (and repeats, which
    the callers reject).
    """
    result: list[tuple[str, list[tuple[str, str | None]]]] = []
    if not field:
        return result
    for item in field.split(","):
        pieces = item.split(";")
        name = pieces[0].strip().lower()
        if not name:
            continue
        params: list[tuple[str, str | None]] = []
        for piece in pieces[1:]:
            key, eq, value = piece.partition("=")
            key = key.strip().lower()
            if not key:
                continue
            params.append((key, _unquote(value.strip()) if eq else None))
        result.append((name, params))
    return result


def _window_bits(value: str | None) -> int | None:
    """A window-bits value, or None when it is not a plain integer in 8..15."""
    if value is None or not value.isdigit() or len(value) > 2:
        return None
    bits = int(value)
    return bits if 8 <= bits <= 15 else None


def _read_params(params: list[tuple[str, str | None]], *, offer: bool) -> DeflateParams | None:
    """Parameters of one permessage-deflate element; None when they break the RFC.

    In an offer ``client_max_window_bits`` may come without a value ("I can
    take a limit"); in an answer every ``*_max_window_bits`` needs one.
    """
    seen: dict[str, str | None] = {}
    for key, value in params:
        if key in seen:
            return None
        seen[key] = value
    flags = [False, False]
    bits = [15, 15]
    for key, value in seen.items():
        if key in _FLAGS:
            if value is not None:
                return None
            flags[_FLAGS.index(key)] = True
        elif key in _BITS:
            if value is None and offer and key == "client_max_window_bits":
                continue
            number = _window_bits(value)
            if number is None:
                return None
            bits[_BITS.index(key)] = number
        else:
            return None
    return DeflateParams(flags[0], flags[1], bits[0], bits[1])


def server_accept(field: str | None) -> DeflateParams | None:
    """The agreement for the client's offers, or None to go without compression.

    The first valid ``permessage-deflate`` offer is accepted as it stands:
    the server agrees to every limit the client asked it to observe and
    imposes none of its own.
    """
    for name, params in parse_extensions(field):
        if name != _NAME:
            continue
        agreed = _read_params(params, offer=True)
        if agreed is not None:
            return agreed
    return None


def client_offer() -> str:
    """The ``Sec-WebSocket-Extensions`` value a client sends to ask for compression."""
    return f"{_NAME}; client_max_window_bits"


def client_confirm(field: str | None) -> DeflateParams | None:
    """Check the server's answer to :func:`client_offer`; None when it declined.

    Raises:
        ExtensionError: an extension that was not offered, permessage-deflate
            twice, or a parameter that is unknown, repeated or out of range.
    """
    extensions = parse_extensions(field)
    if not extensions:
        return None
    if len(extensions) > 1 or extensions[0][0] != _NAME:
        raise ExtensionError(f"the server chose extensions that were not offered: {field!r}")
    agreed = _read_params(extensions[0][1], offer=False)
    if agreed is None:
        raise ExtensionError(f"invalid permessage-deflate parameters: {field!r}")
    return agreed


class MessageDeflater:
    """Compression state of one endpoint: its own compressor, the peer's decompressor.

    ``client`` says which side of ``params`` is ours. zlib cannot compress
    with an 8-bit window; when that is what was agreed, messages go out
    uncompressed (RFC 7692 allows any message to be sent plain).
    """

    __slots__ = (
        "_deflater",
        "_in_bits",
        "_inflater",
        "_keep_in",
        "_keep_out",
        "_level",
        "_mem",
        "_out_bits",
    )

    def __init__(
        self, params: DeflateParams, client: bool, options: Mapping[str, Any] | None = None
    ) -> None:
        if client:
            out_bits, in_bits = params.client_max_window_bits, params.server_max_window_bits
            reset_out, reset_in = (
                params.client_no_context_takeover,
                params.server_no_context_takeover,
            )
        else:
            out_bits, in_bits = params.server_max_window_bits, params.client_max_window_bits
            reset_out, reset_in = (
                params.server_no_context_takeover,
                params.client_no_context_takeover,
            )
        options = options or {}
        self._level: int = options.get("compression_level", zlib.Z_DEFAULT_COMPRESSION)
        self._mem: int = options.get("mem_level", 8)
        self._out_bits = out_bits
        self._in_bits = max(in_bits, 9)
        self._keep_out = not reset_out
        self._keep_in = not reset_in
        self._deflater: Any = None
        self._inflater: Any = None

    @property
    def compresses(self) -> bool:
        """Whether outgoing messages are compressed at all (see the class docs)."""
        return self._out_bits > 8

    def compress(self, data: bytes) -> bytes:
        """One whole message's payload, compressed (tail removed)."""
        deflater = self._deflater
        if deflater is None:
            deflater = zlib.compressobj(self._level, zlib.DEFLATED, -self._out_bits, self._mem)
            if self._keep_out:
                self._deflater = deflater
        packed: bytes = deflater.compress(data) + deflater.flush(zlib.Z_SYNC_FLUSH)
        if packed.endswith(_TAIL):
            packed = packed[:-4]
        return packed

    def decompress(self, data: bytes, last: bool, room: int) -> bytes | None:
        """One frame's compressed payload -> at most ``room`` bytes; None past ``room``.

        ``last`` marks the message's final frame (the tail is appended then).
        Raises :class:`zlib.error` for a corrupt stream.
        """
        inflater = self._inflater
        if inflater is None:
            inflater = self._inflater = zlib.decompressobj(-self._in_bits)
        if last:
            data += _TAIL
        plain: bytes = inflater.decompress(data, room + 1)
        if len(plain) > room or inflater.unconsumed_tail:
            self._inflater = None
            return None
        if last and not self._keep_in:
            # The peer starts afresh with each message: no need to keep a window.
            self._inflater = None
        return plain
