"""websocket_connect and WebSocketClientConnection: requests, TLS, callbacks, errors."""

from __future__ import annotations

import asyncio
import socket
import ssl
import tempfile
from pathlib import Path
from typing import Any

import pytest
from squall.httpclient import HTTPClientError, HTTPRequest
from squall.simple_httpclient import HTTPTimeoutError
from squall.testing import AsyncHTTPSTestCase, AsyncHTTPTestCase, gen_test
from squall.web import Application, RequestHandler
from squall.websocket import (
    WebSocketClientConnection,
    WebSocketClosedError,
    WebSocketError,
    WebSocketHandler,
    websocket_connect,
)

TIMEOUT = 5.0


class Greeter(WebSocketHandler):
    def open(self) -> None:
        cookie = self.get_cookie("flavour")
        self.write_message(f"cookie={cookie} x={self.request.headers.get('X-Extra')}")

    def on_message(self, message: str | bytes) -> None:
        if message == "quit":
            self.close(1000, "as you wish")
        else:
            self.write_message(message, binary=isinstance(message, bytes))

    def on_ping(self, data: bytes) -> None:
        self.write_message(f"pinged {data.decode()}")


class Plain(RequestHandler):
    def get(self) -> None:
        self.write("not a websocket")


def app() -> Application:
    return Application([(r"/ws", Greeter), (r"/plain", Plain)])


class ClientTest(AsyncHTTPTestCase):
    def get_app(self) -> Application:
        return app()

    def url(self, path: str = "/ws") -> str:
        return f"ws://127.0.0.1:{self.get_http_port()}{path}"

    @gen_test
    async def test_url_string_and_read_message(self) -> None:
        future = websocket_connect(self.url())
        assert isinstance(future, asyncio.Future)
        conn = await future
        assert isinstance(conn, WebSocketClientConnection)
        assert await conn.read_message() == "cookie=None x=None"
        conn.write_message({"key": [1, 2]})
        assert await conn.read_message() == '{"key": [1, 2]}'
        conn.write_message("quit")
        assert await conn.read_message() is None
        assert (conn.close_code, conn.close_reason) == (1000, "as you wish")
        # Once closed, reads keep answering None and writes are refused.
        assert await conn.read_message() is None
        with pytest.raises(WebSocketClosedError):
            conn.write_message("x")

    @gen_test
    async def test_http_request_headers_and_cookies(self) -> None:
        request = HTTPRequest(self.url(), headers={"Cookie": "flavour=mint", "X-Extra": "yes"})
        conn = await websocket_connect(request)
        assert await conn.read_message() == "cookie=mint x=yes"
        conn.close()

    @gen_test
    async def test_read_message_callback(self) -> None:
        conn = await websocket_connect(self.url())
        got: list[Any] = []
        done = asyncio.Event()

        def callback(future: asyncio.Future[Any]) -> None:
            got.append(future.result())
            done.set()

        conn.read_message(callback)
        await asyncio.wait_for(done.wait(), TIMEOUT)
        assert got == ["cookie=None x=None"]
        conn.close()

    @gen_test
    async def test_on_message_callback_gets_messages_then_none(self) -> None:
        got: list[Any] = []
        conn = await websocket_connect(self.url(), on_message_callback=got.append)
        conn.write_message("quit")
        for _ in range(200):
            if got and got[-1] is None:
                break
            await asyncio.sleep(0.01)
        assert got == ["cookie=None x=None", None]

    @gen_test
    async def test_connect_callback(self) -> None:
        called: list[Any] = []
        future = websocket_connect(self.url(), callback=called.append)
        conn = await future
        await asyncio.sleep(0)
        assert called == [future]
        conn.close()

    @gen_test
    async def test_ping_from_client(self) -> None:
        conn = await websocket_connect(self.url())
        await conn.read_message()
        conn.ping(b"abc")
        assert await conn.read_message() == "pinged abc"
        conn.close()

    @gen_test
    async def test_client_ping_interval_keeps_pinging(self) -> None:
        conn = await websocket_connect(self.url(), ping_interval=0.05, ping_timeout=0.05)
        messages = [await conn.read_message() for _ in range(3)]
        assert messages[1:] == ["pinged ", "pinged "]
        conn.close()

    @gen_test
    async def test_non_websocket_answers(self) -> None:
        with pytest.raises(WebSocketError, match="Non-websocket response"):
            await websocket_connect(self.url("/plain"))
        with pytest.raises(HTTPClientError) as caught:
            await websocket_connect(self.url("/missing"))
        assert caught.value.code == 404

    @gen_test
    async def test_connection_refused(self) -> None:
        with socket.socket() as spare:
            spare.bind(("127.0.0.1", 0))
            port = spare.getsockname()[1]
        with pytest.raises(ConnectionRefusedError):
            await websocket_connect(f"ws://127.0.0.1:{port}/")

    @gen_test
    async def test_handshake_timeout(self) -> None:
        with socket.socket() as silent:
            silent.bind(("127.0.0.1", 0))
            silent.listen(1)
            port = silent.getsockname()[1]
            request = HTTPRequest(f"ws://127.0.0.1:{port}/", request_timeout=0.2)
            with pytest.raises(HTTPTimeoutError):
                await websocket_connect(request)

    @gen_test
    async def test_bad_scheme(self) -> None:
        with pytest.raises(ValueError, match="scheme"):
            await websocket_connect("ftp://127.0.0.1/")


