"""A concurrent web crawler: one queue, a fixed number of workers, every page fetched once.

    python demos/spider/spider.py [--port 8888] [--address 127.0.0.1]
    python demos/spider/spider.py http://127.0.0.1:8888/site/ [--workers 10]

The first command serves a small sample site (``<prefix>/site/``) and a page
that crawls it on demand (``<prefix>/crawl``), so nothing outside your
machine is touched. The second crawls any site from the command line and
prints one line per page.

:func:`crawl` puts the start URL on a :class:`squall.queues.Queue`; ``workers``
coroutines take URLs off it, fetch them with
:class:`squall.httpclient.AsyncHTTPClient` (never more than ``workers`` at
once), and queue the links they find that lie under the start URL and were
never queued before. ``Queue.join()`` returns once every queued URL has been
handled; the workers are then told to stop.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import html.parser
import os
import time
import urllib.parse

import squall.httpclient
import squall.ioloop
import squall.queues
import squall.web

HERE = os.path.dirname(os.path.abspath(__file__))


@dataclasses.dataclass
class Page:
    """What the crawler learned about one URL."""

    url: str
    status: int
    links: list[str]
    seconds: float
    error: str | None = None


class _Anchors(html.parser.HTMLParser):
    """Collects the ``href`` of every ``<a>`` (and honours ``<base href>``)."""

    def __init__(self, base: str) -> None:
        super().__init__()
        self.base = base
        self.found: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        href = dict(attrs).get("href")
        if not href:
            return
        if tag == "base":
            self.base = urllib.parse.urljoin(self.base, href)
        elif tag == "a":
            self.found.append(urllib.parse.urljoin(self.base, href))


def links_in(document: str, base: str) -> list[str]:
    """The absolute http(s) URLs ``document`` links to, without fragments, first seen first."""
    parser = _Anchors(base)
    parser.feed(document)
    parser.close()
    unique: dict[str, None] = {}
    for link in parser.found:
        plain = urllib.parse.urldefrag(link).url
        if plain.startswith(("http://", "https://")):
            unique.setdefault(plain, None)
    return list(unique)


def _scope_of(root: str) -> str:
    """The URL prefix a crawl from ``root`` stays under: its folder."""
    parts = urllib.parse.urlsplit(root)
    folder = parts.path[: parts.path.rfind("/") + 1] or "/"
    return urllib.parse.urlunsplit((parts.scheme, parts.netloc, folder, "", ""))


async def _visit(client: squall.httpclient.AsyncHTTPClient, url: str) -> Page:
    started = time.perf_counter()
    try:
        response = await client.fetch(url, raise_error=False, follow_redirects=False)
    except (OSError, squall.httpclient.HTTPClientError) as exc:
        # raise_error=False covers HTTP error statuses only: no answer at all still raises
        return Page(url, 599, [], time.perf_counter() - started, f"{type(exc).__name__}: {exc}")
    seconds = time.perf_counter() - started
    links: list[str] = []
    location = response.headers.get("Location")
    if 300 <= response.code < 400 and location:
        links = [urllib.parse.urldefrag(urllib.parse.urljoin(url, location)).url]
    elif response.headers.get("Content-Type", "").startswith("text/html"):
        links = links_in(response.body.decode("utf-8", "replace"), url)
    error = None if response.code < 400 else f"HTTP {response.code}"
    return Page(url, response.code, links, seconds, error)


async def crawl(root: str, *, workers: int = 10, limit: int = 10_000) -> dict[str, Page]:
    """Crawl every page reachable from ``root`` under its folder; returns them by URL.

    At most ``workers`` requests are in flight, at most ``limit`` URLs are
    queued, and no URL is fetched twice. Redirects are not followed by the
    client: their target is queued like any other link.
    """
    scope = _scope_of(root)
    queue: squall.queues.Queue[str | None] = squall.queues.Queue()
    queued = {root}
    pages: dict[str, Page] = {}
    client = squall.httpclient.AsyncHTTPClient(force_instance=True, max_clients=workers)

    async def work() -> None:
        while True:
            url = await queue.get()
            try:
                if url is None:
                    return
                page = await _visit(client, url)
                pages[url] = page
                for link in page.links:
                    if link.startswith(scope) and link not in queued and len(queued) < limit:
                        queued.add(link)
                        queue.put_nowait(link)
            finally:
                queue.task_done()

    queue.put_nowait(root)
    crew = [asyncio.ensure_future(work()) for _ in range(workers)]
    try:
        await queue.join()
        for _ in crew:
            queue.put_nowait(None)
        await asyncio.gather(*crew)
    finally:
        for task in crew:
            task.cancel()
        client.close()
    return pages


# -- the sample site and the crawl page -----------------------------------------------------

SAMPLE_PAGES = 40


def _sample_links(number: int) -> list[str]:
    """Where sample page ``number`` links to: the next page, two far ones, home, a fragment."""
    if number == 0:
        return [f"p{n}" for n in range(1, SAMPLE_PAGES, 5)] + ["old", "missing", "notes.txt"]
    others = {(number + 1) % SAMPLE_PAGES, (number * 7 + 3) % SAMPLE_PAGES, number * 3 % 11}
    names = ["./" if n == 0 else f"p{n}" for n in sorted(others)]
    return [*names, f"p{number}#top", "https://example.invalid/elsewhere"]


class SampleSite(squall.web.RequestHandler):
    """``site/``, ``site/p1`` ... : pages that link to each other, with a few traps."""

    def initialize(self, prefix: str) -> None:
        self.prefix = prefix

    async def get(self, name: str) -> None:
        if name == "old":
            self.redirect(self.prefix + "/site/p2", permanent=True)
            return
        if name == "notes.txt":
            self.set_header("Content-Type", "text/plain")
            self.write('not a page: <a href="p99">p99</a> must not be followed\n')
            return
        if name == "":
            number = 0
        elif name.startswith("p") and name[1:].isdigit() and 0 < int(name[1:]) < SAMPLE_PAGES:
            number = int(name[1:])
        else:
            raise squall.web.HTTPError(404)
        await asyncio.sleep(0.01)  # a little latency, so the workers overlap
        self.render("sample.html", number=number, links=_sample_links(number))


class CrawlPage(squall.web.RequestHandler):
    def initialize(self, prefix: str) -> None:
        self.prefix = prefix

    async def get(self) -> None:
        workers = max(1, min(self.get_query_argument_int("workers", 8), 50))
        root = f"{self.request.protocol}://{self.request.host}{self.prefix}/site/"
        pages: dict[str, Page] | None = None
        seconds = 0.0
        if self.get_query_argument("go", None) is not None:
            started = time.perf_counter()
            pages = await crawl(root, workers=workers)
            seconds = time.perf_counter() - started
        self.render(
            "crawl.html",
            prefix=self.prefix,
            root=root,
            workers=workers,
            pages=pages,
            seconds=seconds,
        )

    def get_query_argument_int(self, name: str, default: int) -> int:
        try:
            return int(self.get_query_argument(name, str(default)))
        except ValueError:
            raise squall.web.HTTPError(400, f"{name} must be a number")


def make_app(prefix: str = "", *, debug: bool = False) -> squall.web.Application:
    """The sample site at ``prefix + "/site/"`` and the crawl page at ``prefix + "/"``."""
    shared = {"prefix": prefix}
    return squall.web.Application(
        [
            (prefix + "/", squall.web.RedirectHandler, {"url": prefix + "/crawl"}),
            (prefix + "/crawl", CrawlPage, shared),
            (prefix + r"/site/([\w.]*)", SampleSite, shared),
        ],
        template_path=os.path.join(HERE, "templates"),
        debug=debug,
    )


def _print_report(pages: dict[str, Page], seconds: float) -> None:
    for url in sorted(pages):
        page = pages[url]
        note = page.error or f"{len(page.links)} links"
        print(f"{page.status} {url} ({note})")
    broken = sum(1 for page in pages.values() if page.error)
    print(f"{len(pages)} pages in {seconds:.2f}s, {broken} broken")


def main() -> None:
    parser = argparse.ArgumentParser(description="squall's concurrent crawler demo")
    parser.add_argument("url", nargs="?", help="crawl this site and print what was found")
    parser.add_argument("--workers", type=int, default=10, help="requests in flight at most")
    parser.add_argument("--port", type=int, default=8888)
    parser.add_argument("--address", default="127.0.0.1")
    parser.add_argument("--debug", action="store_true", help="reload on source changes")
    args = parser.parse_args()
    if args.url:
        started = time.perf_counter()
        pages = asyncio.run(crawl(args.url, workers=args.workers))
        _print_report(pages, time.perf_counter() - started)
        return
    make_app(debug=args.debug).listen(args.port, args.address)
    print(f"spider demo on http://{args.address}:{args.port}/  (Ctrl-C stops it)", flush=True)
    try:
        squall.ioloop.IOLoop.current().start()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
