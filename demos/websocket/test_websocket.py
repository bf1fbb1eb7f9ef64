"""The WebSocket chat: the upgrade's checks and the room in-process, two processes on
two loopback hosts sharing one Redis, two Chromium pages for real."""

from __future__ import annotations

import asyncio
import json
import os
import sys
import time
from collections.abc import Callable, Iterator
from types import ModuleType
from typing import Any

import pytest
import squall.httpclient
import squall.httpserver
import squall.testing
import squall.web
import squall.websocket
from squall.pubsub import LocalHub, Message

DEMOS = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if DEMOS not in sys.path:
    sys.path.insert(0, DEMOS)

from chatkit.testing import served, sign_in, two_hosts_of  # noqa: E402

SECRET = "wschat-test-secret"


@pytest.fixture
def wschat(load_demo: Callable[[str], ModuleType]) -> ModuleType:
    return load_demo("websocket/wschat.py")


@pytest.fixture
def room(wschat: ModuleType, io_loop: Any) -> Iterator[Any]:
    room = wschat.Room(history=3)
    yield room
    room.close()


@pytest.fixture
def app(wschat: ModuleType, room: Any) -> Any:
    return wschat.make_app("/ws", room=room, cookie_secret=SECRET)


def _cookie(name: str) -> str:
    return "wschat_user=" + squall.web.create_signed_value(SECRET, "wschat_user", name).decode()


async def _connect(
    base_url: str, cookie: str | None, cursor: str = "", path: str = "/ws/socket", **headers: str
) -> Any:
    if cookie is not None:
        headers["Cookie"] = cookie
    request = squall.httpclient.HTTPRequest(
        base_url.replace("http://", "ws://") + f"{path}?cursor={cursor}", headers=headers
    )
    return await squall.websocket.websocket_connect(request)


async def _read(connection: Any) -> dict[str, Any]:
    frame = await asyncio.wait_for(connection.read_message(), 5)
    assert frame is not None, "the server closed the socket"
    return json.loads(frame)  # type: ignore[no-any-return]


async def _close(connection: Any) -> None:
    """Close a client socket, skipping what was still on its way, until the server closed too."""
    connection.close()
    for _ in range(100):
        if await asyncio.wait_for(connection.read_message(), 5) is None:
            return
    raise AssertionError("the server never closed")


async def _hang_up(room: Any, *connections: Any) -> None:
    """Close client sockets and wait until the server saw them go (nothing left open)."""
    for connection in connections:
        await _close(connection)
    for _ in range(200):
        if not room.sockets:
            return
        await asyncio.sleep(0.01)
    raise AssertionError("the server kept a closed socket")


async def _backlog(connection: Any) -> list[str]:
    """What a socket is sent on opening: the kept messages, up to the first "who is online"."""
    lines = []
    while "online" not in (frame := await _read(connection)):
        lines.append(frame["author"] + ": " + frame["text"])
    return lines


async def _next_message(connection: Any) -> str:
    while "id" not in (frame := await _read(connection)):  # skip "who is online" updates
        pass
    return str(frame["author"] + ": " + frame["text"])


async def _online(connection: Any, *names: str) -> None:
    """Read frames until "who is online" says ``names`` (bounded)."""
    for _ in range(20):
        frame = await _read(connection)
        if frame.get("online") == list(names):
            return
    raise AssertionError(f"never saw {names} online")


async def test_the_upgrade_needs_a_signed_nickname(base_url: str, room: Any) -> None:
    with pytest.raises(squall.httpclient.HTTPClientError) as refused:
        await _connect(base_url, None)
    assert refused.value.code == 403
    forged = _cookie("ann")[:-3] + "xyz"
    with pytest.raises(squall.httpclient.HTTPClientError) as refused:
        await _connect(base_url, forged)
    assert refused.value.code == 403
    assert not room.sockets


async def test_other_sites_pages_are_refused(base_url: str, room: Any) -> None:
    with pytest.raises(squall.httpclient.HTTPClientError) as refused:
        await _connect(base_url, _cookie("ann"), Origin="http://elsewhere.example")
    assert refused.value.code == 403
    same_site = await _connect(base_url, _cookie("ann"), Origin=base_url)
    assert await _backlog(same_site) == []
    await _hang_up(room, same_site)


