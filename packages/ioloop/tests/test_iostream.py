"""Tests for squall.iostream over sockets: reads, writes, limits, closing."""

from __future__ import annotations

import asyncio
import gc
import re
import socket
from typing import Any

import pytest
from squall.iostream import (
    BaseIOStream,
    IOStream,
    StreamBufferFullError,
    StreamClosedError,
    UnsatisfiableReadError,
)


def make_pair(**kwargs: Any) -> tuple[IOStream, IOStream]:
    a, b = socket.socketpair()
    return IOStream(a, **kwargs), IOStream(b)


def close_all(*streams: BaseIOStream) -> None:
    for s in streams:
        s.close()


# ---------------------------------------------------------------- read_bytes


def test_read_bytes_returns_exact_count(run: Any) -> None:
    async def body() -> None:
        s, c = make_pair()
        await c.write(b"abcdef")
        assert await s.read_bytes(4) == b"abcd"
        assert await s.read_bytes(2) == b"ef"
        close_all(s, c)

    run(body)


def test_read_bytes_waits_for_all_data(run: Any) -> None:
    async def body() -> None:
        s, c = make_pair()
        fut = s.read_bytes(6)
        await c.write(b"abc")
        await asyncio.sleep(0.01)
        assert not fut.done()  # type: ignore[attr-defined]
        await c.write(b"def")
        assert await fut == b"abcdef"
        close_all(s, c)

    run(body)


def test_read_bytes_partial_returns_what_is_available(run: Any) -> None:
    async def body() -> None:
        s, c = make_pair()
        await c.write(b"abc")
        assert await s.read_bytes(100, partial=True) == b"abc"
        close_all(s, c)

    run(body)


def test_read_bytes_partial_caps_at_num_bytes(run: Any) -> None:
    async def body() -> None:
        s, c = make_pair()
        await c.write(b"0123456789")
        assert await s.read_bytes(4, partial=True) == b"0123"
        assert await s.read_bytes(100, partial=True) == b"456789"
        close_all(s, c)

    run(body)


def test_read_bytes_zero_resolves_immediately(run: Any) -> None:
    async def body() -> None:
        s, c = make_pair()
        fut = s.read_bytes(0)
        assert fut.done()  # type: ignore[attr-defined]
        assert await fut == b""
        close_all(s, c)

    run(body)


def test_read_from_buffer_completes_synchronously(run: Any) -> None:
    async def body() -> None:
        s, c = make_pair()
        await c.write(b"line1\nline2\n")
        assert await s.read_until(b"\n") == b"line1\n"
        fut = s.read_until(b"\n")
        # Already buffered: done before any loop iteration.
        assert fut.done()  # type: ignore[attr-defined]
        assert await fut == b"line2\n"
        close_all(s, c)

    run(body)


def test_read_bytes_rejects_negative(run: Any) -> None:
    async def body() -> None:
        s, c = make_pair()
        with pytest.raises(TypeError):
            s.read_bytes(-1)
        assert not s.reading()
        close_all(s, c)

    run(body)


def test_large_read_bytes_roundtrip(run: Any) -> None:
    async def body() -> None:
        s, c = make_pair()
        payload = bytes(range(256)) * 4096  # 1 MB
        wfut = c.write(payload)
        data = await s.read_bytes(len(payload))
        await wfut
        assert data == payload
        close_all(s, c)

    run(body)


# ---------------------------------------------------------------- read_until


def test_read_until_includes_delimiter(run: Any) -> None:
    async def body() -> None:
        s, c = make_pair()
        await c.write(b"hello\r\nworld")
        assert await s.read_until(b"\r\n") == b"hello\r\n"
        close_all(s, c)

    run(body)


def test_read_until_delimiter_split_across_chunks(run: Any) -> None:
    async def body() -> None:
        s, c = make_pair()
        fut = s.read_until(b"\r\n\r\n")
        for piece in (b"GET / HTTP/1.1\r", b"\nHost: x\r\n\r", b"\nbody"):
            await c.write(piece)
            await asyncio.sleep(0.005)
        assert await fut == b"GET / HTTP/1.1\r\nHost: x\r\n\r\n"
        assert await s.read_bytes(4) == b"body"
        close_all(s, c)

    run(body)


