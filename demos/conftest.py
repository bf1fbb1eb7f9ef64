"""Shared fixtures of the demo tests.

* squall's own pytest plugin (``io_loop``, ``async def`` tests, and the
  ``app`` -> ``http_server`` / ``base_url`` / ``fetch`` fixtures), so a demo's
  ``make_app()`` can be served in-process on a free port.
* ``load_demo(name)``: imports ``demos/<name>/<name>.py``-style modules by path
  (the demo folders are not packages and their module names must not clash).
* ``run_demo(script, *args)``: starts a demo exactly as its README says
  (``python demos/<name>/<script>.py --port N``) and returns the URL it prints.
* ``browser()``: a headless Chromium (Debian's chromium + chromium-driver)
  driven by selenium; skipped when either is missing, unless ``CI`` is set.
"""

from __future__ import annotations

import importlib.util
import os
import re
import shutil
import socket
import subprocess
import sys
import types
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from squall.testing.pytest_plugin import (
    _squall_http_socket,
    base_url,
    fetch,
    http_client,
    http_port,
    http_server,
    http_server_options,
    io_loop,
    pytest_addoption,
    pytest_collection_modifyitems,
    pytest_configure,
    pytest_pyfunc_call,
)

__all__ = [
    "_squall_http_socket",
    "base_url",
    "browser",
    "fetch",
    "free_port",
    "http_client",
    "http_port",
    "http_server",
    "http_server_options",
    "io_loop",
    "load_demo",
    "pytest_addoption",
    "pytest_collection_modifyitems",
    "pytest_configure",
    "pytest_pyfunc_call",
    "run_demo",
]

DEMOS = os.path.dirname(os.path.abspath(__file__))


def free_port() -> int:
    """A TCP port nobody listens on right now (on 127.0.0.1)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture(scope="session")
def load_demo() -> Callable[[str], types.ModuleType]:
    """``load_demo("chat/chat.py")`` imports that file once as module ``demo_chat``."""

    def load(relative: str) -> types.ModuleType:
        name = "demo_" + os.path.splitext(os.path.basename(relative))[0]
        if name in sys.modules:
            return sys.modules[name]
        spec = importlib.util.spec_from_file_location(name, os.path.join(DEMOS, relative))
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
        return module

    return load


@pytest.fixture
def run_demo() -> Iterator[Callable[..., str]]:
    """Start demo scripts as subprocesses on free ports; all are stopped after the test.

    ``run_demo("chat/chat.py", "--flag")`` returns the first ``http://`` or
    ``tcp://`` URL the script prints (its "ready" line), without a trailing
    slash.
    """
    started: list[subprocess.Popen[str]] = []

    def start(relative: str, *args: str) -> str:
        port = free_port()
        proc = subprocess.Popen(
            [sys.executable, os.path.join(DEMOS, relative), "--port", str(port), *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        started.append(proc)
        assert proc.stdout is not None
        banner = proc.stdout.readline()
        found = re.search(rf"(?:http|tcp)://127\.0\.0\.1:{port}\S*", banner)
        if found is None:
            proc.kill()
            raise AssertionError(f"{relative} did not start: {banner}{proc.stdout.read()}")
        return found.group(0).rstrip("/")

    yield start
    for proc in started:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(10)
        assert proc.stdout is not None
        proc.stdout.close()


def _chromium() -> Any:
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    driver = shutil.which("chromedriver")
    if not (chromium and driver):
        if os.environ.get("CI"):
            pytest.fail("CI needs Debian's chromium and chromium-driver (.ci/run installs them)")
        pytest.skip("chromium and chromedriver are not installed")
    webdriver = pytest.importorskip("selenium.webdriver")
    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for flag in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
        "--window-size=1000,800",
    ):
        options.add_argument(flag)
    service = webdriver.ChromeService(executable_path=driver)
    session = webdriver.Chrome(options=options, service=service)
    session.set_page_load_timeout(20)
    # A click that navigates returns before the next page is there: lookups
    # wait for their element to appear instead of failing at once.
    session.implicitly_wait(10)
    return session


@pytest.fixture
def browser() -> Iterator[Callable[[], Any]]:
    """``browser()`` opens one more headless Chromium (its own cookies); all quit after the test."""
    opened: list[Any] = []

    def open_one() -> Any:
        session = _chromium()
        opened.append(session)
        return session

    yield open_one
    for session in opened:
        session.quit()
