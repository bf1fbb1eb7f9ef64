"""The crawler: a local site served by the test (never the internet), each page found once."""

from __future__ import annotations

import asyncio
import collections
import re
import subprocess
import sys
import urllib.request
from collections.abc import Callable
from types import ModuleType
from typing import Any

import pytest
import squall.httpclient
import squall.httpserver
import squall.testing
import squall.web

# path -> (links on the page); every path listed here is a page the crawl must find.
SITE = {
    "/docs/": ["a", "b", "b#again", "./", "c?x=1", "/docs/d", "http://example.invalid/x"],
    "/docs/a": ["b", "nested/e", "../outside", "https://example.invalid/"],
    "/docs/b": ["a#top", "a", "slow/1"],
    "/docs/c?x=1": ["c?x=2"],
    "/docs/c?x=2": ["c?x=1", "gone"],
    "/docs/d": ["moved"],
    "/docs/nested/e": ["../f.txt", "../a"],
    "/docs/f.txt": [],
    "/docs/slow/1": ["2"],
    "/docs/slow/2": ["3"],
    "/docs/slow/3": ["../b"],
}
MISSING = {"/docs/gone"}  # linked, answers 404
REDIRECTS = {"/docs/moved": "/docs/nested/e#frag"}


class _Visits:
    def __init__(self) -> None:
        self.hits: collections.Counter[str] = collections.Counter()
        self.in_flight = 0
        self.most = 0


class SiteHandler(squall.web.RequestHandler):
    def initialize(self, visits: _Visits) -> None:
        self.visits = visits

    async def get(self) -> None:
        uri = self.request.uri or ""
        self.visits.hits[uri] += 1
        self.visits.in_flight += 1
        self.visits.most = max(self.visits.most, self.visits.in_flight)
        try:
            await asyncio.sleep(0.02)
        finally:
            self.visits.in_flight -= 1
        if uri in REDIRECTS:
            self.redirect(REDIRECTS[uri])
        elif uri.endswith(".txt"):
            self.set_header("Content-Type", "text/plain")
            self.write('<a href="trap">not html, not followed</a>')
        elif uri in SITE:
            anchors = "".join(f'<a href="{link}">{link}</a>\n' for link in SITE[uri])
            self.write(f"<!doctype html><title>{uri}</title><body>{anchors}</body>")
        else:
            raise squall.web.HTTPError(404)


@pytest.fixture
def visits() -> _Visits:
    return _Visits()


@pytest.fixture
def app(visits: _Visits) -> Any:
    return squall.web.Application([(r"/.*", SiteHandler, {"visits": visits})])


@pytest.fixture
def spider(load_demo: Callable[[str], ModuleType]) -> ModuleType:
    return load_demo("spider/spider.py")


async def test_every_page_is_found_exactly_once(
    spider: ModuleType, base_url: str, visits: _Visits
) -> None:
    pages = await spider.crawl(base_url + "/docs/", workers=3)
    expected = set(SITE) | MISSING | set(REDIRECTS)
    assert set(pages) == {base_url + path for path in expected}
    assert visits.hits == collections.Counter(dict.fromkeys(expected, 1))
    assert 1 <= visits.most <= 3  # the workers bound the requests in flight
    assert pages[base_url + "/docs/gone"].status == 404
    assert pages[base_url + "/docs/gone"].error == "HTTP 404"
    assert pages[base_url + "/docs/moved"].status == 302
    assert pages[base_url + "/docs/moved"].links == [base_url + "/docs/nested/e"]
    assert pages[base_url + "/docs/f.txt"].links == []
    assert pages[base_url + "/docs/b"].links == [
        base_url + "/docs/a",
        base_url + "/docs/slow/1",
    ]


async def test_one_worker_still_finds_everything(
    spider: ModuleType, base_url: str, visits: _Visits
) -> None:
    pages = await spider.crawl(base_url + "/docs/", workers=1)
    assert len(pages) == len(SITE) + len(MISSING) + len(REDIRECTS)
    assert visits.most == 1
    assert max(visits.hits.values()) == 1


async def test_the_limit_caps_the_crawl(spider: ModuleType, base_url: str) -> None:
    pages = await spider.crawl(base_url + "/docs/", workers=2, limit=4)
    assert len(pages) == 4


async def test_an_unreachable_site_is_reported(spider: ModuleType) -> None:
    sock, port = squall.testing.bind_unused_port()
    sock.close()  # nobody listens there any more
    pages = await spider.crawl(f"http://127.0.0.1:{port}/", workers=2)
    [page] = pages.values()
    assert page.status == 599 and page.error.startswith("ConnectionRefusedError")


def test_links_in_resolves_relative_links_and_base(spider: ModuleType) -> None:
    document = '<base href="/root/"><a href="x#f">x</a><a href="mailto:a@b">m</a><a href="x">x</a><a>none</a>'
    assert spider.links_in(document, "http://h/page") == ["http://h/root/x"]


def test_the_demo_crawls_its_own_sample_site(run_demo: Callable[..., str]) -> None:
    url = run_demo("spider/spider.py")
    with urllib.request.urlopen(url + "/crawl?workers=5&go=1", timeout=30) as response:
        page = response.read().decode()
    summary = re.search(r'<p id="summary">(\d+) pages', page)
    assert (
        summary is not None and int(summary.group(1)) == 43
    )  # index, p1..p39, old, missing, notes.txt
    assert page.count('class="broken"') == 1  # "missing"
    assert "example.invalid" not in page
    # and the command-line crawler, against the same running demo
    out = subprocess.run(
        [sys.executable, "demos/spider/spider.py", url + "/site/", "--workers", "4"],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
        cwd=__file__.rsplit("/demos/", 1)[0],
    ).stdout
    lines = out.strip().splitlines()
    assert lines[-1].startswith("43 pages in ") and lines[-1].endswith(", 1 broken")
    assert len({line.split()[1] for line in lines[:-1]}) == 43


async def test_the_crawl_page_works_under_a_prefix(spider: ModuleType, io_loop: Any) -> None:
    app = spider.make_app("/spider")
    server = squall.httpserver.HTTPServer(app)
    sock, port = squall.testing.bind_unused_port()
    server.add_sockets([sock])
    client = squall.httpclient.AsyncHTTPClient(force_instance=True)
    try:
        page = await client.fetch(f"http://127.0.0.1:{port}/spider/")  # redirects to the form
        assert page.effective_url.endswith("/spider/crawl")
        assert 'action="/spider/crawl"' in page.body.decode()
        done = await client.fetch(f"http://127.0.0.1:{port}/spider/crawl?workers=3&go=1")
        assert '<p id="summary">43 pages' in done.body.decode()
        assert f"http://127.0.0.1:{port}/spider/site/p39" in done.body.decode()
    finally:
        client.close()
        server.stop()
