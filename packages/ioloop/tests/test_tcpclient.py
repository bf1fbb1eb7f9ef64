"""Tests for squall.tcpclient: TCPClient.connect and the Happy Eyeballs connector."""

from __future__ import annotations

import asyncio
import datetime
import socket
import ssl
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from squall.iostream import IOStream, SSLIOStream, StreamClosedError
from squall.netutil import OverrideResolver, Resolver, bind_sockets
from squall.tcpclient import TCPClient
from squall.tcpclient._client import _happy_eyeballs, _lanes
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


# ---------------------------------------------------------------- TLS, binding, timeouts


class TLSHello(TCPServer):
    async def handle_stream(self, stream: IOStream, address: Any) -> None:
        try:
            await stream.write(b"secure hello\n")
            await stream.read_until_close()
        except StreamClosedError:
            pass


def test_connect_tls_returns_handshaken_sslstream(cert_files: tuple[str, str], run: Any) -> None:
    async def body() -> None:
        certfile, keyfile = cert_files
        server = TLSHello(ssl_options={"certfile": certfile, "keyfile": keyfile})
        [sock] = bind_sockets(0, "127.0.0.1")
        server.add_sockets([sock])
        client = TCPClient()
        ctx = ssl.create_default_context(cafile=certfile)
        stream = await client.connect("localhost", sock.getsockname()[1], ssl_options=ctx)
        assert isinstance(stream, SSLIOStream)
        assert isinstance(stream.socket, ssl.SSLSocket)
        assert stream.socket.version() is not None  # handshake completed
        assert await stream.read_until(b"\n") == b"secure hello\n"
        stream.close()
        client.close()
        server.stop()

    run(body)


def test_connect_tls_untrusted_certificate_fails(cert_files: tuple[str, str], run: Any) -> None:
    async def body() -> None:
        certfile, keyfile = cert_files
        server = TLSHello(ssl_options={"certfile": certfile, "keyfile": keyfile})
        [sock] = bind_sockets(0, "127.0.0.1")
        server.add_sockets([sock])
        client = TCPClient()
        with pytest.raises(StreamClosedError) as info:
            # An empty dict means: verify against the system CAs, which do
            # not know our self-signed certificate.
            await client.connect("localhost", sock.getsockname()[1], ssl_options={})
        assert isinstance(info.value.real_error, ssl.SSLError)
        client.close()
        server.stop()

    run(body)


def test_connect_passes_max_buffer_size(run: Any) -> None:
    async def body() -> None:
        server, port = await start_server()
        client = TCPClient()
        stream = await client.connect("127.0.0.1", port, max_buffer_size=8192)
        assert stream.max_buffer_size == 8192
        stream.close()
        client.close()
        server.stop()

    run(body)


def test_unbindable_source_ip_raises_oserror_not_stream_closed(run: Any) -> None:
    async def body() -> None:
        server, port = await start_server()
        client = TCPClient()
        # 192.0.2.0/24 is TEST-NET-1: never an address of this host.
        with pytest.raises(OSError) as info:
            await client.connect("127.0.0.1", port, source_ip="192.0.2.1")
        assert not isinstance(info.value, StreamClosedError)
        client.close()
        server.stop()

    run(body)


def test_connect_timeout_timedelta_expires_while_resolving(run: Any) -> None:
    async def body() -> None:
        gate = asyncio.Event()

        class Stuck(Resolver):
            async def resolve(self, host: str, port: int, family: Any = 0) -> Any:  # type: ignore[override]
                await gate.wait()
                return []

        client = TCPClient(resolver=Stuck())
        with pytest.raises(squall_util.TimeoutError):
            await client.connect("stuck.test", 1, timeout=datetime.timedelta(milliseconds=20))
        assert not gate.is_set()
        client.close()

    run(body)


def test_resolver_error_propagates(run: Any) -> None:
    async def body() -> None:
        class Broken(Resolver):
            async def resolve(self, host: str, port: int, family: Any = 0) -> Any:  # type: ignore[override]
                raise socket.gaierror(socket.EAI_NONAME, "no such name")

        client = TCPClient(resolver=Broken())
        with pytest.raises(socket.gaierror):
            await client.connect("nowhere.test", 80)
        client.close()

    run(body)


