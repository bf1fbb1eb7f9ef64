"""OAuthMixin and TwitterMixin: whole OAuth 1.0a and 1.0 logins and signed API calls
against a local provider that checks every signature with oauthlib."""

from __future__ import annotations

import base64
import urllib.parse
from typing import Any

import pytest
from squall.auth import AuthError, OAuthMixin, TwitterMixin
from squall.escape import json_decode
from squall.web import Application, HTTPError, RequestHandler, asynchronous

pytest_plugins = ["squall.testing.pytest_plugin"]

# The consumer the local provider knows (see conftest.py), reserved characters included.
CONSUMER_KEY = "site key/1"
CONSUMER_SECRET = "c0nsumer&secret=+/%~ é"

refusals: list[str] = []


class TwitterLogin(RequestHandler, TwitterMixin):
    """Tornado 6's documented login handler."""

    async def get(self) -> None:
        if self.get_argument("oauth_token", None):
            try:
                user = await self.get_authenticated_user()
            except AuthError as exc:
                refusals.append(str(exc))
                raise HTTPError(403, reason="Login-Refused")
            self.write({"user": user})
        elif self.get_argument("authenticate", None):
            await self.authenticate_redirect(callback_uri="/login")
        else:
            extra = {"x_auth_access_type": "read & write"}
            await self.authorize_redirect(callback_uri="/login?next=home&x=1", extra_params=extra)


class ClassicTwitterLogin(RequestHandler, TwitterMixin):
    """The overview's style: @asynchronous and a callback that gets the user or None."""

    @asynchronous
    def get(self) -> None:
        if self.get_argument("oauth_token", None):
            self.get_authenticated_user(self._on_auth)
            return
        self.authorize_redirect(callback_uri="/classic")

    def _on_auth(self, user: Any) -> None:
        if not user:
            self.set_status(403)
            self.finish("no user")
            return
        self.finish({"classic": user["username"]})


class TwitterApi(RequestHandler, TwitterMixin):
    async def get(self) -> None:
        token = {"key": self.get_argument("key"), "secret": self.get_argument("secret")}
        got = await self.twitter_request(
            "/statuses/home_timeline", access_token=token, q="a b&c=d/é~*", n="1+1"
        )
        posted = await self.twitter_request(
            "/statuses/update",
            access_token=token,
            post_args={"status": "Hello, world! 100% [ok] é", "empty": ""},
            trim_user="true&false",
        )
        self.write({"got": got, "posted": posted})


def point(monkeypatch: pytest.MonkeyPatch, cls: type, base: str) -> None:
    monkeypatch.setattr(
        cls, "_OAUTH_REQUEST_TOKEN_URL", base + "/oauth/request_token", raising=False
    )
    monkeypatch.setattr(cls, "_OAUTH_AUTHORIZE_URL", base + "/oauth/authorize", raising=False)
    monkeypatch.setattr(cls, "_OAUTH_AUTHENTICATE_URL", base + "/oauth/authenticate", raising=False)
    monkeypatch.setattr(cls, "_OAUTH_ACCESS_TOKEN_URL", base + "/oauth/access_token", raising=False)
    monkeypatch.setattr(cls, "_TWITTER_BASE_URL", base + "/1.1", raising=False)


@pytest.fixture
def site(serve: Any, oauth1_provider: Any, monkeypatch: pytest.MonkeyPatch) -> str:
    refusals.clear()
    for cls in (TwitterLogin, ClassicTwitterLogin, TwitterApi):
        point(monkeypatch, cls, oauth1_provider.base_url)
    app = Application(
        [(r"/login", TwitterLogin), (r"/classic", ClassicTwitterLogin), (r"/api", TwitterApi)],
        twitter_consumer_key=CONSUMER_KEY,
        twitter_consumer_secret=CONSUMER_SECRET,
    )
    return serve(app)


async def test_twitter_login_whole_flow(site: str, oauth1_provider: Any, browser: Any) -> None:
    start = await browser.get(site + "/login")
    assert start.code == 302
    approve = urllib.parse.urlsplit(start.headers["Location"])
    assert approve.path == "/oauth/authorize"
    query = dict(urllib.parse.parse_qsl(approve.query))
    assert query["oauth_token"] in oauth1_provider.request_tokens
    assert query["oauth_callback"] == site + "/login?next=home&x=1"
    assert "_oauth_request_token" in browser.jar

    back = await browser.get(start.headers["Location"])
    assert back.code == 302 and back.headers["Location"].startswith(site + "/login?")
    done = await browser.get(back.headers["Location"])
    assert done.code == 200, refusals
    user = json_decode(done.body)["user"]
    assert user["username"] == "ada" and user["name"] == "Ada L."
    assert user["access_token"]["key"] in oauth1_provider.access_tokens
    assert (
        user["access_token"]["secret"] == oauth1_provider.access_tokens[user["access_token"]["key"]]
    )
    assert user["access_token"]["screen_name"] == "ada"
    assert "_oauth_request_token" not in browser.jar  # cleared once used

    # Every provider call was signed and verified by oauthlib, nothing refused.
    assert oauth1_provider.refusals == []
    legs = [call["path"] for call in oauth1_provider.verified]
    assert legs == [
        "/oauth/request_token",
        "/oauth/access_token",
        "/1.1/account/verify_credentials.json",
    ]
    first, second, _ = (call["params"] for call in oauth1_provider.verified)
    assert first["oauth_callback"] == site + "/login?next=home&x=1"
    assert first["x_auth_access_type"] == "read & write"
    assert first["oauth_version"] == "1.0" and first["oauth_signature_method"] == "HMAC-SHA1"
    assert "oauth_verifier" in second and second["oauth_token"] == query["oauth_token"]


