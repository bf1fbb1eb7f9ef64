"""WSGIContainer with a real Flask application, through squall's HTTPServer and real sockets.

Every test runs with and without an executor (``inline`` / ``pool``), except
the ones about what only one of the two threading models does.
"""

from __future__ import annotations

import concurrent.futures
import json
import logging
import threading
import time
from collections.abc import Iterator
from typing import Any

import flask
import pytest
import squall.web
from squall.wsgi import WSGIContainer

TIMEOUT = 10.0


def make_flask_app(
    gate: threading.Event | None = None, entered: threading.Event | None = None
) -> flask.Flask:
    app = flask.Flask("squall_wsgi_test")
    app.config["SECRET_KEY"] = "not-secret"

    @app.route("/")
    def index() -> str:
        return "Hello, world"

    @app.route("/items/<int:item>")
    def item(item: int) -> dict[str, Any]:
        return {"item": item, "q": flask.request.args.get("q")}

    @app.route("/form", methods=["POST"])
    def form() -> str:
        return f"{flask.request.form['name']}:{flask.request.form.getlist('tag')}"

    @app.route("/upload", methods=["POST"])
    def upload() -> dict[str, Any]:
        stored = flask.request.files["doc"]
        data = stored.read()
        return {
            "filename": stored.filename,
            "size": len(data),
            "sha": __import__("hashlib").sha256(data).hexdigest(),
            "note": flask.request.form["note"],
        }

    @app.route("/set")
    def set_cookie() -> flask.Response:
        response = flask.make_response("set")
        response.set_cookie("flavour", "oat")
        response.set_cookie("size", "large")
        return response

    @app.route("/get")
    def get_cookie() -> str:
        return f"{flask.request.cookies.get('flavour')}/{flask.request.cookies.get('size')}"

    @app.route("/session")
    def session_count() -> str:
        flask.session["n"] = flask.session.get("n", 0) + 1
        return str(flask.session["n"])

    @app.route("/stream")
    def stream() -> flask.Response:
        def pieces() -> Iterator[str]:
            for number in range(5):
                yield f"piece {number}\n"

        return flask.Response(pieces(), mimetype="text/plain")

    @app.route("/echo", methods=["PUT"])
    def echo() -> bytes:
        return flask.request.get_data()

    @app.route("/slow")
    def slow() -> str:
        assert gate is not None
        if entered is not None:
            entered.set()
        released = gate.wait(TIMEOUT)
        return "slow done" if released else "gate timed out"

    @app.route("/boom")
    def boom() -> str:
        raise RuntimeError("view failed")

    return app


@pytest.fixture(params=["inline", "pool"])
def executor(request: pytest.FixtureRequest) -> Iterator[concurrent.futures.Executor | None]:
    if request.param == "inline":
        yield None
        return
    pool = concurrent.futures.ThreadPoolExecutor(4)
    yield pool
    pool.shutdown(wait=True)


@pytest.fixture
def flask_server(serve: Any, executor: concurrent.futures.Executor | None) -> Any:
    return serve(WSGIContainer(make_flask_app(), executor=executor))


def test_routing_path_and_query(flask_server: Any) -> None:
    status, _, body = flask_server.request("GET", "/")
    assert (status, body) == (200, b"Hello, world")
    status, headers, body = flask_server.request("GET", "/items/42?q=a%20b")
    assert status == 200
    assert headers["Content-Type"] == "application/json"
    assert json.loads(body) == {"item": 42, "q": "a b"}


def test_unknown_route_is_flasks_404(flask_server: Any) -> None:
    status, _, body = flask_server.request("GET", "/nowhere")
    assert status == 404
    assert b"Not Found" in body


