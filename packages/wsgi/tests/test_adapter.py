"""WSGIApplication / WSGIAdapter: a squall.web site under real WSGI servers.

``site_app.py`` is served by gunicorn (a sync worker in a subprocess, on a
free port) and by wsgiref (in a thread, behind the standard library's PEP
3333 validator); every test in :class:`TestSite` runs against both.  Then
the overview's CGI example, direct calls, and the adapter inside squall's
own server.
"""

from __future__ import annotations

import http.client
import importlib.util
import json
import os
import re
import subprocess
import sys
import textwrap
import threading
import time
import urllib.parse
import wsgiref.simple_server
import wsgiref.util
from collections.abc import Iterator
from typing import Any
from wsgiref.validate import validator

import pytest
import squall.web
from squall.wsgi import WSGIAdapter, WSGIApplication, WSGIContainer

HERE = os.path.dirname(os.path.abspath(__file__))
TIMEOUT = 10.0


def load_site() -> Any:
    spec = importlib.util.spec_from_file_location(
        "squall_wsgi_site", os.path.join(HERE, "site_app.py")
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


class Site:
    """A WSGI server on 127.0.0.1:port and a blocking client for it."""

    def __init__(self, kind: str, port: int, log_path: str | None = None) -> None:
        self.kind, self.port, self.log_path = kind, port, log_path

    def request(
        self,
        method: str,
        path: str,
        body: bytes | None = None,
        headers: dict[str, str] | None = None,
    ) -> tuple[int, http.client.HTTPMessage, bytes]:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=TIMEOUT)
        try:
            conn.request(method, path, body=body, headers=headers or {})
            response = conn.getresponse()
            return response.status, response.headers, response.read()
        finally:
            conn.close()

    def server_log(self) -> str:
        if self.log_path is None:
            return ""
        with open(self.log_path, encoding="utf-8", errors="replace") as f:
            return f.read()


class _QuietHandler(wsgiref.simple_server.WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


class _QuietServerHandler(wsgiref.simple_server.ServerHandler):
    def log_exception(self, exc_info: Any) -> None:
        # Keep the refused-handler errors for the test to read, not stderr.
        _wsgiref_errors.append(str(exc_info[1]))


_wsgiref_errors: list[str] = []


class _QuietWSGIRequestHandler(_QuietHandler):
    def handle(self) -> None:
        self.raw_requestline = self.rfile.readline(65537)
        if not self.parse_request():
            return
        handler = _QuietServerHandler(
            self.rfile, self.wfile, self.get_stderr(), self.get_environ(), multithread=False
        )
        handler.request_handler = self
        handler.run(self.server.get_app())


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait_for(port: int, proc: subprocess.Popen[bytes]) -> None:
    import socket

    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"gunicorn exited with {proc.returncode}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.05)
    raise AssertionError("gunicorn did not start listening")


@pytest.fixture(scope="module", params=["wsgiref", "gunicorn"])
def site(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Site]:
    if request.param == "wsgiref":
        application = validator(load_site().application)
        server = wsgiref.simple_server.make_server(
            "127.0.0.1", 0, application, handler_class=_QuietWSGIRequestHandler
        )
        thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
        thread.start()
        try:
            yield Site("wsgiref", server.server_port)
        finally:
            server.shutdown()
            thread.join(TIMEOUT)
            server.server_close()
        return
    pytest.importorskip("gunicorn")
    port = _free_port()
    log_path = str(tmp_path_factory.mktemp("gunicorn") / "stderr.log")
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "gunicorn",
                "--workers",
                "1",
                "--worker-class",
                "sync",
                "--bind",
                f"127.0.0.1:{port}",
                "--chdir",
                HERE,
                "--timeout",
                "30",
                "site_app:application",
            ],
            stdout=subprocess.DEVNULL,
            stderr=log,
            env=os.environ.copy(),
        )
    try:
        _wait_for(port, proc)
        yield Site("gunicorn", port, log_path)
    finally:
        proc.terminate()
        try:
            proc.wait(TIMEOUT)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def _cookies(headers: http.client.HTTPMessage) -> dict[str, str]:
    jar = {}
    for line in headers.get_all("Set-Cookie") or []:
        name, _, rest = line.partition("=")
        jar[name] = rest.split(";")[0]
    return jar


