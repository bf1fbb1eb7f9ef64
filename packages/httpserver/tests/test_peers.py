"""Real clients against the server: curl, http.client; start(2); the IOStream path; AsyncHTTPTestCase."""

from __future__ import annotations

import asyncio
import http.client
import os
import shutil
import signal
import ssl
import subprocess
import sys
import textwrap
import time
import types

import pytest
from squall.httpserver import HTTPServer
from squall.httputil import HTTPHeaders, ResponseStartLine
from squall.iostream import IOStream
from squall.testing import AsyncHTTPTestCase, bind_unused_port

CURL = shutil.which("curl")
needs_curl = pytest.mark.skipif(CURL is None, reason="curl is not installed (CI installs it)")


def streamer(request) -> None:
    """Echo method/path/body; a chunked answer for /chunked."""
    conn = request.connection
    if request.path == "/chunked":
        conn.write_headers(
            ResponseStartLine("HTTP/1.1", 200, "OK"), HTTPHeaders({"X-Kind": "chunked"})
        )
        for part in (b"alpha ", b"beta ", b"gamma"):
            conn.write(part)
        conn.finish()
        return
    body = b"%s %s %d %s" % (
        request.method.encode(),
        request.uri.encode(),
        len(request.body),
        request.body[:10],
    )
    conn.write_headers(
        ResponseStartLine("HTTP/1.1", 200, "OK"),
        HTTPHeaders({"Content-Length": str(len(body))}),
        body,
    )
    conn.finish()


def curl(*args: str) -> subprocess.CompletedProcess[bytes]:
    assert CURL is not None
    return subprocess.run([CURL, "-sS", "--max-time", "5", *args], capture_output=True, timeout=15)


@needs_curl
def test_curl_get_post_chunked_and_keep_alive(serve) -> None:
    live = serve(streamer)
    base = f"http://127.0.0.1:{live.port}"
    done = curl(f"{base}/hello?x=1")
    assert done.returncode == 0, done.stderr
    assert done.stdout == b"GET /hello?x=1 0 "
    done = curl("--data-binary", "payload", f"{base}/post")
    assert done.stdout == b"POST /post 7 payload"
    done = curl(f"{base}/chunked")
    assert done.stdout == b"alpha beta gamma"
    # Two URLs in one run: curl reuses the kept-alive connection.
    done = curl("-w", "%{num_connects}\n", f"{base}/a", f"{base}/b")
    assert done.stdout.splitlines() == [b"GET /a 0 1", b"GET /b 0 0"]


@needs_curl
def test_curl_large_upload_with_100_continue_and_chunked_upload(serve, tmp_path) -> None:
    live = serve(streamer)
    upload = tmp_path / "big.bin"
    upload.write_bytes(b"0123456789" * 200_000)  # 2 MB: curl asks for 100-continue
    done = curl("-v", "--data-binary", f"@{upload}", f"http://127.0.0.1:{live.port}/big")
    assert done.stdout == b"POST /big 2000000 0123456789"
    assert b"Expect: 100-continue" in done.stderr
    assert b"HTTP/1.1 100 Continue" in done.stderr
    done = curl(
        "-H",
        "Transfer-Encoding: chunked",
        "--data-binary",
        "chunky",
        f"http://127.0.0.1:{live.port}/c",
    )
    assert done.stdout == b"POST /c 6 chunky"


@needs_curl
def test_curl_over_tls(serve, cert_files) -> None:
    certfile, keyfile = cert_files
    live = serve(streamer, ssl_options={"certfile": certfile, "keyfile": keyfile})
    done = curl("--cacert", certfile, f"https://localhost:{live.port}/tls")
    assert done.returncode == 0, done.stderr
    assert done.stdout == b"GET /tls 0 "


@needs_curl
def test_curl_sees_the_refusal_of_a_bad_request(serve) -> None:
    live = serve(streamer, max_body_size=10)
    done = curl("-i", "--data-binary", "x" * 100, f"http://127.0.0.1:{live.port}/")
    assert done.stdout.startswith(b"HTTP/1.1 413")


def test_http_client_keep_alive_head_post_and_chunked(serve) -> None:
    live = serve(streamer)
    conn = http.client.HTTPConnection("127.0.0.1", live.port, timeout=5)
    try:
        conn.request("GET", "/one")
        response = conn.getresponse()
        assert (response.status, response.read()) == (200, b"GET /one 0 ")
        sock = conn.sock
        conn.request("POST", "/two", body=b"data")
        assert conn.getresponse().read() == b"POST /two 4 data"
        conn.request("HEAD", "/three")
        response = conn.getresponse()
        assert response.read() == b"" and response.getheader("Content-Length") == "14"
        conn.request("GET", "/chunked")
        response = conn.getresponse()
        assert response.getheader("Transfer-Encoding") == "chunked"
        assert response.read() == b"alpha beta gamma"
        conn.request("PUT", "/four", body=iter([b"a", b"bc"]), encode_chunked=True)
        assert conn.getresponse().read() == b"PUT /four 3 abc"
        assert conn.sock is sock  # every exchange on the one connection
    finally:
        conn.close()


