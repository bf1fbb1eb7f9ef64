"""The gettext translation format: :func:`load_gettext_translations` reads ``.mo`` catalogues.

The catalogues are GNU ``.mo`` files in the usual locale tree
(``{directory}/{lang}/LC_MESSAGES/{domain}.mo``), read with the standard
library's :mod:`gettext` module, which also supplies plural-form rules and
message contexts.
"""

from __future__ import annotations

import gettext
import logging
import os

from . import _locale

__all__ = ["load_gettext_translations"]

_log = logging.getLogger("squall.general")


def load_gettext_translations(directory: str, domain: str) -> None:
    """Use the compiled catalogues named ``domain`` found under ``directory``.

    ``directory`` is laid out the way ``/usr/share/locale`` is: each locale
    has a subfolder, and its catalogue sits at
    ``<directory>/<locale>/LC_MESSAGES/<domain>.mo``. A subfolder (hidden ones
    excepted) becomes a supported locale, named like the folder, as soon as
    it contains that file. One way to produce the catalogues with the GNU
    gettext tools (here for a domain called ``shop`` and Brazilian
    Portuguese)::

        # collect the messages; "_:1,2" also picks up plural calls
        xgettext -L Python --keyword=_:1,2 -o shop.pot app.py templates/*.html
        # bring an existing translation up to date with the new template
        msgmerge --update pt_BR.po shop.pot
        # compile it into the tree this function reads
        msgfmt pt_BR.po -o <directory>/pt_BR/LC_MESSAGES/shop.mo

    A catalogue that cannot be read (e.g. not a ``.mo`` file) is logged as an
    error on the ``squall.general`` logger and skipped. Every call replaces
    the previously loaded translations.

    Unlike Tornado, each file is read afresh (no process-wide cache of
    catalogues keyed by path), so reloading after recompiling takes effect.
    """
    translations: dict[str, _locale._Catalogue] = {}
    for lang in sorted(os.listdir(directory)):
        if lang.startswith("."):
            continue
        if not os.path.isdir(os.path.join(directory, lang)):
            continue
        mo_path = os.path.join(directory, lang, "LC_MESSAGES", domain + ".mo")
        if not os.path.isfile(mo_path):
            continue
        try:
            with open(mo_path, "rb") as f:
                translations[lang] = gettext.GNUTranslations(f)
        except Exception as e:
            _log.error("Cannot load translation for '%s': %s", lang, e)
            continue
    _locale._install(translations)
