"""ASGIContainer: ASGI applications on squall's HTTPServer, through real sockets.

A Starlette application (routing, streaming, request bodies, WebSocket echo,
lifespan state) is exercised with squall's clients and the ``websockets``
library; small hand-written ASGI applications pin the scope, flow control,
the WebSocket corner cases and what happens when an application misbehaves.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import socket
import threading
from collections.abc import AsyncIterator
from typing import Any

import pytest
import squall.web
from squall.asgi import ASGIContainer
from squall.httpclient import AsyncHTTPClient, HTTPClientError
from squall.websocket import websocket_connect
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, StreamingResponse
from starlette.routing import Route, WebSocketRoute
from starlette.websockets import WebSocket, WebSocketDisconnect

TIMEOUT = 10.0


# -- a Starlette application ----------------------------------------------------------------

lifespan_log: list[str] = []


@contextlib.asynccontextmanager
async def lifespan(app: Starlette) -> AsyncIterator[dict[str, Any]]:
    lifespan_log.append("startup")
    yield {"greeting": "hello from lifespan"}
    lifespan_log.append("shutdown")


async def home(request: Request) -> PlainTextResponse:
    return PlainTextResponse(f"{request.state.greeting}, {request.path_params.get('name', 'you')}")


async def info(request: Request) -> JSONResponse:
    scope = request.scope
    return JSONResponse(
        {
            "client": list(request.client) if request.client else None,
            "scheme": scope["scheme"],
            "path": scope["path"],
            "raw_path": scope["raw_path"].decode(),
            "root_path": scope["root_path"],
            "query": scope["query_string"].decode(),
            "http_version": scope["http_version"],
            "asgi": scope["asgi"],
            "server": list(scope["server"]) if scope["server"] else None,
            "method": scope["method"],
            "headers": [[k.decode(), v.decode()] for k, v in scope["headers"]],
        }
    )


async def stream(request: Request) -> StreamingResponse:
    async def pieces() -> AsyncIterator[str]:
        for number in range(5):
            yield f"piece {number}\n"

    return StreamingResponse(pieces(), media_type="text/plain")


async def upload(request: Request) -> JSONResponse:
    sizes = [len(chunk) async for chunk in request.stream()]
    return JSONResponse({"total": sum(sizes), "events": len(sizes)})


async def echo(websocket: WebSocket) -> None:
    offered = websocket.scope["subprotocols"]
    await websocket.accept(subprotocol="chat" if "chat" in offered else None)
    try:
        while True:
            message = await websocket.receive()
            if message["type"] == "websocket.disconnect":
                return
            if message.get("text") is not None:
                if message["text"] == "bye":
                    await websocket.close(code=4001, reason="asked to")
                    return
                await websocket.send_text("echo: " + message["text"])
            else:
                await websocket.send_bytes(b"echo: " + message["bytes"])
    except WebSocketDisconnect:
        return


starlette_app = Starlette(
    routes=[
        Route("/", home),
        Route("/hello/{name}", home),
        Route("/info", info),
        Route("/stream", stream),
        Route("/upload", upload, methods=["POST", "PUT"]),
        WebSocketRoute("/echo", echo),
    ],
    lifespan=lifespan,
)


@pytest.fixture
def starlette_server(squall_server: Any) -> Any:
    container = ASGIContainer(starlette_app)
    live = squall_server(container)
    live.container = container
    yield live
    live.call(container.shutdown())


def test_starlette_routing_and_lifespan_state(starlette_server: Any, fetch: Any) -> None:
    status, _, body = fetch(starlette_server.port, "GET", "/hello/squall")
    assert status == 200
    # Startup ran before the first request (lazily), and its state reached the request.
    assert body == b"hello from lifespan, squall"
    assert "startup" in lifespan_log
    status, _, body = fetch(starlette_server.port, "GET", "/missing")
    assert status == 404


def test_lifespan_shutdown_runs(squall_server: Any) -> None:
    container = ASGIContainer(starlette_app, lifespan="on")
    live = squall_server(container)
    before = lifespan_log.count("shutdown")
    live.call(container.startup())
    assert container.state == {"greeting": "hello from lifespan"}
    live.call(container.shutdown())
    assert lifespan_log.count("shutdown") == before + 1


def test_scope_from_the_request(starlette_server: Any, fetch: Any) -> None:
    status, _, body = fetch(
        starlette_server.port, "GET", "/info?a=1&b=%C3%A9", headers={"X-Thing": "yes"}
    )
    assert status == 200
    seen = json.loads(body)
    assert seen["client"][0] == "127.0.0.1" and seen["client"][1] > 0
    assert seen["server"] == ["127.0.0.1", starlette_server.port]
    assert seen["scheme"] == "http"
    assert seen["path"] == "/info"
    assert seen["query"] == "a=1&b=%C3%A9"
    assert seen["http_version"] == "1.1"
    assert seen["method"] == "GET"
    assert seen["asgi"] == {"version": "3.0", "spec_version": "2.4"}
    assert ["x-thing", "yes"] in seen["headers"]
    assert all(name == name.lower() for name, _ in seen["headers"])


def test_path_is_decoded_and_raw_path_kept(squall_server: Any, fetch: Any) -> None:
    seen: dict[str, Any] = {}

    async def app(scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        seen.update(path=scope["path"], raw=scope["raw_path"], root=scope["root_path"])
        await send({"type": "http.response.start", "status": 204, "headers": []})
        await send({"type": "http.response.body"})

    live = squall_server(ASGIContainer(app, root_path="/api", lifespan="off"))
    assert fetch(live.port, "GET", "/caf%C3%A9/a%20b")[0] == 204
    # The proxy took /api off: ASGI 2.4 wants it in front of path, raw_path as received.
    assert seen == {"path": "/api/café/a b", "raw": b"/caf%C3%A9/a%20b", "root": "/api"}
    assert fetch(live.port, "GET", "/api/x")[0] == 204
    assert seen["path"] == "/api/x"


def test_xheaders_give_client_and_scheme(squall_server: Any, fetch: Any) -> None:
    live = squall_server(ASGIContainer(starlette_app), xheaders=True)
    status, _, body = fetch(
        live.port,
        "GET",
        "/info",
        headers={"X-Forwarded-For": "203.0.113.7", "X-Forwarded-Proto": "https"},
    )
    assert status == 200
    seen = json.loads(body)
    assert seen["client"][0] == "203.0.113.7"
    assert seen["scheme"] == "https"


def test_streaming_response_with_squall_client(starlette_server: Any, arun: Any) -> None:
    async def go() -> tuple[int, bytes, str | None, list[bytes]]:
        pieces: list[bytes] = []
        client = AsyncHTTPClient()
        try:
            response = await client.fetch(
                f"http://127.0.0.1:{starlette_server.port}/stream",
                streaming_callback=pieces.append,
            )
        finally:
            client.close()
        return response.code, b"".join(pieces), response.headers.get("Transfer-Encoding"), pieces

    code, body, coding, _ = arun(go())
    assert code == 200
    assert body == b"".join(f"piece {n}\n".encode() for n in range(5))
    assert coding == "chunked"


def test_request_body_streams_in_pieces(starlette_server: Any, arun: Any) -> None:
    size = 3 * 1024 * 1024

    async def go() -> Any:
        client = AsyncHTTPClient()
        try:
            response = await client.fetch(
                f"http://127.0.0.1:{starlette_server.port}/upload",
                method="POST",
                body=b"z" * size,
                request_timeout=TIMEOUT,
            )
        finally:
            client.close()
        return json.loads(response.body)

    seen = arun(go())
    assert seen["total"] == size
    assert seen["events"] > 1  # more_body: it came in several http.request events


def test_websocket_echo_with_squall_client(starlette_server: Any, arun: Any) -> None:
    async def go() -> tuple[Any, ...]:
        url = f"ws://127.0.0.1:{starlette_server.port}/echo"
        conn = await websocket_connect(url, subprotocols=["chat", "other"])
        conn.write_message("hello")
        text = await conn.read_message()
        conn.write_message(b"\x00\x01", binary=True)
        data = await conn.read_message()
        conn.write_message("bye")
        last = await conn.read_message()
        return conn.selected_subprotocol, text, data, last, conn.close_code, conn.close_reason

    chosen, text, data, last, code, reason = arun(go())
    assert chosen == "chat"
    assert text == "echo: hello"
    assert data == b"echo: \x00\x01"
    assert last is None
    assert (code, reason) == (4001, "asked to")


def test_websocket_echo_with_websockets_library(starlette_server: Any) -> None:
    from websockets.sync.client import connect

    with connect(f"ws://127.0.0.1:{starlette_server.port}/echo", open_timeout=TIMEOUT) as ws:
        for number in range(20):
            ws.send(f"message {number}")
            assert ws.recv(timeout=TIMEOUT) == f"echo: message {number}"
        ws.send(b"raw")
        assert ws.recv(timeout=TIMEOUT) == b"echo: raw"


def test_mounted_in_squall_application(squall_server: Any, fetch: Any) -> None:
    class LiveHandler(squall.web.RequestHandler):
        def get(self) -> None:
            self.write("squall here")

    container = ASGIContainer(starlette_app)
    app = squall.web.Application(
        [
            (r"/live", LiveHandler),
            (r"/upload", container),
            (r".*", squall.web.FallbackHandler, {"fallback": container}),
        ]
    )
    live = squall_server(app)
    assert fetch(live.port, "GET", "/live")[2] == b"squall here"
    status, _, body = fetch(live.port, "GET", "/hello/fallback")
    assert (status, body) == (200, b"hello from lifespan, fallback")
    status, _, body = fetch(live.port, "PUT", "/upload", body=b"q" * 1000)
    assert status == 200 and json.loads(body)["total"] == 1000
    live.call(container.shutdown())


def test_websocket_through_fallback_handler(squall_server: Any, arun: Any) -> None:
    container = ASGIContainer(starlette_app)
    app = squall.web.Application([(r".*", squall.web.FallbackHandler, {"fallback": container})])
    live = squall_server(app)

    async def go() -> Any:
        conn = await websocket_connect(f"ws://127.0.0.1:{live.port}/echo")
        conn.write_message("via fallback")
        reply = await conn.read_message()
        await shut(conn)
        return reply

    assert arun(go()) == "echo: via fallback"


# -- hand-written ASGI applications ----------------------------------------------------------


async def shut(conn: Any) -> None:
    """Close a squall WebSocket client and wait until its socket is closed."""
    conn.close()
    while await conn.read_message() is not None:
        pass


def plain(app: Any) -> ASGIContainer:
    return ASGIContainer(app, lifespan="off")


def test_send_waits_for_a_slow_client(squall_server: Any) -> None:
    """Back-pressure: while the client reads nothing, the application's send() stays blocked."""
    sent = []
    blocked = threading.Event()
    piece = b"x" * 65536

    async def app(scope: Any, receive: Any, send: Any) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": []})
        for _ in range(400):  # 25 MiB, far past any socket buffer
            sent.append(1)
            await send({"type": "http.response.body", "body": piece, "more_body": True})
        await send({"type": "http.response.body"})

    live = squall_server(plain(app))
    sock = socket.create_connection(("127.0.0.1", live.port), timeout=TIMEOUT)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 65536)
        sock.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        # Wait until the count stops moving: the app is held by its send().
        previous = -1
        for _ in range(100):
            count = live.on_loop(lambda: len(sent))
            if count == previous and count > 0:
                break
            previous = count
            blocked.wait(0.05)
        assert 0 < len(sent) < 400
        received = 0
        total = 400 * len(piece)
        while received < total:
            chunk = sock.recv(1 << 20)
            assert chunk, "connection closed early"
            received += len(chunk)
        assert len(sent) == 400
    finally:
        sock.close()


