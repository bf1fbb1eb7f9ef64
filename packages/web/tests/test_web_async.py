"""Asynchronous handlers: @asynchronous with callbacks, long polling, streamed bodies, detach."""

from __future__ import annotations

import asyncio
import socket
from typing import Any

from squall.escape import json_decode
from squall.httpclient import AsyncHTTPClient, HTTPResponse
from squall.ioloop import IOLoop
from squall.iostream import IOStream
from squall.testing import AsyncHTTPTestCase, ExpectLog, gen_test
from squall.testing._http import _over_http2
from squall.web import (
    Application,
    HTTPError,
    RequestHandler,
    asynchronous,
    stream_request_body,
)


class FeedHandler(RequestHandler):
    """Stands in for the FriendFeed API of the overview."""

    def get(self) -> None:
        if self.get_argument("broken", None):
            raise HTTPError(502)
        self.write({"entries": [1, 2, 3]})


class OverviewAsyncHandler(RequestHandler):
    """The overview's example, word for word except the URL."""

    @asynchronous
    def get(self) -> None:
        http = AsyncHTTPClient()
        http.fetch(self.feed_url(), callback=self.on_response)

    def feed_url(self) -> str:
        suffix = "?broken=1" if self.get_argument("broken", None) else ""
        return f"http://127.0.0.1:{self.request.host.rsplit(':', 1)[1]}/feed{suffix}"

    def on_response(self, response: HTTPResponse) -> None:
        if response.error:
            raise HTTPError(500)
        json = json_decode(response.body)
        self.write("Fetched " + str(len(json["entries"])) + " entries from the FriendFeed API")
        self.finish()


class SimpleAsyncHandler(RequestHandler):
    @asynchronous
    def get(self) -> None:
        self.write("Hello, world")
        self.finish()


class TimeoutAsyncHandler(RequestHandler):
    @asynchronous
    def get(self) -> None:
        self.write("waiting;")
        IOLoop.current().add_timeout(IOLoop.current().time() + 0.01, self.later)

    def later(self) -> None:
        if self.get_argument("fail", None):
            raise ValueError("callback failed")
        self.finish("done")


class AsyncCoroutineHandler(RequestHandler):
    @asynchronous
    async def get(self) -> None:
        await asyncio.sleep(0)
        self.write("coroutine finished by itself")


waiters: list[LongPollHandler] = []
closed: list[str] = []


class LongPollHandler(RequestHandler):
    """The chat example's pattern: wait for a message, clean up when the client leaves."""

    @asynchronous
    def get(self) -> None:
        waiters.append(self)

    def deliver(self, message: str) -> None:
        self.finish({"message": message})

    def on_connection_close(self) -> None:
        waiters.remove(self)
        closed.append("closed")


class PostMessageHandler(RequestHandler):
    def post(self) -> None:
        for waiter in list(waiters):
            waiters.remove(waiter)
            waiter.deliver(self.get_argument("body"))
        self.write("sent")


class TestAsynchronousDecorator(AsyncHTTPTestCase):
    def get_app(self) -> Application:
        return Application(
            [
                (r"/feed", FeedHandler),
                (r"/overview", OverviewAsyncHandler),
                (r"/simple", SimpleAsyncHandler),
                (r"/timeout", TimeoutAsyncHandler),
                (r"/coroutine", AsyncCoroutineHandler),
            ]
        )

    def test_overview_simple(self) -> None:
        assert self.fetch("/simple").body == b"Hello, world"

    def test_overview_fetch_with_callback(self) -> None:
        response = self.fetch("/overview")
        assert response.code == 200
        assert response.body == b"Fetched 3 entries from the FriendFeed API"

    def test_error_raised_in_the_fetch_callback_answers_500(self) -> None:
        with ExpectLog("squall.general", r".*502 GET /feed", required=False):
            response = self.fetch("/overview?broken=1")
        assert response.code == 500
        assert b"500: Internal Server Error" in response.body

    def test_request_stays_open_until_finish(self) -> None:
        response = self.fetch("/timeout")
        assert response.body == b"waiting;done"

    def test_error_in_an_ioloop_callback_answers_500(self) -> None:
        with ExpectLog("squall.application", "Uncaught exception GET /timeout"):
            response = self.fetch("/timeout?fail=1")
        assert response.code == 500

    def test_decorated_coroutine_finishes_when_done(self) -> None:
        assert self.fetch("/coroutine").body == b"coroutine finished by itself"


