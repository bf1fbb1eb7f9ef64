"""A real browser: headless Chromium opens a page served by squall that echoes 100 messages.

The page connects to a :class:`~squall.websocket.WebSocketHandler`, sends 100
messages (text and binary, some compressed by the browser's
permessage-deflate), checks every echo, closes with a code and reports the
outcome back to the server with a POST. Skipped when Chromium or selenium is
missing, unless the ``CI`` environment variable is set (then it fails).
"""

from __future__ import annotations

import asyncio
import os
import shutil
import threading
from collections.abc import Iterator
from typing import Any

import pytest
from squall.escape import json_decode
from squall.httpserver import HTTPServer
from squall.netutil import bind_sockets
from squall.web import Application, RequestHandler
from squall.websocket import WebSocketHandler

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
TIMEOUT = 60.0

PAGE = """<!doctype html>
<html><head><title>pending</title></head><body>
<script>
const ws = new WebSocket("ws://" + location.host + "/echo");
ws.binaryType = "arraybuffer";
const sent = [];
let echoed = 0, mismatches = 0;
function payload(i) {
  if (i % 10 === 9) { return new Uint8Array([i, 255 - i, 0, 7]).buffer; }
  return "message " + i + " " + "\\u00fc\\u20ac".repeat(i) + (i % 5 === 0 ? "x".repeat(5000) : "");
}
function same(a, b) {
  if (typeof a === "string" || typeof b === "string") { return a === b; }
  const x = new Uint8Array(a), y = new Uint8Array(b);
  return x.length === y.length && x.every((v, k) => v === y[k]);
}
function report(result) {
  document.title = result.status;
  fetch("/report", {method: "POST", body: JSON.stringify(result)});
}
ws.onopen = () => { for (let i = 0; i < 100; i++) { sent.push(payload(i)); ws.send(sent[i]); } };
ws.onmessage = (event) => {
  if (!same(event.data, sent[echoed])) { mismatches++; }
  echoed++;
  if (echoed === 100) { ws.close(4100, "all echoed"); }
};
ws.onclose = (event) => report({status: "done", echoed: echoed, mismatches: mismatches,
                                 code: event.code, extensions: ws.extensions});
ws.onerror = () => report({status: "error", echoed: echoed});
</script></body></html>
"""


class Echo(WebSocketHandler):
    closes: list[tuple[int | None, str | None]] = []

    def get_compression_options(self) -> dict[str, Any]:
        return {}

    def on_message(self, message: str | bytes) -> None:
        self.write_message(message, binary=isinstance(message, bytes))

    def on_close(self) -> None:
        Echo.closes.append((self.close_code, self.close_reason))


class Page(RequestHandler):
    def get(self) -> None:
        self.write(PAGE)


class Report(RequestHandler):
    def initialize(self, reports: list[Any], arrived: threading.Event) -> None:  # type: ignore[override]
        self.reports, self.arrived = reports, arrived

    def post(self) -> None:
        self.reports.append(json_decode(self.request.body))
        self.arrived.set()


def _browser_missing() -> str | None:
    if not (os.path.exists(CHROMIUM) or shutil.which("chromium")):
        return "chromium is not installed"
    if not os.path.exists(CHROMEDRIVER):
        return "chromedriver is not installed"
    try:
        import selenium  # noqa: F401
    except ImportError:
        return "selenium is not installed"
    return None


@pytest.fixture
def served() -> Iterator[tuple[int, list[Any], threading.Event]]:
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    reports: list[Any] = []
    arrived = threading.Event()
    app = Application(
        [
            (r"/", Page),
            (r"/echo", Echo),
            (r"/report", Report, dict(reports=reports, arrived=arrived)),
        ]
    )

    async def start() -> tuple[HTTPServer, int]:
        server = HTTPServer(app)
        sockets = bind_sockets(0, "127.0.0.1")
        server.add_sockets(sockets)
        return server, sockets[0].getsockname()[1]

    server, port = asyncio.run_coroutine_threadsafe(start(), loop).result(TIMEOUT)
    try:
        yield port, reports, arrived
    finally:

        async def stop() -> None:
            server.stop()
            await server.close_all_connections()

        asyncio.run_coroutine_threadsafe(stop(), loop).result(TIMEOUT)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(TIMEOUT)
        loop.close()


def test_chromium_echoes_100_messages(served: tuple[int, list[Any], threading.Event]) -> None:
    missing = _browser_missing()
    if missing is not None:
        if os.environ.get("CI"):
            pytest.fail(f"the browser test must run in CI: {missing}")
        pytest.skip(missing)
    from selenium import webdriver

    port, reports, arrived = served
    Echo.closes = []
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
    ):
        options.add_argument(flag)
    driver = webdriver.Chrome(
        service=webdriver.ChromeService(executable_path=CHROMEDRIVER), options=options
    )
    try:
        driver.set_page_load_timeout(TIMEOUT)
        driver.get(f"http://127.0.0.1:{port}/")
        assert arrived.wait(TIMEOUT), "the page never reported back"
        title = driver.title
    finally:
        driver.quit()
    (report,) = reports
    assert report["status"] == "done", report
    assert report["echoed"] == 100 and report["mismatches"] == 0, report
    assert report["code"] == 4100
    # Chromium always offers permessage-deflate; the handler accepted it.
    assert report["extensions"].startswith("permessage-deflate")
    assert title == "done"
    for _ in range(500):
        if Echo.closes:
            break
        threading.Event().wait(0.01)
    assert Echo.closes == [(4100, "all echoed")]
