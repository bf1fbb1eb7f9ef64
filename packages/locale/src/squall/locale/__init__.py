"""Localized strings, plural forms, dates, lists and numbers (Tornado's ``tornado.locale``).

Load the application's translations once at start-up, either CSV files with
:func:`load_translations` or compiled gettext catalogues with
:func:`load_gettext_translations`, then pick a :class:`Locale` per user with
:func:`get`, which falls back to the closest supported locale (``es_GT`` to
``es`` to the default)::

    squall.locale.load_translations("translations")
    locale = squall.locale.get("es_GT")
    text = locale.translate("%(n)d comment", "%(n)d comments", n) % {"n": n}

Without any loaded translations :meth:`Locale.translate` returns the message
it was given (or the plural form when ``count != 1``).

:func:`parse_accept_language` and :func:`get_from_accept_language` are squall
additions: the Accept-Language parsing Tornado keeps inside its request
handler, here for any caller.
"""

from __future__ import annotations

from types import FunctionType

from ._accept import get_from_accept_language, parse_accept_language
from ._csv import load_translations
from ._gettext import load_gettext_translations
from ._locale import (
    CONTEXT_SEPARATOR,
    CSVLocale,
    GettextLocale,
    Locale,
    get,
    get_supported_locales,
    set_default_locale,
)
from ._names import LOCALE_NAMES

__all__ = [
    "CONTEXT_SEPARATOR",
    "LOCALE_NAMES",
    "CSVLocale",
    "GettextLocale",
    "Locale",
    "get",
    "get_from_accept_language",
    "get_supported_locales",
    "load_gettext_translations",
    "load_translations",
    "parse_accept_language",
    "set_default_locale",
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
