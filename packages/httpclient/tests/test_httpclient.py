"""The shared client suite: every implementation against the squall server and small bad servers."""

from __future__ import annotations

import asyncio
import ssl
from typing import Any

import pytest
from _httpclient_support import App, RawServer, ok_answer, serve, stop
from squall.httpclient import AsyncHTTPClient, HTTPClientError, HTTPError, HTTPRequest


async def _with_app(client_impl: Any, body: Any, **server_options: Any) -> Any:
    app = App()
    server, port = await serve(app, **server_options)
    client = client_impl(force_instance=True)
    try:
        return await body(client, f"http://127.0.0.1:{port}", app)
    finally:
        client.close()
        await stop(server)


def test_get_body_headers_and_timing(run: Any, client_impl: Any) -> None:
    async def body(client: Any, base: str, app: App) -> None:
        response = await client.fetch(base + "/hello")
        assert response.code == 200
        assert response.body == b"hello"
        assert response.headers["Content-Length"] == "5"
        assert response.effective_url == base + "/hello"
        assert response.request_time is not None and response.request_time >= 0
        assert response.error is None
        response.rethrow()

    run(lambda: _with_app(client_impl, body))


def test_post_and_put_send_the_body(run: Any, client_impl: Any) -> None:
    async def body(client: Any, base: str, app: App) -> None:
        response = await client.fetch(base + "/echo?a=1", method="POST", body="payload")
        assert response.body == b"POST /echo?a=1 payload"
        response = await client.fetch(HTTPRequest(base + "/echo", method="PUT", body=b"x" * 10))
        assert response.body == b"PUT /echo " + b"x" * 10

    run(lambda: _with_app(client_impl, body))


def test_error_status_raises_unless_raise_error_false(run: Any, client_impl: Any) -> None:
    async def body(client: Any, base: str, app: App) -> None:
        with pytest.raises(HTTPClientError) as caught:
            await client.fetch(base + "/status/404")
        assert caught.value.code == 404
        assert caught.value.response is not None and caught.value.response.body == b"status"
        assert "404" in str(caught.value)
        response = await client.fetch(base + "/status/503", raise_error=False)
        assert response.code == 503 and isinstance(response.error, HTTPError)
        with pytest.raises(HTTPClientError):
            response.rethrow()

    run(lambda: _with_app(client_impl, body))


def test_callback_style(run: Any, client_impl: Any) -> None:
    async def body(client: Any, base: str, app: App) -> None:
        got: list[Any] = []
        done = asyncio.Event()

        def callback(response: Any) -> None:
            got.append(response)
            done.set()

        client.fetch(base + "/status/500", callback=callback)
        await done.wait()
        assert got[0].code == 500 and got[0].error is not None

    run(lambda: _with_app(client_impl, body))


@pytest.mark.parametrize(
    ("code", "method"), [(301, "GET"), (302, "GET"), (303, "GET"), (307, "POST"), (308, "POST")]
)
def test_redirects_after_post(run: Any, client_impl: Any, code: int, method: str) -> None:
    async def body(client: Any, base: str, app: App) -> None:
        response = await client.fetch(base + f"/redirect/{code}", method="POST", body="data")
        expected = b"POST /echo data" if method == "POST" else b"GET /echo "
        assert response.body == expected
        assert response.effective_url == base + "/echo"
        assert response.code == 200

    run(lambda: _with_app(client_impl, body))


def test_redirect_loop_and_no_follow(run: Any, client_impl: Any) -> None:
    async def body(client: Any, base: str, app: App) -> None:
        with pytest.raises(HTTPClientError) as caught:
            await client.fetch(base + "/loop", max_redirects=3)
        assert caught.value.code in (302, 599)
        assert len(app.requests) == 4
        response = await client.fetch(
            base + "/redirect/302", follow_redirects=False, raise_error=False
        )
        assert response.code == 302 and response.headers["Location"] == "/echo"

    run(lambda: _with_app(client_impl, body))


def test_gzip_decompressed_unless_disabled(run: Any, client_impl: Any) -> None:
    async def body(client: Any, base: str, app: App) -> None:
        response = await client.fetch(base + "/gzip")
        assert response.body == b"hello " * 100
        assert "gzip" in app.requests[-1].headers.get("Accept-Encoding", "")
        # The decoded coding moves to X-Consumed-Content-Encoding (Tornado's simple client's rule).
        assert "Content-Encoding" not in response.headers
        assert response.headers["X-Consumed-Content-Encoding"] == "gzip"
        assert response.headers["Content-Length"]
        raw = await client.fetch(base + "/gzip", decompress_response=False)
        assert raw.body[:2] == b"\x1f\x8b"
        assert raw.headers["Content-Encoding"] == "gzip"
        assert "X-Consumed-Content-Encoding" not in raw.headers

    run(lambda: _with_app(client_impl, body))


