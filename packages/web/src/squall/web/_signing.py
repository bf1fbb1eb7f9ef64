"""Signed, timestamped values: the wire format behind signed cookies.

A signed value carries a payload, the name it was issued for, the second it
was issued and an HMAC over all of that, so a server can hand it to a client
and later trust it again. Two formats exist, both byte-for-byte the ones
Tornado writes and reads, so a cookie signed by one server is accepted by the
other:

* **version 2** (the default)::

      2|<len>:<key version>|<len>:<timestamp>|<len>:<name>|<len>:<base64 payload>|<sha256 hex>

  Every field is length-prefixed, so no field can bleed into its neighbour;
  the signature is HMAC-SHA256 over everything before it, trailing ``|``
  included. The key version names which secret of a ``{version: secret}``
  dict signed the value, which is how secrets are rotated.

* **version 1** (legacy, read by default, written only on request)::

      <base64 payload>|<timestamp>|<sha1 hex>

  signed with HMAC-SHA1 over ``name + payload + timestamp``.

Decoding never raises for bad input: a value that is malformed, tampered with,
signed for another name or with another secret, too old, or dated more than
31 days ahead comes back as ``None``. Signatures are compared in constant time.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import time
from collections.abc import Callable, Mapping
from typing import TypeAlias

from squall.log import gen_log

__all__ = [
    "DEFAULT_SIGNED_VALUE_MIN_VERSION",
    "DEFAULT_SIGNED_VALUE_VERSION",
    "MAX_SUPPORTED_SIGNED_VALUE_VERSION",
    "MIN_SUPPORTED_SIGNED_VALUE_VERSION",
    "create_signed_value",
    "decode_signed_value",
    "get_signature_key_version",
]

#: Oldest format :func:`decode_signed_value` understands.
MIN_SUPPORTED_SIGNED_VALUE_VERSION = 1
#: Newest format :func:`create_signed_value` can write.
MAX_SUPPORTED_SIGNED_VALUE_VERSION = 2
#: Format :func:`create_signed_value` writes unless told otherwise.
DEFAULT_SIGNED_VALUE_VERSION = 2
#: Oldest format :func:`decode_signed_value` accepts unless told otherwise.
DEFAULT_SIGNED_VALUE_MIN_VERSION = 1

#: A single secret, or secrets keyed by version for rotation.
_Secret: TypeAlias = "str | bytes | Mapping[int, str | bytes]"

_SECONDS_PER_DAY = 86400
# A value claiming to be issued further ahead than this was not issued by us.
_MAX_CLOCK_SKEW = 31 * _SECONDS_PER_DAY
# Longest digit run parsed as a number: ample for any length or timestamp, and
# far below the size at which int() refuses to parse a string.
_MAX_DIGITS = 18


def _to_bytes(text: str | bytes, what: str) -> bytes:
    if isinstance(text, bytes):
        return text
    if isinstance(text, str):
        return text.encode("utf-8")
    raise TypeError(f"{what} must be str or bytes, not {type(text).__name__}")


def _pick_secret(secret: _Secret, key_version: int | None) -> bytes | None:
    """The key to use for ``key_version``; ``None`` when a dict has no such key."""
    if isinstance(secret, (str, bytes)):
        # A lone secret signs every key version alike (Tornado does the same).
        return _to_bytes(secret, "secret")
    if key_version is None or key_version not in secret:
        return None
    return _to_bytes(secret[key_version], "secret")


def _field(data: bytes) -> bytes:
    return b"%d:%s" % (len(data), data)


def _sign_v2(key: bytes, signed_part: bytes) -> bytes:
    return hmac.new(key, signed_part, hashlib.sha256).hexdigest().encode("ascii")


def _sign_v1(key: bytes, *pieces: bytes) -> bytes:
    return hmac.new(key, b"".join(pieces), hashlib.sha1).hexdigest().encode("ascii")


def create_signed_value(
    secret: _Secret,
    name: str,
    value: str | bytes,
    version: int | None = None,
    clock: Callable[[], float] | None = None,
    key_version: int | None = None,
) -> bytes:
    """Sign and timestamp ``value`` so that :func:`decode_signed_value` can verify it.

    :param secret: the signing key: a :class:`str` or :class:`bytes`, or a dict
        mapping key versions to keys (then ``key_version`` picks one).
    :param name: what the value is for (a cookie name); decoding under
        another name fails.
    :param value: the payload, text (encoded as UTF-8) or bytes.
    :param version: the format, 1 or 2 (default
        :data:`DEFAULT_SIGNED_VALUE_VERSION`).
    :param clock: returns the current time in seconds (default
        :func:`time.time`); the timestamp is its whole part.
    :param key_version: recorded in a version 2 value; required with a dict
        secret.
    :returns: the signed value as ASCII-safe bytes (the name is kept as UTF-8).
    :raises ValueError: for an unknown ``version``, a dict secret without
        ``key_version``, or a dict secret with version 1 (which has no key
        versions). Tornado raises :class:`AssertionError` for the last two.
    :raises KeyError: if ``key_version`` is not a key of the dict secret.
    """
    if version is None:
        version = DEFAULT_SIGNED_VALUE_VERSION
    now = int((clock or time.time)())
    stamp = b"%d" % now
    payload = base64.b64encode(_to_bytes(value, "value"))
    name_bytes = _to_bytes(name, "name")
    if version == 2:
        if key_version is None and not isinstance(secret, (str, bytes)):
            raise ValueError("key_version is required when secret is a dict of keys")
        key = _pick_secret(secret, key_version)
        if key is None:
            raise KeyError(f"no secret for key version {key_version!r}")
        signed_part = b"2|%s|%s|%s|%s|" % (
            _field(b"%d" % (key_version or 0)),
            _field(stamp),
            _field(name_bytes),
            _field(payload),
        )
        return signed_part + _sign_v2(key, signed_part)
    if version == 1:
        if not isinstance(secret, (str, bytes)):
            raise ValueError("version 1 signed values cannot use a dict of keys")
        key = _to_bytes(secret, "secret")
        return b"|".join((payload, stamp, _sign_v1(key, name_bytes, payload, stamp)))
    raise ValueError(f"Unsupported version {version}")


def _number(digits: bytes) -> int | None:
    """An unsigned ASCII decimal, or ``None`` (no signs, spaces or huge runs)."""
    if 0 < len(digits) <= _MAX_DIGITS and digits.isdigit():
        return int(digits)
    return None


def _parse_v2(data: bytes) -> tuple[list[bytes], int] | None:
    """Split a version 2 value into its four fields.

    Returns ``([key version, timestamp, name, payload], offset of the
    signature)``, or ``None`` if the length-prefixed framing is broken.
    """
    fields: list[bytes] = []
    cursor = 2  # past "2|"
    for _ in range(4):
        colon = data.find(b":", cursor)
        size = _number(data[cursor:colon]) if colon >= 0 else None
        if size is None:
            return None
        start = colon + 1
        end = start + size
        if data[end : end + 1] != b"|":
            return None
        fields.append(data[start:end])
        cursor = end + 1
    return fields, cursor


def _stamp_ok(stamp: bytes, now: float, max_age_days: float) -> bool:
    """Whether a timestamp field is well formed, not expired and not far in the future."""
    issued = _number(stamp)
    if issued is None:
        return False
    if issued < now - max_age_days * _SECONDS_PER_DAY:
        gen_log.warning("signed value rejected: expired")
        return False
    if issued > now + _MAX_CLOCK_SKEW:
        gen_log.warning("signed value rejected: dated in the future")
        return False
    return True


def _unbase64(payload: bytes) -> bytes | None:
    try:
        return base64.b64decode(payload, validate=True)
    except (binascii.Error, ValueError):
        return None


def _open_v2(
    secret: _Secret, name: bytes, data: bytes, max_age_days: float, now: float
) -> bytes | None:
    parsed = _parse_v2(data)
    if parsed is None:
        return None
    (key_field, stamp, signed_name, payload), sig_at = parsed
    key_version = _number(key_field)
    key = None if key_version is None else _pick_secret(secret, key_version)
    if key is None:
        return None
    if not hmac.compare_digest(data[sig_at:], _sign_v2(key, data[:sig_at])):
        gen_log.warning("signed value rejected: bad signature")
        return None
    if signed_name != name or not _stamp_ok(stamp, now, max_age_days):
        return None
    return _unbase64(payload)


def _open_v1(
    secret: _Secret, name: bytes, data: bytes, max_age_days: float, now: float
) -> bytes | None:
    if not isinstance(secret, (str, bytes)):
        return None  # version 1 predates key rotation
    pieces = data.split(b"|")
    if len(pieces) != 3:
        return None
    payload, stamp, signature = pieces
    expected = _sign_v1(_to_bytes(secret, "secret"), name, payload, stamp)
    if not hmac.compare_digest(signature, expected):
        gen_log.warning("signed value rejected: bad signature")
        return None
    # Without length prefixes, "123" + "0" could pose as a later timestamp if
    # leading zeros were allowed; version 1 never writes them.
    if stamp.startswith(b"0") or not _stamp_ok(stamp, now, max_age_days):
        return None
    return _unbase64(payload)


def decode_signed_value(
    secret: _Secret,
    name: str,
    value: str | bytes | None,
    max_age_days: float = 31,
    clock: Callable[[], float] | None = None,
    min_version: int | None = None,
) -> bytes | None:
    """Verify a value made by :func:`create_signed_value` and return its payload.

    :param secret: the key, or a dict of keys by version (a version 2 value
        names its key version; a dict secret cannot verify version 1 values).
    :param name: the name the value was signed for.
    :param value: the signed value; ``None`` or empty gives ``None``.
    :param max_age_days: reject values issued longer ago than this (a float
        is fine).
    :param clock: returns the current time in seconds (default
        :func:`time.time`).
    :param min_version: oldest format to accept (default
        :data:`DEFAULT_SIGNED_VALUE_MIN_VERSION`); 2 refuses version 1 values.
    :returns: the payload bytes, or ``None`` if the value is malformed,
        tampered with, signed for another name or key, older than
        ``max_age_days``, or dated more than 31 days in the future (Tornado
        checks the future only for version 1; squall checks both).
    :raises ValueError: if ``min_version`` is above
        :data:`MAX_SUPPORTED_SIGNED_VALUE_VERSION`.
    """
    if min_version is None:
        min_version = DEFAULT_SIGNED_VALUE_MIN_VERSION
    if min_version > MAX_SUPPORTED_SIGNED_VALUE_VERSION:
        raise ValueError(f"Unsupported min_version {min_version}")
    if not value:
        return None
    data = _to_bytes(value, "value")
    now = (clock or time.time)()
    head = data.partition(b"|")[0]
    # A version 1 value opens with base64, whose length is a multiple of 4;
    # anything shorter before the first "|" is a format number.
    if len(head) % 4 == 0:
        if min_version > 1:
            return None
        return _open_v1(secret, _to_bytes(name, "name"), data, max_age_days, now)
    if head == b"2":
        return _open_v2(secret, _to_bytes(name, "name"), data, max_age_days, now)
    return None


def get_signature_key_version(value: str | bytes) -> int | None:
    """The key version recorded in a version 2 signed value.

    Lets an application tell which of its rotating secrets signed a value
    (for instance to re-sign it with the newest one). Returns ``None`` for
    version 1 values and for anything that does not parse. The signature is
    not checked.
    """
    data = _to_bytes(value, "value")
    if not data.startswith(b"2|"):
        return None
    parsed = _parse_v2(data)
    return None if parsed is None else _number(parsed[0][0])
