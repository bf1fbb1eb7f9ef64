"""HTTP client bench: squall's simple and curl clients vs Tornado's, aiohttp and httpx.

    python bench/client/run.py                 # 5 interleaved rounds
    python bench/client/run.py --rounds 3 --clients squall-simple,aiohttp
    python bench/client/run.py --profile squall-simple   # cProfile of one client

Starts nginx (packages/httpclient/tests/nginx.py) on 127.0.0.1 pinned to CPU 0,
serving a 13-byte body and a 1 MiB file (gzip off, so every client reads the
same plain bytes). Each round runs every client once, in
a fresh process pinned to CPU 1, through three workloads:

* ``seq``: 2,000 GETs of the 13-byte body, one after another;
* ``c50``: 2,000 GETs with 50 in flight;
* ``1mib``: 50 sequential downloads of the 1 MiB file.

Reported: medians over rounds of the rate (requests/s, MiB/s), the client
process's CPU time per request / per MiB (``time.process_time``), and ratios
against aiohttp and against the matching Tornado client (> 1 means faster /
cheaper than the anchor).
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.util
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
CLIENTS = ["squall-simple", "squall-curl", "tornado-simple", "tornado-curl", "aiohttp", "httpx"]
TORNADO_OF = {"squall-simple": "tornado-simple", "squall-curl": "tornado-curl"}
SMALL, BIG = b"Hello, world!", os.urandom(1 << 20)
N_REQUESTS, IN_FLIGHT, N_BIG = 2000, 50, 50


def _load_nginx() -> Any:
    spec = importlib.util.spec_from_file_location(
        "bench_nginx", ROOT / "packages/httpclient/tests/nginx.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


# -- one client in its own process ----------------------------------------------
def _make_fetcher(name: str) -> tuple[Any, Any]:
    """(async fetch(url) -> bytes, async close()) for ``name``, built inside the running loop."""
    if name.startswith("squall-") or name.startswith("tornado-"):
        if name.startswith("squall-"):
            from squall.curl_httpclient import CurlAsyncHTTPClient as Curl
            from squall.simple_httpclient import SimpleAsyncHTTPClient as Simple
        else:
            from tornado.curl_httpclient import CurlAsyncHTTPClient as Curl
            from tornado.simple_httpclient import SimpleAsyncHTTPClient as Simple
        kind = Curl if name.endswith("curl") else Simple
        client = kind(force_instance=True, max_clients=IN_FLIGHT)

        async def fetch(url: str) -> bytes:
            return (await client.fetch(url)).body  # type: ignore[no-any-return]

        async def close() -> None:
            client.close()

        return fetch, close
    if name == "aiohttp":
        import aiohttp

        session = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=IN_FLIGHT))

        async def fetch(url: str) -> bytes:
            async with session.get(url) as response:
                return await response.read()

        return fetch, session.close
    if name == "httpx":
        import httpx

        limits = httpx.Limits(max_connections=IN_FLIGHT, max_keepalive_connections=IN_FLIGHT)
        hx = httpx.AsyncClient(limits=limits)

        async def fetch(url: str) -> bytes:
            return (await hx.get(url)).content

        return fetch, hx.aclose
    raise SystemExit(f"unknown client {name}")


async def _workloads(name: str, small_url: str, big_url: str) -> dict[str, list[float]]:
    fetch, close = _make_fetcher(name)
    try:
        for _ in range(20):  # warm up: connections, imports, caches
            assert await fetch(small_url) == SMALL
        results: dict[str, list[float]] = {}

        t0, c0 = time.perf_counter(), time.process_time()
        for _ in range(N_REQUESTS):
            await fetch(small_url)
        results["seq"] = [time.perf_counter() - t0, time.process_time() - c0]

        async def worker(count: int) -> None:
            for _ in range(count):
                await fetch(small_url)

        t0, c0 = time.perf_counter(), time.process_time()
        await asyncio.gather(*[worker(N_REQUESTS // IN_FLIGHT) for _ in range(IN_FLIGHT)])
        results["c50"] = [time.perf_counter() - t0, time.process_time() - c0]

        t0, c0 = time.perf_counter(), time.process_time()
        for _ in range(N_BIG):
            body = await fetch(big_url)
        results["1mib"] = [time.perf_counter() - t0, time.process_time() - c0]
        assert len(body) == len(BIG)
        return results
    finally:
        await close()


def _worker_main(name: str, small_url: str, big_url: str, profile: bool) -> None:
    os.sched_setaffinity(0, {1})
    if profile:
        import cProfile
        import pstats

        profiler = cProfile.Profile()
        profiler.enable()
        asyncio.run(_workloads(name, small_url, big_url))
        profiler.disable()
        stats = pstats.Stats(profiler, stream=sys.stderr)
        stats.sort_stats("tottime").print_stats(30)
        return
    print(json.dumps(asyncio.run(_workloads(name, small_url, big_url))))


# -- the driver -----------------------------------------------------------------
def _run_one(name: str, small_url: str, big_url: str, profile: bool = False) -> dict[str, Any]:
    src = os.pathsep.join(str(p) for p in sorted((ROOT / "packages").glob("*/src")))
    env = dict(os.environ, PYTHONPATH=src + os.pathsep + os.environ.get("PYTHONPATH", ""))
    argv = [sys.executable, __file__, "--worker", name, small_url, big_url]
    if profile:
        argv.append("--profile-worker")
    done = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=600)
    if profile:
        print(done.stderr)
        return {}
    if done.returncode:
        print(f"{name} failed: {done.stderr.strip()[-800:]}", file=sys.stderr)
        return {}
    return json.loads(done.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


def _table(samples: dict[str, list[dict[str, Any]]]) -> None:
    def median(name: str, load: str, index: int) -> float | None:
        values = [s[load][index] for s in samples[name] if load in s]
        return statistics.median(values) if values else None

    for load, count, unit in (
        ("seq", N_REQUESTS, "req"),
        ("c50", N_REQUESTS, "req"),
        ("1mib", N_BIG, "MiB"),
    ):
        title = {
            "seq": f"{N_REQUESTS} sequential GETs (13 bytes)",
            "c50": f"{N_REQUESTS} GETs, {IN_FLIGHT} in flight",
            "1mib": f"{N_BIG} x 1 MiB downloads",
        }[load]
        print(f"\n== {title} ==")
        print(
            f"{'client':<16}{unit + '/s':>10}{'CPU ms/' + unit:>14}"
            f"{'vs aiohttp':>12}{'vs tornado':>12}{'CPU vs aiohttp':>16}"
        )
        anchor_wall = median("aiohttp", load, 0) if "aiohttp" in samples else None
        anchor_cpu = median("aiohttp", load, 1) if "aiohttp" in samples else None
        for name in samples:
            wall, cpu = median(name, load, 0), median(name, load, 1)
            if wall is None or cpu is None:
                print(f"{name:<16}{'failed':>10}")
                continue
            vs_aio = f"{anchor_wall / wall:.2f}x" if anchor_wall else "-"
            cpu_aio = f"{anchor_cpu / cpu:.2f}x" if anchor_cpu else "-"
            tornado = TORNADO_OF.get(name)
            torn_wall = median(tornado, load, 0) if tornado in samples else None
            vs_tor = f"{torn_wall / wall:.2f}x" if torn_wall else "-"
            print(
                f"{name:<16}{count / wall:>10.0f}{1000 * cpu / count:>14.3f}"
                f"{vs_aio:>12}{vs_tor:>12}{cpu_aio:>16}"
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--clients", default=",".join(CLIENTS))
    parser.add_argument("--profile", metavar="CLIENT", help="cProfile one client, no table")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    parser.add_argument("--profile-worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("urls", nargs="*", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        _worker_main(args.worker, args.urls[0], args.urls[1], args.profile_worker)
        return
    nginx = _load_nginx()
    with tempfile.TemporaryDirectory() as folder:
        server = nginx.Nginx(folder, files={"small.txt": SMALL, "big.bin": BIG}, cpu=0, gzip=False)
        with server:
            small, big = server.url("/small.txt"), server.url("/big.bin")
            if args.profile:
                _run_one(args.profile, small, big, profile=True)
                return
            names = [n for n in args.clients.split(",") if n]
            samples: dict[str, list[dict[str, Any]]] = {n: [] for n in names}
            print(f"nginx pid {server.pid} on CPU 0; clients on CPU 1; {args.rounds} rounds")
            for round_no in range(args.rounds):
                for name in names:
                    samples[name].append(_run_one(name, small, big))
                print(f"round {round_no + 1}/{args.rounds} done", file=sys.stderr)
            _table(samples)


if __name__ == "__main__":
    main()