def test_unread_body_does_not_stall_the_connection(squall_server: Any) -> None:
    """An app that answers without reading a large body: the server still drains the socket."""

    async def app(scope: Any, receive: Any, send: Any) -> None:
        await receive()  # a first piece, then no more reading
        await asyncio.sleep(0.2)  # meanwhile the unread body fills the window
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"no thanks"})

    live = squall_server(plain(app))
    size = 8 * 1024 * 1024
    sock = socket.create_connection(("127.0.0.1", live.port), timeout=TIMEOUT)
    try:
        sock.sendall(b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n" % size)
        sock.sendall(b"a" * (1024 * 1024))
        received = b""
        while b"no thanks" not in received:
            chunk = sock.recv(65536)
            assert chunk
            received += chunk
        assert received.startswith(b"HTTP/1.1 200 ")
        # The rest of the body is read (and the connection closed), not left to block us.
        try:
            sock.sendall(b"b" * size)
        except (BrokenPipeError, ConnectionResetError):
            pass
    finally:
        sock.close()


def test_app_returning_without_response_gets_500(
    squall_server: Any, fetch: Any, caplog: Any
) -> None:
    async def app(scope: Any, receive: Any, send: Any) -> None:
        await receive()

    live = squall_server(plain(app))
    with caplog.at_level(logging.ERROR, logger="squall.application"):
        status, _, _ = fetch(live.port, "GET", "/nothing")
    assert status == 500
    assert "returned without a response" in caplog.text
    # The server keeps serving.
    assert fetch(live.port, "GET", "/again")[0] == 500


def test_app_raising_before_start_gets_500(squall_server: Any, fetch: Any, caplog: Any) -> None:
    async def app(scope: Any, receive: Any, send: Any) -> None:
        if scope["path"] == "/boom":
            raise ValueError("boom")
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"fine"})

    live = squall_server(plain(app))
    with caplog.at_level(logging.ERROR, logger="squall.application"):
        status, _, body = fetch(live.port, "GET", "/boom")
    assert status == 500 and body == b"Internal Server Error"
    assert "ValueError: boom" in caplog.text
    assert fetch(live.port, "GET", "/ok")[2] == b"fine"


