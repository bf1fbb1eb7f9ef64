"""Echo servers for the c10k bench: one process per run, chosen by argv.

usage: server.py IMPL MODE  (IMPL: squall, squall-uvloop, tornado, asyncio;
MODE: "line" echoes newline-terminated lines, "N" echoes N-byte messages).
Prints the listening port on stdout, then serves until killed.
"""

from __future__ import annotations

import asyncio
import gc
import resource
import socket
import sys

impl, mode = sys.argv[1], sys.argv[2]
soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


def listener() -> socket.socket:
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("127.0.0.1", 0))
    s.listen(4096)
    s.setblocking(False)
    return s


async def main() -> None:
    sock = listener()
    size = 0 if mode == "line" else int(mode)
    if impl.startswith("squall"):
        from squall.iostream import StreamClosedError
        from squall.tcpserver import TCPServer
    elif impl == "tornado":
        from tornado.iostream import StreamClosedError  # type: ignore[no-redef]
        from tornado.tcpserver import TCPServer  # type: ignore[no-redef]
    if impl == "asyncio":

        class Echo(asyncio.Protocol):
            __slots__ = ("buf", "t")

            def connection_made(self, transport):  # type: ignore[no-untyped-def]
                self.t = transport
                self.buf = b""

            def data_received(self, data):  # type: ignore[no-untyped-def]
                if size:
                    self.t.write(data)
                    return
                buf = self.buf + data
                i = buf.rfind(b"\n")
                if i >= 0:
                    self.t.write(buf[: i + 1])
                    buf = buf[i + 1 :]
                self.buf = buf

        await asyncio.get_running_loop().create_server(Echo, sock=sock, backlog=4096)
    else:

        class Server(TCPServer):  # type: ignore[misc,valid-type]
            async def handle_stream(self, stream, address):  # type: ignore[no-untyped-def]
                try:
                    if size:
                        while True:
                            await stream.write(await stream.read_bytes(size))
                    else:
                        while True:
                            await stream.write(await stream.read_until(b"\n"))
                except StreamClosedError:
                    pass

        Server().add_sockets([sock])
    gc.collect()
    print(sock.getsockname()[1], flush=True)
    await asyncio.Event().wait()


if impl == "squall-uvloop":
    import uvloop

    uvloop.install()
asyncio.run(main())
