"""parse_accept_language and get_from_accept_language (squall additions).

The orders were checked against the codes Tornado's
RequestHandler.get_browser_locale hands to tornado.locale.get.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import squall.locale
from squall.locale import get_from_accept_language, parse_accept_language


@pytest.mark.parametrize(
    ("header", "codes"),
    [
        (None, []),
        ("", []),
        ("es-GT", ["es_GT"]),
        ("EN-us", ["en_US"]),
        ("en-us,fr;q=0.9", ["en_US", "fr"]),
        ("fr;q=0.9, es-GT;q=0.8", ["fr", "es_GT"]),
        ("fr-FR;q=0.5,de;q=0.7", ["de", "fr_FR"]),
        ("a;q=0.1,b,c;q=0.5,d;q=1.0", ["b", "d", "c", "a"]),
        ("a,b,c,d", ["a", "b", "c", "d"]),
        (" en-US , fr ", ["en_US", "fr"]),
        ("de;level=1", ["de"]),
        ("de;q=0.5;x=y, fr-FR", ["fr_FR", "de"]),
        ("en-US;q=0.8;q=0.1", ["en_US"]),
        ("de; q=0.5", ["de"]),
        ("de;q= 0.9, fr-FR;q=1", ["fr_FR", "de"]),
        ("de;q=1.5,fr-FR", ["de", "fr_FR"]),
        ("de;q", ["de"]),
        ("de;=0.5", ["de"]),
        ("zh-Hant-TW", ["zh_Hant_TW"]),
    ],
)
def test_codes_ordered_by_quality(header: str | None, codes: list[str]) -> None:
    assert parse_accept_language(header) == codes


@pytest.mark.parametrize(
    "header",
    ["de;q=0.9,fr-FR;q=0.9", "de,fr-FR", "de;q=0.50,fr-FR;q=0.5"],
)
def test_equal_quality_keeps_header_order(header: str) -> None:
    assert parse_accept_language(header) == ["de", "fr_FR"]


@pytest.mark.parametrize(
    ("header", "codes"),
    [
        ("de;q=0, fr-FR", ["fr_FR"]),
        ("de;q=0.0", []),
        ("de;q=0.000,fr", ["fr"]),
        ("de;q=bogus, fr-FR;q=0.1", ["fr_FR"]),
        ("de;q=-1,fr-FR;q=0.1", ["fr_FR"]),
        ("de;q=nan,fr-FR", ["fr_FR"]),
        ("de;q=0x1", []),
        ("de;q=", []),
        ("de;q=  ", []),
        ("de;q=0.5=1", []),
        (",,,", []),
        (";q=1", []),
        ("*", []),
        ("*;q=0.5, de", ["de"]),
    ],
)
def test_zero_malformed_and_empty_ranges_are_dropped(header: str, codes: list[str]) -> None:
    assert parse_accept_language(header) == codes


def test_parameter_name_q_is_case_insensitive() -> None:
    # Tornado reads "Q=0.9" as no q-value at all (1.0).
    assert parse_accept_language("fr-FR;Q=0.1,de;q=0.8") == ["de", "fr_FR"]


def test_spaces_before_parameters_are_ignored() -> None:
    assert parse_accept_language("de ; q=0.9, fr-FR;q=0.95") == ["fr_FR", "de"]


def test_duplicate_codes_are_listed_once() -> None:
    assert parse_accept_language("en-US;q=0.5, en-us, fr") == ["en_US", "fr"]


def test_garbage_does_not_raise() -> None:
    header = ";;;,=,q=,;q=;q=,\x00,\u00e9t\u00e9;q=\u0661"
    assert parse_accept_language(header) == []
    assert parse_accept_language("en_us, de-, -x, x-, de") == ["en_US", "de"]


@pytest.fixture
def loaded(tmp_path: Path) -> None:
    for code in ("de", "en_GB", "es_GT", "fr_FR"):
        (tmp_path / f"{code}.csv").write_text('"Hello","x"\n', encoding="utf-8")
    squall.locale.load_translations(str(tmp_path))


@pytest.mark.parametrize(
    ("header", "code"),
    [
        (None, "en_US"),
        ("", "en_US"),
        ("es-GT", "es_GT"),
        ("es-gt,fr;q=0.9", "es_GT"),
        ("fr;q=0.9, es-GT;q=0.8", "es_GT"),
        ("fr-FR;q=0.5,de;q=0.7", "de"),
        ("de-AT;q=0.5,fr-FR;q=0.4", "de"),
        ("de;q=0, fr-FR", "fr_FR"),
        ("xx, de", "de"),
        ("*", "en_US"),
        ("zh-Hant-TW, en-GB;q=0.1", "en_GB"),
        ("de;q=nan,fr-FR", "fr_FR"),
    ],
)
def test_get_from_accept_language(loaded: None, header: str | None, code: str) -> None:
    assert get_from_accept_language(header).code == code


def test_get_from_accept_language_uses_configured_default(loaded: None) -> None:
    squall.locale.set_default_locale("fr_FR")
    assert get_from_accept_language("xx").code == "fr_FR"
    assert get_from_accept_language(None).code == "fr_FR"
