"""The blog demo through real sockets: SQLite, PostgreSQL and headless Chromium.

Each test starts ``python demos/blog/app.py`` in a subprocess, mounted under
``/blog`` as the index site mounts it, and drives it with urllib (cookies kept
as a browser keeps them) or with Debian's chromium through selenium.
"""

from __future__ import annotations

import contextlib
import glob
import http.cookiejar
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import urllib.error
import urllib.parse
import urllib.request
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

APP = os.path.join(os.path.dirname(os.path.abspath(__file__)), "app.py")
ATOM = "{http://www.w3.org/2005/Atom}"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextlib.contextmanager
def _blog(*args: str) -> Iterator[str]:
    port = _free_port()
    proc = subprocess.Popen(
        [sys.executable, APP, "--port", str(port), "--prefix", "/blog", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    assert proc.stdout is not None
    banner = proc.stdout.readline()
    try:
        if f"http://127.0.0.1:{port}/blog/" not in banner:
            proc.kill()
            pytest.fail(f"the blog did not start: {banner}{proc.stdout.read()}")
        yield f"http://127.0.0.1:{port}/blog"
    finally:
        proc.terminate()
        proc.wait(10)
        proc.stdout.close()


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: object, **kwargs: object) -> None:
        return None


class _Visitor:
    """A cookie-keeping client; ``follow=False`` shows redirects instead of taking them."""

    def __init__(self, follow: bool = True) -> None:
        self.jar = http.cookiejar.CookieJar()
        handlers: list[urllib.request.BaseHandler] = [urllib.request.HTTPCookieProcessor(self.jar)]
        if not follow:
            handlers.append(_NoRedirect())
        self.opener = urllib.request.build_opener(*handlers)

    def call(
        self, url: str, fields: dict[str, str] | None = None
    ) -> tuple[int, dict[str, str], str]:
        data = None if fields is None else urllib.parse.urlencode(fields).encode()
        try:
            with self.opener.open(url, data=data, timeout=15) as answer:
                return answer.status, dict(answer.headers), answer.read().decode()
        except urllib.error.HTTPError as error:
            return error.code, dict(error.headers), error.read().decode()

    def xsrf(self) -> str:
        return next(c.value for c in self.jar if c.name == "_xsrf" and c.value)

    def post(self, url: str, **fields: str) -> tuple[int, dict[str, str], str]:
        return self.call(url, {"_xsrf": self.xsrf(), **fields})


def _flow(base: str) -> None:
    """Everything a writer and a reader do, asserted step by step."""
    ada = _Visitor()
    status, _, page = ada.call(base + "/")
    assert status == 200 and "Nothing here yet" in page
    # anonymous writers are sent to sign in, and come back afterwards
    lost = _Visitor(follow=False)
    lost.call(base + "/")
    status, headers, _ = lost.call(base + "/compose")
    assert status == 302 and headers["Location"] == "/blog/signin?next=%2Fblog%2Fcompose"
    assert lost.post(base + "/compose", title="t", markdown="m")[0] == 403
    # forms without the XSRF token are refused
    assert ada.call(base + "/signup", {"name": "ada", "password": "correct horse"})[0] == 403
    # sign up (the account is created), then the name is taken
    status, _, page = ada.post(
        base + "/signup", name="ada", password="correct horse", next="/blog/compose"
    )
    assert status == 200 and '<span class="user">ada</span>' in page and 'id="publish"' in page
    other = _Visitor()
    other.call(base + "/signup")
    assert other.post(base + "/signup", name="ada", password="something else")[0] == 409
    assert other.post(base + "/signup", name="x", password="short")[0] == 400
    assert other.post(base + "/signin", name="ada", password="wrong password")[0] == 403
    # compose: Markdown in, safe HTML out
    text = "Some **bold** words.\n\n<script>alert(1)</script>\n\n[link](javascript:alert(2))"
    status, headers, page = ada.post(base + "/compose", title="Hello, wörld!", markdown=text)
    assert status == 200
    assert "<strong>bold</strong>" in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page and "<script>alert" not in page
    assert 'href="#"' in page and "javascript:" not in page
    # the front page lists it through the Entry UI module (its CSS once, in <head>)
    status, _, home = _Visitor().call(base + "/")
    assert status == 200 and 'href="/blog/entry/hello-world"' in home
    assert home.split("</head>")[0].count(".entry{") == 1
    assert re.search(r'href="/blog/static/blog\.css\?v=[0-9a-f]+"', home)
    # same title again: a new slug
    ada.post(base + "/compose", title="Hello, world", markdown="second")
    # the feed is Atom with both entries, newest first, HTML content escaped once
    status, headers, feed = _Visitor().call(base + "/feed")
    assert status == 200 and headers["Content-Type"].startswith("application/atom+xml")
    root = ET.fromstring(feed)
    entries = root.findall(ATOM + "entry")
    assert [e.findtext(ATOM + "title") for e in entries] == ["Hello, world", "Hello, wörld!"]
    assert entries[1].findtext(ATOM + "id", "").endswith("/blog/entry/hello-world")
    assert entries[0].findtext(ATOM + "id", "").endswith("/blog/entry/hello-world-2")
    assert "<strong>bold</strong>" in entries[1].findtext(ATOM + "content", "")
    # signing in again (a new browser) and editing
    again = _Visitor()
    again.call(base + "/signin")
    status, _, page = again.post(
        base + "/signin", name="ada", password="correct horse", next="/blog/edit/hello-world"
    )
    assert status == 200 and "Some **bold** words." in page
    status, _, page = again.post(
        base + "/edit/hello-world", title="Hello again", markdown="*edited*"
    )
    assert status == 200 and "<em>edited</em>" in page and "(edited)" in page
    assert "<em>edited</em>" in _Visitor().call(base + "/entry/hello-world")[2]
    # somebody else may not edit it; unknown entries are 404
    other.post(base + "/signup", name="bob", password="hunter2hunter2")
    assert other.call(base + "/edit/hello-world")[0] == 403
    assert other.post(base + "/edit/hello-world", title="mine", markdown="now")[0] == 403
    assert other.call(base + "/entry/no-such-entry")[0] == 404
    # the signed cookie is trusted as issued, and only so
    issued = next(c.value for c in again.jar if c.name == "blog_user" and c.value)
    for value, signed_in in ((issued, True), (issued[:-4] + "0000", False)):
        request = urllib.request.Request(base + "/", headers={"Cookie": f"blog_user={value}"})
        with urllib.request.urlopen(request, timeout=15) as answer:
            assert ('<span class="user">ada</span>' in answer.read().decode()) is signed_in
    # signing out drops it
    status, _, page = again.post(base + "/signout")
    assert status == 200 and 'id="signin-link"' in page
    assert not [c for c in again.jar if c.name == "blog_user" and c.value]


def test_blog_on_sqlite(tmp_path: Path) -> None:
    with _blog("--data", str(tmp_path)) as base:
        _flow(base)
    assert (tmp_path / "blog.sqlite3").exists()
    assert (tmp_path / "cookie_secret").stat().st_mode & 0o077 == 0
    # the data survives a restart: accounts, entries and (same secret) sign-ins
    with _blog("--data", str(tmp_path)) as base:
        visitor = _Visitor()
        assert "Hello again" in visitor.call(base + "/")[2]
        visitor.call(base + "/signin")
        status, _, page = visitor.post(base + "/signin", name="ada", password="correct horse")
        assert status == 200 and '<span class="user">ada</span>' in page


def test_static_and_unknown_paths(tmp_path: Path) -> None:
    with _blog("--data", str(tmp_path)) as base:
        visitor = _Visitor()
        home = visitor.call(base + "/")[2]
        css = re.search(r'href="(/blog/static/blog\.css\?v=[0-9a-f]+)"', home)
        assert css is not None
        status, headers, body = visitor.call(base.removesuffix("/blog") + css.group(1))
        assert status == 200 and headers["Content-Type"].startswith("text/css") and "font:" in body
        assert visitor.call(base + "/static/../app.py")[0] in (403, 404)
        assert visitor.call(base + "/nothing-here")[0] == 404


# -- PostgreSQL -----------------------------------------------------------------


def _postgres_bin() -> str:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    if not found or not shutil.which("pg_ctl", path=os.path.dirname(found[-1])):
        if os.environ.get("CI"):
            pytest.fail("CI needs Debian's postgresql package (.ci/run installs it)")
        pytest.skip("postgresql is not installed")
    try:
        import psycopg  # noqa: F401
    except ImportError:
        if os.environ.get("CI"):
            pytest.fail("CI needs psycopg 3 (tox's demo env installs it)")
        pytest.skip("psycopg is not installed")
    return os.path.dirname(found[-1])


@pytest.fixture
def postgres_url(tmp_path: Path) -> Iterator[str]:
    """A throwaway cluster on a free port; run as `postgres` when the tests run as root."""
    bindir = _postgres_bin()
    as_root = os.geteuid() == 0
    # root's pytest tmp dirs are not reachable by another user: use a fresh /tmp dir then
    home = Path(tempfile.mkdtemp(prefix="squall-pg-")) if as_root else tmp_path
    run_as: list[str] = []
    if as_root:
        shutil.chown(home, "postgres")
        run_as = ["runuser", "-u", "postgres", "--"]
    data, port = home / "data", _free_port()

    def run(*argv: str) -> None:
        subprocess.run([*run_as, *argv], cwd=home, check=True, capture_output=True, timeout=120)

    try:
        run(
            f"{bindir}/initdb",
            "-D",
            str(data),
            "-U",
            "postgres",
            "--auth=trust",
            "-E",
            "UTF8",
            "--no-sync",
        )
        options = f"-p {port} -k {home} -c listen_addresses=127.0.0.1 -c fsync=off"
        run(
            f"{bindir}/pg_ctl",
            "-D",
            str(data),
            "-l",
            str(home / "log"),
            "-o",
            options,
            "-w",
            "start",
        )
        try:
            yield f"postgresql://postgres@127.0.0.1:{port}/postgres"
        finally:
            run(f"{bindir}/pg_ctl", "-D", str(data), "-m", "immediate", "-w", "stop")
    finally:
        if as_root:
            shutil.rmtree(home, ignore_errors=True)


def test_blog_on_postgresql(postgres_url: str, tmp_path: Path) -> None:
    with _blog("--data", str(tmp_path), "--db", postgres_url) as base:
        _flow(base)
    assert not (tmp_path / "blog.sqlite3").exists()


def test_unreachable_database_is_reported(tmp_path: Path) -> None:
    pytest.importorskip("psycopg")
    url = f"postgresql://nobody@127.0.0.1:{_free_port()}/none?connect_timeout=5"
    done = subprocess.run(
        [sys.executable, APP, "--port", str(_free_port()), "--data", str(tmp_path), "--db", url],
        check=False,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode != 0 and done.stderr.startswith("blog: ")


# -- the browser ------------------------------------------------------------------


def test_browser_writes_a_post(tmp_path: Path, browser: Any) -> None:
    session = browser()  # headless Chromium (demos/conftest.py); skipped without it, but not in CI
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as EC
    from selenium.webdriver.support.ui import WebDriverWait

    wait = WebDriverWait(session, 15)
    with _blog("--data", str(tmp_path / "data")) as base:
        session.get(base + "/")
        session.find_element(By.ID, "signup-link").click()
        wait.until(EC.url_contains("/blog/signup"))
        session.find_element(By.ID, "name").send_keys("grace")
        session.find_element(By.ID, "password").send_keys("amazing grace")
        session.find_element(By.ID, "submit").click()
        wait.until(EC.text_to_be_present_in_element((By.CLASS_NAME, "user"), "grace"))
        session.find_element(By.ID, "compose-link").click()
        wait.until(EC.url_contains("/blog/compose"))
        session.find_element(By.ID, "title").send_keys("Notes from Chromium")
        session.find_element(By.ID, "markdown").send_keys("A *browser* wrote this.\n\n- one\n- two")
        session.find_element(By.ID, "publish").click()
        wait.until(EC.url_contains("/blog/entry/notes-from-chromium"))
        assert (
            session.find_element(By.CSS_SELECTOR, ".entry h1.title").text == "Notes from Chromium"
        )
        session.find_element(By.CLASS_NAME, "brand").click()
        wait.until(EC.url_to_be(base + "/"))
        titles = [e.text for e in session.find_elements(By.CSS_SELECTOR, ".entry h2.title")]
        assert titles == ["Notes from Chromium"]
        body = session.find_element(By.CSS_SELECTOR, ".entry .body")
        assert body.find_element(By.TAG_NAME, "em").text == "browser"
        assert len(body.find_elements(By.TAG_NAME, "li")) == 2
        cookies = {c["name"]: c for c in session.get_cookies()}
        assert cookies["blog_user"]["httpOnly"] is True and "_xsrf" in cookies
        session.save_screenshot(str(tmp_path / "blog.png"))
    assert (tmp_path / "blog.png").stat().st_size > 0
