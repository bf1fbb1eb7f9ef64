"""squall's I/O-free WebSocket protocol against wsproto, an independent implementation.

Each test runs a whole conversation in memory: the opening handshake (wsproto's
HTTP bytes parsed by squall's HTTP/1 codec, squall's answers built with it),
then messages both ways, then the closing handshake. The matrix: squall as
server or client, with or without permessage-deflate (and its parameters),
messages whole or fragmented by wsproto, bytes delivered all at once or one
by one.
"""

from __future__ import annotations

from typing import Any

import pytest
from squall.http1connection._codec import H1Reader, H1Writer, Head
from squall.httputil import HTTPHeaders, RequestStartLine, ResponseStartLine
from squall.websocket._deflate import (
    MessageDeflater,
    client_confirm,
    client_offer,
    server_accept,
)
from squall.websocket._frames import CloseReceived, Ping, Pong, WebSocketProtocol
from squall.websocket._handshake import (
    accept_key,
    check_upgrade_request,
    check_upgrade_response,
    new_client_key,
    parse_subprotocols,
)

wsproto = pytest.importorskip("wsproto")
from wsproto import ConnectionType, WSConnection  # noqa: E402
from wsproto import events as ev  # noqa: E402
from wsproto.extensions import PerMessageDeflate  # noqa: E402

DEFLATE_VARIANTS: list[dict[str, Any] | None] = [
    None,
    {},
    {"client_no_context_takeover": True, "server_no_context_takeover": True},
    {"client_max_window_bits": 10, "server_max_window_bits": 11},
]
IDS = ["plain", "deflate", "deflate-no-takeover", "deflate-window-bits"]

SAMPLES: list[str | bytes] = [
    "hello",
    "",
    "héllo wörld ✓ 🎉" * 50,
    b"\x00\xff" * 3,
    b"",
    bytes(range(256)) * 300,  # 76800 bytes: a 64-bit length
    "x" * 200,  # a 16-bit length
]


def _parse_head(data: bytes, client: bool) -> tuple[Head, bytes]:
    reader = H1Reader(client=client)
    if client:
        reader.expect_response_to("GET")
    reader.feed(data)
    head = reader.next_event()
    assert isinstance(head, Head), head
    return head, reader.buffered


def _serve_handshake(
    request_bytes: bytes, max_message_size: int | None = None
) -> tuple[WebSocketProtocol, bytes, list[str]]:
    """squall as the server: parse the upgrade request, answer 101, build the protocol."""
    head, rest = _parse_head(request_bytes, client=False)
    assert rest == b""
    line = head.start_line
    assert isinstance(line, RequestStartLine)
    headers = head.headers
    assert check_upgrade_request(line.method, headers) is None
    answer = HTTPHeaders()
    answer["Upgrade"] = "websocket"
    answer["Connection"] = "Upgrade"
    answer["Sec-WebSocket-Accept"] = accept_key(headers["Sec-WebSocket-Key"])
    offered = parse_subprotocols(headers.get("Sec-WebSocket-Protocol"))
    if offered:
        answer["Sec-WebSocket-Protocol"] = offered[-1]
    params = server_accept(headers.get("Sec-WebSocket-Extensions"))
    deflater = None
    if params is not None:
        answer["Sec-WebSocket-Extensions"] = params.header_value()
        deflater = MessageDeflater(params, client=False, options={"compression_level": 9})
    writer = H1Writer(client=False)
    out = writer.head(
        ResponseStartLine("HTTP/1.1", 101, "Switching Protocols"), answer, keep_alive=True
    )
    kwargs: dict[str, Any] = {}
    if max_message_size is not None:
        kwargs["max_message_size"] = max_message_size
    return WebSocketProtocol(False, deflater=deflater, **kwargs), out, offered


def _wsproto_client(
    deflate: dict[str, Any] | None, subprotocols: list[str] | None = None
) -> tuple[WSConnection, bytes]:
    peer = WSConnection(ConnectionType.CLIENT)
    extensions = [PerMessageDeflate(**deflate)] if deflate is not None else []
    data = peer.send(
        ev.Request(
            host="example", target="/ws", extensions=extensions, subprotocols=subprotocols or []
        )
    )
    return peer, data


