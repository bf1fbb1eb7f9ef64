"""XSRF tokens: squall.web._xsrf on its own, and interchange with Tornado.

The ``tornado_web`` tests run a real Tornado application (a black box) on
127.0.0.1 and pass tokens both ways. They skip when Tornado is absent, except
under ``CI``, whose tox env installs it from the test dependency group.
"""

from __future__ import annotations

import asyncio
import binascii
import hmac
import os
import re
import time
from types import ModuleType
from typing import Any

import pytest
from squall.httpclient import HTTPResponse
from squall.template import DictLoader
from squall.testing import AsyncHTTPTestCase
from squall.web import Application, RequestHandler, _xsrf
from squall.web._xsrf import (
    _decode_xsrf_token,
    _encode_xsrf_token,
    _new_xsrf_token,
    _xsrf_tokens_equal,
)

V2 = re.compile(rb"^2\|([0-9a-f]{8})\|([0-9a-f]*)\|([0-9]+)$")


# --- tokens -----------------------------------------------------------------------


def test_new_tokens_are_16_random_bytes() -> None:
    tokens = {_new_xsrf_token() for _ in range(50)}
    assert len(tokens) == 50
    assert all(isinstance(t, bytes) and len(t) == 16 for t in tokens)


def test_v1_encoding_is_hex() -> None:
    token = bytes(range(16))
    assert _encode_xsrf_token(token, 123.0, 1) == b"000102030405060708090a0b0c0d0e0f"
    before = time.time()
    version, raw, stamp = _decode_xsrf_token(b"000102030405060708090a0b0c0d0e0f")
    assert (version, raw) == (1, token)
    # Version 1 records no time: the token counts as issued now.
    assert stamp is not None and before <= stamp <= time.time()


def test_v2_encoding_shape_and_round_trip() -> None:
    token = _new_xsrf_token()
    encoded = _encode_xsrf_token(token, 1300000000.75, 2)
    match = V2.match(encoded)
    assert match, encoded
    assert match.group(3) == b"1300000000"
    assert len(match.group(2)) == 32
    assert _decode_xsrf_token(encoded) == (2, token, 1300000000.0)
    assert _decode_xsrf_token(encoded.decode()) == (2, token, 1300000000.0)


def test_v2_mask_is_xor_repeated_over_the_token() -> None:
    token = b"\xab" * 16
    encoded = _encode_xsrf_token(token, 5, 2)
    mask_hex, masked_hex = V2.match(encoded).groups()[:2]  # type: ignore[union-attr]
    mask = binascii.unhexlify(mask_hex)
    masked = binascii.unhexlify(masked_hex)
    assert masked == bytes(b ^ mask[i % 4] for i, b in enumerate(token))


def test_v2_masks_afresh_every_time() -> None:
    token = _new_xsrf_token()
    encodings = {_encode_xsrf_token(token, 1, 2) for _ in range(20)}
    assert len(encodings) > 1
    assert {_decode_xsrf_token(e)[1] for e in encodings} == {token}


@pytest.mark.parametrize("size", [1, 3, 4, 5, 16, 33])
def test_v2_tokens_of_any_length(size: int) -> None:
    token = os.urandom(size)
    assert _decode_xsrf_token(_encode_xsrf_token(token, 7, 2)) == (2, token, 7.0)


def test_unknown_version_raises() -> None:
    with pytest.raises(ValueError):
        _encode_xsrf_token(b"x" * 16, 1, 3)


@pytest.mark.parametrize(
    ("value", "token"),
    [
        (b"ABAB", b"\xab\xab"),  # hex in either case
        (b"abc", b"abc"),  # odd length: not hex, taken as is
        (b"ab cd", b"ab cd"),  # no whitespace leniency
        (b"hello", b"hello"),
        ("h\u00e9llo", "h\u00e9llo".encode()),
        (b"hello|world", b"hello|world"),  # no numeric version in front
    ],
)
def test_v1_values_that_are_not_hex_stand_for_themselves(value: Any, token: bytes) -> None:
    assert _decode_xsrf_token(value)[:2] == (1, token)


