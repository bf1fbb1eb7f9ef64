"""SimpleAsyncHTTPClient only: the keep-alive pool, max_clients queueing, proxies, end-to-end testing."""

from __future__ import annotations

import asyncio
import socket
import ssl
import subprocess
import sys
import threading
from collections.abc import Iterator
from typing import Any

import pytest
from _httpclient_support import App, RawServer, ok_answer, serve, stop
from squall.httpclient import HTTPClient, HTTPClientError, main
from squall.netutil import Resolver
from squall.simple_httpclient import HTTPStreamClosedError, HTTPTimeoutError, SimpleAsyncHTTPClient
from squall.testing import AsyncHTTPTestCase, gen_test


async def _served(body: Any, **client_options: Any) -> Any:
    app = App()
    server, port = await serve(app)
    client = SimpleAsyncHTTPClient(force_instance=True, **client_options)
    try:
        return await body(client, f"http://127.0.0.1:{port}", app)
    finally:
        client.close()
        await stop(server)


# -- pooling ---------------------------------------------------------------------------------


def test_sequential_requests_share_one_connection(run: Any) -> None:
    async def body(client: Any, base: str, app: App) -> None:
        for _ in range(5):
            assert (await client.fetch(base + "/hello")).body == b"hello"
        await client.fetch(base + "/echo", method="POST", body="x")
        assert len(app.connections) == 1

    run(lambda: _served(body))


def test_connection_close_is_never_reused(run: Any) -> None:
    async def body(client: Any, base: str, app: App) -> None:
        for _ in range(3):
            await client.fetch(base + "/close")
        assert len(app.connections) == 3

    run(lambda: _served(body))


def test_error_and_timeout_drop_the_connection(run: Any) -> None:
    async def body(client: Any, base: str, app: App) -> None:
        await client.fetch(base + "/hello")
        with pytest.raises(HTTPTimeoutError):
            await client.fetch(base + "/never", request_timeout=0.2)
        await client.fetch(base + "/hello")
        assert len(app.connections) == 2

    run(lambda: _served(body))


def test_unread_streaming_failure_drops_the_connection(run: Any) -> None:
    async def body(client: Any, base: str, app: App) -> None:
        def explode(chunk: bytes) -> None:
            raise RuntimeError("consumer failed")

        with pytest.raises(RuntimeError):
            await client.fetch(base + "/big", streaming_callback=explode)
        await client.fetch(base + "/hello")
        assert len(app.connections) == 2

    run(lambda: _served(body))


def test_concurrent_requests_open_up_to_max_clients(run: Any) -> None:
    async def body(client: Any, base: str, app: App) -> None:
        responses = await asyncio.gather(*[client.fetch(base + "/hello") for _ in range(12)])
        assert all(r.body == b"hello" for r in responses)
        assert len(app.connections) <= 3
        await asyncio.gather(*[client.fetch(base + "/hello") for _ in range(6)])
        assert len(app.connections) <= 3

    run(lambda: _served(body, max_clients=3))


def test_queue_time_counts_against_request_timeout(run: Any) -> None:
    async def body(client: Any, base: str, app: App) -> None:
        slow = client.fetch(base + "/never", request_timeout=1.0)
        with pytest.raises(HTTPTimeoutError) as caught:
            await client.fetch(base + "/hello", request_timeout=0.2)
        assert "queue" in str(caught.value)
        with pytest.raises(HTTPTimeoutError):
            await slow

    run(lambda: _served(body, max_clients=1))


async def _one_answer_server(counter: dict[str, int]) -> tuple[asyncio.AbstractServer, int]:
    """Answers the first request of each connection keep-alive, then closes on the next one."""

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        counter["connections"] += 1
        try:
            await reader.readuntil(b"\r\n\r\n")
            writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
            await writer.drain()
            await reader.readuntil(b"\r\n\r\n")
            counter["dropped"] += 1
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    return server, server.sockets[0].getsockname()[1]


