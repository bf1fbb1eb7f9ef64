"""Headless Chromium loads a squall.web page over TLS and negotiates HTTP/2 by ALPN.

The page reports its navigation's ``nextHopProtocol`` and fetches a few more
resources in parallel (streams on the same connection). Skipped when Chromium,
chromedriver or selenium is missing, unless ``CI`` is set (then it fails).
"""

from __future__ import annotations

import os
import shutil
import ssl
from typing import Any

import pytest

from .conftest import LiveServer

pytest.importorskip("h2")
web = pytest.importorskip("squall.web")

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
TIMEOUT = 60.0

PAGE = """<!doctype html>
<html><head><title>pending</title></head><body>
<script>
const nav = performance.getEntriesByType("navigation")[0].nextHopProtocol;
Promise.all([1, 2, 3, 4, 5, 6, 7, 8].map((i) => fetch("/part?i=" + i).then((r) => r.text())))
  .then((parts) => { document.title = nav + " " + parts.join(""); })
  .catch((e) => { document.title = "error " + e; });
</script></body></html>
"""


class Page(web.RequestHandler):
    def get(self) -> None:
        self.write(PAGE)


class Part(web.RequestHandler):
    def get(self) -> None:
        self.write(self.get_argument("i") + self.request.version[5:])


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


def test_chromium_speaks_h2(serve: Any, cert_files: tuple[str, str]) -> None:
    missing = _browser_missing()
    if missing is not None:
        if os.environ.get("CI"):
            pytest.fail(f"the browser test must run in CI: {missing}")
        pytest.skip(missing)
    from selenium import webdriver
    from selenium.webdriver.support.ui import WebDriverWait

    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(*cert_files)
    app = web.Application([("/", Page), ("/part", Part)])
    live: LiveServer = serve(app, http2=True, ssl_options=context)
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
        "--ignore-certificate-errors",
    ):
        options.add_argument(flag)
    driver = webdriver.Chrome(
        service=webdriver.ChromeService(executable_path=CHROMEDRIVER), options=options
    )
    try:
        driver.set_page_load_timeout(TIMEOUT)
        driver.get(f"https://127.0.0.1:{live.port}/")
        WebDriverWait(driver, TIMEOUT).until(lambda d: d.title != "pending")
        title = driver.title
    finally:
        driver.quit()
    assert title == "h2 12.022.032.042.052.062.072.082.0"
