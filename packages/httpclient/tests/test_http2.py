"""HTTP/2 in SimpleAsyncHTTPClient: real peers (nginx, hypercorn) and a scripted bad peer.

nginx serves h2 over TLS (ALPN) and h2c with prior knowledge; hypercorn runs
a small ASGI application over both; :class:`Peer` is an ``h2``-driven server
written here whose behaviour each test scripts (resets, GOAWAY, garbage,
dropped connections, a small concurrency limit). Every wait is bounded by
the ``run`` fixture (10 s).
"""

from __future__ import annotations

import asyncio
import gzip
import importlib.util
import os
import socket
import ssl
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from squall.testing._certs import _write_self_signed

pytest.importorskip("h2")
import h2.config  # noqa: E402
import h2.connection  # noqa: E402
import h2.errors  # noqa: E402
import h2.events  # noqa: E402
import h2.settings  # noqa: E402
from squall.httpclient import AsyncHTTPClient, HTTPClientError, HTTPRequest  # noqa: E402
from squall.simple_httpclient import (  # noqa: E402
    HTTPStreamClosedError,
    HTTPTimeoutError,
    SimpleAsyncHTTPClient,
)

Runner = Callable[[Callable[[], Any]], Any]
HELLO = b"Hello, world!"
BIG = bytes(range(256)) * 4096 * 3  # 3 MiB: more than the client's stream window
TEXT = b"squall speaks h2. " * 2000


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


def _client(**options: Any) -> SimpleAsyncHTTPClient:
    return SimpleAsyncHTTPClient(force_instance=True, **options)  # type: ignore[return-value]


def _version(response: Any) -> str:
    return str(getattr(response, "http_version", "HTTP/1.1"))


# -- nginx ---------------------------------------------------------------------


@pytest.fixture(scope="module")
def tls_files(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, str]:
    pytest.importorskip("cryptography.x509")
    return _write_self_signed(tmp_path_factory.mktemp("h2-tls"), "127.0.0.1")


@pytest.fixture(scope="module")
def nginx(tmp_path_factory: pytest.TempPathFactory, tls_files: tuple[str, str]) -> Iterator[Any]:
    if nginx_helper.NGINX is None:
        if os.environ.get("CI"):
            pytest.fail("CI needs nginx (.ci/run installs it)")
        pytest.skip("nginx is not installed (CI installs it)")
    server = nginx_helper.Nginx(
        tmp_path_factory.mktemp("nginx-h2"),
        files={"hello.txt": HELLO, "big.bin": BIG, "text.txt": TEXT},
        tls=tls_files,
        http2=True,
    )
    with server:
        yield server


def _https(server: Any, path: str) -> str:
    return f"https://127.0.0.1:{server.tls_port}{path}"


def test_nginx_get_over_h2(nginx: Any, run: Runner) -> None:
    seen: list[str] = []

    async def body() -> None:
        client = _client()
        response = await client.fetch(
            _https(nginx, "/hello.txt"), validate_cert=False, header_callback=seen.append
        )
        assert response.code == 200 and response.body == HELLO
        assert response.reason == "OK"
        assert _version(response) == "HTTP/2"
        assert response.headers["Content-Type"] == "text/plain"
        assert not any(name.startswith(":") for name, _ in response.headers.get_all())
        assert response.request_time is not None and response.request_time >= 0
        assert set(response.time_info) >= {"starttransfer", "total"}
        client.close()

    run(body)
    assert seen[0] == "HTTP/2 200 OK\r\n" and seen[-1] == "\r\n"
    assert "Content-Type: text/plain\r\n" in seen


def test_nginx_post_body(nginx: Any, run: Runner) -> None:
    async def body() -> None:
        client = _client()
        response = await client.fetch(
            _https(nginx, "/method"), method="POST", body=b"x" * 100000, validate_cert=False
        )
        assert response.body == b"POST 100000"
        assert _version(response) == "HTTP/2"
        client.close()

    run(body)


def test_nginx_hundred_fetches_share_one_connection(nginx: Any, run: Runner) -> None:
    async def body() -> None:
        client = _client(max_clients=100)
        responses = await asyncio.gather(
            *(client.fetch(_https(nginx, "/conn"), validate_cert=False) for _ in range(100))
        )
        serials = {r.body.split()[0] for r in responses}
        assert len(serials) == 1, serials
        counts = sorted(int(r.body.split()[1]) for r in responses)
        assert counts == list(range(1, 101))
        assert all(_version(r) == "HTTP/2" for r in responses)
        client.close()

    run(body)


