"""Tests for squall.tcpclient: TCPClient.connect and the Happy Eyeballs connector."""

from __future__ import annotations

import asyncio
import datetime
import socket
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from squall.iostream import IOStream, StreamClosedError
from squall.netutil import OverrideResolver, Resolver, bind_sockets
from squall.tcpclient import TCPClient
from squall.tcpclient._client import _Connector
from squall.tcpserver import TCPServer

from squall import util as squall_util


def run(body: Callable[[], Awaitable[Any]]) -> Any:
    return asyncio.run(asyncio.wait_for(body(), 10))


class HelloServer(TCPServer):
    async def handle_stream(self, stream: IOStream, address: Any) -> None:
        await stream.write(b"hello\n")
        stream.close()


def dead_port() -> int:
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = int(s.getsockname()[1])
    s.close()
    return port


async def start_server() -> tuple[TCPServer, int]:
    server = HelloServer()
    [sock] = bind_sockets(0, "127.0.0.1")
    server.add_sockets([sock])
    return server, int(sock.getsockname()[1])


def test_connect_returns_connected_stream() -> None:
    async def body() -> None:
        server, port = await start_server()
        client = TCPClient()
        stream = await client.connect("127.0.0.1", port)
        assert isinstance(stream, IOStream)
        assert await stream.read_until(b"\n") == b"hello\n"
        stream.close()
        client.close()
        server.stop()

    run(body)


def test_connect_by_name_localhost() -> None:
    async def body() -> None:
        server, port = await start_server()
        client = TCPClient()
        stream = await client.connect("localhost", port, af=socket.AF_INET)
        assert await stream.read_until(b"\n") == b"hello\n"
        stream.close()
        client.close()
        server.stop()

    run(body)


def test_connect_refused_raises_stream_closed() -> None:
    async def body() -> None:
        client = TCPClient()
        with pytest.raises(StreamClosedError) as info:
            await client.connect("127.0.0.1", dead_port())
        assert isinstance(info.value.real_error, ConnectionRefusedError)
        client.close()

    run(body)


def test_connect_with_source_port_and_ip() -> None:
    async def body() -> None:
        server, port = await start_server()
        client = TCPClient()
        src = dead_port()
        stream = await client.connect("127.0.0.1", port, source_ip="127.0.0.1", source_port=src)
        assert stream.socket.getsockname() == ("127.0.0.1", src)
        stream.close()
        client.close()
        server.stop()

    run(body)


def test_connect_with_source_ip_only() -> None:
    async def body() -> None:
        server, port = await start_server()
        client = TCPClient()
        stream = await client.connect("127.0.0.1", port, source_ip="127.0.0.1")
        assert stream.socket.getsockname()[0] == "127.0.0.1"
        stream.close()
        client.close()
        server.stop()

    run(body)


def test_connect_timeout_while_resolving() -> None:
    async def body() -> None:
        class Slow(Resolver):
            async def resolve(self, host: str, port: int, family: Any = 0) -> Any:  # type: ignore[override]
                await asyncio.sleep(5)
                return []

        client = TCPClient(resolver=Slow())
        with pytest.raises(squall_util.TimeoutError):
            await client.connect("example.com", 80, timeout=0.05)
        client.close()

    run(body)


def test_connect_timeout_accepts_timedelta() -> None:
    async def body() -> None:
        server, port = await start_server()
        client = TCPClient()
        stream = await client.connect("127.0.0.1", port, timeout=datetime.timedelta(seconds=5))
        stream.close()
        client.close()
        server.stop()

    run(body)


def test_happy_eyeballs_falls_back_after_dead_address() -> None:
    async def body() -> None:
        server, port = await start_server()

        class TwoAddrs(Resolver):
            async def resolve(self, host: str, port_: int, family: Any = 0) -> Any:  # type: ignore[override]
                return [
                    (socket.AF_INET, ("127.0.0.1", dead_port())),
                    (socket.AF_INET, ("127.0.0.1", port_)),
                ]

        client = TCPClient(resolver=TwoAddrs())
        stream = await client.connect("multi.example", port)
        assert await stream.read_until(b"\n") == b"hello\n"
        stream.close()
        client.close()
        server.stop()

    run(body)


def test_override_resolver_redirects_connect() -> None:
    async def body() -> None:
        server, port = await start_server()
        resolver = OverrideResolver(Resolver(), {("svc.test", 80): ("127.0.0.1", port)})
        client = TCPClient(resolver=resolver)
        stream = await client.connect("svc.test", 80)
        assert await stream.read_until(b"\n") == b"hello\n"
        stream.close()
        client.close()
        server.stop()

    run(body)


