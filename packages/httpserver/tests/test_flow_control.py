"""Flow control of request bodies: a delegate that is busy holds back the reading.

When ``data_received`` (or ``headers_received``) returns an awaitable the
server hands over nothing more until it is done, and it must not keep
reading either: past a few pieces of undelivered body it pauses the
transport, so the client's sends stall and the server's memory stays flat
however large the upload. Pieces are ``bytes`` of at most ``chunk_size``.
"""

from __future__ import annotations

import asyncio
import gzip
import hashlib
import os
import select
import socket
import subprocess
import sys
import textwrap
import threading
from typing import Any

import pytest
from squall.httputil import (
    HTTPHeaders,
    HTTPMessageDelegate,
    HTTPServerConnectionDelegate,
    ResponseStartLine,
)
from squall.netutil import bind_sockets

MiB = 1024 * 1024


class Gate(HTTPServerConnectionDelegate):
    """Records every piece of body; each call waits for a future the test resolves."""

    def __init__(self, *, hold_head: bool = False, data: str = "hold") -> None:
        self.hold_head = hold_head
        # What data_received returns: "hold" (a future the test resolves),
        # "sleep" (a coroutine that yields once) or "none" (no flow control).
        self.data = data
        self.sizes: list[int] = []
        self.kinds: set[type] = set()
        self.digest = hashlib.sha256()
        self.waiting: asyncio.Future[None] | None = None

    def start_request(self, server_conn: Any, request_conn: Any) -> HTTPMessageDelegate:
        return _GateMessage(self, request_conn)

    def hold(self) -> asyncio.Future[None]:
        self.waiting = asyncio.get_running_loop().create_future()
        return self.waiting

    def release(self, live: Any, *, data: str | None = None) -> None:
        """Resolve the pending future (from the test thread, on the server's loop)."""

        def resolve() -> None:
            if data is not None:
                self.data = data
            waiting, self.waiting = self.waiting, None
            assert waiting is not None and not waiting.done()
            waiting.set_result(None)

        live.call(resolve)


class _GateMessage(HTTPMessageDelegate):
    def __init__(self, owner: Gate, conn: Any) -> None:
        self.owner = owner
        self.conn = conn

    def headers_received(self, start_line: Any, headers: Any) -> Any:
        return self.owner.hold() if self.owner.hold_head else None

    def data_received(self, chunk: bytes) -> Any:
        owner = self.owner
        owner.sizes.append(len(chunk))
        owner.kinds.add(type(chunk))
        owner.digest.update(chunk)
        if owner.data == "hold":
            return owner.hold()
        return asyncio.sleep(0) if owner.data == "sleep" else None

    def finish(self) -> None:
        body = f"{sum(self.owner.sizes)} {self.owner.digest.hexdigest()}".encode()
        self.conn.write_headers(
            ResponseStartLine("HTTP/1.1", 200, "OK"),
            HTTPHeaders({"Content-Length": str(len(body))}),
            body,
        )
        self.conn.finish()


def _small_buffered_listener(live: Any) -> int:
    """Another listening socket for ``live`` whose connections have small kernel buffers.

    Linux lets a loopback receive buffer grow to tens of MiB; a fixed small
    one makes what the server itself holds back show on the client's side.
    """
    (sock,) = bind_sockets(0, "127.0.0.1", family=socket.AF_INET)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 65536)
    live.call(lambda: live.server.add_sockets([sock]))
    port: int = sock.getsockname()[1]
    return port


def _send_until_stalled(sock: socket.socket, data: memoryview) -> int:
    """Send without blocking until the peer stops taking bytes; how many went out."""
    sock.setblocking(False)
    sent = 0
    quiet = 0
    while sent < len(data) and quiet < 5:
        try:
            sent += sock.send(data[sent : sent + 65536])
            quiet = 0
        except BlockingIOError:
            _, writable, _ = select.select([], [sock], [], 0.1)
            quiet = 0 if writable else quiet + 1
    sock.setblocking(True)
    return sent


