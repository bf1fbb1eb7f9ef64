"""Scale-out and load-held tests: nginx, many processes, Redis fan-out.

    python3 bench/scale/run.py chat [--pollers 1000 --sockets 1000 --messages 60 --rate 2]
    python3 bench/scale/run.py held [--seconds 60 --conns 10000]
    python3 bench/scale/run.py            # both

``chat``: two "hosts" on one machine (127.0.0.2 and 127.0.0.3), each with
two squall processes forked onto one ``SO_REUSEPORT`` port, all four behind
one nginx and fanned out through one redis-server. Long-poll and WebSocket
clients (chatload.py) spread over every process through nginx; each message
is posted through nginx, so it lands on any process. Prints delivery latency
(p50/p99, post to receipt, clocks shared), lost and duplicated messages.

``held``: wrk holds ``--conns`` keep-alive connections for ``--seconds``
against the overview's hello world, first on one process (pinned to CPU 0,
wrk on CPU 1), then through nginx to four forked processes; squall and
Tornado in the same run. Prints requests/s, latency p50/p99, socket errors,
non-2xx answers and the servers' RSS (total over the processes) early,
late and at its peak.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import resource
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))
from _wrk import CLIENT_CPU, ENV, SERVER_CPU  # noqa: E402

APP = os.path.join(HERE, "app.py")


def free_port(address: str = "127.0.0.1") -> int:
    with socket.socket() as s:
        s.bind((address, 0))
        return int(s.getsockname()[1])


def wait_accepting(address: str, port: int, limit: float = 30.0) -> None:
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError), socket.create_connection((address, port), timeout=1):
            return
        time.sleep(0.05)
    raise RuntimeError(f"nothing accepts on {address}:{port}")


class Group:
    """A process started in its own session; stopped with its whole group.

    Its output goes to a log file (a forked worker restarted later must not
    write into a closed pipe); ``ready`` waits for that many ``ready <pid>``
    lines in it.
    """

    def __init__(self, cmd: list[str], cpus: set[int] | None = None, ready: int = 0) -> None:
        def setup() -> None:
            if cpus is not None:
                os.sched_setaffinity(0, cpus)

        self.log = tempfile.NamedTemporaryFile(prefix="squall-scale-", suffix=".log", delete=False)  # noqa: SIM115
        self.proc = subprocess.Popen(
            cmd,
            stdout=self.log,
            stderr=subprocess.STDOUT,
            env=ENV,
            start_new_session=True,
            preexec_fn=setup,
        )
        self.pids: list[int] = []
        deadline = time.monotonic() + 60
        while len(self.pids) < ready:
            self.pids = [int(pid) for pid in re.findall(r"ready (\d+)", self.output())]
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"{cmd} is not ready:\n{self.output()[-2000:]}")
            time.sleep(0.05)

    def output(self) -> str:
        with open(self.log.name, errors="replace") as f:
            return f.read()

    def members(self) -> list[int]:
        """Every live process of the group (the parent and its forked workers)."""
        found = []
        for entry in os.listdir("/proc"):
            if entry.isdigit():
                with contextlib.suppress(OSError), open(f"/proc/{entry}/stat") as f:
                    fields = f.read().rsplit(")", 1)[1].split()
                    if int(fields[3]) == self.proc.pid:  # field 5: process group id
                        found.append(int(entry))
        return found

    def rss_kb(self) -> int:
        """Memory of the whole group: the sum of each process's PSS (pages shared
        after fork counted once in all), close to RSS for a single process."""
        total = 0
        for pid in self.members():
            with contextlib.suppress(OSError), open(f"/proc/{pid}/smaps_rollup") as f:
                for line in f:
                    if line.startswith("Pss:"):
                        total += int(line.split()[1])
        return total

    def stop(self) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGTERM)
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGKILL)  # stragglers of a forked group
        self.log.close()
        os.unlink(self.log.name)


def nginx_conf(folder: str, front: int, upstreams: list[str], conns: int) -> str:
    temps = "".join(
        f"    {kind}_temp_path {folder}/tmp-{kind};\n"
        for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
    )
    servers = "".join(f"        server {hostport};\n" for hostport in upstreams)
    user = "user root root;\n" if os.geteuid() == 0 else ""
    return f"""{user}worker_processes 2;
