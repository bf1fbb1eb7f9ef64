"""OAuth 1.0 HMAC-SHA1 signing (RFC 5849 section 3.4), compared with oauthlib."""

from __future__ import annotations

import random
import types
import urllib.parse

from oauthlib.oauth1.rfc5849 import signature as oauthlib_signature
from squall.auth import _oauth_signature
from squall.auth._signing import _base_string, _base_uri, _percent, _protocol_parameters


def oauthlib_sign(base: str, consumer_secret: str, token_secret: str | None) -> str:
    client = types.SimpleNamespace(
        client_secret=consumer_secret, resource_owner_secret=token_secret
    )
    return str(oauthlib_signature.sign_hmac_sha1_with_client(base, client))


# RFC 5849 section 3.4.1.1's example request, and the base string the RFC prints for it.
RFC_URL = "http://example.com/request?b5=%3D%253D&a3=a&c%40=&a2=r%20b"
RFC_BODY = [("c2", ""), ("a3", "2 q")]
RFC_OAUTH = [
    ("oauth_consumer_key", "9djdj82h48djs9d2"),
    ("oauth_token", "kkk9d7dh3k39sjv7"),
    ("oauth_signature_method", "HMAC-SHA1"),
    ("oauth_timestamp", "137131201"),
    ("oauth_nonce", "7d8f3e4a"),
    ("oauth_signature", "djosJKDKJSD8743243%2Fjdk33klY%3D"),
]
RFC_BASE = (
    "POST&http%3A%2F%2Fexample.com%2Frequest&a2%3Dr%2520b%26a3%3D2%2520q"
    "%26a3%3Da%26b5%3D%253D%25253D%26c%2540%3D%26c2%3D%26oauth_consumer_"
    "key%3D9djdj82h48djs9d2%26oauth_nonce%3D7d8f3e4a%26oauth_signature_m"
    "ethod%3DHMAC-SHA1%26oauth_timestamp%3D137131201%26oauth_token%3Dkkk"
    "9d7dh3k39sjv7"
)


def test_rfc5849_example_base_string() -> None:
    assert _base_string("post", RFC_URL, RFC_BODY + RFC_OAUTH) == RFC_BASE


def test_rfc5849_example_signature_matches_oauthlib() -> None:
    expected = oauthlib_sign(RFC_BASE, "j49sk3j29djd", "dh893hdasih9")
    mine = _oauth_signature(
        {"secret": "j49sk3j29djd"},
        "POST",
        RFC_URL,
        RFC_BODY + RFC_OAUTH,
        {"secret": "dh893hdasih9"},
    )
    assert mine == expected


def test_percent_encoding_of_reserved_characters() -> None:
    assert _percent("abcXYZ019-._~") == "abcXYZ019-._~"
    assert _percent(" !*'();:@&=+$,/?#[]%") == (
        "%20%21%2A%27%28%29%3B%3A%40%26%3D%2B%24%2C%2F%3F%23%5B%5D%25"
    )
    assert _percent("é☃") == "%C3%A9%E2%98%83"
    assert _percent(b"a b") == "a%20b"
    assert _percent(42) == "42"


def test_base_uri_normalization() -> None:
    assert _base_uri("HTTP://Example.COM:80/r%20v/X?id=123") == "http://example.com/r%20v/X"
    assert _base_uri("https://www.example.net:8080/?q=1") == "https://www.example.net:8080/"
    assert _base_uri("https://example.net:443") == "https://example.net/"
    assert _base_uri("http://[::1]:8080/p") == "http://[::1]:8080/p"


def test_random_requests_sign_like_oauthlib() -> None:
    alphabet = "aZ09 -._~!*'();:@&=+$,/?#[]%é☃\t"
    rng = random.Random(5849)

    def text(n: int) -> str:
        return "".join(rng.choice(alphabet) for _ in range(n))

    for _ in range(200):
        query = [
            (text(rng.randint(1, 6)), text(rng.randint(0, 8))) for _ in range(rng.randint(0, 3))
        ]
        body = [
            (text(rng.randint(1, 6)), text(rng.randint(0, 8))) for _ in range(rng.randint(0, 3))
        ]
        url = "https://api.example.org:8443/a b/c"
        if query:
            url += "?" + urllib.parse.urlencode(query)
        method = rng.choice(["GET", "POST", "delete"])
        oauth = _protocol_parameters("key" + text(3), "tok" + text(3))
        consumer, token = {"secret": text(10)}, {"secret": text(10)}
        mine = _oauth_signature(consumer, method, url, [*body, *oauth.items()], token)
        # oauthlib builds its own base string from the raw URL and body.
        params = oauthlib_signature.collect_parameters(
            uri_query=urllib.parse.urlsplit(url).query,
            body=urllib.parse.urlencode(body) or None,
        ) + list(oauth.items())
        base = oauthlib_signature.signature_base_string(
            method.upper(),
            oauthlib_signature.base_string_uri(url),
            oauthlib_signature.normalize_parameters(params),
        )
        assert mine == oauthlib_sign(base, consumer["secret"], token["secret"])


def test_protocol_parameters_are_fresh() -> None:
    first, second = _protocol_parameters("k"), _protocol_parameters("k", "t")
    assert first["oauth_nonce"] != second["oauth_nonce"]
    assert "oauth_token" not in first and second["oauth_token"] == "t"
    assert first["oauth_signature_method"] == "HMAC-SHA1" and first["oauth_version"] == "1.0"
    assert first["oauth_timestamp"].isdigit()


def test_no_token_means_an_empty_token_secret() -> None:
    url = "http://example.com/token"
    base = oauthlib_signature.signature_base_string(
        "GET",
        oauthlib_signature.base_string_uri(url),
        oauthlib_signature.normalize_parameters([("a", "1")]),
    )
    assert _oauth_signature({"secret": "s&"}, "GET", url, {"a": "1"}) == (
        oauthlib_sign(base, "s&", None)
    )
