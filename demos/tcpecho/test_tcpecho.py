"""The TCP echo pair: in-process server and client, the commands as the README gives them, the page."""

from __future__ import annotations

import asyncio
import os
import re
import socket
import subprocess
import sys
import urllib.parse
from collections.abc import Callable
from types import ModuleType
from typing import Any

import pytest

SCRIPT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "tcpecho.py")


@pytest.fixture
def tcpecho(load_demo: Callable[[str], ModuleType]) -> ModuleType:
    return load_demo("tcpecho/tcpecho.py")


async def test_lines_come_back_in_order(tcpecho: ModuleType) -> None:
    server, port = tcpecho.start_echo_server()
    try:
        answers = await tcpecho.echo("127.0.0.1", port, ["one", "", "three é"])
        assert answers == ["one", "", "three é"]
        many = await asyncio.gather(
            *(tcpecho.echo("127.0.0.1", port, [f"client {n}", f"again {n}"]) for n in range(8))
        )
        assert many == [[f"client {n}", f"again {n}"] for n in range(8)]
        assert server.lines == 3 + 16
    finally:
        server.stop()


async def test_a_line_too_long_ends_the_connection(tcpecho: ModuleType) -> None:
    server, port = tcpecho.start_echo_server()
    try:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(b"short\n" + b"x" * (tcpecho.LONGEST_LINE + 10) + b"\n")
        assert await reader.readline() == b"short\n"
        assert await asyncio.wait_for(reader.read(), 5) == b""  # closed by the server
        writer.close()
        for _ in range(200):
            if server.connections == 0:
                break
            await asyncio.sleep(0.01)
        assert server.connections == 0
    finally:
        server.stop()


def test_the_server_and_client_commands(run_demo: Callable[..., str]) -> None:
    url = run_demo("tcpecho/tcpecho.py")
    port = int(url.rsplit(":", 1)[1])
    assert url == f"tcp://127.0.0.1:{port}"
    with socket.create_connection(("127.0.0.1", port), timeout=10) as raw:
        raw.sendall(b"raw bytes\n")
        assert raw.recv(100) == b"raw bytes\n"
    out = subprocess.run(
        [sys.executable, SCRIPT, "client", "--port", str(port), "hello", "two words"],
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    ).stdout
    assert out == "hello\ntwo words\n"
    piped = subprocess.run(
        [sys.executable, SCRIPT, "client", "--port", str(port)],
        input="from\nstdin\n",
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    ).stdout
    assert piped == "from\nstdin\n"


def test_the_web_command(run_demo: Callable[..., str]) -> None:
    import http.cookiejar
    import urllib.request

    url = run_demo("tcpecho/tcpecho.py", "web")
    assert url.startswith("http://")
    opener = urllib.request.build_opener(
        urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar())
    )
    page = opener.open(url + "/", timeout=10).read().decode()
    token = re.search(r'name="_xsrf" value="([^"]+)"', page)
    assert token is not None
    data = urllib.parse.urlencode({"line": "through TCP", "_xsrf": token.group(1)}).encode()
    page = opener.open(url + "/", data=data, timeout=10).read().decode()
    assert '<code class="answer">through TCP</code>' in page


@pytest.fixture
def app(tcpecho: ModuleType, io_loop: Any) -> Any:
    server, port = tcpecho.start_echo_server()
    yield tcpecho.make_app("/echo", echo_port=port)
    server.stop()


async def test_the_page_under_a_prefix_needs_xsrf(fetch: Callable[..., Any]) -> None:
    page = await fetch("/echo/")
    assert 'action="/echo/"' in page.body.decode()
    forged = await fetch("/echo/", method="POST", body="line=x")
    assert forged.code == 403
    token = re.search(r"_xsrf=([^;]+)", page.headers["Set-Cookie"])
    assert token is not None
    posted = await fetch(
        "/echo/",
        method="POST",
        body=urllib.parse.urlencode({"line": "a\r\nb <i>", "_xsrf": token.group(1)}),
        headers={"Cookie": "_xsrf=" + token.group(1)},
    )
    assert posted.code == 200 and posted.effective_url.endswith("/echo/")
    assert '<code class="answer">a  b &lt;i&gt;</code>' in posted.body.decode()
