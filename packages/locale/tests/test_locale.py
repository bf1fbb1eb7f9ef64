"""get / get_closest / set_default_locale, Locale attributes and construction."""

from __future__ import annotations

import gettext
from pathlib import Path

import pytest
import squall.locale
from squall.locale import CONTEXT_SEPARATOR, CSVLocale, GettextLocale, Locale


def _load(tmp_path: Path, *codes: str) -> None:
    for code in codes:
        (tmp_path / f"{code}.csv").write_text(f'"Hello","Hello {code}"\n', encoding="utf-8")
    squall.locale.load_translations(str(tmp_path))


@pytest.fixture
def loaded(tmp_path: Path) -> None:
    _load(tmp_path, "de", "en_GB", "es_GT", "fr_FR")


def test_default_state_supports_only_en_us() -> None:
    assert squall.locale.get_supported_locales() == frozenset({"en_US"})
    locale = squall.locale.get("fr")
    assert locale.code == "en_US"
    assert isinstance(locale, CSVLocale)
    assert locale.translate("Hello") == "Hello"


def test_get_without_codes_returns_default() -> None:
    assert squall.locale.get().code == "en_US"


@pytest.mark.parametrize(
    ("codes", "expected"),
    [
        (("es_GT",), "es_GT"),
        (("es-gt",), "es_GT"),
        (("ES_gt",), "es_GT"),
        (("en-gb",), "en_GB"),
        (("de_DE",), "de"),
        (("De_de",), "de"),
        (("DE",), "de"),
        (("de_",), "de"),
        (("es",), "en_US"),
        (("es_MX",), "en_US"),
        (("fr",), "en_US"),
        (("fr_CA",), "en_US"),
        (("en",), "en_US"),
        (("xx", "fr_FR"), "fr_FR"),
        (("fr_FR", "de"), "fr_FR"),
        (("zz",), "en_US"),
    ],
)
def test_get_closest_match(loaded: None, codes: tuple[str, ...], expected: str) -> None:
    assert squall.locale.get(*codes).code == expected
    assert Locale.get_closest(*codes).code == expected


@pytest.mark.parametrize("code", ["", "es_gt_x", "es__GT", "de-DE-1996", "-", "_GT", " es_GT"])
def test_get_skips_empty_and_malformed_codes(loaded: None, code: str) -> None:
    assert squall.locale.get(code).code == "en_US"
    assert squall.locale.get(code, "de").code == "de"


def test_set_default_locale_changes_fallback_and_supported(loaded: None) -> None:
    squall.locale.set_default_locale("fr_FR")
    assert squall.locale.get("xx").code == "fr_FR"
    assert sorted(squall.locale.get_supported_locales()) == ["de", "en_GB", "es_GT", "fr_FR"]
    squall.locale.set_default_locale("pt_BR")
    assert "pt_BR" in squall.locale.get_supported_locales()
    assert squall.locale.get("pt").code == "pt_BR"
    assert squall.locale.get("en_US").code == "pt_BR"


def test_repeated_requests_follow_new_default_and_new_translations(tmp_path) -> None:
    # get() remembers its answers per requested codes; every change of the
    # supported set or the default must be seen by the next call.
    assert squall.locale.get("xx", "es-GT").code == "en_US"
    squall.locale.set_default_locale("de_DE")
    assert squall.locale.get("xx", "es-GT").code == "de_DE"
    (tmp_path / "es.csv").write_text('"Yes","Sí"\n', encoding="utf-8")
    squall.locale.load_translations(str(tmp_path))
    assert squall.locale.get("xx", "es-GT").code == "es"
    (tmp_path / "es.csv").unlink()
    (tmp_path / "es_GT.csv").write_text('"Yes","Sí"\n', encoding="utf-8")
    squall.locale.load_translations(str(tmp_path))
    assert squall.locale.get("xx", "es-GT").code == "es_GT"


def test_many_distinct_requests_stay_correct(loaded: None) -> None:
    # More distinct requests than the answer memo holds: answers stay right.
    for i in range(5000):
        assert squall.locale.get(f"x{i}", "de").code == "de"
    assert squall.locale.get("es-gt").code == "es_GT"


def test_default_locale_needs_no_translation_file(loaded: None) -> None:
    squall.locale.set_default_locale("pt_BR")
    locale = squall.locale.get("pt_BR")
    assert isinstance(locale, CSVLocale)
    assert locale.translations == {}
    assert locale.name == "Português (Brasil)"


def test_locale_get_returns_cached_instance(loaded: None) -> None:
    assert Locale.get("es_GT") is Locale.get("es_GT")
    assert squall.locale.get("es-gt") is Locale.get("es_GT")


def test_locale_get_rejects_unsupported_code(loaded: None) -> None:
    with pytest.raises(AssertionError):
        Locale.get("es")
    with pytest.raises(AssertionError):
        Locale.get("xx")


def test_base_locale_cannot_translate() -> None:
    with pytest.raises(NotImplementedError):
        Locale("fr_FR")


@pytest.mark.parametrize(
    ("code", "name"),
    [
        ("en_US", "English (US)"),
        ("en_GB", "English (UK)"),
        ("fr_FR", "Français"),
        ("es_GT", "Unknown"),
        ("de", "Unknown"),
        ("zh_CN", "中文(简体)"),
    ],
)
def test_name_comes_from_locale_names(code: str, name: str) -> None:
    assert CSVLocale(code, {}).name == name


@pytest.mark.parametrize(
    ("code", "rtl"),
    [
        ("fa", True),
        ("fa_IR", True),
        ("ar", True),
        ("ar_AR", True),
        ("ar_EG", True),
        ("he", True),
        ("he_IL", True),
        ("en_US", False),
        ("ur", False),
        ("ur_PK", False),
        ("yi", False),
        ("iw", False),
    ],
)
def test_rtl_for_persian_arabic_hebrew(code: str, rtl: bool) -> None:
    assert CSVLocale(code, {}).rtl is rtl


def test_rtl_checks_the_language_not_a_prefix() -> None:
    # Tornado says True for "arn" (Mapuche) because it starts with "ar".
    assert CSVLocale("arn", {}).rtl is False


def test_csv_locale_can_be_built_directly() -> None:
    locale = CSVLocale("xx", {"unknown": {"Monday": "Lundi", "Hello": "Salut"}})
    assert locale.translate("Hello") == "Salut"
    assert locale.code == "xx"


def test_gettext_locale_can_be_built_from_null_translations() -> None:
    locale = GettextLocale("xx", gettext.NullTranslations())
    assert locale.translate("Hello") == "Hello"
    assert locale.translate("file", "files", 2) == "files"
    assert locale.pgettext("menu", "File") == "File"
    assert locale.pgettext("menu", "File", "Files", 3) == "Files"


def test_context_separator_is_eot() -> None:
    assert CONTEXT_SEPARATOR == "\x04"


def test_public_interface() -> None:
    assert sorted(squall.locale.__all__) == sorted(
        [
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
    )
    for name in squall.locale.__all__:
        assert hasattr(squall.locale, name)


def test_public_signatures_name_no_private_module() -> None:
    import inspect

    for name in squall.locale.__all__:
        obj = getattr(squall.locale, name)
        if callable(obj) and not isinstance(obj, type):
            assert "_locale" not in str(inspect.signature(obj)), name
        if isinstance(obj, type):
            assert obj.__module__ == "squall.locale", name
