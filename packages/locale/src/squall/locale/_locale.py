"""Locale objects and the module-wide translation registry.

One :class:`_Registry` holds what :func:`~squall.locale.load_translations`,
:func:`~squall.locale.load_gettext_translations` and
:func:`~squall.locale.set_default_locale` change: the loaded catalogues, the
default code, the set of supported codes and the :class:`Locale` built for
each code. The :class:`Locale` classes read it; the date, list and number
formatting they share is table-driven (see ``_AGO``, ``_BY_AGE`` and
``_CLOCKS``).
"""

from __future__ import annotations

import datetime
import gettext
import logging
import re
from collections.abc import Callable, Iterable, Iterator
from typing import Any, TypeAlias

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

# The logger squall.log calls gen_log (this distribution does not import it).
_log = logging.getLogger("squall.general")

#: A CSV catalogue: plural kind ("plural", "singular", "unknown") -> source -> translation.
_CSVTable: TypeAlias = dict[str, dict[str, str]]
_Catalogue: TypeAlias = _CSVTable | gettext.NullTranslations


class _Registry:
    """The process-wide translation state (one instance, ``_registry``)."""

    __slots__ = ("catalogues", "closest", "default", "instances", "supported")

    def __init__(self) -> None:
        self.default = "en_US"
        self.catalogues: dict[str, _Catalogue] = {}
        self.supported: frozenset[str] = frozenset((self.default,))
        # Locale objects already built, by code.
        self.instances: dict[str, Locale] = {}
        # get_closest's answers by requested codes (an application asks the
        # same few Accept-Language combinations over and over).
        self.closest: dict[tuple[str, ...], str] = {}

    def recount(self) -> None:
        """Recompute the supported codes: every catalogue plus the default."""
        self.supported = frozenset(self.catalogues).union((self.default,))
        self.closest.clear()


_registry = _Registry()


def _utcnow() -> datetime.datetime:
    """Return the current time as a naive UTC datetime.

    :meth:`Locale.format_date` reads the clock only through this function, so
    tests can replace it (``monkeypatch.setattr(_locale, "_utcnow", ...)``).
    """
    return datetime.datetime.now(datetime.timezone.utc).replace(tzinfo=None)


def _install(catalogues: dict[str, _Catalogue]) -> None:
    """Make ``catalogues`` the loaded translations (called by both loaders)."""
    _registry.catalogues = catalogues
    _registry.instances.clear()
    _registry.recount()
    _log.debug("Supported locales: %s", sorted(_registry.supported))


def _reset() -> None:
    """Forget every loaded catalogue and restore the ``en_US`` default (for tests)."""
    _registry.default = "en_US"
    _install({})


def _normalize_code(code: str) -> str:
    """Return ``code`` with dashes as underscores and ``lang_COUNTRY`` casing.

    Codes of more than two parts keep their casing (they never match).
    """
    pieces = code.replace("-", "_").split("_")
    if len(pieces) > 2:
        return "_".join(pieces)
    pieces[0] = pieces[0].lower()
    if len(pieces) == 2:
        pieces[1] = pieces[1].upper()
    return "_".join(pieces)


def _candidates(codes: Iterable[str]) -> Iterator[str]:
    """The codes to try for each requested code, best first.

    A code of two parts gives ``lang_COUNTRY`` and then its language; a
    one-part code is tried as given, then lowercased. Empty codes and codes
    of three parts or more give nothing.
    """
    for requested in codes:
        if not requested:
            continue
        language, underscore, country = requested.replace("-", "_").partition("_")
        if "_" in country:
            continue
        language = language.lower()
        yield f"{language}_{country.upper()}" if underscore else requested
        yield language


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
    _registry.default = code
    _registry.recount()


def get_supported_locales() -> Iterable[str]:
    """Return the codes of every loaded locale plus the default locale."""
    return _registry.supported


