"""How messages travel: ``str``, ``bytes`` or a JSON-able value, as bytes.

A ``str`` goes on the wire as its UTF-8 bytes, so that other Redis clients
(``redis-cli PUBLISH room hello``) and squall read each other's text.  Bytes
and JSON values carry a two-byte tag (a NUL, then ``b`` or ``j``); a ``str``
that itself begins with NUL gets the ``s`` tag so it cannot be mistaken for
one.  Untagged payloads that are not valid UTF-8 arrive as ``bytes``.
"""

from __future__ import annotations

import json
from typing import Any

_TAG_BYTES = b"\x00b"
_TAG_JSON = b"\x00j"
_TAG_TEXT = b"\x00s"


def _encode(value: Any) -> bytes:
    """Turn one published value into the payload sent to the broker."""
    if isinstance(value, str):
        raw = value.encode("utf-8")
        return _TAG_TEXT + raw if raw[:1] == b"\x00" else raw
    if isinstance(value, (bytes, bytearray, memoryview)):
        return _TAG_BYTES + bytes(value)
    try:
        text = json.dumps(value, separators=(",", ":"), allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise TypeError(
            f"pubsub messages are str, bytes or JSON-able values, not {type(value).__name__}"
        ) from exc
    return _TAG_JSON + text.encode("utf-8")


def _decode(payload: bytes) -> Any:
    """The value a payload stands for (the inverse of :func:`_encode`)."""
    head = payload[:2]
    if head == _TAG_BYTES:
        return payload[2:]
    if head == _TAG_JSON:
        return json.loads(payload[2:])
    if head == _TAG_TEXT:
        payload = payload[2:]
    try:
        return payload.decode("utf-8")
    except UnicodeDecodeError:
        return payload


def _copy(value: Any) -> Any:
    """What a subscriber of the in-process hub receives for ``value``.

    Text and bytes are immutable and pass as they are; anything else makes
    the JSON round trip, so local subscribers see what a Redis hub would
    give them (an independent copy, tuples turned into lists) and a value
    that could not cross a process boundary fails here too.
    """
    if isinstance(value, (str, bytes)):
        return value
    if isinstance(value, (bytearray, memoryview)):
        return bytes(value)
    return _decode(_encode(value))
