"""CurlAsyncHTTPClient, plus both clients against a real nginx.

The first half pins what is particular to the curl client (digest auth,
``prepare_curl_callback``, ``time_info`` from libcurl's timers, CurlError's
errno and message, queueing under ``max_clients``). The second half runs the
same checks for the pure-Python and the curl client against nginx: redirects,
gzip, a 1 MiB download, TLS with a self-signed certificate, keep-alive and a
forward proxy.
"""

from __future__ import annotations

import asyncio
import hashlib
import importlib.util
import os
import re
import socket
import sys
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from squall.testing._certs import _write_self_signed

pycurl = pytest.importorskip("pycurl")

from squall.curl_httpclient import CurlAsyncHTTPClient, CurlError  # noqa: E402
from squall.httpclient import AsyncHTTPClient, HTTPClientError, HTTPRequest  # noqa: E402
from squall.httputil import HTTPHeaders, HTTPServerRequest, ResponseStartLine  # noqa: E402


def _load_nginx_helper() -> Any:
    name = "squall_httpclient_tests_nginx"
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, Path(__file__).with_name("nginx.py"))
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    return sys.modules[name]


nginx_helper = _load_nginx_helper()
# Skipped where nginx is missing, except under CI (which installs it): there
# the tests run and fail.
needs_nginx = pytest.mark.skipif(
    nginx_helper.NGINX is None and not os.environ.get("CI"),
    reason="nginx is not installed (CI installs it)",
)

HELLO = b"Hello, world!"
BIG = bytes(range(256)) * 4096  # 1 MiB, not compressible to nothing
TIMEOUT = 10


def run(factory: Callable[[], Awaitable[Any]]) -> Any:
    return asyncio.run(asyncio.wait_for(factory(), TIMEOUT * 2))


def _simple_class() -> type[AsyncHTTPClient]:
    module = pytest.importorskip("squall.simple_httpclient")
    cls = getattr(module, "SimpleAsyncHTTPClient", None)
    if cls is None:
        pytest.skip("SimpleAsyncHTTPClient is not available yet")
    return cls  # type: ignore[no-any-return]


@pytest.fixture(params=["simple", "curl"])
def client_class(request: pytest.FixtureRequest) -> type[AsyncHTTPClient]:
    return CurlAsyncHTTPClient if request.param == "curl" else _simple_class()


# -- a squall server in the test's own loop ----------------------------------
def _reply(request: HTTPServerRequest, status: int, body: bytes, **headers: str) -> None:
    fields = HTTPHeaders({"Content-Length": str(len(body))})
    for name, value in headers.items():
        fields[name.replace("_", "-")] = value
    request.connection.write_headers(ResponseStartLine("HTTP/1.1", status, "X"), fields, body)
    request.connection.finish()


async def _serve(handler: Callable[[HTTPServerRequest], None]) -> tuple[Any, int]:
    httpserver = pytest.importorskip("squall.httpserver")
    from squall.netutil import bind_sockets

    server = httpserver.HTTPServer(handler)
    sockets = bind_sockets(0, "127.0.0.1")
    server.add_sockets(sockets)
    return server, sockets[0].getsockname()[1]


REALM, NONCE, USER, PASSWORD = "squall", "n0nce-1", "ann", "s3cret"


def _md5(text: str) -> str:
    return hashlib.md5(text.encode()).hexdigest()


def digest_handler(request: HTTPServerRequest) -> None:
    """RFC 7616 digest (MD5, qop=auth) with a fixed nonce; answers who logged in."""
    header = request.headers.get("Authorization", "")
    if not header.startswith("Digest "):
        challenge = f'Digest realm="{REALM}", nonce="{NONCE}", qop="auth", opaque="o"'
        _reply(request, 401, b"who are you", WWW_Authenticate=challenge)
        return
    fields = dict(re.findall(r'(\w+)="?([^",]*)"?', header[7:]))
    ha1 = _md5(f"{fields['username']}:{REALM}:{PASSWORD}")
    ha2 = _md5(f"{request.method}:{fields['uri']}")
    expected = _md5(f"{ha1}:{NONCE}:{fields['nc']}:{fields['cnonce']}:auth:{ha2}")
    if fields.get("response") != expected or fields["username"] != USER:
        _reply(request, 403, b"wrong")
        return
    _reply(request, 200, f"hello {fields['username']}".encode())


def echo_handler(request: HTTPServerRequest) -> None:
    agent = request.headers.get("User-Agent", "")
    expect = request.headers.get("Expect", "-")
    _reply(request, 200, f"{request.method}|{agent}|{expect}|{len(request.body)}".encode())


