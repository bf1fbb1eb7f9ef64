"""The long-polling chat: HTTP flows in-process, two processes on two loopback hosts
sharing one Redis, and two Chromium pages talking through the real command."""

from __future__ import annotations

import asyncio
import os
import re
import sys
import urllib.parse
from collections.abc import Callable, Iterator
from types import ModuleType
from typing import Any

import pytest
import squall.escape
import squall.httpclient
import squall.httpserver
import squall.testing
import squall.web
from squall.pubsub import LocalHub

DEMOS = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if DEMOS not in sys.path:
    sys.path.insert(0, DEMOS)

from chatkit.testing import served, sign_in, two_hosts_of, xsrf_of  # noqa: E402

SECRET = "chat-test-secret"


@pytest.fixture
def chat(load_demo: Callable[[str], ModuleType]) -> ModuleType:
    return load_demo("chat/chat.py")


@pytest.fixture
def room(chat: ModuleType, io_loop: Any) -> Iterator[Any]:
    room = chat.ChatRoom(history=5)
    yield room
    room.close()


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
    said = await room.say("bob", "<b>hi</b>")
    page = (await fetch("/chat/", headers={"Cookie": _user("ann")})).body.decode()
    assert 'data-prefix="/chat"' in page and f'data-cursor="{said["id"]}"' in page
    assert f'id="m{said["id"]}"' in page
    assert 'action="/chat/messages"' in page and 'action="/chat/logout"' in page
    for name in ("chat.js", "chatkit.js", "chatkit.css"):  # the demo's own and the kit's
        found = re.search(rf'"(/chat/static/{re.escape(name)}\?v=\w+)"', page)
        assert found is not None, name
        assert (await fetch(found.group(1))).code == 200
    assert "&lt;b&gt;hi&lt;/b&gt;" in page  # escaped by the template
    assert '<a class="brand" href="/chat/">squall chat</a>' in page


async def test_an_empty_room_page_starts_from_no_cursor(fetch: Callable[..., Any]) -> None:
    page = (await fetch("/chat/", headers={"Cookie": _user("ann")})).body.decode()
    assert 'data-cursor=""' in page and '<li class="message"' not in page


async def test_static_files_stay_inside_their_folders(fetch: Callable[..., Any]) -> None:
    assert (await fetch("/chat/static/..%2fchat.py")).code == 403
    assert (await fetch("/chat/static/..%2f..%2fchatkit%2f__init__.py")).code == 403
    assert (await fetch("/chat/static/nothing.js")).code == 404


async def test_posting_needs_the_xsrf_value(fetch: Callable[..., Any], room: Any) -> None:
    token = await _xsrf(fetch)
    cookies = _user("ann") + "; _xsrf=" + token
    body = urllib.parse.urlencode({"text": "hello"})
    forged = await fetch("/chat/messages", method="POST", body=body, headers={"Cookie": cookies})
    assert forged.code == 403 and room.newest == ""
    response = await fetch(
        "/chat/messages",
        method="POST",
        body=body,
        headers={"Cookie": cookies, "X-XSRFToken": token, "Accept": "application/json"},
    )
    assert response.code == 200
    message = squall.escape.json_decode(response.body)
    assert (message["author"], message["text"]) == ("ann", "hello")
    assert re.fullmatch(r"[0-9a-f]{32}", message["id"]) and room.newest == message["id"]
    anonymous = await fetch(
        "/chat/messages",
        method="POST",
        body=body,
        headers={"Cookie": "_xsrf=" + token, "X-XSRFToken": token},
    )
    assert anonymous.code == 403 and room.newest == message["id"]
    blank = await fetch(
        "/chat/messages",
        method="POST",
        body=urllib.parse.urlencode({"text": "   "}),
        headers={"Cookie": cookies, "X-XSRFToken": token},
    )
    assert blank.code == 400 and room.newest == message["id"]