def _build(code: str) -> Locale:
    """A new :class:`Locale` of the right kind for the supported ``code``."""
    catalogue = _registry.catalogues.get(code)
    if isinstance(catalogue, gettext.NullTranslations):
        return GettextLocale(code, catalogue)
    return CSVLocale(code, catalogue or {})


# -- formatting tables -------------------------------------------------------

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

# "... ago" for dates less than a day old: below ``limit`` seconds of age,
# count in units of ``unit`` seconds (rounded) with these two forms.
_AGO: tuple[tuple[int, int, str, str, str], ...] = (
    (50, 1, "seconds", "1 second ago", "%(seconds)d seconds ago"),
    (50 * 60, 60, "minutes", "1 minute ago", "%(minutes)d minutes ago"),
    (24 * 3600, 3600, "hours", "1 hour ago", "%(hours)d hours ago"),
)

# Each form as (with the time of day, without it); "today" keeps its time.
_TODAY = ("%(time)s", "%(time)s")
_YESTERDAY = ("yesterday at %(time)s", "yesterday")
_WEEKDAY_FORM = ("%(weekday)s at %(time)s", "%(weekday)s")
_MONTH_DAY = ("%(month_name)s %(day)s at %(time)s", "%(month_name)s %(day)s")
_FULL = ("%(month_name)s %(day)s, %(year)s at %(time)s", "%(month_name)s %(day)s, %(year)s")

# Absolute forms by age: the first whose limit (in whole days) exceeds the
# date's age applies; older dates get _FULL.
_BY_AGE = ((1, _TODAY), (5, _WEEKDAY_FORM), (334, _MONTH_DAY))


def _twelve_hour(hour: int, minute: int) -> str:
    return f"{hour % 12 or 12}:{minute:02d} {'am' if hour < 12 else 'pm'}"


def _chinese_twelve_hour(hour: int, minute: int) -> str:
    return f"{'上午' if hour < 12 else '下午'}{hour % 12 or 12}:{minute:02d}"


def _twenty_four_hour(hour: int, minute: int) -> str:
    return f"{hour}:{minute:02d}"


# How each locale writes a time of day; any locale not listed uses 24 hours.
_CLOCKS: dict[str, Callable[[int, int], str]] = {
    "en": _twelve_hour,
    "en_US": _twelve_hour,
    "zh_CN": _chinese_twelve_hour,
}

# Languages written right to left (the three Tornado marks as such).
_RTL_LANGUAGES = frozenset({"ar", "fa", "he"})
# Locales whose numbers get thousands separators.
_GROUPING_LOCALES = frozenset({"en", "en_US"})
# How many distinct get_closest() requests are remembered before starting over.
_CLOSEST_MEMO_SIZE = 4096
_PLAIN_NUMBER = re.compile(r"(-?)([0-9]+)(\.[0-9]*)?")


