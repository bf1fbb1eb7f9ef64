"""The chat scale test's clients: long-poll and WebSocket clients of one room.

Run by bench/scale/run.py in its own process: ``chatload.py PORT
HOST:PORT,HOST:PORT POLLERS SOCKETS MESSAGES RATE``. It opens the clients
against nginx on 127.0.0.1:PORT, posts warm-up messages until every client
has heard one (from then on each client's cursor or socket is continuous, so
it must receive every later message), posts MESSAGES numbered messages at
RATE per second, each on a new connection to the next upstream host in turn
(the kernel's ``SO_REUSEPORT`` hashing then picks one of its processes),
waits until every client has them all (or 30 s pass), and prints one JSON
line: delivery latencies, losses, duplicates, and how clients and posts
spread over the server processes.
"""

from __future__ import annotations

import asyncio
import collections
import json
import os
import resource
import statistics
import sys
import time
from typing import Any

PORT = int(sys.argv[1])
UPSTREAMS = [(hp.rpartition(":")[0], int(hp.rpartition(":")[2])) for hp in sys.argv[2].split(",")]
POLLERS, SOCKETS, MESSAGES = (int(a) for a in sys.argv[3:6])
RATE = float(sys.argv[6])
JOIN_LIMIT = 120.0
DRAIN_LIMIT = 30.0


class Client:
    """What one client heard."""

    __slots__ = ("dups", "joined", "kind", "latencies", "pids", "seen")

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self.joined = False
        self.seen: set[int] = set()
        self.latencies: list[float] = []
        self.pids: set[int] = set()
        self.dups = 0

    def heard(self, message: dict[str, Any], now: float) -> None:
        seq = message["seq"]
        if seq < 0:
            self.joined = True
        elif self.joined:
            if seq in self.seen:
                self.dups += 1
                return
            self.seen.add(seq)
            self.latencies.append(now - message["t"])


errors: collections.Counter[str] = collections.Counter()
missed_flags = 0


async def http(
    reader: asyncio.StreamReader,
    writer: asyncio.StreamWriter,
    method: str,
    path: str,
    body: bytes = b"",
) -> dict[str, Any]:
    head = f"{method} {path} HTTP/1.1\r\nHost: bench\r\n"
    if body:
        head += f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n"
    writer.write(head.encode() + b"\r\n" + body)
    raw = await reader.readuntil(b"\r\n\r\n")
    lines = raw.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    length = 0
    for line in lines[1:]:
        name, _, value = line.partition(":")
        if name.lower() == "content-length":
            length = int(value)
    data = await reader.readexactly(length)
    if status != 200:
        raise RuntimeError(f"HTTP {status}: {data[:200]!r}")
    return json.loads(data)  # type: ignore[no-any-return]


async def poller(client: Client, stop: asyncio.Event) -> None:
    global missed_flags
    cursor = ""
    while not stop.is_set():
        try:
            reader, writer = await asyncio.open_connection("127.0.0.1", PORT)
        except OSError as exc:
            errors[f"poll connect: {type(exc).__name__}"] += 1
            await asyncio.sleep(0.5)
            continue
        try:
            while not stop.is_set():
                answer = await http(reader, writer, "GET", f"/poll?cursor={cursor}")
                now = time.time()
                client.pids.add(answer["pid"])
                if answer["missed"] and client.joined:
                    missed_flags += 1
                for message in answer["messages"]:
                    client.heard(message, now)
                if answer["cursor"] is not None:
                    cursor = str(answer["cursor"])
        except (OSError, asyncio.IncompleteReadError, RuntimeError) as exc:
            if not stop.is_set():
                errors[f"poll: {type(exc).__name__}: {str(exc)[:60]}"] += 1
        finally:
            writer.close()


