"""The guestbook, as the demo site serves it under /guestbook: real sockets and a real browser.

Starts ``python demos/app.py`` on a free port exactly as a user would, then
walks every guestbook page with urllib (cookies and redirects handled as a
browser does) and the sign-in + XSRF-protected guestbook flow in headless
Chromium (Debian's chromium and chromium-driver; .ci/run installs them).
"""

from __future__ import annotations

import http.cookiejar
import os
import re
import socket
import subprocess
import sys
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

APP = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "app.py")
GB = "/guestbook"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    port = _free_port()
    proc = subprocess.Popen(
        [sys.executable, APP, "--port", str(port), "--data", str(tmp_path_factory.mktemp("data"))],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    assert proc.stdout is not None
    seen = ""
    while not seen.endswith("(Ctrl-C stops it)\n"):
        line = proc.stdout.readline()
        if not line:  # it exited
            pytest.fail(f"demos/app.py did not start:\n{seen}")
        seen += line
    try:
        assert f"http://127.0.0.1:{port}/" in seen, seen
        yield f"http://127.0.0.1:{port}"
    finally:
        proc.terminate()
        proc.wait(10)
        proc.stdout.close()


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: object, **kwargs: object) -> None:
        return None


def _opener(follow: bool = True) -> tuple[urllib.request.OpenerDirector, http.cookiejar.CookieJar]:
    jar = http.cookiejar.CookieJar()
    handlers: list[urllib.request.BaseHandler] = [urllib.request.HTTPCookieProcessor(jar)]
    if not follow:
        handlers.append(_NoRedirect())
    return urllib.request.build_opener(*handlers), jar


def _get(
    opener: urllib.request.OpenerDirector, url: str, **headers: str
) -> tuple[int, dict[str, str], str]:
    request = urllib.request.Request(url, headers=headers)
    try:
        with opener.open(request, timeout=10) as response:
            return response.status, dict(response.headers), response.read().decode(errors="replace")
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read().decode(errors="replace")


def _post(
    opener: urllib.request.OpenerDirector, url: str, fields: dict[str, str]
) -> tuple[int, dict[str, str], str]:
    data = urllib.parse.urlencode(fields).encode()
    try:
        with opener.open(url, data=data, timeout=10) as response:
            return response.status, dict(response.headers), response.read().decode(errors="replace")
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read().decode(errors="replace")


def _xsrf(jar: http.cookiejar.CookieJar) -> str:
    return next(c.value for c in jar if c.name == "_xsrf" and c.value is not None)


def test_home_page(site: str) -> None:
    opener, jar = _opener()
    status, headers, body = _get(opener, site + GB + "/")
    assert status == 200
    assert headers["Content-Type"] == "text/html; charset=UTF-8"
    assert "<h1>Guestbook</h1>" in body
    assert "Welcome! Sign in and leave a message." in body
    # the UI module's CSS is in <head>, once
    head = body.split("</head>")[0]
    assert head.count(".entry { margin") == 1
    assert body.count(".entry { margin") == 1
    # static files are versioned by content hash
    assert re.search(r'href="/guestbook/static/site\.css\?v=[0-9a-f]+"', body)
    assert "_xsrf" in {c.name for c in jar}


def test_static_files(site: str) -> None:
    opener, _ = _opener()
    _, _, body = _get(opener, site + GB + "/")
    css_url = re.search(r'href="(/guestbook/static/site\.css\?v=[0-9a-f]+)"', body).group(1)  # type: ignore[union-attr]
    status, headers, css = _get(opener, site + css_url)
    assert status == 200 and "font:" in css
    assert headers["Content-Type"].startswith("text/css")
    assert "max-age=31536000" in headers["Cache-Control"]
    status, headers, _ = _get(opener, site + css_url, **{"If-None-Match": headers["Etag"]})
    assert status == 304
    assert _get(opener, site + "/robots.txt")[2].startswith("User-agent: *")
    assert _get(opener, site + "/favicon.ico")[0] == 200
    assert _get(opener, site + GB + "/static/../app.py")[0] in (403, 404)