def test_v2_accepts_uppercase_hex() -> None:
    assert _decode_xsrf_token(b"2|01020304|00000000|9") == (2, b"\x01\x02\x03\x04", 9.0)
    assert _decode_xsrf_token(b"2|0A0B0C0D|00000000|9") == (2, b"\x0a\x0b\x0c\x0d", 9.0)


def test_v2_token_shorter_than_mask() -> None:
    assert _decode_xsrf_token(b"2|01020304|0000|5") == (2, b"\x01\x02", 5.0)


@pytest.mark.parametrize(
    "value",
    [
        None,
        "",
        b"",
        b"2|zz|yy|1",
        b"2|0102|0000|5",  # mask not 4 bytes
        b"2|0102030405|0000|5",
        b"2|01020304|000|5",  # odd hex
        b"2|01020304||5",  # empty token
        b"2|01020304|000000|x",
        b"2|01020304|00000000|5.5",
        b"2|01020304|00000000|-5",
        b"2|01020304|00000000|",
        b"2|01020304|00000000|" + b"9" * 5000,
        b"2|01020304|00000000||",
        b"2|01020304|00000000",
        b"3|a|b|c",
        b"1|0102",
        b"2|",
    ],
)
def test_malformed_values_decode_to_nothing(value: Any) -> None:
    assert _decode_xsrf_token(value) == (None, None, None)


def test_tokens_equal() -> None:
    assert _xsrf_tokens_equal(b"abc", b"abc")
    assert not _xsrf_tokens_equal(b"abc", b"abd")
    assert not _xsrf_tokens_equal(b"abc", b"abcd")
    assert not _xsrf_tokens_equal(b"", b"a")


