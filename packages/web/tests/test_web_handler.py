"""RequestHandler input and output methods, through a real server."""

from __future__ import annotations

import datetime
import gzip
import hashlib
import json
import time
from typing import Any

from squall.httputil import HTTPHeaders, HTTPServerRequest, ResponseStartLine, format_timestamp
from squall.testing import AsyncHTTPTestCase
from squall.testing._http import _over_http2
from squall.web import (
    Application,
    ChunkedTransferEncoding,
    Finish,
    GZipContentEncoding,
    HTTPError,
    MissingArgumentError,
    RequestHandler,
)


class ArgumentsHandler(RequestHandler):
    def get(self) -> None:
        self.write(
            {
                "one": self.get_argument("one", "default"),
                "raw": self.get_argument("one", None, strip=False),
                "all": self.get_arguments("many"),
                "query": self.get_query_arguments("many"),
                "body": self.get_body_arguments("many"),
            }
        )

    def post(self) -> None:
        self.write(
            {
                "any": self.get_arguments("x"),
                "query": self.get_query_argument("x", None),
                "body": self.get_body_argument("x", None),
                "required": self.get_body_argument("needed"),
            }
        )


class HeadersHandler(RequestHandler):
    def get(self) -> None:
        self.set_header("X-Int", 5)
        self.set_header("X-Date", datetime.datetime(2020, 1, 2, 3, 4, 5))
        self.set_header("X-Bytes", b"bytes")
        self.add_header("X-Multi", "a")
        self.add_header("X-Multi", "b")
        self.set_header("X-Gone", "soon")
        self.clear_header("X-Gone")
        self.clear_header("X-Never-Set")
        problems = []
        for bad in ("a\r\nInjected: yes", "a\nb", "nul\x00"):
            try:
                self.set_header("X-Bad", bad)
            except ValueError:
                problems.append("refused")
        try:
            self.add_header("X-Bad", object())
        except TypeError:
            problems.append("type")
        self.write(",".join(problems))


class StatusHandler(RequestHandler):
    def get(self) -> None:
        code = int(self.get_argument("code"))
        reason = self.get_argument("reason", None)
        self.set_status(code, reason)
        self.write(str(self.get_status()))


class WriteHandler(RequestHandler):
    def get(self) -> None:
        what = self.get_argument("what")
        if what == "list":
            try:
                self.write([1, 2])  # type: ignore[arg-type]
            except TypeError as exc:
                self.write("refused: " + str(exc))
        elif what == "dict":
            self.write({"b": [1, 2]})
        elif what == "mixed":
            self.write("text ")
            self.write(b"bytes ")
            self.write("\u00e9")
        elif what == "after":
            self.finish("done")
            try:
                self.write("more")
            except RuntimeError:
                pass
            try:
                self.finish()
            except RuntimeError:
                pass


class FlushHandler(RequestHandler):
    async def get(self) -> None:
        self.write("first;")
        sent = self.flush()
        await sent
        self.write("second;")
        await self.flush()
        self.write("last")


class ClearHandler(RequestHandler):
    def get(self) -> None:
        self.set_header("X-Lost", "1")
        self.write("lost")
        self.set_status(404)
        self.clear()
        self.write("kept")


class DefaultHeadersHandler(RequestHandler):
    def set_default_headers(self) -> None:
        self.set_header("X-Frame-Options", "DENY")
        self.clear_header("Server")

    def get(self) -> None:
        raise HTTPError(400)


class FinishExceptionHandler(RequestHandler):
    def get(self) -> None:
        self.set_status(202)
        self.write("partial ")
        raise Finish("and finished")


class EtagHandler(RequestHandler):
    def get(self) -> None:
        self.write("same body")

    def post(self) -> None:
        self.write("posted")


class CustomEtagHandler(RequestHandler):
    def compute_etag(self) -> str | None:
        return None

    def get(self) -> None:
        self.write("no etag")


