"""Tests for the stream's small-message fast paths.

Reads look at the descriptor before waiting on the event loop (and back off
after finding it empty), reads the buffer can serve finish before the method
returns, writes go straight to the descriptor when nothing is queued, and
small queued writes are merged.  Every path must give the same bytes, in the
same order, as the slow one.
"""

from __future__ import annotations

import asyncio
import os
import socket
from typing import Any

import pytest
from squall.iostream import (
    IOStream,
    PipeIOStream,
    StreamClosedError,
    UnsatisfiableReadError,
)


def stream_and_peer(**kwargs: Any) -> tuple[IOStream, socket.socket]:
    """A stream over one end of a socket pair; the other end is a plain blocking socket."""
    a, b = socket.socketpair()
    b.settimeout(10)
    return IOStream(a, **kwargs), b


def recv_all(sock: socket.socket, n: int) -> bytes:
    out = bytearray()
    while len(out) < n:
        chunk = sock.recv(n - len(out))
        assert chunk, "peer closed early"
        out += chunk
    return bytes(out)


# ------------------------------------------------------------ inline reads


def test_read_bytes_takes_waiting_data_without_a_loop_turn(run: Any) -> None:
    async def body() -> None:
        s, peer = stream_and_peer()
        peer.sendall(b"abcdef")
        fut = s.read_bytes(6)
        # The data sat in the socket: read at once, no event-loop turn.
        assert fut.done()  # type: ignore[attr-defined]
        assert await fut == b"abcdef"
        assert not s.reading()
        s.close()
        peer.close()

    run(body)


def test_read_until_takes_waiting_data_and_keeps_the_rest(run: Any) -> None:
    async def body() -> None:
        s, peer = stream_and_peer()
        peer.sendall(b"GET / HTTP/1.1\r\n\r\nbody")
        fut = s.read_until(b"\r\n\r\n")
        assert fut.done()  # type: ignore[attr-defined]
        assert await fut == b"GET / HTTP/1.1\r\n\r\n"
        rest = s.read_bytes(4)
        # Served from the buffer this time.
        assert rest.done()  # type: ignore[attr-defined]
        assert await rest == b"body"
        s.close()
        peer.close()

    run(body)


def test_read_into_and_large_read_bytes_take_waiting_data(run: Any) -> None:
    async def body() -> None:
        s, peer = stream_and_peer(read_chunk_size=1024)
        peer.sendall(b"x" * 100)
        target = bytearray(100)
        fut = s.read_into(target)
        assert fut.done()  # type: ignore[attr-defined]
        assert await fut == 100
        assert target == b"x" * 100
        # Larger than read_chunk_size: received straight into the result.
        payload = os.urandom(3000)
        peer.sendall(payload)
        big = s.read_bytes(3000)
        assert big.done()  # type: ignore[attr-defined]
        assert await big == payload
        s.close()
        peer.close()

    run(body)


def test_read_of_partly_arrived_message_completes_later(run: Any) -> None:
    async def body() -> None:
        s, peer = stream_and_peer()
        peer.sendall(b"abc")
        fut = s.read_bytes(6)
        assert not fut.done()  # type: ignore[attr-defined]
        peer.sendall(b"def")
        assert await fut == b"abcdef"
        s.close()
        peer.close()

    run(body)


def test_inline_read_that_finds_eof_fails_the_future(run: Any) -> None:
    async def body() -> None:
        s, peer = stream_and_peer()
        peer.close()
        fut = s.read_bytes(1)  # no exception here: the future carries it
        with pytest.raises(StreamClosedError):
            await fut
        assert s.closed()

    run(body)


def test_inline_read_beyond_max_bytes_is_unsatisfiable(run: Any) -> None:
    async def body() -> None:
        s, peer = stream_and_peer()
        peer.sendall(b"z" * 100)
        fut = s.read_until(b"\n", max_bytes=10)
        with pytest.raises(StreamClosedError) as info:
            await fut
        assert isinstance(info.value.real_error, UnsatisfiableReadError)
        assert s.closed()
        peer.close()

    run(body)


def test_request_response_traffic_after_empty_looks(run: Any) -> None:
    # Ping-pong: most reads find the socket empty, so the stream stops looking
    # first for a while, then looks again.  Every message must still arrive,
    # whether it was already waiting or came later.
    async def body() -> None:
        s, peer = stream_and_peer()
        for i in range(40):
            msg = b"%04d\n" % i
            if i % 3 == 0:
                peer.sendall(msg)  # already waiting when the read starts
                fut = s.read_until(b"\n")
            else:
                fut = s.read_until(b"\n")  # arrives while the read waits
                await asyncio.sleep(0)
                peer.sendall(msg)
            assert await fut == msg
            await s.write(msg.upper())
            assert recv_all(peer, len(msg)) == msg.upper()
        s.close()
        peer.close()

    run(body)


