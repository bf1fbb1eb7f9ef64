"""Long polling, the overview's chat pattern: waiters parked on a buffer, released by one message.

Two styles of waiting handler: the classic ``@asynchronous`` one that
finishes from a future's callback, and an ``async def`` one that awaits the
future. A client that goes away mid-wait triggers ``on_connection_close``,
which removes its waiter (nothing leaks); 1,000 concurrent waiters are all
released by one new message.
"""

from __future__ import annotations

import asyncio
from typing import Any

from squall.escape import json_decode
from squall.testing import AsyncHTTPTestCase, gen_test
from squall.web import Application, RequestHandler, asynchronous

TIMEOUT = 10.0
CROWD = 1000


class MessageBuffer:
    """The chat demo's buffer: a bounded cache of messages and the futures waiting for more."""

    def __init__(self) -> None:
        self.waiters: set[asyncio.Future[list[dict[str, Any]]]] = set()
        self.cache: list[dict[str, Any]] = []
        self.cache_size = 200

    def wait_for_messages(self, cursor: str | None = None) -> asyncio.Future[list[dict[str, Any]]]:
        future: asyncio.Future[list[dict[str, Any]]] = asyncio.get_running_loop().create_future()
        if cursor:
            newer = []
            for message in reversed(self.cache):
                if message["id"] == cursor:
                    break
                newer.insert(0, message)
            if newer:
                future.set_result(newer)
                return future
        self.waiters.add(future)
        return future

    def cancel_wait(self, future: asyncio.Future[Any]) -> None:
        self.waiters.discard(future)
        if not future.done():
            future.set_result([])

    def new_messages(self, messages: list[dict[str, Any]]) -> None:
        waiters, self.waiters = self.waiters, set()
        for future in waiters:
            if not future.done():
                future.set_result(messages)
        self.cache.extend(messages)
        del self.cache[: -self.cache_size]


class NewMessageHandler(RequestHandler):
    def initialize(self, buffer: MessageBuffer) -> None:  # type: ignore[override]
        self.buffer = buffer

    def post(self) -> None:
        message = {"id": str(len(self.buffer.cache) + 1), "body": self.get_argument("body")}
        self.buffer.new_messages([message])
        self.write(message)


class ClassicUpdatesHandler(RequestHandler):
    """The overview's style: ``@asynchronous``, finished from a callback."""

    def initialize(self, buffer: MessageBuffer, closed: list[str]) -> None:  # type: ignore[override]
        self.buffer, self.closed = buffer, closed

    @asynchronous
    def post(self) -> None:
        self.future = self.buffer.wait_for_messages(self.get_argument("cursor", None))
        self.future.add_done_callback(self.on_new_messages)

    def on_new_messages(self, future: asyncio.Future[list[dict[str, Any]]]) -> None:
        if self._finished or not future.result():
            return  # the client went away (see on_connection_close)
        self.finish({"messages": future.result()})

    def on_connection_close(self) -> None:
        self.closed.append("classic")
        self.buffer.cancel_wait(self.future)


class AsyncUpdatesHandler(RequestHandler):
    """The modern style: ``async def`` awaiting the future."""

    def initialize(self, buffer: MessageBuffer, closed: list[str]) -> None:  # type: ignore[override]
        self.buffer, self.closed = buffer, closed

    async def post(self) -> None:
        self.future = self.buffer.wait_for_messages(self.get_argument("cursor", None))
        messages = await self.future
        if not messages:
            return
        self.finish({"messages": messages})

    def on_connection_close(self) -> None:
        self.closed.append("async")
        self.buffer.cancel_wait(self.future)


def _post(path: str, body: str = "") -> bytes:
    data = body.encode()
    return (
        f"POST {path} HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\n"
        f"Content-Length: {len(data)}\r\n\r\n"
    ).encode() + data


async def _read_response(reader: asyncio.StreamReader) -> tuple[int, bytes]:
    head = await reader.readuntil(b"\r\n\r\n")
    status = int(head.split(b" ", 2)[1])
    length = 0
    for line in head.split(b"\r\n"):
        if line.lower().startswith(b"content-length:"):
            length = int(line.split(b":", 1)[1])
    return status, await reader.readexactly(length)


