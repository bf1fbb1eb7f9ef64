"""Locale objects and the module-wide translation registry.

This module holds the state that :func:`~squall.locale.load_translations`,
:func:`~squall.locale.load_gettext_translations` and
:func:`~squall.locale.set_default_locale` change (the loaded catalogues, the
supported codes, the default code), the :class:`Locale` classes that read it,
and the date, list and number formatting every locale shares.
"""

from __future__ import annotations

import datetime
import gettext
import logging
from collections.abc import Iterable
from typing import Any, ClassVar, TypeAlias

from ._names import LOCALE_NAMES

__all__ = [
    "CONTEXT_SEPARATOR",
    "CSVLocale",
    "GettextLocale",
    "Locale",
    "get",
    "get_supported_locales",
    "set_default_locale",
]

#: Joins a pgettext context and its message into one catalogue key, as GNU
#: gettext's ``msgctxt`` does in compiled ``.mo`` files.
CONTEXT_SEPARATOR = "\x04"

_log = logging.getLogger("squall.general")

#: A CSV catalogue: plural kind ("plural", "singular", "unknown") -> source -> translation.
_CSVTable: TypeAlias = dict[str, dict[str, str]]
_Catalogue: TypeAlias = _CSVTable | gettext.NullTranslations

_default_locale = "en_US"
_translations: dict[str, _Catalogue] = {}
_supported_locales: frozenset[str] = frozenset([_default_locale])
_use_gettext = False

_MONTHS = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)
_WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")

# Locales whose clock reads 12-hour; every other locale uses a 24-hour clock.
_TWELVE_HOUR_LOCALES = frozenset({"en", "en_US", "zh_CN"})
# Language subtags written right to left (the three Tornado marks as such).
_RTL_LANGUAGES = frozenset({"fa", "ar", "he"})


def _utcnow() -> datetime.datetime:
    """Return the current time as a naive UTC datetime.

    :meth:`Locale.format_date` reads the clock only through this function, so
    tests can replace it (``monkeypatch.setattr(_locale, "_utcnow", ...)``).
    """
    return datetime.datetime.now(datetime.timezone.utc).replace(tzinfo=None)


def _install(translations: dict[str, _Catalogue], use_gettext: bool) -> None:
    """Replace the loaded catalogues (called by the two loaders)."""
    global _translations, _supported_locales, _use_gettext
    _translations = translations
    _use_gettext = use_gettext
    _supported_locales = frozenset([*translations, _default_locale])
    Locale._cache.clear()
    _log.debug("Supported locales: %s", sorted(_supported_locales))


def _reset() -> None:
    """Forget every loaded catalogue and restore the ``en_US`` default (for tests)."""
    global _default_locale
    _default_locale = "en_US"
    _install({}, use_gettext=False)


def _normalize_code(code: str) -> str:
    """Return ``code`` with dashes as underscores and ``lang_COUNTRY`` casing.

    Codes of more than two parts keep their casing (they never match).
    """
    code = code.replace("-", "_")
    parts = code.split("_")
    if len(parts) == 2:
        return parts[0].lower() + "_" + parts[1].upper()
    if len(parts) == 1:
        return code.lower()
    return code


def get(*locale_codes: str) -> Locale:
    """Pick the best supported :class:`Locale` among ``locale_codes``.

    Each code is tried in turn, first exactly (``es_GT``) and then by its
    language alone (``es`` for ``es_GT``); the first hit wins. When no code
    matches, the default locale (``en_US`` unless :func:`set_default_locale`
    changed it) is returned. Same as :meth:`Locale.get_closest`.
    """
    return Locale.get_closest(*locale_codes)


def set_default_locale(code: str) -> None:
    """Set the default locale.

    The default locale is the language the application's own strings are
    written in: it needs no translation file, is always supported, and is
    what :func:`get` returns when nothing closer is available.
    """
    global _default_locale, _supported_locales
    _default_locale = code
    _supported_locales = frozenset([*_translations, _default_locale])


def get_supported_locales() -> Iterable[str]:
    """Return the codes of every loaded locale plus the default locale."""
    return _supported_locales


