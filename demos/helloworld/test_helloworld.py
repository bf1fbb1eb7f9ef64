"""The hello world demo, started as its README says and served in-process under a prefix."""

from __future__ import annotations

import urllib.request
from collections.abc import Callable
from types import ModuleType
from typing import Any

import pytest


def test_command_serves_hello_world(run_demo: Callable[..., str]) -> None:
    url = run_demo("helloworld/helloworld.py")
    with urllib.request.urlopen(url + "/", timeout=10) as response:
        assert response.status == 200
        assert response.headers["Content-Type"] == "text/html; charset=UTF-8"
        assert response.read() == b"Hello, world"


def test_make_app_keeps_the_overview_application(load_demo: Callable[[str], ModuleType]) -> None:
    helloworld = load_demo("helloworld/helloworld.py")
    assert helloworld.make_app() is helloworld.application
    assert helloworld.make_app("/hello") is not helloworld.application


@pytest.fixture
def mounted(load_demo: Callable[[str], ModuleType], tmp_path: Any, io_loop: Any) -> Any:
    """Every demo of this folder's siblings under its own prefix, as the demo index mounts them."""
    import squall.routing

    tcpecho = load_demo("tcpecho/tcpecho.py")
    echo_server, echo_port = tcpecho.start_echo_server()
    apps = {
        "/hello": load_demo("helloworld/helloworld.py").make_app("/hello"),
        "/chat": load_demo("chat/chat.py").make_app("/chat"),
        "/websocket": load_demo("websocket/wschat.py").make_app("/websocket"),
        "/upload": load_demo("upload/upload.py").make_app("/upload", folder=str(tmp_path)),
        "/spider": load_demo("spider/spider.py").make_app("/spider"),
        "/tcpecho": tcpecho.make_app("/tcpecho", echo_port=echo_port),
    }
    yield squall.routing.RuleRouter(
        [(squall.routing.PathMatches(prefix + "/.*"), app) for prefix, app in apps.items()]
    )
    echo_server.stop()


@pytest.fixture
def app(mounted: Any) -> Any:
    return mounted


async def test_every_demo_mounts_under_its_prefix(fetch: Callable[..., Any]) -> None:
    expected = {
        "/hello/": (200, "Hello, world"),
        "/chat/login": (200, 'action="/chat/login"'),
        "/websocket/login": (200, 'action="/websocket/login"'),
        "/upload/": (200, "/upload/static/upload.js?v="),
        "/spider/crawl": (200, 'action="/spider/crawl"'),
        "/tcpecho/": (200, 'action="/tcpecho/"'),
    }
    for path, (code, snippet) in expected.items():
        response = await fetch(path)
        assert response.code == code, path
        assert snippet in response.body.decode(), path
    chat = await fetch("/chat/", follow_redirects=False)
    assert chat.headers["Location"] == "/chat/login?next=%2Fchat%2F"
    assert (await fetch("/nowhere/")).code == 404