def _refusal_logged(site: Site, path: str) -> bool:
    deadline = time.monotonic() + TIMEOUT
    while time.monotonic() < deadline:
        text = site.server_log() if site.kind == "gunicorn" else "\n".join(_wsgiref_errors)
        if path in text and "runs no event loop" in text:
            return True
        time.sleep(0.05)
    return False


class TestSite:
    def test_hello_world(self, site: Site) -> None:
        status, headers, body = site.request("GET", "/")
        assert (status, body) == (200, b"Hello, world")
        assert headers["Content-Type"] == "text/html; charset=UTF-8"
        assert headers["Content-Length"] == "12"

    def test_head_has_headers_only(self, site: Site) -> None:
        status, headers, body = site.request("HEAD", "/static/site.css")
        assert (status, body) == (200, b"")
        assert headers["Content-Length"] == "22"

    def test_template_render_escapes_and_links_static_files(self, site: Site) -> None:
        status, _, body = site.request("GET", "/page")
        assert status == 200
        assert b"<h1>Entries &amp; &lt;more&gt;</h1>" in body
        assert b"<li>&lt;two&gt;</li>" in body
        assert re.search(rb'href="/static/site\.css\?v=[0-9a-f]+"', body)

    def test_static_file_with_etag(self, site: Site) -> None:
        status, headers, body = site.request("GET", "/static/site.css")
        assert (status, body) == (200, b"body { color: teal; }\n")
        assert headers["Content-Type"] == "text/css"
        tag = headers["Etag"]
        status, _, body = site.request("GET", "/static/site.css", headers={"If-None-Match": tag})
        assert (status, body) == (304, b"")
        assert site.request("GET", "/static/missing.css")[0] == 404

    def test_cookies(self, site: Site) -> None:
        status, headers, body = site.request("GET", "/cookie")
        assert (status, body) == (200, b"visit=none")
        assert _cookies(headers)["visit"] == "again"
        _, _, body = site.request("GET", "/cookie", headers={"Cookie": "visit=again"})
        assert body == b"visit=again"

    def test_signed_cookie_login_flow(self, site: Site) -> None:
        status, headers, _ = site.request("GET", "/whoami")
        assert status == 302
        assert headers["Location"] == "/login?" + urllib.parse.urlencode({"next": "/whoami"})
        status, headers, _ = site.request("GET", "/login?name=ada&next=/whoami")
        assert status == 302 and headers["Location"] == "/whoami"
        user = _cookies(headers)["user"]
        status, _, body = site.request("GET", "/whoami", headers={"Cookie": f"user={user}"})
        assert (status, body) == (200, b"user=ada")
        forged = user.replace("YWRh", "Ym9i")  # "ada" -> "bob" in the base64 part
        assert forged != user
        assert site.request("GET", "/whoami", headers={"Cookie": f"user={forged}"})[0] == 302

    def test_xsrf(self, site: Site) -> None:
        status, headers, body = site.request("GET", "/form")
        assert status == 200
        token = _cookies(headers)["_xsrf"]
        found = re.search(rb'name="_xsrf" value="([^"]+)"', body)
        assert found
        form_token = found.group(1).decode()
        post_headers = {"Content-Type": "application/x-www-form-urlencoded"}
        assert site.request("POST", "/form", b"message=hi", post_headers)[0] == 403
        status, _, body = site.request(
            "POST",
            "/form",
            f"message=hi&_xsrf={urllib.parse.quote(form_token)}".encode(),
            {**post_headers, "Cookie": f"_xsrf={token}"},
        )
        assert (status, body) == (200, b"You wrote hi")

    def test_upload(self, site: Site) -> None:
        data = os.urandom(50_000)
        boundary = "b0undary"
        body = (
            (
                f'--{boundary}\r\nContent-Disposition: form-data; name="doc"; filename="r.bin"\r\n'
                "Content-Type: application/octet-stream\r\n\r\n"
            ).encode()
            + data
            + f"\r\n--{boundary}--\r\n".encode()
        )
        status, _, answer = site.request(
            "POST", "/upload", body, {"Content-Type": f"multipart/form-data; boundary={boundary}"}
        )
        assert status == 200
        assert json.loads(answer) == {"filename": "r.bin", "size": len(data)}

    def test_redirect_handlers_from_the_overview(self, site: Site) -> None:
        status, headers, _ = site.request("GET", "/foo?x=1")
        assert status == 302 and headers["Location"] == "/bar?x=1"
        status, headers, _ = site.request("GET", "/old")
        assert status == 301 and headers["Location"] == "/"

    def test_errors(self, site: Site) -> None:
        assert site.request("GET", "/errors/forbidden")[0] == 403
        status, _, body = site.request("GET", "/errors/teapot")
        assert status == 418 and b"418" in body
        assert site.request("GET", "/nowhere")[0] == 404
        status, _, body = site.request("GET", "/errors/crash")
        assert status == 500 and b"500: Internal Server Error" in body

    def test_flush_is_collected(self, site: Site) -> None:
        assert site.request("GET", "/flush")[:1] == (200,)
        assert site.request("GET", "/flush")[2] == b"first,second"

    def test_coroutine_that_never_waits_runs(self, site: Site) -> None:
        status, _, body = site.request("GET", "/coroutine/ready")
        assert (status, body) == (200, b"coroutine finished without waiting")

    def test_classic_asynchronous_finishing_from_a_ready_callback_runs(self, site: Site) -> None:
        status, _, body = site.request("GET", "/classic/callback")
        assert (status, body) == (200, b"finished from a callback")

    @pytest.mark.parametrize("path", ["/coroutine/waiting", "/classic/timer", "/classic/forgotten"])
    def test_handler_needing_the_loop_is_refused(self, site: Site, path: str) -> None:
        status, _, body = site.request("GET", path)
        assert status == 500
        assert b"never" not in body
        assert _refusal_logged(site, path)
        # The server goes on serving.
        assert site.request("GET", "/")[2] == b"Hello, world"


