"""squall.testing's pytest fixtures (http_server, base_url, http_client, fetch) end to end.

An isolated pytest session (pytester, in a subprocess) loads the plugin with
``-p squall.testing`` and runs tests against the real squall server with the
real client; a test meant to fail proves that the assertions really run.
"""

from __future__ import annotations

import pytest

pytest_plugins = ["pytester"]

_SESSION = """
import pytest
from squall.httputil import HTTPHeaders, ResponseStartLine


def answer(request):
    text = f"{request.method} {request.uri} ".encode() + request.body
    status = 404 if request.path == "/missing" else 200
    fields = HTTPHeaders({"Content-Length": str(len(text))})
    request.connection.write_headers(ResponseStartLine("HTTP/1.1", status, "X"), fields, text)
    request.connection.finish()


@pytest.fixture
def app():
    return answer


async def test_fetch_paths(fetch):
    response = await fetch("/hello")
    assert response.code == 200 and response.body == b"GET /hello "
    missing = await fetch("/missing")
    assert missing.code == 404 and missing.error is not None
    posted = await fetch("/form", method="POST", body="a=1")
    assert posted.body == b"POST /form a=1"


async def test_fetch_raise_error(fetch):
    from squall.httpclient import HTTPClientError

    with pytest.raises(HTTPClientError) as caught:
        await fetch("/missing", raise_error=True)
    assert caught.value.code == 404


async def test_client_and_base_url(http_client, base_url, http_port, http_server):
    assert base_url == f"http://127.0.0.1:{http_port}"
    response = await http_client.fetch(base_url + "/q?x=1")
    assert response.body == b"GET /q?x=1 "
    again = await http_client.fetch(base_url + "/q?x=2")
    assert again.body == b"GET /q?x=2 "


def test_sync_test_drives_io_loop(io_loop, http_client, base_url):
    response = io_loop.run_sync(lambda: http_client.fetch(base_url + "/sync"))
    assert response.body == b"GET /sync "


async def test_meant_to_fail(fetch):
    assert (await fetch("/hello")).body == b"something else"
"""


def test_http_fixtures_serve_and_fetch_end_to_end(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_served=_SESSION)
    pytester.makeini("[pytest]\nfilterwarnings = error\n")
    result = pytester.runpytest_subprocess("-p", "squall.testing", "-q", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=4, failed=1)
    result.stdout.fnmatch_lines(["*test_meant_to_fail*"])
    assert "b'something else'" in result.stdout.str()
