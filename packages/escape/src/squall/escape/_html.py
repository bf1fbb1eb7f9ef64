"""HTML/XML escaping and unescaping, and the :class:`SafeHTML` marker.

:func:`xhtml_escape` runs for every expression a template renders, so its
common case, a :class:`str` with nothing to escape, costs five single-character
searches and no allocation.
"""

from __future__ import annotations

import html

from ._text import _reject_text_argument

__all__ = ["SafeHTML", "xhtml_escape", "xhtml_unescape"]

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


class SafeHTML(str):
    """A :class:`str` that already is HTML: autoescaping templates insert it unchanged.

    squall follows the ``__html__`` convention of MarkupSafe and Jinja: when
    a template autoescapes (see :mod:`squall.template`), a value whose type
    defines ``__html__()`` is written as what that method returns, with no
    escape function applied (so MarkupSafe's ``Markup`` works too).
    ``SafeHTML.__html__`` returns the string itself.

    Marking text is a promise that it is safe to place in a page: wrap only
    text you escaped or wrote yourself, never raw user input. The mark
    belongs to the object alone: concatenating, formatting or slicing gives
    a plain :class:`str`, which a template escapes as usual.

    The template namespace of :class:`squall.web.RequestHandler` relies on
    it: there ``escape``, ``xhtml_escape`` and ``linkify`` return SafeHTML,
    and so does ``xsrf_form_html()``, so that templates written before
    autoescaping (``{{ escape(item) }}``, ``{{ xsrf_form_html() }}``, as in
    Tornado's classic overview) escape once instead of twice. Not in
    Tornado, where such expressions come out escaped twice. The functions of
    this module keep returning plain :class:`str`, as Tornado's do.
    """

    __slots__ = ()

    def __html__(self) -> SafeHTML:
        """The markup to insert: this string itself."""
        return self

    def __repr__(self) -> str:
        return f"SafeHTML({str.__repr__(self)})"


def _xhtml_escape_marked(value: str | bytes) -> SafeHTML:
    """:func:`xhtml_escape`, its result marked as :class:`SafeHTML`.

    squall.web's templates see it as ``escape`` and ``xhtml_escape``;
    :mod:`squall.template` renders with it as fast as with
    :func:`xhtml_escape` when it is the autoescape function.
    """
    return SafeHTML(xhtml_escape(value))
