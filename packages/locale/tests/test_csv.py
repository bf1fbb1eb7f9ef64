"""load_translations: CSV parsing, plural rows, encodings, file names, malformed rows."""

from __future__ import annotations

import codecs
import datetime
import logging
from pathlib import Path

import pytest
import squall.locale
from squall.locale import CSVLocale, load_translations

ES_GT = """\
"Sign out","Salir"
"%(name)s liked this","A %(name)s les gustó esto","plural"
"%(name)s liked this","A %(name)s le gustó esto","singular"
"""


def _write(directory: Path, name: str, text: str, encoding: str = "utf-8") -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / name
    path.write_bytes(text.encode(encoding))
    return path


def _errors(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [
        r.getMessage()
        for r in caplog.records
        if r.name == "squall.general" and r.levelno == logging.ERROR
    ]


@pytest.fixture
def es_gt(tmp_path: Path) -> squall.locale.Locale:
    _write(tmp_path, "es_GT.csv", ES_GT)
    load_translations(str(tmp_path))
    return squall.locale.get("es_GT")


def test_loaded_locale_is_csv_locale(es_gt: squall.locale.Locale) -> None:
    assert isinstance(es_gt, CSVLocale)
    assert es_gt.code == "es_GT"


def test_translate_two_column_row(es_gt: squall.locale.Locale) -> None:
    assert es_gt.translate("Sign out") == "Salir"


def test_translate_picks_singular_row_for_count_one(es_gt: squall.locale.Locale) -> None:
    msg = "%(name)s liked this"
    assert es_gt.translate(msg, msg, 1) == "A %(name)s le gustó esto"


@pytest.mark.parametrize("count", [0, 2, 10])
def test_translate_picks_plural_row_for_other_counts(
    es_gt: squall.locale.Locale, count: int
) -> None:
    msg = "%(name)s liked this"
    assert es_gt.translate(msg, msg, count) == "A %(name)s les gustó esto"


def test_translations_table_is_split_by_plural_kind(es_gt: squall.locale.Locale) -> None:
    assert isinstance(es_gt, CSVLocale)
    assert es_gt.translations == {
        "unknown": {"Sign out": "Salir"},
        "plural": {"%(name)s liked this": "A %(name)s les gustó esto"},
        "singular": {"%(name)s liked this": "A %(name)s le gustó esto"},
    }


def test_plural_rows_do_not_answer_singular_lookups(es_gt: squall.locale.Locale) -> None:
    # Without a plural_message the "unknown" table is used, which lacks it.
    assert es_gt.translate("%(name)s liked this") == "%(name)s liked this"


def test_untranslated_message_comes_back_unchanged(es_gt: squall.locale.Locale) -> None:
    assert es_gt.translate("missing") == "missing"
    assert es_gt.translate("missing", "missings", 1) == "missing"
    assert es_gt.translate("missing", "missings", 2) == "missings"


def test_plural_message_without_count_raises(es_gt: squall.locale.Locale) -> None:
    with pytest.raises(AssertionError):
        es_gt.translate("Sign out", "Sign outs")


def test_count_without_plural_message_is_ignored(es_gt: squall.locale.Locale) -> None:
    assert es_gt.translate("Sign out", None, 2) == "Salir"


def test_fields_are_stripped_of_surrounding_spaces(tmp_path: Path) -> None:
    # A space after the comma defeats csv quoting; Tornado then strips the field.
    _write(tmp_path, "es.csv", '"a b", "with space"\n  "lead","x"\n"s","t"," plural "\n')
    load_translations(str(tmp_path))
    locale = squall.locale.get("es")
    assert locale.translate("a b") == '"with space"'
    assert locale.translate('"lead"') == "x"
    assert locale.translate("s", "s", 2) == "t"


def test_quoted_newlines_and_doubled_quotes(tmp_path: Path) -> None:
    _write(tmp_path, "es.csv", '"multi\nline","ml"\n"quote""d","q""t"\n')
    load_translations(str(tmp_path))
    locale = squall.locale.get("es")
    assert locale.translate("multi\nline") == "ml"
    assert locale.translate('quote"d') == 'q"t'


def test_crlf_line_endings(tmp_path: Path) -> None:
    _write(tmp_path, "es.csv", '"Hello","Hola"\r\n"Bye","Adiós"\r\n')
    load_translations(str(tmp_path))
    assert squall.locale.get("es").translate("Bye") == "Adiós"


def test_later_duplicate_row_wins(tmp_path: Path) -> None:
    _write(tmp_path, "es.csv", '"dup","first"\n"dup","second"\n')
    load_translations(str(tmp_path))
    assert squall.locale.get("es").translate("dup") == "second"


@pytest.mark.parametrize("indicator", ["", "unknown"])
def test_empty_or_unknown_indicator_is_a_plain_row(tmp_path: Path, indicator: str) -> None:
    _write(tmp_path, "es.csv", f'"u","v","{indicator}"\n')
    load_translations(str(tmp_path))
    assert squall.locale.get("es").translate("u") == "v"


def test_utf8_byte_order_mark_is_detected_and_dropped(tmp_path: Path) -> None:
    (tmp_path / "pt_BR.csv").write_bytes(codecs.BOM_UTF8 + '"Hello","Olá"\n'.encode())
    load_translations(str(tmp_path))
    assert squall.locale.get("pt_BR").translate("Hello") == "Olá"


@pytest.mark.parametrize("codec", ["utf-16-le", "utf-16-be"])
def test_utf16_with_byte_order_mark_is_detected(tmp_path: Path, codec: str) -> None:
    bom = codecs.BOM_UTF16_LE if codec.endswith("le") else codecs.BOM_UTF16_BE
    (tmp_path / "es.csv").write_bytes(bom + '"Hello","Olá ñ"\n"Bye","Até"\n'.encode(codec))
    load_translations(str(tmp_path))
    locale = squall.locale.get("es")
    assert locale.translate("Hello") == "Olá ñ"
    assert locale.translate("Bye") == "Até"


def test_encoding_is_detected_per_file(tmp_path: Path) -> None:
    (tmp_path / "de.csv").write_bytes('"Hello","Grüß"\n'.encode())
    (tmp_path / "es.csv").write_bytes('"Hello","Olá"\n'.encode("utf-16"))
    (tmp_path / "fr.csv").write_bytes('"Hello","Salut à"\n'.encode())
    load_translations(str(tmp_path))
    assert squall.locale.get("de").translate("Hello") == "Grüß"
    assert squall.locale.get("es").translate("Hello") == "Olá"
    assert squall.locale.get("fr").translate("Hello") == "Salut à"


def test_explicit_encoding_is_used(tmp_path: Path) -> None:
    _write(tmp_path, "es.csv", '"Hello","Olá ñ"\n', encoding="latin-1")
    load_translations(str(tmp_path), encoding="latin-1")
    assert squall.locale.get("es").translate("Hello") == "Olá ñ"


def test_explicit_utf8_encoding_keeps_the_byte_order_mark(tmp_path: Path) -> None:
    (tmp_path / "es.csv").write_bytes(codecs.BOM_UTF8 + b'"Hello","Hola"\n"Bye","Chao"\n')
    load_translations(str(tmp_path), encoding="utf-8")
    locale = squall.locale.get("es")
    assert locale.translate('\ufeff"Hello"') == "Hola"
    assert locale.translate("Bye") == "Chao"


def test_undecodable_file_is_logged_by_name_and_skipped(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    bad = _write(tmp_path, "es.csv", '"Hello","Olá"\n', encoding="latin-1")
    _write(tmp_path, "de.csv", '"Hello","Hallo"\n')
    _write(tmp_path, "fr.csv", '"Hello","Bonjour"\n')
    load_translations(str(tmp_path))
    (message,) = _errors(caplog)
    assert str(bad) in message
    assert "decode" in message and "skipped" in message
    # The bad file is not a locale; the files around it still load.
    assert sorted(squall.locale.get_supported_locales()) == ["de", "en_US", "fr"]
    assert squall.locale.get("fr").translate("Hello") == "Bonjour"
    assert squall.locale.get("es").code == "en_US"


def test_undecodable_file_with_explicit_encoding_is_skipped(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    bad = _write(tmp_path, "es.csv", '"Hello","Olá"\n', encoding="latin-1")
    _write(tmp_path, "it.csv", '"Hello","Ciao"\n')
    load_translations(str(tmp_path), encoding="ascii")
    (message,) = _errors(caplog)
    assert str(bad) in message
    assert sorted(squall.locale.get_supported_locales()) == ["en_US", "it"]


@pytest.mark.parametrize(
    "stem", ["es-GT", "EN_us", "ES", "es_gt", "1", "x_y_z", "a_B1", "foo bar", "es_GT.csv"]
)
def test_file_not_named_by_a_locale_code_is_logged_and_skipped(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, stem: str
) -> None:
    path = _write(tmp_path, f"{stem}.csv", '"Hello","x"\n')
    load_translations(str(tmp_path))
    (message,) = _errors(caplog)
    assert message.startswith(f"Unrecognized locale {stem!r} (path: {path})")
    assert message.endswith("file skipped")
    assert sorted(squall.locale.get_supported_locales()) == ["en_US"]


@pytest.mark.parametrize("stem", ["notalocale", "toolongname_X", "e", "es_G", "es_GTM", "es_41"])
def test_name_that_only_looks_lowercase_is_not_a_locale(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, stem: str
) -> None:
    path = _write(tmp_path, f"{stem}.csv", '"Hello","x"\n')
    _write(tmp_path, "pt_BR.csv", '"Hello","Olá"\n')
    load_translations(str(tmp_path))
    (message,) = _errors(caplog)
    assert str(path) in message and repr(stem) in message
    assert sorted(squall.locale.get_supported_locales()) == ["en_US", "pt_BR"]
    assert squall.locale.get("pt_BR").translate("Hello") == "Olá"


@pytest.mark.parametrize("stem", ["es", "fil", "es_GT", "es_419", "ast_ES", "zh_TW"])
def test_locale_code_shapes_are_accepted(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, stem: str
) -> None:
    _write(tmp_path, f"{stem}.csv", '"Hello","x"\n')
    load_translations(str(tmp_path))
    assert _errors(caplog) == []
    assert sorted(squall.locale.get_supported_locales()) == sorted({"en_US", stem})


def test_errors_go_to_the_gen_log_logger(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    _write(tmp_path, "notalocale.csv", '"Hello","x"\n')
    load_translations(str(tmp_path))
    (record,) = [r for r in caplog.records if r.levelno == logging.ERROR]
    # squall.log.gen_log is logging.getLogger("squall.general").
    assert record.name == "squall.general"


def test_other_files_and_directories_are_ignored(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    _write(tmp_path, "README.txt", "hello")
    _write(tmp_path, "fr_FR.CSV", '"Hello","Bonjour"\n')
    _write(tmp_path, "noext", "x")
    (tmp_path / "de.csv").mkdir()
    _write(tmp_path, "es.csv", '"Hello","Hola"\n')
    load_translations(str(tmp_path))
    assert sorted(squall.locale.get_supported_locales()) == ["en_US", "es"]
    assert _errors(caplog) == []


def test_one_column_row_is_reported_with_file_and_line(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = _write(tmp_path, "es.csv", '"ok","bien"\n"lonely"\n"after","después"\n')
    load_translations(str(tmp_path))
    (message,) = _errors(caplog)
    assert message.startswith(f"{path}:2: ")
    assert "found 1" in message
    locale = squall.locale.get("es")
    assert locale.translate("ok") == "bien"
    assert locale.translate("after") == "después"
    assert locale.translate("lonely") == "lonely"


def test_row_with_too_many_columns_is_reported_and_skipped(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = _write(tmp_path, "es.csv", '"a","b","plural","extra"\n"c","d"\n')
    load_translations(str(tmp_path))
    (message,) = _errors(caplog)
    assert message.startswith(f"{path}:1: ")
    assert "found 4" in message
    locale = squall.locale.get("es")
    assert locale.translate("a", "a", 2) == "a"
    assert locale.translate("c") == "d"


def test_unknown_plural_indicator_is_reported_with_its_line(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = _write(tmp_path, "es.csv", '"p","q","bogus"\n"s","t","SINGULAR"\n"y","z","plural"\n')
    load_translations(str(tmp_path))
    assert _errors(caplog) == [
        f"{path}:1: unrecognized plural indicator 'bogus' "
        "(expected 'plural', 'singular' or 'unknown'); row skipped",
        f"{path}:2: unrecognized plural indicator 'SINGULAR' "
        "(expected 'plural', 'singular' or 'unknown'); row skipped",
    ]
    locale = squall.locale.get("es")
    assert locale.translate("p") == "p"
    assert locale.translate("y", "y", 3) == "z"


def test_reported_line_is_the_physical_line_after_blank_and_multiline_rows(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    text = '"a","b"\n\n"multi\nline","x"\n"bad","x","zzz"\n'
    path = _write(tmp_path, "es.csv", text)
    load_translations(str(tmp_path))
    (message,) = _errors(caplog)
    assert message.startswith(f"{path}:5: ")


def test_blank_lines_are_not_errors(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    _write(tmp_path, "es.csv", '\n"a","b"\n\n\n"c","d"\n\n')
    load_translations(str(tmp_path))
    assert _errors(caplog) == []
    assert squall.locale.get("es").translate("c") == "d"


def test_supported_locales_are_the_files_plus_the_default(tmp_path: Path) -> None:
    for code in ("de", "en_GB", "es_GT"):
        _write(tmp_path, f"{code}.csv", '"Hello","x"\n')
    load_translations(str(tmp_path))
    assert squall.locale.get_supported_locales() == frozenset({"de", "en_GB", "es_GT", "en_US"})


def test_load_logs_supported_locales_at_debug(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    _write(tmp_path, "es.csv", '"Hello","Hola"\n')
    with caplog.at_level(logging.DEBUG, logger="squall.general"):
        load_translations(str(tmp_path))
    assert "Supported locales: ['en_US', 'es']" in caplog.messages


def test_reload_replaces_previous_translations(tmp_path: Path) -> None:
    first, second = tmp_path / "one", tmp_path / "two"
    _write(first, "es.csv", '"Hello","Hola"\n')
    _write(second, "fr.csv", '"Hello","Bonjour"\n')
    load_translations(str(first))
    load_translations(str(second))
    assert sorted(squall.locale.get_supported_locales()) == ["en_US", "fr"]
    assert squall.locale.get("es").code == "en_US"


def test_reload_refreshes_already_returned_locales(tmp_path: Path) -> None:
    _write(tmp_path, "es.csv", '"right","derecha"\n')
    load_translations(str(tmp_path))
    assert squall.locale.get("es").translate("right") == "derecha"
    _write(tmp_path, "es.csv", '"right","DERECHA"\n')
    load_translations(str(tmp_path))
    assert squall.locale.get("es").translate("right") == "DERECHA"


def test_pgettext_ignores_context_and_warns(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    _write(tmp_path, "es.csv", '"right","derecha"\n"law\x04right","derecho"\n')
    load_translations(str(tmp_path))
    locale = squall.locale.get("es")
    assert locale.pgettext("law", "right") == "derecha"
    assert locale.pgettext("law", "right", "rights", 2) == "rights"
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert [r.getMessage() for r in warnings] == ["pgettext is not supported by CSVLocale"] * 2
    assert {r.name for r in warnings} == {"squall.general"}


def test_pgettext_on_a_locale_without_translations_does_not_warn(
    caplog: pytest.LogCaptureFixture,
) -> None:
    assert squall.locale.get("en_US").pgettext("menu", "File") == "File"
    assert caplog.records == []


def test_month_and_weekday_names_come_from_the_csv(tmp_path: Path) -> None:
    _write(tmp_path, "es.csv", '"January","enero"\n"Sunday","domingo"\n')
    load_translations(str(tmp_path))
    locale = squall.locale.get("es")
    assert locale.format_day(datetime.datetime(2024, 1, 7)) == "domingo, enero 7"


def test_unreadable_file_is_logged_by_name_and_skipped(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    from squall.locale import _csv

    locked = _write(tmp_path, "es.csv", '"Hello","Hola"\n')
    _write(tmp_path, "fr.csv", '"Hello","Bonjour"\n')
    real_open = open

    def guarded_open(path: str, *args: object, **kwargs: object) -> object:
        if path == str(locked):
            raise PermissionError(13, "Permission denied", path)
        return real_open(path, *args, **kwargs)  # type: ignore[call-overload]

    monkeypatch.setattr(_csv, "open", guarded_open, raising=False)
    load_translations(str(tmp_path))
    (message,) = _errors(caplog)
    assert str(locked) in message and "skipped" in message
    assert sorted(squall.locale.get_supported_locales()) == ["en_US", "fr"]