def test_app_raising_mid_response_closes_connection(
    squall_server: Any, raw: Any, caplog: Any
) -> None:
    async def app(scope: Any, receive: Any, send: Any) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"half", "more_body": True})
        raise RuntimeError("midway")

    live = squall_server(plain(app))
    with caplog.at_level(logging.ERROR, logger="squall.application"):
        answer = raw(live.port, b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
    assert answer.startswith(b"HTTP/1.1 200 ")
    assert b"half" in answer
    # Chunked, and no terminating zero-size chunk: the client sees a truncated body.
    assert not answer.endswith(b"0\r\n\r\n")
    assert "midway" in caplog.text


def test_body_before_start_is_an_error_for_the_app(
    squall_server: Any, fetch: Any, caplog: Any
) -> None:
    caught: list[BaseException] = []

    async def app(scope: Any, receive: Any, send: Any) -> None:
        try:
            await send({"type": "http.response.body", "body": b"early"})
        except RuntimeError as exc:
            caught.append(exc)
            raise

    live = squall_server(plain(app))
    with caplog.at_level(logging.ERROR, logger="squall.application"):
        assert fetch(live.port, "GET", "/")[0] == 500
    assert caught and "before its start" in str(caught[0])


def test_send_after_complete_raises_to_the_app(squall_server: Any, fetch: Any) -> None:
    outcome: list[BaseException] = []

    async def app(scope: Any, receive: Any, send: Any) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"done"})
        try:
            await send({"type": "http.response.body", "body": b"more"})
        except Exception as exc:
            outcome.append(exc)
        try:
            await send({"type": "http.response.start", "status": 200, "headers": []})
        except Exception as exc:
            outcome.append(exc)

    live = squall_server(plain(app))
    status, headers, body = fetch(live.port, "GET", "/")
    assert (status, body, headers["Content-Length"]) == (200, b"done", "4")
    for _ in range(100):
        if len(outcome) == 2:
            break
        threading.Event().wait(0.02)
    assert [type(exc) for exc in outcome] == [RuntimeError, RuntimeError]
    assert "after the response was complete" in str(outcome[0])