class DecodeHandler(RequestHandler):
    def decode_argument(self, value: bytes, name: str | None = None) -> str:
        return value.decode("latin-1").upper()

    def get(self, part: str) -> None:
        self.write(part + "|" + self.get_argument("q"))


class RedirectingHandler(RequestHandler):
    def get(self) -> None:
        kind = self.get_argument("kind")
        if kind == "temp":
            self.redirect("/target?a=1")
        elif kind == "perm":
            self.redirect("/target", permanent=True)
        elif kind == "303":
            self.redirect("/target", status=303)
        else:
            self.redirect("/caf\u00e9")


class HeadHandler(RequestHandler):
    def get(self) -> None:
        self.write("body for get")

    head = get


class OptionsOnly(RequestHandler):
    SUPPORTED_METHODS = ("GET",)

    def get(self) -> None:
        self.write("g")

    def post(self) -> None:
        self.write("never")


class TestHandlerIO(AsyncHTTPTestCase):
    def get_app(self) -> Application:
        return Application(
            [
                (r"/args", ArgumentsHandler),
                (r"/headers", HeadersHandler),
                (r"/status", StatusHandler),
                (r"/write", WriteHandler),
                (r"/flush", FlushHandler),
                (r"/clear", ClearHandler),
                (r"/defaults", DefaultHeadersHandler),
                (r"/finish", FinishExceptionHandler),
                (r"/etag", EtagHandler),
                (r"/noetag", CustomEtagHandler),
                (r"/decode/(.*)", DecodeHandler),
                (r"/redirect", RedirectingHandler),
                (r"/head", HeadHandler),
                (r"/only-get", OptionsOnly),
            ]
        )

    def json(self, path: str, **kwargs: Any) -> Any:
        response = self.fetch(path, **kwargs)
        assert response.code == 200, response.body
        return json.loads(response.body)

    def test_get_argument_strips_and_defaults(self) -> None:
        out = self.json("/args?one=%20padded%20&many=1&many=2")
        assert out["one"] == "padded"
        assert out["raw"] == " padded "
        assert out["all"] == ["1", "2"] and out["query"] == ["1", "2"] and out["body"] == []
        assert self.json("/args")["one"] == "default"

    def test_control_characters_become_spaces(self) -> None:
        out = self.json("/args?one=a%01b%7fc", method="GET")
        assert out["one"] == "a b\x7fc"

    def test_query_and_body_arguments_are_told_apart(self) -> None:
        out = self.json("/args?x=q", method="POST", body="x=b&needed=yes")
        assert out == {"any": ["q", "b"], "query": "q", "body": "b", "required": "yes"}

    def test_missing_argument_is_a_400(self) -> None:
        response = self.fetch("/args?x=q", method="POST", body="x=b")
        assert response.code == 400
        assert b"400: Bad Request" in response.body
        assert MissingArgumentError("needed").log_message == "Missing argument needed"

    def test_invalid_utf8_argument_is_a_400(self) -> None:
        assert self.fetch("/args?one=%ff").code == 400

    def test_header_values_are_converted_and_checked(self) -> None:
        response = self.fetch("/headers")
        assert response.body == b"refused,refused,refused,type"
        headers = response.headers
        assert headers["X-Int"] == "5"
        assert headers["X-Date"] == "Thu, 02 Jan 2020 03:04:05 GMT"
        assert headers["X-Bytes"] == "bytes"
        assert headers.get_list("X-Multi") == ["a", "b"]
        assert "X-Gone" not in headers and "X-Bad" not in headers and "Injected" not in headers

    def test_set_status_with_known_unknown_and_custom_reasons(self) -> None:
        response = self.fetch("/status?code=201")
        assert (response.code, response.reason) == (201, "Created")
        response = self.fetch("/status?code=299")
        assert (response.code, response.reason) == (299, "Unknown")
        response = self.fetch("/status?code=250&reason=Fine%20Thanks")
        assert (response.code, response.body) == (250, b"250")
        if not _over_http2():  # HTTP/2 carries no reason phrase: the client names the code
            assert response.reason == "Fine Thanks"

    def test_write_refuses_lists(self) -> None:
        body = self.fetch("/write?what=list").body
        assert body.startswith(b"refused: ")

    def test_write_dict_sends_json(self) -> None:
        response = self.fetch("/write?what=dict")
        assert response.headers["Content-Type"] == "application/json; charset=UTF-8"
        assert json.loads(response.body) == {"b": [1, 2]}

    def test_write_mixes_text_and_bytes(self) -> None:
        assert self.fetch("/write?what=mixed").body == "text bytes \u00e9".encode()

    def test_nothing_after_finish(self) -> None:
        assert self.fetch("/write?what=after").body == b"done"

    def test_flush_streams_chunked(self) -> None:
        response = self.fetch("/flush")
        assert response.body == b"first;second;last"
        if not _over_http2():  # HTTP/2 frames the body itself
            assert response.headers.get("Transfer-Encoding") == "chunked"
        assert "Content-Length" not in response.headers
        assert "Etag" not in response.headers

    def test_clear_resets_status_headers_and_body(self) -> None:
        response = self.fetch("/clear")
        assert response.code == 200
        assert response.body == b"kept"
        assert "X-Lost" not in response.headers

    def test_default_headers_apply_to_error_pages_too(self) -> None:
        response = self.fetch("/defaults")
        assert response.code == 400
        assert response.headers["X-Frame-Options"] == "DENY"
        assert "Server" not in response.headers

    def test_raise_finish_sends_what_was_built(self) -> None:
        response = self.fetch("/finish")
        assert (response.code, response.body) == (202, b"partial and finished")

    def test_etag_and_if_none_match(self) -> None:
        first = self.fetch("/etag")
        tag = first.headers["Etag"]
        assert tag.startswith('"') and tag.endswith('"')
        again = self.fetch("/etag", headers={"If-None-Match": tag})
        assert again.code == 304 and again.body == b""
        assert "Content-Type" not in again.headers
        weak = self.fetch("/etag", headers={"If-None-Match": f'"other", W/{tag}'})
        assert weak.code == 304
        assert self.fetch("/etag", headers={"If-None-Match": "*"}).code == 304
        assert self.fetch("/etag", headers={"If-None-Match": '"nope"'}).code == 200
        posted = self.fetch("/etag", method="POST", body="", headers={"If-None-Match": "*"})
        assert posted.code == 200 and "Etag" not in posted.headers
        assert "Etag" not in self.fetch("/noetag").headers

    def test_decode_argument_is_overridable(self) -> None:
        assert self.fetch("/decode/ab%E9?q=x").body == "AB\u00c9|X".encode()

    def test_redirects(self) -> None:
        temp = self.fetch("/redirect?kind=temp", follow_redirects=False)
        assert (temp.code, temp.headers["Location"], temp.body) == (302, "/target?a=1", b"")
        perm = self.fetch("/redirect?kind=perm", follow_redirects=False)
        assert (perm.code, perm.headers["Location"]) == (301, "/target")
        other = self.fetch("/redirect?kind=303", follow_redirects=False)
        assert other.code == 303
        utf = self.fetch("/redirect?kind=utf", follow_redirects=False)
        assert utf.headers["Location"].encode("latin-1") == "/caf\u00e9".encode()

    def test_head_sends_no_body_but_the_length(self) -> None:
        response = self.fetch("/head", method="HEAD")
        assert response.code == 200
        assert response.body == b""
        assert response.headers["Content-Length"] == str(len(b"body for get"))
        assert self.fetch("/etag", method="HEAD").code == 405

    def test_supported_methods_limits_the_verbs(self) -> None:
        response = self.fetch("/only-get", method="POST", body="")
        assert response.code == 405
        assert response.headers["Allow"] == "GET"