def curl_client(**kwargs: Any) -> CurlAsyncHTTPClient:
    return CurlAsyncHTTPClient(force_instance=True, **kwargs)  # type: ignore[no-any-return]


def test_digest_auth_logs_in_and_wrong_password_is_refused() -> None:
    async def main() -> tuple[Any, ...]:
        server, port = await _serve(digest_handler)
        client = curl_client()
        try:
            url = f"http://127.0.0.1:{port}/secret?x=1"
            good = await client.fetch(
                url, auth_username=USER, auth_password=PASSWORD, auth_mode="digest"
            )
            bad = await client.fetch(
                url,
                auth_username=USER,
                auth_password="nope",
                auth_mode="digest",
                raise_error=False,
            )
            return good.code, good.body, bad.code
        finally:
            client.close()
            server.stop()

    assert run(main) == (200, b"hello ann", 403)


def test_unknown_auth_mode_is_a_value_error() -> None:
    async def main() -> None:
        client = curl_client()
        try:
            with pytest.raises(ValueError, match="auth_mode"):
                await client.fetch("http://127.0.0.1:9/", auth_username="a", auth_mode="kerberos")
        finally:
            client.close()

    run(main)


def test_prepare_curl_callback_sees_the_handle_last() -> None:
    seen: list[Any] = []

    def prepare(curl: Any) -> None:
        seen.append(curl)
        curl.setopt(pycurl.USERAGENT, "set-by-callback")

    async def main() -> bytes:
        server, port = await _serve(echo_handler)
        client = curl_client()
        try:
            response = await client.fetch(
                f"http://127.0.0.1:{port}/", user_agent="ignored", prepare_curl_callback=prepare
            )
            return response.body
        finally:
            client.close()
            server.stop()

    assert run(main) == b"GET|set-by-callback|-|0"
    assert len(seen) == 1 and isinstance(seen[0], pycurl.Curl)


def test_user_agent_and_expect_100_continue_are_sent() -> None:
    async def main() -> tuple[bytes, bytes]:
        server, port = await _serve(echo_handler)
        client = curl_client()
        try:
            url = f"http://127.0.0.1:{port}/"
            plain = await client.fetch(url, method="PUT", body=b"abc", user_agent="agent/1")
            waiting = await client.fetch(url, method="PUT", body=b"abcd", expect_100_continue=True)
            return plain.body, waiting.body
        finally:
            client.close()
            server.stop()

    plain, waiting = run(main)
    assert plain == b"PUT|agent/1|-|3"
    assert waiting.endswith(b"|100-continue|4")


def test_time_info_holds_curls_timers_in_order() -> None:
    async def main() -> dict[str, float]:
        server, port = await _serve(echo_handler)
        client = curl_client()
        try:
            response = await client.fetch(f"http://127.0.0.1:{port}/")
            assert response.request_time is not None and response.request_time >= 0
            assert response.start_time is not None
            return response.time_info
        finally:
            client.close()
            server.stop()

    info = run(main)
    expected = {"queue", "namelookup", "connect", "appconnect", "pretransfer"}
    assert expected | {"starttransfer", "total", "redirect"} <= set(info)
    assert info["queue"] >= 0
    assert info["connect"] <= info["pretransfer"] <= info["starttransfer"] <= info["total"]


def test_refused_connection_is_curl_error_599_with_curls_message() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]

    async def main() -> CurlError:
        client = curl_client()
        try:
            with pytest.raises(CurlError) as caught:
                await client.fetch(f"http://127.0.0.1:{port}/")
            return caught.value
        finally:
            client.close()

    error = run(main)
    assert isinstance(error, HTTPClientError)
    assert error.code == 599 and error.errno == pycurl.E_COULDNT_CONNECT
    assert "connect" in str(error).lower()


