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
import re
import resource
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
HELLO_IMPLS = ["squall", "squall-uvloop", "tornado", "asyncio", "uvicorn"]
POST_IMPLS = ["squall", "tornado"]
MEMORY_IMPLS = ["squall", "tornado", "asyncio"]
SERVER_CPU = 0
CLIENT_CPU = 1


def child_env() -> dict[str, str]:
    """Let server processes import squall from this checkout when it is not installed."""
    env = dict(os.environ)
    try:
        import squall.httpserver  # noqa: F401
    except ImportError:
        packages = os.path.join(ROOT, "packages")
        srcs = [os.path.join(packages, d, "src") for d in sorted(os.listdir(packages))]
        env["PYTHONPATH"] = os.pathsep.join([*srcs, env.get("PYTHONPATH", "")])
    return env


ENV = child_env()


def start(impl: str, profile_to: str | None = None) -> tuple[subprocess.Popen[str], int]:
    args = [sys.executable, os.path.join(HERE, "server.py"), impl]
    if profile_to:
        args.append(profile_to)
    proc = subprocess.Popen(
        args,
        stdout=subprocess.PIPE,
        text=True,
        env=ENV,
        preexec_fn=lambda: os.sched_setaffinity(0, {SERVER_CPU}),
    )
    assert proc.stdout is not None
    port = int(proc.stdout.readline())
    return proc, port


def stop(proc: subprocess.Popen[str]) -> None:
    proc.terminate()
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def cpu_ns(pid: int) -> int:
    with open(f"/proc/{pid}/schedstat") as f:
        return int(f.read().split()[0])


def rss_kb(pid: int) -> int:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise RuntimeError("no VmRSS")


def wrk(port: int, seconds: float, conns: int, script: str | None = None) -> tuple[int, int]:
    """Run wrk on the client CPU; returns (requests completed, non-2xx or socket errors)."""
    cmd = [
        "taskset",
        "-c",
        str(CLIENT_CPU),
        "wrk",
        "-t1",
        f"-c{conns}",
        f"-d{max(1, round(seconds))}s",
    ]
    if script:
        cmd += ["-s", script]
    cmd.append(f"http://127.0.0.1:{port}/")
    out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    done = int(re.search(r"(\d+) requests in", out).group(1))  # type: ignore[union-attr]
    errors = 0
    for pattern in (
        r"Non-2xx or 3xx responses: (\d+)",
        r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)",
    ):
        found = re.search(pattern, out)
        if found:
            errors += sum(int(g) for g in found.groups())
    return done, errors


def measure(impl: str, seconds: float, conns: int, script: str | None) -> tuple[float, float, int]:
    """(requests/s, server CPU us per request, errors) for one fresh server."""
    proc, port = start(impl)
    try:
        wrk(port, 1, conns, script)  # warm-up
        c0 = cpu_ns(proc.pid)
        t0 = time.perf_counter()
        done, errors = wrk(port, seconds, conns, script)
        elapsed = time.perf_counter() - t0
        cpu = cpu_ns(proc.pid) - c0
    finally:
        stop(proc)
    return done / elapsed, cpu / max(done, 1) / 1e3, errors


def table(title: str, runs: dict[str, list[tuple[float, float, int]]]) -> None:
    print(title)
    print(
        f"{'server':<15}{'req/s':>10}{'vs tornado':>12}{'CPU us/req':>12}{'vs tornado':>12}"
        f"{'min-max req/s':>17}{'errors':>8}"
    )
    ref = runs["tornado"]
    for impl, results in runs.items():
        rps = statistics.median(r[0] for r in results)
        cpu = statistics.median(r[1] for r in results)
        rps_ratio = statistics.median(r[0] / t[0] for r, t in zip(results, ref))
        cpu_ratio = statistics.median(t[1] / r[1] for r, t in zip(results, ref))
        lo, hi = min(r[0] for r in results), max(r[0] for r in results)
        errors = sum(r[2] for r in results)
        print(
            f"{impl:<15}{rps:>10.0f}{rps_ratio:>11.2f}x{cpu:>12.1f}{cpu_ratio:>11.2f}x"
            f"{f'{lo:.0f}-{hi:.0f}':>17}{errors:>8}"
        )
    print("   (CPU 'vs tornado' = Tornado's CPU per request / this server's: > 1 is cheaper)")
    print()


def hello(rounds: int, seconds: float, conns: int) -> None:
    runs: dict[str, list[tuple[float, float, int]]] = {impl: [] for impl in HELLO_IMPLS}
    for _ in range(rounds):
        for impl in HELLO_IMPLS:
            runs[impl].append(measure(impl, seconds, conns, None))
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
        runs: dict[str, list[tuple[float, float, int]]] = {impl: [] for impl in POST_IMPLS}
        for _ in range(rounds):
            for impl in POST_IMPLS:
                runs[impl].append(measure(impl, seconds, 4, script))
    finally:
        os.unlink(script)
    table(f"== 1 MB POST echo, keep-alive, wrk -t1 -c4 -d{seconds}s, {rounds} rounds ==", runs)


