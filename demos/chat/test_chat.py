"""The long-polling chat: HTTP flows in-process, two Chromium pages talking through the real command."""

from __future__ import annotations

import asyncio
import re
import urllib.parse
from collections.abc import Callable
from types import ModuleType
from typing import Any

import pytest
import squall.escape
import squall.httpclient
import squall.httpserver
import squall.testing
import squall.web

SECRET = "chat-test-secret"


@pytest.fixture
def chat(load_demo: Callable[[str], ModuleType]) -> ModuleType:
    return load_demo("chat/chat.py")


@pytest.fixture
def room(chat: ModuleType) -> Any:
    return chat.ChatRoom(history=5)


@pytest.fixture
def app(chat: ModuleType, room: Any) -> Any:
    return chat.make_app("/chat", room=room, cookie_secret=SECRET, poll_seconds=5)


def _user(name: str) -> str:
    return "chat_user=" + squall.web.create_signed_value(SECRET, "chat_user", name).decode()


async def _xsrf(fetch: Callable[..., Any]) -> str:
    response = await fetch("/chat/login")
    found = re.search(r"_xsrf=([^;]+)", response.headers["Set-Cookie"])
    assert found is not None
    return found.group(1)


async def _eventually(condition: Callable[[], bool]) -> None:
    for _ in range(200):
        if condition():
            return
        await asyncio.sleep(0.01)
    raise AssertionError("the condition never held")


async def test_room_needs_a_nickname(fetch: Callable[..., Any]) -> None:
    response = await fetch("/chat/", follow_redirects=False)
    assert response.code == 302
    assert response.headers["Location"] == "/chat/login?next=%2Fchat%2F"
    assert (await fetch("/chat/updates?cursor=0")).code == 403


async def test_login_is_xsrf_protected_and_signs_the_nickname(fetch: Callable[..., Any]) -> None:
    body = urllib.parse.urlencode({"nickname": "ann"})
    assert (await fetch("/chat/login", method="POST", body=body)).code == 403
    token = await _xsrf(fetch)
    response = await fetch(
        "/chat/login",
        method="POST",
        body=urllib.parse.urlencode({"nickname": "ann", "_xsrf": token}),
        headers={"Cookie": "_xsrf=" + token},
        follow_redirects=False,
    )
    assert response.code == 302 and response.headers["Location"] == "/chat/"
    cookie = response.headers["Set-Cookie"]
    assert cookie.startswith("chat_user=2|") and "Path=/chat" in cookie and "HttpOnly" in cookie
    too_long = urllib.parse.urlencode({"nickname": "x" * 33, "_xsrf": token})
    response = await fetch(
        "/chat/login", method="POST", body=too_long, headers={"Cookie": "_xsrf=" + token}
    )
    assert response.code == 400 and "1 to 32 characters" in response.body.decode()


async def test_page_is_built_under_the_prefix(fetch: Callable[..., Any], room: Any) -> None:
    room.say("bob", "<b>hi</b>")
    page = (await fetch("/chat/", headers={"Cookie": _user("ann")})).body.decode()
    assert 'data-prefix="/chat"' in page and 'data-cursor="1"' in page
    assert 'action="/chat/messages"' in page and 'action="/chat/logout"' in page
    script = re.search(r'src="(/chat/static/chat\.js\?v=\w+)"', page)
    assert script is not None
    assert "&lt;b&gt;hi&lt;/b&gt;" in page  # escaped by the template
    assert (await fetch(script.group(1))).code == 200


async def test_posting_needs_the_xsrf_value(fetch: Callable[..., Any], room: Any) -> None:
    token = await _xsrf(fetch)
    cookies = _user("ann") + "; _xsrf=" + token
    body = urllib.parse.urlencode({"text": "hello"})
    forged = await fetch("/chat/messages", method="POST", body=body, headers={"Cookie": cookies})
    assert forged.code == 403 and room.newest == 0
    response = await fetch(
        "/chat/messages",
        method="POST",
        body=body,
        headers={"Cookie": cookies, "X-XSRFToken": token, "Accept": "application/json"},
    )
    assert response.code == 200
    message = squall.escape.json_decode(response.body)
    assert (message["id"], message["author"], message["text"]) == (1, "ann", "hello")
    anonymous = await fetch(
        "/chat/messages",
        method="POST",
        body=body,
        headers={"Cookie": "_xsrf=" + token, "X-XSRFToken": token},
    )
    assert anonymous.code == 403 and room.newest == 1


