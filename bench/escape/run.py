"""squall.escape against tornado.escape, side by side in one run.

    python bench/escape/run.py [--repeats N]

Each function is timed on the same inputs for both libraries, interleaved
(so that background load hits both alike); the table gives the median
nanoseconds per call over the repeats and the ratio tornado / squall
(> 1: squall is faster).
"""

from __future__ import annotations

import argparse
import statistics
import timeit

import squall.escape as squall_escape
import tornado.escape as tornado_escape

INPUTS: dict[str, list[tuple[str, object]]] = {
    "xhtml_escape": [
        ("short plain", "hello"),
        ("plain 110ch", "Hello world, this is a plain sentence without specials " * 2),
        ("mixed 99ch", 'Tom & Jerry <b>"quoted"</b> it\'s ' * 3),
        ("bytes", b"<b>caf\xc3\xa9</b>"),
    ],
    "utf8": [("str", "hello world"), ("bytes", b"hello world"), ("None", None)],
    "to_unicode": [("str", "hello world"), ("bytes", b"hello world"), ("None", None)],
    "url_escape": [
        ("safe", "hello"),
        ("query", "a b+c/d?e=f&g"),
        ("unicode", "caf\u00e9 cr\u00e8me br\u00fbl\u00e9e"),
    ],
    "json_encode": [("dict", {"a": 1, "b": [1, 2, 3], "c": "</script>"}), ("str", "hello")],
    "xhtml_unescape": [("entities", "&lt;b&gt; &amp; &quot;x&quot;"), ("plain", "hello")],
    "url_unescape": [("query", "a+b%20c%2Bd")],
    "linkify": [("text", "see http://example.com/path?a=1&b=2 and www.example.org!")],
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=9)
    args = parser.parse_args()
    print(f"{'function':15} {'input':12} {'tornado ns':>11} {'squall ns':>10} {'ratio':>7}")
    for name, cases in INPUTS.items():
        for label, value in cases:
            number = 10_000 if name == "linkify" else 100_000
            timers = [
                timeit.Timer("f(v)", globals={"f": getattr(mod, name), "v": value})
                for mod in (tornado_escape, squall_escape)
            ]
            samples: list[list[float]] = [[], []]
            for _ in range(args.repeats):
                for i, timer in enumerate(timers):
                    samples[i].append(timer.timeit(number) / number * 1e9)
            tornado_ns, squall_ns = (statistics.median(s) for s in samples)
            print(
                f"{name:15} {label:12} {tornado_ns:11.0f} {squall_ns:10.0f} "
                f"{tornado_ns / squall_ns:6.2f}x"
            )


if __name__ == "__main__":
    main()
