"""The in-process hub, the message encoding, and the long-poll/WebSocket helpers."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from squall.pubsub import (
    Broadcaster,
    Hub,
    HubClosedError,
    LocalHub,
    LongPollRelay,
    Message,
    RedisHub,
    hub_from_url,
)
from squall.pubsub._codec import _decode, _encode
from squall.testing import ExpectLog

pytest_plugins = ["squall.testing.pytest_plugin"]


@pytest.mark.parametrize(
    "value",
    [
        "hello",
        "",
        "\x00starts with nul",
        "é€",
        b"\x00\xffraw",
        b"",
        {"a": [1, 2.5, None, True]},
        [1, "x"],
        3,
        None,
    ],
)
def test_codec_round_trip(value: Any) -> None:
    assert _decode(_encode(value)) == value
    assert type(_decode(_encode(value))) is type(value)


def test_codec_plain_text_interoperates() -> None:
    assert _encode("hi") == b"hi"
    assert _decode(b"from redis-cli") == "from redis-cli"
    assert _decode(b"\xff\xfe") == b"\xff\xfe"


def test_codec_refuses_other_values() -> None:
    with pytest.raises(TypeError, match="str, bytes or JSON-able"):
        _encode(object())
    with pytest.raises(TypeError):
        _encode(float("nan"))


async def test_subscribe_iterates_in_order() -> None:
    hub = LocalHub()
    sub = hub.subscribe("room")
    assert await hub.publish("room", "a") == 1
    await hub.publish("room", b"b")
    await hub.publish("room", {"c": 3})
    await hub.publish("elsewhere", "x")
    got = [await sub.get() for _ in range(3)]
    assert got == [Message("room", "a"), Message("room", b"b"), Message("room", {"c": 3})]
    assert sub.pending() == 0
    await sub.aclose()
    assert await hub.publish("room", "late") == 0


async def test_async_for_ends_on_close() -> None:
    hub = LocalHub()
    received: list[Any] = []

    async def consume() -> None:
        async with hub.subscribe("r1", "r2") as sub:
            async for msg in sub:
                received.append((msg.channel, msg.data))
                if msg.data == "stop":
                    break

    task = asyncio.ensure_future(consume())
    await asyncio.sleep(0)
    await hub.publish("r1", 1)
    await hub.publish("r2", 2)
    await hub.publish("r1", "stop")
    await task
    assert received == [("r1", 1), ("r2", 2), ("r1", "stop")]
    assert hub.channels() == []


async def test_hub_close_ends_iteration_and_refuses_use() -> None:
    hub = LocalHub()
    sub = hub.subscribe("x")
    await hub.publish("x", "kept")
    got: list[Any] = []

    async def consume() -> None:
        async for msg in sub:
            got.append(msg.data)

    task = asyncio.ensure_future(consume())
    await asyncio.sleep(0)
    await hub.close()
    await task
    assert got == ["kept"] and sub.closed and hub.closed
    with pytest.raises(HubClosedError):
        await hub.publish("x", 1)
    with pytest.raises(HubClosedError):
        hub.subscribe("x")
    with pytest.raises(HubClosedError):
        await sub.get()
    await hub.close()  # idempotent


async def test_overflow_drops_oldest_and_reports_gap() -> None:
    hub = LocalHub()
    sub = hub.subscribe("c", maxsize=3)
    for i in range(5):
        await hub.publish("c", i)
    first = await sub.get()
    assert first.gap and first.channel == "c" and first.missed == 2 and first.data is None
    assert [(await sub.get()).data for _ in range(3)] == [2, 3, 4]


async def test_subscribe_arguments() -> None:
    hub = LocalHub()
    with pytest.raises(ValueError):
        hub.subscribe()
    with pytest.raises(ValueError):
        hub.subscribe("a", maxsize=0)
    sub = hub.subscribe("a", "a", "b")
    assert sub.channels == ("a", "b")
    assert await hub.publish("a", 1) == 1


async def test_local_values_are_copies() -> None:
    hub = LocalHub()
    sub = hub.subscribe("c")
    value = {"list": (1, 2)}
    await hub.publish("c", value)
    got = (await sub.get()).data
    assert got == {"list": [1, 2]} and got is not value
    with pytest.raises(TypeError):
        await hub.publish("c", {1, 2})
    await hub.publish("c", bytearray(b"ab"))
    assert (await sub.get()).data == b"ab"


async def test_listeners_sync_and_async() -> None:
    hub = LocalHub()
    seen: list[Any] = []
    done = asyncio.Event()

    async def later(msg: Message) -> None:
        await asyncio.sleep(0)
        seen.append(("async", msg.data))
        done.set()

    handle = hub.add_listener("c", lambda msg: seen.append(("sync", msg.data)))
    other = hub.add_listener("c", later)
    assert await hub.publish("c", "m") == 2
    await done.wait()
    assert seen == [("sync", "m"), ("async", "m")]
    hub.remove_listener(handle)
    other.remove()
    other.remove()
    assert not handle.active and hub.channels() == []
    assert await hub.publish("c", "n") == 0


async def test_listener_errors_are_logged() -> None:
    hub = LocalHub()

    def broken(msg: Message) -> None:
        raise RuntimeError("boom")

    hub.add_listener("c", broken)
    sub = hub.subscribe("c")
    with ExpectLog("squall.application", "pubsub listener on 'c' failed"):
        await hub.publish("c", 1)
    assert (await sub.get()).data == 1


def test_hub_base_is_abstract() -> None:
    with pytest.raises(NotImplementedError):
        asyncio.run(Hub().publish("c", 1))


def test_hub_from_url() -> None:
    assert isinstance(hub_from_url("memory://"), LocalHub)
    with pytest.raises(ValueError, match="no pubsub hub"):
        hub_from_url("amqp://x")
    with pytest.raises(TypeError):
        hub_from_url("memory://", backoff=1)
    try:
        import redis  # noqa: F401
    except ImportError:
        return
    assert isinstance(hub_from_url("redis://127.0.0.1:1/0"), RedisHub)


async def test_long_poll_relay() -> None:
    hub = LocalHub()
    relay = LongPollRelay(hub, "chat", history=3)
    waiter = asyncio.ensure_future(relay.wait())
    await asyncio.sleep(0)
    assert relay.waiting() == 1
    await hub.publish("chat", "one")
    batch = await waiter
    assert batch.messages == ["one"] and batch.cursor == 1 and not batch.missed
    for word in ("two", "three", "four", "five"):
        await hub.publish("chat", word)
    batch = await relay.wait(1)  # newer messages exist: no waiting
    assert batch.messages == ["three", "four", "five"] and batch.cursor == 5 and batch.missed
    batch = await relay.wait(3)
    assert batch.messages == ["four", "five"] and not batch.missed
    assert "Batch(cursor=5" in repr(batch)


async def test_long_poll_relay_gap_and_cancel() -> None:
    hub = LocalHub()
    relay = LongPollRelay(hub, "chat")
    waiter = asyncio.ensure_future(relay.wait(0))
    await asyncio.sleep(0)
    hub._dispatch_gap(["chat"])
    batch = await waiter
    assert batch.messages == [] and batch.missed
    await hub.publish("chat", "after")
    batch = await relay.wait(0)
    assert batch.messages == ["after"] and batch.missed and batch.cursor == 2
    assert not (await relay.wait(1)).missed
    cancelled = asyncio.ensure_future(relay.wait())
    await asyncio.sleep(0)
    cancelled.cancel()
    with pytest.raises(asyncio.CancelledError):
        await cancelled
    assert relay.waiting() == 0
    pending = asyncio.ensure_future(relay.wait())
    await asyncio.sleep(0)
    relay.close()
    with pytest.raises(asyncio.CancelledError):
        await pending
    with pytest.raises(RuntimeError):
        await relay.wait()
    assert hub.channels() == []


class _FakeSocket:
    def __init__(self, fail: str = "") -> None:
        self.fail = fail
        self.frames: list[tuple[Any, bool]] = []

    def write_message(self, message: Any, binary: bool = False) -> Any:
        if self.fail == "raise":
            raise OSError("closed")
        self.frames.append((message, binary))
        fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        if self.fail == "future":
            fut.set_exception(OSError("closed later"))
        else:
            fut.set_result(None)
        return fut


async def test_broadcaster() -> None:
    hub = LocalHub()
    gaps: list[Message] = []
    fanout = Broadcaster(hub, "live", on_gap=gaps.append)
    good, raising, failing = _FakeSocket(), _FakeSocket("raise"), _FakeSocket("future")
    for sock in (good, raising, failing):
        fanout.add(sock)
    assert len(fanout) == 3
    await hub.publish("live", "text")
    await asyncio.sleep(0)
    assert raising not in fanout and failing not in fanout and good in fanout
    await hub.publish("live", b"\x01")
    await hub.publish("live", {"n": 1})
    hub._dispatch_gap(["live"])
    assert good.frames == [("text", False), (b"\x01", True), ('{"n": 1}', False)]
    assert len(gaps) == 1 and gaps[0].gap
    fanout.discard(good)
    fanout.discard(good)
    assert len(fanout) == 0
    fanout.close()
    assert hub.channels() == []


async def test_one_reader_per_subscription() -> None:
    hub = LocalHub()
    sub = hub.subscribe("c")
    first = asyncio.ensure_future(sub.get())
    await asyncio.sleep(0)
    with pytest.raises(RuntimeError, match="already waiting"):
        await sub.get()
    await hub.publish("c", "x")
    assert (await first).data == "x"
    async with LocalHub() as typed:
        assert isinstance(typed, LocalHub)


async def test_long_poll_relay_with_message_keys() -> None:
    hub = LocalHub()
    # Two relays stand for two processes behind a balancer: one client's polls may reach either.
    first = LongPollRelay(hub, "room", history=3, key=lambda m: m["id"], grace=0.05)
    second = LongPollRelay(hub, "room", history=3, key=lambda m: m["id"])
    assert first.cursor is None
    waiter = asyncio.ensure_future(first.wait())
    await asyncio.sleep(0)
    await hub.publish("room", {"id": "a1", "text": "one"})
    batch = await waiter
    assert [m["text"] for m in batch.messages] == ["one"] and batch.cursor == "a1"
    assert not batch.missed
    await hub.publish("room", {"id": "b2", "text": "two"})
    batch = await second.wait(batch.cursor)  # the next poll lands on the other process
    assert [m["id"] for m in batch.messages] == ["b2"] and batch.cursor == "b2"
    assert not batch.missed and second.cursor == "b2"
    for ident in ("c3", "d4", "e5"):
        await hub.publish("room", {"id": ident})
    batch = await second.wait("b2")  # b2 fell out of a history of three: no grace period
    assert [m["id"] for m in batch.messages] == ["c3", "d4", "e5"] and batch.missed
    batch = await first.wait("nobody-knows")  # after the grace period
    assert batch.missed and batch.cursor == "e5" and len(batch.messages) == 3
    later = asyncio.ensure_future(second.wait("e5"))
    await asyncio.sleep(0)
    assert second.waiting() == 1
    hub._dispatch_gap(["room"])
    batch = await later
    assert batch.messages == [] and batch.missed and batch.cursor == "e5"


async def test_long_poll_relay_unknown_key_with_empty_history() -> None:
    hub = LocalHub()
    relay = LongPollRelay(hub, "room", key=lambda m: m["id"], grace=0)
    waiter = asyncio.ensure_future(relay.wait("from-before-a-restart"))
    await asyncio.sleep(0)
    assert relay.waiting() == 1
    await hub.publish("room", {"id": 7})
    batch = await waiter
    assert batch.messages == [{"id": 7}] and batch.missed and batch.cursor == 7


async def test_long_poll_relay_waits_for_a_cursor_still_on_its_way() -> None:
    # The client heard "m1" from a faster process; this process hears it a moment later.
    fast, slow = LocalHub(), LocalHub()
    relay = LongPollRelay(slow, "room", key=lambda m: m["id"])
    await slow.publish("room", {"id": "m0"})
    waiter = asyncio.ensure_future(relay.wait("m1"))
    await asyncio.sleep(0)
    assert relay.waiting() == 1 and not waiter.done()
    await slow.publish("room", {"id": "m1"})
    await asyncio.sleep(0)
    assert not waiter.done()  # it has the cursor now: waits for what comes after it
    await slow.publish("room", {"id": "m2"})
    batch = await waiter
    assert batch.messages == [{"id": "m2"}] and not batch.missed and batch.cursor == "m2"
    assert fast.channels() == []


async def test_long_poll_relay_key_errors_are_logged(caplog: pytest.LogCaptureFixture) -> None:
    hub = LocalHub()
    relay = LongPollRelay(hub, "room", key=lambda m: m["id"])
    await hub.publish("room", {"id": 1})
    await hub.publish("room", "no id here")
    assert "key function failed" in caplog.text
    batch = await relay.wait(1)
    assert batch.messages == ["no id here"] and batch.cursor == 1


async def test_long_poll_relay_since_never_waits() -> None:
    hub = LocalHub()
    keyed = LongPollRelay(hub, "room", history=2, key=lambda m: m["id"])
    plain = LongPollRelay(hub, "room", history=2)
    empty = keyed.since()
    assert empty.messages == [] and empty.cursor is None and not empty.missed
    await hub.publish("room", {"id": "a"})
    batch = keyed.since()
    assert batch.messages == [{"id": "a"}] and batch.cursor == "a" and not batch.missed
    assert keyed.since("a").messages == [] and keyed.since("a").cursor == "a"
    for ident in ("b", "c"):
        await hub.publish("room", {"id": ident})
    batch = keyed.since()  # "a" fell out of a history of two
    assert [m["id"] for m in batch.messages] == ["b", "c"] and batch.missed
    unknown = keyed.since("zzz")  # no grace period here
    assert len(unknown.messages) == 2 and unknown.missed and unknown.cursor == "c"
    assert plain.since(2).messages == [{"id": "c"}] and plain.since(2).cursor == 3
    keyed.close()
    with pytest.raises(RuntimeError):
        keyed.since()


async def test_long_poll_relay_unknown_cursor_in_a_fresh_process_waits_for_the_next() -> None:
    # Nothing heard yet: no grace period; the next message answers, marked missed.
    hub = LocalHub()
    relay = LongPollRelay(hub, "room", key=lambda m: m["id"], grace=3600)
    waiter = asyncio.ensure_future(relay.wait("from-another-process"))
    await asyncio.sleep(0)
    await hub.publish("room", {"id": "first"})
    batch = await asyncio.wait_for(waiter, 30)
    assert batch.messages == [{"id": "first"}] and batch.missed