def test_login_requires_xsrf_then_signs_in(site: str) -> None:
    opener, jar = _opener()
    status, _, body = _get(opener, site + GB + "/login?next=%2Fsign")
    assert status == 200 and 'name="_xsrf"' in body
    forged, _ = _opener()
    assert _post(forged, site + GB + "/login", {"name": "mallory", "next": GB + "/"})[0] == 403
    status, _, body = _post(
        opener, site + GB + "/login", {"name": "Ada", "next": GB + "/", "_xsrf": _xsrf(jar)}
    )
    assert status == 200
    assert "Signed in as Ada" in body
    user = next(c for c in jar if c.name == "user")
    assert user.value is not None and user.value.startswith("2|")
    # the signed cookie cannot be forged
    tampered, _ = _opener()
    _get(tampered, site + GB + "/")
    forged_cookie = user.value[:-4] + "0000"
    _, _, body = _get(tampered, site + GB + "/", Cookie=f"user={forged_cookie}")
    assert "Signed in as" not in body


def test_guestbook_needs_login(site: str) -> None:
    opener, jar = _opener(follow=False)
    _get(opener, site + GB + "/")
    status, headers, _ = _get(opener, site + GB + "/sign")
    assert status == 302
    assert headers["Location"] == "/guestbook/login?next=%2Fguestbook%2Fsign"
    status, _, _ = _post(opener, site + GB + "/sign", {"message": "hi", "_xsrf": _xsrf(jar)})
    assert status == 403


def test_localized(site: str) -> None:
    opener, _ = _opener()
    _, _, body = _get(opener, site + GB + "/?lang=es_ES")
    assert "<h1>Libro de visitas</h1>" in body
    assert "1 mensaje" in body
    fresh, _ = _opener()
    _, _, body = _get(fresh, site + GB + "/", **{"Accept-Language": "fr-FR,fr;q=0.9"})
    assert "Livre d&#x27;or" in body


def test_story_api_and_redirect(site: str) -> None:
    opener, _ = _opener()
    assert _get(opener, site + GB + "/story/42")[2] == "You requested the story 42"
    status, headers, body = _get(opener, site + GB + "/api/entries")
    assert status == 200 and headers["Content-Type"] == "application/json; charset=UTF-8"
    assert '"author": "squall"' in body
    plain, _ = _opener(follow=False)
    status, headers, _ = _get(plain, site + GB + "/old")
    assert status == 301 and headers["Location"] == "/guestbook/"


def test_browser_sign_in_and_post(site: str, browser: Any, tmp_path: Path) -> None:
    session = browser()  # headless Chromium (demos/conftest.py); skipped without it, but not in CI
    from selenium.common.exceptions import StaleElementReferenceException
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    session.get(site + GB + "/")
    assert session.find_element(By.TAG_NAME, "h1").text == "Guestbook"
    session.find_element(By.ID, "login-link").click()
    session.find_element(By.ID, "name").send_keys("Grace")
    session.find_element(By.ID, "submit").click()
    assert "Signed in as Grace" in session.find_element(By.CLASS_NAME, "user").text
    session.find_element(By.ID, "message").send_keys("Hello from Chromium")
    session.find_element(By.ID, "send").click()

    def newest(session: Any) -> str:
        return str(session.find_elements(By.CSS_SELECTOR, ".entry .message")[0].text)

    # the old page's entries go stale as the new page replaces them
    WebDriverWait(session, 10, ignored_exceptions=(StaleElementReferenceException,)).until(
        lambda s: newest(s) == "Hello from Chromium"
    )
    cookies = {c["name"]: c for c in session.get_cookies()}
    assert cookies["user"]["httpOnly"] is True
    assert "_xsrf" in cookies
    session.save_screenshot(str(tmp_path / "guestbook.png"))
    session.find_element(By.ID, "logout").click()
    assert session.find_elements(By.ID, "login-link")
