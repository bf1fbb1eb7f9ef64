"""When small writes are held to the end of a loop pass (squall.httpserver._registry).

Holding gathers the answers of one pass into a burst when several connections
answer in it; a lone connection answering pass after pass would only pay an
extra pass per answer, so after a few such passes writes go straight out,
with a held pass now and then to notice load coming back.
"""

from __future__ import annotations

import asyncio
import http.client

from squall.httpserver import HTTPServer
from squall.httpserver._registry import _PROBE_EVERY, _SOLO_PASSES, _Registry, _Settings
from squall.httputil import HTTPHeaders, ResponseStartLine


class _Conn:
    """Stands for a connection holding bytes: counts its releases."""

    def __init__(self) -> None:
        self.released = 0

    def _release(self) -> None:
        self.released += 1


def _end_pass(loop: asyncio.AbstractEventLoop) -> None:
    loop.run_until_complete(asyncio.sleep(0))


def test_a_lone_connection_stops_holding_then_a_probe_notices_load() -> None:
    loop = asyncio.new_event_loop()
    try:
        registry = _Registry(_Settings(HTTPServer(lambda request: None)), loop)
        lone = _Conn()
        for _ in range(_SOLO_PASSES):
            assert registry.holding
            registry.hold(lone)
            _end_pass(loop)
        assert lone.released == _SOLO_PASSES
        assert not registry.holding
        # Straight writes; the last of a run holds again (a probe).
        assert [registry.probe() for _ in range(_PROBE_EVERY)] == [False] * (_PROBE_EVERY - 1) + [
            True
        ]
        assert registry.holding
        # The probing pass finds three connections answering: holding stays on.
        busy = [_Conn() for _ in range(3)]
        for conn in busy:
            registry.hold(conn)
        _end_pass(loop)
        assert [conn.released for conn in busy] == [1, 1, 1]
        for _ in range(_SOLO_PASSES - 1):
            registry.hold(lone)
            _end_pass(loop)
        assert registry.holding  # not yet: the lone passes must come in a row again
    finally:
        loop.close()


def test_sequential_requests_on_one_connection_end_up_written_at_once(serve, wire) -> None:
    during: list[int] = []

    def handler(request) -> None:
        transport = request.connection._transport
        write = transport.write
        sent: list[bytes] = []

        def counting(data: bytes) -> None:
            sent.append(bytes(data))
            write(data)

        transport.write = counting
        request.connection.write_headers(
            ResponseStartLine("HTTP/1.1", 200, "OK"), HTTPHeaders({"Content-Length": "2"}), b"ok"
        )
        request.connection.finish()
        during.append(len(sent))
        transport.write = write

    live = serve(handler)
    client = http.client.HTTPConnection("127.0.0.1", live.port, timeout=wire.TIMEOUT)
    try:
        for _ in range(_SOLO_PASSES + 4):
            client.request("GET", "/")
            response = client.getresponse()
            assert (response.status, response.read()) == (200, b"ok")
    finally:
        client.close()
    # Held (sent after the handler) at first, then straight out while it runs.
    assert during[0] == 0
    assert during[-1] == 1