def test_data_waiting_while_reads_skip_the_look_still_arrives(run: Any) -> None:
    async def body() -> None:
        s, peer = stream_and_peer()
        # Make the first look find nothing, so the next reads skip looking.
        first = s.read_bytes(2)
        peer.sendall(b"ok")
        assert await first == b"ok"
        for i in range(12):
            peer.sendall(b"%02d" % i)
            assert await s.read_bytes(2) == b"%02d" % i
        s.close()
        peer.close()

    run(body)


def test_pipe_read_takes_waiting_data(run: Any) -> None:
    async def body() -> None:
        r, w = os.pipe()
        rs = PipeIOStream(r)
        os.write(w, b"hello\n")
        fut = rs.read_until(b"\n")
        assert fut.done()  # type: ignore[attr-defined]
        assert await fut == b"hello\n"
        rs.close()
        os.close(w)

    run(body)


def test_read_bytes_partial_takes_waiting_data(run: Any) -> None:
    async def body() -> None:
        s, peer = stream_and_peer()
        peer.sendall(b"abc")
        fut = s.read_bytes(10, partial=True)
        assert fut.done()  # type: ignore[attr-defined]
        assert await fut == b"abc"
        s.close()
        peer.close()

    run(body)


# ------------------------------------------------------------------ writes


def test_write_completes_synchronously_when_socket_has_room(run: Any) -> None:
    async def body() -> None:
        s, peer = stream_and_peer()
        futs = [s.write(b"%03d" % i) for i in range(50)]
        # Each went straight to the socket: nothing queued, nothing pending.
        assert all(f.done() for f in futs)
        assert not s.writing()
        assert recv_all(peer, 150) == b"".join(b"%03d" % i for i in range(50))
        s.close()
        peer.close()

    run(body)


def test_partial_sends_under_small_send_buffer_keep_order(run: Any) -> None:
    async def body() -> None:
        a, peer = socket.socketpair()
        a.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4096)
        peer.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        peer.setblocking(False)
        s = IOStream(a)
        pieces = [os.urandom(n) for n in (1000, 50_000, 7, 300_000, 1, 4096, 5000)]
        futs = [s.write(p) for p in pieces]
        # The socket cannot take all that: the tail waits in the queue.
        assert s.writing()
        assert not futs[-1].done()
        expected = b"".join(pieces)
        got = bytearray()
        loop = asyncio.get_running_loop()
        while len(got) < len(expected):
            try:
                got += peer.recv(65536)
            except BlockingIOError:
                await asyncio.sleep(0.001)
        await asyncio.gather(*futs)
        assert bytes(got) == expected
        assert not s.writing()
        assert loop.is_running()
        s.close()
        peer.close()

    run(body)


def test_many_tiny_writes_to_a_full_socket_are_merged_in_order(run: Any) -> None:
    async def body() -> None:
        a, peer = socket.socketpair()
        a.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4096)
        peer.setblocking(False)
        s = IOStream(a)
        # Fill the socket until a write has to wait.
        filler = s.write(b"F" * 1_000_000)
        assert not filler.done()
        tiny = [b"%d," % i for i in range(2000)]
        futs = [s.write(t) for t in tiny]
        # Merged into a few buffers rather than one entry per write.
        assert s._wbuf is not None and len(s._wbuf) < 10
        expected = b"F" * 1_000_000 + b"".join(tiny)
        got = bytearray()
        while len(got) < len(expected):
            try:
                got += peer.recv(65536)
            except BlockingIOError:
                await asyncio.sleep(0.001)
        await asyncio.gather(filler, *futs)
        assert bytes(got) == expected
        s.close()
        peer.close()

    run(body)


def test_write_futures_resolve_in_order_of_their_data(run: Any) -> None:
    async def body() -> None:
        a, peer = socket.socketpair()
        a.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4096)
        peer.setblocking(False)
        s = IOStream(a)
        first = s.write(b"a" * 200_000)
        second = s.write(b"b" * 10)
        done_order: list[str] = []
        first.add_done_callback(lambda f: done_order.append("first"))
        second.add_done_callback(lambda f: done_order.append("second"))
        got = 0
        while got < 200_010:
            try:
                got += len(peer.recv(65536))
            except BlockingIOError:
                await asyncio.sleep(0.001)
        await asyncio.gather(first, second)
        assert done_order == ["first", "second"]
        s.close()
        peer.close()

    run(body)


def test_echo_loop_matches_byte_for_byte(run: Any) -> None:
    # The bench's pattern: read_bytes then write, many small messages.
    async def body() -> None:
        s, peer = stream_and_peer()

        async def serve() -> None:
            try:
                while True:
                    await s.write(await s.read_bytes(1024))
            except StreamClosedError:
                pass

        task = asyncio.ensure_future(serve())
        peer.setblocking(False)
        for _ in range(30):
            msg = os.urandom(1024)
            peer.sendall(msg)
            got = b""
            while len(got) < 1024:
                try:
                    got += peer.recv(4096)
                except BlockingIOError:
                    await asyncio.sleep(0)
            assert got == msg
        peer.close()
        await task
        assert s.closed()

    run(body)
