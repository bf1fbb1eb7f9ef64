"""Loading compiled gettext catalogues (:func:`load_gettext_translations`).

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
    """Load translations from gettext's locale tree under ``directory``.

    The tree looks like the system's ``/usr/share/locale``::

        {directory}/{lang}/LC_MESSAGES/{domain}.mo

    Every subdirectory of ``directory`` (except hidden ones) that holds
    ``LC_MESSAGES/{domain}.mo`` becomes a supported locale named after the
    subdirectory. To translate an application:

    1. Extract the messages into a template::

        xgettext --language=Python --keyword=_:1,2 -d mydomain file1.py file2.html etc

    2. Merge it into each language's ``.po`` file::

        msgmerge old.po mydomain.po > new.po

    3. Compile::

        msgfmt mydomain.po -o {directory}/pt_BR/LC_MESSAGES/mydomain.mo

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
    _locale._install(translations, use_gettext=True)
