"""The demo site under real ASGI servers: demos/asgi.py served by uvicorn and by hypercorn.

Each server runs as a subprocess on a free port of 127.0.0.1, started the
way demos/asgi.py's docstring says (uvicorn with its pure-Python h11
protocol), with the data dir in the test's tmp dir. Everything goes over
real sockets: pages and redirects, the guestbook's XSRF-protected forms, the
chat's long poll, the WebSocket chat, a streamed upload and static files.
"""

from __future__ import annotations

import asyncio
import hashlib
import http.cookiejar
import importlib.util
import json
import os
import re
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import squall.httpclient
import squall.web
import squall.websocket

DEMOS = os.path.dirname(os.path.abspath(__file__))
if DEMOS not in sys.path:
    sys.path.insert(0, DEMOS)

from chatkit.testing import redis_server, sign_in, xsrf_of  # noqa: E402
from test_demo import MOUNTS, _free_port, _landing_links  # noqa: E402

SERVERS = ("uvicorn", "hypercorn")
LIMIT = 20.0  # seconds a server gets to come up, an exchange to finish


def _command(kind: str, port: int) -> list[str]:
    """How demos/asgi.py's docstring starts each server, on ``port``."""
    if kind == "uvicorn":
        where = ["--app-dir", "demos", "--host", "127.0.0.1", "--port", str(port)]
        return [sys.executable, "-m", "uvicorn", *where, "--http", "h11", "asgi:app"]
    return [sys.executable, "-m", "hypercorn", "--bind", f"127.0.0.1:{port}", "demos/asgi:app"]


class Served:
    """One ASGI server process serving the demo site."""

    def __init__(self, kind: str, data: Path, log: Path, pubsub: str | None = None) -> None:
        self.kind = kind
        self.data = data
        self.log = log
        self.port = _free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        env = dict(os.environ, SQUALL_DEMO_DATA=str(data))
        env.pop("SQUALL_DEMO_PUBSUB", None)
        if pubsub is not None:
            env["SQUALL_DEMO_PUBSUB"] = pubsub
        with open(log, "wb") as sink:
            self.proc = subprocess.Popen(
                _command(kind, self.port),
                cwd=os.path.dirname(DEMOS),
                env=env,
                stdout=sink,
                stderr=subprocess.STDOUT,
            )

    def wait_until_up(self) -> None:
        deadline = time.monotonic() + LIMIT
        while True:
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise AssertionError(f"{self.kind} did not come up:\n{self.log.read_text()}")
            try:
                with urllib.request.urlopen(self.base + "/robots.txt", timeout=2) as answer:
                    if answer.status == 200:
                        return
            except OSError:
                time.sleep(0.1)

    def stop(self) -> int:
        """SIGTERM (the servers' orderly shutdown: lifespan, then exit); its exit status."""
        self.proc.terminate()
        try:
            return self.proc.wait(LIMIT)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(LIMIT)
            raise AssertionError(f"{self.kind} ignored SIGTERM:\n{self.log.read_text()}") from None


@pytest.fixture(scope="module", params=SERVERS)
def served(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Served]:
    kind = request.param
    if importlib.util.find_spec(kind) is None:
        if os.environ.get("CI"):
            pytest.fail(f"CI runs the demo site under {kind} (tox.ini's demo env installs it)")
        pytest.skip(f"{kind} is not installed")
    folder = tmp_path_factory.mktemp(kind)
    server = Served(kind, folder / "data", folder / "server.log")
    try:
        server.wait_until_up()
        yield server
    finally:
        status = server.stop()
    # uvicorn re-raises the SIGTERM it handled once it has shut down; a crash is another status
    assert status in (0, -signal.SIGTERM), server.log.read_text()
    assert "Traceback" not in server.log.read_text()


# -- a small browser for the form flows --------------------------------------------------------


class _Stay(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: object, **kwargs: object) -> None:
        return None


class Browser:
    """urllib with a cookie jar; redirects followed unless ``follow=False``."""

    def __init__(self, base: str, follow: bool = True) -> None:
        self.base = base
        self.jar = http.cookiejar.CookieJar()
        extra: list[urllib.request.BaseHandler] = [] if follow else [_Stay()]
        self.opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(self.jar), *extra
        )

    def open(
        self, path: str, form: dict[str, str] | None = None, **headers: str
    ) -> tuple[int, Any, str]:
        data = None if form is None else urllib.parse.urlencode(form).encode()
        request = urllib.request.Request(self.base + path, data=data, headers=headers)
        try:
            with self.opener.open(request, timeout=LIMIT) as answer:
                return answer.status, answer.headers, answer.read().decode(errors="replace")
        except urllib.error.HTTPError as error:
            with error:
                return error.code, error.headers, error.read().decode(errors="replace")

    def cookie(self, name: str) -> str:
        values = [c.value for c in self.jar if c.name == name and c.value]
        assert values, f"no {name} cookie in {[c.name for c in self.jar]}"
        return str(values[0])


# -- the site --------------------------------------------------------------------------------


