"""xheaders: the I/O-free proxy-header rule, and the server applying it per request."""

from __future__ import annotations

import pytest
from squall.httpserver._peer import _resolve_forwarded
from squall.httputil import HTTPHeaders

PEER = "127.0.0.1"


def resolve(trusted=(), **fields: str) -> tuple[str | None, str]:
    headers = HTTPHeaders({name.replace("_", "-"): value for name, value in fields.items()})
    return _resolve_forwarded(headers, PEER, "http", frozenset(trusted))


@pytest.mark.parametrize(
    ("fields", "trusted", "expected"),
    [
        ({}, (), PEER),
        ({"X_Forwarded_For": "1.1.1.1, 2.2.2.2"}, (), "2.2.2.2"),
        ({"X_Forwarded_For": "1.1.1.1,2.2.2.2,3.3.3.3"}, ("3.3.3.3",), "2.2.2.2"),
        ({"X_Forwarded_For": "1.1.1.1, 2.2.2.2, 3.3.3.3"}, ("3.3.3.3", "2.2.2.2"), "1.1.1.1"),
        ({"X_Forwarded_For": "2.2.2.2, 3.3.3.3"}, ("3.3.3.3", "2.2.2.2"), "2.2.2.2"),
        ({"X_Real_Ip": "4.4.4.4"}, (), "4.4.4.4"),
        ({"X_Real_Ip": "4.4.4.4", "X_Forwarded_For": "1.1.1.1"}, (), "4.4.4.4"),
        ({"X_Forwarded_For": "2001:db8::1"}, (), "2001:db8::1"),
        ({"X_Real_Ip": " 5.5.5.5 "}, (), "5.5.5.5"),
        # Not an address: ignored, never replaced by a hop further left.
        ({"X_Real_Ip": "bogus"}, (), PEER),
        ({"X_Forwarded_For": "1.1.1.1, not-an-ip"}, (), PEER),
        ({"X_Forwarded_For": "1.1.1.1, 999.1.1.1"}, (), PEER),
        ({"X_Forwarded_For": ""}, (), PEER),
    ],
)
def test_remote_ip_rule(fields, trusted, expected) -> None:
    assert resolve(trusted, **fields)[0] == expected


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        ({}, "http"),
        ({"X_Scheme": "https"}, "https"),
        ({"X_Forwarded_Proto": "https"}, "https"),
        ({"X_Forwarded_Proto": "HTTPS"}, "https"),
        ({"X_Forwarded_Proto": "http, https"}, "https"),
        ({"X_Forwarded_Proto": "https, http"}, "http"),
        ({"X_Scheme": "https", "X_Forwarded_Proto": "http"}, "https"),
        ({"X_Forwarded_Proto": "ftp"}, "http"),
        ({"X_Scheme": "javascript"}, "http"),
    ],
)
def test_protocol_rule(fields, expected) -> None:
    assert resolve(**fields)[1] == expected


def test_server_applies_xheaders_per_request(serve, wire) -> None:
    seen = []

    def handler(request) -> None:
        seen.append((request.remote_ip, request.protocol, str(request.connection.context)))
        wire.answer(request)

    live = serve(handler, xheaders=True, trusted_downstream=["10.0.0.2"])
    raw = (
        b"GET /1 HTTP/1.1\r\nHost: x\r\nX-Forwarded-For: 9.9.9.9, 10.0.0.2\r\n"
        b"X-Forwarded-Proto: https\r\n\r\n"
        b"GET /2 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
    )
    wire.parse(wire.exchange(live.port, raw), ["GET", "GET"])
    # The second request on the same connection is back to the socket's view.
    assert seen == [("9.9.9.9", "https", "9.9.9.9"), (PEER, "http", PEER)]


def test_server_ignores_proxy_headers_without_xheaders(serve, wire) -> None:
    seen = []

    def handler(request) -> None:
        seen.append((request.remote_ip, request.protocol))
        wire.answer(request)

    live = serve(handler)
    wire.request_once(
        live.port, b"GET / HTTP/1.1\r\nHost: x\r\nX-Real-Ip: 9.9.9.9\r\nX-Scheme: https\r\n\r\n"
    )
    assert seen == [(PEER, "http")]


def test_an_earlier_request_keeps_its_own_view_after_the_next_one_starts(serve, wire) -> None:
    requests = []

    def handler(request) -> None:
        requests.append(request)
        wire.answer(request)

    live = serve(handler, xheaders=True)
    raw = (
        b"GET /1 HTTP/1.1\r\nHost: x\r\nX-Real-Ip: 7.7.7.7\r\n\r\n"
        b"GET /2 HTTP/1.1\r\nHost: x\r\nX-Real-Ip: 8.8.8.8\r\nConnection: close\r\n\r\n"
    )
    wire.parse(wire.exchange(live.port, raw), ["GET", "GET"])
    # remote_ip is read only now, after both requests were served.
    assert [r.remote_ip for r in requests] == ["7.7.7.7", "8.8.8.8"]