def test_nginx_max_clients_bounds_streams(nginx: Any, run: Runner) -> None:
    async def body() -> None:
        client = _client(max_clients=3)
        responses = await asyncio.gather(
            *(client.fetch(_https(nginx, "/conn"), validate_cert=False) for _ in range(12))
        )
        assert len({r.body.split()[0] for r in responses}) == 1
        assert all(r.code == 200 for r in responses)
        client.close()

    run(body)


def test_nginx_large_download_streamed(nginx: Any, run: Runner) -> None:
    pieces: list[bytes] = []

    async def body() -> None:
        client = _client()
        response = await client.fetch(
            _https(nginx, "/big.bin"), validate_cert=False, streaming_callback=pieces.append
        )
        assert response.code == 200 and response.body == b""
        buffered = await client.fetch(_https(nginx, "/big.bin"), validate_cert=False)
        assert buffered.body == BIG
        client.close()

    run(body)
    assert b"".join(pieces) == BIG and len(pieces) > 1


@pytest.mark.parametrize("code", [301, 302, 303, 307, 308])
def test_nginx_redirects(nginx: Any, run: Runner, code: int) -> None:
    async def body() -> None:
        client = _client()
        response = await client.fetch(_https(nginx, f"/r{code}"), validate_cert=False)
        assert response.code == 200 and response.body.startswith(b"GET")
        assert response.effective_url == _https(nginx, "/method")
        assert _version(response) == "HTTP/2"
        limited = await client.fetch(
            _https(nginx, "/loop"), validate_cert=False, max_redirects=2, raise_error=False
        )
        assert limited.code == 302 and isinstance(limited.error, HTTPClientError)
        client.close()

    run(body)


def test_nginx_gzip(nginx: Any, run: Runner) -> None:
    async def body() -> None:
        client = _client()
        response = await client.fetch(_https(nginx, "/text.txt"), validate_cert=False)
        assert response.body == TEXT
        assert response.headers.get("X-Consumed-Content-Encoding") == "gzip"
        raw = await client.fetch(
            _https(nginx, "/text.txt"),
            validate_cert=False,
            decompress_response=False,
            headers={"Accept-Encoding": "gzip"},
        )
        assert gzip.decompress(raw.body) == TEXT
        client.close()

    run(body)


def test_nginx_h2c_prior_knowledge(nginx: Any, run: Runner) -> None:
    async def body() -> None:
        client = _client()
        url = f"http://127.0.0.1:{nginx.h2c_port}/hello.txt"
        response = await client.fetch(url, http2=True)
        assert response.body == HELLO and _version(response) == "HTTP/2"
        client.close()

    run(body)


def test_http2_false_and_client_default_keep_http1(nginx: Any, run: Runner) -> None:
    async def body() -> None:
        client = _client()
        response = await client.fetch(_https(nginx, "/hello.txt"), validate_cert=False, http2=False)
        assert response.body == HELLO and _version(response) == "HTTP/1.1"
        client.close()
        configured = _client(defaults={"http2": False, "validate_cert": False})
        response = await configured.fetch(_https(nginx, "/hello.txt"))
        assert _version(response) == "HTTP/1.1"
        # A request's own value wins over the client's default.
        response = await configured.fetch(_https(nginx, "/hello.txt"), http2="auto")
        assert _version(response) == "HTTP/2"
        configured.close()

    run(body)


def test_http2_required_on_plain_http1_port(nginx: Any, run: Runner) -> None:
    async def body() -> None:
        client = _client()
        # h2c prior knowledge to a server that speaks HTTP/1.1 only: a clean 599.
        response = await client.fetch(
            nginx.url("/hello.txt"), http2=True, request_timeout=3, raise_error=False
        )
        assert response.code == 599 and isinstance(response.error, HTTPClientError)
        client.close()

    run(body)


async def _http1_tls_server(
    tls_files: tuple[str, str], tasks: set[asyncio.Task[Any]]
) -> tuple[asyncio.AbstractServer, str]:
    """A TLS server whose ALPN offers only http/1.1, answering every request with "h1"."""
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(*tls_files)
    context.set_alpn_protocols(["http/1.1"])

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        tasks.add(task)
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                if not head:
                    return
                writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nh1")
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()

    server = await asyncio.start_server(serve, "127.0.0.1", 0, ssl=context)
    port = server.sockets[0].getsockname()[1]
    return server, f"https://127.0.0.1:{port}/"


