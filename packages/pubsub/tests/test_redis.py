"""The Redis hub against a real redis-server started on a free port.

Skipped when redis-server or redis-py is missing, unless the CI variable is
set (then missing tools fail the run).
"""

from __future__ import annotations

import asyncio
import os
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from squall.pubsub import HubUnavailableError, Message, RedisHub, hub_from_url
from squall.testing import ExpectLog, bind_unused_port

pytest_plugins = ["squall.testing.pytest_plugin"]

_SERVER = shutil.which("redis-server") or (
    "/usr/bin/redis-server" if os.path.exists("/usr/bin/redis-server") else None
)
try:
    import redis.asyncio as redis_asyncio
except ImportError:  # pragma: no cover - depends on the environment
    redis_asyncio = None  # type: ignore[assignment]

if _SERVER is None or redis_asyncio is None:
    if os.environ.get("CI"):
        raise RuntimeError(
            "CI needs redis-server (Debian package) and redis-py for the pubsub tests"
        )
    pytest.skip("redis-server or redis-py is not installed", allow_module_level=True)


class _Server:
    """One redis-server process on a fixed port, which can be stopped and started again."""

    def __init__(self, workdir: Path) -> None:
        sock, self.port = bind_unused_port()
        sock.close()
        self.workdir = workdir
        self.proc: subprocess.Popen[bytes] | None = None
        self.url = f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        assert _SERVER is not None
        self.proc = subprocess.Popen(
            [
                _SERVER,
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(self.workdir),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for _ in range(200):
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5) as probe:
                    probe.sendall(b"PING\r\n")
                    if probe.recv(16).startswith(b"+PONG"):
                        return
            except OSError:
                time.sleep(0.025)
        raise RuntimeError("redis-server did not start")

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.kill()
            self.proc.wait(10)
            self.proc = None


@pytest.fixture
def server(tmp_path: Path) -> Iterator[_Server]:
    srv = _Server(tmp_path)
    srv.start()
    yield srv
    srv.stop()


async def _within(awaitable: Any, seconds: float = 10) -> Any:
    return await asyncio.wait_for(awaitable, seconds)


async def test_messages_cross_hubs(server: _Server) -> None:
    async with RedisHub(server.url) as receiver, hub_from_url(server.url) as sender:
        async with receiver.subscribe("room", "other") as sub:
            assert await sender.publish("room", "text") == 1
            await sender.publish("other", b"\x00\xff")
            await sender.publish("room", {"n": [1, 2]})
            got = [await _within(sub.get()) for _ in range(3)]
            assert got == [
                Message("room", "text"),
                Message("other", b"\x00\xff"),
                Message("room", {"n": [1, 2]}),
            ]
            assert receiver.connected
        # the unsubscribe reaches Redis shortly after the block ends
        for _ in range(200):
            if await sender.publish("room", "gone") == 0:
                break
            await asyncio.sleep(0.01)
        else:
            pytest.fail("the subscription was never dropped at the server")


async def test_listeners_and_foreign_publishers(server: _Server) -> None:
    seen: list[Message] = []
    arrived = asyncio.Event()

    def on_message(msg: Message) -> None:
        seen.append(msg)
        arrived.set()

    async with RedisHub(server.url) as hub:
        handle = hub.add_listener("news", on_message)
        await _within(hub.wait_ready())
        plain = redis_asyncio.Redis.from_url(server.url)
        try:
            assert await plain.publish("news", "from another client") == 1
            await _within(arrived.wait())
        finally:
            await plain.aclose()
        assert seen == [Message("news", "from another client")]
        handle.remove()
        sub = hub.subscribe("news")  # subscribe again after the last receiver left
        await _within(sub.ready())
        assert await hub.publish("news", 7) == 1
        assert (await _within(sub.get())).data == 7


async def test_publish_without_server_raises() -> None:
    sock, port = bind_unused_port()
    sock.close()
    async with RedisHub(f"redis://127.0.0.1:{port}/0", connect_timeout=1) as hub:
        with pytest.raises(HubUnavailableError, match="not published"):
            await hub.publish("room", "lost")


async def test_restart_mid_stream(server: _Server) -> None:
    listener_saw: list[Message] = []
    async with (
        RedisHub(server.url, backoff=0.02, max_backoff=0.2) as receiver,
        RedisHub(server.url) as sender,
    ):
        receiver.add_listener("room", listener_saw.append)
        sub = receiver.subscribe("room")
        await _within(sub.ready())
        await sender.publish("room", "before")
        assert (await _within(sub.get())).data == "before"

        with ExpectLog("squall.application", "pubsub: lost the link to Redis"):
            server.stop()
            for _ in range(500):  # the reader notices the closed connection
                if not receiver.connected:
                    break
                await asyncio.sleep(0.01)
            assert not receiver.connected
            with pytest.raises(HubUnavailableError):
                await sender.publish("room", "during the outage")
            await asyncio.sleep(0.3)  # a few failed reconnection attempts
            server.start()
            await _within(receiver.wait_ready())

        gap = await _within(sub.get())
        assert gap.gap and gap.channel == "room" and gap.missed is None
        assert receiver.reconnects == 1
        assert await sender.publish("room", "after") == 1  # one connection per hub
        assert (await _within(sub.get())).data == "after"
        assert [m.data for m in listener_saw] == ["before", None, "after"]
        assert listener_saw[1].gap


async def test_subscribe_before_server_starts(tmp_path: Path) -> None:
    srv = _Server(tmp_path)
    async with RedisHub(srv.url, backoff=0.02, max_backoff=0.1) as hub:
        sub = hub.subscribe("early")
        ready = asyncio.ensure_future(hub.wait_ready())
        await asyncio.sleep(0.1)
        assert not ready.done()
        srv.start()
        try:
            await _within(ready)
            assert await hub.publish("early", "hi") == 1
            assert (await _within(sub.get())) == Message("early", "hi")  # no gap: nothing was lost
        finally:
            srv.stop()