def _wait_for(live: Any, check: Any) -> None:
    for _ in range(500):
        if check():
            return
        live.call(lambda: asyncio.sleep(0.01))
    raise AssertionError("the server did not get there")


def _finish_upload(sock: socket.socket, data: memoryview, sent: int, wire: Any) -> bytes:
    sender = threading.Thread(target=sock.sendall, args=(data[sent:],))
    sender.start()
    try:
        return bytes(wire.read_all(sock, limit=60))
    finally:
        sender.join(60)


@pytest.mark.parametrize("use_uvloop", [False, True], ids=["asyncio", "uvloop"])
def test_a_busy_delegate_stops_the_reading_and_loses_nothing(serve, wire, use_uvloop) -> None:
    gate = Gate()
    live = serve(gate, use_uvloop=use_uvloop, chunk_size=16384)
    port = _small_buffered_listener(live)
    size = 24 * MiB
    body = os.urandom(size)
    head = b"PUT /up HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\nConnection: close\r\n\r\n" % size
    with wire.connect(port, timeout=60) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 65536)
        sock.sendall(head)
        data = memoryview(body)
        sent = _send_until_stalled(sock, data)
        # The delegate sits on its first piece: the server holds at most a
        # few pieces and one read more, the kernel a few buffers.
        assert sent < 4 * MiB
        _wait_for(live, lambda: gate.waiting is not None)
        assert gate.sizes == [16384]
        # Released one at a time, the pieces come one at a time, in order.
        for step in range(2, 8):
            gate.release(live)
            _wait_for(live, lambda: gate.waiting is not None)
            assert len(gate.sizes) == step
        gate.release(live, data="sleep")
        answer = _finish_upload(sock, data, sent, wire)
    (response,) = wire.parse(answer, ["PUT"])
    assert response.body == f"{size} {hashlib.sha256(body).hexdigest()}".encode()
    assert gate.kinds == {bytes}
    assert max(gate.sizes) <= 16384


def test_a_busy_headers_received_holds_the_body_back(serve, wire) -> None:
    gate = Gate(hold_head=True, data="sleep")
    live = serve(gate)
    port = _small_buffered_listener(live)
    size = 24 * MiB
    body = os.urandom(size)
    head = b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\nConnection: close\r\n\r\n" % size
    with wire.connect(port, timeout=60) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 65536)
        sock.sendall(head)
        data = memoryview(body)
        sent = _send_until_stalled(sock, data)
        assert sent < 4 * MiB
        assert gate.sizes == []
        gate.release(live)
        answer = _finish_upload(sock, data, sent, wire)
    (response,) = wire.parse(answer, ["POST"])
    assert response.body == f"{size} {hashlib.sha256(body).hexdigest()}".encode()
    assert max(gate.sizes) <= 65536


def test_chunked_upload_to_a_busy_delegate_keeps_order_and_keeps_alive(serve, wire) -> None:
    gate = Gate(data="sleep")
    live = serve(gate, chunk_size=5000)
    parts = [os.urandom(n) for n in (1, 70000, 3, 300000, 65536, 12345)]
    chunked = b"".join(b"%x\r\n%s\r\n" % (len(p), p) for p in parts) + b"0\r\n\r\n"
    first = b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n" + chunked
    second = b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
    answer = wire.exchange(live.port, first + second, limit=30)
    one, two = wire.parse(answer, ["POST", "GET"])
    whole = b"".join(parts)
    assert one.body == f"{len(whole)} {hashlib.sha256(whole).hexdigest()}".encode()
    assert two.body == f"{len(whole)} {hashlib.sha256(whole).hexdigest()}".encode()
    assert gate.kinds == {bytes} and max(gate.sizes) <= 5000