def test_alpn_http1_answer(tls_files: tuple[str, str], run: Runner) -> None:
    async def body() -> None:
        tasks: set[asyncio.Task[Any]] = set()
        server, url = await _http1_tls_server(tls_files, tasks)
        client = _client()
        responses = await asyncio.gather(
            *(client.fetch(url, validate_cert=False) for _ in range(3))
        )
        assert [r.body for r in responses] == [b"h1"] * 3
        assert all(_version(r) == "HTTP/1.1" for r in responses)
        assert not client._h2 and client._h1_origins
        again = await client.fetch(url, validate_cert=False)
        assert again.body == b"h1"
        strict = _client()
        with pytest.raises(HTTPClientError, match="did not agree to HTTP/2"):
            await strict.fetch(url, validate_cert=False, http2=True)
        strict.close()
        client.close()
        server.close()
        await asyncio.wait(tasks, timeout=2)

    run(body)


# -- hypercorn -------------------------------------------------------------------

_ASGI_APP = """
import asyncio

async def app(scope, receive, send):
    if scope["type"] != "http":
        return
    size = 0
    while True:
        message = await receive()
        size += len(message.get("body", b""))
        if not message.get("more_body"):
            break
    if scope["path"] == "/slow":
        await asyncio.sleep(4)
    text = f"{scope['http_version']} {scope['method']} {size}".encode()
    await send({"type": "http.response.start", "status": 200,
                "headers": [(b"content-type", b"text/plain")]})
    await send({"type": "http.response.body", "body": text})
"""


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture(scope="module")
def hypercorn(
    tmp_path_factory: pytest.TempPathFactory, tls_files: tuple[str, str]
) -> Iterator[Any]:
    if importlib.util.find_spec("hypercorn") is None:
        pytest.skip("hypercorn is not installed (it is in the test dependency group)")
    folder = tmp_path_factory.mktemp("hypercorn")
    (folder / "h2app.py").write_text(_ASGI_APP)
    tls_port, plain_port = _free_port(), _free_port()
    cert, key = tls_files
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "hypercorn",
            "--bind",
            f"127.0.0.1:{tls_port}",
            "--insecure-bind",
            f"127.0.0.1:{plain_port}",
            "--certfile",
            cert,
            "--keyfile",
            key,
            "h2app:app",
        ],
        cwd=folder,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 15
        for port in (tls_port, plain_port):
            while True:
                try:
                    socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
                    break
                except OSError:
                    if process.poll() is not None or time.monotonic() > deadline:
                        pytest.fail("hypercorn did not start")
                    time.sleep(0.05)
        yield type("Hypercorn", (), {"tls_port": tls_port, "plain_port": plain_port})
    finally:
        process.terminate()
        try:
            process.wait(5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(5)


def test_hypercorn_h2_and_h2c(hypercorn: Any, run: Runner) -> None:
    async def body() -> None:
        client = _client()
        tls = await client.fetch(f"https://127.0.0.1:{hypercorn.tls_port}/", validate_cert=False)
        assert tls.body == b"2 GET 0"
        plain = await client.fetch(f"http://127.0.0.1:{hypercorn.plain_port}/", http2=True)
        assert plain.body == b"2 GET 0"
        old = await client.fetch(f"http://127.0.0.1:{hypercorn.plain_port}/")
        assert old.body == b"1.1 GET 0"
        client.close()

    run(body)


def test_hypercorn_request_bodies_wait_for_window(hypercorn: Any, run: Runner) -> None:
    async def produce(write: Callable[[bytes], Any]) -> None:
        for _ in range(8):
            await write(b"y" * 50000)

    async def body() -> None:
        client = _client()
        url = f"https://127.0.0.1:{hypercorn.tls_port}/"
        big = await client.fetch(url, method="PUT", body=b"z" * 1_000_000, validate_cert=False)
        assert big.body == b"2 PUT 1000000"
        streamed = await client.fetch(
            url, method="POST", body_producer=produce, validate_cert=False
        )
        assert streamed.body == b"2 POST 400000"
        client.close()

    run(body)


def test_hypercorn_slow_stream_does_not_block_others(hypercorn: Any, run: Runner) -> None:
    async def body() -> None:
        client = _client()
        base = f"https://127.0.0.1:{hypercorn.tls_port}"
        slow = asyncio.ensure_future(client.fetch(base + "/slow", validate_cert=False))
        fast = await asyncio.gather(
            *(client.fetch(f"{base}/f{i}", validate_cert=False) for i in range(5))
        )
        assert all(r.body == b"2 GET 0" for r in fast)
        assert not slow.done()
        assert len(client._h2) == 1
        slow.cancel()
        client.close()

    run(body)


def test_hypercorn_request_timeout_per_stream(hypercorn: Any, run: Runner) -> None:
    async def body() -> None:
        client = _client()
        base = f"https://127.0.0.1:{hypercorn.tls_port}"
        slow = client.fetch(base + "/slow", validate_cert=False, request_timeout=0.3)
        fast = client.fetch(base + "/", validate_cert=False)
        outcome = await asyncio.gather(slow, fast, return_exceptions=True)
        assert isinstance(outcome[0], HTTPTimeoutError)
        assert outcome[0].code == 599
        assert outcome[1].body == b"2 GET 0"  # type: ignore[union-attr]
        # The connection survives the reset of the timed-out stream.
        again = await client.fetch(base + "/", validate_cert=False)
        assert again.code == 200
        client.close()

    run(body)


# -- a scripted h2 peer ----------------------------------------------------------


class Peer:
    """An h2c server whose answer to each request is scripted by ``on_request``.

    ``on_request(peer, conn, stream_id, headers)`` runs for every complete
    request (headers and body); the default answers 200 with the path.
    """

    def __init__(
        self,
        on_request: Callable[[Peer, Any, int, dict[str, str]], None] | None = None,
        *,
        max_streams: int | None = None,
        preface: Callable[[Peer, asyncio.StreamWriter], None] | None = None,
    ) -> None:
        self.on_request = on_request or Peer.answer
        self.max_streams = max_streams
        self.preface = preface
        self.connections = 0
        self.requests: list[str] = []
        self.resets: list[int] = []
        self.goaways = 0
        self.open_now = 0
        self.open_most = 0
        self.held: list[tuple[Any, int]] = []
        self.writers: list[asyncio.StreamWriter] = []
        self.tasks: set[asyncio.Task[Any]] = set()
        self.fields: list[dict[str, str]] = []
        self._server: asyncio.AbstractServer | None = None

    async def start(self) -> str:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        port = self._server.sockets[0].getsockname()[1]
        return f"http://127.0.0.1:{port}"

    async def close(self) -> None:
        for writer in self.writers:
            writer.transport.abort()
        if self._server is not None:
            self._server.close()
        if self.tasks:
            await asyncio.wait(self.tasks, timeout=2)

    @staticmethod
    def answer(peer: Peer, conn: Any, sid: int, headers: dict[str, str]) -> None:
        body = headers[":path"].encode()
        conn.send_headers(sid, [(":status", "200"), ("content-length", str(len(body)))])
        conn.send_data(sid, body, end_stream=True)
        peer.open_now -= 1

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        self.writers.append(writer)
        task = asyncio.current_task()
        assert task is not None
        self.tasks.add(task)
        conn = h2.connection.H2Connection(h2.config.H2Configuration(client_side=False))
        if self.max_streams is not None:
            conn.local_settings = h2.settings.Settings(
                client=False,
                initial_values={h2.settings.SettingCodes.MAX_CONCURRENT_STREAMS: self.max_streams},
            )
        conn.initiate_connection()
        writer.write(conn.data_to_send())
        if self.preface is not None:
            self.preface(self, writer)
        heads: dict[int, dict[str, str]] = {}
        try:
            while True:
                data = await reader.read(65536)
                if not data:
                    return
                for event in conn.receive_data(data):
                    if isinstance(event, h2.events.RequestReceived):
                        heads[event.stream_id] = {
                            k.decode() if isinstance(k, bytes) else k: v.decode()
                            if isinstance(v, bytes)
                            else v
                            for k, v in event.headers
                        }
                        self.open_now += 1
                        self.open_most = max(self.open_most, self.open_now)
                    elif isinstance(event, h2.events.DataReceived):
                        conn.acknowledge_received_data(
                            event.flow_controlled_length, event.stream_id
                        )
                    elif isinstance(event, h2.events.StreamEnded):
                        fields = heads.pop(event.stream_id)
                        self.requests.append(fields[":path"])
                        self.fields.append(fields)
                        self.on_request(self, conn, event.stream_id, fields)
                    elif isinstance(event, h2.events.StreamReset):
                        self.resets.append(event.error_code)
                    elif isinstance(event, h2.events.ConnectionTerminated):
                        self.goaways += 1
                out = conn.data_to_send()
                if out:
                    writer.write(out)
                if writer.transport.is_closing():
                    return
        except (ConnectionError, h2.exceptions.ProtocolError):
            return
        finally:
            writer.transport.abort()


def _h2_fetch(client: SimpleAsyncHTTPClient, url: str, **options: Any) -> Any:
    options.setdefault("http2", True)
    options.setdefault("request_timeout", 5)
    options.setdefault("raise_error", False)
    return client.fetch(url, **options)


def test_peer_rst_stream_fails_that_fetch_only(run: Runner) -> None:
    def script(peer: Peer, conn: Any, sid: int, headers: dict[str, str]) -> None:
        if headers[":path"] == "/reset":
            conn.reset_stream(sid, h2.errors.ErrorCodes.INTERNAL_ERROR)
            peer.open_now -= 1
        else:
            Peer.answer(peer, conn, sid, headers)

    async def body() -> None:
        peer = Peer(script)
        base = await peer.start()
        client = _client()
        bad, good = await asyncio.gather(
            _h2_fetch(client, base + "/reset"), _h2_fetch(client, base + "/ok")
        )
        assert isinstance(bad.error, HTTPClientError) and bad.code == 599
        assert "reset" in str(bad.error) and "INTERNAL_ERROR" in str(bad.error)
        assert good.body == b"/ok"
        assert peer.connections == 1
        client.close()
        await peer.close()

    run(body)


def test_peer_refused_stream_is_retried(run: Runner) -> None:
    refused: list[int] = []

    def script(peer: Peer, conn: Any, sid: int, headers: dict[str, str]) -> None:
        if not refused:
            refused.append(sid)
            conn.reset_stream(sid, h2.errors.ErrorCodes.REFUSED_STREAM)
            peer.open_now -= 1
        else:
            Peer.answer(peer, conn, sid, headers)

    async def body() -> None:
        peer = Peer(script)
        base = await peer.start()
        client = _client()
        response = await _h2_fetch(client, base + "/again")
        assert response.code == 200 and response.body == b"/again"
        assert peer.requests == ["/again", "/again"]
        client.close()
        await peer.close()

    run(body)


def test_peer_goaway_mid_flight_retries_unseen_streams(run: Runner) -> None:
    def script(peer: Peer, conn: Any, sid: int, headers: dict[str, str]) -> None:
        if peer.connections > 1:
            Peer.answer(peer, conn, sid, headers)
            return
        peer.held.append((conn, sid))
        if len(peer.held) == 3:
            first_conn, first = peer.held[0]
            # Only the first stream will be answered here; the others were "never seen".
            first_conn.close_connection(last_stream_id=first)
            # h2 would refuse to send more after GOAWAY; a graceful server still finishes.
            first_conn.state_machine.state = h2.connection.ConnectionState.SERVER_OPEN
            Peer.answer(peer, first_conn, first, {":path": "/first"})

    async def body() -> None:
        peer = Peer(script)
        base = await peer.start()
        client = _client()
        fetches = [_h2_fetch(client, f"{base}/{i}") for i in range(3)]
        post = _h2_fetch(client, base + "/post", method="POST", body=b"p")
        responses = await asyncio.gather(*fetches)
        assert [r.code for r in responses] == [200, 200, 200], [str(r.error) for r in responses]
        assert responses[0].body == b"/first"
        assert {r.body for r in responses[1:]} == {b"/1", b"/2"}
        assert peer.connections == 2
        late = await post  # stream 7, unseen by the server, and POST is not idempotent
        assert isinstance(late.error, HTTPStreamClosedError) and "GOAWAY" in str(late.error)
        client.close()
        await peer.close()

    run(body)


def test_peer_goaway_fails_unseen_post(run: Runner) -> None:
    def script(peer: Peer, conn: Any, sid: int, headers: dict[str, str]) -> None:
        peer.held.append((conn, sid))
        if len(peer.held) == 2:
            conn.close_connection(last_stream_id=0)

    async def body() -> None:
        peer = Peer(script)
        base = await peer.start()
        client = _client()
        responses = await asyncio.gather(
            _h2_fetch(client, base + "/a", method="POST", body=b"1"),
            _h2_fetch(client, base + "/b", method="POST", body=b"2"),
        )
        for response in responses:
            assert isinstance(response.error, HTTPStreamClosedError)
            assert "GOAWAY" in str(response.error)
        assert peer.connections == 1  # not sent again: POST is not idempotent
        client.close()
        await peer.close()

    run(body)


def test_peer_malformed_frames(run: Runner) -> None:
    def garbage(peer: Peer, writer: asyncio.StreamWriter) -> None:
        # A DATA frame on stream 0 (a connection error), then noise.
        writer.write(b"\x00\x00\x04\x00\x00\x00\x00\x00\x00abcd" + b"\xff" * 64)

    async def body() -> None:
        peer = Peer(preface=garbage)
        base = await peer.start()
        client = _client()
        response = await _h2_fetch(client, base + "/x")
        assert response.code == 599
        assert "protocol error" in str(response.error)
        client.close()
        await peer.close()

    run(body)


def test_peer_connection_drop(run: Runner) -> None:
    def script(peer: Peer, conn: Any, sid: int, headers: dict[str, str]) -> None:
        for writer in peer.writers:
            writer.transport.abort()

    async def body() -> None:
        peer = Peer(script)
        base = await peer.start()
        client = _client()
        responses = await asyncio.gather(*(_h2_fetch(client, f"{base}/{i}") for i in range(3)))
        for response in responses:
            assert isinstance(response.error, HTTPStreamClosedError), response.error
        assert not client._h2  # the dead session is forgotten
        client.close()
        await peer.close()

    run(body)


def test_peer_concurrency_limit_queues_streams(run: Runner) -> None:
    async def body() -> None:
        peer = Peer(max_streams=2)
        base = await peer.start()
        client = _client(max_clients=20)
        responses = await asyncio.gather(*(_h2_fetch(client, f"{base}/{i}") for i in range(12)))
        assert [r.body for r in responses] == [f"/{i}".encode() for i in range(12)]
        assert peer.open_most <= 2
        assert peer.connections == 1
        client.close()
        await peer.close()

    run(body)


def test_peer_timeout_resets_stream_and_close_says_goaway(run: Runner) -> None:
    def script(peer: Peer, conn: Any, sid: int, headers: dict[str, str]) -> None:
        if headers[":path"] != "/hang":
            Peer.answer(peer, conn, sid, headers)

    async def body() -> None:
        peer = Peer(script)
        base = await peer.start()
        client = _client()
        hung, fine = await asyncio.gather(
            _h2_fetch(client, base + "/hang", request_timeout=0.3),
            _h2_fetch(client, base + "/fine"),
        )
        assert isinstance(hung.error, HTTPTimeoutError) and fine.code == 200
        for _ in range(100):
            if peer.resets:
                break
            await asyncio.sleep(0.01)
        assert peer.resets == [h2.errors.ErrorCodes.CANCEL]
        client.close()
        for _ in range(100):
            if peer.goaways:
                break
            await asyncio.sleep(0.01)
        assert peer.goaways == 1
        await peer.close()

    run(body)


def test_http2_option_is_checked(run: Runner) -> None:
    async def body() -> None:
        client = _client()
        with pytest.raises(ValueError, match="http2"):
            await client.fetch("http://127.0.0.1:1/", http2="yes")
        with pytest.raises(ValueError, match="proxy"):
            await client.fetch("https://127.0.0.1:1/", http2=True, proxy_host="127.0.0.1")
        client.close()

    run(body)


def test_client_default_reaches_requests() -> None:
    from squall.httpclient._request import _resolved

    request = HTTPRequest("https://example.com/")
    assert request.http2 is None
    assert _resolved(request, {"http2": False}).http2 is False
    assert _resolved(HTTPRequest("https://example.com/", http2=True), {"http2": False}).http2


def test_configure_defaults_http2(nginx: Any, run: Runner) -> None:
    saved = AsyncHTTPClient._save_configuration()
    try:
        AsyncHTTPClient.configure(None, defaults={"http2": False, "validate_cert": False})

        async def body() -> None:
            client = AsyncHTTPClient(force_instance=True)
            response = await client.fetch(_https(nginx, "/hello.txt"))
            assert response.body == HELLO and _version(response) == "HTTP/1.1"
            client.close()

        run(body)
    finally:
        AsyncHTTPClient._restore_configuration(saved)


def test_without_h2_everything_is_http1(
    nginx: Any, run: Runner, monkeypatch: pytest.MonkeyPatch
) -> None:
    from squall.simple_httpclient import _h2

    monkeypatch.setattr(_h2, "_HAVE_H2", False)

    async def body() -> None:
        client = _client()
        response = await client.fetch(_https(nginx, "/hello.txt"), validate_cert=False)
        assert response.body == HELLO and _version(response) == "HTTP/1.1"
        with pytest.raises(ValueError, match="needs the h2 package"):
            await client.fetch(_https(nginx, "/hello.txt"), validate_cert=False, http2=True)
        assert not client._h2
        client.close()

    run(body)


def test_nginx_head_has_no_body(nginx: Any, run: Runner) -> None:
    async def body() -> None:
        client = _client()
        response = await client.fetch(_https(nginx, "/big.bin"), method="HEAD", validate_cert=False)
        assert response.code == 200 and response.body == b""
        assert response.headers["Content-Length"] == str(len(BIG))
        assert _version(response) == "HTTP/2"
        client.close()

    run(body)


def test_peer_idle_session_closes(run: Runner, monkeypatch: pytest.MonkeyPatch) -> None:
    from squall.simple_httpclient import _h2

    monkeypatch.setattr(_h2, "_QUIET_SECONDS", 0.05)

    async def body() -> None:
        peer = Peer()
        base = await peer.start()
        client = _client()
        first = await _h2_fetch(client, base + "/one")
        assert first.code == 200 and len(client._h2) == 1
        for _ in range(200):
            if peer.goaways:
                break
            await asyncio.sleep(0.01)
        assert peer.goaways == 1 and not client._h2
        second = await _h2_fetch(client, base + "/two")  # a new connection
        assert second.body == b"/two" and peer.connections == 2
        client.close()
        await peer.close()

    run(body)


def test_nginx_body_limits(nginx: Any, run: Runner) -> None:
    async def body() -> None:
        client = _client(max_buffer_size=100000)
        response = await client.fetch(
            _https(nginx, "/big.bin"), validate_cert=False, raise_error=False
        )
        assert response.code == 599 and "larger than 100000 bytes" in str(response.error)
        # Streaming is not bounded by max_buffer_size, and the connection is still good.
        seen: list[int] = []
        streamed = await client.fetch(
            _https(nginx, "/big.bin"),
            validate_cert=False,
            streaming_callback=lambda piece: seen.append(len(piece)),
        )
        assert streamed.code == 200 and sum(seen) == len(BIG)
        client.close()

    run(body)


def test_peer_streaming_callback_error_fails_only_its_fetch(run: Runner) -> None:
    def broken(piece: bytes) -> None:
        raise RuntimeError("callback broke")

    async def body() -> None:
        peer = Peer()
        base = await peer.start()
        client = _client()
        bad, good = await asyncio.gather(
            _h2_fetch(client, base + "/bad", streaming_callback=broken),
            _h2_fetch(client, base + "/good"),
            return_exceptions=True,
        )
        assert isinstance(bad, RuntimeError) and str(bad) == "callback broke"
        assert good.body == b"/good"
        assert peer.connections == 1
        client.close()
        await peer.close()

    run(body)


def test_peer_sees_http2_header_block(run: Runner) -> None:
    async def body() -> None:
        peer = Peer()
        base = await peer.start()
        client = _client()
        headers = {"X-Token": "abc", "Connection": "keep-alive", "Host": "example.test"}
        response = await _h2_fetch(client, base + "/p?q=1", headers=headers, user_agent="ua/1")
        assert response.body == b"/p?q=1"
        (fields,) = peer.fields
        assert fields[":method"] == "GET" and fields[":scheme"] == "http"
        assert fields[":authority"] == "example.test" and fields[":path"] == "/p?q=1"
        assert fields["x-token"] == "abc" and fields["user-agent"] == "ua/1"
        assert "connection" not in fields and "host" not in fields
        client.close()
        await peer.close()

    run(body)


def test_tls_handshake_that_never_ends_times_out(run: Runner) -> None:
    async def body() -> None:
        held: list[asyncio.StreamWriter] = []

        async def mute(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            held.append(writer)

        server = await asyncio.start_server(mute, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        client = _client()
        with pytest.raises(HTTPTimeoutError, match="connecting"):
            await client.fetch(f"https://127.0.0.1:{port}/", connect_timeout=0.3)
        assert not client._h2
        client.close()
        for writer in held:
            writer.transport.abort()
        server.close()

    run(body)
