"""The CSV translation format: :func:`load_translations` reads a folder of ``.csv`` files.

One file per locale, named by its code (``es_GT.csv``); each row is
``"source","translation"`` with an optional third column saying whether the
row is the ``plural`` or ``singular`` form of a message. Rows that do not fit
are logged with their file and line on the ``squall.general`` logger and
skipped, so a typo in one row never costs the whole file.
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

__all__ = ["load_translations"]

_log = logging.getLogger("squall.general")

# What a CSV file's name must look like: a lowercase language, optionally
# followed by an uppercase country ("es", "es_GT").
_LOCALE_FILE_NAME = re.compile(r"[a-z]+(?:_[A-Z]+)?")
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

    Files whose name is not a locale code (``[a-z]+(_[A-Z]+)?``) are skipped
    with an error logged on the ``squall.general`` logger, as Tornado logs
    on ``tornado.general``; files not ending in ``.csv`` are ignored. Every
    call replaces the previously loaded translations.

    Differences from Tornado: a row with one column or more than three
    columns, or with an unknown plural indicator, is logged as an error
    naming ``file:line`` (the physical line where the row starts) and
    skipped; Tornado drops one-column rows silently and keeps rows with
    extra columns. Encodings are detected per file (Tornado can carry one
    file's detected encoding over to the next). A file that cannot be
    decoded is logged with its path before the :exc:`UnicodeDecodeError`
    propagates.
    """
    translations: dict[str, _locale._Catalogue] = {}
    for filename in sorted(os.listdir(directory)):
        code, extension = os.path.splitext(filename)
        if extension != ".csv":
            continue
        full_path = os.path.join(directory, filename)
        if not os.path.isfile(full_path):
            continue
        if not _LOCALE_FILE_NAME.fullmatch(code):
            _log.error("Unrecognized locale %r (path: %s)", code, full_path)
            continue
        translations[code] = _read_csv_file(full_path, encoding)
    _locale._install(translations, use_gettext=False)


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


def _read_csv_file(path: str, encoding: str | None) -> dict[str, dict[str, str]]:
    """Parse one CSV translation file into a plural kind -> source -> translation table."""
    with open(path, "rb") as f:
        data = f.read()
    try:
        text = _decode(data, encoding)
    except UnicodeDecodeError as e:
        _log.error("Cannot decode %s: %s", path, e)
        raise
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
