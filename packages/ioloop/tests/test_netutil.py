"""Tests for squall.netutil: binding, accepting, resolvers and TLS helpers."""

from __future__ import annotations

import asyncio
import concurrent.futures
import os
import socket
import ssl
import stat
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from squall.netutil import (
    _DEFAULT_BACKLOG,
    BlockingResolver,
    DefaultExecutorResolver,
    DefaultLoopResolver,
    ExecutorResolver,
    OverrideResolver,
    Resolver,
    ThreadedResolver,
    add_accept_handler,
    bind_sockets,
    bind_unix_socket,
    is_valid_ip,
    ssl_options_to_context,
    ssl_wrap_socket,
)


def run(body: Callable[[], Awaitable[Any]]) -> Any:
    return asyncio.run(asyncio.wait_for(body(), 10))


def ipv6_available() -> bool:
    if not socket.has_ipv6:
        return False
    s = socket.socket(socket.AF_INET6)
    try:
        s.bind(("::1", 0))
        return True
    except OSError:
        return False
    finally:
        s.close()


# ---------------------------------------------------------------- bind_sockets


def test_default_backlog_is_128() -> None:
    assert _DEFAULT_BACKLOG == 128


def test_bind_sockets_loopback_listens_nonblocking() -> None:
    socks = bind_sockets(0, "127.0.0.1")
    try:
        assert len(socks) == 1
        s = socks[0]
        assert s.getsockname()[0] == "127.0.0.1"
        assert s.getsockname()[1] > 0
        assert s.gettimeout() == 0.0
        assert s.getsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR) != 0
        client = socket.create_connection(s.getsockname(), timeout=5)
        client.close()
    finally:
        for s in socks:
            s.close()


@pytest.mark.skipif(not ipv6_available(), reason="no IPv6")
def test_bind_sockets_port_zero_shares_one_port_across_families() -> None:
    socks = bind_sockets(0, None)
    try:
        ports = {s.getsockname()[1] for s in socks}
        families = {s.family for s in socks}
        assert len(ports) == 1
        assert socket.AF_INET in families and socket.AF_INET6 in families
        for s in socks:
            if s.family == socket.AF_INET6:
                assert s.getsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY) == 1
    finally:
        for s in socks:
            s.close()


def test_bind_sockets_family_restriction() -> None:
    socks = bind_sockets(0, "localhost", family=socket.AF_INET)
    try:
        assert socks and all(s.family == socket.AF_INET for s in socks)
    finally:
        for s in socks:
            s.close()


def test_bind_sockets_empty_address_means_all_interfaces() -> None:
    socks = bind_sockets(0, "", family=socket.AF_INET)
    try:
        assert socks[0].getsockname()[0] == "0.0.0.0"
    finally:
        for s in socks:
            s.close()


def test_bind_sockets_reuse_port() -> None:
    first = bind_sockets(0, "127.0.0.1", reuse_port=True)
    port = first[0].getsockname()[1]
    second = bind_sockets(port, "127.0.0.1", reuse_port=True)
    try:
        assert second[0].getsockname()[1] == port
        assert second[0].getsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT) != 0
    finally:
        for s in first + second:
            s.close()


def test_bind_sockets_port_in_use_raises() -> None:
    first = bind_sockets(0, "127.0.0.1")
    port = first[0].getsockname()[1]
    try:
        with pytest.raises(OSError):
            bind_sockets(port, "127.0.0.1")
    finally:
        first[0].close()


def test_bind_sockets_backlog_argument_accepted() -> None:
    socks = bind_sockets(0, "127.0.0.1", backlog=5, flags=socket.AI_PASSIVE)
    assert len(socks) == 1
    socks[0].close()


# ---------------------------------------------------------------- bind_unix_socket


def test_bind_unix_socket_creates_socket_file_with_mode(tmp_path: Any) -> None:
    path = str(tmp_path / "s.sock")
    sock = bind_unix_socket(path, mode=0o640)
    try:
        st = os.stat(path)
        assert stat.S_ISSOCK(st.st_mode)
        assert stat.S_IMODE(st.st_mode) == 0o640
        c = socket.socket(socket.AF_UNIX)
        c.connect(path)
        c.close()
    finally:
        sock.close()


def test_bind_unix_socket_replaces_stale_socket(tmp_path: Any) -> None:
    path = str(tmp_path / "s.sock")
    first = bind_unix_socket(path)
    first.close()
    second = bind_unix_socket(path)
    assert second.getsockname() == path
    second.close()


