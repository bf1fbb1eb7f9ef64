"""squall.httputil: headers, start lines, request objects, forms and the small helpers."""

from __future__ import annotations

import copy
import datetime
import pickle
import time
from types import SimpleNamespace

import pytest
import squall.httputil as httputil
from squall.httputil import (
    HTTPConnection,
    HTTPFile,
    HTTPHeaders,
    HTTPInputError,
    HTTPMessageDelegate,
    HTTPServerConnectionDelegate,
    HTTPServerRequest,
    RequestStartLine,
    ResponseStartLine,
    encode_username_password,
    format_timestamp,
    parse_body_arguments,
    parse_cookie,
    parse_multipart_form_data,
    parse_request_start_line,
    parse_response_start_line,
    qs_to_qsl,
    split_host_and_port,
    url_concat,
)

# -- HTTPHeaders --------------------------------------------------------------------


def test_headers_documented_example() -> None:
    h = HTTPHeaders({"content-type": "text/html"})
    assert list(h.keys()) == ["Content-Type"]
    assert h["Content-Type"] == "text/html"
    h.add("Set-Cookie", "A=B")
    h.add("Set-Cookie", "C=D")
    assert h["set-cookie"] == "A=B,C=D"
    assert h.get_list("set-cookie") == ["A=B", "C=D"]
    assert sorted(h.get_all()) == [
        ("Content-Type", "text/html"),
        ("Set-Cookie", "A=B"),
        ("Set-Cookie", "C=D"),
    ]


def test_headers_parse_and_parse_line() -> None:
    h = HTTPHeaders.parse("Content-Type: text/html\r\nContent-Length: 42\r\n")
    assert sorted(h.items()) == [("Content-Length", "42"), ("Content-Type", "text/html")]
    h2 = HTTPHeaders()
    h2.parse_line("Content-Type: text/html")
    assert h2.get("content-type") == "text/html"
    h2.parse_line("X:  padded  \r\n")
    assert h2["x"] == "padded"


def test_headers_parse_accepts_lf_and_unfolds_continuations() -> None:
    h = HTTPHeaders.parse("A: 1\nB: two\n  lines\n\tand more\nC: 3\n")
    assert list(h.get_all()) == [("A", "1"), ("B", "two lines and more"), ("C", "3")]


def test_headers_continuation_of_a_repeated_field() -> None:
    h = HTTPHeaders.parse("A: 1\r\nA: 2\r\n 3\r\n")
    assert h.get_list("A") == ["1", "2 3"]
    assert h["A"] == "1,2 3"


@pytest.mark.parametrize(
    "text",
    [" A: 1\r\n", "A 1\r\n", "A B: 1\r\n", "A : 1\r\n", "A: 1\x002\r\n", "A: 1\r2\r\n", ": x\r\n"],
)
def test_headers_parse_rejects_bad_lines(text: str) -> None:
    with pytest.raises(HTTPInputError):
        HTTPHeaders.parse(text)


def test_headers_parse_keeps_non_ascii_values() -> None:
    assert HTTPHeaders.parse("A: caf\xe9 \u20ac\r\n")["A"] == "caf\xe9 \u20ac"


def test_headers_setitem_replaces_every_value() -> None:
    h = HTTPHeaders.parse("A: 1\r\na: 2\r\nB: x\r\n")
    h["a"] = "z"
    assert list(h.get_all()) == [("A", "z"), ("B", "x")]
    assert h.get_list("A") == ["z"]


def test_headers_delete_pop_len_contains() -> None:
    h = HTTPHeaders.parse("A: 1\r\na: 2\r\nB: x\r\n")
    assert len(h) == 2
    assert "a" in h and "A" in h and 1 not in h
    del h["a"]
    assert list(h.get_all()) == [("B", "x")]
    assert h.get_list("A") == []
    assert h.pop("b") == "x"
    assert len(h) == 0
    with pytest.raises(KeyError):
        h["missing"]
    assert h.get("missing", "dflt") == "dflt"


def test_headers_constructor_forms() -> None:
    assert list(HTTPHeaders(a="1", b="2").get_all()) == [("A", "1"), ("B", "2")]
    # A list of pairs behaves like dict.update: the last value wins.
    assert list(HTTPHeaders([("a", "1"), ("a", "2")]).get_all()) == [("A", "2")]
    source = HTTPHeaders()
    source.add("X", "1")
    source.add("X", "2")
    assert HTTPHeaders(source).get_list("x") == ["1", "2"]