def _server_pair(deflate: dict[str, Any] | None) -> tuple[WebSocketProtocol, WSConnection]:
    peer, request = _wsproto_client(deflate)
    proto, response, _ = _serve_handshake(request)
    peer.receive_data(response)
    accepted = list(peer.events())
    assert len(accepted) == 1 and isinstance(accepted[0], ev.AcceptConnection)
    assert proto.compressing == (deflate is not None)
    return proto, peer


def _client_pair(
    deflate: dict[str, Any] | None, compress: bool
) -> tuple[WebSocketProtocol, WSConnection]:
    """squall as the client against a wsproto server (that accepts deflate when ``deflate`` is given)."""
    key = new_client_key()
    fields = HTTPHeaders()
    fields["Host"] = "example"
    fields["Upgrade"] = "websocket"
    fields["Connection"] = "Upgrade"
    fields["Sec-WebSocket-Key"] = key
    fields["Sec-WebSocket-Version"] = "13"
    if compress:
        fields["Sec-WebSocket-Extensions"] = client_offer()
    request = H1Writer(client=True).head(
        RequestStartLine("GET", "/ws", "HTTP/1.1"), fields, keep_alive=True
    )
    server = WSConnection(ConnectionType.SERVER)
    server.receive_data(request)
    (req,) = list(server.events())
    assert isinstance(req, ev.Request)
    extensions = [PerMessageDeflate(**deflate)] if deflate is not None else []
    response = server.send(ev.AcceptConnection(extensions=extensions))
    head, rest = _parse_head(response, client=True)
    assert rest == b""
    line = head.start_line
    assert isinstance(line, ResponseStartLine)
    assert check_upgrade_response(key, line.code, head.headers) is None
    params = client_confirm(head.headers.get("Sec-WebSocket-Extensions"))
    deflater = MessageDeflater(params, client=True) if params is not None else None
    return WebSocketProtocol(True, deflater=deflater), server


def _feed(proto: WebSocketProtocol, data: bytes, bytewise: bool) -> list[Any]:
    if not bytewise:
        return proto.feed(data)
    out: list[Any] = []
    for i in range(len(data)):
        out += proto.feed(data[i : i + 1])
    return out


def _wsproto_messages(peer: WSConnection, data: bytes) -> list[Any]:
    peer.receive_data(data)
    got: list[Any] = []
    parts: list[Any] = []
    for event in peer.events():
        if isinstance(event, ev.Message):
            parts.append(event.data)
            if event.message_finished:
                got.append(("" if isinstance(event, ev.TextMessage) else b"").join(parts))
                parts = []
        else:
            got.append(event)
    return got


