"""ASGIApplication: a squall.web site under uvicorn and hypercorn, and under asgiref's test driver.

``site_app.py`` (the classic overview's examples and more) is served by
uvicorn (h11) and by hypercorn, each on a free port in a thread; every test
taking the ``site`` fixture runs against both, with blocking clients,
squall's own clients and the ``websockets`` library.  Then asgiref's
``ApplicationCommunicator`` drives the ASGI callable directly for what a
real server makes hard to see (the events themselves, disconnects,
lifespan failures).
"""

from __future__ import annotations

import asyncio
import json
import re
import threading
import urllib.parse
from typing import Any

import pytest
import squall.web
import squall.websocket
from asgiref.testing import ApplicationCommunicator
from squall.asgi import ASGIApplication
from squall.asgi._scope import _route_target
from squall.httpclient import AsyncHTTPClient
from squall.websocket import websocket_connect

TIMEOUT = 10.0


def cookie_pairs(headers: Any) -> dict[str, str]:
    jar = {}
    for line in headers.get_all("Set-Cookie") or []:
        name, _, rest = line.partition("=")
        jar[name] = rest.split(";")[0]
    return jar


def test_hello_world(site: Any, fetch: Any) -> None:
    status, headers, body = fetch(site.port, "GET", "/")
    assert (status, body) == (200, b"Hello, world")
    assert headers["Content-Length"] == "12"
    assert "startup hook" in site.module.events


def test_date_and_server_fields_are_the_asgi_servers_alone(site: Any, fetch: Any) -> None:
    for path in ("/", "/story/abc"):  # a page and an error page
        _, headers, _ = fetch(site.port, "GET", path)
        assert len(headers.get_all("Date")) == 1, headers.get_all("Date")
        (server,) = headers.get_all("Server")
        assert server.startswith(site.kind), server


def test_path_arguments_and_404(site: Any, fetch: Any) -> None:
    assert fetch(site.port, "GET", "/story/42")[2] == b"You requested the story 42"
    assert fetch(site.port, "GET", "/story/abc")[0] == 404


def test_request_attributes_come_from_the_scope(site: Any, fetch: Any) -> None:
    status, _, body = fetch(site.port, "GET", "/peer?x=%2F1", headers={"Host": "example.org"})
    assert status == 200
    seen = json.loads(body)
    assert seen["remote_ip"] == "127.0.0.1"
    assert seen["protocol"] == "http"
    assert seen["host"] == "example.org"
    assert (seen["path"], seen["query"], seen["uri"]) == ("/peer", "x=%2F1", "/peer?x=%2F1")


def test_templates_and_static_files(site: Any, fetch: Any) -> None:
    status, _, body = fetch(site.port, "GET", "/page")
    assert status == 200
    page = body.decode()
    assert "<h1>Entries &amp; &lt;more&gt;</h1>" in page
    assert "<li>&lt;two&gt;</li>" in page
    link = re.search(r'href="(/static/site\.css\?v=\w+)"', page)
    assert link is not None
    status, headers, css = fetch(site.port, "GET", link.group(1))
    assert status == 200 and css.startswith(b"body")
    assert "max-age" in headers.get("Cache-Control", "")
    assert fetch(site.port, "GET", "/static/missing.css")[0] == 404


def test_cookies(site: Any, fetch: Any) -> None:
    status, headers, body = fetch(site.port, "GET", "/cookie")
    assert body == b"visit=none"
    assert cookie_pairs(headers)["visit"] == "again"
    assert fetch(site.port, "GET", "/cookie", headers={"Cookie": "visit=1"})[2] == b"visit=1"


def test_signed_cookie_login_flow(site: Any, fetch: Any) -> None:
    status, headers, _ = fetch(site.port, "GET", "/whoami")
    assert status == 302 and headers["Location"].startswith("/login?next=")
    status, headers, _ = fetch(site.port, "GET", "/login?name=ada")
    assert status == 302 and headers["Location"] == "/whoami"
    user = cookie_pairs(headers)["user"]
    status, _, body = fetch(site.port, "GET", "/whoami", headers={"Cookie": f"user={user}"})
    assert (status, body) == (200, b"user=ada")
    forged = fetch(site.port, "GET", "/whoami", headers={"Cookie": f"user={user}x"})
    assert forged[0] == 302


