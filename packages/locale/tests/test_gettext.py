"""load_gettext_translations: .mo catalogues, plural forms, message contexts."""

from __future__ import annotations

import datetime
import logging
from collections.abc import Callable
from pathlib import Path

import pytest
import squall.locale
from squall.locale import CSVLocale, GettextLocale, load_gettext_translations

ES_PO = r"""
msgid ""
msgstr ""
"Language: es\n"
"Content-Type: text/plain; charset=UTF-8\n"
"Plural-Forms: nplurals=2; plural=(n != 1);\n"

msgid "school"
msgstr "escuela"

msgid "%(name)s liked this"
msgid_plural "%(name)s liked this"
msgstr[0] "A %(name)s le gustó esto"
msgstr[1] "A %(name)s les gustó esto"

msgctxt "law"
msgid "right"
msgstr "derecho"

msgctxt "good"
msgid "right"
msgstr "bueno"

msgctxt "organization"
msgid "club"
msgid_plural "clubs"
msgstr[0] "club"
msgstr[1] "clubes"

msgctxt "stick"
msgid "club"
msgid_plural "clubs"
msgstr[0] "palo"
msgstr[1] "palos"

msgid "January"
msgstr "enero"

msgid "Wednesday"
msgstr "miércoles"

msgid "%(weekday)s at %(time)s"
msgstr "%(weekday)s a las %(time)s"
"""

PL_PO = r"""
msgid ""
msgstr ""
"Language: pl\n"
"Content-Type: text/plain; charset=UTF-8\n"
"Plural-Forms: nplurals=3; plural=(n==1 ? 0 : n%10>=2 && n%10<=4 && (n%100<10 || n%100>=20) ? 1 : 2);\n"

msgid "%(count)d file"
msgid_plural "%(count)d files"
msgstr[0] "%(count)d plik"
msgstr[1] "%(count)d pliki"
msgstr[2] "%(count)d plików"

msgctxt "menu"
msgid "File"
msgstr "Plik"
"""

CompilePo = Callable[[str, Path], None]


@pytest.fixture
def es(tmp_path: Path, compile_po: CompilePo) -> squall.locale.Locale:
    compile_po(ES_PO, tmp_path / "es" / "LC_MESSAGES" / "messages.mo")
    load_gettext_translations(str(tmp_path), "messages")
    return squall.locale.get("es")


def test_loaded_locale_is_gettext_locale(es: squall.locale.Locale) -> None:
    assert isinstance(es, GettextLocale)
    assert es.code == "es"


def test_translate_singular_message(es: squall.locale.Locale) -> None:
    assert es.translate("school") == "escuela"


def test_untranslated_message_comes_back_unchanged(es: squall.locale.Locale) -> None:
    assert es.translate("missing") == "missing"
    assert es.translate("missing", "missings", 2) == "missings"
    assert es.translate("missing", "missings", 1) == "missing"


@pytest.mark.parametrize(
    ("count", "expected"),
    [
        (1, "A %(name)s le gustó esto"),
        (2, "A %(name)s les gustó esto"),
        (0, "A %(name)s les gustó esto"),
    ],
)
def test_translate_plural_forms(es: squall.locale.Locale, count: int, expected: str) -> None:
    msg = "%(name)s liked this"
    assert es.translate(msg, msg, count) == expected


def test_translate_plural_without_count_raises(es: squall.locale.Locale) -> None:
    with pytest.raises(AssertionError):
        es.translate("club", "clubs")


def test_pgettext_chooses_by_context(es: squall.locale.Locale) -> None:
    assert es.pgettext("law", "right") == "derecho"
    assert es.pgettext("good", "right") == "bueno"


def test_message_with_context_only_is_not_found_without_it(es: squall.locale.Locale) -> None:
    assert es.translate("right") == "right"
    assert es.translate("club", "clubs", 2) == "clubs"


def test_pgettext_unknown_context_returns_message_untranslated(
    es: squall.locale.Locale,
) -> None:
    assert es.pgettext("direction", "right") == "right"
    # Even when a context-free translation exists (as Tornado does).
    assert es.pgettext("building", "school") == "school"


@pytest.mark.parametrize(
    ("context", "count", "expected"),
    [
        ("organization", 1, "club"),
        ("organization", 2, "clubes"),
        ("stick", 1, "palo"),
        ("stick", 2, "palos"),
        ("golf", 2, "clubs"),
        ("golf", 1, "club"),
    ],
)
def test_pgettext_plural_forms(
    es: squall.locale.Locale, context: str, count: int, expected: str
) -> None:
    assert es.pgettext(context, "club", "clubs", count) == expected


def test_pgettext_plural_unknown_context_falls_back_to_context_free(
    es: squall.locale.Locale,
) -> None:
    msg = "%(name)s liked this"
    assert es.pgettext("x", msg, msg, 2) == "A %(name)s les gustó esto"
    assert es.pgettext("x", msg, msg, 1) == "A %(name)s le gustó esto"


