"""StaticFileHandler and static_url, through a real HTTPServer on 127.0.0.1 (and curl when present)."""

from __future__ import annotations

import asyncio
import datetime
import email.utils
import hashlib
import os
import shutil
import tempfile
from typing import Any

from squall.httpclient import HTTPResponse
from squall.log import gen_log
from squall.testing import AsyncHTTPTestCase, ExpectLog, gen_test
from squall.web import Application, RequestHandler, StaticFileHandler

TEXT = b"hello world, static\n"  # 20 bytes
BIG = bytes(range(256)) * 1024 + b"tail"  # 256 KiB + 4: five pieces of at most 64 KiB
TEN_YEARS = 86400 * 365 * 10


def sha512(data: bytes) -> str:
    return hashlib.sha512(data).hexdigest()


def make_tree(top: str) -> str:
    """A static root under ``top`` with files, a directory, and links in and out."""
    root = os.path.join(top, "root")
    os.makedirs(os.path.join(root, "sub"))
    files = {
        "a.txt": TEXT,
        "big.bin": BIG,
        "sub/index.html": b"<h1>index</h1>",
        "page.html": b"<p>page</p>",
        "x.tar.gz": b"\x1f\x8b fake",
        "y.txt.bz2": b"BZh fake",
        "blob.unknownext": b"?",
        "robots.txt": b"User-agent: *\n",
        "favicon.ico": b"\x00\x00\x01\x00",
    }
    for name, data in files.items():
        with open(os.path.join(root, name), "wb") as sink:
            sink.write(data)
    with open(os.path.join(top, "secret.txt"), "wb") as sink:
        sink.write(b"outside the root")
    os.symlink(os.path.join(top, "secret.txt"), os.path.join(root, "escape.txt"))
    os.symlink(os.path.join(root, "a.txt"), os.path.join(root, "alias.txt"))
    return root


class UrlHandler(RequestHandler):
    def get(self) -> None:
        host = self.get_query_argument("host", None) is not None
        self.write(self.static_url(self.get_query_argument("p"), include_host=host))


class CountingStaticHandler(StaticFileHandler):
    """Records how many body bytes were buffered at each flush."""

    flushed: list[int] = []
    _pending = 0

    def write(self, chunk: Any) -> None:
        self._pending += len(chunk)
        super().write(chunk)

    def flush(self, include_footers: bool = False) -> Any:
        type(self).flushed.append(self._pending)
        self._pending = 0
        return super().flush(include_footers)


class ShortCacheHandler(StaticFileHandler):
    def get_cache_time(self, path: str, modified: datetime.datetime | None, mime_type: str) -> int:
        return 60

    def set_extra_headers(self, path: str) -> None:
        self.set_header("X-Served-Path", path)