async def test_two_sockets_talk_and_presence_follows(base_url: str, room: Any) -> None:
    ann = await _connect(base_url, _cookie("ann"))
    assert await _read(ann) == {"online": ["ann"]}
    bob = await _connect(base_url, _cookie("bob"))
    assert await _read(bob) == {"online": ["ann", "bob"]}
    assert await _read(ann) == {"online": ["ann", "bob"]}
    second_tab = await _connect(base_url, _cookie("bob"))
    assert await _read(second_tab) == {"online": ["ann", "bob"]}  # told, though nothing changed
    ann.write_message(json.dumps({"text": "  hi bob  "}))
    assert await _next_message(bob) == "ann: hi bob"
    assert await _next_message(ann) == "ann: hi bob"
    ann.write_message(json.dumps({"text": "   "}))  # blank: nothing is sent
    ann.write_message(json.dumps({"text": "again"}))
    assert await _next_message(second_tab) == "ann: hi bob"
    for connection in (ann, bob, second_tab):
        assert await _next_message(connection) == "ann: again"
    second_tab.close()
    assert await second_tab.read_message() is None
    bob.close()
    assert await bob.read_message() is None
    assert await _read(ann) == {"online": ["ann"]}
    ann.write_message("not json")
    assert await ann.read_message() is None
    assert ann.close_code == 1003
    await _hang_up(room)


async def test_a_late_joiner_resumes_from_its_cursor(base_url: str, room: Any) -> None:
    ids = [(await room.say("bob", f"m{n}"))["id"] for n in range(1, 6)]
    late = await _connect(base_url, _cookie("carol"), cursor=ids[2])
    assert await _backlog(late) == ["bob: m4", "bob: m5"]
    fresh = await _connect(base_url, _cookie("dave"))
    assert await _backlog(fresh) == ["bob: m3", "bob: m4", "bob: m5"]  # 3 kept
    current = await _connect(base_url, _cookie("erin"), cursor=ids[-1])
    assert await _backlog(current) == []
    stale = await _connect(base_url, _cookie("fred"), cursor=ids[0])  # fell out of the history
    assert await _backlog(stale) == ["bob: m3", "bob: m4", "bob: m5"]
    await _hang_up(room, late, fresh, current, stale)


async def test_a_message_the_hub_cannot_carry_is_reported(base_url: str, room: Any) -> None:
    ann = await _connect(base_url, _cookie("ann"))
    assert await _backlog(ann) == []
    await room.hub.close()
    ann.write_message(json.dumps({"text": "lost?"}))
    frame = await _read(ann)
    assert frame["error"].startswith("Not sent")
    await _hang_up(room, ann)


async def test_rooms_on_one_hub_share_messages_and_presence(
    wschat: ModuleType, io_loop: Any
) -> None:
    """Two apps on one hub stand for two processes: messages, resuming and who is online
    are the same in both."""
    hub = LocalHub()
    rooms = [wschat.Room(history=3, hub=hub) for _ in range(2)]
    try:
        with served(*(wschat.make_app(room=r, cookie_secret=SECRET) for r in rooms)) as bases:
            ann = await _connect(bases[0], _cookie("ann"), path="/socket")
            assert await _read(ann) == {"online": ["ann"]}
            bob = await _connect(bases[1], _cookie("bob"), path="/socket")
            await _online(bob, "ann", "bob")
            await _online(ann, "ann", "bob")
            ann.write_message(json.dumps({"text": "across"}))
            assert await _next_message(bob) == "ann: across"
            cursor = rooms[0].relay.cursor
            assert cursor == rooms[1].relay.cursor
            said = await rooms[1].say("bob", "after the cursor")
            resumed = await _connect(bases[0], _cookie("carol"), cursor=cursor, path="/socket")
            assert await _backlog(resumed) == ["bob: after the cursor"]
            assert said["id"] == rooms[0].relay.cursor
            await _close(bob)
            await _close(resumed)
            await _online(ann, "ann")
            await _close(ann)
    finally:
        for room in rooms:
            room.close()