def test_headers_copies_are_independent() -> None:
    h = HTTPHeaders()
    h.add("A", "1")
    h.add("A", "2")
    for twin in (h.copy(), copy.copy(h), copy.deepcopy(h), pickle.loads(pickle.dumps(h))):
        assert twin.get_list("A") == ["1", "2"]
        twin.add("A", "3")
        twin["B"] = "x"
    assert h.get_list("A") == ["1", "2"]
    assert "B" not in h


def test_headers_str_equality_and_iteration_order() -> None:
    h = HTTPHeaders.parse("Z: 1\r\nA: 2\r\nz: 3\r\n")
    assert str(h) == "Z: 1\nZ: 3\nA: 2\n"
    assert list(h) == ["Z", "A"]
    assert h == {"Z": "1,3", "A": "2"}
    assert h == HTTPHeaders({"A": "2", "Z": "1,3"})
    assert h != HTTPHeaders({"A": "2"})
    assert "HTTPHeaders" in repr(h)


def test_headers_name_normalisation() -> None:
    h = HTTPHeaders({"x-abc1def": "1", "WWW-authenticate": "2", "content_md5": "3"})
    assert list(h) == ["X-Abc1def", "Www-Authenticate", "Content_md5"]


def test_headers_add_requires_text() -> None:
    with pytest.raises(TypeError):
        HTTPHeaders().add("A", 5)  # type: ignore[arg-type]


def test_headers_setdefault_and_update() -> None:
    h = HTTPHeaders.parse("A: 1\r\nA: 2\r\n")
    assert h.setdefault("a", "q") == "1,2"
    assert h.setdefault("Z", "q") == "q"
    h.update({"a": "new"})
    assert h.get_list("A") == ["new"]


# -- start lines ---------------------------------------------------------------------


def test_parse_request_start_line() -> None:
    line = parse_request_start_line("GET /foo?x=1 HTTP/1.1")
    assert line == RequestStartLine("GET", "/foo?x=1", "HTTP/1.1")
    assert (line.method, line.path, line.version) == ("GET", "/foo?x=1", "HTTP/1.1")


@pytest.mark.parametrize(
    "text",
    [
        "GET  / HTTP/1.1",
        "GET / HTTP/1.1 ",
        "GET / http/1.1",
        "GET / HTTP/2.0",
        "GET /",
        "G\tET / HTTP/1.1",
        "GET / HTTP/1.1\r\n",
    ],
)
def test_parse_request_start_line_rejects(text: str) -> None:
    with pytest.raises(HTTPInputError):
        parse_request_start_line(text)


def test_request_start_line_may_name_http2() -> None:
    assert RequestStartLine("GET", "/", "HTTP/2.0").version == "HTTP/2.0"


def test_parse_response_start_line() -> None:
    assert parse_response_start_line("HTTP/1.1 200 OK") == ResponseStartLine("HTTP/1.1", 200, "OK")
    assert parse_response_start_line("HTTP/1.0 404 Not  Found").reason == "Not  Found"
    assert parse_response_start_line("HTTP/1.1 200").reason == ""
    for bad in ("HTTP/1.1 2000 OK", "http/1.1 200 OK", "HTTP/1.1  200 OK", "HTTP/1.1 99 x"):
        with pytest.raises(HTTPInputError):
            parse_response_start_line(bad)


# -- helpers ----------------------------------------------------------------------------


def test_url_concat() -> None:
    assert url_concat("http://x/p", {"a": "1", "b": "c d"}) == "http://x/p?a=1&b=c+d"
    assert url_concat("http://x/p?z=1", [("a", "1"), ("a", "2")]) == "http://x/p?z=1&a=1&a=2"
    assert url_concat("http://x/p?z=1#frag", (("a", "1"),)) == "http://x/p?z=1&a=1#frag"
    assert url_concat("http://x/p?", None) == "http://x/p?"
    assert url_concat("http://x/p?z=&y", {"a": "1"}) == "http://x/p?z=&y=&a=1"
    with pytest.raises(TypeError):
        url_concat("http://x/p", "a=1")  # type: ignore[arg-type]


