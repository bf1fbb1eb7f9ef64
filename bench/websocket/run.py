"""WebSocket bench: echo of 1,000-byte text messages and idle connections held,
squall.websocket vs Tornado 6 and the websockets library.

Run from the repository root (see README.md for the setup):

    python bench/websocket/run.py                  # echo1, echo1w, echo100, memory (3 rounds)
    python bench/websocket/run.py --rounds 5 --window 32
    python bench/websocket/run.py --only echo1w    # echo1 | echo1w | echo100 | memory | profile

Servers (server.py, one fresh process per measurement, pinned to CPU 0) run
the same WebSocketHandler on squall and Tornado; the websockets library's
echo server is a peer. The load generator is loadgen.c, compiled here with
gcc into a temporary directory and pinned to CPU 1. Rounds are interleaved
and each figure is the median over rounds; ratios are paired per round
against Tornado.
"""

from __future__ import annotations

import argparse
import os
import pstats
import resource
import shutil
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))

from _wrk import CLIENT_CPU, ROOT, Result, Server, interleaved, table  # noqa: E402

SCRIPT = os.path.join(HERE, "server.py")
ECHO_IMPLS = ["squall", "squall-uvloop", "tornado", "websockets"]
MEMORY_IMPLS = ["squall", "tornado", "websockets"]
SIZE = 1000


def build_loadgen() -> str:
    if shutil.which("gcc") is None:
        sys.exit("gcc is needed to build loadgen.c (Debian: apt-get install gcc)")
    if len(os.sched_getaffinity(0)) < 2:
        sys.exit("needs two CPUs (servers on CPU 0, the load generator on CPU 1)")
    exe = os.path.join(tempfile.mkdtemp(prefix="wsbench-"), "loadgen")
    subprocess.run(["gcc", "-O2", "-o", exe, os.path.join(HERE, "loadgen.c")], check=True)
    return exe


def loadgen(exe: str, *args: object) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [exe, *map(str, args)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        preexec_fn=lambda: os.sched_setaffinity(0, {CLIENT_CPU}),
    )


def echo_once(
    exe: str, server: Server, conns: int, seconds: float, window: int = 1
) -> tuple[Result, int]:
    """(messages/s, server CPU us per message, errors) after a 1 s warm-up, and the
    messages echoed in all (the warm-up included); ``window`` messages in flight
    per connection."""
    gen = loadgen(exe, "echo", server.port, conns, 1, seconds, SIZE, window)
    assert gen.stdout is not None
    if gen.stdout.readline().strip() != "go":
        sys.exit(f"load generator failed against {server.proc.args[2]}")
    c0 = server.cpu_ns()
    done, errors, elapsed, total = map(float, gen.stdout.readline().split())
    cpu = server.cpu_ns() - c0
    gen.wait()
    return (done / elapsed, cpu / max(done, 1) / 1e3, int(errors)), int(total)


def echo(exe: str, rounds: int, seconds: float, conns: int, window: int = 1) -> None:
    def one(impl: str) -> Result:
        server = Server(SCRIPT, impl)
        try:
            return echo_once(exe, server, conns, seconds, window)[0]
        finally:
            server.stop()

    runs = interleaved(ECHO_IMPLS, rounds, one)
    table(
        f"== echo of {SIZE}-byte text messages, {window if window > 1 else 'one'} in flight "
        f"{'on each of' if conns > 1 else 'over'} {conns} connection{'s' * (conns > 1)}, "
        f"{seconds:g} s, {rounds} rounds ==",
        runs,
        unit=("msg", "message"),
    )


def hold(exe: str, server: Server, count: int) -> tuple[subprocess.Popen[str], float]:
    """Opens ``count`` upgraded connections; returns the holder and the seconds it took."""
    t0 = time.perf_counter()
    gen = loadgen(exe, "hold", server.port, count)
    assert gen.stdout is not None
    ready, opened, errors = gen.stdout.readline().split()
    if ready != "ready" or int(opened) != count:
        sys.exit(f"opened {opened} of {count} WebSockets ({errors} errors)")
    return gen, time.perf_counter() - t0


def release(gen: subprocess.Popen[str]) -> None:
    assert gen.stdin is not None
    gen.stdin.close()
    gen.wait()


