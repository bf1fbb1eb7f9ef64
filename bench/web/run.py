"""Web framework bench: Application + RequestHandler under wrk, squall vs Tornado.

Run from the repository root (see README.md for the setup):

    python bench/web/run.py                 # hello, page, memory (3 rounds)
    python bench/web/run.py --rounds 5
    python bench/web/run.py --only page     # hello | page | memory | profile
    python bench/web/run.py --profile       # also cProfile squall's hot path

Servers (server.py, one fresh process per measurement, pinned to CPU 0; wrk
pinned to CPU 1) run the same application code on squall.web and
tornado.web; aiohttp serves hello world as a second peer.  Rounds are
interleaved and each figure is the median over rounds; ratios are paired per
round against Tornado.
"""

from __future__ import annotations

import argparse
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))

from _wrk import Server, check_machine, idle_memory, interleaved, measure, profile, table  # noqa: E402

SCRIPT = os.path.join(HERE, "server.py")
HELLO_IMPLS = [
    "squall",
    "squall-uvloop",
    "squall-speedups",
    "squall-compiled",
    "tornado",
    "aiohttp",
    "sanic-uvloop",
    "starlette-uvloop",
    "blacksheep-uvloop",
]
PAGE_IMPLS = ["squall", "squall-speedups", "tornado"]
MEMORY_IMPLS = ["squall", "tornado"]


def hello(rounds: int, seconds: float, conns: int) -> None:
    def one(impl: str) -> tuple[float, float, int]:
        server = Server(SCRIPT, impl)
        try:
            return measure(server, seconds, conns)
        finally:
            server.stop()

    runs = interleaved(HELLO_IMPLS, rounds, one)
    table(
        f"== hello world through Application + RequestHandler: GET /, keep-alive, "
        f"wrk -t1 -c{conns} -d{seconds}s, {rounds} rounds ==",
        runs,
    )
    # Issue 15's target is against aiohttp: the same rounds, paired with it.
    print()
    table("== the same rounds, ratios paired against aiohttp ==", runs, anchor="aiohttp")


def page(rounds: int, seconds: float, conns: int) -> None:
    def one(impl: str) -> tuple[float, float, int]:
        server = Server(SCRIPT, impl)
        try:
            cookie = server.readline()
            return measure(server, seconds, conns, path="/page", headers=[f"Cookie: user={cookie}"])
        finally:
            server.stop()

    runs = interleaved(PAGE_IMPLS, rounds, one)
    table(
        f"== template page, 10 UI modules, signed-cookie user: GET /page, "
        f"wrk -t1 -c{conns} -d{seconds}s, {rounds} rounds ==",
        runs,
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=int, default=3)
    parser.add_argument("--conns", type=int, default=50)
    parser.add_argument("--held", type=int, default=10_000)
    parser.add_argument("--only", choices=["hello", "page", "memory", "profile"])
    parser.add_argument("--profile", action="store_true")
    args = parser.parse_args()
    check_machine()
    import tornado

    print(f"python {sys.version.split()[0]}, tornado {tornado.version}")
    print()
    if args.only in (None, "hello"):
        hello(args.rounds, args.seconds, args.conns)
    if args.only in (None, "page"):
        page(args.rounds, args.seconds, args.conns)
    if args.only in (None, "memory"):
        idle_memory(SCRIPT, MEMORY_IMPLS, args.held, ends_with=b"Hello, world")
    if args.profile or args.only == "profile":
        profile(SCRIPT, "squall", args.seconds, args.conns)
        profile(SCRIPT, "squall", args.seconds, args.conns, path="/page")


if __name__ == "__main__":
    main()
