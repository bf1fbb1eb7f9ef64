"""Byte/unicode conversions and small string helpers.

These are the functions the rest of squall calls on every request and every
template render (:func:`utf8`, :func:`to_unicode`), so each one starts with an
exact-type fast path for the common case before falling back to the general
``isinstance`` checks that also accept subclasses.
"""

from __future__ import annotations

import re
from typing import Any, NoReturn, overload

__all__ = [
    "native_str",
    "recursive_unicode",
    "squeeze",
    "to_basestring",
    "to_unicode",
    "unicode_type",
    "utf8",
]

#: Alias for :class:`str`, kept because Tornado exposes it as ``unicode_type``.
unicode_type = str


def _raise_type_error(value: object, expected: str = "bytes, unicode, or None") -> NoReturn:
    """Raise the :class:`TypeError` that Tornado raises for a bad string argument."""
    raise TypeError(f"Expected {expected}; got {type(value)!r}")


def _reject_text_argument(value: object) -> NoReturn:
    """Raise :class:`TypeError` for a bad argument to a function that takes text or bytes.

    Uses Tornado's message, except for ``None`` (where Tornado fails with an
    :class:`AttributeError`), whose message does not offer ``None``.
    """
    if value is None:
        _raise_type_error(value, "bytes or unicode")
    _raise_type_error(value)


@overload
def utf8(value: bytes) -> bytes: ...
@overload
def utf8(value: str) -> bytes: ...
@overload
def utf8(value: None) -> None: ...
def utf8(value: str | bytes | None) -> bytes | None:
    """Encode text as UTF-8 bytes; bytes and ``None`` pass through.

    :param value: a :class:`str` (encoded as UTF-8), :class:`bytes` or ``None``
        (both returned unchanged, the very same object).
    :returns: :class:`bytes` for text input; bytes or ``None`` as given.
    :raises TypeError: for any other type, with Tornado's message
        ``"Expected bytes, unicode, or None; got <class '...'>"``.
    :raises UnicodeEncodeError: if ``value`` holds lone surrogates.
    """
    # Exact str first: the common case on the request path.
    if value.__class__ is str:
        return value.encode()
    if value is None or isinstance(value, bytes):
        return value
    if isinstance(value, str):
        return value.encode("utf-8")
    _raise_type_error(value)


@overload
def to_unicode(value: str) -> str: ...
@overload
def to_unicode(value: bytes) -> str: ...
@overload
def to_unicode(value: None) -> None: ...
def to_unicode(value: str | bytes | None) -> str | None:
    """Decode UTF-8 bytes to :class:`str`; text and ``None`` pass through.

    :param value: :class:`bytes` (decoded as UTF-8, strictly), or a :class:`str`
        or ``None`` (both returned unchanged, the very same object).
    :returns: the decoded text, or ``value`` itself.
    :raises TypeError: for any other type, with Tornado's message
        ``"Expected bytes, unicode, or None; got <class '...'>"``.
    :raises UnicodeDecodeError: for bytes that do not decode as UTF-8.
    """
    if isinstance(value, str) or value is None:
        return value
    if isinstance(value, bytes):
        return value.decode()
    _raise_type_error(value)


#: Deprecated alias for :func:`to_unicode` (a Python 2 transition helper in Tornado).
native_str = to_unicode
#: Deprecated alias for :func:`to_unicode` (a Python 2 transition helper in Tornado).
to_basestring = to_unicode


def recursive_unicode(obj: Any) -> Any:
    """Return a copy of nested dicts, lists and tuples with all bytes decoded to text.

    Dicts (keys and values), lists and tuples are rebuilt as plain
    :class:`dict`, :class:`list` and :class:`tuple` (subclasses, named tuples
    included, come back as the base type); :class:`bytes` are decoded as UTF-8;
    anything else, :class:`bytearray` and sets included, is returned as is.

    :raises UnicodeDecodeError: if some bytes are not valid UTF-8.
    """
    if isinstance(obj, dict):
        return {recursive_unicode(k): recursive_unicode(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [recursive_unicode(item) for item in obj]
    if isinstance(obj, tuple):
        return tuple(recursive_unicode(item) for item in obj)
    if isinstance(obj, bytes):
        return obj.decode("utf-8")
    return obj


# Every ASCII control character and the space: the characters squeeze() folds.
_SQUEEZE_RE = re.compile("[\x00-\x20]+")


def squeeze(value: str) -> str:
    """Fold every stretch of whitespace and control characters into one blank.

    Runs of characters ``\\x00`` to ``\\x20`` become a single space, then the
    result is stripped (:meth:`str.strip`, so leading and trailing Unicode
    whitespace such as a no-break space goes too).

    :raises TypeError: if ``value`` is not a :class:`str` (Tornado raises the
        same type, with the :mod:`re` module's message).
    """
    if not isinstance(value, str):
        _raise_type_error(value, "unicode")
    return _SQUEEZE_RE.sub(" ", value).strip()