def test_read_until_one_byte_at_a_time(run: Any) -> None:
    async def body() -> None:
        s, c = make_pair()
        fut = s.read_until(b"END")
        for ch in b"abcEN":
            await c.write(bytes([ch]))
            await asyncio.sleep(0)
        assert not fut.done()  # type: ignore[attr-defined]
        await c.write(b"D")
        assert await fut == b"abcEND"
        close_all(s, c)

    run(body)


def test_read_until_max_bytes_closes_with_unsatisfiable(run: Any) -> None:
    async def body() -> None:
        s, c = make_pair()
        await c.write(b"x" * 100)
        with pytest.raises(StreamClosedError) as info:
            await s.read_until(b"\n", max_bytes=10)
        assert isinstance(info.value.real_error, UnsatisfiableReadError)
        assert s.closed()
        assert isinstance(s.error, UnsatisfiableReadError)
        close_all(c)

    run(body)


def test_read_until_delimiter_beyond_max_bytes_is_unsatisfiable(run: Any) -> None:
    async def body() -> None:
        s, c = make_pair()
        await c.write(b"x" * 20 + b"\n")
        await asyncio.sleep(0.01)
        with pytest.raises(StreamClosedError):
            await s.read_until(b"\n", max_bytes=10)
        assert isinstance(s.error, UnsatisfiableReadError)
        close_all(c)

    run(body)


def test_read_until_delimiter_exactly_at_max_bytes_succeeds(run: Any) -> None:
    async def body() -> None:
        s, c = make_pair()
        await c.write(b"x" * 9 + b"\n")
        assert await s.read_until(b"\n", max_bytes=10) == b"x" * 9 + b"\n"
        assert not s.closed()
        close_all(s, c)

    run(body)


def test_read_until_max_bytes_from_buffer_fails_synchronously_or_in_future(run: Any) -> None:
    async def body() -> None:
        s, c = make_pair()
        await c.write(b"abcdef\n")
        assert await s.read_bytes(1) == b"a"
        fut = s.read_until(b"\n", max_bytes=3)
        with pytest.raises(StreamClosedError):
            await fut
        assert s.closed()
        close_all(c)

    run(body)


def test_read_until_rejects_empty_delimiter(run: Any) -> None:
    async def body() -> None:
        s, c = make_pair()
        with pytest.raises(ValueError):
            s.read_until(b"")
        close_all(s, c)

    run(body)


# ---------------------------------------------------------------- read_until_regex


def test_read_until_regex_returns_through_match_end(run: Any) -> None:
    async def body() -> None:
        s, c = make_pair()
        await c.write(b"abc123def")
        assert await s.read_until_regex(b"\\d+") == b"abc123"
        assert await s.read_bytes(3) == b"def"
        close_all(s, c)

    run(body)


def test_read_until_regex_waits_for_match(run: Any) -> None:
    async def body() -> None:
        s, c = make_pair()
        fut = s.read_until_regex(b"\r?\n")
        await c.write(b"partial")
        await asyncio.sleep(0.01)
        assert not fut.done()  # type: ignore[attr-defined]
        await c.write(b" line\n")
        assert await fut == b"partial line\n"
        close_all(s, c)

    run(body)


def test_read_until_regex_max_bytes(run: Any) -> None:
    async def body() -> None:
        s, c = make_pair()
        await c.write(b"y" * 50)
        with pytest.raises(StreamClosedError) as info:
            await s.read_until_regex(b"z", max_bytes=20)
        assert isinstance(info.value.real_error, UnsatisfiableReadError)
        close_all(c)

    run(body)


def test_read_until_regex_match_within_max_bytes(run: Any) -> None:
    async def body() -> None:
        s, c = make_pair()
        await c.write(b"key=value;rest")
        assert await s.read_until_regex(b";", max_bytes=10) == b"key=value;"
        close_all(s, c)

    run(body)


