"""What the wrk-driven benches (server/, web/) share: server processes pinned to
CPU 0, wrk pinned to CPU 1, CPU and RSS readings from /proc, interleaved
rounds reduced to medians and ratios paired per round, idle-connection memory.

A bench's ``server.py IMPL`` prints its port on the first line of stdout (and
may print more lines that the bench reads) and serves until SIGTERM.
"""

from __future__ import annotations

import os
import re
import resource
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Sequence

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SERVER_CPU = 0
CLIENT_CPU = 1

# (requests/s, server CPU microseconds per request, errors)
Result = tuple[float, float, int]


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


def check_machine() -> None:
    import shutil

    if shutil.which("wrk") is None:
        sys.exit("wrk is needed (Debian: apt-get install wrk)")
    if len(os.sched_getaffinity(0)) < 2:
        sys.exit("needs two CPUs (server on CPU 0, wrk on CPU 1)")


class Server:
    """One server process (``script IMPL [extra...]``) pinned to the server CPU."""

    def __init__(self, script: str, impl: str, *extra: str) -> None:
        env = ENV
        if impl.endswith("-compiled"):
            from _compiled import compiled_path

            env = dict(ENV)
            env["PYTHONPATH"] = os.pathsep.join([compiled_path(), ENV.get("PYTHONPATH", "")])
        self.proc = subprocess.Popen(
            [sys.executable, script, impl, *extra],
            stdout=subprocess.PIPE,
            text=True,
            env=env,
            preexec_fn=lambda: os.sched_setaffinity(0, {SERVER_CPU}),
        )
        assert self.proc.stdout is not None
        self.port = int(self.proc.stdout.readline())

    def readline(self) -> str:
        assert self.proc.stdout is not None
        return self.proc.stdout.readline().strip()

    def cpu_ns(self) -> int:
        with open(f"/proc/{self.proc.pid}/schedstat") as f:
            return int(f.read().split()[0])

    def rss_kb(self) -> int:
        with open(f"/proc/{self.proc.pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
        raise RuntimeError("no VmRSS")

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


def wrk(
    port: int,
    seconds: float,
    conns: int,
    script: str | None = None,
    path: str = "/",
    headers: Sequence[str] = (),
) -> tuple[int, int]:
    """Run wrk on the client CPU; returns (requests completed, non-2xx or socket errors)."""
    cmd = ["taskset", "-c", str(CLIENT_CPU), "wrk", "-t1", f"-c{conns}"]
    cmd.append(f"-d{max(1, round(seconds))}s")
    for header in headers:
        cmd += ["-H", header]
    if script:
        cmd += ["-s", script]
    cmd.append(f"http://127.0.0.1:{port}{path}")
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


def measure(
    server: Server,
    seconds: float,
    conns: int,
    script: str | None = None,
    path: str = "/",
    headers: Sequence[str] = (),
) -> Result:
    """(requests/s, server CPU us per request, errors) after a 1 s warm-up."""
    wrk(server.port, 1, conns, script, path, headers)
    c0 = server.cpu_ns()
    t0 = time.perf_counter()
    done, errors = wrk(server.port, seconds, conns, script, path, headers)
    elapsed = time.perf_counter() - t0
    cpu = server.cpu_ns() - c0
    return done / elapsed, cpu / max(done, 1) / 1e3, errors


def interleaved(
    impls: Sequence[str], rounds: int, one: Callable[[str], Result]
) -> dict[str, list[Result]]:
    """Each round runs every implementation once, in order, each in a fresh process."""
    runs: dict[str, list[Result]] = {impl: [] for impl in impls}
    for _ in range(rounds):
        for impl in impls:
            runs[impl].append(one(impl))
    return runs


def table(
    title: str,
    runs: dict[str, list[Result]],
    anchor: str = "tornado",
    unit: tuple[str, str] = ("req", "request"),
) -> None:
    """Medians over rounds; ratios paired per round against ``anchor``.

    ``unit`` names what is counted: short (column heads) and long (the footnote).
    """
    short, long = unit
    name = max(16, 2 + max(len(impl) for impl in runs))
    vs = max(12, 2 + len(anchor) + 3)
    print(title)
    print(
        f"{'server':<{name}}{short + '/s':>10}{'vs ' + anchor:>{vs}}{f'CPU us/{short}':>12}"
        f"{'vs ' + anchor:>{vs}}{f'min-max {short}/s':>17}{'errors':>8}"
    )
    ref = runs[anchor]
    for impl, results in runs.items():
        rps = statistics.median(r[0] for r in results)
        cpu = statistics.median(r[1] for r in results)
        rps_ratio = statistics.median(r[0] / t[0] for r, t in zip(results, ref))
        cpu_ratio = statistics.median(t[1] / r[1] for r, t in zip(results, ref))
        lo, hi = min(r[0] for r in results), max(r[0] for r in results)
        errors = sum(r[2] for r in results)
        print(
            f"{impl:<{name}}{rps:>10.0f}{rps_ratio:>{vs - 1}.2f}x{cpu:>12.1f}"
            f"{cpu_ratio:>{vs - 1}.2f}x{f'{lo:.0f}-{hi:.0f}':>17}{errors:>8}"
        )
    print(f"   (CPU 'vs {anchor}' = {anchor}'s CPU per {long} / this server's: > 1 is cheaper)")
    print()


def _read_response(sock: socket.socket, ends_with: bytes) -> None:
    data = b""
    while not data.endswith(ends_with):
        chunk = sock.recv(65536)
        if not chunk:
            raise ConnectionError("server closed")
        data += chunk


def _open_held(
    port: int, count: int, held: list[socket.socket], request: bytes, ends_with: bytes
) -> None:
    batch = 200
    for first in range(0, count, batch):
        conns = [
            socket.create_connection(("127.0.0.1", port), timeout=30)
            for _ in range(min(batch, count - first))
        ]
        for s in conns:
            s.sendall(request)
        for s in conns:
            _read_response(s, ends_with)
        held.extend(conns)


def _probe(port: int, n: int, request: bytes, ends_with: bytes) -> tuple[float, float]:
    times = []
    for _ in range(n):
        t0 = time.perf_counter()
        s = socket.create_connection(("127.0.0.1", port), timeout=30)
        s.sendall(request)
        _read_response(s, ends_with)
        s.close()
        times.append(time.perf_counter() - t0)
    times.sort()
    return statistics.median(times) * 1000, times[int(len(times) * 0.99) - 1] * 1000


def idle_memory(
    script: str,
    impls: Sequence[str],
    count: int,
    request: bytes = b"GET / HTTP/1.1\r\nHost: bench\r\n\r\n",
    ends_with: bytes = b"Hello, world!",
    anchor: str = "tornado",
) -> None:
    """RSS growth per idle keep-alive connection (each served one request), then
    the latency of fresh requests while they are held."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    count = min(count, hard - 300)
    print(f"== {count} idle keep-alive HTTP connections (each served one GET) ==")
    print(
        f"{'server':<16}{'KB/conn':>9}{'vs ' + anchor:>12}{'RSS MB':>8}"
        f"{'probe median ms':>17}{'p99 ms':>8}"
    )
    rows = {}
    for impl in impls:
        server = Server(script, impl)
        held: list[socket.socket] = []
        try:
            _open_held(server.port, 50, held, request, ends_with)
            for s in held:
                s.close()
            held.clear()
            time.sleep(0.3)
            base = server.rss_kb()
            _open_held(server.port, count, held, request, ends_with)
            time.sleep(0.3)
            rss = server.rss_kb()
            med, p99 = _probe(server.port, 300, request, ends_with)
            rows[impl] = ((rss - base) / count, rss / 1024, med, p99)
        finally:
            for s in held:
                s.close()
            server.stop()
    ref = rows[anchor][0]
    for impl, (kb, rss_mb, med, p99) in rows.items():
        print(f"{impl:<16}{kb:>9.2f}{kb / ref:>11.2f}x{rss_mb:>8.1f}{med:>17.3f}{p99:>8.3f}")
    print()


def profile(script: str, impl: str, seconds: float, conns: int, **wrk_args: object) -> None:
    """cProfile the server (its script must dump stats to argv[2] on SIGTERM) under wrk."""
    import pstats
    import tempfile

    out = os.path.join(tempfile.mkdtemp(), "squall.prof")
    server = Server(script, impl, out)
    try:
        done, _ = wrk(server.port, seconds, conns, **wrk_args)  # type: ignore[arg-type]
    finally:
        server.stop()
    stats = pstats.Stats(out)
    total_calls = stats.total_calls  # type: ignore[attr-defined]
    print(f"== cProfile of {impl} under wrk: {done} requests ==")
    print(f"function calls per request (Python and C, the loop included): {total_calls / done:.1f}")
    rows = []
    for (filename, line, name), (_cc, nc, tt, ct, _callers) in stats.stats.items():  # type: ignore[attr-defined]
        where = (
            os.path.relpath(filename, ROOT)
            if filename.startswith(ROOT)
            else os.path.basename(filename)
        )
        rows.append((tt, nc, ct, f"{where}:{line}({name})"))
    rows.sort(reverse=True)
    print(f"{'tottime s':>10}{'calls/req':>10}{'cumtime s':>10}  function")
    for tt, nc, ct, where in rows[:25]:
        print(f"{tt:>10.3f}{nc / done:>10.2f}{ct:>10.3f}  {where}")
    python_calls = sum(
        nc
        for (filename, _l, _n), (_cc, nc, *_r) in stats.stats.items()  # type: ignore[attr-defined]
        if filename != "~"
    )
    print(f"Python-level function calls per request: {python_calls / done:.1f}")
    print()
