"""Helpers the generated code calls while rendering.

Rendering works on ``str`` pieces and encodes once at the end.  Values are
converted the way Tornado converts them (``str`` and ``bytes`` as text, any
other value through ``str()``), so the bytes produced are the same.  Bytes
values that are not valid UTF-8 survive a ``{% raw %}`` untouched thanks to
the ``surrogateescape`` round trip.
"""

from __future__ import annotations

import datetime
from collections.abc import Callable
from typing import Any

from squall.escape import json_encode, linkify, squeeze, url_escape, utf8, xhtml_escape

__all__ = [
    "ENCODING_ERRORS",
    "NeverStr",
    "apply_filter",
    "default_namespace",
    "escaper",
    "to_bytes",
    "to_text",
    "xhtml_any",
]

ENCODING_ERRORS = "surrogateescape"

_str = str
_bytes = bytes
_int = int
_float = float


class NeverStr:
    """Stands in for ``str`` in the generated fast-path test when it must fail.

    The generated code escapes plain ``str`` values inline only when the
    autoescape function is :func:`squall.escape.xhtml_escape`; for any other
    function it compares ``value.__class__`` with this class instead, which
    no value has, so every value takes the generic path.
    """

    __slots__ = ()


def to_text(value: Any) -> str:
    """Convert an expression value for unescaped output, as Tornado does."""
    if isinstance(value, _str):
        return value
    if isinstance(value, _bytes):
        return value.decode("utf-8", ENCODING_ERRORS)
    return _str(value)


def to_bytes(value: Any) -> bytes:
    """Convert an expression value to the bytes Tornado hands to filters."""
    if isinstance(value, _str):
        return value.encode("utf-8")
    if isinstance(value, _bytes):
        return value
    return _str(value).encode("utf-8")


def xhtml_any(value: Any) -> str:
    """Escape any value like ``xhtml_escape`` after Tornado's conversion."""
    cls = value.__class__
    if cls is _int or cls is _float:
        # str() of an int or float never contains a character to escape.
        return _str(value)
    if isinstance(value, _str):
        text = value
    elif isinstance(value, _bytes):
        text = value.decode("utf-8")
    else:
        text = _str(value)
    return (
        text.replace("&", "&amp;")
        .replace("<", "&lt;")
        .replace(">", "&gt;")
        .replace('"', "&quot;")
        .replace("'", "&#x27;")
    )


def _from_result(result: Any, what: str) -> str:
    if isinstance(result, _str):
        return result
    if isinstance(result, _bytes):
        return result.decode("utf-8", ENCODING_ERRORS)
    raise TypeError(f"{what} must return str or bytes, got {type(result).__name__}")


def escaper(func: Any) -> tuple[type, Callable[[Any], str]]:
    """Pick the escaping path for one render: ``(fast_class, slow_escape)``.

    When ``func`` is squall's :func:`~squall.escape.xhtml_escape` the
    generated code escapes ``str`` values inline (``fast_class`` is ``str``)
    and hands every other value to :func:`xhtml_any`.  Any other function
    receives the value as UTF-8 bytes, exactly like Tornado's generated
    code, and its result (str or bytes) is used as text.
    """
    if func is xhtml_escape:
        return _str, xhtml_any

    def escape_with(value: Any) -> str:
        return _from_result(func(to_bytes(value)), "autoescape function")

    return NeverStr, escape_with


def apply_filter(func: Callable[[bytes], Any], text: str) -> str:
    """Run an ``{% apply %}`` function: bytes in (as Tornado), text out."""
    return _from_result(func(text.encode("utf-8", ENCODING_ERRORS)), "apply function")


def default_namespace() -> dict[str, Any]:
    """The names every template sees, as in Tornado (minus the loader's)."""
    return {
        "escape": xhtml_escape,
        "xhtml_escape": xhtml_escape,
        "url_escape": url_escape,
        "json_encode": json_encode,
        "squeeze": squeeze,
        "linkify": linkify,
        "datetime": datetime,
        "_tt_utf8": utf8,  # for internal use
        "_tt_string_types": (str, bytes),
    }