def test_bind_unix_socket_refuses_regular_file(tmp_path: Any) -> None:
    path = tmp_path / "file"
    path.write_text("data")
    with pytest.raises(ValueError, match="not a socket"):
        bind_unix_socket(str(path))
    assert path.read_text() == "data"


# ---------------------------------------------------------------- add_accept_handler


def test_add_accept_handler_calls_back_and_removes() -> None:
    async def body() -> None:
        [sock] = bind_sockets(0, "127.0.0.1")
        accepted: list[Any] = []
        got = asyncio.Event()

        def on_conn(conn: socket.socket, addr: Any) -> None:
            accepted.append(addr)
            conn.close()
            got.set()

        remove = add_accept_handler(sock, on_conn)
        client = socket.socket()
        client.setblocking(False)
        await asyncio.get_running_loop().sock_connect(client, sock.getsockname())
        await got.wait()
        assert accepted[0][0] == "127.0.0.1"
        remove()
        remove()  # idempotent
        client.close()
        sock.close()

    run(body)


def test_add_accept_handler_accepts_many_in_one_event() -> None:
    async def body() -> None:
        [sock] = bind_sockets(0, "127.0.0.1")
        accepted: list[socket.socket] = []
        clients = [socket.create_connection(sock.getsockname()) for _ in range(20)]
        done = asyncio.Event()

        def on_conn(conn: socket.socket, addr: Any) -> None:
            accepted.append(conn)
            if len(accepted) == 20:
                done.set()

        remove = add_accept_handler(sock, on_conn)
        await done.wait()
        assert len(accepted) == 20
        remove()
        for s in accepted + clients + [sock]:
            s.close()

    run(body)


# ---------------------------------------------------------------- is_valid_ip


@pytest.mark.parametrize(
    ("value", "valid"),
    [
        ("127.0.0.1", True),
        ("4.4.4.4", True),
        ("::1", True),
        ("::ffff:1.2.3.4", True),
        ("", False),
        ("localhost", False),
        ("a\x00b", False),
        ("300.1.1.1", False),
        ("1.2.3.4.5", False),
        ("www.google.com", False),
    ],
)
def test_is_valid_ip(value: str, valid: bool) -> None:
    assert is_valid_ip(value) is valid


# ---------------------------------------------------------------- resolvers


def test_resolver_default_is_loop_resolver() -> None:
    assert Resolver.configured_class() is DefaultLoopResolver


@pytest.mark.parametrize(
    "factory",
    [
        lambda: Resolver(),
        lambda: DefaultLoopResolver(),
        lambda: DefaultExecutorResolver(),
        lambda: BlockingResolver(),
        lambda: ThreadedResolver(),
        lambda: ExecutorResolver(),
        lambda: ExecutorResolver(executor=concurrent.futures.ThreadPoolExecutor(1)),
    ],
    ids=["Resolver", "Loop", "DefaultExecutor", "Blocking", "Threaded", "Executor", "ExecutorPool"],
)
def test_resolvers_resolve_localhost(factory: Callable[[], Resolver]) -> None:
    async def body() -> None:
        resolver = factory()
        try:
            result = await resolver.resolve("localhost", 80, socket.AF_INET)
            assert (socket.AF_INET, ("127.0.0.1", 80)) in result
            literal = await resolver.resolve("127.0.0.1", 8080)
            assert literal == [(socket.AF_INET, ("127.0.0.1", 8080))]
        finally:
            resolver.close()

    run(body)


def test_resolver_error_for_unresolvable_literal_family() -> None:
    async def body() -> None:
        resolver = DefaultLoopResolver()
        with pytest.raises(OSError):
            await resolver.resolve("127.0.0.1", 80, socket.AF_INET6)

    run(body)


def test_blocking_resolver_error_surfaces_in_future() -> None:
    async def body() -> None:
        resolver = BlockingResolver()
        with pytest.raises(OSError):
            await resolver.resolve("127.0.0.1", 80, socket.AF_INET6)
        resolver.close()

    run(body)


def test_resolver_configure_switches_implementation() -> None:
    saved = Resolver._save_configuration()  # type: ignore[attr-defined]
    try:
        Resolver.configure(BlockingResolver)
        r = Resolver()
        assert isinstance(r, BlockingResolver)
        r.close()
        Resolver.configure("squall.netutil.ThreadedResolver", num_threads=2)
        r = Resolver()
        assert isinstance(r, ThreadedResolver)
        r.close()
    finally:
        Resolver._restore_configuration(saved)  # type: ignore[attr-defined]
    assert Resolver.configured_class() is DefaultLoopResolver


def test_executor_resolver_closes_owned_executor() -> None:
    pool = concurrent.futures.ThreadPoolExecutor(1)
    r = ExecutorResolver(executor=pool, close_executor=True)
    r.close()
    with pytest.raises(RuntimeError):
        pool.submit(int)