async def test_late_joiners_catch_up_from_their_cursor(
    fetch: Callable[..., Any], room: Any
) -> None:
    for n in range(1, 8):
        room.say("bob", f"message {n}")

    async def updates(cursor: int) -> list[int]:
        response = await fetch(f"/chat/updates?cursor={cursor}", headers={"Cookie": _user("ann")})
        assert response.code == 200 and response.headers["Cache-Control"] == "no-store"
        answer = squall.escape.json_decode(response.body)
        assert answer["cursor"] == 7
        return [m["id"] for m in answer["messages"]]

    assert await updates(5) == [6, 7]
    assert await updates(0) == [3, 4, 5, 6, 7]  # only the last five are kept
    assert await updates(99) == [3, 4, 5, 6, 7]  # a page older than a restart
    bad = await fetch("/chat/updates?cursor=x", headers={"Cookie": _user("ann")})
    assert bad.code == 400


async def test_a_waiting_poll_wakes_on_the_next_message(
    fetch: Callable[..., Any], room: Any
) -> None:
    room.say("bob", "before")
    waiting = asyncio.ensure_future(
        fetch("/chat/updates?cursor=1", headers={"Cookie": _user("ann")})
    )
    await _eventually(lambda: room.listeners == 1)
    assert not waiting.done()
    room.say("bob", "after")
    answer = squall.escape.json_decode((await waiting).body)
    assert [m["text"] for m in answer["messages"]] == ["after"]
    assert room.listeners == 0


async def test_an_idle_poll_ends_empty(chat: ModuleType, room: Any) -> None:
    app = chat.make_app(room=room, cookie_secret=SECRET, poll_seconds=0.05)
    server = squall.httpserver.HTTPServer(app)
    sock, port = squall.testing.bind_unused_port()
    server.add_sockets([sock])
    client = squall.httpclient.AsyncHTTPClient(force_instance=True)
    try:
        response = await client.fetch(
            f"http://127.0.0.1:{port}/updates?cursor=0", headers={"Cookie": _user("ann")}
        )
        assert squall.escape.json_decode(response.body) == {"messages": [], "cursor": 0}
        assert room.listeners == 0
    finally:
        client.close()
        server.stop()


async def test_a_client_that_leaves_is_forgotten(
    http_port: int, http_server: Any, room: Any
) -> None:
    _, writer = await asyncio.open_connection("127.0.0.1", http_port)
    writer.write(
        b"GET /chat/updates?cursor=0 HTTP/1.1\r\nHost: x\r\nCookie: %s\r\n\r\n"
        % _user("ann").encode()
    )
    await _eventually(lambda: room.listeners == 1)
    writer.close()
    await _eventually(lambda: room.listeners == 0)  # on_connection_close let go
    room.say("bob", "nobody was listening")
    assert room.newest == 1


def test_two_browsers_talk(
    run_demo: Callable[..., str], browser: Callable[[], Any], tmp_path: Any
) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    url = run_demo("chat/chat.py")
    ann, bob = browser(), browser()
    for session, nickname in ((ann, "ann"), (bob, "bob")):
        session.get(url + "/")
        session.find_element(By.ID, "nickname").send_keys(nickname)
        session.find_element(By.ID, "join").click()
        assert session.find_element(By.ID, "me").text == nickname

    def say(session: Any, text: str) -> None:
        session.find_element(By.ID, "text").send_keys(text)
        session.find_element(By.ID, "send").click()

    def lines(session: Any) -> list[str]:
        return [e.text for e in session.find_elements(By.CSS_SELECTOR, "#messages .message")]

    say(ann, "hello from ann")
    WebDriverWait(bob, 10).until(lambda s: "ann hello from ann" in lines(s))
    say(bob, "hi ann, bob here")
    WebDriverWait(ann, 10).until(lambda s: "bob hi ann, bob here" in lines(s))
    WebDriverWait(bob, 10).until(lambda s: len(lines(s)) == 2)
    assert lines(ann) == lines(bob) == ["ann hello from ann", "bob hi ann, bob here"]
    ann.save_screenshot(str(tmp_path / "chat-ann.png"))
    bob.save_screenshot(str(tmp_path / "chat-bob.png"))
    # a late joiner sees the history the room kept
    carol = browser()
    carol.get(url + "/")
    carol.find_element(By.ID, "nickname").send_keys("carol")
    carol.find_element(By.ID, "join").click()
    assert lines(carol) == lines(ann)
    assert "chat_user" in {c["name"] for c in carol.get_cookies()}
