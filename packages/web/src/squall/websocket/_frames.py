"""The WebSocket protocol (RFC 6455) as an I/O-free object: bytes in, events out; messages in, bytes out.

:class:`WebSocketProtocol` serves either end of a connection. A driver hands
it what the socket delivered with :meth:`~WebSocketProtocol.feed` and gets
back a list of what happened, in order:

* a ``str``: a whole text message (UTF-8 checked);
* a ``bytes``: a whole binary message;
* :class:`Ping` / :class:`Pong`: control frames (answer a ping with
  :meth:`~WebSocketProtocol.pong`; nothing is answered automatically);
* :class:`CloseReceived`: the peer's close frame; answer it with
  :meth:`~WebSocketProtocol.close` (which echoes the code) unless a close
  went out already, then end the TCP connection (a server at once, a
  client after the server has done so);
* :class:`ProtocolFailure`: the peer broke the protocol; send
  ``close(failure.code)`` and drop the connection.

Messages are delivered as plain ``str``/``bytes`` instead of event objects:
they are the bulk of the traffic, and this saves an allocation per message.
After a :class:`CloseReceived` or :class:`ProtocolFailure`, ``feed`` ignores
everything.

To send, :meth:`~WebSocketProtocol.send_text`,
:meth:`~WebSocketProtocol.send_binary`, :meth:`~WebSocketProtocol.ping`,
:meth:`~WebSocketProtocol.pong` and :meth:`~WebSocketProtocol.close` return
the bytes to write. A client masks every frame with a fresh
:func:`os.urandom` key; a server sends unmasked frames and insists on masked
ones.

Failures and the close codes they give (RFC 6455 section 7.4.1):

* 1002: reserved bits without an extension that defines them, reserved
  opcodes, wrong masking, a control frame that is fragmented or longer than
  125 bytes, a continuation with no message open (or a new message while one
  is), a one-byte close payload or a close code not allowed on the wire, a
  corrupt compressed stream, a 64-bit length with its top bit set;
* 1007: a text message or close reason that is not UTF-8 (found as soon as a
  fragment proves it, not at the end of the message);
* 1009: a message (after decompression) over ``max_message_size``; known
  from the frame head, before the payload is buffered.
"""

from __future__ import annotations

import codecs
import os
import struct
import zlib
from typing import Any, NamedTuple

from ._deflate import MessageDeflater

__all__ = [
    "CloseReceived",
    "Ping",
    "Pong",
    "ProtocolFailure",
    "WebSocketClosedError",
    "WebSocketError",
    "WebSocketEvent",
    "WebSocketProtocol",
    "mask_payload",
    "valid_close_code",
]


class WebSocketError(Exception):
    """Base class of the WebSocket errors."""


class WebSocketClosedError(WebSocketError):
    """Raised when sending on a connection whose close frame went out already."""


class Ping(NamedTuple):
    """The peer sent a ping; ``data`` is what a pong must carry back."""

    data: bytes


class Pong(NamedTuple):
    """The peer sent a pong (the answer to a ping, or unsolicited)."""

    data: bytes


class CloseReceived(NamedTuple):
    """The peer's close frame: ``code`` None when it had no payload, ``reason`` "" when only a code."""

    code: int | None
    reason: str | None


class ProtocolFailure(NamedTuple):
    """The peer broke the protocol: close with ``code`` (1002, 1007 or 1009) and drop it."""

    code: int
    reason: str


#: What :meth:`WebSocketProtocol.feed` lists.
WebSocketEvent = str | bytes | Ping | Pong | CloseReceived | ProtocolFailure

_CONTINUATION = 0x0
_TEXT = 0x1
_BINARY = 0x2
_CLOSE = 0x8
_PING = 0x9
_PONG = 0xA

_FIN = 0x80
_RSV1 = 0x40
_MASKED = 0x80

_SHORT = struct.Struct("!BBH")
_LONG = struct.Struct("!BBQ")
_CODE = struct.Struct("!H")

