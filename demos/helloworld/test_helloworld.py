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


@pytest.fixture
def app(load_demo: Callable[[str], ModuleType]) -> Any:
    return load_demo("helloworld/helloworld.py").make_app(prefix="/hello")


async def test_mounted_under_a_prefix(fetch: Callable[..., Any]) -> None:
    response = await fetch("/hello/")
    assert response.code == 200 and response.body == b"Hello, world"
    assert (await fetch("/")).code == 404