def test_tokens_compared_in_constant_time(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[tuple[bytes, bytes]] = []
    real = hmac.compare_digest

    def spy(a: bytes, b: bytes) -> bool:
        calls.append((a, b))
        return real(a, b)

    monkeypatch.setattr(_xsrf.hmac, "compare_digest", spy)
    assert _xsrf_tokens_equal(b"x", b"x")
    assert calls == [(b"x", b"x")]


def test_v1_and_v2_encodings_of_one_token_agree() -> None:
    token = _new_xsrf_token()
    _, from_v1, _ = _decode_xsrf_token(_encode_xsrf_token(token, 1, 1))
    _, from_v2, _ = _decode_xsrf_token(_encode_xsrf_token(token, 1, 2))
    assert from_v1 is not None and from_v2 is not None
    assert _xsrf_tokens_equal(from_v1, from_v2)


# --- interchange with Tornado, as a black box ---------------------------------------


@pytest.fixture(scope="module")
def tornado_web() -> ModuleType:
    if os.environ.get("CI"):
        import tornado.web

        return tornado.web
    return pytest.importorskip("tornado.web")


def tornado_exchange(
    tornado_web: ModuleType, requests: list[tuple[str, dict[str, str]]], **settings: Any
) -> list[tuple[int, bytes, list[str]]]:
    """Serve a Tornado app on 127.0.0.1 and send ``requests``: (method, headers).

    The app's GET answers ``self.xsrf_token``; its POST answers ``ok``
    (reached only when Tornado's XSRF check passes). Returns (status, body,
    Set-Cookie headers) per request.
    """
    import tornado.httpclient
    import tornado.httpserver
    import tornado.testing

    class Token(tornado_web.RequestHandler):  # type: ignore[name-defined,misc]
        def get(self) -> None:
            self.write(self.xsrf_token)

        def post(self) -> None:
            self.write("ok")

    async def run() -> list[tuple[int, bytes, list[str]]]:
        app = tornado_web.Application([(r"/", Token)], xsrf_cookies=True, **settings)
        sock, port = tornado.testing.bind_unused_port()
        server = tornado.httpserver.HTTPServer(app)
        server.add_sockets([sock])
        client = tornado.httpclient.AsyncHTTPClient()
        out = []
        try:
            for method, headers in requests:
                response = await client.fetch(
                    f"http://127.0.0.1:{port}/",
                    method=method,
                    headers=headers,
                    body="" if method == "POST" else None,
                    raise_error=False,
                )
                out.append((response.code, response.body, response.headers.get_list("Set-Cookie")))
        finally:
            client.close()
            server.stop()
            await server.close_all_connections()
        return out

    return asyncio.run(run())


def cookie_value(set_cookie: str) -> str:
    return set_cookie.split(";")[0].split("=", 1)[1]


@pytest.mark.parametrize("version", [1, 2])
def test_we_read_tornados_tokens(tornado_web: ModuleType, version: int) -> None:
    ((status, body, cookies),) = tornado_exchange(
        tornado_web, [("GET", {})], xsrf_cookie_version=version
    )
    assert status == 200
    cookie = cookie_value(cookies[0])
    v_cookie, raw_cookie, _ = _decode_xsrf_token(cookie)
    v_body, raw_body, _ = _decode_xsrf_token(body)
    assert v_cookie == v_body == version
    assert raw_cookie is not None and raw_body is not None and len(raw_cookie) == 16
    assert _xsrf_tokens_equal(raw_cookie, raw_body)


@pytest.mark.parametrize("cookie_version", [1, 2])
@pytest.mark.parametrize("form_version", [1, 2])
def test_tornado_accepts_our_tokens(
    tornado_web: ModuleType, cookie_version: int, form_version: int
) -> None:
    token = _new_xsrf_token()
    cookie = _encode_xsrf_token(token, 1300000000, cookie_version).decode()
    header = _encode_xsrf_token(token, 1300000000, form_version).decode()
    other = _encode_xsrf_token(_new_xsrf_token(), 1300000000, form_version).decode()
    results = tornado_exchange(
        tornado_web,
        [
            ("POST", {"Cookie": f"_xsrf={cookie}", "X-Xsrftoken": header}),
            ("POST", {"Cookie": f"_xsrf={cookie}", "X-Csrftoken": header}),
            ("POST", {"Cookie": f"_xsrf={cookie}", "X-Xsrftoken": other}),
            ("GET", {"Cookie": f"_xsrf={cookie}"}),
        ],
    )
    assert [r[0] for r in results[:3]] == [200, 200, 403]
    # Tornado keeps our cookie (no new Set-Cookie) and re-masks our token.
    status, body, set_cookie = results[3]
    assert status == 200 and set_cookie == []
    version, raw, stamp = _decode_xsrf_token(body)
    assert version == 2 and raw == token
    if cookie_version == 2:
        assert stamp == 1300000000.0


def test_tornado_replaces_what_we_refuse(tornado_web: ModuleType) -> None:
    # A cookie our decoder calls malformed is one Tornado also replaces.
    for bad in ["2|zz|yy|1", "2|0102|0000|5", "2|01020304|00000000|5.5", "3|a|b|c"]:
        assert _decode_xsrf_token(bad) == (None, None, None)
        ((status, _, set_cookie),) = tornado_exchange(
            tornado_web, [("GET", {"Cookie": f"_xsrf={bad}"})]
        )
        assert status == 200 and len(set_cookie) == 1, bad


# --- XSRF through squall.web, over real sockets ----------------------------------------

FORM_HTML = re.compile(r'^<input type="hidden" name="_xsrf" value="([^"]+)"/>$')
OVERVIEW_TEMPLATE = """<form action="/new_message" method="post">
  {{ xsrf_form_html() }}
  <input type="text" name="message"/>
  <input type="submit" value="Post"/>
</form>"""
MODULE_TEMPLATE = (
    '<form method="post">{% module xsrf_form_html() %}|{% raw xsrf_form_html() %}</form>'
)


class Form(RequestHandler):
    def get(self) -> None:
        self.write(self.xsrf_form_html())

    def post(self) -> None:
        self.write("posted " + self.get_argument("message", ""))

    put = patch = delete = post


class Token(RequestHandler):
    def get(self) -> None:
        first = self.xsrf_token
        assert first == self.xsrf_token  # one token per request
        self.write(first)


class Quiet(RequestHandler):
    def get(self) -> None:
        self.write("no token used")

    def options(self) -> None:
        self.write("options")

    def head(self) -> None:
        pass


class Trusting(RequestHandler):
    # The overview's advice for cookie-less APIs: make the check a no-op.
    def check_xsrf_cookie(self) -> None:
        pass

    def post(self) -> None:
        self.write("trusted")


class Counting(RequestHandler):
    checks = 0

    def check_xsrf_cookie(self) -> None:
        type(self).checks += 1
        super().check_xsrf_cookie()

    def post(self) -> None:
        self.write("checked")


class Templated(RequestHandler):
    def get(self, which: str) -> None:
        self.render(which + ".html")


def form_token(response: HTTPResponse) -> str:
    match = FORM_HTML.match(response.body.decode())
    assert match, response.body
    return match.group(1)


def xsrf_cookie(response: HTTPResponse) -> str:
    for header in response.headers.get_list("Set-Cookie"):
        if header.startswith("_xsrf="):
            return header.split(";")[0][len("_xsrf=") :]
    raise AssertionError("no _xsrf cookie set")


class XSRFFlowTest(AsyncHTTPTestCase):
    settings: dict[str, Any] = {}
    cookie_version = 2

    def get_app(self) -> Application:
        loader = DictLoader({"overview.html": OVERVIEW_TEMPLATE, "module.html": MODULE_TEMPLATE})
        return Application(
            [
                (r"/form", Form),
                (r"/token", Token),
                (r"/quiet", Quiet),
                (r"/trusting", Trusting),
                (r"/counting", Counting),
                (r"/t/(\w+)", Templated),
                (r"/new_message", Form),
            ],
            xsrf_cookies=True,
            template_loader=loader,
            **self.settings,
        )

    def visit(self) -> tuple[str, str]:
        """GET the form like a browser: returns (Cookie header, form token)."""
        response = self.fetch("/form")
        assert response.code == 200
        return "_xsrf=" + xsrf_cookie(response), form_token(response)

    def post(
        self, path: str = "/form", method: str = "POST", body: str = "", **headers: str
    ) -> HTTPResponse:
        return self.fetch(path, method=method, body=body, headers=headers)

    def test_form_html_and_cookie(self) -> None:
        response = self.fetch("/form")
        cookie = xsrf_cookie(response)
        token = form_token(response)
        assert _decode_xsrf_token(cookie)[1] == _decode_xsrf_token(token)[1]
        assert _decode_xsrf_token(token)[0] == 2
        assert len(_decode_xsrf_token(token)[1] or b"") == 16

    def test_every_visitor_gets_a_distinct_token(self) -> None:
        tokens = {_decode_xsrf_token(self.visit()[1])[1] for _ in range(3)}
        assert len(tokens) == 3

    def test_returning_visitor_keeps_the_token_masked_afresh(self) -> None:
        cookie, token = self.visit()
        again = self.fetch("/form", headers={"Cookie": cookie})
        assert again.headers.get_list("Set-Cookie") == []
        second = form_token(again)
        assert second != token
        assert _decode_xsrf_token(second)[1] == _decode_xsrf_token(token)[1]
        assert _decode_xsrf_token(second)[2] == _decode_xsrf_token(cookie[6:])[2]

    def test_xsrf_token_is_stable_within_a_request(self) -> None:
        response = self.fetch("/token")
        assert response.code == 200
        assert _decode_xsrf_token(response.body)[0] == 2

    def test_post_with_form_field(self) -> None:
        cookie, token = self.visit()
        response = self.post(body=f"_xsrf={token}&message=hi", Cookie=cookie)
        assert (response.code, response.body) == (200, b"posted hi")

    def test_post_with_headers(self) -> None:
        cookie, token = self.visit()
        for header in ("X-XSRFToken", "X-Xsrftoken", "X-CSRFToken", "X-Csrftoken"):
            response = self.post(Cookie=cookie, **{header: token})
            assert response.code == 200, header

    def test_post_with_query_argument(self) -> None:
        cookie, token = self.visit()
        assert self.post("/form?_xsrf=" + token.replace("|", "%7C"), Cookie=cookie).code == 200

    def test_every_unsafe_method_is_checked(self) -> None:
        cookie, token = self.visit()
        for method in ("POST", "PUT", "PATCH", "DELETE"):
            body = "" if method != "DELETE" else None
            refused = self.fetch("/form", method=method, body=body, headers={"Cookie": cookie})
            assert refused.code == 403, method
            allowed = self.fetch(
                "/form", method=method, body=body, headers={"Cookie": cookie, "X-XSRFToken": token}
            )
            assert allowed.code == 200, method

    def test_safe_methods_are_not_checked(self) -> None:
        for method in ("GET", "HEAD", "OPTIONS"):
            response = self.fetch("/quiet", method=method)
            assert response.code == 200, method

    def test_every_visitor_gets_the_cookie(self) -> None:
        # Even a page that never shows a form hands out the cookie, so that
        # script on any page can read it for X-XSRFToken.
        response = self.fetch("/quiet")
        assert _decode_xsrf_token(xsrf_cookie(response))[0] == self.cookie_version
        again = self.fetch("/quiet", headers={"Cookie": "_xsrf=" + xsrf_cookie(response)})
        assert again.headers.get_list("Set-Cookie") == []

    def test_missing_token_or_cookie_is_403(self) -> None:
        cookie, token = self.visit()
        assert self.post(Cookie=cookie).code == 403
        assert self.post(body="_xsrf=", Cookie=cookie).code == 403
        assert self.post(body=f"_xsrf={token}").code == 403
        assert self.post(**{"X-XSRFToken": token}).code == 403

    def test_mismatch_is_403(self) -> None:
        cookie, _ = self.visit()
        _, other = self.visit()
        assert self.post(Cookie=cookie, **{"X-XSRFToken": other}).code == 403
        assert self.post(Cookie=cookie, **{"X-XSRFToken": "garbage"}).code == 403
        assert self.post(Cookie=cookie, **{"X-XSRFToken": "2|zz|yy|1"}).code == 403
        assert self.post(Cookie="_xsrf=2|zz|yy|1", **{"X-XSRFToken": "2|zz|yy|1"}).code == 403

    def test_v1_tokens_accepted(self) -> None:
        raw = _new_xsrf_token()
        v1 = _encode_xsrf_token(raw, 0, 1).decode()
        v2 = _encode_xsrf_token(raw, 1300000000, 2).decode()
        assert self.post(Cookie=f"_xsrf={v1}", **{"X-XSRFToken": v1}).code == 200
        assert self.post(Cookie=f"_xsrf={v1}", **{"X-XSRFToken": v2}).code == 200
        assert self.post(Cookie=f"_xsrf={v2}", **{"X-XSRFToken": v1}).code == 200
        # A v1 cookie is kept, and pages carry the same token masked (v2).
        page = self.fetch("/form", headers={"Cookie": f"_xsrf={v1}"})
        assert page.headers.get_list("Set-Cookie") == []
        assert _decode_xsrf_token(form_token(page))[1] == raw

    def test_malformed_cookie_is_replaced(self) -> None:
        page = self.fetch("/form", headers={"Cookie": "_xsrf=2|zz|yy|1"})
        assert _decode_xsrf_token(xsrf_cookie(page))[0] == self.cookie_version

    def test_check_xsrf_cookie_overridable(self) -> None:
        assert self.post("/trusting").body == b"trusted"
        Counting.checks = 0
        assert self.post("/counting").code == 403
        cookie, token = self.visit()
        assert self.post("/counting", Cookie=cookie, **{"X-XSRFToken": token}).body == b"checked"
        assert Counting.checks == 2

    def test_template_module_and_raw(self) -> None:
        response = self.fetch("/t/module")
        assert response.code == 200
        cookie = "_xsrf=" + xsrf_cookie(response)
        forms = re.findall(
            r'<input type="hidden" name="_xsrf" value="([^"]+)"/>', response.body.decode()
        )
        assert len(forms) == 2 and forms[0] == forms[1], response.body
        assert self.post(body="_xsrf=" + forms[0].replace("|", "%7C"), Cookie=cookie).code == 200

    @pytest.mark.xfail(
        reason="{{ xsrf_form_html() }} is autoescaped (as in Tornado 6, where the field "
        "comes out as &lt;input ...&gt;); the overview predates autoescape. Needs a "
        "web-core/web-ui decision (e.g. a markup-safe return value).",
        strict=True,
    )
    def test_overview_example(self) -> None:
        # The overview's form uses {{ xsrf_form_html() }}; it must post back.
        page = self.fetch("/t/overview")
        assert page.code == 200
        forms = re.findall(
            r'<input type="hidden" name="_xsrf" value="([^"]+)"/>', page.body.decode()
        )
        assert len(forms) == 1, page.body
        cookie = "_xsrf=" + xsrf_cookie(page)
        body = "_xsrf=" + forms[0].replace("|", "%7C") + "&message=hello"
        response = self.post("/new_message", body=body, Cookie=cookie)
        assert (response.code, response.body) == (200, b"posted hello")


class XSRFVersion1Test(XSRFFlowTest):
    settings = {"xsrf_cookie_version": 1}
    cookie_version = 1

    def test_form_html_and_cookie(self) -> None:
        response = self.fetch("/form")
        cookie = xsrf_cookie(response)
        assert re.fullmatch("[0-9a-f]{32}", cookie)
        assert form_token(response) == cookie

    def test_returning_visitor_keeps_the_token_masked_afresh(self) -> None:
        cookie, token = self.visit()
        again = self.fetch("/form", headers={"Cookie": cookie})
        assert again.headers.get_list("Set-Cookie") == []
        assert form_token(again) == token  # v1 is not masked

    def test_xsrf_token_is_stable_within_a_request(self) -> None:
        assert re.fullmatch(b"[0-9a-f]{32}", self.fetch("/token").body)


class XSRFCookieKwargsTest(AsyncHTTPTestCase):
    def get_app(self) -> Application:
        return Application(
            [(r"/form", Form)],
            xsrf_cookies=True,
            xsrf_cookie_kwargs=dict(httponly=True, secure=True, samesite="Strict", expires_days=3),
        )

    def test_kwargs_reach_the_cookie(self) -> None:
        response = self.fetch("/form")
        (header,) = response.headers.get_list("Set-Cookie")
        parts = [p.strip() for p in header.split(";")]
        assert parts[0].startswith("_xsrf=2|")
        assert "HttpOnly" in parts and "Secure" in parts and "Path=/" in parts
        assert "SameSite=Strict" in parts
        assert any(p.startswith("expires=") for p in parts)


class XSRFOffTest(AsyncHTTPTestCase):
    def get_app(self) -> Application:
        return Application([(r"/form", Form)])

    def test_nothing_checked_when_off(self) -> None:
        response = self.fetch("/form", method="POST", body="message=x")
        assert (response.code, response.body) == (200, b"posted x")
