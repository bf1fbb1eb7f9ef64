"""Several squall processes behind a real nginx: the deployment in ``deploy/``.

Each test starts nginx (the Debian binary, as the current user, everything
under ``tmp_path``) in front of squall server processes started from
``deploy_worker.py``, and drives it with blocking keep-alive clients:

* forked workers on one shared socket, and forked workers each binding the
  port with ``SO_REUSEPORT``: requests reach all four of them;
* ``xheaders``: the client's own address and scheme reach the request,
  through nginx's ``X-Real-IP`` / ``X-Scheme``;
* the one-port-per-process layout (upstream lists four ports);
* a worker killed with SIGKILL is replaced by ``fork_processes`` while
  nginx keeps answering;
* a rolling restart (SIGTERM -> drain -> exit -> new process, one port at a
  time) under a steady stream of requests loses none of them.

Without nginx the tests skip, unless the environment variable ``CI`` is set.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Collection, Iterator
from pathlib import Path
from typing import Any

import pytest

_NGINX = shutil.which("nginx") or ("/usr/sbin/nginx" if os.path.exists("/usr/sbin/nginx") else None)
_WORKER = Path(__file__).with_name("deploy_worker.py")
_DEPLOY_CONF = Path(__file__).resolve().parents[3] / "deploy" / "nginx" / "squall.conf"
_WAIT = 20.0  # the bound of every wait below, in seconds

if _NGINX is None and os.environ.get("CI"):
    raise RuntimeError("CI is set but nginx is missing (apt-get install nginx)")
pytestmark = [
    pytest.mark.skipif(_NGINX is None, reason="nginx is not installed (CI installs it)"),
    pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork"),
]


def _unused_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _consecutive_ports(count: int) -> int:
    """A first port P such that P .. P+count-1 are all free right now."""
    for _ in range(50):
        first = _unused_port()
        if first + count > 65535:
            continue
        holders = []
        try:
            for port in range(first, first + count):
                holder = socket.socket()
                holders.append(holder)
                # As the servers will (so that TIME_WAIT leftovers do not count as taken).
                holder.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                holder.bind(("127.0.0.1", port))
        except OSError:
            continue
        finally:
            for holder in holders:
                holder.close()
        return first
    raise RuntimeError("no run of free ports found")


def _until(check: Callable[[], Any], what: str, limit: float = _WAIT) -> Any:
    end = time.monotonic() + limit
    while True:
        result = check()
        if result:
            return result
        if time.monotonic() > end:
            raise AssertionError(f"gave up after {limit} s waiting for {what}")
        time.sleep(0.02)


def _accepts(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
    except OSError:
        return False
    return True


# -- processes ----------------------------------------------------------------


class _Procs:
    """Squall processes and nginx started by one test, all killed at its end."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.started: list[subprocess.Popen[bytes]] = []
        self.logs: dict[int, Path] = {}  # squall pid -> the file its output goes to

    def squall(self, port: int, *flags: str) -> subprocess.Popen[bytes]:
        path = self.folder / f"squall-{port}-{len(self.started)}.log"
        log = open(path, "wb")  # noqa: SIM115
        with log:
            proc = subprocess.Popen(
                [sys.executable, str(_WORKER), f"--port={port}", *flags],
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # its own group: the forked workers go with it
            )
        self.started.append(proc)
        self.logs[proc.pid] = path
        return proc

    def nginx(self, conf: str) -> int:
        assert _NGINX is not None
        path = self.folder / "nginx.conf"
        path.write_text(conf)
        errors = self.folder / "error.log"
        flags = ["-p", str(self.folder), "-c", str(path), "-e", str(errors)]
        check = subprocess.run([_NGINX, "-t", *flags], capture_output=True, text=True, timeout=30)
        assert check.returncode == 0, check.stderr
        proc = subprocess.Popen([_NGINX, *flags], stdout=subprocess.DEVNULL, start_new_session=True)
        self.started.append(proc)
        port = int(conf.split("listen 127.0.0.1:", 1)[1].split(";", 1)[0].split()[0])
        _until(lambda: _accepts(port), "nginx to listen")
        return port

    def close(self) -> None:
        for proc in reversed(self.started):
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(10)