def test_streaming_and_header_callbacks(run: Any, client_impl: Any) -> None:
    async def body(client: Any, base: str, app: App) -> None:
        chunks: list[bytes] = []
        lines: list[str] = []
        response = await client.fetch(
            base + "/big", streaming_callback=chunks.append, header_callback=lines.append
        )
        assert b"".join(chunks) == b"x" * 100_000
        assert response.body == b""
        assert lines[0].startswith("HTTP/1.1 200")
        assert any(line.lower().startswith("content-length: 100000") for line in lines)
        assert lines[-1] == "\r\n"

    run(lambda: _with_app(client_impl, body))


def test_basic_auth_and_user_agent(run: Any, client_impl: Any) -> None:
    async def body(client: Any, base: str, app: App) -> None:
        await client.fetch(
            base + "/", auth_username="me", auth_password="secret", user_agent="tester/1"
        )
        headers = app.requests[-1].headers
        assert headers["Authorization"] == "Basic bWU6c2VjcmV0"
        assert headers["User-Agent"] == "tester/1"

    run(lambda: _with_app(client_impl, body))


def test_if_modified_since_header(run: Any, client_impl: Any) -> None:
    async def body(client: Any, base: str, app: App) -> None:
        await client.fetch(base + "/", if_modified_since=0.0 + 86400)
        assert app.requests[-1].headers["If-Modified-Since"] == "Fri, 02 Jan 1970 00:00:00 GMT"

    run(lambda: _with_app(client_impl, body))


def test_body_producer_and_100_continue(run: Any, client_impl: Any) -> None:
    async def body(client: Any, base: str, app: App) -> None:
        async def produce(write: Any) -> None:
            await write(b"one,")
            await write(b"two")

        response = await client.fetch(base + "/echo", method="POST", body_producer=produce)
        assert response.body == b"POST /echo one,two"
        response = await client.fetch(
            base + "/echo", method="POST", body=b"waited", expect_100_continue=True
        )
        assert response.body == b"POST /echo waited"

    run(lambda: _with_app(client_impl, body))


def test_request_timeout(run: Any, client_impl: Any) -> None:
    async def body(client: Any, base: str, app: App) -> None:
        with pytest.raises(HTTPClientError) as caught:
            await client.fetch(base + "/never", request_timeout=0.3)
        assert caught.value.code == 599
        assert "time" in str(caught.value).lower()
        response = await client.fetch(base + "/never", request_timeout=0.2, raise_error=False)
        assert response.code == 599

    run(lambda: _with_app(client_impl, body))


def test_defaults_apply_when_request_leaves_options_unset(run: Any, client_impl: Any) -> None:
    async def body(client: Any, base: str, app: App) -> None:
        client = client_impl(force_instance=True, defaults={"user_agent": "from-defaults"})
        try:
            await client.fetch(base + "/")
            assert app.requests[-1].headers["User-Agent"] == "from-defaults"
            await client.fetch(base + "/", user_agent="mine")
            assert app.requests[-1].headers["User-Agent"] == "mine"
        finally:
            client.close()

    run(lambda: _with_app(client_impl, body))


def test_refused_connection_fails(run: Any, client_impl: Any) -> None:
    from squall.testing import bind_unused_port

    async def body() -> None:
        sock, port = bind_unused_port()
        sock.close()
        client = client_impl(force_instance=True)
        try:
            with pytest.raises((OSError, HTTPClientError)):
                await client.fetch(f"http://127.0.0.1:{port}/")
        finally:
            client.close()

    run(body)


# -- bad servers ---------------------------------------------------------------------------


async def _bad_server(script: Any) -> tuple[asyncio.AbstractServer, int]:
    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            await reader.readuntil(b"\r\n\r\n")
            await script(reader, writer)
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    return server, server.sockets[0].getsockname()[1]


async def _garbage(reader: Any, writer: Any) -> None:
    writer.write(b"THIS IS NOT HTTP\r\n\r\n")
    await writer.drain()


async def _truncated(reader: Any, writer: Any) -> None:
    writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nonly a few")
    await writer.drain()


async def _truncated_chunked(reader: Any, writer: Any) -> None:
    writer.write(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhel")
    await writer.drain()


async def _endless_head(reader: Any, writer: Any) -> None:
    writer.write(b"HTTP/1.1 200 OK\r\n")
    for i in range(10_000):
        writer.write(b"X-Filler-%d: %s\r\n" % (i, b"y" * 50))
        await writer.drain()


async def _reset(reader: Any, writer: Any) -> None:
    writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\npart")
    await writer.drain()
    sock = writer.get_extra_info("socket")
    import socket
    import struct

    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))