# -- the overview's CGI example ------------------------------------------------------------


def test_overview_cgi_example(tmp_path: Any) -> None:
    script = tmp_path / "appengine.py"
    script.write_text(
        textwrap.dedent(
            """
            import squall.web
            import squall.wsgi
            import wsgiref.handlers

            class MainHandler(squall.web.RequestHandler):
                def get(self):
                    self.write("Hello, world")

            if __name__ == "__main__":
                application = squall.wsgi.WSGIApplication([
                    (r"/", MainHandler),
                ])
                wsgiref.handlers.CGIHandler().run(application)
            """
        )
    )
    env = dict(
        os.environ,
        GATEWAY_INTERFACE="CGI/1.1",
        REQUEST_METHOD="GET",
        SCRIPT_NAME="",
        PATH_INFO="/",
        QUERY_STRING="",
        SERVER_NAME="localhost",
        SERVER_PORT="80",
        SERVER_PROTOCOL="HTTP/1.1",
        REMOTE_ADDR="127.0.0.1",
        HTTP_HOST="localhost",
    )
    done = subprocess.run(
        [sys.executable, str(script)], env=env, capture_output=True, timeout=60, check=True
    )
    head, _, body = done.stdout.partition(b"\r\n\r\n")
    lines = head.split(b"\r\n")
    assert lines[0] == b"Status: 200 OK"
    assert b"Content-Type: text/html; charset=UTF-8" in lines
    assert b"Content-Length: 12" in lines
    assert body == b"Hello, world"

    env.update(REQUEST_METHOD="POST", PATH_INFO="/", CONTENT_LENGTH="0")
    done = subprocess.run(
        [sys.executable, str(script)], env=env, capture_output=True, timeout=60, check=True
    )
    assert done.stdout.startswith(b"Status: 405 Method Not Allowed\r\n")


# -- direct calls --------------------------------------------------------------------------


