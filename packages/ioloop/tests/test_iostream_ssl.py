"""Tests for SSLIOStream and IOStream.start_tls, with a certificate made per session.

The self-signed certificate is generated with the ``cryptography`` package
(a test dependency), so no key material is shipped.
"""

from __future__ import annotations

import asyncio
import socket
import ssl
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from squall.iostream import IOStream, SSLIOStream, StreamClosedError
from squall.log import gen_log

x509 = pytest.importorskip("cryptography.x509")


@pytest.fixture
def server_ctx(cert_files: tuple[str, str]) -> ssl.SSLContext:
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(*cert_files)
    return ctx


@pytest.fixture
def client_ctx(cert_files: tuple[str, str]) -> ssl.SSLContext:
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.load_verify_locations(cert_files[0])
    return ctx


def run(body: Callable[[], Awaitable[Any]]) -> Any:
    return asyncio.run(asyncio.wait_for(body(), 10))


class Listener:
    """A plain listening socket whose accepted connections become SSL server streams."""

    def __init__(self, ctx: ssl.SSLContext | None) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(8)
        self.sock.setblocking(False)
        self.ctx = ctx
        self.addr = self.sock.getsockname()

    async def accept_plain(self) -> IOStream:
        loop = asyncio.get_running_loop()
        conn, _ = await loop.sock_accept(self.sock)
        return IOStream(conn)

    async def accept_ssl(self) -> SSLIOStream:
        loop = asyncio.get_running_loop()
        conn, _ = await loop.sock_accept(self.sock)
        assert self.ctx is not None
        wrapped = self.ctx.wrap_socket(conn, server_side=True, do_handshake_on_connect=False)
        return SSLIOStream(wrapped)

    def close(self) -> None:
        self.sock.close()


async def ssl_pair(
    server_ctx: ssl.SSLContext, client_ctx: ssl.SSLContext, hostname: str = "localhost"
) -> tuple[SSLIOStream, SSLIOStream, Listener]:
    lst = Listener(server_ctx)
    client = SSLIOStream(socket.socket(), ssl_options=client_ctx)
    accept = asyncio.ensure_future(lst.accept_ssl())
    cfut = client.connect(lst.addr, server_hostname=hostname)
    server = await accept
    await asyncio.gather(cfut, server.wait_for_handshake())
    return server, client, lst


def test_ssl_roundtrip(server_ctx: ssl.SSLContext, client_ctx: ssl.SSLContext) -> None:
    async def body() -> None:
        server, client, lst = await ssl_pair(server_ctx, client_ctx)
        await client.write(b"hello\n")
        assert await server.read_until(b"\n") == b"hello\n"
        await server.write(b"world\n")
        assert await client.read_until(b"\n") == b"world\n"
        for s in (server, client, lst):
            s.close()

    run(body)


def test_ssl_connect_resolves_with_stream(
    server_ctx: ssl.SSLContext, client_ctx: ssl.SSLContext
) -> None:
    async def body() -> None:
        lst = Listener(server_ctx)
        client = SSLIOStream(socket.socket(), ssl_options=client_ctx)
        accept = asyncio.ensure_future(lst.accept_ssl())
        result = await asyncio.gather(client.connect(lst.addr, server_hostname="localhost"), accept)
        assert result[0] is client
        assert isinstance(client.socket, ssl.SSLSocket)
        assert client.socket.version() is not None
        result[1].close()
        client.close()
        lst.close()

    run(body)


def test_ssl_large_transfer(server_ctx: ssl.SSLContext, client_ctx: ssl.SSLContext) -> None:
    async def body() -> None:
        server, client, lst = await ssl_pair(server_ctx, client_ctx)
        payload = bytes(range(256)) * 8192  # 2 MB
        wfut = client.write(payload)
        assert await server.read_bytes(len(payload)) == payload
        await wfut
        for s in (server, client, lst):
            s.close()

    run(body)


def test_ssl_read_until_close(server_ctx: ssl.SSLContext, client_ctx: ssl.SSLContext) -> None:
    async def body() -> None:
        server, client, lst = await ssl_pair(server_ctx, client_ctx)
        # The server sends and closes (the client has no unread data, so its
        # kernel sees a clean FIN rather than a reset).
        fut = client.read_until_close()
        await server.write(b"a" * 100_000)
        server.close()
        assert await fut == b"a" * 100_000
        lst.close()

    run(body)