_UNLIMITED = 1 << 62
# Masking works on pieces of this many bytes (a multiple of 4).
_PIECE = 16384
_utf8_decoder = codecs.getincrementaldecoder("utf-8")


class _Fail(Exception):
    def __init__(self, code: int, reason: str) -> None:
        self.code = code
        self.reason = reason


def valid_close_code(code: int) -> bool:
    """Whether ``code`` may travel in a close frame (RFC 6455 7.4, IANA registry)."""
    return 1000 <= code <= 1003 or 1007 <= code <= 1014 or 3000 <= code <= 4999


def mask_payload(key: bytes, data: bytes) -> bytes:
    """XOR ``data`` with the 4-byte ``key`` repeated (masking and unmasking alike).

    Big-integer XORs, no per-byte Python loop: the whole payload at once when
    small, else pieces of ``_PIECE`` bytes (the conversions grow faster than
    linearly with size), all sharing one key stream.
    """
    size = len(data)
    if size <= _PIECE:
        if not size:
            return b""
        stream = key * ((size >> 2) + 1)
        if len(stream) != size:
            stream = stream[:size]
        mixed = int.from_bytes(data, "little") ^ int.from_bytes(stream, "little")
        return mixed.to_bytes(size, "little")
    full = int.from_bytes(key * (_PIECE >> 2), "little")
    view = memoryview(data)
    out = []
    for start in range(0, size, _PIECE):
        piece = view[start : start + _PIECE]
        count = len(piece)
        if count == _PIECE:
            mixed = int.from_bytes(piece, "little") ^ full
        else:
            tail = (key * ((count >> 2) + 1))[:count]
            mixed = int.from_bytes(piece, "little") ^ int.from_bytes(tail, "little")
        out.append(mixed.to_bytes(count, "little"))
    return b"".join(out)