class Locale:
    """A locale: translations plus locale-aware date, list and number formatting.

    Get instances from :func:`get`, :meth:`get_closest` or :meth:`get` after
    loading translations with :func:`~squall.locale.load_translations` or
    :func:`~squall.locale.load_gettext_translations`. The concrete class is
    :class:`CSVLocale` or :class:`GettextLocale`; :class:`Locale` itself
    cannot translate.
    """

    _cache: ClassVar[dict[str, Locale]] = {}

    @classmethod
    def get_closest(cls, *locale_codes: str) -> Locale:
        """Class-level form of :func:`get`: the first supported code, else the default.

        Each code has dashes turned into underscores and is cased
        ``lang_COUNTRY`` (``EN-us`` is tried as ``en_US``, then ``en``). Empty
        codes and codes of more than two parts are skipped.
        """
        for code in locale_codes:
            if not code:
                continue
            code = code.replace("-", "_")
            parts = code.split("_")
            if len(parts) > 2:
                continue
            if len(parts) == 2:
                code = parts[0].lower() + "_" + parts[1].upper()
            if code in _supported_locales:
                return cls.get(code)
            language = parts[0].lower()
            if language in _supported_locales:
                return cls.get(language)
        return cls.get(_default_locale)

    @classmethod
    def get(cls, code: str) -> Locale:
        """Return the :class:`Locale` for ``code``, which must be supported.

        Instances are cached per code; loading translations again empties the
        cache (Tornado keeps serving the stale instances).

        :raises AssertionError: if ``code`` is not in
            :func:`get_supported_locales` (as in Tornado).
        """
        locale = cls._cache.get(code)
        if locale is None:
            if code not in _supported_locales:
                raise AssertionError(f"locale {code!r} is not supported")
            catalogue = _translations.get(code)
            if catalogue is None:
                locale = CSVLocale(code, {})
            elif isinstance(catalogue, gettext.NullTranslations):
                locale = GettextLocale(code, catalogue)
            else:
                locale = CSVLocale(code, catalogue)
            cls._cache[code] = locale
        return locale

    def __init__(self, code: str) -> None:
        """Set :attr:`code`, :attr:`name`, :attr:`rtl` and translated month/day names.

        Calls :meth:`translate`, so subclasses set up their catalogue first;
        on :class:`Locale` itself this raises :exc:`NotImplementedError`.
        """
        self.code = code
        self.name = LOCALE_NAMES.get(code, {}).get("name", "Unknown")
        # Tornado compares prefixes ("arn" counts as Arabic); we compare the
        # language subtag.
        self.rtl = code.replace("-", "_").split("_")[0] in _RTL_LANGUAGES
        self._months = [self.translate(month) for month in _MONTHS]
        self._weekdays = [self.translate(day) for day in _WEEKDAYS]

    def translate(
        self,
        message: str,
        plural_message: str | None = None,
        count: int | None = None,
    ) -> str:
        """Look up ``message`` in this locale's catalogue.

        Pass ``plural_message`` and ``count`` together to get a
        number-dependent form: ``message`` is used when ``count == 1`` and
        ``plural_message`` otherwise. A message the catalogue does not know
        comes back as given.
        """
        raise NotImplementedError()

    def pgettext(
        self,
        context: str,
        message: str,
        plural_message: str | None = None,
        count: int | None = None,
    ) -> str:
        """Like :meth:`translate`, but looks ``message`` up under a disambiguating ``context``."""
        raise NotImplementedError()

    def format_date(
        self,
        date: int | float | datetime.datetime,
        gmt_offset: int = 0,
        relative: bool = True,
        shorter: bool = False,
        full_format: bool = False,
    ) -> str:
        """Format ``date`` (UTC) for a reader ``gmt_offset`` minutes west of UTC.

        ``date`` is a datetime (naive ones are UTC) or a Unix timestamp. By
        default recent dates read relatively ("2 minutes ago", "yesterday at
        3:04 pm", "Monday at 3:04 pm"), older ones as "March 3 at 3:04 pm"
        and dates about eleven months old or more as "March 3, 2024 at 3:04
        pm". ``relative=False`` drops the "ago" and "yesterday" forms,
        ``full_format=True`` always gives the full form, ``shorter=True``
        leaves out the time of day. Dates in the future get the full form,
        except that up to a minute of clock skew reads as "0 seconds ago".
        English (``en``, ``en_US``) and ``zh_CN`` use a 12-hour clock, every
        other locale a 24-hour one.

        Aware datetimes are compared in absolute time, and their time of day
        is shown in their own zone shifted by ``gmt_offset`` (as Tornado does).
        """
        if isinstance(date, (int, float)):
            date = datetime.datetime.fromtimestamp(date, datetime.timezone.utc).replace(tzinfo=None)
        now = _utcnow()
        if date.tzinfo is not None:
            now = now.replace(tzinfo=datetime.timezone.utc)
        if date > now:
            if relative and (date - now).total_seconds() < 60:
                # A little clock skew between machines: read it as "now".
                date = now
            else:
                full_format = True
        offset = datetime.timedelta(minutes=gmt_offset)
        local_date = date - offset
        local_yesterday = now - offset - datetime.timedelta(hours=24)
        difference = now - date
        seconds = difference.seconds
        days = difference.days

        _ = self.translate
        template: str | None = None
        if not full_format:
            if relative and days == 0:
                if seconds < 50:
                    return _("1 second ago", "%(seconds)d seconds ago", seconds) % {
                        "seconds": seconds
                    }
                if seconds < 50 * 60:
                    minutes = round(seconds / 60.0)
                    return _("1 minute ago", "%(minutes)d minutes ago", minutes) % {
                        "minutes": minutes
                    }
                hours = round(seconds / 3600.0)
                return _("1 hour ago", "%(hours)d hours ago", hours) % {"hours": hours}
            if days == 0:
                template = _("%(time)s")
            elif days == 1 and relative and local_date.date() == local_yesterday.date():
                template = _("yesterday") if shorter else _("yesterday at %(time)s")
            elif days < 5:
                template = _("%(weekday)s") if shorter else _("%(weekday)s at %(time)s")
            elif days < 334:
                template = (
                    _("%(month_name)s %(day)s")
                    if shorter
                    else _("%(month_name)s %(day)s at %(time)s")
                )
        if template is None:
            template = (
                _("%(month_name)s %(day)s, %(year)s")
                if shorter
                else _("%(month_name)s %(day)s, %(year)s at %(time)s")
            )
        return template % {
            "month_name": self._months[local_date.month - 1],
            "weekday": self._weekdays[local_date.weekday()],
            "day": str(local_date.day),
            "year": str(local_date.year),
            "time": self._format_time(local_date.hour, local_date.minute),
        }

    def _format_time(self, hour: int, minute: int) -> str:
        """Return the time of day as this locale writes it."""
        if self.code not in _TWELVE_HOUR_LOCALES:
            return f"{hour}:{minute:02d}"
        twelve = hour % 12 or 12
        if self.code == "zh_CN":
            return f"{'下午' if hour >= 12 else '上午'}{twelve}:{minute:02d}"
        return f"{twelve}:{minute:02d} {'pm' if hour >= 12 else 'am'}"

    def format_day(self, date: datetime.datetime, gmt_offset: int = 0, dow: bool = True) -> str:
        """Render the calendar day of ``date``, e.g. "Monday, March 4".

        With ``dow=False`` the weekday name is dropped ("March 4").
        ``gmt_offset`` is the reader's offset in minutes west of UTC.
        """
        local_date = date - datetime.timedelta(minutes=gmt_offset)
        _ = self.translate
        values = {
            "month_name": self._months[local_date.month - 1],
            "weekday": self._weekdays[local_date.weekday()],
            "day": str(local_date.day),
        }
        if dow:
            return _("%(weekday)s, %(month_name)s %(day)s") % values
        return _("%(month_name)s %(day)s") % values

    def list(self, parts: Any) -> str:
        """Join ``parts`` as a list in this locale: "A, B and C".

        Returns ``""`` for no parts and the single part unchanged for one.
        The final joiner is the translation of ``"%(commas)s and %(last)s"``;
        Persian joins the others with " و ", other locales with ", ".
        Unlike Tornado, any iterable is accepted and non-string parts are
        converted with :func:`str`.
        """
        items = [item if isinstance(item, str) else str(item) for item in parts]
        if not items:
            return ""
        if len(items) == 1:
            return items[0]
        comma = " \u0648 " if self.code.startswith("fa") else ", "
        return self.translate("%(commas)s and %(last)s") % {
            "commas": comma.join(items[:-1]),
            "last": items[-1],
        }

    def friendly_number(self, value: int) -> str:
        """Return ``value`` with thousands separators ("1,234,567") in English.

        Locales other than ``en`` and ``en_US`` get ``str(value)``. Unlike
        Tornado, the sign and any fractional part stay out of the grouping
        (Tornado gives "-,123,456" for -123456).
        """
        text = str(value)
        if self.code not in ("en", "en_US"):
            return text
        sign = "-" if text.startswith("-") else ""
        digits, dot, fraction = text.lstrip("-").partition(".")
        if not digits.isdigit():
            return text
        groups = []
        while digits:
            groups.append(digits[-3:])
            digits = digits[:-3]
        return sign + ",".join(reversed(groups)) + dot + fraction