class Locale:
    """A locale: translations plus locale-aware date, list and number formatting.

    Get instances from :func:`get`, :meth:`get_closest` or :meth:`get` after
    loading translations with :func:`~squall.locale.load_translations` or
    :func:`~squall.locale.load_gettext_translations`. The concrete class is
    :class:`CSVLocale` or :class:`GettextLocale`; :class:`Locale` itself
    cannot translate.
    """

    @classmethod
    def get_closest(cls, *locale_codes: str) -> Locale:
        """Class-level form of :func:`get`: the first supported code, else the default.

        Each code has dashes turned into underscores and is cased
        ``lang_COUNTRY`` (``EN-us`` is tried as ``en_US``, then ``en``). Empty
        codes and codes of more than two parts are skipped.
        """
        memo = _registry.closest
        code = memo.get(locale_codes)
        if code is None:
            code = _registry.default
            supported = _registry.supported
            for candidate in _candidates(locale_codes):
                if candidate in supported:
                    code = candidate
                    break
            if len(memo) >= _CLOSEST_MEMO_SIZE:
                memo.clear()
            memo[locale_codes] = code
        return cls.get(code)

    @classmethod
    def get(cls, code: str) -> Locale:
        """Return the :class:`Locale` for ``code``, which must be supported.

        Instances are cached per code; loading translations again empties the
        cache (Tornado keeps serving the stale instances).

        :raises AssertionError: if ``code`` is not in
            :func:`get_supported_locales` (as in Tornado).
        """
        instances = _registry.instances
        found = instances.get(code)
        if found is None:
            if code not in _registry.supported:
                raise AssertionError(f"{code!r} is not a supported locale")
            found = instances[code] = _build(code)
        return found

    def __init__(self, code: str) -> None:
        """Set :attr:`code`, :attr:`name`, :attr:`rtl` and translated month/day names.

        Calls :meth:`translate`, so subclasses set up their catalogue first;
        on :class:`Locale` itself this raises :exc:`NotImplementedError`.
        """
        self.code = code
        self.name = LOCALE_NAMES.get(code, {}).get("name", "Unknown")
        language = code.replace("-", "_").partition("_")[0]
        # Tornado compares prefixes ("arn" counts as Arabic); we compare the
        # language subtag.
        self.rtl = language in _RTL_LANGUAGES
        self._list_separator = " \u0648 " if language == "fa" else ", "
        self._list_form: str | None = None  # the translated "A and B" form, on first use
        self._groups_digits = code in _GROUPING_LOCALES
        self._clock = _CLOCKS.get(code, _twenty_four_hour)
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
        raise NotImplementedError(f"{type(self).__name__} has no catalogue to translate with")

    def pgettext(
        self,
        context: str,
        message: str,
        plural_message: str | None = None,
        count: int | None = None,
    ) -> str:
        """Like :meth:`translate`, but looks ``message`` up under a disambiguating ``context``."""
        raise NotImplementedError(f"{type(self).__name__} has no catalogue to translate with")

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
        if not isinstance(date, datetime.datetime):
            date = datetime.datetime.fromtimestamp(date, datetime.timezone.utc)
            date = date.replace(tzinfo=None)
        now = _utcnow()
        if date.tzinfo is not None:
            now = now.replace(tzinfo=datetime.timezone.utc)
        if date > now:
            # Up to a minute ahead is clock skew between machines: "now".
            if relative and date - now < _SKEW:
                date = now
            else:
                full_format = True
        age = now - date
        shift = datetime.timedelta(minutes=gmt_offset)
        local = date - shift
        form = _FULL
        if not full_format:
            days = age.days
            if relative and days == 0:
                return self._ago(age.seconds)
            if relative and days == 1 and local.date() == (now - shift - _ONE_DAY).date():
                form = _YESTERDAY
            else:
                for limit, candidate in _BY_AGE:
                    if days < limit:
                        form = candidate
                        break
        return self.translate(form[shorter]) % {
            "month_name": self._months[local.month - 1],
            "weekday": self._weekdays[local.weekday()],
            "day": str(local.day),
            "year": str(local.year),
            "time": self._clock(local.hour, local.minute),
        }

    def _ago(self, seconds: int) -> str:
        """ "N seconds/minutes/hours ago" for an age of less than a day."""
        for limit, unit, key, one, many in _AGO:
            if seconds < limit:
                count = round(seconds / unit)
                return self.translate(one, many, count) % {key: count}
        raise AssertionError("an age under a day is under 24 hours")  # pragma: no cover

    def format_day(self, date: datetime.datetime, gmt_offset: int = 0, dow: bool = True) -> str:
        """Render the calendar day of ``date``, e.g. "Monday, March 4".

        With ``dow=False`` the weekday name is dropped ("March 4").
        ``gmt_offset`` is the reader's offset in minutes west of UTC.
        """
        local = date - datetime.timedelta(minutes=gmt_offset)
        form = "%(weekday)s, %(month_name)s %(day)s" if dow else "%(month_name)s %(day)s"
        return self.translate(form) % {
            "weekday": self._weekdays[local.weekday()],
            "month_name": self._months[local.month - 1],
            "day": str(local.day),
        }

    def list(self, parts: Any) -> str:
        """Join ``parts`` as a list in this locale: "A, B and C".

        Returns ``""`` for no parts and the single part unchanged for one.
        The final joiner is the translation of ``"%(commas)s and %(last)s"``;
        Persian joins the others with " و ", other locales with ", ".
        Unlike Tornado, any iterable is accepted and non-string parts are
        converted with :func:`str`.
        """
        items = parts if type(parts) is list else [*parts]
        count = len(items)
        if count < 2:
            return str(items[0]) if count else ""
        form = self._list_form
        if form is None:
            form = self._list_form = self.translate("%(commas)s and %(last)s")
        leading = items[:-1]
        try:
            commas = self._list_separator.join(leading)
        except TypeError:  # some part is not a str
            commas = self._list_separator.join(map(str, leading))
        return form % {"commas": commas, "last": items[-1]}

    def friendly_number(self, value: int) -> str:
        """Return ``value`` with thousands separators ("1,234,567") in English.

        Locales other than ``en`` and ``en_US`` get ``str(value)``. Unlike
        Tornado, the sign and any fractional part stay out of the grouping
        (Tornado gives "-,123,456" for -123456).
        """
        if not self._groups_digits:
            return str(value)
        if type(value) is int:
            return f"{value:,}"
        text = str(value)
        plain = _PLAIN_NUMBER.fullmatch(text)
        if plain is None:
            return text
        sign, whole, fraction = plain.groups()
        return f"{sign}{int(whole):,}{fraction or ''}"