async def test_late_joiners_catch_up_from_their_cursor(
    fetch: Callable[..., Any], room: Any
) -> None:
    ids = [(await room.say("bob", f"message {n}"))["id"] for n in range(1, 8)]
    assert len(set(ids)) == 7

    async def updates(cursor: str) -> list[str]:
        query = urllib.parse.urlencode({"cursor": cursor})
        response = await fetch(f"/chat/updates?{query}", headers={"Cookie": _user("ann")})
        assert response.code == 200 and response.headers["Cache-Control"] == "no-store"
        answer = squall.escape.json_decode(response.body)
        assert answer["cursor"] == ids[-1]
        return [m["id"] for m in answer["messages"]]

    assert await updates(ids[4]) == ids[5:]
    assert await updates("") == ids[2:]  # a new page: only the last five are kept
    assert await updates(ids[0]) == ids[2:]  # a cursor that fell out of the history
    assert await updates("f00d") == ids[2:]  # a page older than a restart


async def test_a_waiting_poll_wakes_on_the_next_message(
    fetch: Callable[..., Any], room: Any
) -> None:
    before = await room.say("bob", "before")
    waiting = asyncio.ensure_future(
        fetch(f"/chat/updates?cursor={before['id']}", headers={"Cookie": _user("ann")})
    )
    await _eventually(lambda: room.listeners == 1)
    assert not waiting.done()
    after = await room.say("bob", "after")
    answer = squall.escape.json_decode((await waiting).body)
    assert [m["text"] for m in answer["messages"]] == ["after"]
    assert answer["cursor"] == after["id"]
    assert room.listeners == 0


async def test_the_first_poll_of_an_empty_room_waits_for_the_first_message(
    fetch: Callable[..., Any], room: Any
) -> None:
    waiting = asyncio.ensure_future(fetch("/chat/updates", headers={"Cookie": _user("ann")}))
    await _eventually(lambda: room.listeners == 1)
    first = await room.say("bob", "first")
    answer = squall.escape.json_decode((await waiting).body)
    assert answer == {"messages": [first], "cursor": first["id"]}


async def test_an_idle_poll_ends_empty(chat: ModuleType, room: Any) -> None:
    app = chat.make_app(room=room, cookie_secret=SECRET, poll_seconds=0.05)
    server = squall.httpserver.HTTPServer(app)
    sock, port = squall.testing.bind_unused_port()
    server.add_sockets([sock])
    client = squall.httpclient.AsyncHTTPClient(force_instance=True)
    try:
        response = await client.fetch(
            f"http://127.0.0.1:{port}/updates", headers={"Cookie": _user("ann")}
        )
        assert squall.escape.json_decode(response.body) == {"messages": [], "cursor": ""}
        said = await room.say("bob", "hello")
        response = await client.fetch(
            f"http://127.0.0.1:{port}/updates?cursor={said['id']}",
            headers={"Cookie": _user("ann")},
        )
        assert squall.escape.json_decode(response.body) == {"messages": [], "cursor": said["id"]}
        await _eventually(lambda: room.listeners == 0)
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
    said = await room.say("bob", "nobody was listening")
    assert room.newest == said["id"]


async def test_rooms_on_one_hub_share_messages_and_cursors(chat: ModuleType) -> None:
    """Two apps on one hub stand for two processes: a post on one reaches the other's
    polls, and a cursor from one is good on the other."""
    hub = LocalHub()
    rooms = [chat.ChatRoom(history=5, hub=hub) for _ in range(2)]
    client = squall.httpclient.AsyncHTTPClient(force_instance=True)

    async def poll(base: str, cursor: str) -> dict[str, Any]:
        answer = await client.fetch(
            f"{base}/updates?cursor={cursor}", headers={"Cookie": _user("ann")}
        )
        return squall.escape.json_decode(answer.body)  # type: ignore[no-any-return]

    try:
        with served(*(chat.make_app(room=r, cookie_secret=SECRET) for r in rooms)) as bases:
            first = await rooms[0].say("bob", "to both")
            assert rooms[1].newest == first["id"]
            waiting = asyncio.ensure_future(poll(bases[1], first["id"]))
            await _eventually(lambda: rooms[1].listeners == 1)
            second = await rooms[0].say("bob", "still to both")
            assert (await waiting)["messages"] == [second]
            assert (await poll(bases[0], first["id"]))["messages"] == [second]
    finally:
        client.close()
        for room in rooms:
            room.close()


