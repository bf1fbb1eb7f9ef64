"""What the chats' tests share: a throwaway redis-server, demo processes on two
loopback "hosts" (127.0.0.1 and 127.0.0.2) wired to it, and signing in.

Where redis-server or redis-py is missing the tests that need them are
skipped, except under ``CI``, where they fail.
"""

from __future__ import annotations

import contextlib
import importlib.util
import os
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.parse
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import squall.httpclient
import squall.httpserver
import squall.testing
import squall.web

from . import SECRET_VARIABLE

DEMOS = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
HOSTS = ("127.0.0.1", "127.0.0.2")


def redis_command() -> str:
    """The redis-server program; skips (fails under ``CI``) when it or redis-py is missing."""
    found = shutil.which("redis-server") or (
        "/usr/bin/redis-server" if os.access("/usr/bin/redis-server", os.X_OK) else None
    )
    lacking = [] if found else ["redis-server (the Debian package)"]
    if importlib.util.find_spec("redis") is None:
        lacking.append("redis-py (demos/requirements.txt)")
    if lacking:
        why = "the cross-process chat tests need " + " and ".join(lacking)
        if os.environ.get("CI"):
            pytest.fail(why)
        pytest.skip(why)
    assert found is not None
    return found


def _unused_port(host: str) -> int:
    with socket.socket() as probe:
        probe.bind((host, 0))
        return int(probe.getsockname()[1])


def _stop(proc: subprocess.Popen[bytes]) -> None:
    proc.kill()  # nothing of theirs needs to outlive the test
    proc.wait(10)


@contextlib.contextmanager
def redis_server(folder: Path) -> Iterator[str]:
    """A redis-server on a free port of 127.0.0.1 that keeps nothing on disk; yields its URL."""
    port = _unused_port("127.0.0.1")
    settings = ["--bind", "127.0.0.1", "--port", str(port), "--save", "", "--appendonly", "no"]
    proc = subprocess.Popen(
        [redis_command(), *settings, "--dir", str(folder)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 10
        while True:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=1) as link:
                    link.sendall(b"PING\r\n")
                    if link.recv(7).startswith(b"+PONG"):
                        break
            except OSError:
                if time.monotonic() > deadline or proc.poll() is not None:
                    raise AssertionError("redis-server did not come up") from None
                time.sleep(0.05)
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        _stop(proc)


@contextlib.contextmanager
def on_two_hosts(script: str, pubsub: str, folder: Path) -> Iterator[list[str]]:
    """``demos/<script>`` started once on each of :data:`HOSTS` with ``--pubsub pubsub``.

    Both sign cookies with one secret, as processes behind a balancer must.
    Yields their base URLs once each has printed its banner (which it does
    when its hub delivers); they are stopped afterwards.
    """
    running: list[subprocess.Popen[bytes]] = []
    urls: list[str] = []
    env = dict(os.environ, **{SECRET_VARIABLE: "two-hosts-test-secret"})
    try:
        for host in HOSTS:
            port = _unused_port(host)
            log = folder / f"{host}-{port}.log"
            options = ["--address", host, "--port", str(port), "--pubsub", pubsub]
            with open(log, "wb") as sink:
                running.append(
                    subprocess.Popen(
                        [sys.executable, os.path.join(DEMOS, script), *options],
                        stdout=sink,
                        stderr=subprocess.STDOUT,
                        env=env,
                    )
                )
            banner = re.compile(rf"http://{re.escape(host)}:{port}/".encode())
            deadline = time.monotonic() + 20
            while not banner.search(log.read_bytes()):
                if time.monotonic() > deadline or running[-1].poll() is not None:
                    raise AssertionError(f"{script} on {host} did not start:\n{log.read_text()}")
                time.sleep(0.05)
            urls.append(f"http://{host}:{port}")
        yield urls
    finally:
        for proc in running:
            _stop(proc)


def two_hosts_of(script: str) -> Any:
    """A fixture: :func:`on_two_hosts` for ``script`` against a :func:`redis_server` of its own."""

    @pytest.fixture
    def two_hosts(tmp_path: Path) -> Iterator[list[str]]:
        with redis_server(tmp_path) as url, on_two_hosts(script, url, tmp_path) as bases:
            yield bases

    return two_hosts


@contextlib.contextmanager
def served(*apps: squall.web.Application) -> Iterator[list[str]]:
    """Each app served in this process on a port of its own (as if by several processes);
    yields their base URLs, in order."""
    servers: list[squall.httpserver.HTTPServer] = []
    urls: list[str] = []
    try:
        for app in apps:
            listening, port = squall.testing.bind_unused_port()
            servers.append(squall.httpserver.HTTPServer(app))
            servers[-1].add_sockets([listening])
            urls.append(f"http://127.0.0.1:{port}")
        yield urls
    finally:
        for server in servers:
            server.stop()


async def sign_in(login: str, nickname: str) -> str:
    """Sign in through the form at URL ``login``; returns the ``Cookie`` header to send after.

    The header carries the nickname cookie and the ``_xsrf`` cookie (whose
    value is also what ``X-XSRFToken`` wants: :func:`xsrf_of`).
    """
    client = squall.httpclient.AsyncHTTPClient(force_instance=True)
    try:
        page = await client.fetch(login)
        token = re.search(r"_xsrf=([^;]+)", page.headers["Set-Cookie"])
        assert token is not None
        answer = await client.fetch(
            login,
            method="POST",
            body=urllib.parse.urlencode({"nickname": nickname, "_xsrf": token.group(1)}),
            headers={"Cookie": "_xsrf=" + token.group(1)},
            follow_redirects=False,
            raise_error=False,
        )
    finally:
        client.close()
    assert answer.code == 302, answer
    (signed,) = [c.split(";", 1)[0] for c in answer.headers.get_list("Set-Cookie") if "_user=" in c]
    return f"{signed}; _xsrf={token.group(1)}"


def xsrf_of(cookie: str) -> str:
    """The ``_xsrf`` value in a ``Cookie`` header made by :func:`sign_in`."""
    return cookie.rsplit("_xsrf=", 1)[1]
