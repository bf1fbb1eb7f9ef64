"""HTTPServer(http_parser=...): the choice of HTTP/1 parser, made once, logged, never silent."""

from __future__ import annotations

import logging
from typing import Any

import pytest
from squall.http1connection import _parsers
from squall.httpserver import HTTPServer
from squall.httputil import HTTPServerRequest

# squall's own reader: compiled in the compiled build (tox's compiled factor).
_PURE = "compiled" if _parsers.COMPILED else "pure Python"

needs_httptools = pytest.mark.skipif(
    _parsers.HTTPTOOLS_VERSION is None, reason="httptools not installed"
)

BROWSER = (
    b"GET /static/app.js?v=3 HTTP/1.1\r\nHost: www.example.com\r\n"
    b"User-Agent: Mozilla/5.0 (X11; Linux x86_64; rv:120.0) Gecko/20100101 Firefox/120.0\r\n"
    b"Accept: text/html,application/xhtml+xml;q=0.9,*/*;q=0.8\r\n"
    b"Accept-Language: en-US,en;q=0.5\r\nAccept-Encoding: gzip, deflate, br\r\n"
    b"Referer: https://www.example.com/\r\nCookie: session=abc; theme=dark\r\n"
    b"cookie: late=1\r\nX-Folded: one\r\n two\r\nSec-Fetch-Mode: navigate \r\n"
    b"Connection: close\r\n\r\n"
)


@pytest.fixture
def fresh_log(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_parsers, "_announced", set())
    monkeypatch.delenv(_parsers.ENV_VARIABLE, raising=False)


def _seen_by_handler(serve: Any, wire: Any, parser: str) -> list[Any]:
    seen: list[Any] = []

    def handler(request: HTTPServerRequest) -> None:
        seen.append((request.method, request.uri, list(request.headers.get_all())))
        wire.answer(request)

    live = serve(handler, http_parser=parser)
    (response,) = wire.parse(wire.exchange(live.port, BROWSER))
    assert response.status == 200
    return seen


@needs_httptools
def test_both_parsers_hand_the_application_the_same_request(serve: Any, wire: Any) -> None:
    pure = _seen_by_handler(serve, wire, "python")
    fast = _seen_by_handler(serve, wire, "httptools")
    assert fast == pure
    (_, _, headers) = pure[0]
    assert ("Cookie", "late=1") in headers and ("X-Folded", "one two") in headers
    assert ("Sec-Fetch-Mode", "navigate") in headers


@pytest.mark.usefixtures("fresh_log")
def test_the_choice_is_made_at_construction_and_logged_once(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with caplog.at_level(logging.INFO, logger="squall.general"):
        HTTPServer(lambda request: None, http_parser="python")
        HTTPServer(lambda request: None, http_parser="python")
    lines = [r.getMessage() for r in caplog.records if r.name == "squall.general"]
    assert lines == [f"HTTP/1 parser: {_PURE} (asked for)"]


@needs_httptools
@pytest.mark.usefixtures("fresh_log")
def test_the_environment_variable_applies_when_the_keyword_is_not_given(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setenv(_parsers.ENV_VARIABLE, "httptools")
    with caplog.at_level(logging.INFO, logger="squall.general"):
        HTTPServer(lambda request: None)
        HTTPServer(lambda request: None, http_parser="python")
    lines = [r.getMessage() for r in caplog.records if r.name == "squall.general"]
    assert len(lines) == 2
    assert lines[0].startswith("HTTP/1 parser: llhttp (httptools ")
    assert lines[1] == f"HTTP/1 parser: {_PURE} (asked for)"


@pytest.mark.usefixtures("fresh_log")
def test_an_unknown_parser_name_fails_at_construction() -> None:
    with pytest.raises(ValueError, match="'fast'"):
        HTTPServer(lambda request: None, http_parser="fast")


@pytest.mark.usefixtures("fresh_log")
def test_httptools_asked_for_but_missing_fails_at_construction(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(_parsers, "HTTPTOOLS_VERSION", None)
    with pytest.raises(ImportError, match="speedups"):
        HTTPServer(lambda request: None, http_parser="httptools")
    # auto means the pure parser then, and the log says why.
    with caplog.at_level(logging.INFO, logger="squall.general"):
        HTTPServer(lambda request: None, http_parser="auto")
    lines = [r.getMessage() for r in caplog.records if r.name == "squall.general"]
    why = "auto" if _parsers.COMPILED else "httptools is not installed"
    assert lines == [f"HTTP/1 parser: {_PURE} ({why})"]