def test_executor_resolver_keeps_shared_executor() -> None:
    pool = concurrent.futures.ThreadPoolExecutor(1)
    r = ExecutorResolver(executor=pool, close_executor=False)
    r.close()
    assert pool.submit(int).result() == 0
    pool.shutdown()


def test_threaded_resolvers_share_a_pool() -> None:
    a = ThreadedResolver()
    b = ThreadedResolver()
    assert a.executor is b.executor
    a.close()
    b.close()


class _FakeResolver(Resolver):
    def initialize(self) -> None:  # type: ignore[override]
        self.calls: list[tuple[str, int, int]] = []

    async def resolve(  # type: ignore[override]
        self, host: str, port: int, family: socket.AddressFamily = socket.AF_UNSPEC
    ) -> list[tuple[int, Any]]:
        self.calls.append((host, port, family))
        return [(socket.AF_INET, (host, port))]


@pytest.mark.parametrize(
    ("host", "port", "family", "expected"),
    [
        ("google.com", 80, socket.AF_UNSPEC, ("1.2.3.4", 80)),
        ("google.com", 443, socket.AF_UNSPEC, ("1.2.3.4", 443)),
        ("login.example.com", 443, socket.AF_UNSPEC, ("localhost", 1443)),
        ("login.example.com", 443, socket.AF_INET6, ("::1", 1443)),
        ("login.example.com", 80, socket.AF_UNSPEC, ("login.example.com", 80)),
        ("other.org", 22, socket.AF_UNSPEC, ("other.org", 22)),
    ],
)
def test_override_resolver_mapping(
    host: str, port: int, family: socket.AddressFamily, expected: tuple[str, int]
) -> None:
    async def body() -> None:
        inner = _FakeResolver()
        resolver = OverrideResolver(
            resolver=inner,
            mapping={
                "google.com": "1.2.3.4",
                ("login.example.com", 443): ("localhost", 1443),
                ("login.example.com", 443, socket.AF_INET6): ("::1", 1443),
            },
        )
        result = await resolver.resolve(host, port, family)
        assert result == [(socket.AF_INET, expected)]
        assert inner.calls == [(expected[0], expected[1], family)]

    run(body)


def test_override_resolver_close_closes_inner() -> None:
    closed: list[bool] = []

    class Inner(_FakeResolver):
        def close(self) -> None:
            closed.append(True)

    OverrideResolver(resolver=Inner(), mapping={}).close()
    assert closed == [True]


# ---------------------------------------------------------------- TLS helpers


def test_ssl_options_to_context_passes_context_through() -> None:
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    assert ssl_options_to_context(ctx) is ctx


def test_ssl_options_to_context_client_verifies_by_default() -> None:
    ctx = ssl_options_to_context({}, server_side=False)
    assert ctx.verify_mode == ssl.CERT_REQUIRED
    assert ctx.check_hostname


def test_ssl_options_to_context_server_side() -> None:
    ctx = ssl_options_to_context({}, server_side=True)
    assert ctx.protocol == ssl.PROTOCOL_TLS_SERVER
    assert ctx.verify_mode == ssl.CERT_NONE


def test_ssl_options_to_context_cert_reqs_none_disables_hostname_check() -> None:
    ctx = ssl_options_to_context({"cert_reqs": ssl.CERT_NONE}, server_side=False)
    assert ctx.verify_mode == ssl.CERT_NONE
    assert not ctx.check_hostname


def test_ssl_options_to_context_rejects_unknown_key() -> None:
    with pytest.raises(ValueError):
        ssl_options_to_context({"bogus": 1})


def test_ssl_options_to_context_sets_ciphers() -> None:
    ctx = ssl_options_to_context({"ciphers": "ECDHE+AESGCM"}, server_side=True)
    names = {c["name"] for c in ctx.get_ciphers()}
    assert any("AES" in n for n in names)


def test_ssl_wrap_socket_returns_sslsocket() -> None:
    sock = socket.socket()
    wrapped = ssl_wrap_socket(
        sock,
        {"cert_reqs": ssl.CERT_NONE},
        server_hostname="x",
        server_side=False,
        do_handshake_on_connect=False,
    )
    try:
        assert isinstance(wrapped, ssl.SSLSocket)
        assert wrapped.server_hostname == "x"
    finally:
        wrapped.close()


# ---------------------------------------------------------------- more accept-handler behaviour


