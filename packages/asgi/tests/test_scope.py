"""The scope and header conversions of squall.asgi, fed values directly."""

from __future__ import annotations

import pytest
from squall.asgi._scope import _field_list, _headers_from_fields, _make_scope, _Peer
from squall.httputil import HTTPHeaders


def scope_for(version: str, uri: str = "/a?b=1", peer: object = None) -> dict[str, object]:
    headers = HTTPHeaders({"Host": "example.com", "X-Thing": "yes"})
    return _make_scope("http", "GET", uri, version, headers, peer, ("127.0.0.1", 80), "", {})


@pytest.mark.parametrize(
    ("version", "spelled"),
    [("HTTP/1.1", "1.1"), ("HTTP/1.0", "1.0"), ("HTTP/2.0", "2"), ("HTTP/2", "2")],
)
def test_http_version_as_asgi_spells_it(version: str, spelled: str) -> None:
    # ASGI's http_version is one of "1.0", "1.1" and "2" (not "2.0").
    assert scope_for(version)["http_version"] == spelled


def test_scope_fields() -> None:
    peer = _Peer(("10.0.0.9", 5555), "10.0.0.9", "https")
    scope = scope_for("HTTP/1.1", "/caf%C3%A9?q=%20", peer)
    assert scope["path"] == "/café"
    assert scope["raw_path"] == b"/caf%C3%A9"
    assert scope["query_string"] == b"q=%20"
    assert scope["client"] == ("10.0.0.9", 5555)
    assert scope["scheme"] == "https"
    assert scope["headers"] == [[b"host", b"example.com"], [b"x-thing", b"yes"]]
    assert scope["state"] == {}


def test_scope_without_a_peer() -> None:
    scope = scope_for("HTTP/1.1")
    assert scope["client"] is None
    assert scope["scheme"] == "http"


def test_websocket_scheme_follows_tls() -> None:
    peer = _Peer(("10.0.0.9", 5555), "10.0.0.9", "https")
    headers = HTTPHeaders({"Host": "example.com"})
    scope = _make_scope("websocket", "GET", "/ws", "HTTP/1.1", headers, peer, None, "", None)
    assert scope["scheme"] == "wss"
    assert "method" not in scope and "state" not in scope


def test_repeated_request_fields_stay_separate() -> None:
    headers = HTTPHeaders()
    headers.add("Cookie", "a=1")
    headers.add("Cookie", "b=2")
    headers.add("Host", "h")
    assert _field_list(headers) == [[b"cookie", b"a=1"], [b"cookie", b"b=2"], [b"host", b"h"]]
    assert _field_list(headers, frozenset({"Cookie"})) == [[b"host", b"h"]]


def test_response_fields_to_headers() -> None:
    fields = [
        (b"content-type", b"text/plain"),
        [bytearray(b"set-cookie"), b"a=1"],
        (b"Set-Cookie", bytearray(b"b=2")),
        (b"x-latin", "é".encode("latin-1")),
    ]
    headers = _headers_from_fields(fields)
    assert headers["Content-Type"] == "text/plain"
    assert headers.get_list("Set-Cookie") == ["a=1", "b=2"]
    assert headers["X-Latin"] == "é"
    assert list(headers) == ["Content-Type", "Set-Cookie", "X-Latin"]