@pytest.fixture
def procs(tmp_path: Path) -> Iterator[_Procs]:
    started = _Procs(tmp_path)
    try:
        yield started
    finally:
        started.close()


def _nginx_conf(
    folder: Path,
    front: int,
    upstreams: list[int],
    *,
    tls: tuple[str, str] | None = None,
    fail_timeout: str = "10s",
) -> str:
    """nginx in front of ``upstreams``, shaped like deploy/nginx/squall.conf."""
    temps = "".join(
        f"    {kind}_temp_path {folder / ('tmp-' + kind)};\n"
        for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
    )
    servers = "".join(
        f"        server 127.0.0.1:{port} max_fails=1 fail_timeout={fail_timeout};\n"
        for port in upstreams
    )
    listen = f"listen 127.0.0.1:{front}"
    if tls:
        listen += f" ssl;\n        ssl_certificate {tls[0]};\n        ssl_certificate_key {tls[1]}"
    user = "user root root;\n" if os.geteuid() == 0 else ""
    return f"""{user}worker_processes 1;
daemon off;
master_process on;
pid {folder / "nginx.pid"};
error_log {folder / "error.log"} warn;
events {{ worker_connections 1024; }}
http {{
    access_log off;
{temps}    upstream squall {{
{servers}        keepalive 16;
        keepalive_requests 4;
    }}
    server {{
        {listen};
        client_max_body_size 1m;
        location / {{
            proxy_pass http://squall;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_set_header Host $http_host;
            proxy_set_header X-Real-IP $remote_addr;
            proxy_set_header X-Scheme $scheme;
            proxy_next_upstream error;
            proxy_connect_timeout 2s;
            proxy_read_timeout 10s;
        }}
    }}
}}
"""


# -- clients ------------------------------------------------------------------


class _Client:
    """One keep-alive connection to nginx; reconnects after any failure (and counts it)."""

    def __init__(self, port: int, *, tls: bool = False, source: str | None = None) -> None:
        self.port = port
        self.tls = tls
        self.source = source
        self.failures: list[str] = []
        self._conn: http.client.HTTPConnection | None = None

    def _open(self) -> http.client.HTTPConnection:
        bind = (self.source, 0) if self.source else None
        if self.tls:
            context = ssl.create_default_context()
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
            return http.client.HTTPSConnection(
                "127.0.0.1", self.port, timeout=_WAIT, source_address=bind, context=context
            )
        return http.client.HTTPConnection(
            "127.0.0.1", self.port, timeout=_WAIT, source_address=bind
        )

    def get(self, path: str = "/", **headers: str) -> dict[str, Any] | None:
        if self._conn is None:
            self._conn = self._open()
        try:
            self._conn.request("GET", path, headers=headers)
            response = self._conn.getresponse()
            body = response.read()
        except (OSError, http.client.HTTPException) as exc:
            self.failures.append(f"{path}: {exc!r}")
            self.close()
            return None
        if response.status != 200:
            self.failures.append(f"{path}: {response.status} {body[:200]!r}")
            return None
        answer: dict[str, Any] = json.loads(body)
        return answer

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None


class _Stream(threading.Thread):
    """Sequential requests on one keep-alive client until stopped; ``hold`` pauses it."""

    def __init__(self, port: int, paths: tuple[str, ...] = ("/",)) -> None:
        super().__init__(daemon=True)
        self.client = _Client(port)
        self.paths = paths
        self.seen: list[dict[str, Any]] = []
        self.done = threading.Event()
        self.hold = threading.Event()
        self.idle = threading.Event()

    def run(self) -> None:
        turn = 0
        while not self.done.is_set() and turn < 100_000:
            if self.hold.is_set():
                self.idle.set()
                time.sleep(0.01)
                continue
            self.idle.clear()
            answer = self.client.get(self.paths[turn % len(self.paths)])
            turn += 1
            if answer is not None:
                self.seen.append(answer)
        self.client.close()

    def pause(self) -> None:
        self.hold.set()
        _until(self.idle.is_set, "the client to pause")

    def stop(self) -> None:
        self.done.set()
        self.join(_WAIT)
        assert not self.is_alive(), "the client thread did not stop"