class LongPollTest(AsyncHTTPTestCase):
    def get_app(self) -> Application:
        self.buffer = MessageBuffer()
        self.closed: list[str] = []
        spec = dict(buffer=self.buffer, closed=self.closed)
        return Application(
            [
                (r"/a/message/new", NewMessageHandler, dict(buffer=self.buffer)),
                (r"/a/message/updates", ClassicUpdatesHandler, spec),
                (r"/a/message/async-updates", AsyncUpdatesHandler, spec),
            ]
        )

    def setUp(self) -> None:
        super().setUp()
        self.writers: list[asyncio.StreamWriter] = []

    def tearDown(self) -> None:
        for writer in self.writers:
            writer.close()
        self.io_loop.run_sync(lambda: asyncio.sleep(0.05))
        super().tearDown()

    async def connect(self) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        reader, writer = await asyncio.open_connection("127.0.0.1", self.get_http_port())
        self.writers.append(writer)
        return reader, writer

    async def until(self, check: Any) -> None:
        for _ in range(int(TIMEOUT / 0.01)):
            if check():
                return
            await asyncio.sleep(0.01)
        raise AssertionError("condition not reached in time")

    async def say(self, body: str) -> None:
        reader, writer = await self.connect()
        writer.write(_post("/a/message/new", f"body={body}"))
        status, _ = await asyncio.wait_for(_read_response(reader), TIMEOUT)
        assert status == 200

    async def waiters_released(self, path: str) -> None:
        reader, writer = await self.connect()
        writer.write(_post(path))
        await self.until(lambda: len(self.buffer.waiters) == 1)
        await self.say("hello")
        status, body = await asyncio.wait_for(_read_response(reader), TIMEOUT)
        assert status == 200
        assert json_decode(body) == {"messages": [{"id": "1", "body": "hello"}]}
        # With a cursor that is behind, the answer is immediate.
        writer.write(_post(path, "cursor=0"))
        status, body = await asyncio.wait_for(_read_response(reader), TIMEOUT)
        assert json_decode(body)["messages"][0]["body"] == "hello"

    @gen_test
    async def test_classic_waiter_released_by_a_message(self) -> None:
        await self.waiters_released("/a/message/updates")

    @gen_test
    async def test_async_waiter_released_by_a_message(self) -> None:
        await self.waiters_released("/a/message/async-updates")

    async def vanishing(self, path: str, kind: str) -> None:
        _, writer = await self.connect()
        writer.write(_post(path))
        await self.until(lambda: len(self.buffer.waiters) == 1)
        writer.transport.abort()
        await self.until(lambda: self.closed == [kind])
        assert self.buffer.waiters == set()
        # A later message finds nobody to answer and nothing breaks.
        await self.say("after")
        assert self.closed == [kind]

    @gen_test
    async def test_classic_client_going_away_removes_its_waiter(self) -> None:
        await self.vanishing("/a/message/updates", "classic")

    @gen_test
    async def test_async_client_going_away_removes_its_waiter(self) -> None:
        await self.vanishing("/a/message/async-updates", "async")

    @gen_test(timeout=60)
    async def test_a_thousand_waiters_released_by_one_message(self) -> None:
        peers = []
        for index in range(CROWD):
            reader, writer = await self.connect()
            path = "/a/message/updates" if index % 2 else "/a/message/async-updates"
            writer.write(_post(path))
            peers.append(reader)
        await self.until(lambda: len(self.buffer.waiters) == CROWD)
        await self.say("everyone")
        answers = await asyncio.wait_for(
            asyncio.gather(*(_read_response(reader) for reader in peers)), TIMEOUT * 3
        )
        assert len(answers) == CROWD
        assert {status for status, _ in answers} == {200}
        assert {json_decode(body)["messages"][0]["body"] for _, body in answers} == {"everyone"}
        assert self.buffer.waiters == set() and self.closed == []
