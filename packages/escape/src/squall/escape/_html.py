"""HTML/XML escaping and unescaping.

:func:`xhtml_escape` runs for every expression a template renders, so its
common case, a :class:`str` with nothing to escape, costs five single-character
searches and no allocation.
"""

from __future__ import annotations

import html

from ._text import _reject_text_argument

__all__ = ["xhtml_escape", "xhtml_unescape"]

_unescape = html.unescape


def _xhtml_escape_str(s: str) -> str:
    """Escape ``& < > " '`` in a :class:`str` (no type check; internal fast path)."""
    if "&" in s or "<" in s or ">" in s or '"' in s or "'" in s:
        return (
            s.replace("&", "&amp;")
            .replace("<", "&lt;")
            .replace(">", "&gt;")
            .replace('"', "&quot;")
            .replace("'", "&#x27;")
        )
    return s


def _as_text(value: str | bytes) -> str:
    """Return ``value`` as a plain :class:`str`, decoding bytes as UTF-8."""
    if isinstance(value, bytes):
        return value.decode("utf-8")
    if isinstance(value, str):
        return str(value)
    _reject_text_argument(value)


def xhtml_escape(value: str | bytes) -> str:
    """Make ``value`` safe to place in HTML or XML text.

    The five characters ``<``, ``>``, ``"``, ``'`` and ``&`` become entity
    references (the single quote as ``&#x27;``, like :func:`html.escape` and
    Tornado 6.4+). Inside an attribute the result is only safe if the
    attribute value is quoted.

    :param value: :class:`str`, or :class:`bytes` decoded as UTF-8.
    :returns: always a :class:`str`.
    :raises TypeError: for any other type. Tornado raises
        :class:`AttributeError` for ``None``; squall raises :class:`TypeError`.
    """
    if value.__class__ is not str:
        value = _as_text(value)
    if "&" in value or "<" in value or ">" in value or '"' in value or "'" in value:
        return (
            value.replace("&", "&amp;")
            .replace("<", "&lt;")
            .replace(">", "&gt;")
            .replace('"', "&quot;")
            .replace("'", "&#x27;")
        )
    return value


def xhtml_unescape(value: str | bytes) -> str:
    """Turn the character references in HTML or XML text back into characters.

    Named character references are those of :mod:`html.entities` (HTML5),
    numeric ones are ``&#NN;`` and ``&#xNN;``; the rules are those of
    :func:`html.unescape` (a few named references work without the
    semicolon, invalid code points become U+FFFD). Unknown references are
    left as they are.

    :param value: :class:`str`, or :class:`bytes` decoded as UTF-8.
    :returns: always a :class:`str`.
    :raises TypeError: for any other type, ``None`` included.
    """
    return _unescape(value if value.__class__ is str else _as_text(value))