def test_accept_handler_exception_is_logged_and_accepting_goes_on(
    caplog: pytest.LogCaptureFixture, run: Any
) -> None:
    from squall.log import app_log

    async def body() -> None:
        [sock] = bind_sockets(0, "127.0.0.1")
        accepted: list[socket.socket] = []
        done = asyncio.Event()

        def on_conn(conn: socket.socket, addr: Any) -> None:
            accepted.append(conn)
            if len(accepted) == 1:
                raise RuntimeError("callback broke")
            done.set()

        remove = add_accept_handler(sock, on_conn)
        loop = asyncio.get_running_loop()
        clients = []
        for _ in range(2):
            c = socket.socket()
            c.setblocking(False)
            await loop.sock_connect(c, sock.getsockname())
            clients.append(c)
        await done.wait()
        assert len(accepted) == 2
        remove()
        for s in accepted + clients + [sock]:
            s.close()

    with caplog.at_level("ERROR", logger=app_log.name):
        run(body)
    assert any(r.exc_info and isinstance(r.exc_info[1], RuntimeError) for r in caplog.records)


def test_accept_handler_removed_from_callback_stops_the_batch(run: Any) -> None:
    async def body() -> None:
        [sock] = bind_sockets(0, "127.0.0.1")
        clients = [socket.create_connection(sock.getsockname()) for _ in range(3)]
        accepted: list[socket.socket] = []
        remove: Callable[[], None]

        def on_conn(conn: socket.socket, addr: Any) -> None:
            accepted.append(conn)
            remove()

        remove = add_accept_handler(sock, on_conn)
        for _ in range(50):
            if accepted:
                break
            await asyncio.sleep(0.01)
        for _ in range(5):
            await asyncio.sleep(0)
        assert len(accepted) == 1
        # The others are still queued on the listener.
        sock.setblocking(True)
        sock.settimeout(5)
        extra, _ = sock.accept()
        extra.close()
        for s in accepted + clients + [sock]:
            s.close()

    run(body)


def test_accept_handler_stops_after_remove(run: Any) -> None:
    async def body() -> None:
        [sock] = bind_sockets(0, "127.0.0.1")
        accepted: list[socket.socket] = []
        remove = add_accept_handler(sock, lambda conn, addr: accepted.append(conn))
        remove()
        client = socket.create_connection(sock.getsockname())
        for _ in range(5):
            await asyncio.sleep(0)
        assert accepted == []
        for s in (client, sock):
            s.close()

    run(body)


def test_accept_handler_unix_socket(tmp_path: Any, run: Any) -> None:
    async def body() -> None:
        path = str(tmp_path / "a.sock")
        sock = bind_unix_socket(path)
        got: list[Any] = []
        done = asyncio.Event()

        def on_conn(conn: socket.socket, addr: Any) -> None:
            got.append((conn, addr))
            done.set()

        remove = add_accept_handler(sock, on_conn)
        client = socket.socket(socket.AF_UNIX)
        client.connect(path)
        await done.wait()
        assert got[0][0].family == socket.AF_UNIX
        remove()
        for s in (got[0][0], client, sock):
            s.close()

    run(body)


def test_bind_sockets_localhost_port_zero_one_port() -> None:
    socks = bind_sockets(0, "localhost")
    try:
        assert socks
        assert len({s.getsockname()[1] for s in socks}) == 1
        assert all(s.gettimeout() == 0.0 for s in socks)
    finally:
        for s in socks:
            s.close()


def test_bind_sockets_ipv4_before_ipv6() -> None:
    socks = bind_sockets(0, None)
    try:
        families = [s.family for s in socks]
        assert families == sorted(families)
    finally:
        for s in socks:
            s.close()


def test_bind_sockets_numeric_host_flag_rejects_names() -> None:
    with pytest.raises(socket.gaierror):
        bind_sockets(0, "localhost", flags=socket.AI_NUMERICHOST)


def test_bind_unix_socket_default_mode_and_backlog(tmp_path: Any) -> None:
    path = str(tmp_path / "d.sock")
    sock = bind_unix_socket(path, backlog=3)
    try:
        assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
        assert sock.gettimeout() == 0.0
    finally:
        sock.close()


@pytest.mark.parametrize("value", ["::", "0.0.0.0", "fe80::1", "2001:db8::1"])
def test_is_valid_ip_more_literals(value: str) -> None:
    assert is_valid_ip(value)


@pytest.mark.parametrize("value", ["1.2.3.4:80", "[::1]", "::1::2", "\udcff"])
def test_is_valid_ip_rejects(value: str) -> None:
    assert not is_valid_ip(value)


# ---------------------------------------------------------------- more resolver behaviour


