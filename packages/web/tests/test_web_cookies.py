"""Cookies through real sockets: plain, signed, key rotation, and the signed-in user.

Expected Set-Cookie shapes were observed from Tornado 6.6.1 (black box); the
``tornado_web`` tests pass signed cookies between the two implementations and
skip when Tornado is absent, except under ``CI``, which installs it.
"""

from __future__ import annotations

import datetime
import email.utils
import os
import time
from collections.abc import Callable
from types import ModuleType
from typing import Any

import pytest
from squall.escape import xhtml_escape
from squall.httpclient import HTTPResponse
from squall.testing import AsyncHTTPTestCase
from squall.web import Application, RequestHandler, authenticated, create_signed_value

SECRET = "61oETzKXQAGaYdkL5gEmGeJJFuYh7EQnp2XdTP1o/Vo="
DAY = 86400


def set_cookies(response: HTTPResponse) -> list[str]:
    return response.headers.get_list("Set-Cookie")


def parse_set_cookie(header: str) -> tuple[str, str, dict[str, str | bool]]:
    """(name, raw value, attributes keyed in lower case; flags map to True)."""
    first, *rest = header.split(";")
    name, _, value = first.partition("=")
    attrs: dict[str, str | bool] = {}
    for item in rest:
        key, eq, val = item.strip().partition("=")
        attrs[key.lower()] = val if eq else True
    return name.strip(), value.strip(), attrs


def expires_at(attrs: dict[str, str | bool]) -> float:
    value = attrs["expires"]
    assert isinstance(value, str)
    return email.utils.parsedate_to_datetime(value).timestamp()


def echo_cookie_header(response: HTTPResponse) -> str:
    """What a browser would send back for the response's cookies."""
    return "; ".join(h.split(";")[0] for h in set_cookies(response))


# --- plain cookies ----------------------------------------------------------------------

ACTIONS: dict[str, Callable[[RequestHandler], Any]] = {
    "plain": lambda h: h.set_cookie("a", "b"),
    "bytes": lambda h: h.set_cookie("a", b"bytes"),
    "domain": lambda h: h.set_cookie("a", "b", domain="example.com"),
    "path": lambda h: h.set_cookie("a", "b", path="/x"),
    "nopath": lambda h: h.set_cookie("a", "b", path=None),
    "expires_dt": lambda h: h.set_cookie("a", "b", expires=datetime.datetime(2030, 1, 2, 3, 4, 5)),
    "expires_ts": lambda h: h.set_cookie("a", "b", expires=1900000000),
    "expires_days": lambda h: h.set_cookie("a", "b", expires_days=2),
    "max_age": lambda h: h.set_cookie("a", "b", max_age=10),
    "httponly": lambda h: h.set_cookie("a", "b", httponly=True),
    "secure": lambda h: h.set_cookie("a", "b", secure=True),
    "samesite": lambda h: h.set_cookie("a", "b", samesite="Lax"),
    "all": lambda h: h.set_cookie(
        "a",
        "b",
        domain="d.com",
        expires_days=1,
        path="/p",
        max_age=5,
        httponly=True,
        secure=True,
        samesite="None",
    ),
    "twice": lambda h: (h.set_cookie("a", "1"), h.set_cookie("a", "2"), h.set_cookie("b", "3")),
    "clear": lambda h: h.clear_cookie("a"),
    "clear_where": lambda h: h.clear_cookie("a", path="/p", domain="d.com"),
    "clear_secure": lambda h: h.clear_cookie("a", secure=True, samesite="None"),
    "set_then_clear": lambda h: (h.set_cookie("a", "1"), h.clear_cookie("a")),
    "clear_all": lambda h: h.clear_all_cookies(),
    "clear_all_where": lambda h: h.clear_all_cookies(path="/p", domain="d.com"),
}

BAD_COOKIES: dict[str, tuple[str, str]] = {
    "value_space": ("a", "b c"),
    "value_lf": ("a", "b\nc"),
    "value_cr": ("a", "b\rc"),
    "name_cr": ("a\r", "b"),
    "name_lf": ("a\nb", "c"),
    "name_space": ("a b", "c"),
    "name_equals": ("a=b", "c"),
    "name_semicolon": ("a;b", "c"),
    "name_empty": ("", "c"),
}


