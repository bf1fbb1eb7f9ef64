"""c10k bench: idle-connection memory, probe latency and echo throughput.

Run from the repository root:  python bench/c10k/run.py  [--quick] [--throughput-only]

For each server (squall IOStream, squall on uvloop, Tornado 6 IOStream, raw
asyncio Protocol) a fresh server process is started (server.py); this process
is the client and holds the connections with plain blocking sockets.

1. Hold 10,000 idle connections (each has done one echo, so every server has
   accepted it and is waiting in a read), then as many as the file-descriptor
   hard limit allows.  Report server RSS growth per held connection and the
   median / p99 latency of a fresh echo round trip (connect + echo + close)
   while they are held.
2. Echo throughput over one connection with 1 KB and 1 MB messages, ping-pong:
   median of several interleaved runs, in MB/s and in server CPU time per
   message, once with client and server on any CPUs and once pinned to one.

Everything is on 127.0.0.1 and bounded.  Ratios are against Tornado, same run.
"""

from __future__ import annotations

import os
import resource
import socket
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
IMPLS = ["squall", "squall-uvloop", "tornado", "asyncio"]
QUICK = "--quick" in sys.argv
# Skip the idle-connection part (handy while tuning the stream's hot path).
THROUGHPUT_ONLY = "--throughput-only" in sys.argv


def raise_nofile() -> int:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return hard