def _workers_by_task(log: Path, count: int, gone: Collection[int] = ()) -> dict[int, int]:
    """Task id -> pid of every forked worker, from the lines they print once serving.

    Not asked through nginx: on one shared socket the kernel hands each new
    connection to whichever worker wakes first, and on a loaded machine one
    worker can take every connection for a long time. A pid in ``gone`` (a
    killed worker) is waited past, for the task's replacement.
    """

    def read() -> dict[int, int] | None:
        found: dict[int, int] = {}
        for line in log.read_text().splitlines():
            if line.startswith("serving "):
                ready = json.loads(line.split(" ", 1)[1])
                found[ready["task"]] = ready["pid"]
        alive = {task: pid for task, pid in found.items() if pid not in gone}
        return alive if len(alive) == count else None

    return _until(read, f"all {count} workers to serve")


# -- the tests ----------------------------------------------------------------


@pytest.mark.parametrize("reuse_port", [False, True], ids=["shared-socket", "reuse-port"])
def test_four_forked_workers_share_the_requests(procs: _Procs, reuse_port: bool) -> None:
    if reuse_port and not hasattr(socket, "SO_REUSEPORT"):
        pytest.skip("no SO_REUSEPORT here")
    port = _unused_port()
    flags = ["--processes=4", "--xheaders"] + (["--reuse-port"] if reuse_port else [])
    server = procs.squall(port, *flags)
    _until(lambda: _accepts(port), "squall to listen")
    front = procs.nginx(_nginx_conf(procs.folder, _unused_port(), [port]))
    _workers_by_task(procs.logs[server.pid], 4)  # every worker serves
    client = _Client(front)
    answers = [client.get() for _ in range(200)]
    # On one shared socket the kernel hands each connection to whichever
    # worker wakes first, so the spread is uneven (very uneven on a loaded
    # machine, where a worker may sleep through many accepts): allow many
    # more requests there, bounded.
    extra = 0
    while not reuse_port and extra < 10000 and len({a["task"] for a in answers if a}) < 4:
        answers.append(client.get())
        extra += 1
    client.close()
    assert not client.failures, client.failures
    tasks = {answer["task"] for answer in answers if answer}
    pids = {answer["pid"] for answer in answers if answer}
    assert tasks == {0, 1, 2, 3}
    assert len(pids) == 4
    # nginx kept its connections to squall open (keepalive_requests 4 there).
    assert len({answer["peer"] for answer in answers if answer}) <= len(answers) // 2


def test_xheaders_carry_the_clients_address_and_scheme(
    procs: _Procs, cert_files: tuple[str, str]
) -> None:
    # The client connects from 127.0.0.2 over TLS; nginx reaches squall from
    # 127.0.0.1 over plain HTTP. Only X-Real-IP / X-Scheme can tell squall.
    plain, trusting = _unused_port(), _unused_port()
    procs.squall(plain)
    procs.squall(trusting, "--xheaders")
    answers = {}
    for port in (plain, trusting):
        _until(lambda port=port: _accepts(port), "squall to listen")
        nginx_dir = procs.folder / f"nginx-{port}"
        nginx_dir.mkdir()
        front = procs.nginx(_nginx_conf(nginx_dir, _unused_port(), [port], tls=cert_files))
        client = _Client(front, tls=True, source="127.0.0.2")
        # a forged X-Real-IP from the client is replaced by nginx
        answers[port] = client.get(**{"X-Real-IP": "203.0.113.5", "X-Scheme": "gopher"})
        client.close()
        assert not client.failures, client.failures
    assert answers[trusting] is not None and answers[plain] is not None
    assert (answers[trusting]["ip"], answers[trusting]["scheme"]) == ("127.0.0.2", "https")
    assert (answers[plain]["ip"], answers[plain]["scheme"]) == ("127.0.0.1", "http")