BAD_ATTRIBUTES: dict[str, dict[str, str]] = {
    "path_crlf": {"path": "/\r\nX-Evil: 1"},
    "path_semicolon": {"path": "/; Domain=evil.example"},
    "domain_lf": {"domain": "x\nX-Evil: 1"},
    "domain_space": {"domain": "a b"},
    "samesite_semicolon": {"samesite": "Lax; Secure"},
    "samesite_del": {"samesite": "Lax\x7f"},
}


class Act(RequestHandler):
    def get(self, which: str) -> None:
        ACTIONS[which](self)
        self.write("ok")


class Bad(RequestHandler):
    def get(self, which: str) -> None:
        name, value = BAD_COOKIES[which]
        try:
            self.set_cookie(name, value)
        except Exception as e:
            self.write("refused " + type(e).__name__)
            return
        self.write("accepted")


class BadAttribute(RequestHandler):
    def get(self, which: str) -> None:
        try:
            self.set_cookie("a", "b", **BAD_ATTRIBUTES[which])
        except Exception as e:
            self.write("refused " + type(e).__name__)
            return
        self.write("accepted")


class Read(RequestHandler):
    def get(self) -> None:
        self.write(
            {
                "cookies": {k: m.value for k, m in self.cookies.items()},
                "a": self.get_cookie("a"),
                "missing": self.get_cookie("missing", "fallback"),
            }
        )


class Overview(RequestHandler):
    # The overview's first cookie example, verbatim but for the package name.
    def get(self) -> None:
        if not self.get_cookie("mycookie"):
            self.set_cookie("mycookie", "myvalue")
            self.write("Your cookie was not set yet!")
        else:
            self.write("Your cookie was set!")


class Echo(RequestHandler):
    def get(self) -> None:
        self.set_cookie("c", self.get_argument("v"))
        self.write("ok")