class BigTextHandler(RequestHandler):
    def get(self) -> None:
        self.write("x" * 2000)


class SmallTextHandler(RequestHandler):
    def get(self) -> None:
        self.write("x" * 20)


class PictureHandler(RequestHandler):
    def get(self) -> None:
        self.set_header("Content-Type", "image/png")
        self.write(b"x" * 2000)


class StreamedTextHandler(RequestHandler):
    async def get(self) -> None:
        self.write("a" * 10)
        await self.flush()
        self.write("b" * 10)


class TestCompression(AsyncHTTPTestCase):
    def get_app(self) -> Application:
        return Application(
            [
                (r"/big", BigTextHandler),
                (r"/small", SmallTextHandler),
                (r"/png", PictureHandler),
                (r"/stream", StreamedTextHandler),
            ],
            compress_response=True,
        )

    def raw(self, path: str, **headers: str) -> Any:
        return self.fetch(path, headers=headers, decompress_response=False)

    def test_large_text_is_gzipped_for_clients_that_accept_it(self) -> None:
        response = self.raw("/big", **{"Accept-Encoding": "gzip"})
        assert response.headers["Content-Encoding"] == "gzip"
        assert response.headers["Vary"] == "Accept-Encoding"
        assert int(response.headers["Content-Length"]) == len(response.body) < 2000
        assert gzip.decompress(response.body) == b"x" * 2000

    def test_not_gzipped_without_accept_encoding(self) -> None:
        response = self.raw("/big")
        assert "Content-Encoding" not in response.headers
        assert response.headers["Vary"] == "Accept-Encoding"
        assert response.body == b"x" * 2000

    def test_small_bodies_and_binary_types_are_left_alone(self) -> None:
        assert "Content-Encoding" not in self.raw("/small", **{"Accept-Encoding": "gzip"}).headers
        assert "Content-Encoding" not in self.raw("/png", **{"Accept-Encoding": "gzip"}).headers

    def test_streamed_text_is_gzipped_piece_by_piece(self) -> None:
        response = self.raw("/stream", **{"Accept-Encoding": "gzip"})
        assert response.headers["Content-Encoding"] == "gzip"
        assert gzip.decompress(response.body) == b"a" * 10 + b"b" * 10

    def test_the_client_decompresses_transparently(self) -> None:
        assert self.fetch("/big").body == b"x" * 2000

    def test_transform_list_from_the_settings(self) -> None:
        assert Application(compress_response=True).transforms == [GZipContentEncoding]
        assert Application(gzip=True).transforms == [GZipContentEncoding]
        assert Application().transforms == []