def test_empty_resolution_raises_oserror(run: Any) -> None:
    async def body() -> None:
        class Empty(Resolver):
            async def resolve(self, host: str, port: int, family: Any = 0) -> Any:  # type: ignore[override]
                return []

        client = TCPClient(resolver=Empty())
        with pytest.raises(OSError):
            await client.connect("empty.test", 80)
        client.close()

    run(body)


def test_mixed_families_fall_back_to_working_ipv4(run: Any) -> None:
    async def body() -> None:
        server, port = await start_server()

        class Mixed(Resolver):
            async def resolve(self, host: str, port_: int, family: Any = 0) -> Any:  # type: ignore[override]
                # The IPv6 address leads but nothing listens there (or IPv6 is off).
                return [
                    (socket.AF_INET6, ("::1", dead_port(), 0, 0)),
                    (socket.AF_INET, ("127.0.0.1", port_)),
                ]

        client = TCPClient(resolver=Mixed())
        stream = await client.connect("dual.test", port)
        assert stream.socket.family == socket.AF_INET
        assert await stream.read_until(b"\n") == b"hello\n"
        stream.close()
        client.close()
        server.stop()

    run(body)


def test_af_restricts_the_lookup(run: Any) -> None:
    async def body() -> None:
        seen: list[Any] = []

        class Recording(Resolver):
            async def resolve(self, host: str, port: int, family: Any = 0) -> Any:  # type: ignore[override]
                seen.append(family)
                raise socket.gaierror(socket.EAI_NONAME, "stop here")

        client = TCPClient(resolver=Recording())
        with pytest.raises(socket.gaierror):
            await client.connect("x.test", 1, af=socket.AF_INET6)
        assert seen == [socket.AF_INET6]

    run(body)


# ---------------------------------------------------------------- the race, with fakes


class FakeConn:
    def __init__(self, addr: Any) -> None:
        self.addr = addr


class Harness:
    """Fake attempts: each waits on a future the test settles by hand."""

    def __init__(self) -> None:
        self.futures: dict[Any, asyncio.Future[FakeConn]] = {}
        self.order: list[Any] = []
        self.cancelled: list[Any] = []
        self.discarded: list[Any] = []

    async def attempt(self, af: int, addr: Any) -> FakeConn:
        fut: asyncio.Future[FakeConn] = asyncio.get_running_loop().create_future()
        self.futures[addr] = fut
        self.order.append(addr)
        try:
            return await fut
        except asyncio.CancelledError:
            self.cancelled.append(addr)
            raise

    def discard(self, conn: FakeConn) -> None:
        self.discarded.append(conn.addr)

    def succeed(self, addr: Any) -> None:
        self.futures[addr].set_result(FakeConn(addr))

    def fail(self, addr: Any, message: str = "refused") -> None:
        self.futures[addr].set_exception(OSError(message))

    def race(self, addrinfo: list[tuple[int, Any]], head_start: float = 60) -> asyncio.Task[Any]:
        return asyncio.ensure_future(
            _happy_eyeballs(addrinfo, self.attempt, self.discard, head_start)
        )


V4, V6 = socket.AF_INET, socket.AF_INET6


async def settle() -> None:
    for _ in range(5):
        await asyncio.sleep(0)


def test_lanes_split_by_first_family() -> None:
    first, second = _lanes([(V6, "a"), (V4, "b"), (V6, "c"), (V4, "d")])
    assert first == [(V6, "a"), (V6, "c")]
    assert second == [(V4, "b"), (V4, "d")]
    assert _lanes([]) == ([], [])
    assert _lanes([(V4, "x")]) == ([(V4, "x")], [])


def test_race_primary_success_never_starts_secondary() -> None:
    async def body() -> None:
        h = Harness()
        task = h.race([(V4, "a"), (V6, "b")])
        await settle()
        h.succeed("a")
        af, addr, conn = await task
        assert (af, addr, conn.addr) == (V4, "a", "a")
        await settle()
        assert h.order == ["a"]

    run(body)


def test_race_starts_secondary_after_head_start() -> None:
    async def body() -> None:
        h = Harness()
        task = h.race([(V4, "a"), (V6, "b")], head_start=0.01)
        while len(h.order) < 2:
            await asyncio.sleep(0.01)
        assert h.order == ["a", "b"]
        h.succeed("b")
        af, addr, _ = await task
        assert (af, addr) == (V6, "b")
        await settle()
        # The primary attempt still in flight is cancelled.
        assert h.cancelled == ["a"]

    run(body)


