"""Text helpers for the web: HTML, URL and JSON escapes plus bytes/str conversion.

The public API of Tornado's ``tornado.escape``: :func:`xhtml_escape`,
:func:`url_escape`, :func:`json_encode` and their inverses; the byte/unicode
conversions :func:`utf8` and :func:`to_unicode` (with the deprecated aliases
:func:`native_str` and :func:`to_basestring`) and :func:`recursive_unicode`;
and :func:`linkify`, :func:`squeeze` and :func:`parse_qs_bytes`.  Beyond
Tornado, :class:`SafeHTML` marks text that is already HTML, which
autoescaping templates then insert unchanged.

Many of these have near-equivalents in the standard library (:mod:`html`,
:mod:`urllib.parse`, :mod:`json`); the differences are mostly in how they
treat bytes and text.
"""

from __future__ import annotations

from types import FunctionType

from ._html import SafeHTML, xhtml_escape, xhtml_unescape
from ._json import json_decode, json_encode
from ._linkify import linkify
from ._text import (
    native_str,
    recursive_unicode,
    squeeze,
    to_basestring,
    to_unicode,
    unicode_type,
    utf8,
)
from ._url import parse_qs_bytes, url_escape, url_unescape

__all__ = [
    "SafeHTML",
    "json_decode",
    "json_encode",
    "linkify",
    "native_str",
    "parse_qs_bytes",
    "recursive_unicode",
    "squeeze",
    "to_basestring",
    "to_unicode",
    "unicode_type",
    "url_escape",
    "url_unescape",
    "utf8",
    "xhtml_escape",
    "xhtml_unescape",
]


def _publish() -> None:
    # Report public classes and functions under this package rather than the
    # private module that defines them: clearer reprs and tracebacks, and
    # pickles that name the public path.
    for name in __all__:
        obj = globals()[name]
        if isinstance(obj, (type, FunctionType)) and obj.__module__.startswith(__name__ + "._"):
            obj.__module__ = __name__


_publish()
