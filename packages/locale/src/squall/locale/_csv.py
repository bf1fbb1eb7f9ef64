"""The CSV translation format: :func:`load_translations` reads a folder of ``.csv`` files.

One file per locale, named by its code (``es_GT.csv``); each row is
``"source","translation"`` with an optional third column saying whether the
row is the ``plural`` or ``singular`` form of a message. Rows that do not fit
are logged with their file and line on the ``squall.general`` logger and
skipped, so a typo in one row never costs the whole file; a file that is
misnamed or cannot be decoded is logged and skipped, so it never costs the
other files.
"""

from __future__ import annotations

import codecs
import csv
import io
import logging
import os
import re

from squall.escape import to_unicode

from . import _locale
from ._names import LOCALE_NAMES

__all__ = ["load_translations"]

_log = logging.getLogger("squall.general")

# What a CSV file's name must look like when LOCALE_NAMES does not list it:
# a 2- or 3-letter lowercase language, optionally followed by a 2-letter
# uppercase country or a 3-digit region ("es", "es_GT", "es_419").
_LOCALE_FILE_NAME = re.compile(r"[a-z]{2,3}(?:_(?:[A-Z]{2}|[0-9]{3}))?")
_PLURAL_KINDS = frozenset({"plural", "singular", "unknown"})


def load_translations(directory: str, encoding: str | None = None) -> None:
    """Read every ``<locale>.csv`` file in ``directory`` as a translation table.

    The file name gives the locale (``pt_BR.csv`` serves ``pt_BR``). In each
    row the first column is the source message, which may use ``%(key)s``
    style placeholders, and the second is its translation. An optional third
    column marks the row as the ``"singular"`` or ``"plural"`` version of the
    message; leave it out, or write ``"unknown"`` or nothing, when the message
    has no number-dependent form. Messages whose wording depends on a count
    get two rows, one per form. Parsing uses the :mod:`csv` module's default
    ``excel`` dialect, and each field is stripped of surrounding spaces. A
    ``fr.csv`` could contain::

        "Save","Enregistrer"
        "%(count)d new message","%(count)d nouveau message","singular"
        "%(count)d new message","%(count)d nouveaux messages","plural"

    Without ``encoding``, each file's encoding is detected from its byte
    order mark (UTF-8 or UTF-16) and is UTF-8 when it has none; an explicit
    ``encoding`` is used as given for every file.

    A file that cannot be used is logged as an error naming it on the
    ``squall.general`` logger (``squall.log.gen_log``) and skipped, and the
    other files still load: a name that is not a locale code (a 2- or
    3-letter lowercase language, optionally ``_`` and a 2-letter uppercase
    country or 3-digit region, or any code of
    ``LOCALE_NAMES``), content that cannot be decoded,
    or a file that cannot be read. Files not ending in ``.csv`` are
    ignored. Every call replaces the previously loaded translations.

    Differences from Tornado: Tornado takes any lowercase name
    (``notalocale.csv``) as a locale and lets a
    :exc:`UnicodeDecodeError` that does not name the file escape; a row
    with one column or more than three columns, or with an unknown plural
    indicator, is logged as an error naming ``file:line`` (the physical
    line where the row starts) and skipped, where Tornado drops one-column
    rows silently and keeps rows with extra columns. Encodings are detected
    per file (Tornado can carry one file's detected encoding over to the
    next).
    """
    translations: dict[str, _locale._Catalogue] = {}
    for filename in sorted(os.listdir(directory)):
        code, extension = os.path.splitext(filename)
        path = os.path.join(directory, filename)
        if extension != ".csv" or not os.path.isfile(path):
            continue
        if not _is_locale_code(code):
            _log.error(
                "Unrecognized locale %r (path: %s): a translation file is named "
                "after its locale code, like es.csv or es_GT.csv; file skipped",
                code,
                path,
            )
            continue
        try:
            with open(path, "rb") as f:
                text = _decode(f.read(), encoding)
        except UnicodeDecodeError as e:
            _log.error("Cannot decode translation file %s (%s); file skipped", path, e)
            continue
        except OSError as e:
            _log.error("Cannot read translation file %s (%s); file skipped", path, e)
            continue
        translations[code] = _parse_rows(path, text)
    _locale._install(translations)


def _is_locale_code(code: str) -> bool:
    """Whether a file name (minus ``.csv``) names a locale."""
    return code in LOCALE_NAMES or _LOCALE_FILE_NAME.fullmatch(code) is not None


def _decode(data: bytes, encoding: str | None) -> str:
    """Decode a CSV file's bytes, detecting a byte order mark if no encoding is given."""
    if encoding is not None:
        return data.decode(encoding)
    if data.startswith(codecs.BOM_UTF8):
        return data[len(codecs.BOM_UTF8) :].decode("utf-8")
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        # The "utf-16" codec reads the BOM, picks the byte order, drops the BOM.
        return data.decode("utf-16")
    return to_unicode(data)


def _parse_rows(path: str, text: str) -> dict[str, dict[str, str]]:
    """Parse one decoded CSV translation file into a plural kind -> source -> translation table."""
    table: dict[str, dict[str, str]] = {}
    # newline=None reads \r\n and \r as \n, as a file opened in text mode would.
    reader = csv.reader(io.StringIO(text, newline=None))
    line = 1
    for row in reader:
        start, line = line, reader.line_num + 1
        if not row:
            continue
        fields = [field.strip() for field in row]
        if len(fields) not in (2, 3):
            _log.error(
                "%s:%d: expected 2 or 3 columns (source, translation[, plural]), "
                "found %d; row skipped",
                path,
                start,
                len(fields),
            )
            continue
        plural = fields[2] if len(fields) == 3 else ""
        plural = plural or "unknown"
        if plural not in _PLURAL_KINDS:
            _log.error(
                "%s:%d: unrecognized plural indicator %r "
                "(expected 'plural', 'singular' or 'unknown'); row skipped",
                path,
                start,
                fields[2],
            )
            continue
        table.setdefault(plural, {})[fields[0]] = fields[1]
    return table
