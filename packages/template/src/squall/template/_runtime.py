"""Helpers the generated code calls while rendering.

Rendering works on ``str`` pieces and encodes once at the end.  Values are
converted the way Tornado converts them (``str`` and ``bytes`` as text, any
other value through ``str()``), so the bytes produced are the same.  Bytes
values that are not valid UTF-8 survive a ``{% raw %}`` untouched thanks to
the ``surrogateescape`` round trip.

When autoescaping, a value whose type defines ``__html__()`` (such as
:class:`squall.escape.SafeHTML` or MarkupSafe's ``Markup``) is already
markup: it is written as ``value.__html__()``, whatever the autoescape
function.  The generated code tests exact ``str`` first, so plain strings
never pay for that check.
"""

from __future__ import annotations

import datetime
from collections.abc import Callable
from typing import Any

from squall.escape import json_encode, linkify, squeeze, url_escape, utf8, xhtml_escape
from squall.escape._html import _xhtml_escape_marked

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


def _markup(value: Any) -> str:
    """What an ``__html__`` value puts in the page: its ``__html__()``, unescaped."""
    return _from_result(value.__class__.__html__(value), "__html__()")


def xhtml_any(value: Any) -> str:
    """Escape any value like ``xhtml_escape`` after Tornado's conversion.

    Values whose type defines ``__html__`` are markup already and come out
    as ``value.__html__()``.
    """
    cls = value.__class__
    if cls is _int or cls is _float:
        # str() of an int or float never contains a character to escape.
        return _str(value)
    text: str
    if cls is _str:
        text = value
    elif cls is _bytes:
        text = value.decode("utf-8")
    elif hasattr(value, "__html__") and hasattr(cls, "__html__"):
        # The instance test first: a miss there is far cheaper than on the
        # type; the type test then ignores instance attributes (and proxies).
        return _markup(value)
    elif isinstance(value, _str):
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

    When ``func`` is squall's :func:`~squall.escape.xhtml_escape` (or the
    variant returning :class:`~squall.escape.SafeHTML` that squall.web's
    templates see under that name) the generated code escapes ``str``
    values inline (``fast_class`` is ``str``) and hands every other value
    to :func:`xhtml_any`.  Any other function receives the value as UTF-8
    bytes, exactly like Tornado's generated code, and its result (str or
    bytes) is used as text.  Either way, values whose type defines
    ``__html__`` skip the escape function.
    """
    if func is xhtml_escape or func is _xhtml_escape_marked:
        return _str, xhtml_any

    def escape_with(value: Any) -> str:
        cls = value.__class__
        if (
            cls is not _str
            and cls is not _bytes
            and hasattr(value, "__html__")
            and hasattr(cls, "__html__")
        ):
            return _markup(value)
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