def test_pgettext_plural_without_count_raises(es: squall.locale.Locale) -> None:
    with pytest.raises(AssertionError):
        es.pgettext("law", "right", "rights")


def test_pgettext_count_without_plural_is_ignored(es: squall.locale.Locale) -> None:
    assert es.pgettext("law", "right", None, 5) == "derecho"


def test_three_plural_forms_follow_the_catalogue_rule(
    tmp_path: Path, compile_po: CompilePo
) -> None:
    compile_po(PL_PO, tmp_path / "pl" / "LC_MESSAGES" / "app.mo")
    load_gettext_translations(str(tmp_path), "app")
    pl = squall.locale.get("pl_PL")
    assert pl.code == "pl"
    got = [
        pl.translate("%(count)d file", "%(count)d files", n) for n in (0, 1, 2, 4, 5, 12, 22, 25)
    ]
    assert got == [
        "%(count)d plików",
        "%(count)d plik",
        "%(count)d pliki",
        "%(count)d pliki",
        "%(count)d plików",
        "%(count)d plików",
        "%(count)d pliki",
        "%(count)d plików",
    ]
    assert pl.pgettext("menu", "File") == "Plik"
    assert pl.pgettext("other", "File") == "File"


def test_dates_use_catalogue_month_and_weekday_names(
    es: squall.locale.Locale, fixed_now: datetime.datetime
) -> None:
    assert es.format_date(fixed_now - datetime.timedelta(days=2)) == "Monday a las 15:04"
    assert es.format_day(fixed_now) == "miércoles, March 13"
    assert es.format_date(fixed_now - datetime.timedelta(days=60)) == "enero 13 at 15:04"


def test_broken_catalogue_is_logged_and_skipped(
    tmp_path: Path, compile_po: CompilePo, caplog: pytest.LogCaptureFixture
) -> None:
    compile_po(ES_PO, tmp_path / "es" / "LC_MESSAGES" / "dom.mo")
    broken = tmp_path / "broken" / "LC_MESSAGES" / "dom.mo"
    broken.parent.mkdir(parents=True)
    broken.write_bytes(b"garbage")
    load_gettext_translations(str(tmp_path), "dom")
    errors = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert len(errors) == 1
    assert errors[0].name == "squall.general"
    assert errors[0].getMessage().startswith("Cannot load translation for 'broken': ")
    assert sorted(squall.locale.get_supported_locales()) == ["en_US", "es"]


def test_directories_without_catalogue_hidden_dirs_and_files_are_skipped(
    tmp_path: Path, compile_po: CompilePo, caplog: pytest.LogCaptureFixture
) -> None:
    compile_po(ES_PO, tmp_path / "es" / "LC_MESSAGES" / "dom.mo")
    compile_po(ES_PO, tmp_path / ".hidden" / "LC_MESSAGES" / "dom.mo")
    compile_po(ES_PO, tmp_path / "fr" / "LC_MESSAGES" / "otherdomain.mo")
    (tmp_path / "nomo" / "LC_MESSAGES").mkdir(parents=True)
    (tmp_path / "afile").write_text("x")
    load_gettext_translations(str(tmp_path), "dom")
    assert sorted(squall.locale.get_supported_locales()) == ["en_US", "es"]
    assert [r for r in caplog.records if r.levelno >= logging.WARNING] == []


def test_default_locale_without_catalogue_is_a_csv_locale(es: squall.locale.Locale) -> None:
    default = squall.locale.get("en_US")
    assert isinstance(default, CSVLocale)
    assert default.translate("school") == "school"


def test_csv_load_after_gettext_load_gives_csv_locales(
    tmp_path: Path, compile_po: CompilePo
) -> None:
    compile_po(ES_PO, tmp_path / "mo" / "es" / "LC_MESSAGES" / "dom.mo")
    load_gettext_translations(str(tmp_path / "mo"), "dom")
    (tmp_path / "csv").mkdir()
    (tmp_path / "csv" / "es.csv").write_text('"school","colegio"\n', encoding="utf-8")
    squall.locale.load_translations(str(tmp_path / "csv"))
    locale = squall.locale.get("es")
    assert isinstance(locale, CSVLocale)
    assert locale.translate("school") == "colegio"


def test_recompiled_catalogue_is_read_afresh(tmp_path: Path, compile_po: CompilePo) -> None:
    mo = tmp_path / "es" / "LC_MESSAGES" / "dom.mo"
    compile_po(ES_PO, mo)
    load_gettext_translations(str(tmp_path), "dom")
    assert squall.locale.get("es").translate("school") == "escuela"
    compile_po(ES_PO.replace('"escuela"', '"colegio"'), mo)
    load_gettext_translations(str(tmp_path), "dom")
    assert squall.locale.get("es").translate("school") == "colegio"