def test_format_timestamp_inputs() -> None:
    expected = "Sun, 27 Jan 2013 18:43:20 GMT"
    assert format_timestamp(1359312200.503611) == expected
    assert format_timestamp(1359312200) == expected
    assert format_timestamp(time.gmtime(1359312200)) == expected
    assert format_timestamp(time.gmtime(1359312200)[:]) == expected
    assert format_timestamp(datetime.datetime(2013, 1, 27, 18, 43, 20)) == expected
    aware = datetime.datetime(
        2013, 1, 27, 20, 43, 20, tzinfo=datetime.timezone(datetime.timedelta(hours=2))
    )
    assert format_timestamp(aware) == expected
    with pytest.raises(TypeError):
        format_timestamp("x")  # type: ignore[arg-type]


def test_split_host_and_port() -> None:
    cases = {
        "a": ("a", None),
        "a:80": ("a", 80),
        "[::1]:80": ("[::1]", 80),
        "[::1]": ("[::1]", None),
        "a:b": ("a:b", None),
        "a:": ("a:", None),
    }
    for netloc, expected in cases.items():
        assert split_host_and_port(netloc) == expected


def test_qs_to_qsl() -> None:
    assert list(qs_to_qsl({"a": ["1", "2"], "b": ["x"]})) == [("a", "1"), ("a", "2"), ("b", "x")]


def test_parse_cookie() -> None:
    parsed = parse_cookie('a=1; b="x y"; c=\\"; d; =e; f=g=h; i="\\\\073"; j = k ;')
    assert parsed == {"a": "1", "b": "x y", "c": '\\"', "": "e", "f": "g=h", "i": "\\073", "j": "k"}
    assert parse_cookie("") == {}
    assert parse_cookie('q="\\073"') == {"q": ";"}


def test_encode_username_password() -> None:
    assert encode_username_password("u", "p") == b"u:p"
    assert encode_username_password(b"u", "p\xe9") == b"u:p\xc3\xa9"


def test_responses_table() -> None:
    assert httputil.responses[404] == "Not Found"


def test_parse_header_private_helper() -> None:
    value, params = httputil._parse_header('form-data; name="a"; filename="b;c"; x=y; Z=w')
    assert value == "form-data"
    assert params == {"name": "a", "filename": "b;c", "x": "y", "z": "w"}
    _, extended = httputil._parse_header("attachment; filename*=UTF-8''%C3%A9.txt")
    assert extended == {"filename": "\xe9.txt"}
    _, quoted = httputil._parse_header('x; a="q\\"uote"')
    assert quoted == {"a": 'q"uote'}


def test_request_range_helpers() -> None:
    parse = httputil._parse_request_range
    assert parse("bytes=1-2") == (1, 3)
    assert parse("bytes=-5") == (-5, None)
    assert parse("bytes=5-") == (5, None)
    assert parse("bytes=-0") == (None, 0)
    assert parse("foo") is None
    assert parse("bytes=1-2,3-4") is None
    assert httputil._get_content_range(1, 2, 10) == "bytes 1-1/10"
    assert httputil._get_content_range(None, None, 10) == "bytes 0-9/10"


# -- forms -----------------------------------------------------------------------------------


def _parse_body(content_type: str, body: bytes, headers: HTTPHeaders | None = None) -> tuple:
    arguments: dict[str, list[bytes]] = {}
    files: dict[str, list[HTTPFile]] = {}
    parse_body_arguments(content_type, body, arguments, files, headers)
    return arguments, files


def test_urlencoded_body() -> None:
    arguments, files = _parse_body(
        "application/x-www-form-urlencoded", b"a=1&b=2&a=3&c=&d&e=%C3%A9+x"
    )
    assert arguments == {
        "a": [b"1", b"3"],
        "b": [b"2"],
        "c": [b""],
        "d": [b""],
        "e": [b"\xc3\xa9 x"],
    }
    assert files == {}


def test_other_content_types_are_ignored() -> None:
    assert _parse_body("text/plain", b"a=1") == ({}, {})


def test_encoded_body_is_refused() -> None:
    with pytest.raises(HTTPInputError):
        _parse_body(
            "application/x-www-form-urlencoded", b"a=1", HTTPHeaders({"Content-Encoding": "gzip"})
        )


MULTIPART = (
    b"--B\r\n"
    b'Content-Disposition: form-data; name="a"\r\n\r\n'
    b"1\r\n"
    b"--B\r\n"
    b'Content-Disposition: form-data; name="f"; filename="x.txt"\r\n'
    b"Content-Type: text/x\r\n\r\n"
    b"file\r\ndata\r\n"
    b"--B--\r\n"
)