def _call(
    app: Any, path: str = "/", method: str = "GET", **extra: Any
) -> tuple[str, list[tuple[str, str]], bytes]:
    environ: dict[str, Any] = {}
    wsgiref.util.setup_testing_defaults(environ)
    environ.update(PATH_INFO=path, REQUEST_METHOD=method, QUERY_STRING="")
    environ.update(extra)
    seen: dict[str, Any] = {}

    def start_response(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
        seen["status"], seen["headers"] = status, headers
        return lambda data: None

    result = validator(app)(environ, start_response)
    try:
        body = b"".join(result)
    finally:
        result.close()
    return seen["status"], seen["headers"], body


class EchoHandler(squall.web.RequestHandler):
    def get(self, rest: str) -> None:
        self.write(
            {
                "path": self.request.path,
                "rest": rest,
                "query": self.get_argument("q", None),
                "ip": self.request.remote_ip,
                "protocol": self.request.protocol,
                "host": self.request.host,
                "ua": self.request.headers.get("User-Agent"),
            }
        )

    def post(self, rest: str) -> None:
        self.write({"body": self.request.body.decode(), "arg": self.get_argument("a")})


def test_adapter_rebuilds_the_request_from_the_environ() -> None:
    app = WSGIAdapter(squall.web.Application([(r"/echo/(.*)", EchoHandler)]))
    status, _, body = _call(
        app,
        "/echo/caf\xc3\xa9 x",
        QUERY_STRING="q=1",
        REMOTE_ADDR="198.51.100.7",
        HTTP_HOST="example.com:8080",
        HTTP_USER_AGENT="tester",
        **{"wsgi.url_scheme": "https"},
    )
    assert status == "200 OK"
    seen = json.loads(body)
    assert seen == {
        "path": "/echo/caf%C3%A9%20x",
        "rest": "café x",
        "query": "1",
        "ip": "198.51.100.7",
        "protocol": "https",
        "host": "example.com:8080",
        "ua": "tester",
    }


def test_adapter_reads_the_body_by_content_length() -> None:
    import io

    app = WSGIAdapter(squall.web.Application([(r"/echo/(.*)", EchoHandler)]))
    payload = b"a=%C3%A9t%C3%A9&ignored=1"
    status, _, body = _call(
        app,
        "/echo/x",
        method="POST",
        CONTENT_TYPE="application/x-www-form-urlencoded",
        CONTENT_LENGTH=str(len(payload)),
        **{"wsgi.input": io.BytesIO(payload + b"trailing bytes not read")},
    )
    assert status == "200 OK"
    assert json.loads(body) == {"body": payload.decode(), "arg": "été"}


def test_adapter_script_name_is_part_of_the_path() -> None:
    app = WSGIAdapter(squall.web.Application([(r"/mount/echo/(.*)", EchoHandler)]))
    status, _, body = _call(app, "/echo/z", SCRIPT_NAME="/mount")
    assert status == "200 OK"
    assert json.loads(body)["rest"] == "z"


def test_refusal_names_the_request_and_the_limitation() -> None:
    site = load_site()
    with pytest.raises(RuntimeError, match=r"GET /coroutine/waiting .*runs no event loop"):
        _call(site.application, "/coroutine/waiting")


def test_wsgi_application_is_still_a_squall_application(serve: Any) -> None:
    site = load_site()
    assert isinstance(site.application, squall.web.Application)
    live = serve(site.application)
    # On squall's own server the asynchronous handlers work.
    assert live.request("GET", "/coroutine/waiting")[2] == b"never sent"
    assert live.request("GET", "/classic/timer")[0] == 200
    assert live.request("GET", "/")[2] == b"Hello, world"


def test_adapter_called_from_inside_a_running_loop(serve: Any) -> None:
    # A WSGIContainer without executor calls the adapter on the loop thread.
    adapter = WSGIAdapter(squall.web.Application([(r"/echo/(.*)", EchoHandler)]))
    live = serve(WSGIContainer(adapter))
    status, _, body = live.request("GET", "/echo/inner?q=2")
    assert status == 200
    assert json.loads(body)["query"] == "2"


def test_wsgi_application_overview_settings_example() -> None:
    class ContentHandler(squall.web.RequestHandler):
        def get(self, name: str) -> None:
            self.write(f"content {name}")

    settings = {"debug": False}
    application = WSGIApplication(
        [
            (r"/([a-z]*)", ContentHandler),
            (
                r"/static/tornado-0.2.tar.gz",
                squall.web.RedirectHandler,
                dict(url="http://github.com/downloads/facebook/tornado/tornado-0.2.tar.gz"),
            ),
        ],
        **settings,
    )
    assert _call(application, "/about")[2] == b"content about"
    status, headers, _ = _call(application, "/static/tornado-0.2.tar.gz")
    assert status == "301 Moved Permanently"
    assert (
        "Location",
        "http://github.com/downloads/facebook/tornado/tornado-0.2.tar.gz",
    ) in headers