class PlainCookieTest(AsyncHTTPTestCase):
    def get_app(self) -> Application:
        return Application(
            [
                (r"/act/(\w+)", Act),
                (r"/bad/(\w+)", Bad),
                (r"/badattr/(\w+)", BadAttribute),
                (r"/read", Read),
                (r"/overview", Overview),
                (r"/echo", Echo),
            ]
        )

    def act(self, which: str, **headers: str) -> list[str]:
        response = self.fetch(f"/act/{which}", headers=headers)
        assert response.code == 200
        assert response.body == b"ok"
        return set_cookies(response)

    def test_overview_example(self) -> None:
        first = self.fetch("/overview")
        assert first.body == b"Your cookie was not set yet!"
        assert set_cookies(first) == ["mycookie=myvalue; Path=/"]
        second = self.fetch("/overview", headers={"Cookie": echo_cookie_header(first)})
        assert second.body == b"Your cookie was set!"
        assert set_cookies(second) == []

    def test_plain_exact_header(self) -> None:
        assert self.act("plain") == ["a=b; Path=/"]
        assert self.act("bytes") == ["a=bytes; Path=/"]

    def test_domain_and_path(self) -> None:
        assert self.act("domain") == ["a=b; Domain=example.com; Path=/"]
        assert self.act("path") == ["a=b; Path=/x"]
        assert self.act("nopath") == ["a=b"]

    def test_expires_datetime_and_timestamp(self) -> None:
        _, _, attrs = parse_set_cookie(self.act("expires_dt")[0])
        assert attrs["expires"] == "Wed, 02 Jan 2030 03:04:05 GMT"
        _, _, attrs = parse_set_cookie(self.act("expires_ts")[0])
        assert attrs["expires"] == "Sun, 17 Mar 2030 17:46:40 GMT"

    def test_expires_days(self) -> None:
        before = time.time()
        _, _, attrs = parse_set_cookie(self.act("expires_days")[0])
        assert before + 2 * DAY - 2 <= expires_at(attrs) <= time.time() + 2 * DAY + 1

    def test_max_age_and_flags(self) -> None:
        assert self.act("max_age") == ["a=b; Max-Age=10; Path=/"]
        assert self.act("httponly") == ["a=b; HttpOnly; Path=/"]
        assert self.act("secure") == ["a=b; Path=/; Secure"]
        assert self.act("samesite") == ["a=b; Path=/; SameSite=Lax"]

    def test_every_attribute_at_once(self) -> None:
        (header,) = self.act("all")
        name, value, attrs = parse_set_cookie(header)
        assert (name, value) == ("a", "b")
        assert attrs["domain"] == "d.com"
        assert attrs["path"] == "/p"
        assert attrs["max-age"] == "5"
        assert attrs["httponly"] is True
        assert attrs["secure"] is True
        assert attrs["samesite"] == "None"
        assert abs(expires_at(attrs) - (time.time() + DAY)) < 5

    def test_same_name_twice_sends_the_last(self) -> None:
        assert self.act("twice") == ["a=2; Path=/", "b=3; Path=/"]

    def test_invalid_names_and_values_refused(self) -> None:
        for which in BAD_COOKIES:
            response = self.fetch(f"/bad/{which}")
            assert response.code == 200
            assert response.body.startswith(b"refused"), which
            assert set_cookies(response) == [], which

    def test_attributes_cannot_smuggle_attributes_or_headers(self) -> None:
        for which in BAD_ATTRIBUTES:
            response = self.fetch(f"/badattr/{which}")
            assert response.code == 200, which
            assert response.body.startswith(b"refused"), which
            assert set_cookies(response) == [], which
            assert "X-Evil" not in response.headers

    def test_special_values_are_quoted_and_read_back(self) -> None:
        for value in ['b"c', "b,c", "b;c", "caf\u00e9", "a=b==", "back\\slash", ""]:
            response = self.fetch("/echo?v=" + _quote(value))
            assert response.code == 200, value
            (header,) = set_cookies(response)
            assert "\n" not in header and "\r" not in header
            read = self.fetch("/read", headers={"Cookie": header.split("; Path=")[0]})
            assert read.code == 200
            assert _json(read)["cookies"].get("c") == value, (value, header)

    def test_quoting_matches_tornado(self) -> None:
        expected = {
            'b"c': 'c="b\\"c"; Path=/',
            "b,c": 'c="b\\054c"; Path=/',
            "b;c": 'c="b\\073c"; Path=/',
            "caf\u00e9": 'c="caf\\351"; Path=/',
        }
        for value, header in expected.items():
            assert set_cookies(self.fetch("/echo?v=" + _quote(value))) == [header]

    def test_get_cookie_and_cookies(self) -> None:
        response = self.fetch("/read", headers={"Cookie": ' a = spaced ; b=2; q="quoted"; e=x=y'})
        data = _json(response)
        assert data["cookies"] == {"a": "spaced", "b": "2", "q": "quoted", "e": "x=y"}
        assert data["a"] == "spaced"
        assert data["missing"] == "fallback"

    def test_no_cookie_header(self) -> None:
        data = _json(self.fetch("/read"))
        assert data == {"cookies": {}, "a": None, "missing": "fallback"}

    def test_clear_cookie(self) -> None:
        now = time.time()
        for which, where in [
            ("clear", {"path": "/"}),
            ("clear_where", {"path": "/p", "domain": "d.com"}),
            ("set_then_clear", {"path": "/"}),
        ]:
            (header,) = self.act(which)
            name, value, attrs = parse_set_cookie(header)
            assert name == "a" and value in ('""', ""), header
            assert expires_at(attrs) < now - 300 * DAY
            for key, expected in where.items():
                assert attrs[key] == expected
        (header,) = self.act("clear_secure")
        _, _, attrs = parse_set_cookie(header)
        assert attrs["secure"] is True and attrs["samesite"] == "None"

    def test_clear_all_cookies(self) -> None:
        headers = self.act("clear_all", Cookie="x=1; y=2")
        assert sorted(parse_set_cookie(h)[0] for h in headers) == ["x", "y"]
        for header in headers:
            _, value, attrs = parse_set_cookie(header)
            assert value in ('""', "")
            assert expires_at(attrs) < time.time()
        headers = self.act("clear_all_where", Cookie="x=1")
        _, _, attrs = parse_set_cookie(headers[0])
        assert attrs["path"] == "/p" and attrs["domain"] == "d.com"
        assert self.act("clear_all") == []


def _quote(value: str) -> str:
    from urllib.parse import quote

    return quote(value, safe="")


def _json(response: HTTPResponse) -> Any:
    import json

    assert response.code == 200, response.code
    return json.loads(response.body)


