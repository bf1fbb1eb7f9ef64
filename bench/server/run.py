"""HTTP server bench: hello world and 1 MB POST echo under wrk, idle keep-alive memory.

Run from the repository root (see README.md for the setup):

    python bench/server/run.py                 # everything
    python bench/server/run.py --rounds 5      # more interleaved rounds (default 3)
    python bench/server/run.py --only hello    # hello | post | memory | profile
    python bench/server/run.py --profile       # also cProfile squall's hot path

Servers (server.py, one fresh process per measurement, pinned to CPU 0; wrk
pinned to CPU 1): squall's HTTPServer and Tornado 6's HTTPServer running the
same plain callback, a raw asyncio Protocol answering fixed bytes (the
ceiling for a pure-Python asyncio server), uvicorn with h11, and squall on
uvloop.  Rounds are interleaved (each round runs every server once) and each
figure is the median over rounds; ratios are paired per round against
Tornado.  Besides requests/s the server's own CPU time per request is shown
(from /proc/<pid>/schedstat): on a shared 2-core VM it is the steadier figure.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile

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
    "asyncio",
    "uvicorn",
    "uvicorn-httptools-uvloop",
]
POST_IMPLS = ["squall", "tornado"]
MEMORY_IMPLS = ["squall", "tornado", "asyncio"]


def fresh(seconds: float, conns: int, script: str | None = None):  # type: ignore[no-untyped-def]
    def one(impl: str) -> tuple[float, float, int]:
        server = Server(SCRIPT, impl)
        try:
            return measure(server, seconds, conns, script)
        finally:
            server.stop()

    return one


def hello(rounds: int, seconds: float, conns: int) -> None:
    runs = interleaved(HELLO_IMPLS, rounds, fresh(seconds, conns))
    table(
        f"== hello world: GET /, keep-alive, wrk -t1 -c{conns} -d{seconds}s, {rounds} rounds ==",
        runs,
    )


def post(rounds: int, seconds: float) -> None:
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as f:
        f.write(
            'wrk.method = "POST"\n'
            'wrk.body = string.rep("x", 1048576)\n'
            'wrk.headers["Content-Type"] = "application/octet-stream"\n'
        )
        script = f.name
    try:
        runs = interleaved(POST_IMPLS, rounds, fresh(seconds, 4, script))
    finally:
        os.unlink(script)
    table(f"== 1 MB POST echo, keep-alive, wrk -t1 -c4 -d{seconds}s, {rounds} rounds ==", runs)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=int, default=3)
    parser.add_argument("--conns", type=int, default=50)
    parser.add_argument("--held", type=int, default=10_000)
    parser.add_argument("--only", choices=["hello", "post", "memory", "profile"])
    parser.add_argument("--profile", action="store_true")
    args = parser.parse_args()
    check_machine()
    import tornado

    print(f"python {sys.version.split()[0]}, tornado {tornado.version}")
    print()
    if args.only in (None, "hello"):
        hello(args.rounds, args.seconds, args.conns)
    if args.only in (None, "post"):
        post(args.rounds, args.seconds)
    if args.only in (None, "memory"):
        idle_memory(SCRIPT, MEMORY_IMPLS, args.held)
    if args.profile or args.only == "profile":
        profile(SCRIPT, "squall", args.seconds, args.conns)


if __name__ == "__main__":
    main()