def test_read_until_regex_rejects_bad_pattern(run: Any) -> None:
    async def body() -> None:
        s, c = make_pair()
        with pytest.raises(re.error):
            s.read_until_regex(b"(")
        close_all(s, c)

    run(body)


# ---------------------------------------------------------------- read_until_close


def test_read_until_close_returns_everything(run: Any) -> None:
    async def body() -> None:
        s, c = make_pair()
        fut = s.read_until_close()
        await c.write(b"abc")
        await c.write(b"def")
        c.close()
        assert await fut == b"abcdef"
        assert s.closed()

    run(body)


def test_read_until_close_on_closed_stream_returns_leftover(run: Any) -> None:
    async def body() -> None:
        s, c = make_pair()
        await c.write(b"abc")
        c.close()
        assert await s.read_until_close() == b"abc"
        assert await s.read_until_close() == b""

    run(body)


def test_read_until_close_large(run: Any) -> None:
    async def body() -> None:
        s, c = make_pair()
        fut = s.read_until_close()
        payload = b"z" * 300_000
        await c.write(payload)
        c.close()
        assert await fut == payload

    run(body)


# ---------------------------------------------------------------- read_into


def test_read_into_fills_buffer(run: Any) -> None:
    async def body() -> None:
        s, c = make_pair()
        buf = bytearray(10)
        fut = s.read_into(buf)
        await c.write(b"01234")
        await asyncio.sleep(0.01)
        assert not fut.done()  # type: ignore[attr-defined]
        await c.write(b"56789extra")
        assert await fut == 10
        assert buf == b"0123456789"
        assert await s.read_bytes(5) == b"extra"
        close_all(s, c)

    run(body)


def test_read_into_partial(run: Any) -> None:
    async def body() -> None:
        s, c = make_pair()
        await c.write(b"hello")
        buf = bytearray(10)
        n = await s.read_into(buf, partial=True)
        assert n == 5
        assert buf[:5] == b"hello"
        assert buf[5:] == bytes(5)
        close_all(s, c)

    run(body)


def test_read_into_uses_buffered_data_first(run: Any) -> None:
    async def body() -> None:
        s, c = make_pair()
        await c.write(b"abc\ndefgh")
        assert await s.read_until(b"\n") == b"abc\n"
        buf = bytearray(5)
        fut = s.read_into(buf)
        assert fut.done()  # type: ignore[attr-defined]
        assert await fut == 5
        assert buf == b"defgh"
        close_all(s, c)

    run(body)


def test_read_into_partial_with_buffer_larger_than_target(run: Any) -> None:
    async def body() -> None:
        s, c = make_pair()
        await c.write(b"0123456789")
        await asyncio.sleep(0.01)
        assert await s.read_bytes(1) == b"0"
        buf = bytearray(3)
        assert await s.read_into(buf, partial=True) == 3
        assert buf == b"123"
        assert await s.read_bytes(6) == b"456789"
        close_all(s, c)

    run(body)


def test_read_into_closed_early_raises(run: Any) -> None:
    async def body() -> None:
        s, c = make_pair()
        buf = bytearray(10)
        fut = s.read_into(buf)
        await c.write(b"abc")
        c.close()
        with pytest.raises(StreamClosedError):
            await fut

    run(body)


# ---------------------------------------------------------------- concurrency rules


def test_second_read_while_reading_raises(run: Any) -> None:
    async def body() -> None:
        s, c = make_pair()
        s.read_bytes(1)
        with pytest.raises(AssertionError, match="Already reading"):
            s.read_bytes(1)
        close_all(s, c)

    run(body)


def test_read_after_cancelled_read_is_allowed_and_keeps_data(run: Any) -> None:
    async def body() -> None:
        s, c = make_pair()
        fut = s.read_bytes(3)
        fut.cancel()  # type: ignore[attr-defined]
        await c.write(b"abc")
        await asyncio.sleep(0.01)
        assert await s.read_bytes(3) == b"abc"
        close_all(s, c)

    run(body)


def test_reading_and_writing_flags(run: Any) -> None:
    async def body() -> None:
        s, c = make_pair()
        assert not s.reading() and not s.writing()
        fut = s.read_bytes(1)
        assert s.reading()
        await c.write(b"x")
        await fut
        assert not s.reading()
        close_all(s, c)

    run(body)


