"""``Accept-Language`` parsing, and picking a supported locale from the result.

Tornado does this inside ``RequestHandler.get_browser_locale``; squall keeps
it here, next to the locales, so the web layer and anything else that sees
the header share one parser. Both functions are squall additions.
"""

from __future__ import annotations

import re

from . import _locale
from ._locale import Locale

__all__ = ["get_from_accept_language", "parse_accept_language"]

# A q-value as a plain decimal ("1", "0.8", ".5"); anything else is malformed.
_QVALUE = re.compile(r"(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)")
# A language range (RFC 4647): letters, then dash-separated subtags; "_" is
# accepted too, since some clients send POSIX-style codes ("en_US").
_LANGUAGE_RANGE = re.compile(r"[A-Za-z]{1,8}(?:[-_][A-Za-z0-9]{1,8})*")


def _quality(params: list[str]) -> float:
    """Return the q-value of one language range's parameters.

    Only the first parameter is looked at, as Tornado does; it is the
    q-value when its name is ``q`` (in any case). A missing q-value means
    1.0, a malformed one 0.0 (the range is dropped).
    """
    if not params:
        return 1.0
    name, eq, value = params[0].partition("=")
    if not eq or name.strip().lower() != "q":
        return 1.0
    value = value.strip()
    if not _QVALUE.fullmatch(value):
        return 0.0
    return float(value)


def parse_accept_language(header: str | None) -> list[str]:
    """List the language codes an ``Accept-Language`` header asks for, most preferred first.

    Codes are ordered by q-value, highest first; codes with equal q-values
    keep their order in the header. Dashes become underscores and codes are
    cased ``lang_COUNTRY`` (``en-us`` gives ``en_US``). Ranges with ``q=0``,
    a malformed q-value (``q=abc``, ``q=-1``, ``q=``), and entries that are
    not language tags (empty, ``*``, stray punctuation) are left out; each
    code is listed once. ``None`` or
    an empty header gives ``[]``.

    A squall addition: Tornado parses the header inside
    ``RequestHandler.get_browser_locale``. The order matches Tornado's;
    unlike Tornado, tags are stripped of spaces before a ``;`` (``de ;q=1``),
    ``Q=`` is read as ``q=`` (parameter names are case-insensitive), and
    q-values must be plain decimals (Tornado also takes ``1e-3``, ``inf``).
    """
    if not header:
        return []
    ranked: list[tuple[float, str]] = []
    for entry in header.split(","):
        tag, *params = entry.strip().split(";")
        tag = tag.strip()
        if not _LANGUAGE_RANGE.fullmatch(tag):
            continue
        quality = _quality(params)
        if quality > 0:
            ranked.append((quality, _locale._normalize_code(tag)))
    # sorted() is stable, so equal q-values keep the header's order.
    ranked.sort(key=lambda pair: pair[0], reverse=True)
    codes: list[str] = []
    for _, code in ranked:
        if code not in codes:
            codes.append(code)
    return codes


def get_from_accept_language(header: str | None) -> Locale:
    """Choose which supported :class:`Locale` best serves the languages in ``header``.

    Same as ``get(*parse_accept_language(header))``: without a header, or
    when nothing in it is supported, this is the default locale. A squall
    addition, the equivalent of Tornado's
    ``RequestHandler.get_browser_locale()``.
    """
    return _locale.get(*parse_accept_language(header))