class CSVLocale(Locale):
    """A locale translated by a CSV catalogue (see :func:`~squall.locale.load_translations`).

    ``translations`` maps a plural kind (``"plural"``, ``"singular"`` or
    ``"unknown"``) to a dict from source message to translation.
    """

    def __init__(self, code: str, translations: dict[str, dict[str, str]]) -> None:
        self.translations = translations
        super().__init__(code)

    def translate(
        self,
        message: str,
        plural_message: str | None = None,
        count: int | None = None,
    ) -> str:
        """Look ``message`` up in the CSV tables; see :meth:`Locale.translate`.

        :raises AssertionError: when ``count`` is missing but ``plural_message`` is set.
        """
        if plural_message is not None:
            if count is None:
                raise AssertionError("translate() needs a count with a plural_message")
            if count != 1:
                message = plural_message
                table = self.translations.get("plural", {})
            else:
                table = self.translations.get("singular", {})
        else:
            table = self.translations.get("unknown", {})
        return table.get(message, message)

    def pgettext(
        self,
        context: str,
        message: str,
        plural_message: str | None = None,
        count: int | None = None,
    ) -> str:
        """Translate ``message`` ignoring ``context``, which CSV files cannot express.

        Logs a warning on the ``squall.general`` logger each call, as Tornado
        does on ``tornado.general``.
        """
        if self.translations:
            _log.warning("pgettext is not supported by CSVLocale")
        return self.translate(message, plural_message, count)


