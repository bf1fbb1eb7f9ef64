"""LOCALE_NAMES: the display-name table."""

from __future__ import annotations

import pytest
from squall.locale import LOCALE_NAMES


def test_table_covers_tornados_codes() -> None:
    assert len(LOCALE_NAMES) == 62
    assert {"af_ZA", "en_US", "es_LA", "pt_BR", "zh_TW", "vi_VN"} <= set(LOCALE_NAMES)


def test_every_entry_has_english_and_native_name() -> None:
    for code, entry in LOCALE_NAMES.items():
        assert set(entry) == {"name_en", "name"}, code
        assert entry["name_en"] and entry["name"], code
        assert entry["name_en"] == entry["name_en"].strip(), code


@pytest.mark.parametrize(
    ("code", "name_en", "name"),
    [
        ("fr_FR", "French", "Français"),
        ("de_DE", "German", "Deutsch"),
        ("ja_JP", "Japanese", "日本語"),
        ("nb_NO", "Norwegian (bokmal)", "Norsk (bokmål)"),
        ("es_ES", "Spanish (Spain)", "Español (España)"),
        ("ar_AR", "Arabic", "العربية"),
        ("zh_CN", "Chinese (Simplified)", "中文(简体)"),
    ],
)
def test_entries(code: str, name_en: str, name: str) -> None:
    assert LOCALE_NAMES[code] == {"name_en": name_en, "name": name}


def test_ukrainian_english_name_is_spelled_out() -> None:
    # Tornado's table has the typo "Ukraini " here.
    assert LOCALE_NAMES["uk_UA"] == {"name_en": "Ukrainian", "name": "Українська"}