def test_race_primary_failure_starts_secondary_at_once() -> None:
    async def body() -> None:
        h = Harness()
        task = h.race([(V4, "a"), (V6, "b")], head_start=60)
        await settle()
        h.fail("a")
        await settle()
        assert h.order == ["a", "b"]
        h.succeed("b")
        assert (await task)[1] == "b"

    run(body)


def test_race_one_attempt_per_family_at_a_time() -> None:
    async def body() -> None:
        h = Harness()
        task = h.race([(V4, "a"), (V4, "c"), (V6, "b"), (V6, "d")], head_start=60)
        await settle()
        assert h.order == ["a"]
        h.fail("a")
        await settle()
        # The next v4 address and the first v6 one: one attempt per family.
        assert sorted(h.order) == ["a", "b", "c"]
        h.fail("b")
        await settle()
        assert sorted(h.order) == ["a", "b", "c", "d"]
        h.succeed("d")
        assert (await task)[1] == "d"
        await settle()
        assert h.cancelled == ["c"]

    run(body)


def test_race_all_fail_raises_most_recent_error() -> None:
    async def body() -> None:
        h = Harness()
        task = h.race([(V4, "a"), (V6, "b")])
        await settle()
        h.fail("a", "first")
        await settle()
        h.fail("b", "second")
        with pytest.raises(OSError, match="second"):
            await task

    run(body)


def test_race_simultaneous_late_success_is_discarded() -> None:
    async def body() -> None:
        h = Harness()
        task = h.race([(V4, "a"), (V6, "b")], head_start=0.01)
        while len(h.order) < 2:
            await asyncio.sleep(0.01)
        h.succeed("b")
        h.succeed("a")
        assert (await task)[1] == "b"
        await settle()
        assert h.discarded == ["a"]

    run(body)


def test_race_cancellation_cancels_attempts_in_flight() -> None:
    async def body() -> None:
        h = Harness()
        task = h.race([(V4, "a"), (V6, "b")], head_start=0.01)
        while len(h.order) < 2:
            await asyncio.sleep(0.01)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        await settle()
        assert sorted(h.cancelled) == ["a", "b"]

    run(body)


def test_race_timeout_via_wait_for() -> None:
    async def body() -> None:
        h = Harness()
        with pytest.raises(squall_util.TimeoutError):
            await asyncio.wait_for(_happy_eyeballs([(V4, "a")], h.attempt, h.discard), timeout=0.02)
        await settle()
        assert h.cancelled == ["a"]

    run(body)


def test_race_no_addresses() -> None:
    async def body() -> None:
        h = Harness()
        with pytest.raises(OSError):
            await _happy_eyeballs([], h.attempt, h.discard)
        assert h.order == []

    run(body)


def test_connect_zero_timeout_expires_even_with_a_live_server(run: Any) -> None:
    async def body() -> None:
        server, port = await start_server()
        client = TCPClient()
        with pytest.raises(squall_util.TimeoutError):
            await client.connect("127.0.0.1", port, timeout=0)
        # The client is still usable afterwards.
        stream = await client.connect("127.0.0.1", port, timeout=5.0)
        assert await stream.read_until(b"\n") == b"hello\n"
        stream.close()
        client.close()
        server.stop()

    run(body)


def test_connect_rejects_a_timeout_of_the_wrong_type(run: Any) -> None:
    async def body() -> None:
        client = TCPClient()
        with pytest.raises((TypeError, ValueError)):
            await client.connect("127.0.0.1", 1, timeout="soon")  # type: ignore[arg-type]
        client.close()

    run(body)


def test_timeout_during_tls_handshake_closes_the_connection(run: Any) -> None:
    async def body() -> None:
        hung_up = asyncio.Event()

        class Silent(TCPServer):
            async def handle_stream(self, stream: IOStream, address: Any) -> None:
                # Never answers the ClientHello; waits for the client to give up.
                await stream.read_until_close()
                hung_up.set()

        server = Silent()
        [sock] = bind_sockets(0, "127.0.0.1")
        server.add_sockets([sock])
        client = TCPClient()
        with pytest.raises(squall_util.TimeoutError):
            await client.connect(
                "127.0.0.1",
                sock.getsockname()[1],
                ssl_options={"cert_reqs": ssl.CERT_NONE},
                timeout=0.1,
            )
        await hung_up.wait()
        client.close()
        server.stop()

    run(body)