def test_multipart_body() -> None:
    for content_type in ("multipart/form-data; boundary=B", 'multipart/form-data; boundary="B"'):
        arguments, files = _parse_body(content_type, MULTIPART)
        assert arguments == {"a": [b"1"]}
        (upload,) = files["f"]
        assert isinstance(upload, HTTPFile)
        assert (upload.filename, upload.body, upload.content_type) == (
            "x.txt",
            b"file\r\ndata",
            "text/x",
        )
        assert upload["body"] == b"file\r\ndata"


def test_parse_multipart_form_data_directly() -> None:
    arguments: dict[str, list[bytes]] = {}
    files: dict[str, list[HTTPFile]] = {}
    parse_multipart_form_data(b"B", MULTIPART, arguments, files)
    assert arguments == {"a": [b"1"]}
    assert files["f"][0].filename == "x.txt"


def test_multipart_defaults_and_encodings() -> None:
    body = (
        b"preamble\r\n--B\r\n"
        b'Content-Disposition: form-data; name="u"; filename="f\\"q"\r\n\r\n1\r\n'
        b"--B\r\n"
        b"Content-Disposition: form-data; name=\"v\"; filename*=UTF-8''%C3%A9.txt\r\n\r\n2\r\n"
        b'--B\r\nContent-Disposition: form-data; name="\xc3\xa9"\r\n\r\n\xc3\xa9\r\n'
        b"--B--\r\nepilogue"
    )
    arguments, files = _parse_body("multipart/form-data; boundary=B", body)
    assert files["u"][0].filename == 'f"q'
    assert files["u"][0].content_type == "application/unknown"
    assert files["v"][0].filename == "\xe9.txt"
    assert arguments == {"\xe9": [b"\xc3\xa9"]}


@pytest.mark.parametrize(
    "body",
    [
        b"--B\r\nno end of headers",
        b'--B\r\nContent-Disposition: form-data; name="a"\r\n\r\n1\r\n--B',
        b"--B\r\nContent-Type: x\r\n\r\n1\r\n--B--",
        b'--B\r\nContent-Disposition: attachment; name="a"\r\n\r\n1\r\n--B--',
        b'--B\r\nContent-Disposition: form-data; filename="a"\r\n\r\n1\r\n--B--',
        b'--B\nContent-Disposition: form-data; name="a"\n\n1\n--B--',
        b"nothing here",
    ],
)
def test_malformed_multipart_raises(body: bytes) -> None:
    with pytest.raises(HTTPInputError):
        _parse_body("multipart/form-data; boundary=B", body)


def test_multipart_without_boundary_raises() -> None:
    with pytest.raises(HTTPInputError):
        _parse_body("multipart/form-data", MULTIPART)


# -- HTTPServerRequest ---------------------------------------------------------------------


def test_request_attributes() -> None:
    headers = HTTPHeaders({"Host": "Example.COM:8080", "Cookie": "a=1; b=2"})
    conn = SimpleNamespace(context=SimpleNamespace(remote_ip="10.0.0.1", protocol="https"))
    request = HTTPServerRequest(
        method="GET", uri="/p/q?x=1&x=2&y=", version="HTTP/1.1", headers=headers, connection=conn
    )
    assert request.path == "/p/q"
    assert request.query == "x=1&x=2&y="
    assert request.query_arguments == {"x": [b"1", b"2"], "y": [b""]}
    assert request.arguments == {"x": [b"1", b"2"], "y": [b""]}
    assert request.body_arguments == {}
    assert request.files == {}
    assert request.body == b""
    assert request.remote_ip == "10.0.0.1"
    assert request.protocol == "https"
    assert request.host == "Example.COM:8080"
    assert request.host_name == "example.com"
    assert request.full_url() == "https://Example.COM:8080/p/q?x=1&x=2&y="
    assert request.cookies["a"].value == "1"
    assert sorted(request.cookies) == ["a", "b"]
    assert request.connection is conn
    assert "GET" in repr(request) and "10.0.0.1" in repr(request)


def test_request_defaults_without_connection() -> None:
    request = HTTPServerRequest(uri="/")
    assert request.method is None
    assert request.version == "HTTP/1.0"
    assert request.remote_ip is None
    assert request.protocol == "http"
    assert request.host == "127.0.0.1"
    assert request.cookies == {}


def test_request_from_start_line_and_explicit_host() -> None:
    request = HTTPServerRequest(
        start_line=RequestStartLine("POST", "/x", "HTTP/1.1"), host="h.example", server_connection=7
    )
    assert (request.method, request.uri, request.version) == ("POST", "/x", "HTTP/1.1")
    assert request.host == "h.example"
    assert request.server_connection == 7


