"""The README's first command: the demo site that mounts every demo, through real sockets.

Starts ``python demos/app.py`` on a free port exactly as a user would (with
its data dir in the test's tmp dir), then checks the landing page and that
every demo link on it answers 200 (redirects followed, as a browser does).
Each demo's own flows are tested in its folder (``demos/guestbook``,
``demos/blog``, ...).
"""

from __future__ import annotations

import html.parser
import os
import socket
import subprocess
import sys
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

DEMOS = os.path.dirname(os.path.abspath(__file__))
APP = os.path.join(DEMOS, "app.py")
# every demo with a web face, and where the site mounts it
MOUNTS = {
    "helloworld": "/hello/",
    "guestbook": "/guestbook/",
    "blog": "/blog/",
    "chat": "/chat/",
    "websocket": "/websocket/",
    "upload": "/upload/",
    "spider": "/spider/",
    "auth": "/auth/",
    "tcpecho": "/tcpecho/",
}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path, str]]:
    data = tmp_path_factory.mktemp("data")
    port = _free_port()
    proc = subprocess.Popen(
        [sys.executable, APP, "--port", str(port), "--data", str(data)],
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
        assert f"squall demo on http://127.0.0.1:{port}/" in seen, seen
        yield f"http://127.0.0.1:{port}", data, seen
    finally:
        proc.terminate()
        proc.wait(10)
        proc.stdout.close()


def _get(url: str, follow: bool = True) -> tuple[int, dict[str, str], str]:
    class Stay(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *args: object, **kwargs: object) -> None:
            return None

    opener = urllib.request.build_opener(
        urllib.request.HTTPCookieProcessor(), *([] if follow else [Stay()])
    )
    try:
        with opener.open(url, timeout=15) as answer:
            return answer.status, dict(answer.headers), answer.read().decode(errors="replace")
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read().decode(errors="replace")


class _Links(html.parser.HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.hrefs: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "a":
            self.hrefs.extend(v for k, v in attrs if k == "href" and v)


def _landing_links(body: str) -> list[str]:
    parser = _Links()
    parser.feed(body)
    return parser.hrefs


def test_landing_page_links_every_demo_here(site: tuple[str, Path, str]) -> None:
    base, _, complaints = site
    status, headers, body = _get(base + "/")
    assert status == 200 and headers["Content-Type"] == "text/html; charset=UTF-8"
    assert "<h1>squall demos</h1>" in body
    links = _landing_links(body)
    present = {name for name in MOUNTS if os.path.isdir(os.path.join(DEMOS, name))}
    assert {"guestbook", "blog"} <= present
    for name, mount in MOUNTS.items():
        # a demo whose folder is on this branch is linked; one that is not says so
        assert (mount in links) == (name in present), (name, complaints)
    assert "<code>python3 demos/tcpecho/tcpecho.py</code>" in body


def test_every_demo_link_answers_200(site: tuple[str, Path, str]) -> None:
    base, _, _ = site
    links = [href for href in _landing_links(_get(base + "/")[2]) if href.startswith("/")]
    assert len(links) >= 3
    for href in links:
        status, headers, body = _get(base + href)
        assert status == 200, (href, status, body[:500])
        assert headers["Content-Type"].startswith("text/html"), href


def test_mount_points_without_slash_redirect(site: tuple[str, Path, str]) -> None:
    base, _, _ = site
    status, headers, _ = _get(base + "/blog", follow=False)
    assert status == 301 and headers["Location"] == "/blog/"
    status, headers, _ = _get(base + "/guestbook", follow=False)
    assert status == 301 and headers["Location"] == "/guestbook/"


def test_missing_demo_and_unknown_paths(site: tuple[str, Path, str]) -> None:
    base, _, _ = site
    assert _get(base + "/no-such-demo/")[0] == 404
    assert _get(base + "/blog/no-such-page")[0] == 404
    missing = [m for n, m in MOUNTS.items() if not os.path.isdir(os.path.join(DEMOS, n))]
    for mount in missing:  # only while another branch still owes it
        status, _, body = _get(base + mount)
        assert status == 503 and "is not here yet" in body


def test_site_files(site: tuple[str, Path, str]) -> None:
    base, data, _ = site
    status, _, body = _get(base + "/robots.txt")
    assert status == 200 and body.startswith("User-agent: *")
    assert _get(base + "/favicon.ico")[0] == 200
    assert _get(base + "/static/../app.py")[0] in (403, 404)
    # the per-user data dir was made on first start: the secret, the blog's database
    _get(base + "/blog/")
    assert (data / "cookie_secret").exists() and (data / "blog.sqlite3").exists()


def test_demos_share_nothing_by_accident(site: tuple[str, Path, str]) -> None:
    """Each mounted app keeps its static files and login URL under its own prefix."""
    base, _, _ = site
    _, _, guestbook = _get(base + "/guestbook/")
    _, _, blog = _get(base + "/blog/")
    assert "/guestbook/static/site.css?v=" in guestbook and "/blog/static/blog.css?v=" in blog
    status, headers, _ = _get(base + "/blog/compose", follow=False)
    assert status == 302 and headers["Location"].startswith("/blog/signin?")


def test_the_upload_folder_is_made_in_the_data_dir(site: tuple[str, Path, str]) -> None:
    """The upload demo writes its .part files straight into data/uploads: it must be there."""
    base, data, _ = site
    assert (data / "uploads").is_dir()
    assert _get(base + "/upload/files")[0] == 200


def test_processes_starting_together_agree_on_one_cookie_secret(tmp_path: Path) -> None:
    # uvicorn --workers N on a fresh data dir: every worker must sign with the same secret.
    script = (
        "import sys; sys.path.insert(0, sys.argv[1]); "
        "from blog.app import cookie_secret_in; print(cookie_secret_in(sys.argv[2]))"
    )
    demos = str(Path(__file__).resolve().parent)
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", script, demos, str(tmp_path / "data")],
            stdout=subprocess.PIPE,
            text=True,
        )
        for _ in range(6)
    ]
    secrets = {proc.communicate(timeout=60)[0].strip() for proc in procs}
    assert all(proc.returncode == 0 for proc in procs)
    assert len(secrets) == 1 and len(secrets.pop()) >= 40
    assert sorted(p.name for p in (tmp_path / "data").iterdir()) == ["cookie_secret"]
