"""The opening handshake of RFC 6455 (section 4), both sides, as plain functions on header values.

Server side, :func:`check_upgrade_request` looks at a request's method and
headers and says why it cannot be upgraded (status, message, extra headers),
with Tornado's status codes and messages: 400 for a missing or wrong
``Upgrade``/``Connection``/``Sec-WebSocket-Key``, 426 with
``Sec-WebSocket-Version: 13`` for any other version. :func:`accept_key`
computes ``Sec-WebSocket-Accept``; :func:`parse_subprotocols` reads
``Sec-WebSocket-Protocol``.

Client side, :func:`new_client_key` makes the nonce and
:func:`check_upgrade_response` validates the server's 101 answer.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import os
from collections.abc import Mapping
from typing import NamedTuple

__all__ = [
    "HandshakeRefusal",
    "accept_key",
    "check_upgrade_request",
    "check_upgrade_response",
    "has_token",
    "new_client_key",
    "parse_subprotocols",
]

# RFC 6455 section 1.3: appended to the client's key before hashing.
_KEY_SUFFIX = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
_VERSION = "13"


class HandshakeRefusal(NamedTuple):
    """Why a request cannot become a WebSocket: the answer to send instead."""

    status: int
    message: str
    headers: tuple[tuple[str, str], ...] = ()


_BAD_UPGRADE = HandshakeRefusal(400, 'Can "Upgrade" only to "WebSocket".')
_BAD_CONNECTION = HandshakeRefusal(400, '"Connection" must be "Upgrade".')
_BAD_KEY = HandshakeRefusal(400, "Missing/Invalid WebSocket headers")
_BAD_VERSION = HandshakeRefusal(426, "", (("Sec-WebSocket-Version", _VERSION),))
_BAD_METHOD = HandshakeRefusal(405, "WebSocket upgrades use GET", (("Allow", "GET"),))


def accept_key(key: str) -> str:
    """``Sec-WebSocket-Accept`` for a client's ``Sec-WebSocket-Key``."""
    digest = hashlib.sha1(key.encode("ascii") + _KEY_SUFFIX).digest()
    return base64.b64encode(digest).decode("ascii")


def has_token(value: str | None, token: str) -> bool:
    """Whether the comma-separated header ``value`` lists ``token`` (case-insensitive)."""
    if not value:
        return False
    token = token.lower()
    return any(part.strip().lower() == token for part in value.split(","))


def _key_ok(key: str | None) -> bool:
    """A key is the base64 form of 16 bytes: 24 characters ending in ``==``."""
    if key is None:
        return False
    key = key.strip()
    if len(key) != 24:
        return False
    try:
        return len(base64.b64decode(key, validate=True)) == 16
    except (binascii.Error, ValueError):
        return False


def check_upgrade_request(method: str, headers: Mapping[str, str]) -> HandshakeRefusal | None:
    """None when the request is a valid WebSocket upgrade, else the answer to give.

    ``headers`` is looked up case-insensitively by the caller's mapping
    (an :class:`~squall.httputil.HTTPHeaders`). Checks run in this order:
    method (405), ``Upgrade`` (400), ``Connection`` (400), version (426),
    key (400).
    """
    if method != "GET":
        return _BAD_METHOD
    if not has_token(headers.get("Upgrade"), "websocket"):
        return _BAD_UPGRADE
    if not has_token(headers.get("Connection"), "upgrade"):
        return _BAD_CONNECTION
    if (headers.get("Sec-WebSocket-Version") or "").strip() != _VERSION:
        return _BAD_VERSION
    if not _key_ok(headers.get("Sec-WebSocket-Key")):
        return _BAD_KEY
    return None


def parse_subprotocols(value: str | None) -> list[str]:
    """The subprotocols a client asks for, in its order of preference."""
    if not value:
        return []
    return [name for name in (part.strip() for part in value.split(",")) if name]


def new_client_key() -> str:
    """A fresh ``Sec-WebSocket-Key``: 16 random bytes, base64-encoded."""
    return base64.b64encode(os.urandom(16)).decode("ascii")


def check_upgrade_response(
    key: str, status: int, headers: Mapping[str, str], subprotocols: list[str] | None = None
) -> str | None:
    """Why the server's answer to our upgrade is unacceptable, or None when it is fine.

    ``key`` is what the client sent; ``subprotocols`` what it offered (the
    server may pick one of them or none).
    """
    if status != 101:
        return f"expected status 101, got {status}"
    if not has_token(headers.get("Upgrade"), "websocket"):
        return "the answer does not upgrade to websocket"
    if not has_token(headers.get("Connection"), "upgrade"):
        return "the answer's Connection field lacks upgrade"
    if (headers.get("Sec-WebSocket-Accept") or "").strip() != accept_key(key):
        return "Sec-WebSocket-Accept does not match the key"
    chosen = headers.get("Sec-WebSocket-Protocol")
    if chosen is not None and chosen.strip() not in (subprotocols or []):
        return f"the server chose a subprotocol that was not offered: {chosen!r}"
    return None