async def socket_client(client: Client, stop: asyncio.Event) -> None:
    import websockets

    try:
        async with websockets.connect(
            f"ws://127.0.0.1:{PORT}/ws", max_queue=None, compression=None, open_timeout=60
        ) as ws:
            client.pids.add(json.loads(await ws.recv())["hello"])
            async for frame in ws:
                client.heard(json.loads(frame), time.time())
    except Exception as exc:
        if not stop.is_set():
            errors[f"ws: {type(exc).__name__}: {str(exc)[:60]}"] += 1


async def main() -> None:
    stop = asyncio.Event()
    clients = [Client("poll") for _ in range(POLLERS)] + [Client("ws") for _ in range(SOCKETS)]
    tasks = []
    for first in range(0, len(clients), 100):  # open in batches
        for client in clients[first : first + 100]:
            run = poller if client.kind == "poll" else socket_client
            tasks.append(asyncio.ensure_future(run(client, stop)))
        await asyncio.sleep(0.05)
    reader, writer = await asyncio.open_connection("127.0.0.1", PORT)
    posted_by: collections.Counter[int] = collections.Counter()
    started = time.monotonic()
    warmups = 0
    while not all(c.joined for c in clients):
        if time.monotonic() - started > JOIN_LIMIT:
            break
        warmups += 1
        await http(
            reader,
            writer,
            "POST",
            "/post",
            json.dumps({"seq": -warmups, "t": time.time()}).encode(),
        )
        await asyncio.sleep(0.5)
    joined = sum(c.joined for c in clients)
    usage0 = resource.getrusage(resource.RUSAGE_SELF)
    began = time.monotonic()
    for seq in range(1, MESSAGES + 1):
        due = began + (seq - 1) / RATE
        await asyncio.sleep(max(0.0, due - time.monotonic()))
        host, port = UPSTREAMS[seq % len(UPSTREAMS)]
        post_reader, post_writer = await asyncio.open_connection(host, port)
        answer = await http(
            post_reader,
            post_writer,
            "POST",
            "/post",
            json.dumps({"seq": seq, "t": time.time()}).encode(),
        )
        post_writer.close()
        posted_by[answer["by"]] += 1
    drained = time.monotonic()
    while time.monotonic() - drained < DRAIN_LIMIT:
        if all(len(c.seen) == MESSAGES for c in clients if c.joined):
            break
        await asyncio.sleep(0.1)
    usage1 = resource.getrusage(resource.RUSAGE_SELF)
    stop.set()
    writer.close()
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    latencies = sorted(x for c in clients for x in c.latencies)

    def pct(q: float) -> float:
        return (
            latencies[min(len(latencies) - 1, int(q * len(latencies)))] * 1e3
            if latencies
            else float("nan")
        )

    by_pid: collections.Counter[int] = collections.Counter()
    for c in clients:
        for pid in c.pids:
            by_pid[pid] += 1
    print(
        json.dumps(
            {
                "clients": len(clients),
                "pollers": POLLERS,
                "sockets": SOCKETS,
                "joined": joined,
                "warmups": warmups,
                "messages": MESSAGES,
                "expected": joined * MESSAGES,
                "delivered": len(latencies),
                "lost": sum(MESSAGES - len(c.seen) for c in clients if c.joined),
                "duplicates": sum(c.dups for c in clients),
                "missed_flags": missed_flags,
                "p50_ms": pct(0.50),
                "p99_ms": pct(0.99),
                "max_ms": latencies[-1] * 1e3 if latencies else float("nan"),
                "mean_ms": statistics.fmean(latencies) * 1e3 if latencies else float("nan"),
                "posted_by": {str(k): v for k, v in sorted(posted_by.items())},
                "clients_by_pid": {str(k): v for k, v in sorted(by_pid.items())},
                "errors": dict(errors),
                "load_cpu_s": (usage1.ru_utime + usage1.ru_stime)
                - (usage0.ru_utime + usage0.ru_stime),
                "seconds": time.monotonic() - began,
            }
        )
    )


if __name__ == "__main__":
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    try:
        import uvloop

        uvloop.install()
    except ImportError:
        pass
    asyncio.run(main())
    os._exit(0)