def test_one_port_per_process(procs: _Procs) -> None:
    first = _consecutive_ports(4)
    ports = list(range(first, first + 4))
    servers = [procs.squall(port, "--xheaders") for port in ports]
    for port in ports:
        _until(lambda port=port: _accepts(port), f"squall on {port}")
    front = procs.nginx(_nginx_conf(procs.folder, _unused_port(), ports))
    client = _Client(front)
    answers = [client.get() for _ in range(200)]
    client.close()
    assert not client.failures, client.failures
    assert {answer["pid"] for answer in answers if answer} == {s.pid for s in servers}
    assert {answer["task"] for answer in answers if answer} == {None}


def test_a_killed_worker_is_replaced_and_nginx_keeps_answering(procs: _Procs) -> None:
    port = _unused_port()
    server = procs.squall(port, "--processes=4")
    _until(lambda: _accepts(port), "squall to listen")
    front = procs.nginx(_nginx_conf(procs.folder, _unused_port(), [port]))
    before = _workers_by_task(procs.logs[server.pid], 4)
    stream = _Stream(front)
    stream.start()
    try:
        _until(lambda: len(stream.seen) >= 20, "the first answers")
        # A SIGKILL in the middle of a response cannot be retried with one
        # upstream address (the overview's one-port-per-process layout can);
        # kill the worker between two requests of the stream.
        stream.pause()
        os.kill(before[0], signal.SIGKILL)
        stream.hold.clear()
        mark = len(stream.seen)
        _until(lambda: len(stream.seen) >= mark + 50, "answers after the kill")
        after = _workers_by_task(procs.logs[server.pid], 4, gone={before[0]})
    finally:
        stream.stop()
    assert not stream.client.failures, stream.client.failures
    assert after[0] != before[0]
    assert {after[task] for task in (1, 2, 3)} == {before[task] for task in (1, 2, 3)}
    assert before[0] not in {answer["pid"] for answer in stream.seen[mark:]}


def test_rolling_restart_with_graceful_drain_loses_no_request(procs: _Procs) -> None:
    first = _consecutive_ports(4)
    ports = list(range(first, first + 4))
    servers = {port: procs.squall(port) for port in ports}
    for port in ports:
        _until(lambda port=port: _accepts(port), f"squall on {port}")
    front = procs.nginx(_nginx_conf(procs.folder, _unused_port(), ports, fail_timeout="1s"))
    # Two keep-alive clients; one keeps a slow request in flight most of the time.
    streams = [_Stream(front), _Stream(front, ("/slow", "/"))]
    for stream in streams:
        stream.start()
    replaced = []
    try:
        _until(lambda: all(len(s.seen) >= 5 for s in streams), "the first answers")
        for port in ports:
            old = servers[port]
            old.send_signal(signal.SIGTERM)
            assert old.wait(_WAIT) == 0  # drained and exited cleanly
            new = servers[port] = procs.squall(port)
            _until(lambda port=port: _accepts(port), f"the new squall on {port}")
            # Go on only once nginx routes to the new process again (after
            # fail_timeout): restarting faster would leave no live upstream.
            _until(
                lambda new=new: any(a["pid"] == new.pid for s in streams for a in s.seen[-20:]),
                f"nginx to use the new process on {port}",
            )
            replaced.append(old.pid)
    finally:
        for stream in streams:
            stream.stop()
    for stream in streams:
        assert not stream.client.failures, stream.client.failures
    assert len(replaced) == 4
    new_pids = {proc.pid for proc in servers.values()}
    direct = [_Client(port) for port in ports]
    assert {c.get()["pid"] for c in direct} == new_pids  # type: ignore[index]
    for c in direct:
        c.close()
    assert sum(len(s.seen) for s in streams) >= 45