def test_executor_resolver_returns_asyncio_future(run: Any) -> None:
    async def body() -> None:
        pool = concurrent.futures.ThreadPoolExecutor(1)
        resolver = ExecutorResolver(executor=pool)
        fut = resolver.resolve("127.0.0.1", 1)
        assert isinstance(fut, asyncio.Future)
        assert await fut == [(socket.AF_INET, ("127.0.0.1", 1))]
        resolver.close()
        assert resolver.executor is None

    run(body)


def test_blocking_resolver_answers_before_returning(run: Any) -> None:
    async def body() -> None:
        resolver = BlockingResolver()
        assert resolver.executor is None
        fut = resolver.resolve("127.0.0.1", 2)
        assert isinstance(fut, asyncio.Future) and fut.done()
        assert fut.result() == [(socket.AF_INET, ("127.0.0.1", 2))]

    run(body)


def test_default_executor_resolver_error(run: Any) -> None:
    async def body() -> None:
        with pytest.raises(OSError):
            await DefaultExecutorResolver().resolve("127.0.0.1", 80, socket.AF_INET6)

    run(body)


def test_loop_resolver_drops_duplicates(run: Any) -> None:
    async def body() -> None:
        result = await DefaultLoopResolver().resolve("localhost", 80)
        assert result and len(result) == len(set(result))
        assert all(isinstance(addr, tuple) and addr[1] == 80 for _fam, addr in result)

    run(body)


def test_threaded_resolver_close_keeps_the_shared_pool(run: Any) -> None:
    async def body() -> None:
        a = ThreadedResolver()
        b = ThreadedResolver(num_threads=3)
        a.close()
        assert await b.resolve("127.0.0.1", 5) == [(socket.AF_INET, ("127.0.0.1", 5))]
        b.close()

    run(body)


def test_override_resolver_passes_family_through_unmapped(run: Any) -> None:
    async def body() -> None:
        inner = _FakeResolver()
        resolver = OverrideResolver(resolver=inner, mapping={("h", 1, socket.AF_INET6): ("x", 2)})
        await resolver.resolve("h", 1, socket.AF_INET)
        await resolver.resolve("h", 1, socket.AF_INET6)
        assert inner.calls == [("h", 1, socket.AF_INET), ("x", 2, socket.AF_INET6)]

    run(body)


# ---------------------------------------------------------------- more TLS helpers


def test_default_contexts_are_shared_and_sensible() -> None:
    from squall.netutil import _client_ssl_defaults, _server_ssl_defaults

    client = _client_ssl_defaults()
    assert client is _client_ssl_defaults()
    assert client.verify_mode == ssl.CERT_REQUIRED and client.check_hostname
    server = _server_ssl_defaults()
    assert server is _server_ssl_defaults()
    assert server.verify_mode == ssl.CERT_NONE and not server.check_hostname


def test_ssl_options_to_context_default_is_server_protocol() -> None:
    ctx = ssl_options_to_context({})
    assert ctx.protocol == ssl.PROTOCOL_TLS_SERVER
    assert ctx.options & ssl.OP_NO_COMPRESSION


def test_ssl_options_to_context_loads_cert_and_ca(cert_files: tuple[str, str]) -> None:
    certfile, keyfile = cert_files
    server = ssl_options_to_context(
        {"certfile": certfile, "keyfile": keyfile, "cert_reqs": ssl.CERT_OPTIONAL}, True
    )
    assert server.verify_mode == ssl.CERT_OPTIONAL
    client = ssl_options_to_context({"ca_certs": certfile}, server_side=False)
    assert len(client.get_ca_certs()) == 1
    assert client.verify_mode == ssl.CERT_REQUIRED


def test_ssl_options_to_context_explicit_version() -> None:
    ctx = ssl_options_to_context({"ssl_version": ssl.PROTOCOL_TLS_CLIENT}, server_side=True)
    assert ctx.protocol == ssl.PROTOCOL_TLS_CLIENT


def test_ssl_options_to_context_rejects_other_types() -> None:
    with pytest.raises(TypeError):
        ssl_options_to_context([("certfile", "x")])  # type: ignore[arg-type]


def test_ssl_options_unknown_key_is_named() -> None:
    with pytest.raises(ValueError, match="bogus"):
        ssl_options_to_context({"bogus": 1, "certfile": "x"})


def test_ssl_wrap_socket_server_side_from_context(cert_files: tuple[str, str]) -> None:
    certfile, keyfile = cert_files
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(certfile, keyfile)
    wrapped = ssl_wrap_socket(
        socket.socket(), ctx, server_hostname="ignored", do_handshake_on_connect=False
    )
    try:
        assert wrapped.server_side
        assert wrapped.server_hostname is None
    finally:
        wrapped.close()
