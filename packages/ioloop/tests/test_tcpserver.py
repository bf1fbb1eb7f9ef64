"""Tests for squall.tcpserver.TCPServer."""

from __future__ import annotations

import asyncio
import socket
import ssl
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from squall.iostream import IOStream, SSLIOStream, StreamClosedError
from squall.log import app_log
from squall.netutil import bind_sockets
from squall.tcpserver import TCPServer


def run(body: Callable[[], Awaitable[Any]]) -> Any:
    return asyncio.run(asyncio.wait_for(body(), 10))


class EchoServer(TCPServer):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.streams: list[IOStream] = []
        self.addresses: list[Any] = []

    async def handle_stream(self, stream: IOStream, address: Any) -> None:
        self.streams.append(stream)
        self.addresses.append(address)
        try:
            while True:
                line = await stream.read_until(b"\n")
                await stream.write(line)
        except StreamClosedError:
            pass


def port_of(server: TCPServer) -> int:
    sock = next(iter(server._sockets.values()))
    return int(sock.getsockname()[1])


async def echo_once(port: int, data: bytes = b"ping\n", host: str = "127.0.0.1") -> bytes:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    stream = IOStream(socket.socket(family))
    await stream.connect((host, port))
    await stream.write(data)
    reply = await stream.read_until(b"\n")
    stream.close()
    return reply


def test_listen_and_echo() -> None:
    async def body() -> None:
        server = EchoServer()
        server.listen(0, "127.0.0.1")
        assert await echo_once(port_of(server)) == b"ping\n"
        assert server.addresses[0][0] == "127.0.0.1"
        server.stop()

    run(body)


def test_handle_stream_gets_iostream_with_limits() -> None:
    async def body() -> None:
        server = EchoServer(max_buffer_size=4096, read_chunk_size=1024)
        server.listen(0, "127.0.0.1")
        await echo_once(port_of(server))
        stream = server.streams[0]
        assert type(stream) is IOStream
        assert stream.max_buffer_size == 4096
        assert stream.read_chunk_size == 1024
        server.stop()

    run(body)


def test_add_sockets_serves_every_socket() -> None:
    async def body() -> None:
        server = EchoServer()
        a = bind_sockets(0, "127.0.0.1")
        b = bind_sockets(0, "127.0.0.1")
        server.add_sockets(a)
        server.add_socket(b[0])
        ports = [a[0].getsockname()[1], b[0].getsockname()[1]]
        assert ports[0] != ports[1]
        replies = await asyncio.gather(*(echo_once(p, b"%d\n" % p) for p in ports))
        assert replies == [b"%d\n" % p for p in ports]
        server.stop()
        assert a[0].fileno() == -1 and b[0].fileno() == -1

    run(body)


def test_listen_twice_two_ports() -> None:
    async def body() -> None:
        server = EchoServer()
        server.listen(0, "127.0.0.1")
        server.listen(0, "127.0.0.1")
        ports = [s.getsockname()[1] for s in server._sockets.values()]
        assert len(set(ports)) == 2
        for p in ports:
            assert await echo_once(p) == b"ping\n"
        server.stop()

    run(body)


def test_many_concurrent_clients() -> None:
    async def body() -> None:
        server = EchoServer()
        server.listen(0, "127.0.0.1")
        port = port_of(server)
        replies = await asyncio.gather(*(echo_once(port, b"c%d\n" % i) for i in range(50)))
        assert replies == [b"c%d\n" % i for i in range(50)]
        server.stop()

    run(body)


def test_bind_then_start_single_process() -> None:
    async def body() -> None:
        server = EchoServer()
        server.bind(0, "127.0.0.1")
        assert not server._sockets
        server.start(1)
        assert await echo_once(port_of(server)) == b"ping\n"
        server.stop()

    run(body)


def test_stop_closes_listeners_and_refuses_new_connections() -> None:
    async def body() -> None:
        server = EchoServer()
        server.listen(0, "127.0.0.1")
        port = port_of(server)
        server.stop()
        server.stop()  # idempotent
        with pytest.raises((ConnectionRefusedError, StreamClosedError)):
            await echo_once(port)

    run(body)


