"""The PEP 3333 environ WSGIContainer builds, checked through real requests.

Each test serves an application that reports its environ, and the
standard library's :func:`wsgiref.validate.validator` wraps it, so every
request is also checked against the specification's rules.
"""

from __future__ import annotations

import concurrent.futures
import http.client
import json
import ssl
import sys
from typing import Any
from wsgiref.validate import validator

import pytest
from squall.wsgi import WSGIContainer

TIMEOUT = 10.0


def report(environ: dict[str, Any], start_response: Any) -> list[bytes]:
    body = environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
    shown = {
        key: value for key, value in environ.items() if isinstance(value, (str, bool, int, tuple))
    }
    shown["body"] = body.decode("latin-1")
    environ["wsgi.errors"].write("")  # the validator checks the stream is writable
    start_response("200 OK", [("Content-Type", "application/json")])
    return [json.dumps(shown).encode()]


@pytest.fixture(params=["inline", "pool"])
def container(request: pytest.FixtureRequest) -> Any:
    pool = concurrent.futures.ThreadPoolExecutor(2) if request.param == "pool" else None
    yield WSGIContainer(validator(report), executor=pool)
    if pool is not None:
        pool.shutdown(wait=True)


def environ_of(live: Any, method: str, path: str, **kwargs: Any) -> dict[str, Any]:
    status, _, body = live.request(method, path, **kwargs)
    assert status == 200, body
    return json.loads(body)  # type: ignore[no-any-return]


def test_request_line_and_cgi_variables(serve: Any, container: Any) -> None:
    live = serve(container)
    env = environ_of(
        live,
        "POST",
        "/a%20b/c%2Fd?x=%20y&z",
        body=b"abc",
        headers={"Host": "example.com:8080", "Content-Type": "text/plain"},
    )
    assert env["REQUEST_METHOD"] == "POST"
    assert env["SCRIPT_NAME"] == ""
    assert env["PATH_INFO"] == "/a b/c/d"
    assert env["QUERY_STRING"] == "x=%20y&z"
    assert env["CONTENT_TYPE"] == "text/plain"
    assert env["CONTENT_LENGTH"] == "3"
    assert "HTTP_CONTENT_TYPE" not in env and "HTTP_CONTENT_LENGTH" not in env
    assert env["SERVER_NAME"] == "example.com"
    assert env["SERVER_PORT"] == "8080"
    assert env["SERVER_PROTOCOL"] == "HTTP/1.1"
    assert env["REMOTE_ADDR"] == "127.0.0.1"
    assert env["HTTP_HOST"] == "example.com:8080"
    assert env["body"] == "abc"


def test_wsgi_variables(serve: Any, container: Any) -> None:
    env = environ_of(serve(container), "GET", "/")
    assert env["wsgi.version"] == [1, 0]
    assert env["wsgi.url_scheme"] == "http"
    assert env["wsgi.multithread"] is (container.executor is not None)
    assert env["wsgi.multiprocess"] is True
    assert env["wsgi.run_once"] is False
    assert env["wsgi.input_terminated"] is True
    assert env["body"] == ""
    assert "CONTENT_LENGTH" not in env


def test_non_ascii_path_is_a_latin1_string_of_the_bytes(serve: Any, container: Any) -> None:
    env = environ_of(serve(container), "GET", "/caf%C3%A9/%E2%82%AC")
    assert env["PATH_INFO"] == "/café/€".encode().decode("latin-1")
    assert env["PATH_INFO"].encode("latin-1").decode("utf-8") == "/café/€"


def test_repeated_headers_are_joined(serve: Any, container: Any) -> None:
    env = environ_of(
        serve(container),
        "GET",
        "/",
        headers=[
            ("X-Multi", "1"),
            ("X-Multi", "2"),
            ("Cookie", "a=1"),
            ("Cookie", "b=2"),
            ("Accept-Language", "fr"),
        ],
    )
    assert env["HTTP_X_MULTI"] == "1,2"
    assert env["HTTP_COOKIE"] == "a=1; b=2"
    assert env["HTTP_ACCEPT_LANGUAGE"] == "fr"


def test_default_port_follows_the_scheme(serve: Any, container: Any) -> None:
    env = environ_of(serve(container), "GET", "/", headers={"Host": "example.org"})
    assert (env["SERVER_NAME"], env["SERVER_PORT"]) == ("example.org", "80")


def test_remote_addr_honours_xheaders(serve: Any, container: Any) -> None:
    proxied = serve(container, xheaders=True)
    env = environ_of(
        proxied,
        "GET",
        "/",
        headers={"Host": "example.com", "X-Real-Ip": "203.0.113.9", "X-Scheme": "https"},
    )
    assert env["REMOTE_ADDR"] == "203.0.113.9"
    assert env["wsgi.url_scheme"] == "https"
    assert env["SERVER_PORT"] == "443"
    direct = serve(container)
    env = environ_of(direct, "GET", "/", headers={"X-Real-Ip": "203.0.113.9"})
    assert env["REMOTE_ADDR"] == "127.0.0.1"
    assert env["wsgi.url_scheme"] == "http"


def test_url_scheme_is_https_under_tls(
    serve: Any, container: Any, tmp_path_factory: pytest.TempPathFactory
) -> None:
    pytest.importorskip("cryptography.x509")
    from squall.testing._certs import _write_self_signed

    cert, key = _write_self_signed(tmp_path_factory.mktemp("tls"))
    server_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_context.load_cert_chain(cert, key)
    live = serve(container, ssl_options=server_context)
    client_context = ssl.create_default_context(cafile=cert)
    conn = http.client.HTTPSConnection(
        "127.0.0.1", live.port, timeout=TIMEOUT, context=client_context
    )
    try:
        conn.request("GET", "/secure")
        response = conn.getresponse()
        env = json.loads(response.read())
    finally:
        conn.close()
    assert env["wsgi.url_scheme"] == "https"
    assert env["PATH_INFO"] == "/secure"


def test_environ_method_matches_what_the_application_sees() -> None:
    from squall.httputil import HTTPHeaders, HTTPServerRequest

    request = HTTPServerRequest(
        "GET", "/p%41th?q=1", "HTTP/1.1", HTTPHeaders({"Host": "h:81", "X-A": "b"})
    )
    request.remote_ip, request.protocol = "10.0.0.1", "http"
    env = WSGIContainer(report).environ(request)
    assert env["PATH_INFO"] == "/pAth"
    assert env["QUERY_STRING"] == "q=1"
    assert (env["SERVER_NAME"], env["SERVER_PORT"]) == ("h", "81")
    assert env["REMOTE_ADDR"] == "10.0.0.1"
    assert env["HTTP_X_A"] == "b"
    assert env["wsgi.input"].read() == b""
    assert env["wsgi.multithread"] is False
    assert env["wsgi.errors"] is sys.stderr