def start(impl: str, mode: str) -> tuple[subprocess.Popen[str], int]:
    proc = subprocess.Popen(
        [sys.executable, os.path.join(HERE, "server.py"), impl, mode],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    port = int(proc.stdout.readline())
    return proc, port


def rss_kb(pid: int) -> int:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise RuntimeError("no VmRSS")


def recv_exact(sock: socket.socket, n: int, buf: bytearray | None = None) -> None:
    view = memoryview(buf if buf is not None else bytearray(n))
    got = 0
    while got < n:
        k = sock.recv_into(view[got:n])
        if not k:
            raise ConnectionError("server closed")
        got += k


def open_held(port: int, count: int, held: list[socket.socket]) -> None:
    """Opens *count* more connections; each echoes one line so the server holds it."""
    batch = 200
    for start_i in range(0, count, batch):
        conns = []
        for _ in range(min(batch, count - start_i)):
            s = socket.create_connection(("127.0.0.1", port), timeout=30)
            conns.append(s)
        for s in conns:
            s.sendall(b"hi\n")
        for s in conns:
            recv_exact(s, 3)
        held.extend(conns)


def probe(port: int, n: int) -> tuple[float, float]:
    times = []
    for _ in range(n):
        t0 = time.perf_counter()
        s = socket.create_connection(("127.0.0.1", port), timeout=30)
        s.sendall(b"probe\n")
        recv_exact(s, 6)
        s.close()
        times.append(time.perf_counter() - t0)
    times.sort()
    return statistics.median(times) * 1000, times[int(len(times) * 0.99) - 1] * 1000


def settle(pid: int) -> int:
    time.sleep(0.3)
    return rss_kb(pid)


def c10k(impl: str, targets: list[int]) -> list[dict[str, float]]:
    proc, port = start(impl, "line")
    results = []
    held: list[socket.socket] = []
    try:
        # Warm up the code paths once, then take the baseline.
        open_held(port, 50, held)
        for s in held:
            s.close()
        held.clear()
        time.sleep(0.2)
        base = settle(proc.pid)
        for target in targets:
            t0 = time.perf_counter()
            open_held(port, target - len(held), held)
            setup = time.perf_counter() - t0
            rss = settle(proc.pid)
            med, p99 = probe(port, 100 if QUICK else 300)
            results.append(
                {
                    "conns": len(held),
                    "kb_per_conn": (rss - base) / len(held),
                    "rss_mb": rss / 1024,
                    "median_ms": med,
                    "p99_ms": p99,
                    "setup_s": setup,
                }
            )
    finally:
        for s in held:
            s.close()
        proc.kill()
        proc.wait()
    return results


def cpu_ns(pid: int) -> int:
    """Time the (single-threaded) server has spent on a CPU, in nanoseconds."""
    with open(f"/proc/{pid}/schedstat") as f:
        return int(f.read().split()[0])


def throughput(impl: str, size: int, rounds: int) -> tuple[float, float]:
    """One ping-pong run; returns (MB/s both directions, server CPU µs per message)."""
    proc, port = start(impl, str(size))
    try:
        s = socket.create_connection(("127.0.0.1", port), timeout=30)
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        msg = os.urandom(size)
        buf = bytearray(size)
        for _ in range(max(1, rounds // 10)):  # warm-up
            s.sendall(msg)
            recv_exact(s, size, buf)
        cpu0 = cpu_ns(proc.pid)
        t0 = time.perf_counter()
        for _ in range(rounds):
            s.sendall(msg)
            recv_exact(s, size, buf)
        elapsed = time.perf_counter() - t0
        cpu = cpu_ns(proc.pid) - cpu0
        assert bytes(buf) == msg
        s.close()
    finally:
        proc.kill()
        proc.wait()
    return rounds * size * 2 / elapsed / 1e6, cpu / rounds / 1e3


def main() -> None:
    hard = raise_nofile()
    # Leave room for the client's and server's other descriptors.
    max_conns = max(1000, hard - 300)
    targets = [1000, min(2000, max_conns)] if QUICK else [10_000, max_conns]
    targets = sorted(set(targets))
    print(
        f"python {sys.version.split()[0]}, RLIMIT_NOFILE hard limit {hard} "
        f"(soft raised to it in client and servers); max held = {max_conns}"
    )
    try:
        import tornado

        print(f"tornado {tornado.version}")
    except ImportError:
        sys.exit("tornado is needed for the comparison (pip install tornado)")

    if not THROUGHPUT_ONLY:
        idle_connections(targets)
    throughput_table()


def idle_connections(targets: list[int]) -> None:
    rows: dict[str, list[dict[str, float]]] = {}
    for impl in IMPLS:
        rows[impl] = c10k(impl, targets)
    print()
    print("== idle connections held (server RSS growth / connection; fresh echo probe) ==")
    print(
        f"{'server':<15}{'conns':>7}{'KB/conn':>9}{'vs tornado':>11}{'RSS MB':>8}"
        f"{'median ms':>11}{'p99 ms':>8}{'setup s':>9}"
    )
    for i, _t in enumerate(targets):
        ref = rows["tornado"][i]["kb_per_conn"]
        for impl in IMPLS:
            r = rows[impl][i]
            print(
                f"{impl:<15}{int(r['conns']):>7}{r['kb_per_conn']:>9.2f}"
                f"{r['kb_per_conn'] / ref:>10.2f}x{r['rss_mb']:>8.1f}"
                f"{r['median_ms']:>11.3f}{r['p99_ms']:>8.3f}{r['setup_s']:>9.2f}"
            )
    print()


def throughput_table() -> None:
    print("== echo throughput, one connection, ping-pong (median of runs) ==")
    print("   MB/s counts both directions (higher is better); CPU is the server's")
    print("   CPU time per echoed message (lower is better).  'cross-core': client")
    print("   and server scheduled freely, so each message also pays a cross-CPU")
    print("   wake-up (slow and noisy on VMs); 'one core': both pinned to one CPU,")
    print("   which measures the servers' own per-message cost.  'vs tornado' is")
    print("   the median of per-round ratios (each round runs every server once).")
    reps = 3 if QUICK else 5
    cases = [(1024, 5000 if QUICK else 20000), (1024 * 1024, 30 if QUICK else 300)]
    all_cpus = os.sched_getaffinity(0)
    placements = [("cross-core", all_cpus), ("one core", {min(all_cpus)})]
    for size, rounds in cases:
        for placement, cpus in placements:
            runs: dict[str, list[tuple[float, float]]] = {impl: [] for impl in IMPLS}
            # Servers inherit the client's CPU set.
            os.sched_setaffinity(0, cpus)
            try:
                for _ in range(reps):
                    # Interleaved, so that a slow spell of the machine hits every server.
                    for impl in IMPLS:
                        runs[impl].append(throughput(impl, size, rounds))
            finally:
                os.sched_setaffinity(0, all_cpus)
            print_throughput(size, rounds, placement, runs)


def print_throughput(
    size: int, rounds: int, placement: str, runs: dict[str, list[tuple[float, float]]]
) -> None:
    label = f"{'1 KB' if size == 1024 else '1 MB'} x {rounds}, {placement}"
    print(label)
    print(
        f"{'server':<15}{'MB/s':>8}{'vs tornado':>11}{'min-max MB/s':>15}"
        f"{'CPU us/msg':>12}{'vs tornado':>11}"
    )
    ref = runs["tornado"]
    for impl, results in runs.items():
        mbs = statistics.median(r[0] for r in results)
        cpu = statistics.median(r[1] for r in results)
        # Ratios are paired: each run against Tornado's run of the same
        # round, then the median, so that a machine that changes speed
        # between rounds does not tilt the comparison.
        mbs_ratio = statistics.median(r[0] / t[0] for r, t in zip(results, ref))
        cpu_ratio = statistics.median(r[1] / t[1] for r, t in zip(results, ref))
        lo = min(r[0] for r in results)
        hi = max(r[0] for r in results)
        print(
            f"{impl:<15}{mbs:>8.1f}{mbs_ratio:>10.2f}x{f'{lo:.0f}-{hi:.0f}':>15}"
            f"{cpu:>12.1f}{cpu_ratio:>10.2f}x"
        )
    print()


if __name__ == "__main__":
    main()