def test_client_does_not_close_a_resolver_it_does_not_own() -> None:
    closed: list[bool] = []

    class Tracking(Resolver):
        def close(self) -> None:
            closed.append(True)

    TCPClient(resolver=Tracking()).close()
    assert closed == []
    own = TCPClient()
    own.close()


# ---------------------------------------------------------------- _Connector with fakes


class FakeStream:
    def __init__(self, addr: Any) -> None:
        self.addr = addr
        self.closed = False

    def close(self) -> None:
        self.closed = True


class Harness:
    """Fake connect function: each attempt returns a future the test resolves by hand."""

    def __init__(self) -> None:
        self.attempts: dict[Any, tuple[FakeStream, asyncio.Future[Any]]] = {}
        self.order: list[Any] = []

    def connect(self, af: int, addr: Any) -> tuple[Any, asyncio.Future[Any]]:
        stream = FakeStream(addr)
        fut: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self.attempts[addr] = (stream, fut)
        self.order.append(addr)
        return stream, fut

    def succeed(self, addr: Any) -> None:
        stream, fut = self.attempts[addr]
        fut.set_result(stream)

    def fail(self, addr: Any) -> None:
        self.attempts[addr][1].set_exception(OSError("refused"))


V4, V6 = socket.AF_INET, socket.AF_INET6


def test_connector_split_by_first_family() -> None:
    primary, secondary = _Connector.split([(V4, "a"), (V6, "b"), (V4, "c"), (V6, "d")])
    assert primary == [(V4, "a"), (V4, "c")]
    assert secondary == [(V6, "b"), (V6, "d")]


def test_connector_primary_success() -> None:
    async def body() -> None:
        h = Harness()
        conn = _Connector([(V4, "a"), (V6, "b")], h.connect)
        fut = conn.start()
        h.succeed("a")
        af, addr, stream = await fut
        assert (af, addr) == (V4, "a")
        assert h.order == ["a"]
        assert conn.timeout is None

    run(body)


def test_connector_starts_secondary_after_timeout() -> None:
    async def body() -> None:
        h = Harness()
        conn = _Connector([(V4, "a"), (V6, "b")], h.connect)
        fut = conn.start(timeout=0.01)
        await asyncio.sleep(0.05)
        assert h.order == ["a", "b"]
        h.succeed("b")
        af, addr, _ = await fut
        assert (af, addr) == (V6, "b")
        # The primary attempt that never finished is closed.
        assert h.attempts["a"][0].closed

    run(body)


def test_connector_primary_failure_starts_secondary_at_once() -> None:
    async def body() -> None:
        h = Harness()
        conn = _Connector([(V4, "a"), (V6, "b")], h.connect)
        fut = conn.start(timeout=60)
        h.fail("a")
        await asyncio.sleep(0)
        assert h.order == ["a", "b"]
        h.succeed("b")
        assert (await fut)[1] == "b"

    run(body)


def test_connector_tries_next_address_of_same_family() -> None:
    async def body() -> None:
        h = Harness()
        conn = _Connector([(V4, "a"), (V4, "c")], h.connect)
        fut = conn.start()
        h.fail("a")
        await asyncio.sleep(0)
        h.succeed("c")
        assert (await fut)[1] == "c"
        assert h.order == ["a", "c"]

    run(body)


def test_connector_all_fail_raises_last_error() -> None:
    async def body() -> None:
        h = Harness()
        conn = _Connector([(V4, "a"), (V6, "b")], h.connect)
        fut = conn.start(timeout=60)
        h.fail("a")
        await asyncio.sleep(0)
        h.fail("b")
        with pytest.raises(OSError, match="refused"):
            await fut

    run(body)


def test_connector_late_success_is_closed() -> None:
    async def body() -> None:
        h = Harness()
        conn = _Connector([(V4, "a"), (V6, "b")], h.connect)
        fut = conn.start(timeout=0.01)
        await asyncio.sleep(0.05)
        h.succeed("b")
        await fut
        h.succeed("a")
        await asyncio.sleep(0)
        assert h.attempts["a"][0].closed
        assert not h.attempts["b"][0].closed

    run(body)


def test_connector_connect_timeout() -> None:
    async def body() -> None:
        h = Harness()
        conn = _Connector([(V4, "a")], h.connect)
        fut = conn.start(connect_timeout=0.02)
        with pytest.raises(squall_util.TimeoutError):
            await fut
        assert h.attempts["a"][0].closed

    run(body)


def test_connector_no_addresses() -> None:
    async def body() -> None:
        conn = _Connector([], Harness().connect)
        with pytest.raises(OSError):
            await conn.start()

    run(body)
