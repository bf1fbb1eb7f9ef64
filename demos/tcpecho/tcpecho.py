"""A line echo service on plain TCP: a TCPServer, a TCPClient, and a web page between them.

    python demos/tcpecho/tcpecho.py [server] [--port 8888] [--address 127.0.0.1]
    python demos/tcpecho/tcpecho.py client [--port 8888] [LINE ...]
    python demos/tcpecho/tcpecho.py web [--port 8888]

``server`` answers every line it receives with the same line.
``client`` connects, sends each LINE (or every line of standard input when
none are given) and prints the answers. ``web`` serves a page whose form
sends a line through a :class:`~squall.tcpclient.TCPClient` to an echo
server running in the same process, to show both ends working together
(``make_app`` builds that page, for mounting under a prefix).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from collections.abc import Iterable
from typing import Any

import squall.ioloop
import squall.iostream
import squall.netutil
import squall.tcpclient
import squall.tcpserver
import squall.web

HERE = os.path.dirname(os.path.abspath(__file__))
LONGEST_LINE = 64 * 1024


class EchoServer(squall.tcpserver.TCPServer):
    """Sends every line back to whoever sent it; a line longer than 64 KB ends the connection."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.connections = 0
        self.lines = 0

    async def handle_stream(self, stream: squall.iostream.IOStream, address: Any) -> None:
        self.connections += 1
        try:
            while True:
                line = await stream.read_until(b"\n", max_bytes=LONGEST_LINE)
                self.lines += 1
                await stream.write(line)
        except (squall.iostream.StreamClosedError, squall.iostream.UnsatisfiableReadError):
            pass  # the client hung up, or sent a line too long
        finally:
            self.connections -= 1
            stream.close()


async def echo(host: str, port: int, lines: Iterable[str]) -> list[str]:
    """Send each line over one connection and return the answers, in order."""
    stream = await squall.tcpclient.TCPClient().connect(host, port, timeout=10)
    answers = []
    try:
        for line in lines:
            await stream.write(line.encode() + b"\n")
            answer = await stream.read_until(b"\n", max_bytes=LONGEST_LINE)
            answers.append(answer[:-1].decode(errors="replace"))
    finally:
        stream.close()
    return answers


class EchoPage(squall.web.RequestHandler):
    def initialize(self, prefix: str, echo_port: int, history: list[tuple[str, str]]) -> None:
        self.prefix = prefix
        self.echo_port = echo_port
        self.history = history

    def get(self) -> None:
        self.render("echo.html", prefix=self.prefix, port=self.echo_port, history=self.history)

    async def post(self) -> None:
        line = self.get_body_argument("line", "").replace("\r", " ").replace("\n", " ")
        [answer] = await echo("127.0.0.1", self.echo_port, [line[:1000]])
        self.history.insert(0, (line, answer))
        del self.history[20:]
        self.redirect(self.prefix + "/")


def start_echo_server(port: int = 0, address: str = "127.0.0.1") -> tuple[EchoServer, int]:
    """An :class:`EchoServer` listening on ``port`` (a free one for 0); returns it and its port."""
    sockets = squall.netutil.bind_sockets(port, address)
    server = EchoServer()
    server.add_sockets(sockets)
    return server, int(sockets[0].getsockname()[1])


def make_app(
    prefix: str = "", *, echo_port: int | None = None, debug: bool = False
) -> squall.web.Application:
    """The echo page under ``prefix``, talking to ``echo_port`` (its own echo server by default)."""
    if echo_port is None:
        _, echo_port = start_echo_server()
    shared = {"prefix": prefix, "echo_port": echo_port, "history": []}
    return squall.web.Application(
        [(prefix + "/", EchoPage, shared)],
        template_path=os.path.join(HERE, "templates"),
        xsrf_cookies=True,
        debug=debug,
    )


async def _client(host: str, port: int, lines: list[str]) -> None:
    if not lines:
        lines = [line.rstrip("\n") for line in sys.stdin]
    for answer in await echo(host, port, lines):
        print(answer)


def main() -> None:
    parser = argparse.ArgumentParser(description="squall's TCP echo demo")
    parser.add_argument("command", nargs="?", choices=("server", "client", "web"), default="server")
    parser.add_argument("lines", nargs="*", help="client: the lines to send (default: stdin)")
    parser.add_argument("--port", type=int, default=8888)
    parser.add_argument("--address", default="127.0.0.1")
    args = parser.parse_intermixed_args()
    if args.command == "client":
        asyncio.run(_client(args.address, args.port, args.lines))
        return
    if args.command == "web":
        make_app().listen(args.port, args.address)
        url = f"http://{args.address}:{args.port}/"
    else:
        start_echo_server(args.port, args.address)
        url = f"tcp://{args.address}:{args.port}"
    print(f"tcpecho {args.command} on {url}  (Ctrl-C stops it)", flush=True)
    try:
        squall.ioloop.IOLoop.current().start()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