def test_stale_pooled_connection_retried_once_for_idempotent_methods(run: Any) -> None:
    async def body() -> None:
        counter = {"connections": 0, "dropped": 0}
        server, port = await _one_answer_server(counter)
        client = SimpleAsyncHTTPClient(force_instance=True)
        url = f"http://127.0.0.1:{port}/"
        try:
            assert (await client.fetch(url)).body == b"ok"
            assert (await client.fetch(url)).body == b"ok"
            assert counter == {"connections": 2, "dropped": 1}
            with pytest.raises(HTTPStreamClosedError):
                await client.fetch(url, method="POST", body="once")
            assert counter["connections"] == 2
        finally:
            client.close()
            server.close()

    run(body)


async def _raw(body: Any, answer: Any = ok_answer, delay: float = 0.0, **options: Any) -> Any:
    server = RawServer(answer, delay)
    port = await server.start()
    client = SimpleAsyncHTTPClient(force_instance=True, **options)
    try:
        return await body(client, f"http://127.0.0.1:{port}", server)
    finally:
        client.close()
        server.close()


def test_idle_connections_are_closed_after_the_idle_time(
    run: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    import squall.simple_httpclient._client as simple_module

    monkeypatch.setattr(simple_module, "_IDLE_SECONDS", 0.2)

    async def body(client: Any, base: str, server: RawServer) -> None:
        assert (await client.fetch(base + "/")).body == b"ok"
        assert (await client.fetch(base + "/")).body == b"ok"
        assert (server.opened, server.closed) == (1, 0)
        # Nothing else happens: the sweeper alone must close the idle connection.
        await server.wait_closed(1)
        assert server.closed == 1
        assert (await client.fetch(base + "/")).body == b"ok"
        assert server.opened == 2

    run(lambda: _raw(body))


def test_pool_keeps_at_most_max_clients_per_destination(run: Any) -> None:
    async def body(client: Any, base: str, server: RawServer) -> None:
        for _ in range(2):
            responses = await asyncio.gather(*[client.fetch(base + "/") for _ in range(8)])
            assert [r.body for r in responses] == [b"ok"] * 8
            assert server.peak <= 3
        # The second burst found the three idle connections of the first one.
        assert server.opened == 3
        assert server.opened - server.closed <= 3

    run(lambda: _raw(body, delay=0.02, max_clients=3))


def test_each_destination_has_its_own_pool(run: Any) -> None:
    async def body() -> None:
        servers = [RawServer(ok_answer), RawServer(ok_answer)]
        bases = [f"http://127.0.0.1:{await s.start()}/" for s in servers]
        client = SimpleAsyncHTTPClient(force_instance=True, max_clients=1)
        try:
            for _ in range(3):
                for base in bases:
                    assert (await client.fetch(base)).body == b"ok"
            assert [s.opened for s in servers] == [1, 1]
        finally:
            client.close()
            for server in servers:
                server.close()

    run(body)


def _sized(method: str, path: str) -> bytes:
    if path == "/big":
        return b"HTTP/1.1 200 OK\r\nContent-Length: 5000\r\n\r\n" + b"b" * 5000
    if path == "/garbage":
        return b"HTTP/1.1 200 OK\r\nContent-Length: nope\r\n\r\nok"
    return ok_answer(method, path)


def test_body_too_large_and_malformed_answers_drop_the_connection(run: Any) -> None:
    async def body(client: Any, base: str, server: RawServer) -> None:
        await client.fetch(base + "/")
        with pytest.raises(HTTPClientError) as caught:
            await client.fetch(base + "/big")
        assert caught.value.code == 599 and "larger" in str(caught.value)
        assert (await client.fetch(base + "/")).body == b"ok"
        assert server.opened == 2
        with pytest.raises(HTTPClientError) as caught:
            await client.fetch(base + "/garbage")
        assert caught.value.code == 599
        assert (await client.fetch(base + "/")).body == b"ok"
        assert server.opened == 3

    run(lambda: _raw(body, _sized, max_body_size=1000))


def test_head_answer_without_body_keeps_the_connection(run: Any) -> None:
    async def body(client: Any, base: str, server: RawServer) -> None:
        head = await client.fetch(base + "/", method="HEAD")
        assert head.code == 200 and head.body == b""
        assert head.headers["Content-Length"] == "2"
        assert (await client.fetch(base + "/")).body == b"ok"
        assert server.opened == 1

    run(lambda: _raw(body))


def test_followed_redirect_reuses_the_connection(run: Any) -> None:
    async def body(client: Any, base: str, app: App) -> None:
        response = await client.fetch(base + "/redirect/302")
        assert response.body == b"GET /echo "
        assert len(app.requests) == 2
        assert len(app.connections) == 1

    run(lambda: _served(body))


def test_connections_with_different_tls_settings_are_not_shared(
    run: Any, cert_files: dict[str, str]
) -> None:
    async def body() -> None:
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(cert_files["server_cert"], cert_files["server_key"])
        app = App()
        server, port = await serve(app, ssl_options=context)
        url = f"https://127.0.0.1:{port}/hello"
        client = SimpleAsyncHTTPClient(force_instance=True)
        try:
            await client.fetch(url, validate_cert=False)
            await client.fetch(url, validate_cert=False)
            assert len(app.connections) == 1
            await client.fetch(url, ca_certs=cert_files["server_cert"])
            assert len(app.connections) == 2
            await client.fetch(url, validate_cert=False)
            await client.fetch(url, ca_certs=cert_files["server_cert"])
            assert len(app.connections) == 2
        finally:
            client.close()
            await stop(server)

    run(body)


# -- connection options ----------------------------------------------------------------------


class _DualStackResolver(Resolver):
    """Resolves every name to ::1 then 127.0.0.1, honouring ``family`` like getaddrinfo."""

    def initialize(self) -> None:
        self.families: list[int] = []

    async def resolve(  # type: ignore[override]
        self, host: str, port: int, family: int = socket.AF_UNSPEC
    ) -> list[tuple[int, Any]]:
        self.families.append(family)
        found = [(socket.AF_INET6, ("::1", port, 0, 0)), (socket.AF_INET, ("127.0.0.1", port))]
        return [entry for entry in found if family in (socket.AF_UNSPEC, entry[0])]

    def close(self) -> None:
        pass


def test_allow_ipv6_false_uses_the_ipv4_address(run: Any) -> None:
    async def body() -> None:
        v4 = RawServer(ok_answer)
        port = await v4.start("127.0.0.1")
        v6 = RawServer(ok_answer)
        try:
            await v6.start("::1", port)
        except OSError:
            v4.close()
            pytest.skip("no IPv6 loopback, or the port is taken on ::1")
        resolver = _DualStackResolver()
        client = SimpleAsyncHTTPClient(force_instance=True, resolver=resolver)
        url = f"http://dual.test:{port}/"
        try:
            assert (await client.fetch(url, allow_ipv6=False)).body == b"ok"
            assert (v4.opened, v6.opened) == (1, 0)
            assert resolver.families == [socket.AF_INET]
            assert (await client.fetch(url)).body == b"ok"
            assert (v4.opened, v6.opened) == (1, 1)
        finally:
            client.close()
            v4.close()
            v6.close()

    run(body)


def test_ssl_options_as_a_dict(run: Any, cert_files: dict[str, str]) -> None:
    async def body() -> None:
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(cert_files["server_cert"], cert_files["server_key"])
        context.verify_mode = ssl.CERT_REQUIRED
        context.load_verify_locations(cert_files["client_cert"])
        server, port = await serve(App(), ssl_options=context)
        url = f"https://127.0.0.1:{port}/hello"
        client = SimpleAsyncHTTPClient(force_instance=True)
        mutual = {
            "ca_certs": cert_files["server_cert"],
            "certfile": cert_files["client_cert"],
            "keyfile": cert_files["client_key"],
        }
        try:
            assert (await client.fetch(url, ssl_options=mutual)).body == b"hello"
            # The dict wins over validate_cert: the server's certificate is still checked.
            with pytest.raises(HTTPClientError) as caught:
                await client.fetch(
                    url,
                    validate_cert=False,
                    ssl_options={
                        "certfile": cert_files["client_cert"],
                        "keyfile": cert_files["client_key"],
                    },
                )
            assert caught.value.code == 599
            # No client certificate: the server refuses the handshake.
            with pytest.raises(HTTPClientError):
                await client.fetch(url, ssl_options={"ca_certs": cert_files["server_cert"]})
        finally:
            client.close()
            await stop(server)

    run(body)


# -- proxies ---------------------------------------------------------------------------------


class _Proxy:
    """A tiny HTTP proxy: forwards absolute-form requests and opens CONNECT tunnels; counts both."""

    def __init__(self) -> None:
        self.forwarded: list[str] = []
        self.tunnels: list[str] = []
        self.auth: list[str | None] = []

    async def start(self) -> int:
        self.server = await asyncio.start_server(self._handle, "127.0.0.1", 0)
        return int(self.server.sockets[0].getsockname()[1])

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            head = await reader.readuntil(b"\r\n\r\n")
            lines = head.decode("latin-1").split("\r\n")
            method, target, _ = lines[0].split(" ")
            fields = dict(line.split(": ", 1) for line in lines[1:] if line)
            self.auth.append(fields.get("Proxy-Authorization"))
            if method == "CONNECT":
                self.tunnels.append(target)
                host, port = target.rsplit(":", 1)
                up_reader, up_writer = await asyncio.open_connection(host, int(port))
                writer.write(b"HTTP/1.1 200 Connection established\r\n\r\n")
                await self._pipe(reader, writer, up_reader, up_writer)
                return
            self.forwarded.append(target)
            authority = target.split("/")[2]
            host, port = authority.rsplit(":", 1)
            path = "/" + target.split("/", 3)[3]
            up_reader, up_writer = await asyncio.open_connection(host, int(port))
            rest = [x for x in lines[1:] if x and not x.startswith("Proxy-Authorization")]
            up_writer.write(
                (
                    f"{method} {path} HTTP/1.1\r\n"
                    + "\r\n".join(rest)
                    + "\r\nConnection: close\r\n\r\n"
                ).encode()
            )
            answer = await up_reader.read()
            answer = answer.replace(b"\r\n\r\n", b"\r\nConnection: close\r\n\r\n", 1)
            writer.write(answer)
            await writer.drain()
            up_writer.close()
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            writer.close()

    @staticmethod
    async def _pipe(reader: Any, writer: Any, up_reader: Any, up_writer: Any) -> None:
        async def copy(src: Any, dst: Any) -> None:
            try:
                while data := await src.read(65536):
                    dst.write(data)
                    await dst.drain()
            except ConnectionError:
                pass
            finally:
                dst.close()

        await asyncio.gather(copy(reader, up_writer), copy(up_reader, writer))


def test_http_proxy_carries_plain_requests(run: Any) -> None:
    async def body(client: Any, base: str, app: App) -> None:
        proxy = _Proxy()
        proxy_port = await proxy.start()
        try:
            response = await client.fetch(
                base + "/echo?q=1",
                proxy_host="127.0.0.1",
                proxy_port=proxy_port,
                proxy_username="user",
                proxy_password="pw",
            )
            assert response.body == b"GET /echo?q=1 "
            assert proxy.forwarded == [base + "/echo?q=1"]
            assert proxy.auth == ["Basic dXNlcjpwdw=="]
            assert "Proxy-Authorization" not in app.requests[-1].headers
        finally:
            proxy.server.close()

    run(lambda: _served(body))


def test_connect_tunnel_for_https(run: Any, cert_files: dict[str, str]) -> None:
    async def body() -> None:
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(cert_files["server_cert"], cert_files["server_key"])
        server, port = await serve(App(), ssl_options=context)
        proxy = _Proxy()
        proxy_port = await proxy.start()
        client = SimpleAsyncHTTPClient(force_instance=True)
        try:
            for _ in range(2):
                response = await client.fetch(
                    f"https://127.0.0.1:{port}/hello",
                    proxy_host="127.0.0.1",
                    proxy_port=proxy_port,
                    ca_certs=cert_files["server_cert"],
                )
                assert response.body == b"hello"
            assert proxy.tunnels == [f"127.0.0.1:{port}"]
            assert proxy.forwarded == []
        finally:
            client.close()
            proxy.server.close()
            await stop(server)

    run(body)


def test_unsupported_scheme_and_missing_body(run: Any) -> None:
    async def body(client: Any, base: str, app: App) -> None:
        with pytest.raises(ValueError):
            await client.fetch("ftp://127.0.0.1/")
        with pytest.raises(ValueError):
            await client.fetch(base + "/", method="POST")
        response = await client.fetch(
            base + "/echo", method="PROPFIND", allow_nonstandard_methods=True
        )
        assert response.body == b"PROPFIND /echo "

    run(lambda: _served(body))


def test_hostname_mapping(run: Any) -> None:
    async def body(client: Any, base: str, app: App) -> None:
        port = base.rsplit(":", 1)[1]
        response = await client.fetch(f"http://example.invalid:{port}/hello")
        assert response.body == b"hello"
        assert app.requests[-1].headers["Host"] == f"example.invalid:{port}"

    run(lambda: _served(body, hostname_mapping={"example.invalid": "127.0.0.1"}))


# -- the blocking client and the test case -----------------------------------------------------


@pytest.fixture
def threaded_server() -> Iterator[int]:
    """A squall server with the test App on its own thread and loop; yields its port."""
    ready = threading.Event()
    holder: dict[str, Any] = {}

    def serve_forever() -> None:
        loop = asyncio.new_event_loop()

        async def start() -> None:
            holder["server"], holder["port"] = await serve(App())
            ready.set()

        holder["loop"] = loop
        loop.run_until_complete(start())
        loop.run_forever()
        loop.run_until_complete(stop(holder["server"]))
        loop.close()

    thread = threading.Thread(target=serve_forever)
    thread.start()
    try:
        assert ready.wait(5)
        yield int(holder["port"])
    finally:
        holder["loop"].call_soon_threadsafe(holder["loop"].stop)
        thread.join(5)


def test_main_prints_the_body(threaded_server: int, capsys: pytest.CaptureFixture[str]) -> None:
    base = f"http://127.0.0.1:{threaded_server}"
    main([base + "/hello", base + "/status/404"])
    assert capsys.readouterr().out == "hellostatus"
    main(["--headers", "--no-body", base + "/hello"])
    out = capsys.readouterr().out
    assert "Content-Length: 5" in out and "hello" not in out


def test_python_dash_m_fetches_a_url(threaded_server: int) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "squall.httpclient", f"http://127.0.0.1:{threaded_server}/echo"],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout == "GET /echo "