@pytest.mark.parametrize("busy", [False, True], ids=["plain", "awaiting"])
@pytest.mark.parametrize("gzipped", [False, True], ids=["identity", "gzip"])
def test_pieces_are_bytes_no_larger_than_chunk_size(serve, wire, busy, gzipped) -> None:
    gate = Gate(data="sleep" if busy else "none")
    live = serve(gate, chunk_size=1000, decompress_request=True)
    plain = os.urandom(150_000) + bytes(150_000)
    payload = gzip.compress(plain) if gzipped else plain
    coding = b"Content-Encoding: gzip\r\n" if gzipped else b""
    raw = (
        b"PUT / HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n%sConnection: close\r\n\r\n"
        % (len(payload), coding)
        + payload
    )
    (response,) = wire.parse(wire.exchange(live.port, raw, limit=30), ["PUT"])
    assert response.body == f"{len(plain)} {hashlib.sha256(plain).hexdigest()}".encode()
    assert gate.kinds == {bytes}
    assert max(gate.sizes) <= 1000
    assert len(gate.sizes) >= len(plain) // 1000


_UPLOAD = textwrap.dedent(
    """
    import asyncio, socket, sys, threading
    from squall.httpserver import HTTPServer
    from squall.httputil import (
        HTTPHeaders, HTTPMessageDelegate, HTTPServerConnectionDelegate, ResponseStartLine,
    )
    from squall.netutil import bind_sockets

    SIZE = int(sys.argv[1]) * 1024 * 1024
    CHUNKED = sys.argv[2] == "chunked"
    BLOCK = b"u" * (1024 * 1024)
    FRAMED = b"100000\\r\\n" + BLOCK + b"\\r\\n"

    def peak_kib():
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
        raise SystemExit("no VmHWM")

    class Message(HTTPMessageDelegate):
        got = 0

        def __init__(self, conn):
            self.conn = conn

        async def data_received(self, chunk):
            Message.got += len(chunk)
            await asyncio.sleep(0)

        def finish(self):
            self.conn.write_headers(
                ResponseStartLine("HTTP/1.1", 200, "OK"),
                HTTPHeaders({"Content-Length": "2"}),
                b"ok",
            )
            self.conn.finish()

    class Delegate(HTTPServerConnectionDelegate):
        def start_request(self, server_conn, request_conn):
            return Message(request_conn)

    def upload(port):
        with socket.create_connection(("127.0.0.1", port), timeout=60) as sock:
            if CHUNKED:
                sock.sendall(b"POST / HTTP/1.1\\r\\nHost: x\\r\\nTransfer-Encoding: chunked\\r\\n\\r\\n")
                for _ in range(SIZE // len(BLOCK)):
                    sock.sendall(FRAMED)
                sock.sendall(b"0\\r\\n\\r\\n")
            else:
                sock.sendall(b"POST / HTTP/1.1\\r\\nHost: x\\r\\nContent-Length: %d\\r\\n\\r\\n" % SIZE)
                for _ in range(SIZE // len(BLOCK)):
                    sock.sendall(BLOCK)
            answer = b""
            while not answer.endswith(b"ok"):
                more = sock.recv(4096)
                if not more:
                    break
                answer += more
            return answer

    async def main():
        server = HTTPServer(Delegate())
        sockets = bind_sockets(0, "127.0.0.1", family=socket.AF_INET)
        server.add_sockets(sockets)
        port = sockets[0].getsockname()[1]
        before = peak_kib()
        answer = await asyncio.get_running_loop().run_in_executor(None, upload, port)
        print(peak_kib() - before, Message.got, answer.startswith(b"HTTP/1.1 200"))
        server.stop()

    asyncio.run(main())
    """
)


@pytest.mark.skipif(not os.path.exists("/proc/self/status"), reason="needs VmHWM (Linux)")
@pytest.mark.parametrize("framing", ["length", "chunked"])
def test_a_large_upload_to_an_async_delegate_keeps_memory_flat(tmp_path, framing) -> None:
    script = tmp_path / "upload.py"
    script.write_text(_UPLOAD)
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(p for p in sys.path if p))
    size_mib = 64
    done = subprocess.run(
        [sys.executable, str(script), str(size_mib), framing],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    growth_kib, got, ok = done.stdout.split()
    assert (int(got), ok) == (size_mib * MiB, "True")
    assert int(growth_kib) < 32 * 1024