def test_sigterm_to_a_forking_parent_drains_its_workers(procs: _Procs) -> None:
    """Two forked services behind nginx; stopping one by its parent's pid alone loses nothing."""
    ports = [_unused_port(), _unused_port()]
    services = [procs.squall(port, "--processes=2") for port in ports]
    for port in ports:
        _until(lambda port=port: _accepts(port), f"squall on {port}")
    front = procs.nginx(_nginx_conf(procs.folder, _unused_port(), ports, fail_timeout="1s"))
    children = Path(f"/proc/{services[0].pid}/task/{services[0].pid}/children")
    workers = _until(lambda: [int(pid) for pid in children.read_text().split()], "the workers")
    stream = _Stream(front, ("/slow", "/"))
    stream.start()
    try:
        _until(lambda: len(stream.seen) >= 5, "the first answers")
        services[0].send_signal(signal.SIGTERM)  # the parent only, not its group
        assert services[0].wait(_WAIT) == 0
        mark = len(stream.seen)
        _until(lambda: len(stream.seen) >= mark + 10, "answers from the other service")
    finally:
        stream.stop()
    assert not stream.client.failures, stream.client.failures
    assert len(workers) == 2
    for pid in workers:  # drained and gone with their parent, not orphaned
        _until(lambda pid=pid: not Path(f"/proc/{pid}").exists(), f"worker {pid} to exit")
    assert not _accepts(ports[0])
    assert {answer["pid"] for answer in stream.seen[mark:]}.isdisjoint(workers)


@pytest.mark.skipif(not _DEPLOY_CONF.exists(), reason="deploy/ is not part of this tree")
def test_the_shipped_nginx_config(procs: _Procs) -> None:
    """deploy/nginx/squall.conf itself, pointed at four local squall ports and tmp_path."""
    first = _consecutive_ports(4)
    ports = list(range(first, first + 4))
    servers = [procs.squall(port, "--xheaders") for port in ports]
    static = procs.folder / "srv" / "static"
    static.mkdir(parents=True)
    (static / "app.css").write_text("body { color: teal }")
    logs = procs.folder / "logs"
    logs.mkdir()
    front = _unused_port()
    shipped = _DEPLOY_CONF.read_text()
    for offset, port in enumerate(ports):
        shipped = shipped.replace(f"127.0.0.1:{8000 + offset} ", f"127.0.0.1:{port} ")
    shipped = (
        shipped.replace("listen 80;", f"listen 127.0.0.1:{front};")
        .replace("/srv/squall", str(procs.folder / "srv"))
        .replace("/var/log/nginx", str(logs))
    )
    assert shipped.count(f"127.0.0.1:{first}") == 1
    wrapped = _nginx_conf(procs.folder, front, ports).split("    upstream squall {")[0]
    conf = wrapped + "    types { text/css css; }\n" + shipped + "}\n"
    for port in ports:
        _until(lambda port=port: _accepts(port), f"squall on {port}")
    front = procs.nginx(conf)

    client = _Client(front, source="127.0.0.2")
    answers = [client.get(**{"X-Real-IP": "192.0.2.1"}) for _ in range(40)]
    client.close()
    assert not client.failures, client.failures
    assert {a["pid"] for a in answers if a} == {s.pid for s in servers}
    assert {(a["ip"], a["scheme"]) for a in answers if a} == {("127.0.0.2", "http")}
    assert len({a["peer"] for a in answers if a}) < len(answers)  # upstream keep-alive

    conn = http.client.HTTPConnection("127.0.0.1", front, timeout=_WAIT)
    try:
        conn.request("GET", "/static/app.css?v=0123abcd")
        versioned = conn.getresponse()
        assert versioned.read() == b"body { color: teal }"
        assert versioned.getheader("Server", "").startswith("nginx")
        assert "immutable" in versioned.getheader("Cache-Control", "")
        assert "max-age=31536000" in versioned.getheader("Cache-Control", "")
        conn.request("GET", "/static/app.css")
        plain = conn.getresponse()
        assert plain.read() == b"body { color: teal }"
        assert "max-age=3600" in plain.getheader("Cache-Control", "")
    finally:
        conn.close()