def test_blocking_http_client() -> None:
    ready = threading.Event()
    holder: dict[str, Any] = {}

    def serve_forever() -> None:
        loop = asyncio.new_event_loop()

        async def start() -> None:
            holder["server"], holder["port"] = await serve(App())
            holder["loop"] = loop
            ready.set()

        loop.run_until_complete(start())
        loop.run_forever()
        loop.run_until_complete(stop(holder["server"]))
        loop.close()

    thread = threading.Thread(target=serve_forever)
    thread.start()
    try:
        assert ready.wait(5)
        client = HTTPClient()
        try:
            assert client.fetch(f"http://127.0.0.1:{holder['port']}/hello").body == b"hello"
            with pytest.raises(HTTPClientError):
                client.fetch(f"http://127.0.0.1:{holder['port']}/status/404")
        finally:
            client.close()
    finally:
        holder["loop"].call_soon_threadsafe(holder["loop"].stop)
        thread.join(5)


class EndToEnd(AsyncHTTPTestCase):
    def get_app(self) -> Any:
        return App()

    def test_fetch_through_the_real_server(self) -> None:
        response = self.fetch("/echo", method="POST", body="abc")
        assert response.code == 200 and response.body == b"POST /echo abc"
        assert self.fetch("/status/404").code == 404

    @gen_test
    async def test_http_client_and_get_url(self) -> None:
        response = await self.http_client.fetch(self.get_url("/echo?x=1"))
        assert response.body == b"GET /echo?x=1 "
        with pytest.raises(HTTPClientError) as caught:
            await self.http_client.fetch(self.get_url("/status/500"))
        assert caught.value.code == 500
        assert self.get_url("/a").startswith("http://127.0.0.1:")
