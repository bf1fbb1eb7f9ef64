"""c10k bench: idle-connection memory, probe latency and echo throughput.

Run from the repository root:  python bench/c10k/run.py  [--quick]

For each server (squall IOStream, squall on uvloop, Tornado 6 IOStream, raw
asyncio Protocol) a fresh server process is started (server.py); this process
is the client and holds the connections with plain blocking sockets.

1. Hold 10,000 idle connections (each has done one echo, so every server has
   accepted it and is waiting in a read), then as many as the file-descriptor
   hard limit allows.  Report server RSS growth per held connection and the
   median / p99 latency of a fresh echo round trip (connect + echo + close)
   while they are held.
2. Echo throughput over one connection with 1 KB and 1 MB messages.

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


def throughput(impl: str, size: int, rounds: int) -> float:
    proc, port = start(impl, str(size))
    try:
        s = socket.create_connection(("127.0.0.1", port), timeout=30)
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        msg = os.urandom(size)
        buf = bytearray(size)
        for _ in range(max(1, rounds // 20)):  # warm-up
            s.sendall(msg)
            recv_exact(s, size, buf)
        t0 = time.perf_counter()
        for _ in range(rounds):
            s.sendall(msg)
            recv_exact(s, size, buf)
        elapsed = time.perf_counter() - t0
        assert bytes(buf) == msg
        s.close()
    finally:
        proc.kill()
        proc.wait()
    return rounds * size * 2 / elapsed / 1e6  # MB/s, both directions


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
    print("== echo throughput, one connection (MB/s both directions; higher is better) ==")
    cases = [(1024, 2000 if QUICK else 20000), (1024 * 1024, 30 if QUICK else 300)]
    tput: dict[tuple[str, int], float] = {}
    for size, rounds in cases:
        for impl in IMPLS:
            tput[(impl, size)] = throughput(impl, size, rounds)
    print(f"{'server':<15}{'1 KB':>10}{'vs tornado':>11}{'1 MB':>10}{'vs tornado':>11}")
    for impl in IMPLS:
        a = tput[(impl, 1024)]
        b = tput[(impl, 1024 * 1024)]
        print(
            f"{impl:<15}{a:>10.1f}{a / tput[('tornado', 1024)]:>10.2f}x"
            f"{b:>10.1f}{b / tput[('tornado', 1024 * 1024)]:>10.2f}x"
        )


if __name__ == "__main__":
    main()