def test_urlencoded_form(flask_server: Any) -> None:
    status, _, body = flask_server.request(
        "POST",
        "/form",
        b"name=Ada+L&tag=x&tag=y",
        {"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert (status, body) == (200, b"Ada L:['x', 'y']")


def test_multipart_upload(flask_server: Any) -> None:
    payload = bytes(range(256)) * 400  # binary, 100 KB
    boundary = "squallboundary"
    body = (
        (
            f'--{boundary}\r\nContent-Disposition: form-data; name="note"\r\n\r\nhi\r\n'
            f'--{boundary}\r\nContent-Disposition: form-data; name="doc"; filename="a.bin"\r\n'
            "Content-Type: application/octet-stream\r\n\r\n"
        ).encode()
        + payload
        + f"\r\n--{boundary}--\r\n".encode()
    )
    status, _, answer = flask_server.request(
        "POST", "/upload", body, {"Content-Type": f"multipart/form-data; boundary={boundary}"}
    )
    assert status == 200
    result = json.loads(answer)
    assert result["filename"] == "a.bin"
    assert result["size"] == len(payload)
    assert result["sha"] == __import__("hashlib").sha256(payload).hexdigest()
    assert result["note"] == "hi"


def test_cookies_set_and_read_back(flask_server: Any) -> None:
    status, headers, _ = flask_server.request("GET", "/set")
    assert status == 200
    set_cookies = headers.get_all("Set-Cookie")
    assert len(set_cookies) == 2
    assert any(c.startswith("flavour=oat") for c in set_cookies)
    # Two Cookie fields, as some clients send them: both cookies arrive.
    status, _, body = flask_server.request(
        "GET", "/get", headers=[("Cookie", "flavour=oat"), ("Cookie", "size=large")]
    )
    assert (status, body) == (200, b"oat/large")


def test_flask_signed_session_round_trip(flask_server: Any) -> None:
    _, headers, body = flask_server.request("GET", "/session")
    assert body == b"1"
    cookie = headers["Set-Cookie"].split(";")[0]
    _, _, body = flask_server.request("GET", "/session", headers={"Cookie": cookie})
    assert body == b"2"


def test_streaming_response_is_chunked(raw: Any, flask_server: Any) -> None:
    reply = raw(flask_server.port, b"GET /stream HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")
    head, _, body = reply.partition(b"\r\n\r\n")
    assert b"Transfer-Encoding: chunked" in head
    assert b"Content-Length" not in head
    assert b"piece 0\n" in body and body.endswith(b"0\r\n\r\n")
    status, _, plain = flask_server.request("GET", "/stream")
    assert status == 200
    assert plain == b"".join(f"piece {n}\n".encode() for n in range(5))


def test_request_body_reaches_the_application(flask_server: Any) -> None:
    data = b"\x00\xffbinary body" * 1000
    status, _, body = flask_server.request("PUT", "/echo", data)
    assert (status, body) == (200, data)


def test_chunked_request_body_is_read(raw: Any, flask_server: Any) -> None:
    reply = raw(
        flask_server.port,
        b"PUT /echo HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n"
        b"Connection: close\r\n\r\n5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n",
    )
    assert reply.startswith(b"HTTP/1.1 200")
    assert reply.endswith(b"hello world")


def test_view_exception_is_flasks_500(flask_server: Any) -> None:
    logging.getLogger("squall_wsgi_test").disabled = True
    try:
        status, _, _ = flask_server.request("GET", "/boom")
    finally:
        logging.getLogger("squall_wsgi_test").disabled = False
    assert status == 500


def test_head_request_has_no_body(raw: Any, flask_server: Any) -> None:
    reply = raw(flask_server.port, b"HEAD / HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")
    assert reply.startswith(b"HTTP/1.1 200")
    assert b"Content-Length: 12" in reply
    assert reply.endswith(b"\r\n\r\n")


def test_keep_alive_serves_several_requests_on_one_connection(raw: Any, flask_server: Any) -> None:
    one = b"GET / HTTP/1.1\r\nHost: t\r\n\r\n"
    last = b"GET /items/7 HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n"
    reply = raw(flask_server.port, one + one + last)
    assert reply.count(b"HTTP/1.1 200 OK") == 3
    assert reply.endswith(b'{"item":7,"q":null}\n')


def test_fallback_handler_mounts_flask_beside_squall_handlers(
    serve: Any, executor: concurrent.futures.Executor | None
) -> None:
    class Native(squall.web.RequestHandler):
        def get(self) -> None:
            self.write("squall here")

    flask_app = make_flask_app()
    container = WSGIContainer(flask_app, executor=executor)
    application = squall.web.Application(
        [
            (r"/native", Native),
            (r".*", squall.web.FallbackHandler, {"fallback": container}),
        ]
    )
    live = serve(application)
    assert live.request("GET", "/native")[2] == b"squall here"
    assert live.request("GET", "/items/3?q=z")[2] == b'{"item":3,"q":"z"}\n'
    status, _, body = live.request(
        "POST", "/form", b"name=B&tag=t", {"Content-Type": "application/x-www-form-urlencoded"}
    )
    assert (status, body) == (200, b"B:['t']")


def test_executor_keeps_the_loop_serving_while_a_view_sleeps(serve: Any) -> None:
    gate = threading.Event()
    pool = concurrent.futures.ThreadPoolExecutor(2)
    try:
        live = serve(WSGIContainer(make_flask_app(gate), executor=pool))
        slow: concurrent.futures.Future[Any] = concurrent.futures.ThreadPoolExecutor(1).submit(
            live.request, "GET", "/slow"
        )
        # While /slow blocks a worker thread, other requests are served.
        for _ in range(5):
            assert live.request("GET", "/")[2] == b"Hello, world"
        assert not slow.done()
        gate.set()
        assert slow.result(TIMEOUT)[2] == b"slow done"
    finally:
        gate.set()
        pool.shutdown(wait=True)


def test_without_executor_a_sleeping_view_holds_the_loop(serve: Any) -> None:
    # The documented cost of the default: one request at a time.
    gate, entered = threading.Event(), threading.Event()
    live = serve(WSGIContainer(make_flask_app(gate, entered)))
    runner = concurrent.futures.ThreadPoolExecutor(2)
    slow = runner.submit(live.request, "GET", "/slow")
    assert entered.wait(TIMEOUT)
    fast = runner.submit(live.request, "GET", "/")
    done, _ = concurrent.futures.wait([fast], timeout=0.5)
    assert not done, "a request was served while the loop thread was inside a WSGI view"
    gate.set()
    assert slow.result(TIMEOUT)[2] == b"slow done"
    assert fast.result(TIMEOUT)[2] == b"Hello, world"
    runner.shutdown()


# -- plain WSGI applications: protocol details ---------------------------------------------


class Recorder:
    """A response iterable that records its close() and can block between pieces."""

    def __init__(self, pieces: list[bytes], gate: threading.Event | None = None) -> None:
        self.pieces = pieces
        self.gate = gate
        self.closed = threading.Event()

    def __iter__(self) -> Iterator[bytes]:
        for index, piece in enumerate(self.pieces):
            if index == 1 and self.gate is not None:
                assert self.gate.wait(TIMEOUT)
            if piece == b"FAIL":
                raise ValueError("iterable failed")
            yield piece

    def close(self) -> None:
        self.closed.set()


def test_pieces_are_sent_as_produced(serve: Any) -> None:
    gate = threading.Event()
    recorder = Recorder([b"first|", b"second"], gate)

    def app(environ: dict[str, Any], start_response: Any) -> Recorder:
        start_response("200 OK", [("Content-Type", "text/plain")])
        return recorder

    pool = concurrent.futures.ThreadPoolExecutor(1)
    live = serve(WSGIContainer(app, executor=pool))
    import socket

    sock = socket.create_connection(("127.0.0.1", live.port), timeout=TIMEOUT)
    try:
        sock.sendall(b"GET / HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")
        seen = b""
        while b"first|" not in seen:
            chunk = sock.recv(65536)
            assert chunk, "closed before the first piece"
            seen += chunk
        # The first piece arrived while the iterable is still blocked on the gate.
        assert b"second" not in seen
        gate.set()
        while True:
            chunk = sock.recv(65536)
            if not chunk:
                break
            seen += chunk
    finally:
        sock.close()
        gate.set()
        pool.shutdown(wait=True)
    assert b"second" in seen and seen.endswith(b"0\r\n\r\n")
    assert recorder.closed.wait(TIMEOUT)


def test_close_is_called_after_success_and_after_failure(
    raw: Any, serve: Any, executor: Any
) -> None:
    made: list[Recorder] = []

    def app(environ: dict[str, Any], start_response: Any) -> Recorder:
        start_response("200 OK", [("Content-Type", "text/plain")])
        fail = environ["PATH_INFO"] == "/fail"
        made.append(Recorder([b"a", b"FAIL" if fail else b"b"]))
        return made[-1]

    live = serve(WSGIContainer(app, executor=executor))
    assert live.request("GET", "/ok")[2] == b"ab"
    logging.getLogger("squall.application").disabled = True
    try:
        reply = raw(live.port, b"GET /fail HTTP/1.1\r\nHost: t\r\n\r\n")
    finally:
        logging.getLogger("squall.application").disabled = False
    # Half the body went out chunked: the connection is cut without the last chunk.
    assert reply.startswith(b"HTTP/1.1 200")
    assert not reply.endswith(b"0\r\n\r\n")
    assert all(r.closed.wait(TIMEOUT) for r in made)


def test_exception_before_the_head_is_a_logged_500(
    serve: Any, executor: Any, caplog: pytest.LogCaptureFixture
) -> None:
    def app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        raise KeyError("missing thing")

    live = serve(WSGIContainer(app, executor=executor))
    with caplog.at_level(logging.ERROR, logger="squall.application"):
        status, headers, body = live.request("GET", "/x?y=1")
    assert status == 500
    assert b"500: Internal Server Error" in body
    assert headers["Content-Length"] == str(len(body))
    records = [r for r in caplog.records if r.name == "squall.application"]
    assert records and "GET /x?y=1" in records[0].getMessage()
    assert records[0].exc_info is not None and records[0].exc_info[0] is KeyError


def test_body_without_start_response_is_a_500(serve: Any, executor: Any) -> None:
    def app(environ: dict[str, Any], start_response: Any) -> Iterator[bytes]:
        yield b"too early"

    live = serve(WSGIContainer(app, executor=executor))
    logging.getLogger("squall.application").disabled = True
    try:
        assert live.request("GET", "/")[0] == 500
    finally:
        logging.getLogger("squall.application").disabled = False


def test_exc_info_replaces_the_answer_before_the_head_is_out(serve: Any, executor: Any) -> None:
    def app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        start_response("200 OK", [("Content-Type", "text/plain")])
        try:
            raise ValueError("changed my mind")
        except ValueError:
            import sys

            start_response("503 Service Unavailable", [("X-Why", "error")], sys.exc_info())
        return [b"sorry"]

    live = serve(WSGIContainer(app, executor=executor))
    status, headers, body = live.request("GET", "/")
    assert (status, body) == (503, b"sorry")
    assert headers["X-Why"] == "error"
    assert "Content-Type" not in headers


def test_exc_info_after_the_head_is_out_reraises(raw: Any, serve: Any, executor: Any) -> None:
    seen: list[BaseException] = []

    def app(environ: dict[str, Any], start_response: Any) -> Iterator[bytes]:
        start_response("200 OK", [("Content-Type", "text/plain")])
        yield b"partial"
        try:
            raise ValueError("late failure")
        except ValueError as exc:
            import sys

            try:
                start_response("500 Oops", [], sys.exc_info())
            except ValueError as again:
                seen.append(again)
                assert again is exc
                raise

    live = serve(WSGIContainer(app, executor=executor))
    logging.getLogger("squall.application").disabled = True
    try:
        reply = raw(live.port, b"GET / HTTP/1.1\r\nHost: t\r\n\r\n")
    finally:
        logging.getLogger("squall.application").disabled = False
    assert reply.startswith(b"HTTP/1.1 200")
    assert b"partial" in reply
    assert len(seen) == 1


def test_second_start_response_without_exc_info_is_refused(serve: Any, executor: Any) -> None:
    problems: list[str] = []

    def app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        start_response("200 OK", [])
        try:
            start_response("201 Created", [])
        except Exception as exc:
            problems.append(str(exc))
        return [b"once"]

    live = serve(WSGIContainer(app, executor=executor))
    assert live.request("GET", "/")[:1] == (200,)
    assert problems and "second time" in problems[0]


def test_write_callable_sends_before_the_iterable(serve: Any, executor: Any) -> None:
    def app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        write = start_response("200 OK", [("Content-Type", "text/plain")])
        write(b"written|")
        write(b"")
        return [b"returned"]

    live = serve(WSGIContainer(app, executor=executor))
    status, headers, body = live.request("GET", "/")
    assert (status, body) == (200, b"written|returned")
    assert headers["Transfer-Encoding"] == "chunked"


def test_list_result_gets_a_content_length(serve: Any, executor: Any) -> None:
    def app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [b"abc", b"", b"defg"]

    live = serve(WSGIContainer(app, executor=executor))
    status, headers, body = live.request("GET", "/")
    assert (status, body) == (200, b"abcdefg")
    assert headers["Content-Length"] == "7"


def test_empty_generator_and_no_content(serve: Any, executor: Any) -> None:
    def app(environ: dict[str, Any], start_response: Any) -> Iterator[bytes]:
        if environ["PATH_INFO"] == "/204":
            start_response("204 No Content", [])
        else:
            start_response("200 OK", [("Content-Type", "text/plain")])
        return iter([b""])

    live = serve(WSGIContainer(app, executor=executor))
    status, headers, body = live.request("GET", "/empty")
    assert (status, body, headers["Content-Length"]) == (200, b"", "0")
    status, headers, body = live.request("GET", "/204")
    assert (status, body) == (204, b"")
    assert "Content-Length" not in headers


def test_access_log_line(serve: Any, caplog: pytest.LogCaptureFixture) -> None:
    def app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        start_response("404 Not Found", [])
        return [b"no"]

    live = serve(WSGIContainer(app))
    with caplog.at_level(logging.INFO, logger="squall.access"):
        live.request("GET", "/missing?a=1")
        # The line is written on the server's thread: wait for it (bounded).
        for _ in range(200):
            if any(r.name == "squall.access" for r in caplog.records):
                break
            time.sleep(0.01)
    lines = [r.getMessage() for r in caplog.records if r.name == "squall.access"]
    assert lines and lines[0].startswith("404 GET /missing?a=1 (127.0.0.1)")
    assert [r.levelno for r in caplog.records if r.name == "squall.access"][0] == logging.WARNING


def test_handle_request_is_a_coroutine_that_serves(serve: Any, executor: Any) -> None:
    def app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        start_response("200 OK", [])
        return [environ["REQUEST_METHOD"].encode()]

    container = WSGIContainer(app, executor=executor)

    async def callback(request: Any) -> None:
        await container.handle_request(request)

    live = serve(callback)
    assert live.request("DELETE", "/")[2] == b"DELETE"


def test_container_keeps_its_arguments() -> None:
    def app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        return []

    pool = concurrent.futures.ThreadPoolExecutor(1)
    container = WSGIContainer(app, pool)
    assert container.wsgi_application is app
    assert container.executor is pool
    assert WSGIContainer(app).executor is None
    pool.shutdown()


def test_client_gone_mid_stream_stops_the_iterable_quietly(
    serve: Any, caplog: pytest.LogCaptureFixture
) -> None:
    gate = threading.Event()
    produced: list[int] = []
    closed = threading.Event()

    class Endless:
        def __iter__(self) -> Iterator[bytes]:
            yield b"first|"
            assert gate.wait(TIMEOUT)
            for number in range(10_000):
                produced.append(number)
                yield b"x" * 65536

        def close(self) -> None:
            closed.set()

    def app(environ: dict[str, Any], start_response: Any) -> Endless:
        start_response("200 OK", [("Content-Type", "application/octet-stream")])
        return Endless()

    pool = concurrent.futures.ThreadPoolExecutor(1)
    try:
        live = serve(WSGIContainer(app, executor=pool))
        import socket

        sock = socket.create_connection(("127.0.0.1", live.port), timeout=TIMEOUT)
        sock.sendall(b"GET / HTTP/1.1\r\nHost: t\r\n\r\n")
        seen = b""
        while b"first|" not in seen:
            seen += sock.recv(65536)
        with caplog.at_level(logging.ERROR, logger="squall.application"):
            sock.close()
            gate.set()
            assert closed.wait(TIMEOUT)
        assert len(produced) < 10_000
        assert not [r for r in caplog.records if r.name == "squall.application"]
    finally:
        gate.set()
        pool.shutdown(wait=True)
