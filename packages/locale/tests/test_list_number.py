"""Locale.list and Locale.friendly_number."""

from __future__ import annotations

from pathlib import Path

import pytest
import squall.locale
from squall.locale import CSVLocale


@pytest.mark.parametrize(
    ("parts", "expected"),
    [
        ([], ""),
        (["a"], "a"),
        (["a", "b"], "a and b"),
        (["a", "b", "c"], "a, b and c"),
        (["x", "y", "z", "w"], "x, y, z and w"),
        (("a", "b"), "a and b"),
        ("abc", "a, b and c"),
    ],
)
def test_list_in_english(parts: object, expected: str) -> None:
    assert squall.locale.get("en_US").list(parts) == expected


@pytest.mark.parametrize("code", ["fa", "fa_IR"])
def test_list_in_persian_uses_va_between_items(code: str) -> None:
    locale = CSVLocale(code, {})
    assert locale.list(["a", "b", "c"]) == "a \u0648 b and c"
    assert locale.list(["a", "b"]) == "a and b"


def test_list_in_other_rtl_locales_uses_commas() -> None:
    assert CSVLocale("he_IL", {}).list(["a", "b", "c"]) == "a, b and c"


def test_list_joiner_is_translated(tmp_path: Path) -> None:
    (tmp_path / "es.csv").write_text('"%(commas)s and %(last)s","%(commas)s y %(last)s"\n')
    squall.locale.load_translations(str(tmp_path))
    locale = squall.locale.get("es")
    assert locale.list(["Ana", "Luis", "Eva"]) == "Ana, Luis y Eva"
    assert locale.list(["Ana"]) == "Ana"


def test_list_accepts_generators_and_non_strings() -> None:
    locale = squall.locale.get("en_US")
    assert locale.list(str(n) for n in range(3)) == "0, 1 and 2"
    assert locale.list([1, 2]) == "1 and 2"
    assert locale.list([7]) == "7"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (0, "0"),
        (123, "123"),
        (999, "999"),
        (1000, "1,000"),
        (12345, "12,345"),
        (1234567, "1,234,567"),
        (1000000, "1,000,000"),
        (10**20, "100,000,000,000,000,000,000"),
        (-12, "-12"),
        (-1234567, "-1,234,567"),
    ],
)
@pytest.mark.parametrize("code", ["en", "en_US"])
def test_friendly_number_groups_thousands_in_english(code: str, value: int, expected: str) -> None:
    assert CSVLocale(code, {}).friendly_number(value) == expected


def test_friendly_number_keeps_the_sign_out_of_the_groups() -> None:
    # Tornado gives "-,123,456".
    assert CSVLocale("en", {}).friendly_number(-123456) == "-123,456"


@pytest.mark.parametrize("code", ["en_GB", "fr_FR", "de", "zh_CN", "es"])
def test_friendly_number_is_plain_elsewhere(code: str) -> None:
    assert CSVLocale(code, {}).friendly_number(1234567) == "1234567"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (1234567.25, "1,234,567.25"),
        (-1234.5, "-1,234.5"),
        (999.5, "999.5"),
        (1e20, "1e+20"),
        (float("inf"), "inf"),
        (True, "True"),
    ],
)
def test_friendly_number_groups_only_the_whole_part(value: object, expected: str) -> None:
    assert CSVLocale("en_US", {}).friendly_number(value) == expected  # type: ignore[arg-type]


def test_list_of_one_non_string_is_converted() -> None:
    assert CSVLocale("fa", {}).list([3.5]) == "3.5"
    assert CSVLocale("fa", {}).list(iter([])) == ""