def test_request_timeout_against_a_silent_server() -> None:
    async def main() -> CurlError:
        accepted: list[asyncio.StreamWriter] = []

        async def silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            accepted.append(writer)

        server = await asyncio.start_server(silent, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        client = curl_client()
        try:
            with pytest.raises(CurlError) as caught:
                await client.fetch(f"http://127.0.0.1:{port}/", request_timeout=0.2)
            return caught.value
        finally:
            client.close()
            for writer in accepted:
                writer.close()
            server.close()

    error = run(main)
    assert error.code == 599 and error.errno == pycurl.E_OPERATION_TIMEDOUT


def test_body_rules_and_ssl_options_are_value_errors() -> None:
    async def main() -> None:
        client = curl_client()
        try:
            with pytest.raises(ValueError, match="must not carry a body"):
                await client.fetch("http://127.0.0.1:9/", method="GET", body=b"x")
            with pytest.raises(ValueError, match="needs a body"):
                await client.fetch("http://127.0.0.1:9/", method="POST")
            with pytest.raises(ValueError, match="ssl_options"):
                await client.fetch("https://127.0.0.1:9/", ssl_options={})
        finally:
            client.close()

    run(main)


def test_configure_by_dotted_name_gives_the_curl_client() -> None:
    async def main() -> type[Any]:
        AsyncHTTPClient.configure("squall.curl_httpclient.CurlAsyncHTTPClient", max_clients=3)
        try:
            client = AsyncHTTPClient(force_instance=True)
            client.close()
            return type(client)
        finally:
            AsyncHTTPClient.configure(None)

    assert run(main) is CurlAsyncHTTPClient


# -- real nginx ---------------------------------------------------------------
@pytest.fixture(scope="module")
def tls_files(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, str]:
    pytest.importorskip("cryptography.x509")
    return _write_self_signed(tmp_path_factory.mktemp("nginx-tls"), "127.0.0.1")


@pytest.fixture(scope="module")
def nginx(tmp_path_factory: pytest.TempPathFactory, tls_files: tuple[str, str]) -> Iterator[Any]:
    if nginx_helper.NGINX is None:
        if os.environ.get("CI"):
            pytest.fail("CI needs nginx (.ci/run installs it)")
        pytest.skip("nginx is not installed (CI installs it)")
    server = nginx_helper.Nginx(
        tmp_path_factory.mktemp("nginx"),
        files={"hello.txt": HELLO, "big.bin": BIG, "page.txt": b"squall " * 200},
        tls=tls_files,
        forward_proxy=True,
        proxy_credentials=("proxyuser", "proxypass"),
    )
    with server:
        yield server


def fetch_all(
    client_class: type[AsyncHTTPClient], *requests: HTTPRequest | str, **kwargs: Any
) -> list[Any]:
    """Fetch each request in turn on one private client; errors come back as values."""

    async def main() -> list[Any]:
        client = client_class(force_instance=True)
        results: list[Any] = []
        try:
            for request in requests:
                try:
                    results.append(await client.fetch(request, **kwargs))
                except Exception as error:  # noqa: BLE001 - the test inspects it
                    results.append(error)
        finally:
            client.close()
        return results

    return run(main)  # type: ignore[no-any-return]


@needs_nginx
@pytest.mark.parametrize(
    ("code", "method", "arrives_as"),
    [
        (301, "GET", b"GET "),
        (302, "GET", b"GET "),
        (303, "POST", b"GET "),
        (307, "POST", b"POST 4"),
        (308, "POST", b"POST 4"),
    ],
)
def test_nginx_redirects(
    nginx: Any, client_class: type[AsyncHTTPClient], code: int, method: str, arrives_as: bytes
) -> None:
    body = b"data" if method == "POST" else None
    (response,) = fetch_all(client_class, HTTPRequest(nginx.url(f"/r{code}"), method, body=body))
    assert response.code == 200
    assert response.body == arrives_as
    assert response.effective_url == nginx.url("/method")


@needs_nginx
def test_nginx_redirect_not_followed_and_loop(
    nginx: Any, client_class: type[AsyncHTTPClient]
) -> None:
    stay, loop = fetch_all(
        client_class,
        HTTPRequest(nginx.url("/r302"), follow_redirects=False),
        HTTPRequest(nginx.url("/loop"), max_redirects=3),
    )
    assert isinstance(stay, HTTPClientError) and stay.code == 302
    assert stay.response is not None and stay.response.headers["Location"].endswith("/method")
    assert isinstance(loop, HTTPClientError)
    assert loop.code in (302, 599)


@needs_nginx
def test_nginx_gzip(nginx: Any, client_class: type[AsyncHTTPClient]) -> None:
    unpacked, raw = fetch_all(
        client_class,
        HTTPRequest(nginx.url("/page.txt")),
        HTTPRequest(nginx.url("/page.txt"), decompress_response=False),
    )
    assert unpacked.body == b"squall " * 200
    assert unpacked.headers.get("X-Consumed-Content-Encoding") == "gzip"
    assert "Content-Encoding" not in unpacked.headers
    assert raw.body == b"squall " * 200  # not asked for gzip: nginx sends it plain
    assert "gzip" not in raw.headers.get("Content-Encoding", "")
    forced = fetch_all(
        client_class,
        HTTPRequest(
            nginx.url("/page.txt"),
            decompress_response=False,
            headers={"Accept-Encoding": "gzip"},
        ),
    )[0]
    assert forced.body[:2] == b"\x1f\x8b" and len(forced.body) < 200


@needs_nginx
def test_nginx_one_mib_download_and_streaming(
    nginx: Any, client_class: type[AsyncHTTPClient]
) -> None:
    chunks: list[bytes] = []
    whole, streamed = fetch_all(
        client_class,
        HTTPRequest(nginx.url("/big.bin")),
        HTTPRequest(nginx.url("/big.bin"), streaming_callback=chunks.append),
    )
    assert whole.body == BIG
    assert whole.headers["Content-Length"] == str(len(BIG))
    assert b"".join(chunks) == BIG and len(chunks) > 1
    assert streamed.body == b""


@needs_nginx
def test_nginx_header_callback(nginx: Any, client_class: type[AsyncHTTPClient]) -> None:
    lines: list[str] = []
    (response,) = fetch_all(
        client_class, HTTPRequest(nginx.url("/hello.txt"), header_callback=lines.append)
    )
    assert response.body == HELLO
    assert lines[0].startswith("HTTP/1.1 200")
    assert any(line.lower().startswith("content-type: text/plain") for line in lines)
    assert lines[-1] == "\r\n"


@needs_nginx
def test_nginx_tls_self_signed(
    nginx: Any, client_class: type[AsyncHTTPClient], tls_files: tuple[str, str]
) -> None:
    url = nginx.url("/hello.txt", tls=True)
    refused, unchecked, trusted = fetch_all(
        client_class,
        HTTPRequest(url),
        HTTPRequest(url, validate_cert=False),
        HTTPRequest(url, ca_certs=tls_files[0]),
    )
    assert isinstance(refused, Exception)
    if isinstance(refused, HTTPClientError):
        assert refused.code == 599
    assert unchecked.body == HELLO
    assert trusted.body == HELLO


@needs_nginx
def test_nginx_keep_alive_reuses_one_connection(
    nginx: Any, client_class: type[AsyncHTTPClient]
) -> None:
    responses = fetch_all(client_class, *[nginx.url("/conn")] * 4)
    pairs = [tuple(int(x) for x in r.body.split()) for r in responses]
    assert len({conn for conn, _ in pairs}) == 1
    assert [count for _, count in pairs] == [1, 2, 3, 4]


@needs_nginx
def test_nginx_forward_proxy_with_basic_auth(
    nginx: Any, client_class: type[AsyncHTTPClient]
) -> None:
    proxy = {"proxy_host": "127.0.0.1", "proxy_port": nginx.proxy_port}
    carried, refused = fetch_all(
        client_class,
        HTTPRequest(
            nginx.url("/hello.txt"),
            proxy_username="proxyuser",
            proxy_password="proxypass",
            **proxy,
        ),
        HTTPRequest(nginx.url("/hello.txt"), **proxy),
    )
    assert carried.body == HELLO
    assert carried.headers["X-Proxied-By"] == "nginx"
    assert isinstance(refused, HTTPClientError) and refused.code == 407


@needs_nginx
def test_curl_queues_past_max_clients_on_one_connection(nginx: Any) -> None:
    async def main() -> list[Any]:
        client = curl_client(max_clients=1)
        try:
            return list(await asyncio.gather(*[client.fetch(nginx.url("/conn")) for _ in range(5)]))
        finally:
            client.close()

    responses = run(main)
    assert len({r.body.split()[0] for r in responses}) == 1
    assert all(r.time_info["queue"] >= 0 for r in responses)


@needs_nginx
def test_curl_custom_method_and_body_producer(nginx: Any) -> None:
    async def produce(write: Callable[[bytes], Any]) -> None:
        for part in (b"ab", b"cde", b"f"):
            await write(part)

    async def main() -> tuple[bytes, bytes]:
        client = curl_client()
        try:
            custom = await client.fetch(
                nginx.url("/method"), method="PROPFIND", allow_nonstandard_methods=True
            )
            produced = await client.fetch(nginx.url("/method"), method="PUT", body_producer=produce)
            return custom.body, produced.body
        finally:
            client.close()

    assert run(main) == (b"PROPFIND ", b"PUT 6")
