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
from squall.web import _xsrf
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