# ---------------------------------------------------------------- writes


def test_write_returns_done_future_when_sent_at_once(run: Any) -> None:
    async def body() -> None:
        s, c = make_pair()
        fut = s.write(b"small")
        assert fut.done()
        assert await c.read_bytes(5) == b"small"
        close_all(s, c)

    run(body)


@pytest.mark.parametrize("kind", ["bytes", "bytearray", "memoryview"])
def test_write_accepts_bytes_like(run: Any, kind: str) -> None:
    async def body() -> None:
        s, c = make_pair()
        raw = b"0123456789" * 10
        data: Any = {"bytes": raw, "bytearray": bytearray(raw), "memoryview": memoryview(raw)}[kind]
        await s.write(data)
        assert await c.read_bytes(len(raw)) == raw
        close_all(s, c)

    run(body)


def test_write_memoryview_of_non_byte_format(run: Any) -> None:
    async def body() -> None:
        import array

        s, c = make_pair()
        arr = array.array("I", [1, 2, 3])
        await s.write(memoryview(arr))
        assert await c.read_bytes(arr.itemsize * 3) == arr.tobytes()
        close_all(s, c)

    run(body)


def test_large_write_future_resolves_after_flush(run: Any) -> None:
    async def body() -> None:
        s, c = make_pair()
        payload = b"q" * (4 * 1024 * 1024)
        fut = s.write(payload)
        assert not fut.done()
        assert s.writing()
        data = await c.read_bytes(len(payload))
        await fut
        assert data == payload
        assert not s.writing()
        close_all(s, c)

    run(body)


def test_many_small_writes_keep_order(run: Any) -> None:
    async def body() -> None:
        s, c = make_pair()
        big = b"B" * 3_000_000
        first = s.write(big)
        futs = [s.write(b"%05d" % i) for i in range(200)]
        expected = big + b"".join(b"%05d" % i for i in range(200))
        data = await c.read_bytes(len(expected))
        await asyncio.gather(first, *futs)
        assert data == expected
        close_all(s, c)

    run(body)


def test_empty_write_resolves(run: Any) -> None:
    async def body() -> None:
        s, c = make_pair()
        await s.write(b"")
        assert not s.writing()
        close_all(s, c)

    run(body)


def test_write_buffer_limit_raises(run: Any) -> None:
    async def body() -> None:
        s, c = make_pair(max_write_buffer_size=10)
        with pytest.raises(StreamBufferFullError):
            s.write(b"z" * 1000)
        assert not s.closed()
        close_all(s, c)

    run(body)


def test_write_buffer_limit_counts_queued_data(run: Any) -> None:
    async def body() -> None:
        s, c = make_pair(max_write_buffer_size=8 * 1024 * 1024)
        # Fill the kernel buffers, then queue up to the limit.
        with pytest.raises(StreamBufferFullError):
            for _ in range(1000):
                s.write(b"w" * 1024 * 1024)
        assert s.writing()
        close_all(s, c)

    run(body)


def test_write_to_closed_stream_raises(run: Any) -> None:
    async def body() -> None:
        s, c = make_pair()
        s.close()
        with pytest.raises(StreamClosedError):
            s.write(b"x")
        close_all(c)

    run(body)


def test_pending_write_fails_on_close(run: Any) -> None:
    async def body() -> None:
        s, c = make_pair()
        fut = s.write(b"x" * 10_000_000)
        s.close()
        with pytest.raises(StreamClosedError):
            await fut
        close_all(c)

    run(body)


def test_write_to_reset_peer_fails_future(run: Any) -> None:
    async def body() -> None:
        s, c = make_pair()
        c.close()
        await asyncio.sleep(0.01)
        fut = s.write(b"x" * 10_000_000)
        with pytest.raises(StreamClosedError) as info:
            await fut
        assert isinstance(info.value.real_error, OSError)
        assert s.closed()

    run(body)


# ---------------------------------------------------------------- buffer limits