_SKEW = datetime.timedelta(seconds=60)
_ONE_DAY = datetime.timedelta(days=1)


def _needs_count(count: int | None, what: str) -> int:
    """``count``, which a call with a plural message must give."""
    if count is None:
        raise AssertionError(f"{what}() was given a plural_message without a count")
    return count


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
        if plural_message is None:
            table = self.translations.get("unknown")
        elif count == 1:
            table = self.translations.get("singular")
        else:
            _needs_count(count, "translate")
            table, message = self.translations.get("plural"), plural_message
        return message if table is None else table.get(message, message)

    def pgettext(
        self,
        context: str,
        message: str,
        plural_message: str | None = None,
        count: int | None = None,
    ) -> str:
        """Translate ``message`` ignoring ``context``, which CSV files cannot express.

        Logs a warning on the ``squall.general`` logger each call (when the
        locale has translations), as Tornado does on ``tornado.general``.
        """
        if self.translations:
            # The same text as Tornado's warning, for log filters that match it.
            _log.warning("pgettext is not supported by CSVLocale")
        return self.translate(message, plural_message, count)


class GettextLocale(Locale):
    """A locale translated by a compiled gettext catalogue (``.mo`` file)."""

    def __init__(self, code: str, translations: gettext.NullTranslations) -> None:
        # Locale.__init__ translates month and day names: bind the lookups first.
        self.gettext = translations.gettext
        self.ngettext = translations.ngettext
        Locale.__init__(self, code)

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
        if plural_message is None:
            return self.gettext(message)
        return self.ngettext(message, plural_message, _needs_count(count, "translate"))

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
        # gettext hands a key back unchanged when it has no translation for
        # it, so a result still holding the separator means "not found".
        key = f"{context}{CONTEXT_SEPARATOR}{message}"
        if plural_message is None:
            found = self.gettext(key)
            return message if CONTEXT_SEPARATOR in found else found
        number = _needs_count(count, "pgettext")
        found = self.ngettext(key, f"{context}{CONTEXT_SEPARATOR}{plural_message}", number)
        if CONTEXT_SEPARATOR in found:
            return self.ngettext(message, plural_message, number)
        return found
