"""HTTP/2 in HTTPServer (``http2=True``), driven by real clients over 127.0.0.1.

curl (``--http2-prior-knowledge`` for h2c, ``--http2`` over TLS with ALPN),
httpx with ``http2=True``, nghttp / h2load from Debian's ``nghttp2-client``
and a squall.web Application that does not know which protocol it serves.
Without nghttp2-client the tests that need it skip, unless ``CI`` is set.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import ssl
import subprocess
from typing import Any

import pytest
from squall.httpserver import HTTPServer
from squall.httputil import HTTPServerRequest

from .conftest import LiveServer, answer

pytest.importorskip("h2")
web = pytest.importorskip("squall.web")

_CURL = shutil.which("curl")
_NGHTTP = shutil.which("nghttp")
_H2LOAD = shutil.which("h2load")
if (_NGHTTP is None or _H2LOAD is None) and os.environ.get("CI"):
    raise RuntimeError("CI is set but nghttp2-client is missing (apt-get install nghttp2-client)")
needs_nghttp = pytest.mark.skipif(_NGHTTP is None, reason="nghttp2-client is not installed")
needs_h2load = pytest.mark.skipif(_H2LOAD is None, reason="nghttp2-client is not installed")
needs_curl = pytest.mark.skipif(_CURL is None, reason="curl is not installed")


class Hello(web.RequestHandler):
    def get(self) -> None:
        self.set_cookie("seen", "yes")
        self.write(
            {
                "version": self.request.version,
                "protocol": self.request.protocol,
                "host": self.request.host,
                "cookie": self.get_cookie("flavour", ""),
                "ip": self.request.remote_ip,
            }
        )


class Echo(web.RequestHandler):
    def post(self) -> None:
        self.write(self.request.body)


class Boom(web.RequestHandler):
    def get(self) -> None:
        raise RuntimeError("deliberate failure")


class Big(web.RequestHandler):
    async def get(self) -> None:
        size = int(self.get_argument("n"))
        piece = b"x" * 65536
        sent = 0
        while sent < size:
            chunk = piece[: size - sent]
            self.write(chunk)
            sent += len(chunk)
            await self.flush()


class Flushed(web.RequestHandler):
    async def get(self) -> None:
        self.write("one,")
        await self.flush()
        self.write("two")


def make_app() -> Any:
    return web.Application(
        [("/", Hello), ("/echo", Echo), ("/boom", Boom), ("/big", Big), ("/flush", Flushed)]
    )


@pytest.fixture
def h2server(serve: Any) -> LiveServer:
    live: LiveServer = serve(make_app(), http2=True)
    return live


@pytest.fixture
def h2tls(serve: Any, cert_files: tuple[str, str]) -> LiveServer:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(*cert_files)
    live: LiveServer = serve(make_app(), http2=True, ssl_options=context)
    return live


def curl(*args: str) -> subprocess.CompletedProcess[str]:
    assert _CURL is not None
    return subprocess.run(
        [_CURL, "-sS", "--max-time", "10", *args],
        capture_output=True,
        text=True,
        timeout=20,
        check=False,
    )


@needs_curl
def test_curl_prior_knowledge(h2server: LiveServer) -> None:
    url = f"http://127.0.0.1:{h2server.port}/"
    done = curl(
        "--http2-prior-knowledge",
        "-H",
        "Cookie: flavour=plum",
        "-w",
        "\n%{http_version}",
        url,
    )
    body, _, version = done.stdout.rpartition("\n")
    assert version == "2", done.stderr
    assert '"version": "HTTP/2.0"' in body
    assert '"protocol": "http"' in body
    assert f'"host": "127.0.0.1:{h2server.port}"' in body
    assert '"cookie": "plum"' in body
    assert '"ip": "127.0.0.1"' in body


@needs_curl
def test_curl_tls_alpn(h2tls: LiveServer) -> None:
    url = f"https://127.0.0.1:{h2tls.port}/"
    done = curl("--http2", "-k", "-w", "\n%{http_version}", url)
    body, _, version = done.stdout.rpartition("\n")
    assert version == "2", done.stderr
    assert '"protocol": "https"' in body
    # A client that only speaks HTTP/1.1 still gets it on the same port.
    done = curl("--http1.1", "-k", "-w", "\n%{http_version}", url)
    body, _, version = done.stdout.rpartition("\n")
    assert version == "1.1"
    assert '"version": "HTTP/1.1"' in body


@needs_curl
def test_http1_still_served_on_h2c_port(h2server: LiveServer) -> None:
    done = curl("--http1.1", "-w", "\n%{http_version}", f"http://127.0.0.1:{h2server.port}/")
    body, _, version = done.stdout.rpartition("\n")
    assert version == "1.1"
    assert '"version": "HTTP/1.1"' in body


@needs_curl
def test_without_http2_the_preface_is_refused(serve: Any) -> None:
    live = serve(make_app())
    done = curl("--http2-prior-knowledge", f"http://127.0.0.1:{live.port}/")
    assert done.returncode != 0


def _httpx_run(port: int, scheme: str, job: Any) -> Any:
    httpx = pytest.importorskip("httpx")
    pytest.importorskip("h2")

    async def main() -> Any:
        async with httpx.AsyncClient(
            http2=True, http1=scheme == "https", verify=False, timeout=10.0
        ) as client:
            return await job(client, f"{scheme}://127.0.0.1:{port}")

    return asyncio.run(main())


def test_httpx_web_application(h2tls: LiveServer) -> None:
    async def job(client: Any, base: str) -> Any:
        hello = await client.get(base + "/", headers={"Cookie": "flavour=fig"})
        echo = await client.post(base + "/echo", content=b"a" * 200_000)
        missing = await client.get(base + "/nowhere")
        boom = await client.get(base + "/boom")
        flushed = await client.get(base + "/flush")
        return hello, echo, missing, boom, flushed

    hello, echo, missing, boom, flushed = _httpx_run(h2tls.port, "https", job)
    assert hello.http_version == "HTTP/2"
    assert hello.json()["version"] == "HTTP/2.0"
    assert hello.json()["cookie"] == "fig"
    assert hello.cookies.get("seen") == "yes"
    assert echo.status_code == 200 and echo.content == b"a" * 200_000
    assert missing.status_code == 404
    assert boom.status_code == 500
    assert flushed.text == "one,two"


def test_httpx_many_concurrent_streams(h2server: LiveServer) -> None:
    async def job(client: Any, base: str) -> Any:
        answers = await asyncio.gather(*[client.get(base + f"/?n={i}") for i in range(100)])
        return answers

    answers = _httpx_run(h2server.port, "http", job)
    assert len(answers) == 100
    assert {a.http_version for a in answers} == {"HTTP/2"}
    assert all(a.status_code == 200 for a in answers)


def test_large_response(h2server: LiveServer) -> None:
    async def job(client: Any, base: str) -> Any:
        return await client.get(base + "/big?n=3000000")

    big = _httpx_run(h2server.port, "http", job)
    assert big.status_code == 200
    assert len(big.content) == 3_000_000


def test_plain_callable(serve: Any) -> None:
    def handler(request: HTTPServerRequest) -> None:
        answer(
            request, f"{request.version} {request.method} {request.uri} {request.body!r}".encode()
        )

    live = serve(handler, http2=True)

    async def job(client: Any, base: str) -> Any:
        return await client.post(base + "/p?q=1", content=b"hi")

    got = _httpx_run(live.port, "http", job)
    assert got.text == "HTTP/2.0 POST /p?q=1 b'hi'"


def test_max_body_size_413(serve: Any) -> None:
    live = serve(make_app(), http2=True, max_body_size=1000)

    async def job(client: Any, base: str) -> Any:
        return await client.post(base + "/echo", content=b"z" * 5000)

    got = _httpx_run(live.port, "http", job)
    assert got.status_code == 413


@needs_nghttp
def test_nghttp(h2server: LiveServer) -> None:
    assert _NGHTTP is not None
    done = subprocess.run(
        [_NGHTTP, "-n", "-s", "-t", "10", f"http://127.0.0.1:{h2server.port}/"],
        capture_output=True,
        text=True,
        timeout=20,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "200" in done.stdout or "complete" in done.stdout


@needs_h2load
def test_h2load_hundred_streams(h2server: LiveServer) -> None:
    assert _H2LOAD is not None
    done = subprocess.run(
        [_H2LOAD, "-n", "1000", "-c", "1", "-m", "100", f"http://127.0.0.1:{h2server.port}/"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert "1000 succeeded" in done.stdout, done.stdout
    assert "0 failed" in done.stdout


def test_option_validation() -> None:
    with pytest.raises(ValueError):
        HTTPServer(make_app(), http2=True, http2_max_frame_size=100)
    with pytest.raises(ValueError):
        HTTPServer(make_app(), http2=True, http2_max_concurrent_streams=0)


@needs_curl
def test_uvloop_h2c_and_tls(serve: Any, cert_files: tuple[str, str]) -> None:
    plain = serve(make_app(), use_uvloop=True, http2=True)
    done = curl(
        "--http2-prior-knowledge", "-w", "\n%{http_version}", f"http://127.0.0.1:{plain.port}/"
    )
    assert done.stdout.rpartition("\n")[2] == "2", done.stderr
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(*cert_files)
    secure = serve(make_app(), use_uvloop=True, http2=True, ssl_options=context)
    done = curl("--http2", "-k", "-w", "\n%{http_version}", f"https://127.0.0.1:{secure.port}/")
    body, _, version = done.stdout.rpartition("\n")
    assert version == "2", done.stderr
    assert '"protocol": "https"' in body


@needs_curl
def test_curl_post_with_expect_continue(h2server: LiveServer, tmp_path: Any) -> None:
    payload = tmp_path / "body.bin"
    payload.write_bytes(b"q" * 300_000)
    done = curl(
        "--http2-prior-knowledge",
        "-H",
        "Expect: 100-continue",
        "--expect100-timeout",
        "8",
        "--data-binary",
        f"@{payload}",
        "-w",
        "\n%{http_version} %{time_total}",
        f"http://127.0.0.1:{h2server.port}/echo",
    )
    body, _, tail = done.stdout.rpartition("\n")
    version, _, seconds = tail.partition(" ")
    assert version == "2", done.stderr
    assert body == "q" * 300_000
    assert float(seconds) < 5  # the 100 came: curl did not sit out its expect timeout