def test_stop_leaves_open_connections_working() -> None:
    async def body() -> None:
        server = EchoServer()
        server.listen(0, "127.0.0.1")
        stream = IOStream(socket.socket())
        await stream.connect(("127.0.0.1", port_of(server)))
        await stream.write(b"a\n")
        assert await stream.read_until(b"\n") == b"a\n"
        server.stop()
        await stream.write(b"b\n")
        assert await stream.read_until(b"\n") == b"b\n"
        stream.close()

    run(body)


def test_synchronous_handle_stream() -> None:
    async def body() -> None:
        got: list[Any] = []

        class Sync(TCPServer):
            def handle_stream(self, stream: IOStream, address: Any) -> None:
                got.append(address)
                stream.write(b"bye\n")
                stream.close()

        server = Sync()
        server.listen(0, "127.0.0.1")
        stream = IOStream(socket.socket())
        await stream.connect(("127.0.0.1", port_of(server)))
        assert await stream.read_until_close() == b"bye\n"
        assert len(got) == 1
        server.stop()

    run(body)


def test_handle_stream_exception_is_logged(caplog: pytest.LogCaptureFixture) -> None:
    async def body() -> None:
        class Broken(TCPServer):
            async def handle_stream(self, stream: IOStream, address: Any) -> None:
                stream.close()
                raise ValueError("handler failed")

        server = Broken()
        server.listen(0, "127.0.0.1")
        stream = IOStream(socket.socket())
        await stream.connect(("127.0.0.1", port_of(server)))
        await stream.read_until_close()
        for _ in range(20):
            if any("handler failed" in str(r.exc_info) for r in caplog.records):
                break
            await asyncio.sleep(0.01)
        server.stop()

    with caplog.at_level("ERROR", logger=app_log.name):
        run(body)
    assert any(r.exc_info and isinstance(r.exc_info[1], ValueError) for r in caplog.records)


def test_base_handle_stream_not_implemented() -> None:
    with pytest.raises(NotImplementedError):
        TCPServer().handle_stream(None, ("x", 1))  # type: ignore[arg-type]


def test_ssl_options_dict_requires_certfile() -> None:
    with pytest.raises(KeyError):
        TCPServer(ssl_options={"keyfile": "x"})


def test_ssl_options_dict_missing_file(tmp_path: Any) -> None:
    with pytest.raises(ValueError, match="does not exist"):
        TCPServer(ssl_options={"certfile": str(tmp_path / "nope.pem")})


@pytest.mark.parametrize("as_dict", [True, False], ids=["dict", "context"])
def test_tls_server(cert_files: tuple[str, str], as_dict: bool) -> None:
    async def body() -> None:
        certfile, keyfile = cert_files
        options: Any
        if as_dict:
            options = {"certfile": certfile, "keyfile": keyfile}
        else:
            options = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            options.load_cert_chain(certfile, keyfile)
        server = EchoServer(ssl_options=options)
        server.listen(0, "127.0.0.1")
        client_ctx = ssl.create_default_context(cafile=certfile)
        stream = SSLIOStream(socket.socket(), ssl_options=client_ctx)
        await stream.connect(("127.0.0.1", port_of(server)), server_hostname="localhost")
        await stream.write(b"secret\n")
        assert await stream.read_until(b"\n") == b"secret\n"
        assert isinstance(server.streams[0], SSLIOStream)
        stream.close()
        server.stop()

    run(body)


# ---------------------------------------------------------------- more behaviour, on every loop


def test_echo_on_each_loop_kind(run: Any) -> None:
    async def body() -> None:
        server = EchoServer()
        server.listen(0, "127.0.0.1")
        port = port_of(server)
        replies = await asyncio.gather(*(echo_once(port, b"x%d\n" % i) for i in range(10)))
        assert replies == [b"x%d\n" % i for i in range(10)]
        server.stop()

    run(body)


def test_start_twice_raises() -> None:
    async def body() -> None:
        server = EchoServer()
        server.bind(0, "127.0.0.1")
        server.start()
        with pytest.raises(RuntimeError):
            server.start()
        server.stop()

    run(body)


def test_bind_after_start_serves_at_once() -> None:
    async def body() -> None:
        server = EchoServer()
        server.start()
        server.bind(0, "127.0.0.1")
        assert await echo_once(port_of(server)) == b"ping\n"
        server.stop()

    run(body)


def test_stop_closes_bound_but_unstarted_sockets() -> None:
    async def body() -> None:
        server = EchoServer()
        server.bind(0, "127.0.0.1")
        waiting = list(server._waiting)
        assert waiting and all(s.fileno() != -1 for s in waiting)
        server.stop()
        assert all(s.fileno() == -1 for s in waiting)

    run(body)


