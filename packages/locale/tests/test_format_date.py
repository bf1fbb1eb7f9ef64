"""Locale.format_date and Locale.format_day against a fixed clock.

Expected strings were taken from tornado.locale run as a black box with the
same clock (Wednesday 2024-03-13 15:04:05 UTC).
"""

from __future__ import annotations

import datetime
from pathlib import Path

import pytest
import squall.locale
from squall.locale import CSVLocale, Locale

td = datetime.timedelta
NOW = datetime.datetime(2024, 3, 13, 15, 4, 5)
UTC = datetime.timezone.utc

pytestmark = pytest.mark.usefixtures("fixed_now")


@pytest.fixture
def en() -> Locale:
    return squall.locale.get("en_US")


@pytest.mark.parametrize(
    ("ago", "expected"),
    [
        (td(0), "0 seconds ago"),
        (td(seconds=1), "1 second ago"),
        (td(seconds=2), "2 seconds ago"),
        (td(seconds=49), "49 seconds ago"),
        (td(seconds=50), "1 minute ago"),
        (td(seconds=89), "1 minute ago"),
        (td(seconds=90), "2 minutes ago"),
        (td(seconds=150), "2 minutes ago"),
        (td(seconds=151), "3 minutes ago"),
        (td(seconds=2999), "50 minutes ago"),
        (td(seconds=3000), "1 hour ago"),
        (td(hours=1), "1 hour ago"),
        (td(minutes=90), "2 hours ago"),
        (td(hours=15), "15 hours ago"),
        (td(hours=23, minutes=30), "24 hours ago"),
        (td(hours=24), "yesterday at 3:04 pm"),
        (td(hours=36), "yesterday at 3:04 am"),
        (td(hours=39, minutes=5), "Monday at 11:59 pm"),
        (td(days=2), "Monday at 3:04 pm"),
        (td(days=4), "Saturday at 3:04 pm"),
        (td(days=5), "March 8 at 3:04 pm"),
        (td(days=10), "March 3 at 3:04 pm"),
        (td(days=72), "January 1 at 3:04 pm"),
        (td(days=333), "April 15 at 3:04 pm"),
        (td(days=334), "April 14, 2023 at 3:04 pm"),
        (td(days=800), "January 3, 2022 at 3:04 pm"),
    ],
)
def test_relative_dates_in_english(en: Locale, ago: td, expected: str) -> None:
    assert en.format_date(NOW - ago) == expected


@pytest.mark.parametrize(
    ("ago", "expected"),
    [
        (td(seconds=5), "5 seconds ago"),
        (td(hours=2), "2 hours ago"),
        (td(days=1), "yesterday"),
        (td(days=2), "Monday"),
        (td(days=10), "March 3"),
        (td(days=400), "February 7, 2023"),
    ],
)
def test_shorter_leaves_out_the_time(en: Locale, ago: td, expected: str) -> None:
    assert en.format_date(NOW - ago, shorter=True) == expected


@pytest.mark.parametrize(
    ("ago", "expected", "shorter_expected"),
    [
        (td(0), "3:04 pm", "3:04 pm"),
        (td(seconds=30), "3:03 pm", "3:03 pm"),
        (td(hours=2), "1:04 pm", "1:04 pm"),
        (td(hours=15, minutes=5), "11:59 pm", "11:59 pm"),
        (td(days=1), "Tuesday at 3:04 pm", "Tuesday"),
        (td(days=1, hours=12), "Tuesday at 3:04 am", "Tuesday"),
        (td(days=3), "Sunday at 3:04 pm", "Sunday"),
        (td(days=10), "March 3 at 3:04 pm", "March 3"),
        (td(days=400), "February 7, 2023 at 3:04 pm", "February 7, 2023"),
    ],
)
def test_absolute_dates(en: Locale, ago: td, expected: str, shorter_expected: str) -> None:
    assert en.format_date(NOW - ago, relative=False) == expected
    assert en.format_date(NOW - ago, relative=False, shorter=True) == shorter_expected


@pytest.mark.parametrize(
    ("ago", "expected"),
    [
        (td(seconds=30), "March 13, 2024 at 3:03 pm"),
        (td(hours=20), "March 12, 2024 at 7:04 pm"),
        (td(days=3), "March 10, 2024 at 3:04 pm"),
    ],
)
def test_full_format(en: Locale, ago: td, expected: str) -> None:
    assert en.format_date(NOW - ago, full_format=True) == expected
    assert en.format_date(NOW - ago, full_format=True, shorter=True) == expected.split(" at ")[0]


@pytest.mark.parametrize(
    ("hour", "minute", "expected"),
    [
        (0, 0, "Monday at 12:00 am"),
        (0, 5, "Monday at 12:05 am"),
        (11, 59, "Monday at 11:59 am"),
        (12, 0, "Monday at 12:00 pm"),
        (13, 0, "Monday at 1:00 pm"),
        (23, 59, "Monday at 11:59 pm"),
    ],
)
def test_twelve_hour_clock(en: Locale, hour: int, minute: int, expected: str) -> None:
    assert en.format_date(datetime.datetime(2024, 3, 11, hour, minute)) == expected