def recv_response(sock: socket.socket) -> None:
    data = b""
    while not data.endswith(b"Hello, world!"):
        chunk = sock.recv(4096)
        if not chunk:
            raise ConnectionError("server closed")
        data += chunk


REQUEST = b"GET / HTTP/1.1\r\nHost: bench\r\n\r\n"


def open_held(port: int, count: int, held: list[socket.socket]) -> None:
    batch = 200
    for first in range(0, count, batch):
        conns = [
            socket.create_connection(("127.0.0.1", port), timeout=30)
            for _ in range(min(batch, count - first))
        ]
        for s in conns:
            s.sendall(REQUEST)
        for s in conns:
            recv_response(s)
        held.extend(conns)


def probe(port: int, n: int) -> tuple[float, float]:
    times = []
    for _ in range(n):
        t0 = time.perf_counter()
        s = socket.create_connection(("127.0.0.1", port), timeout=30)
        s.sendall(REQUEST)
        recv_response(s)
        s.close()
        times.append(time.perf_counter() - t0)
    times.sort()
    return statistics.median(times) * 1000, times[int(len(times) * 0.99) - 1] * 1000


def memory(count: int) -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    count = min(count, hard - 300)
    print(f"== {count} idle keep-alive HTTP connections (each served one GET) ==")
    print(
        f"{'server':<15}{'KB/conn':>9}{'vs tornado':>12}{'RSS MB':>8}{'probe median ms':>17}{'p99 ms':>8}"
    )
    rows = {}
    for impl in MEMORY_IMPLS:
        proc, port = start(impl)
        held: list[socket.socket] = []
        try:
            open_held(port, 50, held)
            for s in held:
                s.close()
            held.clear()
            time.sleep(0.3)
            base = rss_kb(proc.pid)
            open_held(port, count, held)
            time.sleep(0.3)
            rss = rss_kb(proc.pid)
            med, p99 = probe(port, 300)
            rows[impl] = ((rss - base) / count, rss / 1024, med, p99)
        finally:
            for s in held:
                s.close()
            stop(proc)
    ref = rows["tornado"][0]
    for impl, (kb, rss_mb, med, p99) in rows.items():
        print(f"{impl:<15}{kb:>9.2f}{kb / ref:>11.2f}x{rss_mb:>8.1f}{med:>17.3f}{p99:>8.3f}")
    print()


def profile(seconds: float, conns: int) -> None:
    import pstats

    out = os.path.join(tempfile.mkdtemp(), "squall.prof")
    proc, port = start("squall", out)
    try:
        done, _ = wrk(port, seconds, conns, None)
    finally:
        stop(proc)
    stats = pstats.Stats(out)
    total_calls = stats.total_calls  # type: ignore[attr-defined]
    print(f"== cProfile of squall under wrk: {done} requests ==")
    print(f"function calls per request (Python and C, the loop included): {total_calls / done:.1f}")
    rows = []
    for (filename, line, name), (cc, nc, tt, ct, _callers) in stats.stats.items():  # type: ignore[attr-defined]
        rows.append(
            (
                tt,
                nc,
                ct,
                f"{os.path.relpath(filename, ROOT) if filename.startswith(ROOT) else os.path.basename(filename)}:{line}({name})",
            )
        )
    rows.sort(reverse=True)
    print(f"{'tottime s':>10}{'calls/req':>10}{'cumtime s':>10}  function")
    for tt, nc, ct, where in rows[:20]:
        print(f"{tt:>10.3f}{nc / done:>10.2f}{ct:>10.3f}  {where}")
    python_calls = sum(
        nc for (filename, _l, _n), (_cc, nc, *_r) in stats.stats.items() if filename != "~"
    )  # type: ignore[attr-defined]
    print(f"Python-level function calls per request: {python_calls / done:.1f}")
    print()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=int, default=3)
    parser.add_argument("--conns", type=int, default=50)
    parser.add_argument("--held", type=int, default=10_000)
    parser.add_argument("--only", choices=["hello", "post", "memory", "profile"])
    parser.add_argument("--profile", action="store_true")
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        sys.exit("wrk is needed (Debian: apt-get install wrk)")
    if len(os.sched_getaffinity(0)) < 2:
        sys.exit("needs two CPUs (server on CPU 0, wrk on CPU 1)")
    import tornado

    print(f"python {sys.version.split()[0]}, tornado {tornado.version}")
    print()
    if args.only in (None, "hello"):
        hello(args.rounds, args.seconds, args.conns)
    if args.only in (None, "post"):
        post(args.rounds, args.seconds)
    if args.only in (None, "memory"):
        memory(args.held)
    if args.profile or args.only == "profile":
        profile(args.seconds, args.conns)


if __name__ == "__main__":
    main()
