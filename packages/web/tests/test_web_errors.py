"""Errors: HTTPError, send_error/write_error, tracebacks, get_error_html, log_exception."""

from __future__ import annotations

import logging
from typing import Any

import pytest
from squall.testing import AsyncHTTPTestCase, ExpectLog
from squall.testing._http import _over_http2
from squall.web import Application, HTTPError, MissingArgumentError, RequestHandler


class RaisingHandler(RequestHandler):
    def get(self) -> None:
        kind = self.get_argument("kind")
        if kind == "crash":
            1 / 0  # noqa: B018
        elif kind == "teapot":
            raise HTTPError(418, reason="Short And Stout")
        elif kind == "logged":
            raise HTTPError(403, "user %s is not allowed", "ann")
        elif kind == "percent":
            raise HTTPError(400, "100% wrong")
        elif kind == "send":
            self.write("thrown away")
            self.send_error(503, reason="Maintenance")
        elif kind == "after-flush":
            self.write("started")
            self.flush()
            raise RuntimeError("too late")


class CustomErrorHandler(RequestHandler):
    def get(self) -> None:
        raise HTTPError(402)

    def write_error(self, status_code: int, **kwargs: Any) -> None:
        failure = kwargs["exc_info"][1]
        self.write({"status": status_code, "error": type(failure).__name__})


class ClassicErrorHandler(RequestHandler):
    def get(self) -> None:
        raise HTTPError(404)

    def get_error_html(self, status_code: int, exception: Any = None, **kwargs: Any) -> str:
        return f"<p>classic {status_code} {type(exception).__name__}</p>"


class AsyncRaisingHandler(RequestHandler):
    async def get(self) -> None:
        raise HTTPError(409)


class TestErrors(AsyncHTTPTestCase):
    def get_app(self) -> Application:
        return Application(
            [
                (r"/raise", RaisingHandler),
                (r"/custom", CustomErrorHandler),
                (r"/classic", ClassicErrorHandler),
                (r"/async", AsyncRaisingHandler),
            ]
        )

    def test_uncaught_exception_is_a_500_and_logged(self) -> None:
        with ExpectLog("squall.application", "Uncaught exception GET /raise"):
            response = self.fetch("/raise?kind=crash")
        assert response.code == 500
        assert response.body == (
            b"<html><title>500: Internal Server Error</title>"
            b"<body>500: Internal Server Error</body></html>"
        )
        assert b"ZeroDivisionError" not in response.body

    def test_http_error_reason(self) -> None:
        response = self.fetch("/raise?kind=teapot")
        assert response.code == 418
        if not _over_http2():  # HTTP/2 carries no reason phrase
            assert response.reason == "Short And Stout"
        assert b"418: Short And Stout" in response.body

    def test_log_message_is_logged_with_its_arguments(self) -> None:
        with ExpectLog("squall.general", r"403 GET /raise\?kind=logged \(127.0.0.1\): user ann"):
            assert self.fetch("/raise?kind=logged").code == 403
        with ExpectLog("squall.general", r"400 GET .*: 100% wrong$"):
            assert self.fetch("/raise?kind=percent").code == 400

    def test_send_error_discards_output(self) -> None:
        response = self.fetch("/raise?kind=send")
        assert response.code == 503
        if not _over_http2():  # HTTP/2 carries no reason phrase
            assert response.reason == "Maintenance"
        assert b"thrown away" not in response.body

    def test_error_after_the_headers_ends_the_response(self) -> None:
        with ExpectLog("squall.application", "Uncaught exception"):
            response = self.fetch("/raise?kind=after-flush")
        assert response.code == 200
        assert response.body == b"started"

    def test_write_error_override(self) -> None:
        response = self.fetch("/custom")
        assert response.code == 402
        assert response.body == b'{"status": 402, "error": "HTTPError"}'

    def test_classic_get_error_html(self) -> None:
        response = self.fetch("/classic")
        assert response.code == 404
        assert response.body == b"<p>classic 404 HTTPError</p>"

    def test_async_method_errors(self) -> None:
        assert self.fetch("/async").code == 409


class TestServeTraceback(AsyncHTTPTestCase):
    def get_app(self) -> Application:
        return Application([(r"/raise", RaisingHandler)], serve_traceback=True)

    def test_traceback_page(self) -> None:
        with ExpectLog("squall.application", "Uncaught exception"):
            response = self.fetch("/raise?kind=crash")
        assert response.code == 500
        assert response.headers["Content-Type"] == "text/plain"
        assert b"Traceback (most recent call last)" in response.body
        assert b"ZeroDivisionError" in response.body


def test_debug_implies_its_settings() -> None:
    app = Application(debug=True, autoreload=False)
    assert app.settings["serve_traceback"] is True
    assert app.settings["compiled_template_cache"] is False
    assert app.settings["static_hash_cache"] is False
    assert app.settings["autoreload"] is False  # given explicitly: kept
    plain = Application()
    assert "serve_traceback" not in plain.settings


def test_http_error_str_and_attributes() -> None:
    error = HTTPError(404, "no %s here", "cake")
    assert str(error) == "HTTP 404: Not Found (no cake here)"
    assert error.status_code == 404 and error.args == ("cake",)
    assert str(HTTPError(599)) == "HTTP 599: Unknown"
    assert str(HTTPError(400, "50% off")) == "HTTP 400: Bad Request (50% off)"
    assert HTTPError(400, reason="Nope").reason == "Nope"
    missing = MissingArgumentError("name")
    assert isinstance(missing, HTTPError) and missing.status_code == 400
    assert missing.arg_name == "name"


@pytest.mark.parametrize("level", [logging.INFO])
def test_log_exception_is_overridable(level: int) -> None:
    seen: list[Any] = []

    class Quiet(RaisingHandler):
        def log_exception(self, typ: Any, value: Any, tb: Any) -> None:
            seen.append(type(value).__name__)

    class Case(AsyncHTTPTestCase):
        def get_app(self) -> Application:
            return Application([(r"/raise", Quiet)])

        def runTest(self) -> None:
            assert self.fetch("/raise?kind=crash").code == 500

    result = Case().run()
    assert result is not None and result.wasSuccessful(), result.errors + result.failures
    assert seen == ["ZeroDivisionError"]