@pytest.mark.parametrize("ahead", [td(seconds=1), td(seconds=30), td(seconds=59)])
def test_slightly_future_dates_read_as_now(en: Locale, ahead: td) -> None:
    assert en.format_date(NOW + ahead) == "0 seconds ago"


@pytest.mark.parametrize(
    ("ahead", "expected"),
    [
        (td(seconds=60), "March 13, 2024 at 3:05 pm"),
        (td(hours=1), "March 13, 2024 at 4:04 pm"),
        (td(days=1, seconds=10), "March 14, 2024 at 3:04 pm"),
        (td(days=400), "April 17, 2025 at 3:04 pm"),
    ],
)
def test_future_dates_use_full_format(en: Locale, ahead: td, expected: str) -> None:
    assert en.format_date(NOW + ahead) == expected
    assert en.format_date(NOW + ahead, shorter=True) == expected.split(" at ")[0]


def test_future_date_is_not_clamped_when_not_relative(en: Locale) -> None:
    assert en.format_date(NOW + td(seconds=30), relative=False) == "March 13, 2024 at 3:04 pm"


def test_unix_timestamps(en: Locale) -> None:
    two_hours_ago = (NOW - td(hours=2)).replace(tzinfo=UTC).timestamp()
    assert en.format_date(int(two_hours_ago)) == "2 hours ago"
    assert en.format_date(int(two_hours_ago), relative=False) == "1:04 pm"
    three_days_ago = (NOW - td(days=3)).replace(tzinfo=UTC).timestamp() + 0.5
    assert en.format_date(three_days_ago) == "Sunday at 3:04 pm"
    assert en.format_date(0) == "January 1, 1970 at 12:00 am"


def test_aware_datetimes_compare_in_absolute_time(en: Locale) -> None:
    utc = (NOW - td(hours=2)).replace(tzinfo=UTC)
    plus5 = utc.astimezone(datetime.timezone(td(hours=5)))
    assert en.format_date(utc) == "2 hours ago"
    assert en.format_date(plus5) == "2 hours ago"
    assert en.format_date(utc, relative=False) == "1:04 pm"
    # The time of day is read in the datetime's own zone (as Tornado does).
    assert en.format_date(plus5, relative=False) == "6:04 pm"


@pytest.mark.parametrize(
    ("offset", "relative", "absolute"),
    [
        (
            0,
            [
                "36 seconds ago",
                "2 hours ago",
                "16 hours ago",
                "yesterday at 9:04 am",
                "Monday at 11:04 pm",
                "Saturday at 11:04 am",
            ],
            ["1:04 pm", "11:04 pm", "Tuesday at 9:04 am"],
        ),
        (
            60,
            [
                "36 seconds ago",
                "2 hours ago",
                "16 hours ago",
                "yesterday at 8:04 am",
                "Monday at 10:04 pm",
                "Saturday at 10:04 am",
            ],
            ["12:04 pm", "10:04 pm", "Tuesday at 8:04 am"],
        ),
        (
            -60,
            [
                "36 seconds ago",
                "2 hours ago",
                "16 hours ago",
                "yesterday at 10:04 am",
                "yesterday at 12:04 am",
                "Saturday at 12:04 pm",
            ],
            ["2:04 pm", "12:04 am", "Tuesday at 10:04 am"],
        ),
        (
            300,
            [
                "36 seconds ago",
                "2 hours ago",
                "16 hours ago",
                "yesterday at 4:04 am",
                "Monday at 6:04 pm",
                "Saturday at 6:04 am",
            ],
            ["8:04 am", "6:04 pm", "Tuesday at 4:04 am"],
        ),
        (
            905,
            [
                "36 seconds ago",
                "2 hours ago",
                "16 hours ago",
                "yesterday at 5:59 pm",
                "yesterday at 7:59 am",
                "Friday at 7:59 pm",
            ],
            ["9:59 pm", "7:59 am", "Monday at 5:59 pm"],
        ),
        (
            -540,
            [
                "36 seconds ago",
                "2 hours ago",
                "16 hours ago",
                "Tuesday at 6:04 pm",
                "Tuesday at 8:04 am",
                "Saturday at 8:04 pm",
            ],
            ["10:04 pm", "8:04 am", "Tuesday at 6:04 pm"],
        ),
    ],
)
def test_gmt_offset_shifts_the_reader_clock(
    en: Locale, offset: int, relative: list[str], absolute: list[str]
) -> None:
    hours_ago = (0.01, 2, 16, 30, 40, 100)
    assert [en.format_date(NOW - td(hours=h), gmt_offset=offset) for h in hours_ago] == relative
    assert [
        en.format_date(NOW - td(hours=h), gmt_offset=offset, relative=False) for h in (2, 16, 30)
    ] == absolute