worker_rlimit_nofile {resource.getrlimit(resource.RLIMIT_NOFILE)[1]};
daemon off;
pid {folder}/nginx.pid;
error_log {folder}/error.log warn;
events {{ worker_connections {conns + 1024}; }}
http {{
    access_log off;
{temps}    map $http_upgrade $connection_upgrade {{ default upgrade; "" ""; }}
    upstream squall {{
{servers}        keepalive {conns};
        keepalive_requests 100000;
    }}
    server {{
        listen 127.0.0.1:{front} backlog=4096;
        keepalive_requests 100000;
        location / {{
            proxy_pass http://squall;
            proxy_http_version 1.1;
            proxy_set_header Connection $connection_upgrade;
            proxy_set_header Upgrade $http_upgrade;
            proxy_set_header Host $http_host;
            proxy_set_header X-Real-IP $remote_addr;
            proxy_set_header X-Scheme $scheme;
            proxy_read_timeout 120s;
        }}
    }}
}}
"""


@contextlib.contextmanager
def nginx(upstreams: list[str], conns: int) -> Iterator[tuple[int, Group]]:
    exe = shutil.which("nginx") or "/usr/sbin/nginx"
    with tempfile.TemporaryDirectory(prefix="squall-scale-") as folder:
        port = free_port()
        path = os.path.join(folder, "nginx.conf")
        with open(path, "w") as f:
            f.write(nginx_conf(folder, port, upstreams, conns))
        flags = ["-p", folder, "-c", path, "-e", os.path.join(folder, "error.log")]
        subprocess.run([exe, "-t", "-q", *flags], check=True)
        group = Group([exe, *flags])
        try:
            wait_accepting("127.0.0.1", port)
            yield port, group
        finally:
            group.stop()


@contextlib.contextmanager
def redis_server() -> Iterator[int]:
    exe = shutil.which("redis-server") or "/usr/bin/redis-server"
    with tempfile.TemporaryDirectory(prefix="squall-redis-") as folder:
        port = free_port()
        group = Group(
            [
                exe,
                "--port",
                str(port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                folder,
                "--maxclients",
                "1000",
            ]
        )
        try:
            wait_accepting("127.0.0.1", port)
            yield port
        finally:
            group.stop()


def server(
    impl: str,
    role: str,
    address: str,
    port: int,
    processes: int,
    *extra: str,
    cpus: set[int] | None = None,
) -> Group:
    cmd = [
        sys.executable,
        APP,
        impl,
        role,
        f"--address={address}",
        f"--port={port}",
        f"--processes={processes}",
        *extra,
    ]
    group = Group(cmd, cpus=cpus, ready=processes)
    wait_accepting(address, port)
    return group


# -- chat ------------------------------------------------------------------------


def chat(args: argparse.Namespace) -> None:
    with redis_server() as redis_port:
        hub = f"--pubsub=redis://127.0.0.1:{redis_port}/0"
        hosts = ["127.0.0.2", "127.0.0.3"]
        groups = []
        upstreams = []
        try:
            for host in hosts:
                port = free_port(host)
                groups.append(server("squall", "chat", host, port, 2, hub))
                upstreams.append(f"{host}:{port}")
            with nginx(upstreams, args.pollers + args.sockets + 256) as (front, ngx):
                rss0 = sum(g.rss_kb() for g in groups)
                out = subprocess.run(
                    [
                        sys.executable,
                        os.path.join(HERE, "chatload.py"),
                        str(front),
                        ",".join(upstreams),
                        str(args.pollers),
                        str(args.sockets),
                        str(args.messages),
                        str(args.rate),
                    ],
                    capture_output=True,
                    text=True,
                    env=ENV,
                    check=False,
                )
                if out.returncode != 0:
                    sys.exit(f"chatload failed:\n{out.stderr}")
                result = json.loads(out.stdout.strip().splitlines()[-1])
                rss1 = sum(g.rss_kb() for g in groups)
        finally:
            for group in groups:
                group.stop()
    pids = {pid for g in groups for pid in g.pids}
    print("== chat: 2 hosts x 2 squall processes behind nginx, one redis-server ==")
    print(
        f"clients {result['clients']} ({result['pollers']} long poll, {result['sockets']} WebSocket), "
        f"joined {result['joined']}; {result['messages']} messages at {args.rate}/s "
        f"(+{result['warmups']} warm-up)"
    )
    print(
        f"deliveries {result['delivered']} of {result['expected']} expected: "
        f"lost {result['lost']}, duplicated {result['duplicates']}, "
        f"'missed' flags {result['missed_flags']}"
    )
    print(
        f"delivery latency p50 {result['p50_ms']:.1f} ms, p99 {result['p99_ms']:.1f} ms, "
        f"max {result['max_ms']:.1f} ms (post through nginx to receipt by the client)"
    )
    print(
        f"posts handled by {len(result['posted_by'])} of {len(pids)} processes: {result['posted_by']}"
    )
    print(f"clients answered by: {result['clients_by_pid']}")
    print(
        f"server memory (PSS over 2 fork parents + 4 workers) {rss0 / 1024:.1f} MiB idle -> {rss1 / 1024:.1f} MiB with the clients"
    )
    print(
        f"load generator CPU {result['load_cpu_s']:.1f} s over {result['seconds']:.1f} s; errors {result['errors'] or 0}"
    )
    print()


# -- held ------------------------------------------------------------------------


class Sampler(threading.Thread):
    """RSS of a process group once a second."""

    def __init__(self, group: Group) -> None:
        super().__init__(daemon=True)
        self.group = group
        self.samples: list[int] = []
        self.done = threading.Event()

    def run(self) -> None:
        while not self.done.wait(1.0):
            self.samples.append(self.group.rss_kb())


def wrk(port: int, seconds: int, conns: int) -> dict[str, float]:
    def setup() -> None:
        os.sched_setaffinity(0, {CLIENT_CPU})
        hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))

    out = subprocess.run(
        [
            "wrk",
            "-t1",
            f"-c{conns}",
            f"-d{seconds}s",
            "--timeout",
            "20s",
            "--latency",
            f"http://127.0.0.1:{port}/",
        ],
        capture_output=True,
        text=True,
        check=True,
        preexec_fn=setup,
    ).stdout

    def ms(text: str) -> float:
        value, unit = re.match(r"([\d.]+)(us|ms|s)", text).groups()  # type: ignore[union-attr]
        return float(value) * {"us": 1e-3, "ms": 1.0, "s": 1e3}[unit]

    result = {
        "requests": int(re.search(r"(\d+) requests in", out).group(1)),  # type: ignore[union-attr]
        "rps": float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)),  # type: ignore[union-attr]
        "p50": ms(re.search(r"\s50%\s+(\S+)", out).group(1)),  # type: ignore[union-attr]
        "p99": ms(re.search(r"\s99%\s+(\S+)", out).group(1)),  # type: ignore[union-attr]
        "socket_errors": 0,
        "non2xx": 0,
    }
    found = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    if found:
        result["socket_errors"] = sum(int(g) for g in found.groups())
        result["errors_text"] = found.group(0)  # type: ignore[assignment]
    found = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    if found:
        result["non2xx"] = int(found.group(1))
    return result


def held_one(impl: str, layout: str, args: argparse.Namespace) -> dict[str, float]:
    port = free_port()
    if layout == "one":
        group = server(impl, "hello", "127.0.0.1", port, 1, cpus={SERVER_CPU})
        front_cm: contextlib.AbstractContextManager[tuple[int, Group | None]] = (
            contextlib.nullcontext((port, None))
        )
    else:
        group = server(impl, "hello", "127.0.0.1", port, 4)
        front_cm = nginx([f"127.0.0.1:{port}"], args.conns)
    try:
        with front_cm as (front, _):
            sampler = Sampler(group)
            sampler.start()
            result = wrk(front, args.seconds, args.conns)
            sampler.done.set()
            sampler.join()
            alive = len(group.members())
            restarts = group.output().count("restarting")
    finally:
        group.stop()
    samples = sampler.samples
    early = samples[min(len(samples) - 1, 5)]  # after the connections are up
    result.update(
        rss_early=early / 1024,
        rss_late=samples[-1] / 1024,
        rss_peak=max(samples) / 1024,
        processes=alive,
        restarts=restarts,
    )
    return result


def held(args: argparse.Namespace) -> None:
    for layout, title in (
        ("one", "one process (CPU 0), wrk on CPU 1"),
        ("nginx", "nginx -> 4 forked processes (reuse_port), wrk on CPU 1"),
    ):
        runs = {impl: held_one(impl, layout, args) for impl in ("squall", "tornado")}
        print(f"== {args.conns} keep-alive clients for {args.seconds} s, hello world: {title} ==")
        print(
            f"{'server':<9}{'req/s':>9}{'vs tornado':>12}{'p50 ms':>9}{'p99 ms':>9}{'p99 vs':>8}"
            f"{'sock err':>10}{'non-2xx':>9}{'PSS MiB early/late/peak':>26}"
        )
        ref = runs["tornado"]
        for impl, r in runs.items():
            rss = f"{r['rss_early']:.1f}/{r['rss_late']:.1f}/{r['rss_peak']:.1f}"
            print(
                f"{impl:<9}{r['rps']:>9.0f}{r['rps'] / ref['rps']:>11.2f}x{r['p50']:>9.1f}"
                f"{r['p99']:>9.1f}{ref['p99'] / r['p99']:>7.2f}x{r['socket_errors']:>10}"
                f"{r['non2xx']:>9}{rss:>26}"
            )
            if "errors_text" in r:
                print(f"          {r['errors_text']}")
            if r["restarts"]:
                print(f"          {r['restarts']} worker restarts")
        print(
            "   (PSS: memory summed over the server's processes, 5 s in, at the end, peak; "
            "'p99 vs' = Tornado's p99 / this one's)"
        )
        print()


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("what", nargs="?", choices=["chat", "held", "all"], default="all")
    parser.add_argument("--pollers", type=int, default=1000)
    parser.add_argument("--sockets", type=int, default=1000)
    parser.add_argument("--messages", type=int, default=60)
    parser.add_argument("--rate", type=float, default=2.0)
    parser.add_argument("--seconds", type=int, default=60)
    parser.add_argument("--conns", type=int, default=10000)
    args = parser.parse_args()
    for tool in ("nginx", "redis-server", "wrk"):
        if shutil.which(tool) is None and not os.path.exists(f"/usr/sbin/{tool}"):
            sys.exit(f"{tool} is needed (Debian: apt-get install nginx redis-server wrk)")
    if args.what in ("chat", "all"):
        chat(args)
    if args.what in ("held", "all"):
        held(args)


if __name__ == "__main__":
    main()
