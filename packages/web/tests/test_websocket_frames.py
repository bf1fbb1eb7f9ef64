"""squall.websocket._frames: the I/O-free protocol, driven with hand-built frames.

Frames are written out byte by byte here (not with the code under test), so
every rule of RFC 6455 section 5 is checked against the RFC's own layout.
"""

from __future__ import annotations

import os
import struct
import zlib
from typing import Any

import pytest
from squall.websocket._deflate import DeflateParams, MessageDeflater
from squall.websocket._frames import (
    CloseReceived,
    Ping,
    Pong,
    ProtocolFailure,
    WebSocketClosedError,
    WebSocketProtocol,
    mask_payload,
    valid_close_code,
)


def frame(
    opcode: int,
    payload: bytes = b"",
    *,
    fin: bool = True,
    rsv: int = 0,
    mask: bool = True,
    key: bytes = b"\x01\x02\x03\x04",
) -> bytes:
    """One frame laid out as RFC 6455 section 5.2 draws it."""
    first = (0x80 if fin else 0) | (rsv << 4) | opcode
    size = len(payload)
    bit = 0x80 if mask else 0
    if size < 126:
        head = bytes([first, bit | size])
    elif size < 65536:
        head = bytes([first, bit | 126]) + struct.pack("!H", size)
    else:
        head = bytes([first, bit | 127]) + struct.pack("!Q", size)
    if not mask:
        return head + payload
    body = bytes(b ^ key[i % 4] for i, b in enumerate(payload))
    return head + key + body


def server(**kwargs: Any) -> WebSocketProtocol:
    return WebSocketProtocol(False, **kwargs)


def client(**kwargs: Any) -> WebSocketProtocol:
    return WebSocketProtocol(True, **kwargs)


def unmask_client_frame(data: bytes) -> tuple[int, bytes]:
    """(first byte, payload) of one masked frame produced by a client."""
    size = data[1] & 0x7F
    pos = 2
    if size == 126:
        size = struct.unpack("!H", data[2:4])[0]
        pos = 4
    elif size == 127:
        size = struct.unpack("!Q", data[2:10])[0]
        pos = 10
    assert data[1] & 0x80
    key = data[pos : pos + 4]
    body = data[pos + 4 : pos + 4 + size]
    assert len(body) == size
    return data[0], bytes(b ^ key[i % 4] for i, b in enumerate(body))


# -- masking ---------------------------------------------------------------------


@pytest.mark.parametrize("size", [0, 1, 3, 4, 5, 125, 126, 1000, 16384, 16385, 65537, 100003])
def test_mask_matches_the_per_byte_definition(size: int) -> None:
    key = os.urandom(4)
    data = os.urandom(size)
    expected = bytes(b ^ key[i % 4] for i, b in enumerate(data))
    assert mask_payload(key, data) == expected
    assert mask_payload(key, expected) == data


def test_mask_keeps_leading_zero_bytes() -> None:
    key = b"\x00\x00\x00\x00"
    assert mask_payload(key, b"\x00\x00ab\x00") == b"\x00\x00ab\x00"


# -- receiving messages ------------------------------------------------------------


def test_text_and_binary_messages() -> None:
    proto = server()
    data = frame(1, "grüß".encode()) + frame(2, b"\x00\x01") + frame(1, b"")
    assert proto.feed(data) == ["grüß", b"\x00\x01", ""]


@pytest.mark.parametrize("size", [125, 126, 65535, 65536, 70000])
def test_length_encodings(size: int) -> None:
    payload = os.urandom(size)
    assert server().feed(frame(2, payload)) == [payload]
    assert client().feed(frame(2, payload, mask=False)) == [payload]


def test_byte_by_byte_equals_all_at_once() -> None:
    data = (
        frame(1, b"one")
        + frame(2, b"x" * 300)
        + frame(9, b"ping")
        + frame(1, b"fr", fin=False)
        + frame(0, b"ag", fin=False)
        + frame(0, b"ment")
        + frame(8, struct.pack("!H", 1000) + b"bye")
    )
    whole = server().feed(data)
    proto = server()
    pieces: list[Any] = []
    for i in range(len(data)):
        pieces += proto.feed(data[i : i + 1])
    assert pieces == whole
    assert whole == ["one", b"x" * 300, Ping(b"ping"), "fragment", CloseReceived(1000, "bye")]