async def _huge(reader: Any, writer: Any) -> None:
    writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 5000000\r\n\r\n")
    for _ in range(50):
        writer.write(b"z" * 100_000)
        await writer.drain()


@pytest.mark.parametrize(
    "script",
    [_garbage, _truncated, _truncated_chunked, _endless_head, _reset],
    ids=["garbage", "truncated", "truncated-chunked", "endless-head", "reset"],
)
def test_bad_server_gives_599(run: Any, client_impl: Any, script: Any) -> None:
    async def body() -> None:
        server, port = await _bad_server(script)
        client = client_impl(force_instance=True)
        try:
            with pytest.raises(HTTPClientError) as caught:
                await client.fetch(f"http://127.0.0.1:{port}/", request_timeout=5)
            assert caught.value.code == 599
            assert str(caught.value)
        finally:
            client.close()
            server.close()

    run(body)


def test_body_over_max_body_size(run: Any, client_impl: Any) -> None:
    if "Simple" not in client_impl.__name__:
        pytest.skip("max_body_size is a simple-client option")

    async def body() -> None:
        server, port = await _bad_server(_huge)
        client = client_impl(force_instance=True, max_body_size=1_000_000)
        try:
            with pytest.raises(HTTPClientError) as caught:
                await client.fetch(f"http://127.0.0.1:{port}/", request_timeout=5)
            assert caught.value.code == 599
        finally:
            client.close()
            server.close()

    run(body)


# -- large bodies (the simple client reads these in place, past the codec) ------------------

_LARGE = bytes(range(256)) * 1200  # 307,200 bytes: over the in-place threshold


async def _large_twice(reader: Any, writer: Any) -> None:
    # Two complete large answers on one keep-alive connection, different bytes each.
    head = b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % len(_LARGE)
    writer.write(head + _LARGE)
    await writer.drain()
    await reader.readuntil(b"\r\n\r\n")
    writer.write(head + _LARGE[::-1])
    await writer.drain()


async def _large_truncated(reader: Any, writer: Any) -> None:
    writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % len(_LARGE))
    writer.write(_LARGE[:150_000])
    await writer.drain()


async def _large_stalled(reader: Any, writer: Any) -> None:
    writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % len(_LARGE))
    writer.write(_LARGE[:150_000])
    await writer.drain()
    # Never finishes: the client's timeout must end it (and close the connection,
    # which ends this read; bounded in case it does not).
    await asyncio.wait_for(reader.read(), 5)


def test_large_bodies_arrive_whole_and_reuse_the_connection(run: Any, client_impl: Any) -> None:
    async def body() -> None:
        server, port = await _bad_server(_large_twice)
        client = client_impl(force_instance=True)
        try:
            first = await client.fetch(f"http://127.0.0.1:{port}/", request_timeout=5)
            second = await client.fetch(f"http://127.0.0.1:{port}/", request_timeout=5)
            assert first.body == _LARGE
            assert second.body == _LARGE[::-1]
        finally:
            client.close()
            server.close()

    run(body)


@pytest.mark.parametrize("script", [_large_truncated, _large_stalled], ids=["closed", "stalled"])
def test_large_body_cut_short_gives_599(run: Any, client_impl: Any, script: Any) -> None:
    async def body() -> None:
        server, port = await _bad_server(script)
        client = client_impl(force_instance=True)
        try:
            with pytest.raises(HTTPClientError) as caught:
                await client.fetch(f"http://127.0.0.1:{port}/", request_timeout=1)
            assert caught.value.code == 599
            assert str(caught.value)
        finally:
            client.close()
            server.close()

    run(body)


# -- TLS -------------------------------------------------------------------------------------


def _tls_server_options(cert_files: dict[str, str], want_client: bool = False) -> Any:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert_files["server_cert"], cert_files["server_key"])
    if want_client:
        context.verify_mode = ssl.CERT_REQUIRED
        context.load_verify_locations(cert_files["client_cert"])
    return context


def test_tls_validate_cert(run: Any, client_impl: Any, cert_files: dict[str, str]) -> None:
    async def body() -> None:
        server, port = await serve(App(), ssl_options=_tls_server_options(cert_files))
        client = client_impl(force_instance=True)
        url = f"https://127.0.0.1:{port}/hello"
        try:
            response = await client.fetch(url, validate_cert=False)
            assert response.body == b"hello"
            response = await client.fetch(url, ca_certs=cert_files["server_cert"])
            assert response.body == b"hello"
            with pytest.raises((HTTPClientError, ssl.SSLError)):
                await client.fetch(url)
        finally:
            client.close()
            await stop(server)

    run(body)