class StaticTest(AsyncHTTPTestCase):
    def setUp(self) -> None:
        self.top = tempfile.mkdtemp(prefix="squall-static-")
        self.root = make_tree(self.top)
        StaticFileHandler.reset()
        super().setUp()

    def tearDown(self) -> None:
        super().tearDown()
        StaticFileHandler.reset()
        shutil.rmtree(self.top)

    def get_app(self) -> Application:
        return Application(
            [
                (r"/url", UrlHandler),
                (
                    r"/d/(.*)",
                    StaticFileHandler,
                    {"path": self.root, "default_filename": "index.html"},
                ),
                (r"/counted/(.*)", CountingStaticHandler, {"path": self.root}),
                (r"/short/(.*)", ShortCacheHandler, {"path": self.root}),
            ],
            static_path=self.root,
        )

    def get(self, path: str, **headers: str) -> HTTPResponse:
        response: HTTPResponse = self.fetch(path, headers=headers or None, follow_redirects=False)
        return response

    # -- plain responses ---------------------------------------------------------------------

    def test_file_with_validators_and_no_cache_headers(self) -> None:
        response = self.get("/static/a.txt")
        assert response.code == 200
        assert response.body == TEXT
        headers = response.headers
        assert headers["Content-Type"] == "text/plain"
        assert headers["Accept-Ranges"] == "bytes"
        assert headers["Etag"] == f'"{sha512(TEXT)}"'
        assert headers["Content-Length"] == "20"
        mtime = int(os.stat(os.path.join(self.root, "a.txt")).st_mtime)
        assert email.utils.parsedate_to_datetime(headers["Last-Modified"]).timestamp() == mtime
        assert "Cache-Control" not in headers and "Expires" not in headers

    def test_versioned_request_is_cached_for_ten_years(self) -> None:
        response = self.get("/static/a.txt?v=whatever")
        assert response.code == 200
        assert response.headers["Cache-Control"] == f"max-age={TEN_YEARS}"
        assert StaticFileHandler.CACHE_MAX_AGE == TEN_YEARS
        expires = email.utils.parsedate_to_datetime(response.headers["Expires"])
        now = datetime.datetime.now(datetime.timezone.utc)
        assert abs((expires - now).total_seconds() - TEN_YEARS) < 120

    def test_head_has_the_headers_and_length_but_no_body(self) -> None:
        response = self.fetch("/static/a.txt", method="HEAD")
        assert response.code == 200
        assert response.body == b""
        assert response.headers["Content-Length"] == "20"
        assert response.headers["Etag"] == f'"{sha512(TEXT)}"'

    def test_content_types(self) -> None:
        expected = {
            "page.html": "text/html",
            "x.tar.gz": "application/gzip",
            "y.txt.bz2": "application/octet-stream",
            "blob.unknownext": "application/octet-stream",
        }
        for name, content_type in expected.items():
            assert self.get("/static/" + name).headers["Content-Type"] == content_type, name

    def test_robots_and_favicon_are_served_from_static_path(self) -> None:
        assert self.get("/robots.txt").body == b"User-agent: *\n"
        assert self.get("/favicon.ico").body == b"\x00\x00\x01\x00"

    def test_other_methods_are_refused(self) -> None:
        assert self.fetch("/static/a.txt", method="POST", body=b"").code == 405

    # -- static_url ----------------------------------------------------------------------------

    def test_static_url_carries_the_content_hash(self) -> None:
        assert self.get("/url?p=a.txt").body.decode() == f"/static/a.txt?v={sha512(TEXT)}"
        absolute = self.get("/url?p=a.txt&host=1").body.decode()
        assert absolute == f"http://127.0.0.1:{self.get_http_port()}/static/a.txt?v={sha512(TEXT)}"

    def test_make_static_url_and_get_version(self) -> None:
        settings = {"static_path": self.root, "static_url_prefix": "/assets/"}
        url = StaticFileHandler.make_static_url(settings, "sub/index.html")
        assert url == "/assets/sub/index.html?v=" + sha512(b"<h1>index</h1>")
        assert StaticFileHandler.make_static_url(settings, "a.txt", include_version=False) == (
            "/assets/a.txt"
        )
        assert StaticFileHandler.get_version(settings, "a.txt") == sha512(TEXT)
        with ExpectLog(gen_log, "Cannot version static file"):
            assert StaticFileHandler.get_version(settings, "missing.txt") is None
            assert (
                StaticFileHandler.make_static_url(settings, "missing.txt") == "/assets/missing.txt"
            )

    def test_versions_are_cached_until_reset(self) -> None:
        settings = {"static_path": self.root}
        before = StaticFileHandler.get_version(settings, "a.txt")
        with open(os.path.join(self.root, "a.txt"), "wb") as sink:
            sink.write(b"changed")
        assert StaticFileHandler.get_version(settings, "a.txt") == before
        uncached = {"static_path": self.root, "static_hash_cache": False}
        assert StaticFileHandler.get_version(uncached, "a.txt") == sha512(b"changed")
        assert StaticFileHandler.get_version(settings, "a.txt") == before
        StaticFileHandler.reset()
        assert StaticFileHandler.get_version(settings, "a.txt") == sha512(b"changed")

    def test_get_absolute_path_and_parse_url_path(self) -> None:
        assert StaticFileHandler.get_absolute_path("/srv/www", "a/../b.txt") == os.path.abspath(
            "/srv/www/b.txt"
        )

    # -- conditional requests ------------------------------------------------------------------

    def test_if_none_match(self) -> None:
        tag = f'"{sha512(TEXT)}"'
        response = self.get("/static/a.txt", **{"If-None-Match": tag})
        assert response.code == 304
        assert response.body == b""
        assert response.headers["Etag"] == tag
        assert self.get("/static/a.txt", **{"If-None-Match": f'"other", {tag}'}).code == 304
        assert self.get("/static/a.txt", **{"If-None-Match": "*"}).code == 304
        assert self.get("/static/a.txt", **{"If-None-Match": '"other"'}).code == 200

    def test_if_modified_since(self) -> None:
        mtime = os.stat(os.path.join(self.root, "a.txt")).st_mtime
        later = email.utils.formatdate(mtime + 3600, usegmt=True)
        same = email.utils.formatdate(int(mtime), usegmt=True)
        earlier = email.utils.formatdate(mtime - 3600, usegmt=True)
        assert self.get("/static/a.txt", **{"If-Modified-Since": later}).code == 304
        assert self.get("/static/a.txt", **{"If-Modified-Since": same}).code == 304
        assert self.get("/static/a.txt", **{"If-Modified-Since": earlier}).code == 200
        assert self.get("/static/a.txt", **{"If-Modified-Since": "garbage"}).code == 200
        # If-None-Match wins over If-Modified-Since.
        both = {"If-None-Match": '"other"', "If-Modified-Since": later}
        assert self.get("/static/a.txt", **both).code == 200

    # -- ranges ----------------------------------------------------------------------------------

    def test_ranges(self) -> None:
        cases = {
            "bytes=0-4": (b"hello", "bytes 0-4/20"),
            "bytes=-3": (b"ic\n", "bytes 17-19/20"),
            "bytes=6-": (b"world, static\n", "bytes 6-19/20"),
            "bytes=6-10": (b"world", "bytes 6-10/20"),
            "bytes=19-40": (b"\n", "bytes 19-19/20"),
        }
        for header, (body, content_range) in cases.items():
            response = self.get("/static/a.txt", Range=header)
            assert response.code == 206, header
            assert response.body == body, header
            assert response.headers["Content-Range"] == content_range
            assert response.headers["Content-Length"] == str(len(body))
            assert response.headers["Etag"] == f'"{sha512(TEXT)}"'

    def test_unsatisfiable_ranges(self) -> None:
        for header in ("bytes=20-", "bytes=100-200", "bytes=5-2", "bytes=-0"):
            response = self.get("/static/a.txt", Range=header)
            assert response.code == 416, header
            assert response.headers["Content-Range"] == "bytes */20"
            assert response.body == b""

    def test_ranges_covering_everything_or_several_are_whole_responses(self) -> None:
        for header in ("bytes=0-100", "bytes=-100", "bytes=0-19", "bytes=0-1,3-4", "pages=1"):
            response = self.get("/static/a.txt", Range=header)
            assert response.code == 200, header
            assert response.body == TEXT
            assert "Content-Range" not in response.headers

    def test_range_on_a_large_file_and_head(self) -> None:
        response = self.get("/static/big.bin", Range="bytes=65530-131080")
        assert response.code == 206
        assert response.body == BIG[65530:131081]
        head = self.fetch("/static/big.bin", method="HEAD", headers={"Range": "bytes=-10"})
        assert (head.code, head.body, head.headers["Content-Length"]) == (206, b"", "10")

    # -- large files -----------------------------------------------------------------------------

    def test_large_file_goes_out_in_flushed_pieces(self) -> None:
        CountingStaticHandler.flushed = []
        response = self.get("/counted/big.bin")
        assert response.code == 200
        assert response.body == BIG
        assert response.headers["Content-Length"] == str(len(BIG))
        # Five pieces, never more than one of them buffered at a flush.
        flushed = [size for size in CountingStaticHandler.flushed if size]
        assert flushed[:4] == [65536] * 4

    def test_get_content_reads_in_bounded_pieces(self) -> None:
        path = os.path.join(self.root, "big.bin")
        pieces = list(StaticFileHandler.get_content(path))
        assert [len(piece) for piece in pieces] == [65536] * 4 + [4]
        assert b"".join(pieces) == BIG
        assert b"".join(StaticFileHandler.get_content(path, 100, 70000)) == BIG[100:70000]
        assert b"".join(StaticFileHandler.get_content(path, -4)) == b"tail"
        assert b"".join(StaticFileHandler.get_content(path, 10, 10)) == b""
        assert StaticFileHandler.get_content_version(path) == sha512(BIG)

    # -- directories, escapes, missing files ---------------------------------------------------

    def test_default_filename_and_slash_redirect(self) -> None:
        response = self.get("/d/sub")
        assert response.code == 301
        assert response.headers["Location"] == "/d/sub/"
        response = self.get("/d/sub/")
        assert (response.code, response.body) == (200, b"<h1>index</h1>")
        assert response.headers["Content-Type"] == "text/html"

    def test_directory_without_default_filename_is_forbidden(self) -> None:
        assert self.get("/static/sub").code == 403
        assert self.get("/static/sub/").code == 403

    def test_escapes_are_forbidden_and_missing_files_not_found(self) -> None:
        assert self.get("/static/escape.txt").code == 403  # symlink out of the root
        assert self.get("/static/..%2Fsecret.txt").code == 403
        assert self.get("/static/%2E%2E/secret.txt").code in (403, 404)
        assert self.get("/static/alias.txt").body == TEXT  # a link that stays inside is fine
        assert self.get("/static/nope.txt").code == 404
        assert self.get("/d//etc/passwd").code == 403

    @gen_test
    async def test_raw_dot_dot_request_is_refused(self) -> None:
        reader, writer = await asyncio.open_connection("127.0.0.1", self.get_http_port())
        writer.write(b"GET /static/../secret.txt HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        reply = await reader.read()
        writer.close()
        await writer.wait_closed()
        assert reply.startswith(b"HTTP/1.1 403 ")
        assert b"outside the root" not in reply

    # -- subclass hooks ------------------------------------------------------------------------

    def test_cache_time_and_extra_headers_hooks(self) -> None:
        response = self.get("/short/a.txt")
        assert response.headers["Cache-Control"] == "max-age=60"
        assert response.headers["X-Served-Path"] == "a.txt"

    # -- curl ------------------------------------------------------------------------------------

    @gen_test
    async def test_curl_range_request(self) -> None:
        curl = shutil.which("curl")
        if curl is None:
            self.skipTest("curl is not installed")
        process = await asyncio.create_subprocess_exec(
            curl, "-s", "-i", "-r", "2-8", self.get_url("/static/big.bin"),
            stdout=asyncio.subprocess.PIPE,
        )  # fmt: skip
        output, _ = await process.communicate()
        head, _, body = output.partition(b"\r\n\r\n")
        assert head.startswith(b"HTTP/1.1 206")
        assert b"Content-Range: bytes 2-8/" + str(len(BIG)).encode() in head
        assert body == BIG[2:9]