def test_read_buffer_overflow_closes_with_buffer_full(run: Any) -> None:
    async def body() -> None:
        s, c = make_pair(max_buffer_size=1000)
        c.write(b"y" * 5000)
        with pytest.raises(StreamBufferFullError):
            await s.read_until(b"\n")
        assert s.closed()
        assert isinstance(s.error, StreamBufferFullError)
        close_all(c)

    run(body)


def test_read_bytes_larger_than_buffer_limit_fails(run: Any) -> None:
    async def body() -> None:
        s, c = make_pair(max_buffer_size=1000)
        c.write(b"q" * 5000)
        with pytest.raises(StreamBufferFullError):
            await s.read_bytes(5000)
        assert s.closed()
        close_all(c)

    run(body)


def test_read_chunk_size_is_bounded_by_buffer_size(run: Any) -> None:
    async def body() -> None:
        s, c = make_pair(max_buffer_size=1000, read_chunk_size=10_000)
        assert s.read_chunk_size == 500
        assert s.max_buffer_size == 1000
        close_all(s, c)

    run(body)


def test_data_within_buffer_limit_is_delivered(run: Any) -> None:
    async def body() -> None:
        s, c = make_pair(max_buffer_size=1000)
        await c.write(b"a" * 900 + b"\n")
        assert await s.read_until(b"\n") == b"a" * 900 + b"\n"
        close_all(s, c)

    run(body)


def test_default_limits_match_tornado(run: Any) -> None:
    async def body() -> None:
        s, c = make_pair()
        assert s.max_buffer_size == 104857600
        assert s.read_chunk_size == 65536
        assert s.max_write_buffer_size is None
        close_all(s, c)

    run(body)


# ---------------------------------------------------------------- closing


def test_peer_close_fails_pending_read_without_real_error(run: Any) -> None:
    async def body() -> None:
        s, c = make_pair()
        fut = s.read_bytes(10)
        await c.write(b"abc")
        c.close()
        with pytest.raises(StreamClosedError) as info:
            await fut
        assert info.value.real_error is None
        assert s.closed()

    run(body)


def test_close_with_exc_info_sets_error_and_real_error(run: Any) -> None:
    async def body() -> None:
        s, c = make_pair()
        fut = s.read_bytes(1)
        try:
            raise ValueError("boom")
        except ValueError:
            s.close(exc_info=True)
        with pytest.raises(StreamClosedError) as info:
            await fut
        assert isinstance(info.value.real_error, ValueError)
        assert isinstance(s.error, ValueError)
        close_all(c)

    run(body)


def test_close_with_exception_instance(run: Any) -> None:
    async def body() -> None:
        s, c = make_pair()
        err = RuntimeError("x")
        s.close(exc_info=err)
        assert s.error is err
        close_all(c)

    run(body)


def test_close_with_exc_info_tuple(run: Any) -> None:
    async def body() -> None:
        s, c = make_pair()
        err = KeyError("k")
        s.close(exc_info=(KeyError, err, None))
        assert s.error is err
        close_all(c)

    run(body)


def test_connection_reset_sets_real_error(run: Any) -> None:
    async def body() -> None:
        a, b = socket.socketpair(socket.AF_UNIX)
        s = IOStream(a)
        fut = s.read_bytes(10)
        # Unix sockets: closing with unread data is a plain EOF; use TCP reset.
        b.close()
        with pytest.raises(StreamClosedError):
            await fut

    run(body)


def test_tcp_reset_reports_connection_reset(run: Any) -> None:
    async def body() -> None:
        import struct

        listener = socket.socket()
        listener.bind(("127.0.0.1", 0))
        listener.listen(1)
        client = IOStream(socket.socket())
        await client.connect(listener.getsockname())
        conn, _ = listener.accept()
        listener.close()
        conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        fut = client.read_bytes(10)
        conn.close()  # RST
        with pytest.raises(StreamClosedError) as info:
            await fut
        assert isinstance(info.value.real_error, ConnectionResetError)
        assert isinstance(client.error, ConnectionResetError)

    run(body)