class GettextLocale(Locale):
    """A locale translated by a compiled gettext catalogue (``.mo`` file)."""

    def __init__(self, code: str, translations: gettext.NullTranslations) -> None:
        self.ngettext = translations.ngettext
        self.gettext = translations.gettext
        # Locale.__init__ translates month and day names, so set up first.
        super().__init__(code)

    def translate(
        self,
        message: str,
        plural_message: str | None = None,
        count: int | None = None,
    ) -> str:
        """Look ``message`` up in the ``.mo`` catalogue; see :meth:`Locale.translate`.

        Plural forms follow the catalogue's ``Plural-Forms`` rule.

        :raises AssertionError: when ``count`` is missing but ``plural_message`` is set.
        """
        if plural_message is not None:
            if count is None:
                raise AssertionError("translate() needs a count with a plural_message")
            return self.ngettext(message, plural_message, count)
        return self.gettext(message)

    def pgettext(
        self,
        context: str,
        message: str,
        plural_message: str | None = None,
        count: int | None = None,
    ) -> str:
        """Translate ``message`` as it is meant in ``context`` (gettext's ``msgctxt``).

        Without a translation in that context, a singular message comes back
        unchanged, and a plural one falls back to its context-free
        translation (both as Tornado does).

        :raises AssertionError: when ``count`` is missing but ``plural_message`` is set.
        """
        if plural_message is not None:
            if count is None:
                raise AssertionError("pgettext() needs a count with a plural_message")
            result = self.ngettext(
                context + CONTEXT_SEPARATOR + message,
                context + CONTEXT_SEPARATOR + plural_message,
                count,
            )
            if CONTEXT_SEPARATOR in result:
                result = self.ngettext(message, plural_message, count)
            return result
        result = self.gettext(context + CONTEXT_SEPARATOR + message)
        if CONTEXT_SEPARATOR in result:
            result = message
        return result