class TestChunkedTransform(AsyncHTTPTestCase):
    def get_app(self) -> Application:
        return Application(
            [(r"/stream", StreamedTextHandler), (r"/big", BigTextHandler)],
            transforms=[ChunkedTransferEncoding],
        )

    def test_streamed_response_is_chunked_once(self) -> None:
        response = self.fetch("/stream")
        if not _over_http2():  # HTTP/2 frames the body itself
            assert response.headers["Transfer-Encoding"] == "chunked"
        assert response.body == b"a" * 10 + b"b" * 10

    def test_whole_response_keeps_its_length(self) -> None:
        response = self.fetch("/big")
        assert response.headers["Content-Length"] == "2000"
        assert "Transfer-Encoding" not in response.headers


# -- the synchronous path, driven in-process (no server, a patched clock) --------------


class _Recorder:
    """A connection that keeps what a handler sends."""

    def __init__(self) -> None:
        self.sent: list[tuple[ResponseStartLine, HTTPHeaders, bytes | None]] = []
        self.finished = 0

    def write_headers(
        self, start_line: ResponseStartLine, headers: HTTPHeaders, chunk: bytes | None = None
    ) -> None:
        self.sent.append((start_line, headers, chunk))

    def finish(self) -> None:
        self.finished += 1


def _serve(
    app: Application, path: str = "/", method: str = "GET", **fields: str
) -> tuple[ResponseStartLine, HTTPHeaders, bytes | None]:
    connection = _Recorder()
    request = HTTPServerRequest(
        method, path, "HTTP/1.1", headers=HTTPHeaders(fields), connection=connection
    )
    assert app(request) is None  # a synchronous handler finishes within the call
    assert connection.finished == 1 and len(connection.sent) == 1
    return connection.sent[0]