def test_read_on_closed_stream_raises_synchronously(run: Any) -> None:
    async def body() -> None:
        s, c = make_pair()
        s.close()
        with pytest.raises(StreamClosedError):
            s.read_bytes(1)
        assert not s.reading()
        close_all(c)

    run(body)


def test_buffered_data_readable_after_peer_close(run: Any) -> None:
    async def body() -> None:
        s, c = make_pair()
        await c.write(b"abcdef")
        c.close()
        assert await s.read_bytes(2) == b"ab"
        assert await s.read_bytes(2) == b"cd"
        with pytest.raises(StreamClosedError):
            await s.read_bytes(5)

    run(body)


def test_close_callback_runs_on_peer_close(run: Any) -> None:
    async def body() -> None:
        s, c = make_pair()
        event = asyncio.Event()
        s.set_close_callback(event.set)
        c.close()
        await event.wait()
        assert s.closed()

    run(body)


def test_close_callback_runs_once_on_local_close(run: Any) -> None:
    async def body() -> None:
        s, c = make_pair()
        calls: list[int] = []
        s.set_close_callback(lambda: calls.append(1))
        s.close()
        s.close()
        await asyncio.sleep(0.01)
        assert calls == [1]
        close_all(c)

    run(body)


def test_close_callback_not_called_when_set_after_close(run: Any) -> None:
    async def body() -> None:
        s, c = make_pair()
        s.close()
        calls: list[int] = []
        s.set_close_callback(lambda: calls.append(1))
        await asyncio.sleep(0.01)
        assert calls == []
        close_all(c)

    run(body)


def test_close_callback_can_be_cleared(run: Any) -> None:
    async def body() -> None:
        s, c = make_pair()
        calls: list[int] = []
        s.set_close_callback(lambda: calls.append(1))
        s.set_close_callback(None)
        s.close()
        await asyncio.sleep(0.01)
        assert calls == []
        close_all(c)

    run(body)


def test_closed_stream_releases_fd(run: Any) -> None:
    async def body() -> None:
        s, c = make_pair()
        s.close()
        assert s.socket.fileno() == -1
        close_all(c)

    run(body)


# ---------------------------------------------------------------- connect


def test_connect_resolves_with_stream(run: Any) -> None:
    async def body() -> None:
        listener = socket.socket()
        listener.bind(("127.0.0.1", 0))
        listener.listen(1)
        stream = IOStream(socket.socket())
        result = await stream.connect(listener.getsockname())
        assert result is stream
        conn, _ = listener.accept()
        await stream.write(b"hi")
        assert conn.recv(2) == b"hi"
        conn.close()
        listener.close()
        stream.close()

    run(body)


def test_connect_refused_raises_stream_closed(run: Any) -> None:
    async def body() -> None:
        probe = socket.socket()
        probe.bind(("127.0.0.1", 0))
        addr = probe.getsockname()
        probe.close()
        stream = IOStream(socket.socket())
        with pytest.raises(StreamClosedError) as info:
            await stream.connect(addr)
        assert isinstance(info.value.real_error, ConnectionRefusedError)
        assert isinstance(stream.error, ConnectionRefusedError)
        assert stream.closed()

    run(body)


def test_write_before_connect_is_flushed_after(run: Any) -> None:
    async def body() -> None:
        listener = socket.socket()
        listener.bind(("127.0.0.1", 0))
        listener.listen(1)
        listener.setblocking(False)
        stream = IOStream(socket.socket())
        cfut = stream.connect(listener.getsockname())
        wfut = stream.write(b"early")
        await cfut
        await wfut
        conn, _ = listener.accept()
        conn.settimeout(5)
        assert conn.recv(5) == b"early"
        conn.close()
        listener.close()
        stream.close()

    run(body)


def test_connect_unix_socket(run: Any, tmp_path: Any) -> None:
    async def body() -> None:
        path = str(tmp_path / "sock")
        listener = socket.socket(socket.AF_UNIX)
        listener.bind(path)
        listener.listen(1)
        stream = IOStream(socket.socket(socket.AF_UNIX))
        await stream.connect(path)
        conn, _ = listener.accept()
        conn.sendall(b"pong\n")
        assert await stream.read_until(b"\n") == b"pong\n"
        conn.close()
        listener.close()
        stream.close()

    run(body)