def test_presence_merges_what_every_process_announces(wschat: ModuleType, io_loop: Any) -> None:
    """Announcements replace what was known of their origin; an ask is answered; an origin
    not heard from for three beats is forgotten; a gap makes a process ask again."""
    hub = LocalHub()
    seen: list[list[str]] = []
    published: list[Any] = []

    async def scenario() -> None:
        spy = hub.add_listener("who", lambda m: published.append(m.data))
        here = wschat.Presence(hub, "who", seen.append, beat=3600)
        there = wschat.Presence(hub, "who", lambda names: None, beat=3600)
        there.update({"bob"})
        await asyncio.sleep(0)
        here.update({"ann", "amy"})  # first time: asks, and "there" answers
        for _ in range(5):
            await asyncio.sleep(0)
        assert here.online() == ["amy", "ann", "bob"]
        assert [p.get("ask", False) for p in published] == [True, True, False]
        there.update({"bob", "ben"})
        await asyncio.sleep(0)
        assert seen[-1] == ["amy", "ann", "ben", "bob"]
        here.update({"ann", "amy"})  # no change: nothing announced
        await asyncio.sleep(0)
        assert len(published) == 4
        there.close()
        # Long ago: four beats before now on the clock _tick reads (not 0.0,
        # which is not long ago on a machine up for less than three beats).
        long_ago = time.monotonic() - 4 * here.beat
        here.heard[there.origin] = (here.heard[there.origin][0], long_ago)
        here._tick()
        assert seen[-1] == ["amy", "ann"]
        here._on_news(Message("who", None, gap=True))  # the hub lost messages
        await asyncio.sleep(0)
        assert published[-1] == {"from": here.origin, "names": ["amy", "ann"], "ask": True}
        here.close()
        spy.remove()

    io_loop.run_sync(scenario)


async def test_pages_are_built_under_the_prefix(fetch: Callable[..., Any]) -> None:
    response = await fetch("/ws/", follow_redirects=False)
    assert response.code == 302 and response.headers["Location"].startswith("/ws/login?")
    page = (await fetch("/ws/", headers={"Cookie": _cookie("ann")})).body.decode()
    assert 'data-socket="/ws/socket"' in page and "/ws/static/wschat.js?v=" in page


def test_two_browsers_talk(
    run_demo: Callable[..., str], browser: Callable[[], Any], tmp_path: Any
) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    url = run_demo("websocket/wschat.py")
    ann, bob = browser(), browser()
    for session, nickname in ((ann, "ann"), (bob, "bob")):
        session.get(url + "/")
        session.find_element(By.ID, "nickname").send_keys(nickname)
        session.find_element(By.ID, "join").click()
        assert session.find_element(By.ID, "me").text == nickname

    def lines(session: Any) -> list[str]:
        return [e.text for e in session.find_elements(By.CSS_SELECTOR, "#messages .message")]

    def say(session: Any, text: str) -> None:
        WebDriverWait(session, 10).until(
            lambda s: s.find_element(By.ID, "status").text == ""  # the socket is open
        )
        session.find_element(By.ID, "text").send_keys(text)
        session.find_element(By.ID, "send").click()

    WebDriverWait(ann, 10).until(
        lambda s: s.find_element(By.ID, "online").text == "Here now: ann, bob"
    )
    say(ann, "hello over a websocket")
    WebDriverWait(bob, 10).until(lambda s: "ann hello over a websocket" in lines(s))
    say(bob, "loud and clear")
    WebDriverWait(ann, 10).until(lambda s: len(lines(s)) == 2)
    WebDriverWait(bob, 10).until(lambda s: len(lines(s)) == 2)
    assert lines(ann) == lines(bob) == ["ann hello over a websocket", "bob loud and clear"]
    ann.save_screenshot(str(tmp_path / "websocket-ann.png"))
    bob.save_screenshot(str(tmp_path / "websocket-bob.png"))


two_hosts = two_hosts_of("websocket/wschat.py")


async def test_two_processes_on_two_hosts_share_the_room(two_hosts: list[str]) -> None:
    here, there = two_hosts
    bob_cookie = await sign_in(there + "/login", "bob")
    ann = await _connect(here, await sign_in(here + "/login", "ann"), path="/socket")
    assert await _read(ann) == {"online": ["ann"]}
    bob = await _connect(there, bob_cookie, path="/socket")
    await _online(bob, "ann", "bob")  # bob's process asked who is where
    await _online(ann, "ann", "bob")
    ann.write_message(json.dumps({"text": "hello from 127.0.0.1"}))
    assert await _next_message(bob) == "ann: hello from 127.0.0.1"
    assert await _next_message(ann) == "ann: hello from 127.0.0.1"
    bob.write_message(json.dumps({"text": "hi from 127.0.0.2"}))
    assert await _next_message(ann) == "bob: hi from 127.0.0.2"
    last = await _read(bob)
    assert last["text"] == "hi from 127.0.0.2"
    await _close(bob)
    await _online(ann, "ann")  # bob's process said he left
    ann.write_message(json.dumps({"text": "while bob was away"}))
    assert await _next_message(ann) == "ann: while bob was away"
    # bob's tab comes back through the other process, and resumes from its cursor there
    bob = await _connect(here, bob_cookie, cursor=last["id"], path="/socket")
    assert await _backlog(bob) == ["ann: while bob was away"]
    await _close(ann)
    await _close(bob)