def test_synchronous_handle_stream_error_is_logged_and_server_goes_on(
    caplog: pytest.LogCaptureFixture,
) -> None:
    calls: list[int] = []

    class Flaky(TCPServer):
        def handle_stream(self, stream: IOStream, address: Any) -> None:
            calls.append(1)
            if len(calls) == 1:
                stream.close()
                raise RuntimeError("first one breaks")
            stream.write(b"fine\n")
            stream.close()

    async def body() -> None:
        server = Flaky()
        server.listen(0, "127.0.0.1")
        port = port_of(server)
        first = IOStream(socket.socket())
        await first.connect(("127.0.0.1", port))
        assert await first.read_until_close() == b""
        second = IOStream(socket.socket())
        await second.connect(("127.0.0.1", port))
        assert await second.read_until_close() == b"fine\n"
        server.stop()

    with caplog.at_level("ERROR", logger=app_log.name):
        run(body)
    assert len(calls) == 2
    assert any(r.exc_info and isinstance(r.exc_info[1], RuntimeError) for r in caplog.records)


def test_handle_stream_may_return_a_plain_future() -> None:
    async def body() -> None:
        seen: list[Any] = []

        class FutureServer(TCPServer):
            def handle_stream(self, stream: IOStream, address: Any) -> asyncio.Future[None]:
                fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
                seen.append(fut)
                stream.write(b"ok\n")
                stream.close()
                fut.set_result(None)
                return fut

        server = FutureServer()
        server.listen(0, "127.0.0.1")
        stream = IOStream(socket.socket())
        await stream.connect(("127.0.0.1", port_of(server)))
        assert await stream.read_until_close() == b"ok\n"
        assert len(seen) == 1 and seen[0].done()
        server.stop()

    run(body)


def test_listen_before_the_loop_runs() -> None:
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    try:
        server = EchoServer()
        server.listen(0, "127.0.0.1")
        assert loop.run_until_complete(echo_once(port_of(server))) == b"ping\n"
        server.stop()
    finally:
        asyncio.set_event_loop(None)
        loop.close()


def test_unix_socket_server(tmp_path: Any) -> None:
    from squall.netutil import bind_unix_socket

    async def body() -> None:
        path = str(tmp_path / "echo.sock")
        server = EchoServer()
        server.add_socket(bind_unix_socket(path))
        stream = IOStream(socket.socket(socket.AF_UNIX))
        await stream.connect(path)
        await stream.write(b"local\n")
        assert await stream.read_until(b"\n") == b"local\n"
        assert type(server.streams[0]) is IOStream
        stream.close()
        server.stop()

    run(body)


def test_tls_server_survives_client_that_hangs_up_before_handshake(
    cert_files: tuple[str, str], run: Any
) -> None:
    async def body() -> None:
        certfile, keyfile = cert_files
        server = EchoServer(ssl_options={"certfile": certfile, "keyfile": keyfile})
        server.listen(0, "127.0.0.1")
        port = port_of(server)
        rude = socket.create_connection(("127.0.0.1", port))
        rude.close()
        client_ctx = ssl.create_default_context(cafile=certfile)
        for word in (b"one\n", b"two\n"):
            stream = SSLIOStream(socket.socket(), ssl_options=client_ctx)
            await stream.connect(("127.0.0.1", port), server_hostname="localhost")
            await stream.write(word)
            assert await stream.read_until(b"\n") == word
            stream.close()
        server.stop()

    run(body)


def test_tls_dict_options_build_one_context(cert_files: tuple[str, str]) -> None:
    certfile, keyfile = cert_files
    server = TCPServer(ssl_options={"certfile": certfile, "keyfile": keyfile})
    first = server._context()
    assert isinstance(first, ssl.SSLContext)
    assert server._context() is first
    # A new ssl_options value is picked up.
    server.ssl_options = {"certfile": certfile, "keyfile": keyfile}
    assert server._context() is not first


def test_ssl_options_keyfile_missing(cert_files: tuple[str, str], tmp_path: Any) -> None:
    with pytest.raises(ValueError, match="keyfile"):
        TCPServer(ssl_options={"certfile": cert_files[0], "keyfile": str(tmp_path / "no.key")})