@pytest.mark.parametrize("size", [0, 1, 4, 5, 125, 126, 1000, 16384, 16385, 65535])
def test_one_frame_per_chunk_text_and_binary(size: int) -> None:
    # The common case (one whole frame per received chunk) at every length encoding.
    text = ("é" * size)[: size // 2] + "a" * (size - 2 * (size // 2))
    payload = os.urandom(size)
    proto = server()
    assert proto.feed(frame(1, text.encode())) == [text]
    assert proto.feed(frame(2, payload)) == [payload]
    peer = client()
    assert peer.feed(frame(2, payload, mask=False)) == [payload]
    assert peer.feed(frame(1, text.encode(), mask=False)) == [text]


def test_one_frame_per_chunk_still_checked() -> None:
    assert server().feed(frame(1, b"ok \xff")) == [
        ProtocolFailure(1007, "text message is not valid UTF-8")
    ]
    assert server().feed(frame(2, b"unmasked", mask=False))[0].code == 1002
    assert client().feed(frame(2, b"masked"))[0].code == 1002
    assert server(max_message_size=5).feed(frame(2, b"123456"))[0].code == 1009
    # A whole frame plus the start of the next: the first is delivered, the rest kept.
    proto = server()
    data = frame(1, b"first") + frame(1, b"second")
    assert proto.feed(data[:-3]) == ["first"]
    assert proto.feed(data[-3:]) == ["second"]


def test_frame_split_anywhere_gives_the_same_message() -> None:
    data = frame(1, "ünïcode ".encode() * 40)
    for cut in (1, 2, 3, 5, 6, 7, 8, len(data) // 2, len(data) - 1):
        proto = server()
        assert proto.feed(data[:cut]) + proto.feed(data[cut:]) == ["ünïcode " * 40], cut


def test_large_frame_arriving_in_chunks() -> None:
    payload = os.urandom(300_000)
    data = frame(2, payload)
    proto = server()
    out: list[Any] = []
    for i in range(0, len(data), 4096):
        out += proto.feed(data[i : i + 4096])
    assert out == [payload]


def test_fragmented_binary_and_text() -> None:
    proto = server()
    text = "€uro".encode()
    # The euro sign is cut between two fragments: still valid UTF-8 overall.
    data = frame(1, text[:2], fin=False) + frame(0, text[2:], fin=False) + frame(0, b"")
    data += frame(2, b"ab", fin=False) + frame(0, b"cd")
    assert proto.feed(data) == ["€uro", b"abcd"]


def test_control_frames_between_fragments() -> None:
    proto = server()
    data = (
        frame(2, b"a", fin=False)
        + frame(9, b"1")
        + frame(0, b"b", fin=False)
        + frame(10, b"2")
        + frame(0, b"c")
    )
    assert proto.feed(data) == [Ping(b"1"), Pong(b"2"), b"abc"]


def test_close_frames() -> None:
    assert server().feed(frame(8)) == [CloseReceived(None, None)]
    assert server().feed(frame(8, struct.pack("!H", 1001))) == [CloseReceived(1001, "")]
    assert server().feed(frame(8, struct.pack("!H", 4000) + "é".encode())) == [
        CloseReceived(4000, "é")
    ]


def test_nothing_after_close_is_delivered() -> None:
    proto = server()
    events = proto.feed(frame(8, struct.pack("!H", 1000)) + frame(1, b"late"))
    assert events == [CloseReceived(1000, "")]
    assert proto.close_received and not proto.closed
    assert proto.feed(frame(1, b"later")) == []


# -- protocol failures ---------------------------------------------------------------


def failure(proto: WebSocketProtocol, data: bytes) -> ProtocolFailure:
    events = proto.feed(data)
    assert events and isinstance(events[-1], ProtocolFailure), events
    assert proto.feed(frame(1, b"more")) == []
    return events[-1]


@pytest.mark.parametrize(
    ("data", "code"),
    [
        (frame(1, b"x", rsv=4), 1002),  # RSV1 without permessage-deflate
        (frame(1, b"x", rsv=2), 1002),  # RSV2
        (frame(1, b"x", rsv=1), 1002),  # RSV3
        (frame(3, b"x"), 1002),  # reserved data opcode
        (frame(7, b"x"), 1002),
        (frame(11, b"x"), 1002),  # reserved control opcode
        (frame(15, b"x"), 1002),
        (frame(9, b"x", fin=False), 1002),  # fragmented control frame
        (frame(9, b"x" * 126), 1002),  # control frame too long
        (frame(0, b"x"), 1002),  # continuation with nothing to continue
        (frame(1, b"a", fin=False) + frame(1, b"b"), 1002),  # new message mid-message
        (frame(1, b"x", mask=False), 1002),  # a client must mask
        (frame(8, b"\x03"), 1002),  # one-byte close payload
        (frame(8, struct.pack("!H", 1005)), 1002),  # never on the wire
        (frame(8, struct.pack("!H", 1006)), 1002),
        (frame(8, struct.pack("!H", 1015)), 1002),
        (frame(8, struct.pack("!H", 999)), 1002),
        (frame(8, struct.pack("!H", 2000)), 1002),
        (frame(8, struct.pack("!H", 5000)), 1002),
        (frame(1, b"\xff"), 1007),  # invalid UTF-8
        (frame(1, b"\xed\xa0\x80"), 1007),  # a UTF-16 surrogate
        (frame(1, b"\xc0\xaf"), 1007),  # overlong
        (frame(8, struct.pack("!H", 1000) + b"\xff"), 1007),  # close reason not UTF-8
    ],
)
def test_failures_and_their_codes(data: bytes, code: int) -> None:
    assert failure(server(), data).code == code


def test_top_bit_of_64_bit_length() -> None:
    data = bytes([0x82, 0xFF]) + struct.pack("!Q", 1 << 63) + b"\x00\x00\x00\x00"
    assert failure(server(max_message_size=None), data).code == 1002


def test_server_frames_must_not_be_masked() -> None:
    assert failure(client(), frame(1, b"x", mask=True)).code == 1002


def test_invalid_utf8_found_in_first_fragment() -> None:
    # The message never ends, but its first fragment already proves it bad.
    events = server().feed(frame(1, b"ok\xff", fin=False))
    assert events == [ProtocolFailure(1007, "text message is not valid UTF-8")]


def test_truncated_utf8_at_end_of_message() -> None:
    events = server().feed(frame(1, b"\xe2\x82", fin=False) + frame(0, b""))
    assert [e.code for e in events] == [1007]


def test_events_before_a_failure_are_kept() -> None:
    events = server().feed(frame(1, b"fine") + frame(3))
    assert events[0] == "fine" and isinstance(events[1], ProtocolFailure)


def test_valid_close_codes() -> None:
    good = [1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 1012, 1013, 1014, 3000, 4999]
    bad = [0, 999, 1004, 1005, 1006, 1015, 1016, 2999, 5000, 65535]
    assert all(valid_close_code(c) for c in good)
    assert not any(valid_close_code(c) for c in bad)
    for code in good:
        assert server().feed(frame(8, struct.pack("!H", code))) == [CloseReceived(code, "")]


# -- max_message_size -----------------------------------------------------------------


def test_message_at_the_limit_passes_and_over_fails_from_the_head() -> None:
    assert server(max_message_size=100).feed(frame(2, b"a" * 100)) == [b"a" * 100]
    proto = server(max_message_size=100)
    # Only the head of the oversized frame: the failure does not wait for the payload.
    head = frame(2, b"a" * 101)[:8]
    assert proto.feed(head) == [ProtocolFailure(1009, "message larger than max_message_size")]


def test_limit_counts_all_fragments() -> None:
    proto = server(max_message_size=10)
    data = frame(2, b"a" * 6, fin=False) + frame(0, b"b" * 5)
    assert failure(proto, data).code == 1009
    ok = server(max_message_size=10).feed(frame(2, b"a" * 6, fin=False) + frame(0, b"b" * 4))
    assert ok == [b"a" * 6 + b"b" * 4]


def test_no_limit() -> None:
    assert server(max_message_size=None).feed(frame(2, b"a" * 70000)) == [b"a" * 70000]


# -- sending ----------------------------------------------------------------------------


def test_server_frames_are_unmasked() -> None:
    proto = server()
    assert proto.send_text("hi") == b"\x81\x02hi"
    assert proto.send_binary(b"\x00") == b"\x82\x01\x00"
    assert proto.send_text(b"raw") == b"\x81\x03raw"
    assert proto.ping(b"p") == b"\x89\x01p"
    assert proto.pong(b"") == b"\x8a\x00"
    assert proto.send_binary(b"x" * 126)[:4] == b"\x82\x7e\x00\x7e"
    assert proto.send_binary(b"x" * 65536)[:10] == b"\x82\x7f" + struct.pack("!Q", 65536)


@pytest.mark.parametrize("size", [0, 125, 126, 65535, 65536])
def test_server_text_frame_layout(size: int) -> None:
    text = "t" * size
    if size < 126:
        head = bytes((0x81, size))
    elif size < 65536:
        head = b"\x81\x7e" + struct.pack("!H", size)
    else:
        head = b"\x81\x7f" + struct.pack("!Q", size)
    assert server().send_text(text) == head + text.encode()
    proto = server()
    proto.close()
    with pytest.raises(WebSocketClosedError):
        proto.send_text(text)


def test_client_frames_are_masked_with_fresh_keys() -> None:
    proto = client()
    first = proto.send_text("hello")
    second = proto.send_text("hello")
    assert unmask_client_frame(first) == (0x81, b"hello")
    assert first[2:6] != second[2:6]  # 2**-32 chance of a false failure
    assert unmask_client_frame(proto.send_binary(b"z" * 70000)) == (0x82, b"z" * 70000)


def test_round_trip_between_both_ends() -> None:
    a, b = client(), server()
    assert b.feed(a.send_text("to server") + a.ping(b"x")) == ["to server", Ping(b"x")]
    assert a.feed(b.send_binary(b"to client") + b.pong(b"x")) == [b"to client", Pong(b"x")]


def test_close_handshake_state() -> None:
    a, b = client(), server()
    closing = a.close(1000, "bye")
    assert unmask_client_frame(closing) == (0x88, struct.pack("!H", 1000) + b"bye")
    assert a.close_sent and not a.closed
    with pytest.raises(WebSocketClosedError):
        a.send_text("too late")
    with pytest.raises(WebSocketClosedError):
        a.send_binary(b"too late")
    assert a.ping() == b"" and a.pong(b"x") == b"" and a.close() == b""
    (event,) = b.feed(closing)
    assert event == CloseReceived(1000, "bye")
    echo = b.close(event.code)
    assert b.closed
    assert a.feed(echo) == [CloseReceived(1000, "")]
    assert a.closed


def test_close_without_code_and_reason_alone() -> None:
    assert server().close() == b"\x88\x00"
    assert server().close(reason="x") == b"\x88\x03\x03\xe8x"


@pytest.mark.parametrize("code", [1005, 1006, 1015, 999, 5000])
def test_close_refuses_codes_not_for_the_wire(code: int) -> None:
    proto = server()
    with pytest.raises(ValueError):
        proto.close(code)
    assert not proto.close_sent


def test_close_reason_length_limit() -> None:
    assert len(server().close(1000, "r" * 123)) == 2 + 125
    with pytest.raises(ValueError):
        server().close(1000, "r" * 124)


def test_control_payload_limit() -> None:
    with pytest.raises(ValueError):
        server().ping(b"x" * 126)
    assert len(server().ping(b"x" * 125)) == 127


# -- permessage-deflate ---------------------------------------------------------------


def deflate_pair(
    params: DeflateParams | None = None, **options: Any
) -> tuple[WebSocketProtocol, WebSocketProtocol]:
    params = params or DeflateParams()
    a = WebSocketProtocol(True, deflater=MessageDeflater(params, True, options))
    b = WebSocketProtocol(False, deflater=MessageDeflater(params, False, options))
    return a, b


def raw_deflate(data: bytes, bits: int = 15) -> bytes:
    packer = zlib.compressobj(6, zlib.DEFLATED, -bits)
    out = packer.compress(data) + packer.flush(zlib.Z_SYNC_FLUSH)
    assert out.endswith(b"\x00\x00\xff\xff")
    return out[:-4]


def test_compressed_frames_carry_rsv1_and_shrink() -> None:
    a, b = deflate_pair()
    wire = b.send_text("abc" * 1000)
    assert wire[0] == 0xC1  # FIN + RSV1 + text
    assert len(wire) < 100
    assert a.feed(wire) == ["abc" * 1000]


def test_receives_a_hand_compressed_fragmented_message() -> None:
    _, b = deflate_pair()
    packed = raw_deflate("compressed text ✓".encode() * 20)
    data = frame(1, packed[:10], fin=False, rsv=4) + frame(9, b"p") + frame(0, packed[10:])
    assert b.feed(data) == [Ping(b"p"), "compressed text ✓" * 20]


def test_uncompressed_message_on_a_deflate_connection() -> None:
    _, b = deflate_pair()
    assert b.feed(frame(1, b"plain")) == ["plain"]


def test_rsv1_on_continuation_or_control_fails() -> None:
    _, b = deflate_pair()
    packed = raw_deflate(b"hello")
    assert failure(b, frame(1, packed, fin=False, rsv=4) + frame(0, b"", rsv=4)).code == 1002
    _, b = deflate_pair()
    assert failure(b, frame(9, b"", rsv=4)).code == 1002


def test_corrupt_compressed_data_fails() -> None:
    _, b = deflate_pair()
    assert failure(b, frame(2, b"\xff\xff\xff\xff", rsv=4)).code == 1002


def test_zip_bomb_is_stopped_at_the_limit() -> None:
    a = WebSocketProtocol(
        False, max_message_size=10_000, deflater=MessageDeflater(DeflateParams(), False)
    )
    bomb = raw_deflate(b"\x00" * 5_000_000)
    assert len(bomb) < 10_000
    assert failure(a, frame(2, bomb, rsv=4)).code == 1009


def test_decompressed_size_just_at_the_limit() -> None:
    a = WebSocketProtocol(
        False, max_message_size=10_000, deflater=MessageDeflater(DeflateParams(), False)
    )
    assert a.feed(frame(2, raw_deflate(b"\x00" * 10_000), rsv=4)) == [b"\x00" * 10_000]


def test_context_takeover_makes_repeats_smaller() -> None:
    a, b = deflate_pair()
    first = b.send_text("the same sentence, again and again " * 3)
    second = b.send_text("the same sentence, again and again " * 3)
    assert len(second) < len(first)
    assert a.feed(first + second) == ["the same sentence, again and again " * 3] * 2


def test_no_context_takeover_compresses_each_message_alone() -> None:
    params = DeflateParams(server_no_context_takeover=True, client_no_context_takeover=True)
    a, b = deflate_pair(params)
    first = b.send_text("the same sentence, again and again " * 3)
    second = b.send_text("the same sentence, again and again " * 3)
    assert first == second
    # Each message decompresses alone, with a fresh decompressor.
    fresh, _ = deflate_pair(params)
    assert fresh.feed(second) == ["the same sentence, again and again " * 3]
    assert a.feed(first + second) == ["the same sentence, again and again " * 3] * 2
    c1 = a.send_binary(b"q" * 500)
    c2 = a.send_binary(b"q" * 500)
    assert unmask_client_frame(c1)[1] == unmask_client_frame(c2)[1]
    assert b.feed(c1 + c2) == [b"q" * 500] * 2


def test_compression_options_are_used() -> None:
    _, fast = deflate_pair(compression_level=0)
    _, best = deflate_pair(compression_level=9, mem_level=9)
    text = "compress me please " * 200
    assert len(fast.send_text(text)) > len(best.send_text(text))


def test_window_bits_are_honoured() -> None:
    params = DeflateParams(server_max_window_bits=9, client_max_window_bits=10)
    a, b = deflate_pair(params)
    data = os.urandom(600) * 4
    wire = b.send_binary(data)
    # What the server sends must decompress with a 9-bit window.
    body = wire[4:]
    assert zlib.decompressobj(-9).decompress(body + b"\x00\x00\xff\xff") == data
    assert a.feed(wire) == [data]
    assert b.feed(a.send_binary(data)) == [data]


def test_eight_bit_window_sends_uncompressed() -> None:
    a, b = deflate_pair(DeflateParams(server_max_window_bits=8))
    wire = b.send_text("x" * 500)
    assert wire[0] == 0x81  # no RSV1: zlib cannot compress with an 8-bit window
    assert a.feed(wire) == ["x" * 500]
    # The client side still compresses (15 bits) and the server reads it.
    assert a.send_text("y" * 500)[0] == 0xC1