# A Spanish CSV covering the phrases format_date translates.
ES_CSV = """\
"1 second ago","hace 1 segundo","singular"
"%(seconds)d seconds ago","hace %(seconds)d segundos","plural"
"1 minute ago","hace 1 minuto","singular"
"%(minutes)d minutes ago","hace %(minutes)d minutos","plural"
"1 hour ago","hace 1 hora","singular"
"%(hours)d hours ago","hace %(hours)d horas","plural"
"yesterday","ayer"
"yesterday at %(time)s","ayer a las %(time)s"
"%(weekday)s at %(time)s","%(weekday)s a las %(time)s"
"%(month_name)s %(day)s","%(day)s de %(month_name)s"
"%(month_name)s %(day)s at %(time)s","%(day)s de %(month_name)s a las %(time)s"
"%(month_name)s %(day)s, %(year)s","%(day)s de %(month_name)s de %(year)s"
"%(month_name)s %(day)s, %(year)s at %(time)s","%(day)s de %(month_name)s de %(year)s a las %(time)s"
"%(weekday)s, %(month_name)s %(day)s","%(weekday)s %(day)s de %(month_name)s"
"January","enero"
"February","febrero"
"March","marzo"
"Monday","lunes"
"Tuesday","martes"
"Wednesday","miércoles"
"""


@pytest.fixture
def es(tmp_path: Path) -> Locale:
    (tmp_path / "es.csv").write_text(ES_CSV, encoding="utf-8")
    squall.locale.load_translations(str(tmp_path))
    return squall.locale.get("es_ES")


@pytest.mark.parametrize(
    ("ago", "kwargs", "expected"),
    [
        (td(seconds=1), {}, "hace 1 segundo"),
        (td(seconds=5), {}, "hace 5 segundos"),
        (td(minutes=1), {}, "hace 1 minuto"),
        (td(minutes=5), {}, "hace 5 minutos"),
        (td(hours=1), {}, "hace 1 hora"),
        (td(hours=5), {}, "hace 5 horas"),
        (td(hours=5), {"relative": False}, "10:04"),
        (td(days=1), {}, "ayer a las 15:04"),
        (td(days=1), {"shorter": True}, "ayer"),
        (td(days=1), {"relative": False}, "martes a las 15:04"),
        (td(days=2), {}, "lunes a las 15:04"),
        (td(days=10), {}, "3 de marzo a las 15:04"),
        (td(days=10), {"shorter": True}, "3 de marzo"),
        (td(days=400), {}, "7 de febrero de 2023 a las 15:04"),
        (td(days=400), {"shorter": True}, "7 de febrero de 2023"),
        (td(hours=15, minutes=5), {"relative": False}, "23:59"),
    ],
)
def test_spanish_csv_translation(
    es: Locale, ago: td, kwargs: dict[str, bool], expected: str
) -> None:
    assert es.format_date(NOW - ago, **kwargs) == expected


def test_spanish_format_day(es: Locale) -> None:
    assert es.format_day(NOW) == "miércoles 13 de marzo"
    assert es.format_day(NOW, dow=False) == "13 de marzo"


@pytest.mark.parametrize(
    ("code", "three_hours_ago", "fifteen_hours_ago"),
    [
        ("en", "12:04 pm", "12:04 am"),
        ("en_US", "12:04 pm", "12:04 am"),
        ("en_GB", "12:04", "0:04"),
        ("en_AU", "12:04", "0:04"),
        ("fr_FR", "12:04", "0:04"),
        ("ja_JP", "12:04", "0:04"),
        ("zh_TW", "12:04", "0:04"),
        ("zh_CN", "下午12:04", "上午12:04"),
    ],
)
def test_clock_style_per_locale(code: str, three_hours_ago: str, fifteen_hours_ago: str) -> None:
    locale = CSVLocale(code, {})
    assert locale.format_date(NOW - td(hours=3), relative=False) == three_hours_ago
    assert locale.format_date(NOW - td(hours=15), relative=False) == fifteen_hours_ago


def test_am_pm_are_not_translated(tmp_path: Path) -> None:
    (tmp_path / "en.csv").write_text('"am","AM"\n"pm","PM"\n', encoding="utf-8")
    squall.locale.load_translations(str(tmp_path))
    assert squall.locale.get("en").format_date(NOW - td(hours=3), relative=False) == "12:04 pm"


@pytest.mark.parametrize(
    ("offset", "dow", "expected"),
    [
        (0, True, "Wednesday, March 13"),
        (0, False, "March 13"),
        (16 * 60, True, "Tuesday, March 12"),
        (-10 * 60, False, "March 14"),
        (-10 * 60, True, "Thursday, March 14"),
    ],
)
def test_format_day(en: Locale, offset: int, dow: bool, expected: str) -> None:
    assert en.format_day(NOW, gmt_offset=offset, dow=dow) == expected


def test_default_clock_is_real_utc_now(monkeypatch: pytest.MonkeyPatch) -> None:
    from squall.locale import _locale

    monkeypatch.undo()
    now = _locale._utcnow()
    assert now.tzinfo is None
    real = datetime.datetime.now(UTC).replace(tzinfo=None)
    assert abs((real - now).total_seconds()) < 3600