def test_ssl_reads_before_handshake_wait_for_it(
    server_ctx: ssl.SSLContext, client_ctx: ssl.SSLContext
) -> None:
    async def body() -> None:
        lst = Listener(server_ctx)
        client = SSLIOStream(socket.socket(), ssl_options=client_ctx)
        accept = asyncio.ensure_future(lst.accept_ssl())
        cfut = client.connect(lst.addr, server_hostname="localhost")
        wfut = client.write(b"early\n")  # queued until the handshake is done
        server = await accept
        assert server.reading()  # the handshake is in progress
        line = await server.read_until(b"\n")
        assert line == b"early\n"
        await cfut
        await wfut
        for s in (server, client, lst):
            s.close()

    run(body)


def test_ssl_handshake_failure_on_untrusted_cert(server_ctx: ssl.SSLContext) -> None:
    async def body() -> None:
        lst = Listener(server_ctx)
        strict = ssl.create_default_context()  # does not trust our self-signed cert
        client = SSLIOStream(socket.socket(), ssl_options=strict)
        accept = asyncio.ensure_future(lst.accept_ssl())
        cfut = client.connect(lst.addr, server_hostname="localhost")
        server = await accept
        sfut = server.wait_for_handshake()
        with pytest.raises(StreamClosedError) as info:
            await cfut
        assert isinstance(info.value.real_error, ssl.SSLError)
        with pytest.raises(StreamClosedError):
            await sfut
        server.close()
        lst.close()

    gen_log.disabled = True
    try:
        run(body)
    finally:
        gen_log.disabled = False


def test_ssl_hostname_mismatch_fails(
    server_ctx: ssl.SSLContext, client_ctx: ssl.SSLContext
) -> None:
    async def body() -> None:
        lst = Listener(server_ctx)
        client = SSLIOStream(socket.socket(), ssl_options=client_ctx)
        accept = asyncio.ensure_future(lst.accept_ssl())
        cfut = client.connect(lst.addr, server_hostname="not-localhost.example")
        server = await accept
        with pytest.raises(StreamClosedError) as info:
            await cfut
        assert isinstance(info.value.real_error, ssl.SSLCertVerificationError)
        server.close()
        lst.close()

    gen_log.disabled = True
    try:
        run(body)
    finally:
        gen_log.disabled = False


def test_ssl_options_dict_for_client(
    server_ctx: ssl.SSLContext, cert_files: tuple[str, str]
) -> None:
    async def body() -> None:
        lst = Listener(server_ctx)
        client = SSLIOStream(
            socket.socket(), ssl_options={"cert_reqs": ssl.CERT_REQUIRED, "ca_certs": cert_files[0]}
        )
        accept = asyncio.ensure_future(lst.accept_ssl())
        await client.connect(lst.addr, server_hostname="localhost")
        server = await accept
        await client.write(b"x")
        assert await server.read_bytes(1) == b"x"
        for s in (server, client, lst):
            s.close()

    run(body)


def test_wait_for_handshake_twice_raises(
    server_ctx: ssl.SSLContext, client_ctx: ssl.SSLContext
) -> None:
    async def body() -> None:
        lst = Listener(server_ctx)
        client = SSLIOStream(socket.socket(), ssl_options=client_ctx)
        accept = asyncio.ensure_future(lst.accept_ssl())
        cfut = client.connect(lst.addr, server_hostname="localhost")
        server = await accept
        first = server.wait_for_handshake()
        with pytest.raises(RuntimeError):
            server.wait_for_handshake()
        await asyncio.gather(first, cfut)
        for s in (server, client, lst):
            s.close()

    run(body)


def test_wait_for_handshake_after_done_resolves_at_once(
    server_ctx: ssl.SSLContext, client_ctx: ssl.SSLContext
) -> None:
    async def body() -> None:
        server, client, lst = await ssl_pair(server_ctx, client_ctx)
        fut = client.wait_for_handshake()
        assert fut.done()
        assert await fut is client
        for s in (server, client, lst):
            s.close()

    run(body)


def test_ssl_close_callback_on_peer_close(
    server_ctx: ssl.SSLContext, client_ctx: ssl.SSLContext
) -> None:
    async def body() -> None:
        server, client, lst = await ssl_pair(server_ctx, client_ctx)
        event = asyncio.Event()
        server.set_close_callback(event.set)
        client.close()
        await event.wait()
        assert server.closed()
        lst.close()

    run(body)


# ---------------------------------------------------------------- start_tls