# --- signed cookies -------------------------------------------------------------------------


class SetSigned(RequestHandler):
    def get(self) -> None:
        kwargs: dict[str, Any] = {}
        if "days" in self.request.arguments:
            days = self.get_argument("days")
            kwargs["expires_days"] = None if days == "none" else float(days)
        if "version" in self.request.arguments:
            kwargs["version"] = int(self.get_argument("version"))
        if self.get_argument("httponly", None):
            kwargs["httponly"] = True
        self.set_signed_cookie(self.get_argument("name", "u"), self.get_argument("v"), **kwargs)
        self.write("ok")


class GetSigned(RequestHandler):
    def get(self) -> None:
        kwargs: dict[str, Any] = {}
        if "min_version" in self.request.arguments:
            kwargs["min_version"] = int(self.get_argument("min_version"))
        if "max_age_days" in self.request.arguments:
            kwargs["max_age_days"] = float(self.get_argument("max_age_days"))
        value = self.get_signed_cookie(self.get_argument("name", "u"), **kwargs)
        self.write({"value": None if value is None else value.decode()})


class KeyVersion(RequestHandler):
    def get(self) -> None:
        self.write(
            {
                "cookie": self.get_signed_cookie_key_version("u"),
                "fresh": self.get_signed_cookie_key_version(
                    "u", self.create_signed_value("u", "y")
                ),
            }
        )


class OverviewSecure(RequestHandler):
    # The overview's secure-cookie example, with the older method names.
    def get(self) -> None:
        if not self.get_secure_cookie("mycookie"):
            self.set_secure_cookie("mycookie", "myvalue")
            self.write("Your cookie was not set yet!")
        else:
            self.write("Your cookie was set!")


class SignedCookieTest(AsyncHTTPTestCase):
    secret: Any = SECRET
    extra: dict[str, Any] = {}

    def get_app(self) -> Application:
        return Application(
            [
                (r"/set", SetSigned),
                (r"/get", GetSigned),
                (r"/kv", KeyVersion),
                (r"/overview", OverviewSecure),
            ],
            cookie_secret=self.secret,
            **self.extra,
        )

    def signed(self, value: str, **query: str) -> str:
        extra = "".join(f"&{k}={v}" for k, v in query.items())
        response = self.fetch(f"/set?v={_quote(value)}{extra}")
        assert response.code == 200
        (header,) = set_cookies(response)
        return header

    def read(self, cookie: str, **query: str) -> str | None:
        qs = "&".join(f"{k}={v}" for k, v in query.items())
        response = self.fetch("/get?" + qs, headers={"Cookie": cookie})
        value: str | None = _json(response)["value"]
        return value

    def test_round_trip(self) -> None:
        for value in ["alice", "caf\u00e9 | 2|x", "padding=", ""]:
            header = self.signed(value)
            assert self.read(header.split(";")[0]) == value, header

    def test_default_is_v2_with_30_day_expiry(self) -> None:
        name, value, attrs = parse_set_cookie(self.signed("bob"))
        assert name == "u"
        assert value.strip('"').startswith("2|1:0|")
        assert attrs["path"] == "/"
        assert abs(expires_at(attrs) - (time.time() + 30 * DAY)) < 5

    def test_session_cookie_and_attributes(self) -> None:
        _, _, attrs = parse_set_cookie(self.signed("bob", days="none", httponly="1"))
        assert "expires" not in attrs
        assert attrs["httponly"] is True
        _, _, attrs = parse_set_cookie(self.signed("bob", days="3"))
        assert abs(expires_at(attrs) - (time.time() + 3 * DAY)) < 5

    def test_version_1_and_min_version(self) -> None:
        header = self.signed("bob", version="1")
        _, value, _ = parse_set_cookie(header)
        assert not value.startswith("2|")
        cookie = header.split(";")[0]
        assert self.read(cookie) == "bob"
        assert self.read(cookie, min_version="2") is None
        v2 = self.signed("bob").split(";")[0]
        assert self.read(v2, min_version="2") == "bob"

    def test_max_age_days(self) -> None:
        old = create_signed_value(SECRET, "u", "bob", clock=lambda: time.time() - 2 * DAY)
        cookie = f'u="{old.decode()}"'
        assert self.read(cookie) == "bob"
        assert self.read(cookie, max_age_days="3") == "bob"
        assert self.read(cookie, max_age_days="1") is None
        ancient = create_signed_value(SECRET, "u", "bob", clock=lambda: time.time() - 40 * DAY)
        assert self.read(f'u="{ancient.decode()}"') is None

    def test_forged_and_misnamed_cookies_are_none(self) -> None:
        good = create_signed_value(SECRET, "u", "bob").decode()
        assert self.read(f'u="{good}"') == "bob"
        assert self.read(f'u="{good[:-1]}{"0" if good[-1] != "0" else "1"}"') is None
        assert self.read("u=bob") is None
        other = create_signed_value(SECRET, "other", "bob").decode()
        assert self.read(f'u="{other}"') is None
        wrong = create_signed_value("not the secret", "u", "bob").decode()
        assert self.read(f'u="{wrong}"') is None
        assert self.read("") is None

    def test_overview_example(self) -> None:
        first = self.fetch("/overview")
        assert first.body == b"Your cookie was not set yet!"
        assert len(set_cookies(first)) == 1
        second = self.fetch("/overview", headers={"Cookie": echo_cookie_header(first)})
        assert second.body == b"Your cookie was set!"
        forged = self.fetch("/overview", headers={"Cookie": "mycookie=myvalue"})
        assert forged.body == b"Your cookie was not set yet!"