async def test_a_post_the_hub_cannot_carry_is_refused(fetch: Callable[..., Any], room: Any) -> None:
    await room.hub.close()
    token = await _xsrf(fetch)
    response = await fetch(
        "/chat/messages",
        method="POST",
        body=urllib.parse.urlencode({"text": "lost?"}),
        headers={"Cookie": _user("ann") + "; _xsrf=" + token, "X-XSRFToken": token},
    )
    assert response.code == 503 and room.newest == ""


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


two_hosts = two_hosts_of("chat/chat.py")


async def _post(client: Any, base: str, cookie: str, text: str) -> dict[str, Any]:
    answer = await client.fetch(
        base + "/messages",
        method="POST",
        body=urllib.parse.urlencode({"text": text}),
        headers={"Cookie": cookie, "X-XSRFToken": xsrf_of(cookie), "Accept": "application/json"},
    )
    return squall.escape.json_decode(answer.body)  # type: ignore[no-any-return]


async def _poll(client: Any, base: str, cookie: str, cursor: str) -> dict[str, Any]:
    query = urllib.parse.urlencode({"cursor": cursor})
    answer = await client.fetch(
        f"{base}/updates?{query}", headers={"Cookie": cookie}, request_timeout=20
    )
    return squall.escape.json_decode(answer.body)  # type: ignore[no-any-return]


async def test_two_processes_on_two_hosts_share_the_room(two_hosts: list[str]) -> None:
    here, there = two_hosts
    ann = await sign_in(here + "/login", "ann")
    bob = await sign_in(there + "/login", "bob")
    client = squall.httpclient.AsyncHTTPClient(force_instance=True)
    try:
        # bob's poll waits in the other process until ann speaks in this one
        waiting = asyncio.ensure_future(_poll(client, there, bob, ""))
        said = await _post(client, here, ann, "hello from 127.0.0.1")
        answer = await asyncio.wait_for(waiting, 20)
        assert answer == {"messages": [said], "cursor": said["id"]}
        # and back: ann's process hears bob, and bob's cursor means the same there
        reply = await _post(client, there, bob, "hi from 127.0.0.2")
        answer = await _poll(client, here, ann, said["id"])
        assert answer["messages"] == [reply] and answer["cursor"] == reply["id"]
        page = await client.fetch(there + "/", headers={"Cookie": bob})
        assert said["text"] in page.body.decode()  # a page loaded there shows both
    finally:
        client.close()


async def test_polls_that_alternate_between_processes_miss_nothing(two_hosts: list[str]) -> None:
    # one sign-in serves both: the processes share the cookie secret, like behind a balancer
    carol = await sign_in(two_hosts[0] + "/login", "carol")
    client = squall.httpclient.AsyncHTTPClient(force_instance=True)
    try:
        posted: list[str] = []
        seen: list[str] = []
        cursor, polls = "", 0
        for n in range(6):
            posted.append((await _post(client, two_hosts[n % 2], carol, f"m{n}"))["id"])
            for _ in range(10):  # until caught up; every poll goes to the other process
                polls += 1
                answer = await _poll(client, two_hosts[polls % 2], carol, cursor)
                seen.extend(m["id"] for m in answer["messages"] if m["id"] not in seen)
                cursor = answer["cursor"]
                if seen[-1:] == posted[-1:]:
                    break
        assert seen == posted
    finally:
        client.close()