def test_request_lazy_attributes_are_assignable() -> None:
    request = HTTPServerRequest(uri="/a?b=1")
    request.path = "/rewritten"
    assert request.path == "/rewritten"
    request.arguments = {"z": [b"1"]}
    assert request.arguments == {"z": [b"1"]}
    with pytest.raises(AttributeError):
        request.no_such_attribute  # noqa: B018


def test_request_parse_body_merges_arguments() -> None:
    request = HTTPServerRequest(
        method="POST",
        uri="/?a=1",
        headers=HTTPHeaders({"Content-Type": "application/x-www-form-urlencoded"}),
        body=b"a=2&b=3",
    )
    assert request.arguments == {"a": [b"1"]}
    request._parse_body()
    assert request.body_arguments == {"a": [b"2"], "b": [b"3"]}
    assert request.arguments == {"a": [b"1", b"2"], "b": [b"3"]}
    fresh = HTTPServerRequest(
        method="POST",
        uri="/?a=1",
        headers=HTTPHeaders({"Content-Type": "application/x-www-form-urlencoded"}),
        body=b"a=2",
    )
    fresh._parse_body()
    assert fresh.arguments == {"a": [b"1", b"2"]}


def test_request_files_from_constructor() -> None:
    upload = HTTPFile(filename="a", body=b"x", content_type="t")
    request = HTTPServerRequest(uri="/", files={"f": [upload]})
    assert request.files == {"f": [upload]}


def test_request_time() -> None:
    request = HTTPServerRequest(uri="/")
    assert request.request_time() >= 0
    request._start_time = 100.0
    request._finish_time = 102.5
    assert request.request_time() == 2.5


def test_request_write_and_finish_go_to_the_connection() -> None:
    sent: list[object] = []

    class Conn:
        def write(self, chunk: bytes) -> object:
            sent.append(chunk)
            return FakeFuture()

        def finish(self) -> None:
            sent.append("finish")

    class FakeFuture:
        def add_done_callback(self, cb: object) -> None:
            sent.append("callback")

    request = HTTPServerRequest(uri="/", connection=Conn())
    request.write("HTTP/1.1 200 OK\r\n\r\n")
    request.write(b"x", callback=lambda: None)
    request.finish()
    assert sent == [b"HTTP/1.1 200 OK\r\n\r\n", b"x", "callback", "finish"]
    assert request._finish_time is not None


def test_get_ssl_certificate_without_tls_is_none() -> None:
    assert HTTPServerRequest(uri="/").get_ssl_certificate() is None
    conn = SimpleNamespace(_peer_certificate=lambda binary: b"DER" if binary else {"subject": ()})
    request = HTTPServerRequest(uri="/", connection=conn)
    assert request.get_ssl_certificate(binary_form=True) == b"DER"


# -- the delegate interfaces -----------------------------------------------------------


def test_delegate_interfaces_have_defaults() -> None:
    message = HTTPMessageDelegate()
    assert message.headers_received(RequestStartLine("GET", "/", "HTTP/2.0"), HTTPHeaders()) is None
    assert message.data_received(b"x") is None
    message.finish()
    message.on_connection_close()
    server = HTTPServerConnectionDelegate()
    with pytest.raises(NotImplementedError):
        server.start_request(object(), HTTPConnection())
    server.on_close(object())
    conn = HTTPConnection()
    with pytest.raises(NotImplementedError):
        conn.write(b"")
    with pytest.raises(NotImplementedError):
        conn.finish()


def test_public_names_report_the_package() -> None:
    assert HTTPHeaders.__module__ == "squall.httputil"
    assert url_concat.__module__ == "squall.httputil"
    assert set(httputil.__all__) >= {
        "HTTPHeaders",
        "HTTPServerRequest",
        "HTTPFile",
        "url_concat",
        "parse_body_arguments",
        "parse_multipart_form_data",
        "format_timestamp",
        "parse_request_start_line",
        "parse_response_start_line",
        "RequestStartLine",
        "ResponseStartLine",
        "split_host_and_port",
        "qs_to_qsl",
        "parse_cookie",
        "encode_username_password",
        "HTTPInputError",
        "HTTPOutputError",
        "HTTPServerConnectionDelegate",
        "HTTPMessageDelegate",
        "HTTPConnection",
    }