def test_set_nodelay_sets_tcp_option(run: Any) -> None:
    async def body() -> None:
        listener = socket.socket()
        listener.bind(("127.0.0.1", 0))
        listener.listen(1)
        stream = IOStream(socket.socket())
        await stream.connect(listener.getsockname())
        stream.set_nodelay(True)
        assert stream.socket.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) != 0
        stream.set_nodelay(False)
        assert stream.socket.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) == 0
        conn, _ = listener.accept()
        conn.close()
        listener.close()
        stream.close()

    run(body)


def test_set_nodelay_ignored_on_unix_socket(run: Any) -> None:
    async def body() -> None:
        s, c = make_pair()
        s.set_nodelay(True)  # no error on AF_UNIX
        assert not s.closed()
        close_all(s, c)

    run(body)


def test_fileno_and_get_fd_error(run: Any) -> None:
    async def body() -> None:
        s, c = make_pair()
        assert s.fileno() is s.socket
        assert s.get_fd_error() is None
        close_all(s, c)

    run(body)


def test_read_from_fd_and_write_to_fd(run: Any) -> None:
    async def body() -> None:
        s, c = make_pair()
        assert c.write_to_fd(memoryview(b"raw")) == 3
        await asyncio.sleep(0.01)
        buf = bytearray(10)
        assert s.read_from_fd(buf) == 3
        assert buf[:3] == b"raw"
        assert s.read_from_fd(buf) is None
        close_all(s, c)

    run(body)


# ---------------------------------------------------------------- memory and registration


def test_stream_has_no_instance_dict() -> None:
    a, b = socket.socketpair()
    loop = asyncio.new_event_loop()
    try:
        asyncio.set_event_loop(None)

        async def make() -> IOStream:
            return IOStream(a)

        s = loop.run_until_complete(make())
        assert not hasattr(s, "__dict__")
        s.close()
    finally:
        b.close()
        loop.close()


def test_idle_stream_holds_no_buffers(run: Any) -> None:
    async def body() -> None:
        s, c = make_pair()
        await c.write(b"abc\n")
        assert await s.read_until(b"\n") == b"abc\n"
        assert s._rbuf == b""
        assert s._wbuf is None
        await s.write(b"ok")
        assert s._wbuf is None
        close_all(s, c)

    run(body)


def test_fd_not_registered_until_read_requested(run: Any) -> None:
    async def body() -> None:
        s, c = make_pair()
        assert s._regs == 0
        fut = s.read_bytes(1)
        assert s._regs != 0
        await c.write(b"x")
        await fut
        close_all(s, c)

    run(body)


def test_streams_are_garbage_collected(run: Any) -> None:
    async def body() -> None:
        import weakref

        s, c = make_pair()
        await c.write(b"abc\n")
        await s.read_until(b"\n")
        ref = weakref.ref(s)
        close_all(s, c)
        del s
        gc.collect()
        assert ref() is None

    run(body)


def test_subclass_can_add_attributes(run: Any) -> None:
    class Tagged(IOStream):
        pass

    async def body() -> None:
        a, b = socket.socketpair()
        s = Tagged(a)
        s.tag = "x"  # type: ignore[attr-defined]
        assert s.tag == "x"  # type: ignore[attr-defined]
        s.close()
        b.close()

    run(body)


def test_large_read_bytes_after_partial_buffer(run: Any) -> None:
    async def body() -> None:
        s, c = make_pair()
        head = b"h" * 100
        body_ = bytes(range(256)) * 1000
        await c.write(head)
        assert await s.read_bytes(10) == b"h" * 10
        wfut = c.write(body_)
        assert await s.read_bytes(90 + len(body_)) == b"h" * 90 + body_
        await wfut
        close_all(s, c)

    run(body)


def test_large_read_bytes_fails_when_closed_midway(run: Any) -> None:
    async def body() -> None:
        s, c = make_pair()
        fut = s.read_bytes(500_000)
        await c.write(b"x" * 100_000)
        c.close()
        with pytest.raises(StreamClosedError):
            await fut

    run(body)
