"""Tests for PipeIOStream over OS pipes."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from squall.iostream import PipeIOStream, StreamClosedError


def run(body: Callable[[], Awaitable[Any]]) -> Any:
    return asyncio.run(asyncio.wait_for(body(), 10))


def pipe_pair() -> tuple[PipeIOStream, PipeIOStream]:
    r, w = os.pipe()
    return PipeIOStream(r), PipeIOStream(w)


def test_pipe_roundtrip() -> None:
    async def body() -> None:
        rs, ws = pipe_pair()
        await ws.write(b"hello\nworld")
        assert await rs.read_until(b"\n") == b"hello\n"
        assert await rs.read_bytes(5) == b"world"
        rs.close()
        ws.close()

    run(body)


def test_pipe_fileno_is_fd() -> None:
    async def body() -> None:
        r, w = os.pipe()
        rs, ws = PipeIOStream(r), PipeIOStream(w)
        assert rs.fileno() == r and rs.fd == r
        assert ws.fileno() == w
        assert not os.get_blocking(r)
        rs.close()
        ws.close()

    run(body)


def test_pipe_read_until_close_after_writer_closes() -> None:
    async def body() -> None:
        rs, ws = pipe_pair()
        fut = rs.read_until_close()
        await ws.write(b"abc" * 1000)
        ws.close()
        assert await fut == b"abc" * 1000
        assert rs.closed()

    run(body)


def test_pipe_large_write_is_flushed() -> None:
    async def body() -> None:
        rs, ws = pipe_pair()
        payload = os.urandom(1_000_000)
        wfut = ws.write(payload)
        assert not wfut.done()  # more than a pipe buffer holds
        assert await rs.read_bytes(len(payload)) == payload
        await wfut
        rs.close()
        ws.close()

    run(body)


def test_pipe_close_closes_fd() -> None:
    async def body() -> None:
        r, w = os.pipe()
        rs = PipeIOStream(r)
        rs.close()
        with pytest.raises(OSError):
            os.fstat(r)
        os.close(w)

    run(body)


def test_pipe_write_after_reader_closed_fails() -> None:
    async def body() -> None:
        rs, ws = pipe_pair()
        rs.close()
        fut = ws.write(b"x" * 100)
        with pytest.raises(StreamClosedError) as info:
            await fut
        assert isinstance(info.value.real_error, BrokenPipeError)
        assert ws.closed()

    run(body)


def test_pipe_read_into_partial() -> None:
    async def body() -> None:
        rs, ws = pipe_pair()
        buf = bytearray(8)
        fut = rs.read_into(buf, partial=True)
        await ws.write(b"abc")
        assert await fut == 3
        assert buf[:3] == b"abc"
        rs.close()
        ws.close()

    run(body)


def test_pipe_pending_read_fails_when_writer_closes() -> None:
    async def body() -> None:
        rs, ws = pipe_pair()
        fut = rs.read_bytes(10)
        await ws.write(b"short")
        ws.close()
        with pytest.raises(StreamClosedError):
            await fut

    run(body)