class BytesSecretTest(SignedCookieTest):
    secret = SECRET.encode()


class RotationTest(AsyncHTTPTestCase):
    keys = {0: "zero", 1: b"one"}

    def get_app(self) -> Application:
        return Application(
            [(r"/set", SetSigned), (r"/get", GetSigned), (r"/kv", KeyVersion)],
            cookie_secret=self.keys,
            key_version=1,
        )

    def test_new_cookies_use_the_current_key(self) -> None:
        response = self.fetch("/set?v=carol")
        cookie = set_cookies(response)[0].split(";")[0]
        assert "|1:1|" in cookie
        data = _json(self.fetch("/kv", headers={"Cookie": cookie}))
        assert data == {"cookie": 1, "fresh": 1}
        assert _json(self.fetch("/get", headers={"Cookie": cookie}))["value"] == "carol"

    def test_cookies_from_an_older_key_still_read(self) -> None:
        old = create_signed_value(self.keys, "u", "dave", key_version=0).decode()
        cookie = f'u="{old}"'
        assert _json(self.fetch("/kv", headers={"Cookie": cookie})) == {"cookie": 0, "fresh": 1}
        assert _json(self.fetch("/get", headers={"Cookie": cookie}))["value"] == "dave"

    def test_retired_key_no_longer_reads(self) -> None:
        retired = create_signed_value({7: "gone"}, "u", "eve", key_version=7).decode()
        assert _json(self.fetch("/get", headers={"Cookie": f'u="{retired}"'}))["value"] is None

    def test_no_cookie_has_no_key_version(self) -> None:
        assert _json(self.fetch("/kv"))["cookie"] is None


class NoSecret(RequestHandler):
    def get(self) -> None:
        for attempt in (
            lambda: self.set_signed_cookie("a", "b"),
            lambda: self.get_signed_cookie("a"),
        ):
            try:
                attempt()
            except Exception as e:
                self.write(f"{type(e).__name__}: {e}\n")


class NoSecretTest(AsyncHTTPTestCase):
    def get_app(self) -> Application:
        return Application([(r"/", NoSecret)])

    def test_signed_cookies_need_cookie_secret(self) -> None:
        response = self.fetch("/")
        lines = response.body.decode().splitlines()
        assert len(lines) == 2
        assert all("cookie_secret" in line for line in lines)
        assert set_cookies(response) == []


# --- the signed-in user: the overview's authentication examples --------------------------


class BaseHandler(RequestHandler):
    def get_current_user(self) -> Any:
        return self.get_secure_cookie("user")


class MainHandler(BaseHandler):
    def get(self) -> None:
        if not self.current_user:
            self.redirect("/login")
            return
        name = xhtml_escape(self.current_user)
        self.write("Hello, " + name)


class LoginHandler(BaseHandler):
    def get(self) -> None:
        self.write(
            '<html><body><form action="/login" method="post">'
            'Name: <input type="text" name="name">'
            '<input type="submit" value="Sign in">'
            "</form></body></html>"
        )

    def post(self) -> None:
        self.set_secure_cookie("user", self.get_argument("name"))
        self.redirect("/")