def _send_from_wsproto(peer: WSConnection, message: str | bytes, pieces: int) -> bytes:
    """wsproto's frames for ``message``, cut into ``pieces`` fragments."""
    if pieces == 1:
        return peer.send(ev.Message(data=message))
    step = max(1, len(message) // pieces)
    chunks = [message[i : i + step] for i in range(0, len(message), step)] or [message]
    out = b""
    for i, chunk in enumerate(chunks):
        out += peer.send(ev.Message(data=chunk, message_finished=i == len(chunks) - 1))
    return out


@pytest.mark.parametrize("deflate", DEFLATE_VARIANTS, ids=IDS)
@pytest.mark.parametrize("pieces", [1, 3])
def test_squall_server_receives_from_wsproto_client(
    deflate: dict[str, Any] | None, pieces: int
) -> None:
    proto, peer = _server_pair(deflate)
    wire = b"".join(_send_from_wsproto(peer, m, pieces) for m in SAMPLES)
    assert proto.feed(wire) == SAMPLES


@pytest.mark.parametrize("deflate", DEFLATE_VARIANTS, ids=IDS)
def test_squall_server_receives_byte_by_byte(deflate: dict[str, Any] | None) -> None:
    proto, peer = _server_pair(deflate)
    small = [m for m in SAMPLES if len(m) < 1000]
    wire = b"".join(_send_from_wsproto(peer, m, 2) for m in small)
    assert _feed(proto, wire, bytewise=True) == small


@pytest.mark.parametrize("deflate", DEFLATE_VARIANTS, ids=IDS)
def test_squall_server_sends_to_wsproto_client(deflate: dict[str, Any] | None) -> None:
    proto, peer = _server_pair(deflate)
    frames = [proto.send_text(m) if isinstance(m, str) else proto.send_binary(m) for m in SAMPLES]
    # RSV1 marks compressed messages exactly when deflate was negotiated.
    assert all(bool(f[0] & 0x40) == (deflate is not None) for f in frames)
    assert _wsproto_messages(peer, b"".join(frames)) == SAMPLES


@pytest.mark.parametrize("deflate", DEFLATE_VARIANTS, ids=IDS)
@pytest.mark.parametrize("pieces", [1, 4])
def test_squall_client_with_wsproto_server(deflate: dict[str, Any] | None, pieces: int) -> None:
    proto, server = _client_pair(deflate, compress=deflate is not None)
    assert proto.compressing == (deflate is not None)
    wire = b"".join(
        proto.send_text(m) if isinstance(m, str) else proto.send_binary(m) for m in SAMPLES
    )
    assert _wsproto_messages(server, wire) == SAMPLES
    back = b"".join(_send_from_wsproto(server, m, pieces) for m in SAMPLES)
    assert proto.feed(back) == SAMPLES


def test_client_offer_declined_by_wsproto_server() -> None:
    proto, server = _client_pair(None, compress=True)
    assert not proto.compressing
    assert _wsproto_messages(server, proto.send_text("plain")) == ["plain"]


def test_control_frames_interleaved_in_fragmented_message() -> None:
    proto, peer = _server_pair({})
    wire = peer.send(ev.Message(data="first ", message_finished=False))
    wire += peer.send(ev.Ping(payload=b"p1"))
    wire += peer.send(ev.Message(data="second ", message_finished=False))
    wire += peer.send(ev.Pong(payload=b"p2"))
    wire += peer.send(ev.Message(data="third", message_finished=True))
    assert proto.feed(wire) == [Ping(b"p1"), Pong(b"p2"), "first second third"]


def test_ping_pong_both_ways() -> None:
    proto, peer = _server_pair(None)
    (ping,) = proto.feed(peer.send(ev.Ping(payload=b"are you there")))
    assert ping == Ping(b"are you there")
    got = _wsproto_messages(peer, proto.pong(ping.data))
    assert got == [ev.Pong(payload=b"are you there")]
    got = _wsproto_messages(peer, proto.ping(b"and you"))
    assert got == [ev.Ping(payload=b"and you")]
    # wsproto answers pings itself; the pong comes back to us.
    assert proto.feed(peer.send(got[0].response())) == [Pong(b"and you")]


@pytest.mark.parametrize("initiator", ["squall", "wsproto"])
def test_closing_handshake(initiator: str) -> None:
    proto, peer = _server_pair(None)
    if initiator == "squall":
        got = _wsproto_messages(peer, proto.close(1001, "going away"))
        assert len(got) == 1 and isinstance(got[0], ev.CloseConnection)
        assert (got[0].code, got[0].reason) == (1001, "going away")
        assert not proto.closed
        assert proto.feed(peer.send(got[0].response())) == [CloseReceived(1001, "going away")]
        assert proto.closed
    else:
        events = proto.feed(peer.send(ev.CloseConnection(code=1000, reason="done")))
        assert events == [CloseReceived(1000, "done")]
        echo = proto.close(events[0].code)
        got = _wsproto_messages(peer, echo)
        assert len(got) == 1 and isinstance(got[0], ev.CloseConnection) and got[0].code == 1000
        assert proto.closed


def test_subprotocols_offered_by_wsproto() -> None:
    peer, request = _wsproto_client(None, subprotocols=["chat.v1", "chat.v2"])
    _, response, offered = _serve_handshake(request)
    assert offered == ["chat.v1", "chat.v2"]
    peer.receive_data(response)
    (accepted,) = list(peer.events())
    assert isinstance(accepted, ev.AcceptConnection)
    assert accepted.subprotocol == "chat.v2"


@pytest.mark.parametrize("deflate", [None, {}], ids=["plain", "deflate"])
def test_message_just_under_and_over_the_limit(deflate: dict[str, Any] | None) -> None:
    peer, request = _wsproto_client(deflate)
    proto, response, _ = _serve_handshake(request, max_message_size=1000)
    peer.receive_data(response)
    list(peer.events())
    assert proto.feed(peer.send(ev.Message(data=b"a" * 1000))) == [b"a" * 1000]
    (failure,) = proto.feed(peer.send(ev.Message(data=b"a" * 1001)))
    assert failure.code == 1009
    # The failure answer reaches wsproto as a 1009 close.
    got = _wsproto_messages(peer, proto.close(failure.code, failure.reason))
    assert isinstance(got[0], ev.CloseConnection) and got[0].code == 1009
