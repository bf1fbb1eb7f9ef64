"""HTTP/2 bench: hello world under h2load, 100 concurrent streams over 10 connections.

Run from the repository root, with a Python that has hypercorn and h2 (see
README.md):

    python bench/http2/run.py                  # 1 round (a smoke run)
    python bench/http2/run.py --rounds 3 --requests 200000

Servers (server.py, a fresh process per measurement, pinned to CPU 0; the load
generator pinned to CPU 1): squall's HTTPServer with ``http2=True`` serving a
squall.web Application over h2c (prior knowledge), hypercorn (h2c) with a
hello ASGI app, and for scale the same squall server over HTTP/1.1 driven by
wrk with 10 connections. Figures are medians over rounds, ratios paired per
round against hypercorn; the server's CPU time per request comes from
/proc/<pid>/schedstat.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))

from _wrk import CLIENT_CPU, Result, Server, check_machine, interleaved, measure, table  # noqa: E402

SCRIPT = os.path.join(HERE, "server.py")
IMPLS = ["squall-h2", "hypercorn-h2", "squall-h1"]


def h2load(port: int, requests: int) -> tuple[int, int, float]:
    """(requests succeeded, failed or errored, seconds) for one h2load run."""
    cmd = ["taskset", "-c", str(CLIENT_CPU), "h2load", "-n", str(requests), "-c10", "-m10"]
    cmd.append(f"http://127.0.0.1:{port}/")
    t0 = time.perf_counter()
    out = subprocess.run(cmd, capture_output=True, text=True, check=True, timeout=600).stdout
    elapsed = time.perf_counter() - t0
    found = re.search(
        r"requests: \d+ total, \d+ started, \d+ done, (\d+) succeeded, (\d+) failed, (\d+) errored",
        out,
    )
    assert found is not None, out
    ok, failed, errored = (int(g) for g in found.groups())
    timed = re.search(r"finished in ([\d.]+)(m?s)", out)
    if timed is not None:
        elapsed = float(timed.group(1)) / (1000 if timed.group(2) == "ms" else 1)
    return ok, failed + errored, elapsed


def one(requests: int, seconds: float):  # type: ignore[no-untyped-def]
    def run_one(impl: str) -> Result:
        server = Server(SCRIPT, impl)
        try:
            if impl.endswith("-h1"):
                return measure(server, seconds, 10)
            h2load(server.port, max(1000, requests // 10))  # warm-up
            c0 = server.cpu_ns()
            ok, errors, elapsed = h2load(server.port, requests)
            cpu = server.cpu_ns() - c0
            return ok / elapsed, cpu / max(ok, 1) / 1e3, errors
        finally:
            server.stop()

    return run_one


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--requests", type=int, default=50_000)
    parser.add_argument("--seconds", type=int, default=3)
    args = parser.parse_args()
    check_machine()
    if shutil.which("h2load") is None:
        sys.exit("h2load is needed (Debian: apt-get install nghttp2-client)")
    import h2
    import hypercorn  # noqa: F401

    print(f"python {sys.version.split()[0]}, h2 {h2.__version__}")
    print()
    runs = interleaved(IMPLS, args.rounds, one(args.requests, args.seconds))
    table(
        f"== hello world: h2load -n{args.requests} -c10 -m10 (HTTP/2), "
        f"wrk -c10 for squall-h1, {args.rounds} round(s) ==",
        runs,
        anchor="hypercorn-h2",
    )


if __name__ == "__main__":
    main()