def test_start_tls_smtp_style_upgrade(
    server_ctx: ssl.SSLContext, client_ctx: ssl.SSLContext
) -> None:
    async def body() -> None:
        lst = Listener(server_ctx)
        client = IOStream(socket.socket())
        accept = asyncio.ensure_future(lst.accept_plain())
        await client.connect(lst.addr)
        server = await accept
        await client.write(b"STARTTLS\r\n")
        assert await server.read_until(b"\r\n") == b"STARTTLS\r\n"
        await server.write(b"220 go ahead\r\n")
        assert await client.read_until(b"\r\n") == b"220 go ahead\r\n"
        sfut = server.start_tls(True, ssl_options=server_ctx)
        cfut = client.start_tls(False, ssl_options=client_ctx, server_hostname="localhost")
        tls_server, tls_client = await asyncio.gather(sfut, cfut)
        assert isinstance(tls_server, SSLIOStream)
        assert isinstance(tls_client, SSLIOStream)
        assert server.closed() and client.closed()
        await tls_client.write(b"EHLO\r\n")
        assert await tls_server.read_until(b"\r\n") == b"EHLO\r\n"
        for s in (tls_server, tls_client, lst):
            s.close()

    run(body)


def test_start_tls_with_dict_options(
    server_ctx: ssl.SSLContext, cert_files: tuple[str, str]
) -> None:
    async def body() -> None:
        lst = Listener(server_ctx)
        client = IOStream(socket.socket())
        accept = asyncio.ensure_future(lst.accept_plain())
        await client.connect(lst.addr)
        server = await accept
        certfile, keyfile = cert_files
        sfut = server.start_tls(True, ssl_options={"certfile": certfile, "keyfile": keyfile})
        cfut = client.start_tls(
            False, ssl_options={"ca_certs": certfile}, server_hostname="localhost"
        )
        tls_server, tls_client = await asyncio.gather(sfut, cfut)
        await tls_server.write(b"ok")
        assert await tls_client.read_bytes(2) == b"ok"
        for s in (tls_server, tls_client, lst):
            s.close()

    run(body)


def test_start_tls_moves_close_callback(
    server_ctx: ssl.SSLContext, client_ctx: ssl.SSLContext
) -> None:
    async def body() -> None:
        lst = Listener(server_ctx)
        client = IOStream(socket.socket())
        accept = asyncio.ensure_future(lst.accept_plain())
        await client.connect(lst.addr)
        server = await accept
        event = asyncio.Event()
        server.set_close_callback(event.set)
        sfut = server.start_tls(True, ssl_options=server_ctx)
        cfut = client.start_tls(False, ssl_options=client_ctx, server_hostname="localhost")
        tls_server, tls_client = await asyncio.gather(sfut, cfut)
        assert not event.is_set()
        tls_client.close()
        await event.wait()
        assert tls_server.closed()
        lst.close()

    run(body)


def test_start_tls_requires_idle_stream(server_ctx: ssl.SSLContext) -> None:
    async def body() -> None:
        a, b = socket.socketpair()
        s, c = IOStream(a), IOStream(b)
        s.read_bytes(100)
        with pytest.raises(ValueError, match="not idle"):
            s.start_tls(False)
        s.close()
        c.close()

    run(body)


def test_start_tls_with_buffered_data_is_refused(server_ctx: ssl.SSLContext) -> None:
    async def body() -> None:
        a, b = socket.socketpair()
        s, c = IOStream(a), IOStream(b)
        await c.write(b"line\nmore")
        assert await s.read_until(b"\n") == b"line\n"
        with pytest.raises(ValueError):
            s.start_tls(True, ssl_options=server_ctx)
        s.close()
        c.close()

    run(body)


def test_start_tls_handshake_failure_fails_future(server_ctx: ssl.SSLContext) -> None:
    async def body() -> None:
        lst = Listener(server_ctx)
        client = IOStream(socket.socket())
        accept = asyncio.ensure_future(lst.accept_plain())
        await client.connect(lst.addr)
        server = await accept
        sfut = server.start_tls(True, ssl_options=server_ctx)
        # The client speaks plain text instead of TLS.
        await client.write(b"this is not a TLS client hello\r\n\r\n" * 4)
        with pytest.raises(StreamClosedError):
            await sfut
        client.close()
        lst.close()

    gen_log.disabled = True
    try:
        run(body)
    finally:
        gen_log.disabled = False


def test_ssl_stream_cert_path(cert_files: tuple[str, str]) -> None:
    assert Path(cert_files[0]).read_bytes().startswith(b"-----BEGIN CERTIFICATE-----")
