"""The WebSocket chat: the upgrade's checks and the room in-process, two Chromium pages for real."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from types import ModuleType
from typing import Any

import pytest
import squall.httpclient
import squall.web
import squall.websocket

SECRET = "wschat-test-secret"


@pytest.fixture
def wschat(load_demo: Callable[[str], ModuleType]) -> ModuleType:
    return load_demo("websocket/wschat.py")


@pytest.fixture
def room(wschat: ModuleType) -> Any:
    return wschat.Room(history=3)


@pytest.fixture
def app(wschat: ModuleType, room: Any) -> Any:
    return wschat.make_app("/ws", room=room, cookie_secret=SECRET)


def _cookie(name: str) -> str:
    return "wschat_user=" + squall.web.create_signed_value(SECRET, "wschat_user", name).decode()


async def _connect(base_url: str, cookie: str | None, cursor: int = 0, **headers: str) -> Any:
    if cookie is not None:
        headers["Cookie"] = cookie
    request = squall.httpclient.HTTPRequest(
        base_url.replace("http://", "ws://") + f"/ws/socket?cursor={cursor}", headers=headers
    )
    return await squall.websocket.websocket_connect(request)


async def _read(connection: Any) -> dict[str, Any]:
    frame = await asyncio.wait_for(connection.read_message(), 5)
    assert frame is not None, "the server closed the socket"
    return json.loads(frame)  # type: ignore[no-any-return]


async def _hang_up(room: Any, *connections: Any) -> None:
    """Close client sockets and wait until the server saw them go (nothing left open)."""
    for connection in connections:
        connection.close()
        while await asyncio.wait_for(connection.read_message(), 5) is not None:
            pass
    for _ in range(200):
        if not room.sockets:
            return
        await asyncio.sleep(0.01)
    raise AssertionError("the server kept a closed socket")


async def _next_messages(connection: Any) -> list[str]:
    while True:  # skip "who is online" updates
        event = await _read(connection)
        if "messages" in event:
            return [m["author"] + ": " + m["text"] for m in event["messages"]]


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
    assert await _next_messages(same_site) == []
    await _hang_up(room, same_site)


async def test_two_sockets_talk_and_presence_follows(base_url: str, room: Any) -> None:
    ann = await _connect(base_url, _cookie("ann"))
    assert await _read(ann) == {"messages": []}
    assert await _read(ann) == {"online": ["ann"]}
    bob = await _connect(base_url, _cookie("bob"))
    assert await _read(bob) == {"messages": []}
    assert await _read(bob) == {"online": ["ann", "bob"]}
    assert await _read(ann) == {"online": ["ann", "bob"]}
    ann.write_message(json.dumps({"text": "  hi bob  "}))
    assert await _next_messages(bob) == ["ann: hi bob"]
    assert await _next_messages(ann) == ["ann: hi bob"]
    bob.close()
    assert await bob.read_message() is None
    assert await _read(ann) == {"online": ["ann"]}
    ann.write_message("not json")
    assert await ann.read_message() is None
    assert ann.close_code == 1003
    await _hang_up(room)


async def test_a_late_joiner_resumes_from_its_cursor(base_url: str, room: Any) -> None:
    for n in range(1, 6):
        room.add("bob", f"m{n}")
    late = await _connect(base_url, _cookie("carol"), cursor=3)
    assert await _next_messages(late) == ["bob: m4", "bob: m5"]
    fresh = await _connect(base_url, _cookie("dave"))
    assert await _next_messages(fresh) == ["bob: m3", "bob: m4", "bob: m5"]  # 3 kept
    await _hang_up(room, late, fresh)


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