class TestLongPolling(AsyncHTTPTestCase):
    def get_app(self) -> Application:
        waiters.clear()
        closed.clear()
        return Application([(r"/poll", LongPollHandler), (r"/post", PostMessageHandler)])

    @gen_test
    async def test_message_reaches_the_waiting_poll(self) -> None:
        client = self.http_client
        poll = client.fetch(self.get_url("/poll"))
        while not waiters:
            await asyncio.sleep(0.001)
        posted = await client.fetch(self.get_url("/post"), method="POST", body="body=hello")
        assert posted.body == b"sent"
        response = await poll
        assert json_decode(response.body) == {"message": "hello"}
        assert closed == []

    @gen_test
    async def test_on_connection_close_when_the_client_leaves(self) -> None:
        reader, writer = await asyncio.open_connection("127.0.0.1", self.get_http_port())
        writer.write(b"GET /poll HTTP/1.1\r\nHost: x\r\n\r\n")
        await writer.drain()
        while not waiters:
            await asyncio.sleep(0.001)
        writer.close()
        await writer.wait_closed()
        while not closed:
            await asyncio.sleep(0.001)
        assert waiters == []


@stream_request_body
class StreamingUpload(RequestHandler):
    def initialize(self, log: list[Any]) -> None:  # type: ignore[override]
        self.log = log

    def prepare(self) -> None:
        self.log.append(("prepare", self.request.body))
        self.request.connection.set_max_body_size(int(self.get_argument("limit", "100000")))
        self.size = 0
        self.pieces = 0

    async def data_received(self, chunk: bytes) -> None:
        await asyncio.sleep(0)
        self.size += len(chunk)
        self.pieces += 1

    def put(self) -> None:
        self.log.append(("put", self.size))
        self.write(f"{self.size} bytes in {self.pieces} pieces")


class TestStreamRequestBody(AsyncHTTPTestCase):
    def get_app(self) -> Application:
        self.log: list[Any] = []
        return Application([(r"/upload", StreamingUpload, {"log": self.log})])

    def get_httpserver_options(self) -> dict[str, Any]:
        return {"chunk_size": 1024, "max_body_size": 10_000}

    def test_body_arrives_in_pieces_after_prepare(self) -> None:
        response = self.fetch("/upload", method="PUT", body=b"x" * 5000)
        assert response.code == 200
        assert response.body.startswith(b"5000 bytes in ")
        # 1 KiB reads on HTTP/1; HTTP/2 delivers the client's DATA frames as they come.
        assert int(response.body.split()[3]) >= (2 if _over_http2() else 5)
        assert self.log == [("prepare", b""), ("put", 5000)]

    def test_prepare_may_raise_the_body_limit(self) -> None:
        response = self.fetch("/upload", method="PUT", body=b"y" * 50_000)
        assert response.code == 200
        assert response.body.startswith(b"50000 bytes")

    def test_body_over_the_limit_is_refused(self) -> None:
        response = self.fetch("/upload?limit=100", method="PUT", body=b"z" * 5000)
        assert response.code == 413
        assert ("put", 5000) not in self.log


class DetachHandler(RequestHandler):
    async def get(self) -> None:
        stream = self.detach()
        await stream.write(
            b"HTTP/1.1 200 OK\r\nContent-Length: 8\r\nConnection: close\r\n\r\ndetached"
        )
        stream.close()


class TestDetach(AsyncHTTPTestCase):
    """detach() hands the IOStream over (on the server's stream-based path)."""

    def get_app(self) -> Application:
        return Application([(r"/detach", DetachHandler)])

    @gen_test
    async def test_detach_takes_over_the_stream(self) -> None:
        listener = socket.socket()
        listener.bind(("127.0.0.1", 0))
        listener.listen(1)
        port = listener.getsockname()[1]
        try:
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
            conn, address = listener.accept()
            self.http_server.handle_stream(IOStream(conn), address)
            writer.write(b"GET /detach HTTP/1.1\r\nHost: x\r\n\r\n")
            data = await asyncio.wait_for(reader.read(), 5)
            writer.close()
        finally:
            listener.close()
        assert data.endswith(b"\r\n\r\ndetached")
        assert data.startswith(b"HTTP/1.1 200 OK")