async def test_authenticate_redirect_uses_the_authenticate_page(
    site: str, oauth1_provider: Any, browser: Any
) -> None:
    start = await browser.get(site + "/login?authenticate=1")
    assert urllib.parse.urlsplit(start.headers["Location"]).path == "/oauth/authenticate"
    done = await browser.follow(start.headers["Location"])
    assert json_decode(done.body)["user"]["username"] == "ada"


async def test_classic_callback_style(site: str, oauth1_provider: Any, browser: Any) -> None:
    done = await browser.follow(site + "/classic")
    assert done.code == 200
    assert json_decode(done.body) == {"classic": "ada"}


async def test_classic_callback_receives_none_when_refused(site: str, browser: Any) -> None:
    start = await browser.get(site + "/classic")
    token = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(start.headers["Location"]).query))[
        "oauth_token"
    ]
    from squall.testing import ExpectLog

    with ExpectLog("squall.general", "third-party login failed"):
        answer = await browser.get(site + "/classic?oauth_token=" + token + "x")
    assert answer.code == 403 and answer.body == b"no user"


async def test_forged_token_is_refused(site: str, oauth1_provider: Any, browser: Any) -> None:
    start = await browser.get(site + "/login")
    back = await browser.get(start.headers["Location"])
    forged = back.headers["Location"].replace("oauth_token=rt-", "oauth_token=rt-0")
    answer = await browser.get(forged)
    assert answer.code == 403
    assert "not the request token issued" in refusals[-1]
    assert [c["path"] for c in oauth1_provider.verified] == ["/oauth/request_token"]


async def test_callback_without_the_cookie_is_refused(site: str, browser: Any) -> None:
    start = await browser.get(site + "/login")
    back = await browser.get(start.headers["Location"])
    browser.jar.clear()  # another browser follows the link
    answer = await browser.get(back.headers["Location"])
    assert answer.code == 403
    assert "no OAuth request-token cookie" in refusals[-1]


async def test_mismatched_cookie_is_refused(site: str, oauth1_provider: Any, browser: Any) -> None:
    # Two logins started: the cookie holds the second request token, the
    # callback comes back with the first one.
    first = await browser.get(site + "/login")
    await browser.get(site + "/login")
    back = await browser.get(first.headers["Location"])
    answer = await browser.get(back.headers["Location"])
    assert answer.code == 403
    assert "not the request token issued" in refusals[-1]
    assert "/oauth/access_token" not in [c["path"] for c in oauth1_provider.verified]


async def test_malformed_cookie_is_refused(site: str, browser: Any) -> None:
    browser.jar["_oauth_request_token"] = "not-base64!"
    answer = await browser.get(site + "/login?oauth_token=x&oauth_verifier=y")
    assert answer.code == 403
    assert "malformed" in refusals[-1]


async def test_replayed_callback_is_refused(site: str, oauth1_provider: Any, browser: Any) -> None:
    start = await browser.get(site + "/login")
    cookie = browser.jar["_oauth_request_token"]
    back = await browser.get(start.headers["Location"])
    assert (await browser.get(back.headers["Location"])).code == 200
    browser.jar["_oauth_request_token"] = cookie  # keep the old cookie, replay the URL
    answer = await browser.get(back.headers["Location"])
    assert answer.code == 403
    assert "OAuth access token failed" in refusals[-1]
    assert oauth1_provider.refusals == ["unknown consumer or token"]


async def test_tampered_verifier_is_refused(site: str, oauth1_provider: Any, browser: Any) -> None:
    start = await browser.get(site + "/login")
    back = await browser.get(start.headers["Location"])
    answer = await browser.get(
        back.headers["Location"].replace("oauth_verifier=v-", "oauth_verifier=w-")
    )
    assert answer.code == 403
    assert oauth1_provider.refusals == ["wrong verifier"]