def idle_memory(exe: str, count: int, anchor: str = "tornado") -> None:
    """RSS growth per idle upgraded connection, baseline taken after a warm-up."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    count = min(count, hard - 300)
    print(f"== {count} idle WebSocket connections held (each upgraded, then silent) ==")
    print(f"{'server':<16}{'KB/conn':>9}{'vs ' + anchor:>12}{'RSS MB':>8}{'upgrades/s':>12}")
    rows = {}
    for impl in MEMORY_IMPLS:
        server = Server(SCRIPT, impl)
        try:
            release(hold(exe, server, 50)[0])
            time.sleep(0.3)
            base = server.rss_kb()
            gen, took = hold(exe, server, count)
            time.sleep(0.3)
            rss = server.rss_kb()
            release(gen)
            rows[impl] = ((rss - base) / count, rss / 1024, count / took)
        finally:
            server.stop()
    ref = rows[anchor][0]
    for impl, (kb, rss_mb, rate) in rows.items():
        print(f"{impl:<16}{kb:>9.2f}{kb / ref:>11.2f}x{rss_mb:>8.1f}{rate:>12.0f}")
    print()


def profile(exe: str, seconds: float, conns: int, window: int = 1, impl: str = "squall") -> None:
    """cProfile the server (dumped on SIGTERM) under the echo load."""
    out = os.path.join(os.path.dirname(exe), "squall.prof")  # removed with the load generator
    server = Server(SCRIPT, impl, out)
    try:
        done = echo_once(exe, server, conns, seconds, window)[1]
    finally:
        server.stop()
    stats = pstats.Stats(out)
    total = stats.total_calls  # type: ignore[attr-defined]
    print(
        f"== cProfile of {impl}, echo over {conns} connection{'s' * (conns > 1)}, "
        f"{window} in flight on each: {done} messages =="
    )
    python = sum(v[1] for k, v in stats.stats.items() if k[0] != "~")  # type: ignore[attr-defined]
    print(
        f"function calls per message (the loop, start-up and upgrades included): "
        f"{total / done:.1f}, of which Python functions {python / done:.1f}"
    )
    rows = []
    for (filename, line, name), (_cc, nc, tt, ct, _callers) in stats.stats.items():  # type: ignore[attr-defined]
        where = os.path.relpath(filename, ROOT) if filename.startswith(ROOT) else filename
        rows.append((tt, nc, ct, f"{os.path.basename(where)}:{line}({name})"))
    rows.sort(reverse=True)
    print(f"{'tottime s':>10}{'calls/msg':>10}{'cumtime s':>10}  function")
    for tt, nc, ct, where in rows[:25]:
        print(f"{tt:>10.3f}{nc / done:>10.2f}{ct:>10.3f}  {where}")
    print()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=3)
    parser.add_argument("--conns", type=int, default=100)
    parser.add_argument("--held", type=int, default=10_000)
    parser.add_argument(
        "--window", type=int, default=16, help="messages in flight for echo1w (default 16)"
    )
    parser.add_argument(
        "--profile-conns", type=int, default=None, help="connections under --only profile"
    )
    parser.add_argument("--only", choices=["echo1", "echo1w", "echo100", "memory", "profile"])
    args = parser.parse_args()
    exe = build_loadgen()
    import tornado
    import websockets

    print(
        f"python {sys.version.split()[0]}, tornado {tornado.version}, "
        f"websockets {websockets.__version__}"
    )
    print()
    if args.only in (None, "echo1"):
        echo(exe, args.rounds, args.seconds, 1)
    if args.only in (None, "echo1w"):
        echo(exe, args.rounds, args.seconds, 1, args.window)
    if args.only in (None, "echo100"):
        echo(exe, args.rounds, args.seconds, args.conns)
    if args.only in (None, "memory"):
        idle_memory(exe, args.held)
    if args.only == "profile":
        conns = args.conns if args.profile_conns is None else args.profile_conns
        profile(exe, args.seconds, conns, args.window if conns == 1 else 1)
    shutil.rmtree(os.path.dirname(exe), ignore_errors=True)


if __name__ == "__main__":
    main()