class AuthMainHandler(BaseHandler):
    @authenticated
    def get(self) -> None:
        name = xhtml_escape(self.current_user)
        self.write("Hello, " + name)

    @authenticated
    def post(self) -> None:
        self.write("posted")


class SettableUser(RequestHandler):
    def prepare(self) -> None:
        self.current_user = "set in prepare"

    def get(self) -> None:
        self.write(self.current_user)


class UserTest(AsyncHTTPTestCase):
    def get_app(self) -> Application:
        return Application(
            [
                (r"/", MainHandler),
                (r"/login", LoginHandler),
                (r"/auth", AuthMainHandler),
                (r"/settable", SettableUser),
            ],
            cookie_secret=SECRET,
            login_url="/login",
        )

    def login(self, name: str) -> str:
        response = self.fetch("/login", method="POST", body=f"name={name}", follow_redirects=False)
        assert response.code == 302
        assert response.headers["Location"] == "/"
        return echo_cookie_header(response)

    def test_anonymous_is_sent_to_login(self) -> None:
        response = self.fetch("/", follow_redirects=False)
        assert response.code == 302
        assert response.headers["Location"] == "/login"

    def test_login_then_greeted(self) -> None:
        cookie = self.login("%3Cb%3Ealice")
        response = self.fetch("/", headers={"Cookie": cookie})
        assert response.code == 200
        assert response.body == b"Hello, &lt;b&gt;alice"

    def test_forged_user_cookie_is_anonymous(self) -> None:
        response = self.fetch("/", headers={"Cookie": "user=alice"}, follow_redirects=False)
        assert response.code == 302

    def test_authenticated_decorator(self) -> None:
        response = self.fetch("/auth?x=1", follow_redirects=False)
        assert response.code == 302
        assert response.headers["Location"] == "/login?next=%2Fauth%3Fx%3D1"
        assert self.fetch("/auth", method="POST", body="").code == 403
        cookie = self.login("bob")
        assert self.fetch("/auth", headers={"Cookie": cookie}).body == b"Hello, bob"
        posted = self.fetch("/auth", method="POST", body="", headers={"Cookie": cookie})
        assert posted.body == b"posted"

    def test_current_user_is_settable(self) -> None:
        assert self.fetch("/settable").body == b"set in prepare"


# --- signed cookies shared with Tornado -----------------------------------------------------


@pytest.fixture(scope="module")
def tornado_web() -> ModuleType:
    if os.environ.get("CI"):
        import tornado.web

        return tornado.web
    return pytest.importorskip("tornado.web")


class TornadoInterchange(AsyncHTTPTestCase):
    """Cookies that Tornado signed are read here, and Tornado reads ours."""

    tornado_web: ModuleType

    @pytest.fixture(autouse=True)
    def _tornado(self, tornado_web: ModuleType) -> None:
        self.tornado_web = tornado_web

    def get_app(self) -> Application:
        return Application(
            [(r"/set", SetSigned), (r"/get", GetSigned), (r"/", MainHandler)],
            cookie_secret={0: "old", 3: SECRET},
            key_version=3,
        )

    def test_we_read_tornado_cookies(self) -> None:
        keys = {0: "old", 3: SECRET}
        for key_version in (0, 3):
            value = self.tornado_web.create_signed_value(
                keys, "u", "from tornado", key_version=key_version
            )
            response = self.fetch("/get", headers={"Cookie": f'u="{value.decode()}"'})
            assert _json(response)["value"] == "from tornado"
        user = self.tornado_web.create_signed_value(keys, "user", "tina", key_version=3)
        response = self.fetch("/", headers={"Cookie": f'user="{user.decode()}"'})
        assert response.body == b"Hello, tina"

    def test_tornado_reads_our_cookies(self) -> None:
        response = self.fetch("/set?v=from%20squall")
        _, raw, _ = parse_set_cookie(set_cookies(response)[0])
        value = raw.strip('"')
        decoded = self.tornado_web.decode_signed_value({0: "old", 3: SECRET}, "u", value)
        assert decoded == b"from squall"
        assert self.tornado_web.get_signature_key_version(value) == 3