def test_unknown_message_type_is_an_error(squall_server: Any, fetch: Any, caplog: Any) -> None:
    async def app(scope: Any, receive: Any, send: Any) -> None:
        await send({"type": "http.response.teapot"})

    live = squall_server(plain(app))
    with caplog.at_level(logging.ERROR, logger="squall.application"):
        assert fetch(live.port, "GET", "/")[0] == 500
    assert "http.response.teapot" in caplog.text


def test_disconnect_reaches_a_waiting_app(squall_server: Any) -> None:
    """A client that leaves while the app waits: receive() gives http.disconnect, send() raises."""
    heard: list[Any] = []
    done = threading.Event()

    async def app(scope: Any, receive: Any, send: Any) -> None:
        first = await receive()
        heard.append(first["type"])
        heard.append((await receive())["type"])  # blocks until the client leaves
        try:
            await send({"type": "http.response.start", "status": 200, "headers": []})
        except OSError as exc:
            heard.append(type(exc).__name__)
        done.set()

    live = squall_server(plain(app))
    sock = socket.create_connection(("127.0.0.1", live.port), timeout=TIMEOUT)
    sock.sendall(b"GET /poll HTTP/1.1\r\nHost: x\r\n\r\n")
    for _ in range(200):
        if heard:
            break
        done.wait(0.02)
    sock.close()
    assert done.wait(TIMEOUT)
    assert heard == ["http.request", "http.disconnect", "StreamClosedError"]