def test_landing_page_links_every_demo_and_each_answers(served: Served) -> None:
    browser = Browser(served.base)
    status, headers, body = browser.open("/")
    assert status == 200 and headers["Content-Type"] == "text/html; charset=UTF-8"
    assert "<h1>squall demos</h1>" in body
    links = _landing_links(body)
    for mount in MOUNTS.values():
        assert mount in links, (mount, links)
    for mount in MOUNTS.values():
        status, headers, page = browser.open(mount)
        assert status == 200, (mount, page[:300])
        assert headers["Content-Type"].startswith("text/html"), mount
    # one framing per response: the ASGI server's, no second Date or Server field
    assert len(headers.get_all("Date")) == 1 and len(headers.get_all("Server")) == 1
    status, headers, _ = Browser(served.base, follow=False).open("/blog")
    assert status == 301 and headers["Location"] == "/blog/"
    assert browser.open("/no-such-demo/")[0] == 404


def test_hello_world(served: Served) -> None:
    status, headers, body = Browser(served.base).open("/hello/")
    assert (status, body) == (200, "Hello, world")
    assert headers["Content-Type"] == "text/html; charset=UTF-8"


def test_static_files(served: Served) -> None:
    browser = Browser(served.base)
    status, _, body = browser.open("/robots.txt")
    assert status == 200 and body.startswith("User-agent: *")
    found = re.search(
        r'href="(/guestbook/static/site\.css\?v=[0-9a-f]+)"', browser.open("/guestbook/")[2]
    )
    assert found is not None
    status, headers, css = browser.open(found.group(1))
    assert status == 200 and headers["Content-Type"].startswith("text/css") and "font:" in css
    assert "max-age=31536000" in headers["Cache-Control"]
    again = browser.open(found.group(1), **{"If-None-Match": headers["Etag"]})
    assert (again[0], again[2]) == (304, "")
    assert browser.open("/guestbook/static/../app.py")[0] in (403, 404)
    assert browser.open("/guestbook/static/..%2fapp.py")[0] in (403, 404)


def test_guestbook_sign_in_and_xsrf_protected_post(served: Served) -> None:
    stranger = Browser(served.base)
    assert stranger.open("/guestbook/login", {"name": "mallory", "next": "/guestbook/"})[0] == 403
    browser = Browser(served.base)
    status, _, form = browser.open("/guestbook/login")
    assert status == 200 and 'name="_xsrf"' in form
    token = browser.cookie("_xsrf")
    fields = {"name": "Ada", "next": "/guestbook/", "_xsrf": token}
    status, _, page = browser.open("/guestbook/login", fields)
    assert status == 200 and "Signed in as Ada" in page
    # signed with the secret kept in the data dir, as under demos/app.py
    secret = (served.data / "cookie_secret").read_text().strip()
    signed = squall.web.decode_signed_value(secret, "user", browser.cookie("user"))
    assert signed == b"Ada"
    text = f"hello from {served.kind}"
    assert browser.open("/guestbook/sign", {"message": text})[0] == 403  # no token: refused
    assert text not in browser.open("/guestbook/")[2]
    status, _, page = browser.open("/guestbook/sign", {"message": text, "_xsrf": token})
    assert status == 200 and text in page and "Signed in as Ada" in page


async def test_chat_long_poll_gets_a_posted_message(served: Served) -> None:
    cookie = await sign_in(served.base + "/chat/login", "ann")
    client = squall.httpclient.AsyncHTTPClient(force_instance=True)
    try:
        page = await client.fetch(served.base + "/chat/", headers={"Cookie": cookie})
        found = re.search(r'data-cursor="([0-9a-f]*)"', page.body.decode())
        assert found is not None
        poll = asyncio.ensure_future(
            client.fetch(
                f"{served.base}/chat/updates?cursor={found.group(1)}",
                headers={"Cookie": cookie},
                request_timeout=LIMIT,
            )
        )
        await asyncio.sleep(0.2)
        assert not poll.done()  # nothing said yet: the poll waits
        text = f"over {served.kind}"
        posted = await client.fetch(
            served.base + "/chat/messages",
            method="POST",
            body=urllib.parse.urlencode({"text": text}),
            headers={
                "Cookie": cookie,
                "X-XSRFToken": xsrf_of(cookie),
                "Accept": "application/json",
            },
        )
        said = json.loads(posted.body)
        assert (said["author"], said["text"]) == ("ann", text)
        answer = json.loads((await asyncio.wait_for(poll, LIMIT)).body)
        assert [(m["id"], m["text"]) for m in answer["messages"]] == [(said["id"], text)]
        assert answer["cursor"] == said["id"]
        forged = await client.fetch(
            served.base + "/chat/messages",
            method="POST",
            body=urllib.parse.urlencode({"text": "forged"}),
            headers={"Cookie": cookie},
            raise_error=False,
        )
        assert forged.code == 403
    finally:
        client.close()


async def _socket(served: Served, cookie: str | None) -> Any:
    headers = {} if cookie is None else {"Cookie": cookie}
    url = served.base.replace("http://", "ws://") + "/websocket/socket?cursor="
    request = squall.httpclient.HTTPRequest(url, headers=headers, request_timeout=LIMIT)
    return await squall.websocket.websocket_connect(request)