class WebSocketProtocol:
    """One endpoint of a WebSocket connection, after the handshake.

    Args:
        client: True for the client end (masks what it sends, expects
            unmasked frames), False for the server end.
        max_message_size: largest message accepted, counted after
            decompression; None for no limit. Larger ones fail with 1009.
        deflater: the :class:`~._deflate.MessageDeflater` when
            permessage-deflate was negotiated (it alone makes RSV1 legal).
    """

    __slots__ = (
        "_backlog",
        "_client",
        "_deflater",
        "_held",
        "_limit",
        "_message",
        "_parts",
        "_size",
        "_text",
        "_wanted",
        "close_received",
        "close_sent",
    )

    def __init__(
        self,
        client: bool,
        max_message_size: int | None = 10 * 1024 * 1024,
        deflater: MessageDeflater | None = None,
    ) -> None:
        self._client = client
        self._limit = _UNLIMITED if max_message_size is None else max_message_size
        self._deflater = deflater
        # Unparsed input (None when there is none): pieces and their total,
        # joined only once enough has arrived for the frame being waited for
        # (no quadratic copying).
        self._backlog: list[bytes] | None = None
        self._held = 0
        self._wanted = 2
        # The fragmented message in progress: its opcode (0 for none) with
        # the RSV1 bit when compressed, pieces (str for text, already
        # validated; None until a second piece), size so far.
        self._message = 0
        self._parts: list[Any] | None = None
        self._size = 0
        self._text: Any = None
        #: Whether our close frame went out / the peer's arrived (or it failed).
        self.close_sent = False
        self.close_received = False

    @property
    def closed(self) -> bool:
        """Both close frames have crossed: the TCP connection can end."""
        return self.close_sent and self.close_received

    @property
    def compressing(self) -> bool:
        """Whether permessage-deflate is in use on this connection."""
        return self._deflater is not None

    # -- receiving -----------------------------------------------------------

    def feed(self, data: bytes) -> list[WebSocketEvent]:
        """Take received bytes; return the messages and control events they complete."""
        if self.close_received or not data:
            return []
        waiting = self._backlog
        if waiting is not None:
            waiting.append(data)
            held = self._held + len(data)
            if held < self._wanted:
                self._held = held
                return []
            data = b"".join(waiting)
            self._backlog = None
        elif not self._message and len(data) > 5:
            whole = self._single(data)
            if whole is not None:
                return whole
        events: list[WebSocketEvent] = []
        try:
            rest = self._parse(data, events)
        except _Fail as failure:
            self._stop()
            events.append(ProtocolFailure(failure.code, failure.reason))
            return events
        if rest:
            self._backlog = [rest]
            self._held = len(rest)
        else:
            self._held = 0
        return events

    def _single(self, data: bytes) -> list[WebSocketEvent] | None:
        """The usual chunk: exactly one whole, unfragmented, uncompressed data frame
        shorter than 64 KiB, correctly masked. Anything else (None) takes :meth:`_parse`.
        """
        first = data[0]
        if first != _FIN | _TEXT and first != _FIN | _BINARY:
            return None
        client = self._client
        # The length byte with the mask bit the peer must have set taken out:
        # a wrongly (un)masked frame reads as 128 or more and goes the long way.
        size = data[1] if client else data[1] ^ _MASKED
        start = 2 if client else 6
        if size == 126:
            size = (data[2] << 8) | data[3]
            start += 2
        elif size > 126:
            return None
        if start + size != len(data) or size > self._limit:
            return None
        if client:
            payload = data[start:]
        elif size > _PIECE:
            payload = mask_payload(data[start - 4 : start], data[start:])
        elif size:
            # mask_payload's small case, inline: one XOR of two big integers.
            keys = data[start - 4 : start] * ((size >> 2) + 1)
            if len(keys) != size:
                keys = keys[:size]
            payload = (
                int.from_bytes(data[start:], "little") ^ int.from_bytes(keys, "little")
            ).to_bytes(size, "little")
        else:
            payload = b""
        if first == _FIN | _BINARY:
            return [payload]
        try:
            return [payload.decode("utf-8")]
        except UnicodeDecodeError:
            return None  # the long way names the failure

    def _stop(self) -> None:
        self.close_received = True
        self._backlog = None
        self._held = 0
        self._parts = None
        self._text = None

    def _parse(self, buf: bytes, events: list[WebSocketEvent]) -> bytes:
        """Handle every whole frame in ``buf``; return what is left over."""
        end = len(buf)
        pos = 0
        server = not self._client
        while True:
            left = end - pos
            if left < 2:
                self._wanted = 2
                break
            first = buf[pos]
            second = buf[pos + 1]
            size = second & 0x7F
            start = pos + 2
            if size == 126:
                if left < 4:
                    self._wanted = 4
                    break
                size = (buf[start] << 8) | buf[start + 1]
                start += 2
            elif size == 127:
                if left < 10:
                    self._wanted = 10
                    break
                size = int.from_bytes(buf[start : start + 8], "big")
                start += 8
                if size >> 63:
                    raise _Fail(1002, "frame length has its top bit set")
            opcode = first & 0x0F
            if (
                (first == _FIN | _TEXT or first == _FIN | _BINARY)
                and bool(second & _MASKED) is server
                and not self._message
                and size <= self._limit
            ):
                pass  # a plain whole message: nothing in the head can be wrong
            else:
                self._check_head(first, opcode, size, bool(second & _MASKED) is server)
            key = None
            if second & _MASKED:
                key = buf[start : start + 4]
                start += 4
            stop = start + size
            if stop > end:
                self._wanted = stop - pos
                break
            payload = buf[start:stop] if start or stop != end else buf
            if key is not None:
                payload = mask_payload(key, payload)
            pos = stop
            if opcode == _TEXT and first & 0xF0 == _FIN:
                try:
                    events.append(payload.decode("utf-8"))
                except UnicodeDecodeError:
                    raise _Fail(1007, "text message is not valid UTF-8") from None
            elif opcode == _BINARY and first & 0xF0 == _FIN:
                events.append(payload)
            elif opcode >= _CLOSE:
                if self._control(opcode, payload, events):
                    return b""
            else:
                self._fragment(first, opcode, payload, events)
        self._wanted = max(self._wanted, 2)
        return buf[pos:] if pos else buf

    def _check_head(self, first: int, opcode: int, size: int, mask_ok: bool) -> None:
        """Everything the frame head alone can prove wrong (before the payload is waited for)."""
        if not mask_ok:
            if self._client:
                raise _Fail(1002, "the server sent a masked frame")
            raise _Fail(1002, "the client sent an unmasked frame")
        if first & 0x30 or (first & _RSV1 and self._deflater is None):
            raise _Fail(1002, "reserved bits set with no extension to define them")
        if opcode >= _CLOSE:
            if opcode > _PONG:
                raise _Fail(1002, f"reserved control opcode {opcode:#x}")
            if not first & _FIN:
                raise _Fail(1002, "fragmented control frame")
            if size > 125:
                raise _Fail(1002, "control frame payload over 125 bytes")
            if first & _RSV1:
                raise _Fail(1002, "compressed control frame")
            return
        if opcode > _BINARY:
            raise _Fail(1002, f"reserved data opcode {opcode:#x}")
        if opcode == _CONTINUATION:
            if not self._message:
                raise _Fail(1002, "continuation frame with no message to continue")
            if first & _RSV1:
                raise _Fail(1002, "RSV1 set on a continuation frame")
            total = self._size + size
            compressed = bool(self._message & _RSV1)
        else:
            if self._message:
                raise _Fail(1002, "new message before the fragmented one ended")
            total = size
            compressed = bool(first & _RSV1)
        limit = self._limit
        if compressed:
            # Incompressible data grows a little under deflate; the real
            # check is on the decompressed size.
            limit += (limit >> 10) + 64
        if total > limit:
            raise _Fail(1009, "message larger than max_message_size")

    def _control(self, opcode: int, payload: bytes, events: list[WebSocketEvent]) -> bool:
        """A ping, pong or close frame; True when it was the close (parsing stops)."""
        if opcode == _PING:
            events.append(Ping(payload))
            return False
        if opcode == _PONG:
            events.append(Pong(payload))
            return False
        code: int | None = None
        reason: str | None = None
        if payload:
            if len(payload) < 2:
                raise _Fail(1002, "close frame payload of one byte")
            (code,) = _CODE.unpack_from(payload)
            if not valid_close_code(code):
                raise _Fail(1002, f"close code {code} is not allowed")
            try:
                reason = payload[2:].decode("utf-8")
            except UnicodeDecodeError:
                raise _Fail(1007, "close reason is not valid UTF-8") from None
        self._stop()
        events.append(CloseReceived(code, reason))
        return True

    def _fragment(
        self, first: int, opcode: int, payload: bytes, events: list[WebSocketEvent]
    ) -> None:
        """A data frame that is compressed or part of a fragmented message."""
        last = bool(first & _FIN)
        if opcode != _CONTINUATION:
            self._message = opcode | (first & _RSV1)
            self._size = 0
            self._text = _utf8_decoder() if opcode == _TEXT else None
        if self._message & _RSV1:
            assert self._deflater is not None
            room = self._limit - self._size
            try:
                plain = self._deflater.decompress(payload, last, room)
            except zlib.error as exc:
                raise _Fail(1002, f"corrupt compressed message: {exc}") from None
            if plain is None:
                raise _Fail(1009, "message larger than max_message_size once decompressed")
            payload = plain
        self._size += len(payload)
        decoder = self._text
        if decoder is not None:
            try:
                piece: Any = decoder.decode(payload, last)
            except UnicodeDecodeError:
                raise _Fail(1007, "text message is not valid UTF-8") from None
        else:
            piece = payload
        parts = self._parts
        if not last:
            if piece:
                if parts is None:
                    self._parts = [piece]
                else:
                    parts.append(piece)
            return
        if parts is not None:
            parts.append(piece)
            piece = ("" if decoder is not None else b"").join(parts)
            self._parts = None
        events.append(piece)
        self._message = 0
        self._text = None

    # -- sending ---------------------------------------------------------------

    def _frame(self, opcode: int, payload: bytes) -> bytes:
        size = len(payload)
        if self._client:
            if size < 126:
                head = bytes((opcode, _MASKED | size))
            elif size < 65536:
                head = _SHORT.pack(opcode, _MASKED | 126, size)
            else:
                head = _LONG.pack(opcode, _MASKED | 127, size)
            key = os.urandom(4)
            return head + key + mask_payload(key, payload)
        if size < 126:
            return bytes((opcode, size)) + payload
        if size < 65536:
            return _SHORT.pack(opcode, 126, size) + payload
        return _LONG.pack(opcode, 127, size) + payload

    def _message_frame(self, opcode: int, payload: bytes) -> bytes:
        if self.close_sent:
            raise WebSocketClosedError("the close frame has been sent")
        deflater = self._deflater
        if deflater is not None and deflater.compresses:
            return self._frame(_FIN | _RSV1 | opcode, deflater.compress(payload))
        return self._frame(_FIN | opcode, payload)

    def send_text(self, text: str | bytes) -> bytes:
        """A text message (a ``str``, or bytes already encoded as UTF-8) as one frame.

        Raises:
            WebSocketClosedError: after :meth:`close`.
        """
        payload = text.encode("utf-8") if isinstance(text, str) else bytes(text)
        size = len(payload)
        if size < 65536 and self._deflater is None and not self._client and not self.close_sent:
            # A server's plain frame: just the head in front.
            if size < 126:
                return bytes((_FIN | _TEXT, size)) + payload
            return _SHORT.pack(_FIN | _TEXT, 126, size) + payload
        return self._message_frame(_TEXT, payload)

    def send_binary(self, data: bytes | bytearray | memoryview) -> bytes:
        """A binary message as one frame (raises :class:`WebSocketClosedError` after close)."""
        return self._message_frame(_BINARY, data if type(data) is bytes else bytes(data))

    def ping(self, data: bytes = b"") -> bytes:
        """A ping frame (``b""`` once closing); ``data`` must fit in 125 bytes (ValueError)."""
        return self._control_frame(_PING, data)

    def pong(self, data: bytes = b"") -> bytes:
        """A pong frame carrying ``data`` (``b""`` once closing: no answer is due then)."""
        return self._control_frame(_PONG, data)

    def _control_frame(self, opcode: int, data: bytes) -> bytes:
        if len(data) > 125:
            raise ValueError("control frame payloads are limited to 125 bytes")
        if self.close_sent:
            return b""
        return self._frame(_FIN | opcode, bytes(data))

    def close(self, code: int | None = None, reason: str | None = None) -> bytes:
        """Our close frame (``b""`` if one went out already).

        With no ``code``: after a :class:`CloseReceived` the peer's code is
        not known here, so pass it (``close(event.code)``) to echo it; a
        frame without a code is sent when ``code`` stays None and no reason
        is given (a reason alone implies 1000).

        Raises:
            ValueError: ``code`` may not travel in a close frame (1005, 1006,
                1015, ...), or the reason is longer than 123 bytes in UTF-8.
        """
        if self.close_sent:
            return b""
        if code is None and reason is not None:
            code = 1000
        payload = b""
        if code is not None:
            if not valid_close_code(code):
                raise ValueError(f"close code {code} may not be sent")
            payload = _CODE.pack(code)
            if reason:
                payload += reason.encode("utf-8")
                if len(payload) > 125:
                    raise ValueError("close reason longer than 123 bytes")
        self.close_sent = True
        return self._frame(_FIN | _CLOSE, payload)
