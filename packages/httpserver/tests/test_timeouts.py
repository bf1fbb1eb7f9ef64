"""Idle, header and body timeouts, slowloris, graceful shutdown and close_all_connections."""

from __future__ import annotations

import asyncio
import logging
import socket
import time

GET = b"GET / HTTP/1.1\r\nHost: x\r\n\r\n"


def test_idle_keep_alive_connection_is_closed_silently(serve, wire, caplog) -> None:
    live = serve(idle_connection_timeout=0.3)
    with caplog.at_level(logging.INFO, logger="squall.general"), wire.connect(live.port) as sock:
        sock.sendall(GET)
        first = sock.recv(4096)
        assert first.startswith(b"HTTP/1.1 200")
        # Nothing more is sent; the server hangs up without a word.
        assert wire.read_all(sock, limit=3) == b""
    assert not [r for r in caplog.records if r.levelno >= logging.INFO]


def test_a_connection_that_never_sends_is_closed_after_the_idle_timeout(serve, wire) -> None:
    live = serve(idle_connection_timeout=0.3)
    with wire.connect(live.port) as sock:
        started = time.monotonic()
        assert wire.read_all(sock, limit=3) == b""
        assert time.monotonic() - started < 3


def test_client_stopping_mid_head_gets_408(serve, wire, caplog) -> None:
    live = serve(header_timeout=0.3)
    with caplog.at_level(logging.INFO, logger="squall.general"), wire.connect(live.port) as sock:
        sock.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n")
        data = wire.read_all(sock, limit=3)
    (response,) = wire.parse(data)
    assert response.status == 408 and response.closes
    assert any(
        "header_timeout" in r.getMessage() for r in caplog.records if r.levelno == logging.INFO
    )


def test_slowloris_cannot_hold_a_connection_past_header_timeout(serve, wire) -> None:
    live = serve(header_timeout=0.6)
    head = b"GET / HTTP/1.1\r\nHost: x\r\nX-Slow: " + b"a" * 100
    with wire.connect(live.port) as sock:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        started = time.monotonic()
        sent = 0
        closed_at = None
        data = b""
        for byte in head:
            try:
                sock.send(bytes([byte]))
            except OSError:
                break
            sent += 1
            sock.settimeout(0.2)  # one byte every 0.2 s
            try:
                chunk = sock.recv(4096)
            except TimeoutError:
                continue
            data += chunk
            if not chunk or data.endswith(b"\r\n\r\n"):
                closed_at = time.monotonic()
                break
    assert closed_at is not None, "the server kept reading the slow head"
    # Bytes kept arriving, yet the deadline held (plus one sweep and one byte of slack).
    assert closed_at - started < 0.6 + 1.0
    assert sent < len(head)
    (response,) = wire.parse(data)
    assert response.status == 408


def test_client_stopping_mid_body_gets_408_after_body_timeout(serve, wire, caplog) -> None:
    seen = []
    live = serve(lambda request: seen.append(request), body_timeout=0.3)
    with caplog.at_level(logging.INFO, logger="squall.general"), wire.connect(live.port) as sock:
        sock.sendall(b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\nabc")
        data = wire.read_all(sock, limit=3)
    (response,) = wire.parse(data, ["POST"])
    assert response.status == 408
    assert seen == []
    assert any("body_timeout" in r.getMessage() for r in caplog.records)


def test_body_timeout_after_the_response_started_just_closes(serve, wire) -> None:
    from squall.httputil import HTTPHeaders, HTTPMessageDelegate, ResponseStartLine

    class Early:
        def start_request(self, server_conn, request_conn):
            class Message(HTTPMessageDelegate):
                def headers_received(self, start_line, headers):
                    request_conn.write_headers(
                        ResponseStartLine("HTTP/1.1", 200, "OK"),
                        HTTPHeaders({"Content-Length": "5"}),
                        b"early",
                    )
                    return None

            return Message()

    live = serve(Early(), body_timeout=0.3)
    with wire.connect(live.port) as sock:
        sock.sendall(b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\nabc")
        data = wire.read_all(sock, limit=3)
    assert data.count(b"HTTP/1.1") == 1
    assert data.endswith(b"early")


def test_slow_application_is_not_a_timeout(serve, wire) -> None:
    def handler(request) -> None:
        asyncio.get_running_loop().call_later(0.5, wire.answer, request, b"late")

    live = serve(handler, idle_connection_timeout=0.2, header_timeout=0.2, body_timeout=0.2)
    assert wire.request_once(live.port, GET).body == b"late"


def test_shutdown_lets_a_request_in_flight_finish_and_closes_idle_ones(serve, wire) -> None:
    def handler(request) -> None:
        delay = 0.5 if request.path == "/slow" else 0.0
        asyncio.get_running_loop().call_later(delay, wire.answer, request, request.path.encode())

    live = serve(handler)
    idle = wire.connect(live.port)
    idle.sendall(GET)
    assert idle.recv(4096).endswith(b"/")
    busy = wire.connect(live.port)
    busy.sendall(b"GET /slow HTTP/1.1\r\nHost: x\r\n\r\n")
    time.sleep(0.1)  # the slow request is in the application now
    done = live.start_call(lambda: live.server.shutdown(5))
    # The idle keep-alive connection is closed at once.
    assert wire.read_all(idle, limit=2) == b""
    # New connections are refused (the listener is closed).
    try:
        refused = socket.create_connection(("127.0.0.1", live.port), timeout=1)
    except OSError:
        pass
    else:
        refused.close()
        raise AssertionError("still accepting after shutdown()")
    # The request in flight gets its full answer, marked as the last one.
    (response,) = wire.parse(wire.read_all(busy, limit=3))
    assert (response.status, response.body) == (200, b"/slow")
    assert response.headers["connection"] == "close"
    done.result(5)
    idle.close()
    busy.close()


def test_shutdown_forces_close_at_the_deadline(serve, wire) -> None:
    live = serve(lambda request: None)  # never answers
    with wire.connect(live.port) as sock:
        sock.sendall(GET)
        time.sleep(0.1)
        started = time.monotonic()
        live.call(lambda: live.server.shutdown(0.3))
        assert time.monotonic() - started < 3
        assert wire.read_all(sock, limit=2) == b""


def test_pipelined_requests_after_shutdown_began_are_not_served(serve, wire) -> None:
    def handler(request) -> None:
        asyncio.get_running_loop().call_later(0.3, wire.answer, request, request.path.encode())

    live = serve(handler)
    with wire.connect(live.port) as sock:
        sock.sendall(b"GET /a HTTP/1.1\r\nHost: x\r\n\r\n")
        time.sleep(0.1)
        done = live.start_call(lambda: live.server.shutdown(5))
        time.sleep(0.05)
        sock.sendall(b"GET /b HTTP/1.1\r\nHost: x\r\n\r\n")
        data = wire.read_all(sock, limit=3)
    (response,) = wire.parse(data)
    assert response.body == b"/a" and response.closes
    done.result(5)


def test_close_all_connections_closes_busy_and_idle_connections(serve, wire) -> None:
    live = serve(lambda request: None)
    idle = wire.connect(live.port)
    busy = wire.connect(live.port)
    busy.sendall(GET)
    time.sleep(0.1)
    live.server.stop()
    live.call(live.server.close_all_connections)
    assert wire.read_all(idle, limit=2) == b""
    assert wire.read_all(busy, limit=2) == b""
    idle.close()
    busy.close()
