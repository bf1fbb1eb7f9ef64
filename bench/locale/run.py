"""Locale benchmark: squall.locale vs tornado.locale, same run, same inputs.

Run from the repository root:  python bench/locale/run.py [--quick]

Both libraries load the same CSV translations (written to a temporary folder)
and then run the same operations: choosing a locale, translating singular and
plural messages, formatting dates (relative and absolute), days, lists and
numbers. Outputs are checked equal before anything is timed. Each figure is
the CPU time per operation, median of interleaved repeats; ratio = tornado /
squall, so > 1 means squall is faster.
"""

from __future__ import annotations

import datetime
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from typing import Any

import squall.locale
import tornado.locale

QUICK = "--quick" in sys.argv
REPEATS = 5 if QUICK else 9
LOCALES = ["es_GT", "fr_FR", "de_DE", "pt_BR", "zh_CN"]
ROWS = 400  # messages per CSV file


def write_translations(folder: str) -> None:
    for code in LOCALES:
        with open(os.path.join(folder, f"{code}.csv"), "w", encoding="utf-8") as f:
            for i in range(ROWS):
                f.write(f'"Message number {i}","{code} message {i}"\n')
                f.write(f'"%(n)d item {i}","{code} %(n)d item {i}","singular"\n')
                f.write(f'"%(n)d items {i}","{code} %(n)d items {i}","plural"\n')


NOW = datetime.datetime(2024, 6, 15, 12, 0, 0)
DATES = [
    NOW - datetime.timedelta(seconds=30),
    NOW - datetime.timedelta(minutes=5),
    NOW - datetime.timedelta(hours=3),
    NOW - datetime.timedelta(days=1, hours=2),
    NOW - datetime.timedelta(days=4),
    NOW - datetime.timedelta(days=40),
    NOW - datetime.timedelta(days=400),
]


def operations(mod: Any) -> dict[str, Callable[[], Any]]:
    en = mod.get("en_US")
    es = mod.get("es_GT")

    def format_dates() -> list[str]:
        out = []
        for d in DATES:
            out.append(en.format_date(d, relative=True))
            out.append(en.format_date(d, relative=False, full_format=True))
            out.append(en.format_date(d, shorter=True))
        return out

    return {
        "get(closest)": lambda: [mod.get("es-gt", "fr").code, mod.get("xx_YY", "de").code],
        "translate": lambda: [es.translate(f"Message number {i}") for i in range(0, ROWS, 8)],
        "translate(plural)": lambda: [
            es.translate(f"%(n)d item {i}", f"%(n)d items {i}", i % 3) for i in range(0, ROWS, 8)
        ],
        "format_date x21": format_dates,
        "format_day": lambda: [en.format_day(d) for d in DATES],
        "list": lambda: [en.list(["a", "b", "c"]), en.list(["a"]), en.list([])],
        "friendly_number": lambda: [en.friendly_number(n) for n in (1, 1234, 1234567)],
    }


def load(mod: Any, folder: str) -> Callable[[], Any]:
    def run() -> Any:
        mod.load_translations(folder)
        return sorted(mod.get_supported_locales())

    return run


def time_per_call(fn: Callable[[], Any], budget: float) -> float:
    n = 1
    while True:
        start = time.process_time()
        for _ in range(n):
            fn()
        spent = time.process_time() - start
        if spent >= budget:
            return spent / n
        n *= 2


def main() -> None:
    budget = 0.05 if QUICK else 0.1
    with tempfile.TemporaryDirectory() as folder:
        write_translations(folder)
        for mod in (squall.locale, tornado.locale):
            mod.load_translations(folder)
        ops_s = operations(squall.locale)
        ops_t = operations(tornado.locale)
        ops_s["load_translations"] = load(squall.locale, folder)
        ops_t["load_translations"] = load(tornado.locale, folder)
        for name in ops_s:
            a, b = ops_s[name](), ops_t[name]()
            if a != b:
                raise SystemExit(f"{name}: outputs differ\n squall:  {a!r}\n tornado: {b!r}")
        times: dict[str, dict[str, list[float]]] = {n: {"squall": [], "tornado": []} for n in ops_s}
        for _ in range(REPEATS):
            for name in ops_s:
                times[name]["squall"].append(time_per_call(ops_s[name], budget))
                times[name]["tornado"].append(time_per_call(ops_t[name], budget))
    print(f"{'operation':<20} {'squall µs':>10} {'tornado µs':>11} {'ratio':>7}")
    ratios = []
    for name, by in times.items():
        s, t = statistics.median(by["squall"]), statistics.median(by["tornado"])
        ratios.append(t / s)
        print(f"{name:<20} {s * 1e6:>10.2f} {t * 1e6:>11.2f} {t / s:>6.2f}x")
    gmean = statistics.geometric_mean(ratios)
    print(f"geometric mean ratio (tornado / squall): {gmean:.2f}x  (> 1: squall faster)")


if __name__ == "__main__":
    main()