def test_http_client_over_tls(serve, cert_files) -> None:
    certfile, keyfile = cert_files
    live = serve(streamer, ssl_options={"certfile": certfile, "keyfile": keyfile})
    context = ssl.create_default_context(cafile=certfile)
    conn = http.client.HTTPSConnection("localhost", live.port, timeout=5, context=context)
    try:
        conn.request("GET", "/secure")
        assert conn.getresponse().read() == b"GET /secure 0 "
    finally:
        conn.close()


WORKERS = textwrap.dedent(
    """
    import sys
    from squall.httpserver import HTTPServer
    from squall.httputil import HTTPHeaders, ResponseStartLine
    from squall.ioloop import IOLoop
    from squall.process import task_id

    def handle(request):
        body = str(task_id()).encode()
        request.connection.write_headers(
            ResponseStartLine("HTTP/1.1", 200, "OK"),
            HTTPHeaders({"Content-Length": str(len(body)), "Connection": "close"}),
            body,
        )
        request.connection.finish()

    server = HTTPServer(handle)
    server.bind(int(sys.argv[1]), "127.0.0.1")
    server.start(2)
    IOLoop.current().start()
    """
)


@pytest.mark.skipif(sys.platform == "win32", reason="fork")
def test_start_2_forks_two_workers_sharing_the_port(tmp_path) -> None:
    sock, port = bind_unused_port()
    sock.close()
    script = tmp_path / "workers.py"
    script.write_text(WORKERS)
    log = (tmp_path / "workers.log").open("wb")
    proc = subprocess.Popen(
        [sys.executable, str(script), str(port)],
        start_new_session=True,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    seen: set[bytes] = set()
    try:
        deadline = time.monotonic() + 20
        while seen != {b"0", b"1"} and time.monotonic() < deadline:
            try:
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
                conn.request("GET", "/")
                seen.add(conn.getresponse().read())
                conn.close()
            except OSError:
                time.sleep(0.05)  # the workers are still starting
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(10)
        log.close()
    assert seen == {b"0", b"1"}, (tmp_path / "workers.log").read_text()


def test_handle_stream_serves_an_iostream(serve, wire) -> None:
    """A stream handed over by TCPServer-style code goes through HTTP1ServerConnection."""
    live = serve(streamer, xheaders=True)

    async def hand_over() -> int:
        import socket as socketmodule

        from squall.netutil import add_accept_handler, bind_sockets

        listener = bind_sockets(0, "127.0.0.1")[0]

        def accepted(conn: socketmodule.socket, address: object) -> None:
            live.server.handle_stream(IOStream(conn), address)  # type: ignore[arg-type]

        add_accept_handler(listener, accepted)
        live.extra_listener = listener  # type: ignore[attr-defined]
        return int(listener.getsockname()[1])

    port = live.call(hand_over)
    raw = (
        b"POST /s HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabc"
        b"GET /t HTTP/1.1\r\nHost: x\r\nX-Real-Ip: 6.6.6.6\r\nConnection: close\r\n\r\n"
    )
    first, second = wire.parse(wire.exchange(port, raw), ["POST", "GET"])
    assert (first.body, second.body) == (b"POST /s 3 abc", b"GET /t 0 ")
    live.call(live.server.close_all_connections)
    live.extra_listener.close()  # type: ignore[attr-defined]


class _StandInClient:
    """squall.httpclient arrives with the next issue: a stand-in so setUp can run."""

    def __init__(self, *args: object, **kwargs: object) -> None:
        pass

    def close(self) -> None:
        pass


class ServedThroughHTTPServer(AsyncHTTPTestCase):
    def get_app(self):
        def app(request) -> None:
            body = b"served by " + type(self.http_server).__module__.encode()
            request.connection.write_headers(
                ResponseStartLine("HTTP/1.1", 200, "OK"),
                HTTPHeaders({"Content-Length": str(len(body))}),
                body,
            )
            request.connection.finish()

        return app

    def test_the_test_server_is_squalls_httpserver(self) -> None:
        assert isinstance(self.http_server, HTTPServer)

        async def get() -> bytes:
            reader, writer = await asyncio.open_connection("127.0.0.1", self.get_http_port())
            writer.write(b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            data = await reader.read()
            writer.close()
            return data

        data = self.io_loop.run_sync(get, timeout=5)
        assert data.endswith(b"served by squall.httpserver")


def test_async_http_test_case_serves_through_this_server(monkeypatch) -> None:
    try:
        import squall.httpclient  # noqa: F401
    except ImportError:
        stand_in = types.ModuleType("squall.httpclient")
        stand_in.AsyncHTTPClient = _StandInClient  # type: ignore[attr-defined]
        monkeypatch.setitem(sys.modules, "squall.httpclient", stand_in)
    import unittest

    result = unittest.TestResult()
    unittest.defaultTestLoader.loadTestsFromTestCase(ServedThroughHTTPServer).run(result)
    assert result.testsRun == 1
    assert not result.errors and not result.failures, result.errors + result.failures


ServedThroughHTTPServer.__test__ = False  # type: ignore[attr-defined]  # run by the test above