def test_xsrf(site: Any, fetch: Any) -> None:
    status, headers, body = fetch(site.port, "GET", "/form")
    token = cookie_pairs(headers)["_xsrf"]
    assert token and b'name="_xsrf"' in body
    refused = fetch(
        site.port,
        "POST",
        "/form",
        body=b"message=hi",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert refused[0] == 403
    form = urllib.parse.urlencode({"message": "hi there", "_xsrf": token}).encode()
    status, _, body = fetch(
        site.port,
        "POST",
        "/form",
        body=form,
        headers={
            "Content-Type": "application/x-www-form-urlencoded",
            "Cookie": f"_xsrf={token}",
        },
    )
    assert (status, body) == (200, b"You wrote hi there")


def test_multipart_upload(site: Any, fetch: Any) -> None:
    boundary = "squallboundary"
    body = (
        f"--{boundary}\r\n"
        'Content-Disposition: form-data; name="doc"; filename="notes.txt"\r\n'
        "Content-Type: text/plain\r\n\r\n"
        f"{'n' * 5000}\r\n--{boundary}--\r\n"
    ).encode()
    status, _, answer = fetch(
        site.port,
        "POST",
        "/upload",
        body=body,
        headers={"Content-Type": f"multipart/form-data; boundary={boundary}"},
    )
    assert status == 200
    assert json.loads(answer) == {"filename": "notes.txt", "size": 5000}


def test_errors_and_redirects(site: Any, fetch: Any) -> None:
    assert fetch(site.port, "GET", "/errors/forbidden")[0] == 403
    assert fetch(site.port, "GET", "/errors/teapot")[0] == 418
    status, _, body = fetch(site.port, "GET", "/errors/crash")
    assert status == 500 and b"500" in body
    status, headers, _ = fetch(site.port, "GET", "/foo")
    assert (status, headers["Location"]) == (302, "/bar")
    # The server keeps serving after the crash.
    assert fetch(site.port, "GET", "/")[0] == 200


def test_async_handlers_flush_and_wait(site: Any, arun: Any) -> None:
    async def go() -> tuple[bytes, list[bytes], bytes]:
        client = AsyncHTTPClient()
        pieces: list[bytes] = []
        try:
            await client.fetch(
                f"http://127.0.0.1:{site.port}/flush", streaming_callback=pieces.append
            )
            sleepy = await client.fetch(f"http://127.0.0.1:{site.port}/sleepy")
        finally:
            client.close()
        return b"".join(pieces), pieces, sleepy.body

    body, _, sleepy = arun(go())
    assert body == b"part 0;part 1;part 2;"
    assert sleepy == b"slept"


def test_stream_request_body(site: Any, fetch: Any) -> None:
    size = 2 * 1024 * 1024
    status, _, body = fetch(site.port, "PUT", "/streamed", body=b"s" * size)
    assert status == 200
    seen = json.loads(body)
    assert seen["size"] == size
    assert seen["pieces"] >= 1


def test_websocket_echo_with_websockets_library(site: Any) -> None:
    from websockets.sync.client import connect

    url = f"ws://127.0.0.1:{site.port}/echo"
    with connect(url, subprotocols=["echo"], open_timeout=TIMEOUT) as ws:
        assert ws.subprotocol == "echo"
        assert ws.recv(timeout=TIMEOUT) == "welcome"
        for number in range(10):
            ws.send(f"m{number}")
            assert ws.recv(timeout=TIMEOUT) == f"echo m{number}"
        ws.send(b"\x01\x02\x03")
        assert ws.recv(timeout=TIMEOUT) == b"\x03\x02\x01"
        ws.send("close please")
        with pytest.raises(Exception) as closed:
            ws.recv(timeout=TIMEOUT)
        assert getattr(closed.value, "rcvd", None) is not None
        assert closed.value.rcvd.code == 4002
        assert closed.value.rcvd.reason == "as you wish"


def test_websocket_echo_with_squall_client(site: Any, arun: Any) -> None:
    async def go() -> tuple[Any, ...]:
        conn = await websocket_connect(f"ws://127.0.0.1:{site.port}/echo")
        welcome = await conn.read_message()
        conn.write_message("ping")
        reply = await conn.read_message()
        conn.close(1000)
        while await conn.read_message() is not None:
            pass
        return welcome, reply

    assert arun(go()) == ("welcome", "echo ping")
    for _ in range(200):
        if "socket closed 1000" in site.module.events:
            break
        threading.Event().wait(0.02)
    assert "socket closed 1000" in site.module.events


def test_websocket_cross_origin_is_refused(site: Any) -> None:
    from websockets.exceptions import InvalidStatus
    from websockets.sync.client import connect

    with pytest.raises(InvalidStatus) as refused:
        connect(
            f"ws://127.0.0.1:{site.port}/echo",
            origin="http://evil.example",  # type: ignore[arg-type]
            open_timeout=TIMEOUT,
        )
    assert refused.value.response.status_code == 403


# -- asgiref's ApplicationCommunicator: the events themselves -------------------------------


def http_scope(path: str, method: str = "GET", **extra: Any) -> dict[str, Any]:
    scope = {
        "type": "http",
        "asgi": {"version": "3.0", "spec_version": "2.4"},
        "http_version": "1.1",
        "method": method,
        "scheme": "https",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [(b"host", b"testserver")],
        "client": ("198.51.100.9", 4242),
        "server": ("testserver", 443),
    }
    scope.update(extra)
    return scope


def squall_app() -> squall.web.Application:
    class Hello(squall.web.RequestHandler):
        def get(self) -> None:
            self.set_header("Connection", "keep-alive")
            self.write(f"hi {self.request.remote_ip} over {self.request.protocol}")

        head = get

    class Chunks(squall.web.RequestHandler):
        async def get(self) -> None:
            self.write("a")
            await self.flush()
            self.write("b")

    return squall.web.Application([(r"/", Hello), (r"/chunks", Chunks)])


async def collect(communicator: ApplicationCommunicator) -> list[dict[str, Any]]:
    events = []
    while True:
        event = await communicator.receive_output(TIMEOUT)
        events.append(event)
        if event["type"] == "http.response.body" and not event.get("more_body"):
            return events


def test_events_of_a_simple_response(arun: Any) -> None:
    async def go() -> list[dict[str, Any]]:
        communicator = ApplicationCommunicator(ASGIApplication(squall_app()), http_scope("/"))
        await communicator.send_input({"type": "http.request", "body": b""})
        events = await collect(communicator)
        await communicator.wait(TIMEOUT)
        return events

    start, body = arun(go())
    assert start["type"] == "http.response.start" and start["status"] == 200
    names = [name for name, _ in start["headers"]]
    assert b"content-length" in names
    assert b"connection" not in names  # hop-by-hop: the ASGI server frames the response
    assert b"date" not in names and b"server" not in names  # the ASGI server writes those
    assert all(name == name.lower() for name in names)
    assert body == {
        "type": "http.response.body",
        "body": b"hi 198.51.100.9 over https",
        "more_body": False,
    }


def test_flush_gives_several_body_events(arun: Any) -> None:
    async def go() -> list[dict[str, Any]]:
        communicator = ApplicationCommunicator(ASGIApplication(squall_app()), http_scope("/chunks"))
        await communicator.send_input({"type": "http.request", "body": b""})
        events = await collect(communicator)
        await communicator.wait(TIMEOUT)
        return events

    events = arun(go())
    bodies = [event.get("body", b"") for event in events[1:]]
    assert b"".join(bodies) == b"ab"
    assert len(events) >= 3  # start, "a" flushed on its own, then the rest


def test_head_response_has_no_body(arun: Any) -> None:
    async def go() -> list[dict[str, Any]]:
        communicator = ApplicationCommunicator(
            ASGIApplication(squall_app()), http_scope("/", method="HEAD")
        )
        await communicator.send_input({"type": "http.request", "body": b""})
        events = await collect(communicator)
        await communicator.wait(TIMEOUT)
        return events

    events = arun(go())
    assert events[0]["status"] == 200
    # The length of the GET answer is announced, no byte of it is sent.
    assert (b"content-length", b"26") in [tuple(pair) for pair in events[0]["headers"]]
    assert b"".join(event.get("body", b"") for event in events[1:]) == b""


def test_root_path_is_taken_off_before_routing(arun: Any) -> None:
    async def go() -> list[dict[str, Any]]:
        scope = http_scope("/mount/chunks", root_path="/mount")
        communicator = ApplicationCommunicator(ASGIApplication(squall_app()), scope)
        await communicator.send_input({"type": "http.request", "body": b""})
        events = await collect(communicator)
        await communicator.wait(TIMEOUT)
        return events

    events = arun(go())
    assert events[0]["status"] == 200
    assert b"".join(event.get("body", b"") for event in events[1:]) == b"ab"


def test_a_path_that_only_starts_like_the_root_path_keeps_its_start(arun: Any) -> None:
    async def status_of(path: str, root: str) -> int:
        scope = http_scope(path, root_path=root)
        communicator = ApplicationCommunicator(ASGIApplication(squall_app()), scope)
        await communicator.send_input({"type": "http.request", "body": b""})
        events = await collect(communicator)
        await communicator.wait(TIMEOUT)
        return int(events[0]["status"])

    async def go() -> list[int]:
        # "/chunks" is not below the mount point "/ch"; "/ch" itself is its root
        return [await status_of("/chunks", "/ch"), await status_of("/ch", "/ch")]

    assert arun(go()) == [200, 200]
    no_raw = http_scope("/ch/chunks", root_path="/ch")
    del no_raw["raw_path"]  # raw_path is optional: the decoded path serves then
    assert _route_target(no_raw) == "/chunks"
    no_raw.update(path="/cherry", root_path="/ch")
    assert _route_target(no_raw) == "/cherry"


def test_long_poll_hears_the_disconnect(site_module: Any, arun: Any) -> None:
    async def go() -> list[str]:
        communicator = ApplicationCommunicator(site_module.application, http_scope("/poll"))
        await communicator.send_input({"type": "http.request", "body": b""})
        for _ in range(100):
            if "poll waiting" in site_module.events:
                break
            await asyncio.sleep(0.01)
        await communicator.send_input({"type": "http.disconnect"})
        await communicator.wait(TIMEOUT)
        return site_module.events

    events = arun(go())
    assert events.index("poll waiting") < events.index("poll client left")


def test_lifespan_hooks_run_in_order(arun: Any) -> None:
    calls: list[str] = []

    async def async_hook() -> None:
        calls.append("async startup")

    app = ASGIApplication(squall_app(), on_startup=[lambda: calls.append("startup")])
    app.on_startup.append(async_hook)
    app.on_shutdown.append(lambda: calls.append("shutdown"))

    async def go() -> list[dict[str, Any]]:
        communicator = ApplicationCommunicator(
            app, {"type": "lifespan", "asgi": {"version": "3.0"}}
        )
        await communicator.send_input({"type": "lifespan.startup"})
        first = await communicator.receive_output(TIMEOUT)
        await communicator.send_input({"type": "lifespan.shutdown"})
        second = await communicator.receive_output(TIMEOUT)
        await communicator.wait(TIMEOUT)
        return [first, second]

    assert arun(go()) == [
        {"type": "lifespan.startup.complete"},
        {"type": "lifespan.shutdown.complete"},
    ]
    assert calls == ["startup", "async startup", "shutdown"]


def test_failing_startup_hook_reports_failure(arun: Any, caplog: Any) -> None:
    def broken() -> None:
        raise OSError("database unreachable")

    app = ASGIApplication(squall_app(), on_startup=[broken])

    async def go() -> dict[str, Any]:
        communicator = ApplicationCommunicator(
            app, {"type": "lifespan", "asgi": {"version": "3.0"}}
        )
        await communicator.send_input({"type": "lifespan.startup"})
        answer = await communicator.receive_output(TIMEOUT)
        await communicator.wait(TIMEOUT)
        return answer

    answer = arun(go())
    assert answer["type"] == "lifespan.startup.failed"
    assert "database unreachable" in answer["message"]
    assert "startup hook" in caplog.text


def test_websocket_events(site_module: Any, arun: Any) -> None:
    scope = {
        "type": "websocket",
        "asgi": {"version": "3.0", "spec_version": "2.4"},
        "http_version": "1.1",
        "scheme": "ws",
        "path": "/echo",
        "raw_path": b"/echo",
        "query_string": b"",
        "root_path": "",
        "headers": [(b"host", b"testserver"), (b"sec-websocket-protocol", b"echo, other")],
        "client": ("127.0.0.1", 5000),
        "server": ("testserver", 80),
        "subprotocols": ["echo", "other"],
    }

    async def go() -> list[dict[str, Any]]:
        communicator = ApplicationCommunicator(site_module.application, scope)
        await communicator.send_input({"type": "websocket.connect"})
        seen = [await communicator.receive_output(TIMEOUT)]
        seen.append(await communicator.receive_output(TIMEOUT))
        await communicator.send_input({"type": "websocket.receive", "text": "hey"})
        seen.append(await communicator.receive_output(TIMEOUT))
        await communicator.send_input({"type": "websocket.receive", "bytes": b"ab"})
        seen.append(await communicator.receive_output(TIMEOUT))
        await communicator.send_input({"type": "websocket.disconnect", "code": 1001})
        await communicator.wait(TIMEOUT)
        return seen

    accept, welcome, text, data = arun(go())
    assert accept["type"] == "websocket.accept" and accept["subprotocol"] == "echo"
    assert not {b"date", b"server"} & {name for name, _ in accept["headers"]}
    assert welcome == {"type": "websocket.send", "text": "welcome"}
    assert text == {"type": "websocket.send", "text": "echo hey"}
    assert data == {"type": "websocket.send", "bytes": b"ba"}
    assert "socket closed 1001" in site_module.events


def test_websocket_refusal_uses_the_denial_extension(arun: Any) -> None:
    class Guarded(squall.websocket.WebSocketHandler):
        def prepare(self) -> None:
            raise squall.web.HTTPError(401)

    app = ASGIApplication(squall.web.Application([(r"/ws", Guarded)]))
    scope = {
        "type": "websocket",
        "asgi": {"version": "3.0"},
        "scheme": "ws",
        "path": "/ws",
        "raw_path": b"/ws",
        "query_string": b"",
        "root_path": "",
        "headers": [(b"host", b"testserver")],
        "client": None,
        "server": None,
        "subprotocols": [],
        "extensions": {"websocket.http.response": {}},
    }

    async def go() -> list[dict[str, Any]]:
        communicator = ApplicationCommunicator(app, scope)
        await communicator.send_input({"type": "websocket.connect"})
        start = await communicator.receive_output(TIMEOUT)
        rest = [await communicator.receive_output(TIMEOUT)]
        while rest[-1].get("more_body"):
            rest.append(await communicator.receive_output(TIMEOUT))
        await communicator.wait(TIMEOUT)
        return [start, *rest]

    events = arun(go())
    assert events[0]["type"] == "websocket.http.response.start"
    assert events[0]["status"] == 401
    assert all(event["type"] == "websocket.http.response.body" for event in events[1:])
    assert b"401" in b"".join(event["body"] for event in events[1:])