async def test_wrong_consumer_secret_fails_the_signature(
    serve: Any, oauth1_provider: Any, browser: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    point(monkeypatch, TwitterLogin, oauth1_provider.base_url)
    app = Application(
        [(r"/login", TwitterLogin)],
        twitter_consumer_key=CONSUMER_KEY,
        twitter_consumer_secret=CONSUMER_SECRET + "x",
    )
    site = serve(app)
    from squall.testing import ExpectLog

    with ExpectLog("squall.application", "Uncaught exception"):
        answer = await browser.get(site + "/login")
    assert answer.code == 500
    assert oauth1_provider.refusals == ["bad signature"]


async def test_twitter_request_signs_query_and_body(
    site: str, oauth1_provider: Any, browser: Any
) -> None:
    oauth1_provider.access_tokens["at-1"] = "tok&secret=/+%"
    answer = await browser.get(
        site + "/api?" + urllib.parse.urlencode({"key": "at-1", "secret": "tok&secret=/+%"})
    )
    assert answer.code == 200, oauth1_provider.refusals
    body = json_decode(answer.body)
    assert body["got"] == {"q": "a b&c=d/é~*", "n": "1+1"}
    assert body["posted"] == {
        "status": "Hello, world! 100% [ok] é",
        "empty": "",
        "trim_user": "true&false",
    }
    methods = [(c["method"], c["path"]) for c in oauth1_provider.verified]
    assert methods == [
        ("GET", "/1.1/statuses/home_timeline.json"),
        ("POST", "/1.1/statuses/update.json"),
    ]


# -- the generic mixin, OAuth 1.0 -----------------------------------------------------------


class LegacyProviderLogin(RequestHandler, OAuthMixin):
    """A site's own OAuth 1.0 provider, subclassed the documented way."""

    _OAUTH_VERSION = "1.0"

    def _oauth_consumer_token(self) -> dict[str, Any]:
        return {"key": CONSUMER_KEY, "secret": CONSUMER_SECRET}

    async def _oauth_get_user_future(self, access_token: dict[str, Any]) -> dict[str, Any]:
        url = self._OAUTH_ACCESS_TOKEN_URL.replace(
            "/oauth/access_token", "/1.1/account/verify_credentials.json"
        )
        signed = self._oauth_request_parameters(url, access_token)
        response = await self.get_auth_http_client().fetch(
            url + "?" + urllib.parse.urlencode(signed)
        )
        return dict(json_decode(response.body))

    async def get(self) -> None:
        if self.get_argument("oauth_token", None):
            self.write(await self.get_authenticated_user())
        else:
            await self.authorize_redirect(callback_uri=self.get_argument("cb", self.request.path))


class ClassicGetUserLogin(LegacyProviderLogin):
    """A subclass written for the classic API: _oauth_get_user(access_token, callback)."""

    _oauth_get_user_future = OAuthMixin._oauth_get_user_future

    def _oauth_get_user(self, access_token: dict[str, Any], callback: Any) -> None:
        callback({"name": "classic " + access_token["screen_name"]})


@pytest.fixture
def legacy_site(serve: Any, oauth10_provider: Any, monkeypatch: pytest.MonkeyPatch) -> str:
    for cls in (LegacyProviderLogin, ClassicGetUserLogin):
        point(monkeypatch, cls, oauth10_provider.base_url)
    return serve(
        Application([(r"/legacy", LegacyProviderLogin), (r"/classic-user", ClassicGetUserLogin)])
    )


async def test_oauth10_flow_sends_the_callback_to_the_authorize_page(
    legacy_site: str, oauth10_provider: Any, browser: Any
) -> None:
    start = await browser.get(legacy_site + "/legacy")
    query = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(start.headers["Location"]).query))
    assert query["oauth_callback"] == legacy_site + "/legacy"
    done = await browser.follow(start.headers["Location"])
    assert done.code == 200, oauth10_provider.refusals
    assert json_decode(done.body)["screen_name"] == "ada"
    first, second, _ = (c["params"] for c in oauth10_provider.verified)
    assert (
        "oauth_callback" not in first
    )  # 1.0: the callback goes to the browser, not the token call
    assert "oauth_verifier" not in second


async def test_oob_callback_is_not_sent_to_the_authorize_page(
    legacy_site: str, browser: Any
) -> None:
    start = await browser.get(legacy_site + "/legacy?cb=oob")
    query = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(start.headers["Location"]).query))
    assert set(query) == {"oauth_token"}


async def test_classic_oauth_get_user_is_bridged(legacy_site: str, browser: Any) -> None:
    done = await browser.follow(legacy_site + "/classic-user")
    assert json_decode(done.body)["name"] == "classic ada"


def test_request_token_cookie_format() -> None:
    from squall.auth._oauth1 import _pack, _unpack

    packed = _pack({"key": "rt-1", "secret": "s|=&"})
    key, secret = packed.split("|")
    assert base64.b64decode(key) == b"rt-1" and base64.b64decode(secret) == b"s|=&"
    assert _unpack(packed) == {"key": "rt-1", "secret": "s|=&"}
    with pytest.raises(AuthError):
        _unpack("onlyonepart")


def test_no_callbacks_provider_refuses_a_callback_uri() -> None:
    class Registered(OAuthMixin):
        _OAUTH_NO_CALLBACKS = True

    with pytest.raises(AuthError, match="takes no callback_uri"):
        Registered().authorize_redirect(callback_uri="/back")


def test_consumer_token_must_be_provided() -> None:
    with pytest.raises(NotImplementedError):
        OAuthMixin()._oauth_consumer_token()