async def _frame(connection: Any) -> dict[str, Any]:
    text = await asyncio.wait_for(connection.read_message(), LIMIT)
    assert text is not None, "the server closed the socket"
    return dict(json.loads(text))


async def _message(connection: Any) -> tuple[str, str]:
    for _ in range(20):  # "who is online" frames come and go in between
        frame = await _frame(connection)
        if "id" in frame:
            return frame["author"], frame["text"]
    raise AssertionError("no message came")


async def _hang_up(connection: Any) -> None:
    connection.close()
    for _ in range(50):
        if await asyncio.wait_for(connection.read_message(), LIMIT) is None:
            return
    raise AssertionError("the server never closed the socket")


@pytest.mark.squall_timeout(60)
async def test_websocket_chat(served: Served) -> None:
    with pytest.raises(squall.httpclient.HTTPClientError) as refused:
        await _socket(served, None)  # no signed nickname: refused before the upgrade
    assert refused.value.code == 403
    login = served.base + "/websocket/login"
    ann = await _socket(served, await sign_in(login, "ann"))
    assert await _frame(ann) == {"online": ["ann"]}
    bob = await _socket(served, await sign_in(login, "bob"))
    text = f"hi bob, from {served.kind}"
    ann.write_message(json.dumps({"text": text}))
    assert await _message(bob) == ("ann", text)
    assert await _message(ann) == ("ann", text)
    ann.write_message("not json")  # the handler closes with a code and a reason
    assert await asyncio.wait_for(ann.read_message(), LIMIT) is None
    assert ann.close_code == 1003
    await _hang_up(bob)


@pytest.mark.squall_timeout(60)
async def test_streamed_upload(served: Served) -> None:
    boundary = "asgi-demo-boundary"
    data = os.urandom(2 * 1024 * 1024 + 5)
    head = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="blob.bin"\r\n'
        "Content-Type: application/octet-stream\r\n\r\n"
    ).encode()
    body = head + data + f"\r\n--{boundary}--\r\n".encode()
    client = squall.httpclient.AsyncHTTPClient(force_instance=True)
    try:
        page = await client.fetch(served.base + "/upload/")
        token = re.search(r"_xsrf=([^;]+)", page.headers["Set-Cookie"])
        assert token is not None

        async def pieces(write: Any) -> None:  # chunked: the body reaches the app in parts
            for start in range(0, len(body), 256 * 1024):
                await write(body[start : start + 256 * 1024])

        answer = await client.fetch(
            served.base + "/upload/upload",
            method="POST",
            body_producer=pieces,
            headers={
                "Content-Type": f"multipart/form-data; boundary={boundary}",
                "Cookie": "_xsrf=" + token.group(1),
                "X-XSRFToken": token.group(1),
                "Accept": "application/json",
            },
            request_timeout=LIMIT,
        )
        (stored,) = json.loads(answer.body)["files"]
        assert (stored["name"], stored["size"]) == ("blob.bin", len(data))
        assert stored["sha256"] == hashlib.sha256(data).hexdigest()
        assert (served.data / "uploads" / stored["stored"]).read_bytes() == data
        back = await client.fetch(f"{served.base}/upload/files/{stored['stored']}")
        assert back.body == data and back.headers["Content-Disposition"] == "attachment"
    finally:
        client.close()


@pytest.mark.squall_timeout(60)
async def test_two_servers_share_the_chat_through_redis(tmp_path: Path) -> None:
    """``$SQUALL_DEMO_PUBSUB``: uvicorn and hypercorn, one data dir, one Redis, one room."""
    for kind in SERVERS:
        if importlib.util.find_spec(kind) is None:
            pytest.skip(f"{kind} is not installed")
    with redis_server(tmp_path) as url:
        pair: list[Served] = []
        try:
            for kind in SERVERS:  # one after the other: the first makes the cookie secret
                pair.append(Served(kind, tmp_path / "data", tmp_path / f"{kind}.log", url))
                pair[-1].wait_until_up()
            here, there = (server.base for server in pair)
            cookie = await sign_in(here + "/chat/login", "ann")  # good on both: one secret
            client = squall.httpclient.AsyncHTTPClient(force_instance=True)
            try:
                poll = asyncio.ensure_future(
                    client.fetch(
                        there + "/chat/updates?cursor=",
                        headers={"Cookie": cookie},
                        request_timeout=LIMIT,
                    )
                )
                await client.fetch(
                    here + "/chat/messages",
                    method="POST",
                    body=urllib.parse.urlencode({"text": "across servers"}),
                    headers={"Cookie": cookie, "X-XSRFToken": xsrf_of(cookie)},
                )
                answer = json.loads((await asyncio.wait_for(poll, LIMIT)).body)
                assert [m["text"] for m in answer["messages"]] == ["across servers"]
            finally:
                client.close()
        finally:
            statuses = [server.stop() for server in pair]
    assert set(statuses) <= {0, -signal.SIGTERM}, statuses