class SecureClientTest(AsyncHTTPSTestCase):
    def get_app(self) -> Application:
        return app()

    def url(self) -> str:
        return f"wss://127.0.0.1:{self.get_http_port()}/ws"

    @gen_test
    async def test_wss_without_validation(self) -> None:
        conn = await websocket_connect(HTTPRequest(self.url(), validate_cert=False))
        assert await conn.read_message() == "cookie=None x=None"
        conn.write_message("over tls " * 1000)
        assert await conn.read_message() == "over tls " * 1000
        conn.close()

    @gen_test
    async def test_wss_validates_by_default(self) -> None:
        with pytest.raises((ssl.SSLError, OSError)):
            await websocket_connect(self.url())

    @gen_test
    async def test_wss_ssl_options_context(self) -> None:
        context = ssl.create_default_context()
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
        conn = await websocket_connect(HTTPRequest(self.url(), ssl_options=context))
        assert await conn.read_message() == "cookie=None x=None"
        conn.close()


class ClientCertTest(AsyncHTTPSTestCase):
    """wss with ``ca_certs`` and a client certificate the server requires."""

    def get_app(self) -> Application:
        return app()

    def get_ssl_options(self) -> dict[str, Any]:
        from squall.testing._certs import _write_self_signed

        self._folder = tempfile.TemporaryDirectory()
        folder = Path(self._folder.name)
        self.server_cert, self.server_key = _write_self_signed(folder, "localhost")
        self.client_cert, self.client_key = _write_self_signed(folder, "client", "c.pem", "ck.pem")
        return {
            "certfile": self.server_cert,
            "keyfile": self.server_key,
            "ca_certs": self.client_cert,
            "cert_reqs": ssl.CERT_REQUIRED,
        }

    def tearDown(self) -> None:
        super().tearDown()
        self._folder.cleanup()

    @gen_test
    async def test_ca_certs_and_client_certificate(self) -> None:
        request = HTTPRequest(
            f"wss://localhost:{self.get_http_port()}/ws",
            ca_certs=self.server_cert,
            client_cert=self.client_cert,
            client_key=self.client_key,
        )
        conn = await websocket_connect(request)
        assert await conn.read_message() == "cookie=None x=None"
        conn.close()

    @gen_test
    async def test_without_client_certificate_the_server_refuses(self) -> None:
        request = HTTPRequest(
            f"wss://localhost:{self.get_http_port()}/ws", ca_certs=self.server_cert
        )
        with pytest.raises((ssl.SSLError, OSError, WebSocketError)):
            conn = await websocket_connect(request)
            # TLS 1.3 may report the refusal only at the first read.
            assert await conn.read_message() is None
            raise WebSocketError("closed")