def test_receive_after_the_response_says_disconnect(squall_server: Any, fetch: Any) -> None:
    heard: list[str] = []

    async def app(scope: Any, receive: Any, send: Any) -> None:
        await receive()
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"ok"})
        heard.append((await asyncio.wait_for(receive(), TIMEOUT))["type"])

    live = squall_server(plain(app))
    assert fetch(live.port, "GET", "/")[2] == b"ok"
    for _ in range(100):
        if heard:
            break
        threading.Event().wait(0.02)
    assert heard == ["http.disconnect"]


def test_head_request_gets_no_body(squall_server: Any, raw: Any) -> None:
    async def app(scope: Any, receive: Any, send: Any) -> None:
        await send(
            {"type": "http.response.start", "status": 200, "headers": [(b"content-length", b"5")]}
        )
        await send({"type": "http.response.body", "body": b"hello"})

    live = squall_server(plain(app))
    answer = raw(live.port, b"HEAD / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    assert answer.startswith(b"HTTP/1.1 200 ")
    assert b"Content-Length: 5" in answer
    assert answer.endswith(b"\r\n\r\n")


def test_keep_alive_serves_several_requests(squall_server: Any, raw: Any) -> None:
    async def app(scope: Any, receive: Any, send: Any) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": scope["path"].encode()})

    live = squall_server(plain(app))
    answer = raw(
        live.port,
        b"GET /one HTTP/1.1\r\nHost: x\r\n\r\nGET /two HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    )
    assert answer.count(b"HTTP/1.1 200 ") == 2
    assert answer.index(b"/one") < answer.index(b"/two")


# -- WebSocket corners ---------------------------------------------------------------------


def test_websocket_close_before_accept_is_403(squall_server: Any, arun: Any) -> None:
    async def app(scope: Any, receive: Any, send: Any) -> None:
        assert (await receive())["type"] == "websocket.connect"
        await send({"type": "websocket.close", "code": 1000})

    live = squall_server(plain(app))

    async def go() -> int:
        with pytest.raises(HTTPClientError) as caught:
            await websocket_connect(f"ws://127.0.0.1:{live.port}/ws")
        return caught.value.code

    assert arun(go()) == 403


def test_websocket_denial_response(squall_server: Any, raw: Any) -> None:
    async def app(scope: Any, receive: Any, send: Any) -> None:
        assert "websocket.http.response" in scope["extensions"]
        await receive()
        await send(
            {
                "type": "websocket.http.response.start",
                "status": 401,
                "headers": [(b"content-type", b"text/plain")],
            }
        )
        await send(
            {"type": "websocket.http.response.body", "body": b"who are you", "more_body": True}
        )
        await send({"type": "websocket.http.response.body", "body": b"?"})

    live = squall_server(plain(app))
    answer = raw(
        live.port,
        b"GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n"
        b"Connection: close\r\n\r\n",
    )
    assert answer.startswith(b"HTTP/1.1 401 ")
    assert b"who are you" in answer and b"?" in answer


def test_bad_handshake_never_reaches_the_app(squall_server: Any, raw: Any) -> None:
    called: list[Any] = []

    async def app(scope: Any, receive: Any, send: Any) -> None:
        called.append(scope)

    live = squall_server(plain(app))
    answer = raw(
        live.port,
        b"GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 8\r\n\r\n",
        limit=2.0,
    )
    assert answer.startswith(b"HTTP/1.1 426 ")
    assert b"sec-websocket-version: 13" in answer.lower()
    assert called == []


def test_websocket_client_close_code_reaches_the_app(squall_server: Any, arun: Any) -> None:
    heard: list[Any] = []
    finished = threading.Event()

    async def app(scope: Any, receive: Any, send: Any) -> None:
        await receive()
        await send({"type": "websocket.accept", "headers": [(b"x-extra", b"1")]})
        while True:
            message = await receive()
            heard.append(message)
            if message["type"] == "websocket.disconnect":
                break
        try:
            await send({"type": "websocket.send", "text": "too late"})
        except OSError as exc:
            heard.append(type(exc).__name__)
        finished.set()

    live = squall_server(plain(app))

    async def go() -> Any:
        conn = await websocket_connect(f"ws://127.0.0.1:{live.port}/ws")
        extra = conn.headers.get("X-Extra")
        conn.write_message("one")
        conn.close(4321, "leaving")
        for _ in range(100):
            if conn.close_code is not None:
                break
            await asyncio.sleep(0.02)
        return extra

    assert arun(go()) == "1"
    assert finished.wait(TIMEOUT)
    assert heard[0] == {"type": "websocket.receive", "text": "one"}
    assert heard[1]["type"] == "websocket.disconnect" and heard[1]["code"] == 4321
    assert heard[1]["reason"] == "leaving"
    assert heard[2] == "StreamClosedError"


def test_websocket_app_crash_closes_with_1011(squall_server: Any, arun: Any, caplog: Any) -> None:
    async def app(scope: Any, receive: Any, send: Any) -> None:
        await receive()
        await send({"type": "websocket.accept"})
        await receive()
        raise ValueError("ws boom")

    live = squall_server(plain(app))

    async def go() -> Any:
        conn = await websocket_connect(f"ws://127.0.0.1:{live.port}/ws")
        conn.write_message("trigger")
        assert await conn.read_message() is None
        return conn.close_code

    with caplog.at_level(logging.ERROR, logger="squall.application"):
        assert arun(go()) == 1011
    assert "ws boom" in caplog.text


def test_websocket_send_before_accept_is_an_error(
    squall_server: Any, arun: Any, caplog: Any
) -> None:
    async def app(scope: Any, receive: Any, send: Any) -> None:
        await receive()
        await send({"type": "websocket.send", "text": "rude"})

    live = squall_server(plain(app))

    async def go() -> int:
        with pytest.raises(HTTPClientError) as caught:
            await websocket_connect(f"ws://127.0.0.1:{live.port}/ws")
        return caught.value.code

    with caplog.at_level(logging.ERROR, logger="squall.application"):
        assert arun(go()) == 500
    assert "before websocket.accept" in caplog.text


# -- lifespan ------------------------------------------------------------------------------


def test_lifespan_failure_raises_from_startup(arun: Any) -> None:
    async def app(scope: Any, receive: Any, send: Any) -> None:
        assert scope["type"] == "lifespan"
        await receive()
        await send({"type": "lifespan.startup.failed", "message": "no database"})

    async def go() -> None:
        await ASGIContainer(app).startup()

    with pytest.raises(RuntimeError, match="no database"):
        arun(go())


def test_lifespan_auto_tolerates_apps_without_it(arun: Any) -> None:
    async def app(scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            raise ValueError("only http here")

    async def go() -> dict[str, Any]:
        container = ASGIContainer(app)
        await container.startup()
        await container.shutdown()
        return container.state

    assert arun(go()) == {}

    async def required() -> None:
        await ASGIContainer(app, lifespan="on").startup()

    with pytest.raises(RuntimeError, match="does not support lifespan"):
        arun(required())


def test_loop_closing_without_shutdown_is_quiet(caplog: pytest.LogCaptureFixture) -> None:
    # A program that ends (asyncio.run returns) without container.shutdown():
    # the lifespan task is cancelled and Starlette reports a "failed" shutdown
    # nobody asked for. That is no error and must not leave a future whose
    # exception was never retrieved.
    import gc

    async def go() -> None:
        await ASGIContainer(starlette_app).startup()

    gc.collect()  # what earlier tests left behind is collected outside the capture
    with caplog.at_level(logging.DEBUG):
        asyncio.run(go())
        gc.collect()
    assert "never retrieved" not in caplog.text
    assert not [r for r in caplog.records if "shutdown failed" in r.getMessage()], caplog.text
    assert "ASGI lifespan ended without a shutdown" in caplog.text


def test_lifespan_off_never_calls_the_app(arun: Any) -> None:
    scopes: list[str] = []

    async def app(scope: Any, receive: Any, send: Any) -> None:
        scopes.append(scope["type"])

    async def go() -> None:
        async with ASGIContainer(app, lifespan="off"):
            pass

    arun(go())
    assert scopes == []


def test_lifespan_option_is_checked() -> None:
    with pytest.raises(ValueError, match="lifespan"):
        ASGIContainer(starlette_app, lifespan="sometimes")


def test_async_with_runs_startup_and_shutdown(arun: Any) -> None:
    async def go() -> tuple[dict[str, Any], int]:
        before = lifespan_log.count("shutdown")
        async with ASGIContainer(starlette_app) as container:
            state = dict(container.state)
        return state, lifespan_log.count("shutdown") - before

    assert arun(go()) == ({"greeting": "hello from lifespan"}, 1)