class HelloHandler(RequestHandler):
    def get(self) -> None:
        self.write("Hello, world")

    def post(self) -> None:
        self.write("posted")


def test_date_header_follows_the_clock_across_seconds(monkeypatch: Any) -> None:
    app = Application([(r"/", HelloHandler)])
    start = 1_700_000_000.25
    for now in (start, start + 0.5, start + 0.75, start + 1.0, start + 61.9, start - 3600.0):
        monkeypatch.setattr(time, "time", lambda now=now: now)
        headers = _serve(app)[1]
        assert headers["Date"] == format_timestamp(now), now


def test_default_headers_of_a_plain_get() -> None:
    line, headers, body = _serve(Application([(r"/", HelloHandler)]))
    assert (line.version, line.code, line.reason) == ("HTTP/1.1", 200, "OK")
    assert body == b"Hello, world"
    assert headers["Content-Length"] == "12"
    assert headers["Content-Type"] == "text/html; charset=UTF-8"
    assert headers["Server"].startswith("Squall")
    assert headers["Etag"] == f'"{hashlib.sha1(b"Hello, world").hexdigest()}"'
    posted = _serve(Application([(r"/", HelloHandler)]), method="POST")[1]
    assert "Etag" not in posted and posted["Content-Length"] == "6"


class ReasonHandler(RequestHandler):
    def get(self) -> None:
        code = int(self.get_argument("code"))
        self.set_status(code, self.get_argument("reason", None))


def test_status_line_carries_standard_and_custom_reasons() -> None:
    app = Application([(r"/", ReasonHandler)])
    assert _serve(app, "/?code=200&reason=Fine")[0].reason == "Fine"
    assert _serve(app, "/?code=200")[0].reason == "OK"
    assert _serve(app, "/?code=404")[0][1:] == (404, "Not Found")
    assert _serve(app, "/?code=299")[0][1:] == (299, "Unknown")


class AlwaysFreshHandler(HelloHandler):
    def check_etag_header(self) -> bool:
        return True


def test_an_overridden_check_etag_header_is_asked_without_if_none_match() -> None:
    line, headers, body = _serve(Application([(r"/", AlwaysFreshHandler)]))
    assert (line.code, line.reason, body) == (304, "Not Modified", None)
    assert "Content-Type" not in headers and "Content-Length" not in headers


class InitializeHandler(RequestHandler):
    def initialize(self, **kwargs: Any) -> None:
        self.given = kwargs

    def get(self, *args: str, **kwargs: str) -> None:
        self.write({"init": self.given, "args": list(args), "kwargs": kwargs})


def test_initialize_and_verb_arguments_with_and_without_values() -> None:
    app = Application(
        [
            (r"/bare", InitializeHandler),
            (r"/kw", InitializeHandler, {"x": 1}),
            (r"/pos/(\w+)", InitializeHandler),
            (r"/named/(?P<name>\w+)", InitializeHandler),
        ]
    )
    assert json.loads(_serve(app, "/bare")[2] or b"") == {"init": {}, "args": [], "kwargs": {}}
    assert json.loads(_serve(app, "/kw")[2] or b"")["init"] == {"x": 1}
    assert json.loads(_serve(app, "/pos/a")[2] or b"")["args"] == ["a"]
    assert json.loads(_serve(app, "/named/b")[2] or b"")["kwargs"] == {"name": "b"}
