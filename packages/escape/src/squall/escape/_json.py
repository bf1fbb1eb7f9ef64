"""JSON encoding that is safe to embed in HTML, and decoding from text or bytes."""

from __future__ import annotations

import json
from typing import Any

__all__ = ["json_decode", "json_encode"]

# The same settings as json.dumps() with no arguments (ASCII output, ", " and
# ": " separators); calling the encoder directly skips dumps()' argument checks.
_encode = json.JSONEncoder().encode


def json_encode(value: Any) -> str:
    """JSON-encode ``value``, safe to embed in an HTML ``<script>`` element.

    The output is that of :func:`json.dumps` with default settings (non-ASCII
    characters as ``\\uXXXX``), except that every ``</`` is written ``<\\/``
    so that the text cannot close the script element.

    :raises TypeError: if ``value`` holds something JSON cannot represent
        (bytes included).
    """
    return _encode(value).replace("</", "<\\/")


def json_decode(value: str | bytes) -> Any:
    """Parse the JSON document ``value`` into Python data.

    Both :class:`str` and :class:`bytes` are accepted; bytes may be UTF-8,
    UTF-16 or UTF-32, with or without a byte-order mark (as in
    :func:`json.loads`).

    :raises json.JSONDecodeError: (a :class:`ValueError`) for invalid JSON.
    :raises TypeError: for other argument types.
    """
    return json.loads(value)