def test_tls_client_certificate(run: Any, client_impl: Any, cert_files: dict[str, str]) -> None:
    async def body() -> None:
        options = _tls_server_options(cert_files, want_client=True)
        server, port = await serve(App(), ssl_options=options)
        client = client_impl(force_instance=True)
        url = f"https://127.0.0.1:{port}/hello"
        try:
            response = await client.fetch(
                url,
                ca_certs=cert_files["server_cert"],
                client_cert=cert_files["client_cert"],
                client_key=cert_files["client_key"],
            )
            assert response.body == b"hello"
        finally:
            client.close()
            await stop(server)

    run(body)


# -- the client object ----------------------------------------------------------------------


def test_one_shared_instance_per_loop(run: Any) -> None:
    async def body() -> None:
        first = AsyncHTTPClient()
        assert AsyncHTTPClient() is first
        private = AsyncHTTPClient(force_instance=True)
        assert private is not first
        private.close()
        first.close()
        assert AsyncHTTPClient() is not first
        AsyncHTTPClient().close()

    run(body)


def test_fetch_rejects_options_with_a_request_object(run: Any) -> None:
    async def body() -> None:
        client = AsyncHTTPClient(force_instance=True)
        try:
            with pytest.raises(ValueError):
                client.fetch(HTTPRequest("http://127.0.0.1/"), method="POST")
        finally:
            client.close()

    run(body)


def test_configure_by_dotted_name() -> None:
    saved = AsyncHTTPClient._save_configuration()
    try:
        AsyncHTTPClient.configure("squall.simple_httpclient.SimpleAsyncHTTPClient", max_clients=3)
        loop = asyncio.new_event_loop()
        try:

            async def make() -> Any:
                return AsyncHTTPClient(force_instance=True)

            client = loop.run_until_complete(make())
            assert type(client).__name__ == "SimpleAsyncHTTPClient"
            assert client.max_clients == 3
            client.close()
        finally:
            loop.close()
    finally:
        AsyncHTTPClient._restore_configuration(saved)


def test_request_defaults_and_properties() -> None:
    request = HTTPRequest("http://example.com/", body="text", headers={"A": "b"})
    assert request.body == b"text"
    assert request.headers["A"] == "b"
    assert request.connect_timeout is None and request.follow_redirects is None
    assert HTTPRequest("http://x/", use_gzip=False).decompress_response is False


# -- wrong Content-Length on a kept-alive connection -------------------------------------------


def _wrong_length(method: str, path: str) -> bytes:
    if path == "/longer":
        # Promises 10 bytes, sends 5, keeps the connection open.
        return b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nshort"
    if path == "/shorter":
        # Promises 2 bytes, sends 6: the 4 extra bytes must not be read as the next answer.
        return b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nokJUNK"
    return ok_answer(method, path)


def test_content_length_longer_than_body_times_out(run: Any, client_impl: Any) -> None:
    async def body() -> None:
        server = RawServer(_wrong_length)
        base = f"http://127.0.0.1:{await server.start()}"
        client = client_impl(force_instance=True)
        try:
            assert (await client.fetch(base + "/ok")).body == b"ok"
            with pytest.raises(HTTPClientError) as caught:
                await client.fetch(base + "/longer", request_timeout=0.3)
            assert caught.value.code == 599
            assert "imeout" in str(caught.value) or "timed out" in str(caught.value)
            # The half-read connection is not reused: the next request dials anew.
            assert (await client.fetch(base + "/ok")).body == b"ok"
            assert server.opened == 2
        finally:
            client.close()
            server.close()

    run(body)


def test_content_length_shorter_than_body_drops_the_connection(run: Any, client_impl: Any) -> None:
    async def body() -> None:
        server = RawServer(_wrong_length)
        base = f"http://127.0.0.1:{await server.start()}"
        client = client_impl(force_instance=True)
        try:
            assert (await client.fetch(base + "/ok")).body == b"ok"
            assert (await client.fetch(base + "/shorter")).body == b"ok"
            assert server.opened == 1
            for _ in range(2):
                assert (await client.fetch(base + "/ok")).body == b"ok"
            assert server.opened == 2
        finally:
            client.close()
            server.close()

    run(body)


# -- connection options ----------------------------------------------------------------------


def test_network_interface_sets_the_source_address(run: Any, client_impl: Any) -> None:
    async def body(client: Any, base: str, app: App) -> None:
        # The whole of 127.0.0.0/8 is loopback on Linux: bind the source to another address.
        await client.fetch(base + "/hello", network_interface="127.0.0.2")
        assert app.peers[-1] == "127.0.0.2"
        await client.fetch(base + "/hello")
        assert app.peers[-1] == "127.0.0.1"

    run(lambda: _with_app(client_impl, body))
