"""ASGI bench: a Starlette hello world on squall's ASGIContainer vs uvicorn and hypercorn.

Run from the repository root (see README.md for the setup):

    python bench/asgi/run.py                 # 3 rounds
    python bench/asgi/run.py --rounds 5 --conns 20
    python bench/asgi/run.py --profile       # cProfile of squall's container under wrk

Servers (server.py, one fresh process per measurement, pinned to CPU 0;
wrk pinned to CPU 1) run the same Starlette application.  Rounds are
interleaved and each figure is the median over rounds; ratios are paired
per round against uvicorn with its pure-Python h11 protocol.
"""

from __future__ import annotations

import argparse
import importlib.metadata
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))

from _wrk import Server, check_machine, interleaved, measure, profile, table  # noqa: E402

SCRIPT = os.path.join(HERE, "server.py")
IMPLS = [
    "squall",
    "squall-uvloop",
    "squall-speedups",
    "squall-compiled",
    "uvicorn-h11",
    "uvicorn-httptools",
    "uvicorn-httptools-uvloop",
    "hypercorn",
]


def hello(impls: list[str], rounds: int, seconds: float, conns: int) -> None:
    def one(impl: str) -> tuple[float, float, int]:
        server = Server(SCRIPT, impl)
        try:
            return measure(server, seconds, conns)
        finally:
            server.stop()

    runs = interleaved(impls, rounds, one)
    title = f"== Starlette hello world: GET /, wrk -t1 -c{conns} -d{seconds}s, {rounds} rounds =="
    table(title, runs, anchor="uvicorn-h11")
    if "uvicorn-httptools-uvloop" in runs:
        # The speedups target: uvicorn with its own C parser and loop.
        print()
        table(
            "== the same rounds, paired against uvicorn + httptools + uvloop ==",
            runs,
            anchor="uvicorn-httptools-uvloop",
        )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=int, default=3)
    parser.add_argument("--conns", type=int, default=50)
    parser.add_argument("--impls", default=",".join(IMPLS), help="comma-separated servers")
    parser.add_argument("--profile", action="store_true", help="cProfile squall instead")
    args = parser.parse_args()
    check_machine()
    if args.profile:
        profile(SCRIPT, "squall", args.seconds, args.conns)
        return
    impls = args.impls.split(",")
    if "uvicorn-h11" not in impls:
        impls.insert(0, "uvicorn-h11")  # the anchor of the ratios
    versions = ", ".join(
        f"{name} {importlib.metadata.version(name)}"
        for name in ("starlette", "uvicorn", "h11", "httptools", "hypercorn")
    )
    print(f"python {sys.version.split()[0]}, {versions}")
    print()
    hello(impls, args.rounds, args.seconds, args.conns)


if __name__ == "__main__":
    main()
