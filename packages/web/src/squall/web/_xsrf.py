"""XSRF tokens: making, masking, reading and comparing them.

The defence is a double submit: every visitor gets a random token in the
``_xsrf`` cookie, and a state-changing request must repeat the token in a
form field or header, which a page on another site cannot read. These
helpers handle the token itself; :class:`~squall.web.RequestHandler` wires
them to the cookie, the form field and the headers.

Two encodings exist, both Tornado's, so tokens pass between the two servers:

* **version 1**: the raw token in hex. A cookie value that is not hex is
  taken as the raw token bytes themselves.
* **version 2** (the default): ``2|<mask hex>|<masked token hex>|<timestamp>``,
  where the token is XORed with a fresh random 4-byte mask each time it is
  encoded. The page then never contains the same bytes twice, which defeats
  compression side channels such as BREACH; comparisons always look at the
  unmasked token.
"""

from __future__ import annotations

import binascii
import hmac
import os
import time

__all__: list[str] = []

_TOKEN_SIZE = 16
_MASK_SIZE = 4
_NOTHING: tuple[None, None, None] = (None, None, None)


def _new_xsrf_token() -> bytes:
    """A fresh random token: 16 bytes from the operating system's CSPRNG."""
    return os.urandom(_TOKEN_SIZE)


def _apply_mask(mask: bytes, data: bytes) -> bytes:
    """XOR ``data`` with ``mask`` repeated over its length (its own inverse)."""
    size = len(data)
    if not size:
        return data
    pad = (mask * (size // len(mask) + 1))[:size]
    return (int.from_bytes(data, "big") ^ int.from_bytes(pad, "big")).to_bytes(size, "big")


def _encode_xsrf_token(token: bytes, timestamp: float, version: int) -> bytes:
    """Render ``token`` for the ``_xsrf`` cookie and for pages.

    :param token: the raw token bytes.
    :param timestamp: when the token was first issued (seconds; version 2
        records its whole part).
    :param version: 1 (plain hex) or 2 (masked afresh on every call).
    :raises ValueError: for any other version.
    """
    if version == 2:
        mask = os.urandom(_MASK_SIZE)
        masked = _apply_mask(mask, token)
        return b"2|%s|%s|%d" % (binascii.hexlify(mask), binascii.hexlify(masked), int(timestamp))
    if version == 1:
        return binascii.hexlify(token)
    raise ValueError(f"unknown XSRF cookie version {version!r}")


def _unhex(text: bytes) -> bytes | None:
    try:
        return binascii.unhexlify(text)
    except (binascii.Error, ValueError):
        return None


def _decode_xsrf_token(
    value: str | bytes | None,
) -> tuple[int | None, bytes | None, float | None]:
    """Read a token in either encoding.

    :returns: ``(version, raw token, timestamp)``. Version 1 tokens carry no
        timestamp; they get the current time, as if issued now.
        ``(None, None, None)`` when ``value`` is missing,
        empty, or not a well-formed token: an unknown version number, a mask
        that is not 4 bytes of hex, a non-numeric timestamp, or an empty token.
    """
    if not value:
        return _NOTHING
    data = value.encode("utf-8") if isinstance(value, str) else value
    head, bar, rest = data.partition(b"|")
    if not bar or not head.isdigit():
        # Version 1: hex if it is hex; otherwise the value stands for itself.
        raw = _unhex(data)
        return (1, data if raw is None else raw, time.time())
    if head != b"2":
        return _NOTHING
    fields = rest.split(b"|")
    if len(fields) != 3:
        return _NOTHING
    mask_hex, masked_hex, stamp = fields
    mask = _unhex(mask_hex)
    masked = _unhex(masked_hex)
    if mask is None or len(mask) != _MASK_SIZE or not masked:
        return _NOTHING
    if not stamp.isdigit() or len(stamp) > 18:
        return _NOTHING
    return (2, _apply_mask(mask, masked), float(int(stamp)))


def _xsrf_tokens_equal(a: bytes, b: bytes) -> bool:
    """Whether two raw tokens are equal, in time independent of where they differ."""
    return hmac.compare_digest(a, b)
