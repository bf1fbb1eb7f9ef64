"""OAuth2Mixin, GoogleOAuth2Mixin and FacebookGraphMixin: whole code-grant logins and
API calls against a local authorization server."""

from __future__ import annotations

import hashlib
import hmac
import secrets
import urllib.parse
from typing import Any

import pytest
from squall.auth import AuthError, FacebookGraphMixin, GoogleOAuth2Mixin, OAuth2Mixin
from squall.escape import json_decode
from squall.testing import ExpectLog
from squall.web import Application, HTTPError, RequestHandler, asynchronous

pytest_plugins = ["squall.testing.pytest_plugin"]

refusals: list[str] = []


class GoogleLogin(RequestHandler, GoogleOAuth2Mixin):
    """Tornado 6's documented handler, plus the state check a careful site adds."""

    async def get(self) -> None:
        redirect_uri = self.request.protocol + "://" + self.request.host + "/google"
        if self.get_argument("code", False):
            if self.get_argument("state", "") != self.get_cookie("oauth_state"):
                raise HTTPError(403, reason="Bad-State")
            try:
                access = await self.get_authenticated_user(
                    redirect_uri=redirect_uri, code=self.get_argument("code")
                )
            except AuthError as exc:
                refusals.append(str(exc))
                raise HTTPError(403, reason="Login-Refused")
            user = await self.oauth2_request(
                self._OAUTH_USERINFO_URL, access_token=access["access_token"]
            )
            self.write({"access": access, "user": user})
        else:
            state = secrets.token_urlsafe(8)
            self.set_cookie("oauth_state", state)
            self.authorize_redirect(
                redirect_uri=redirect_uri,
                client_id=self.get_google_oauth_settings()["key"],
                scope=["profile", "email"],
                response_type="code",
                extra_params={"approval_prompt": "auto", "state": state},
            )


class ClassicGoogleLogin(RequestHandler, GoogleOAuth2Mixin):
    @asynchronous
    def get(self) -> None:
        self.get_authenticated_user(
            redirect_uri="http://unused/", code=self.get_argument("code"), callback=self._on_auth
        )

    def _on_auth(self, access: Any) -> None:
        self.finish({"access": access})


class FacebookLogin(RequestHandler, FacebookGraphMixin):
    async def get(self) -> None:
        redirect_uri = self.request.protocol + "://" + self.request.host + "/facebook"
        if self.get_argument("code", False):
            try:
                user = await self.get_authenticated_user(
                    redirect_uri=redirect_uri,
                    client_id=self.settings["facebook_api_key"],
                    client_secret=self.settings["facebook_secret"],
                    code=self.get_argument("code"),
                    extra_fields={"email"},
                )
            except AuthError as exc:
                refusals.append(str(exc))
                raise HTTPError(403, reason="Login-Refused")
            self.write({"user": user})
        else:
            self.authorize_redirect(
                redirect_uri=redirect_uri,
                client_id=self.settings["facebook_api_key"],
                extra_params={"scope": "user_posts"},
            )


class FacebookPost(RequestHandler, FacebookGraphMixin):
    async def get(self) -> None:
        token = self.get_argument("token")
        posted = await self.facebook_request(
            "/me/feed", access_token=token, post_args={"message": "Hi & bye"}, limit="2"
        )
        plain = await self.oauth2_request(
            self._FACEBOOK_BASE_URL + "/me/photos?type=tagged", access_token=token, after="x y"
        )
        self.write({"posted": posted, "plain": plain})


class ClassicFacebookPost(RequestHandler, FacebookGraphMixin):
    @asynchronous
    def get(self) -> None:
        self.facebook_request(
            "/me/feed", access_token=self.get_argument("token"), callback=self._done
        )

    def _done(self, answer: Any) -> None:
        self.finish({"answer": answer})


@pytest.fixture
def site(serve: Any, oauth2_provider: Any, monkeypatch: pytest.MonkeyPatch) -> str:
    refusals.clear()
    provider, base = oauth2_provider
    for cls in (GoogleLogin, ClassicGoogleLogin):
        monkeypatch.setattr(cls, "_OAUTH_AUTHORIZE_URL", base + "/o/auth")
        monkeypatch.setattr(cls, "_OAUTH_ACCESS_TOKEN_URL", base + "/o/token")
        monkeypatch.setattr(cls, "_OAUTH_USERINFO_URL", base + "/graph/userinfo")
    for cls in (FacebookLogin, FacebookPost, ClassicFacebookPost):
        monkeypatch.setattr(cls, "_OAUTH_AUTHORIZE_URL", base + "/o/auth?")
        monkeypatch.setattr(cls, "_OAUTH_ACCESS_TOKEN_URL", base + "/o/fbtoken?")
        monkeypatch.setattr(cls, "_FACEBOOK_BASE_URL", base + "/graph")
    app = Application(
        [
            (r"/google", GoogleLogin),
            (r"/google-classic", ClassicGoogleLogin),
            (r"/facebook", FacebookLogin),
            (r"/facebook-post", FacebookPost),
            (r"/facebook-classic", ClassicFacebookPost),
        ],
        google_oauth={"key": provider.client_id, "secret": provider.client_secret},
        facebook_api_key=provider.client_id,
        facebook_secret=provider.client_secret,
    )
    return serve(app)


async def test_google_login_whole_flow(site: str, oauth2_provider: Any, browser: Any) -> None:
    provider, base = oauth2_provider
    start = await browser.get(site + "/google")
    assert start.code == 302
    location = urllib.parse.urlsplit(start.headers["Location"])
    assert location.path == "/o/auth"
    query = dict(urllib.parse.parse_qsl(location.query))
    assert query["response_type"] == "code"
    assert query["redirect_uri"] == site + "/google"
    assert query["client_id"] == provider.client_id
    assert query["scope"] == "profile email"
    assert query["approval_prompt"] == "auto"
    assert "client_secret" not in query
    back = await browser.get(start.headers["Location"])
    done = await browser.get(back.headers["Location"])
    assert done.code == 200, refusals
    body = json_decode(done.body)
    assert body["access"]["access_token"] in provider.tokens
    assert body["access"]["expires_in"] == 3599
    assert body["user"]["path"] == "userinfo"
    assert body["user"]["query"]["access_token"] == body["access"]["access_token"]


async def test_google_replayed_code_is_refused(site: str, browser: Any) -> None:
    start = await browser.get(site + "/google")
    back = await browser.get(start.headers["Location"])
    assert (await browser.get(back.headers["Location"])).code == 200
    replay = await browser.get(back.headers["Location"])
    assert replay.code == 403
    assert "Google code exchange failed" in refusals[-1]


async def test_google_forged_code_is_refused(site: str, browser: Any) -> None:
    start = await browser.get(site + "/google")
    back = await browser.get(start.headers["Location"])
    forged = back.headers["Location"].replace("code=code-", "code=forged-")
    assert (await browser.get(forged)).code == 403
    assert "400" in refusals[-1]


async def test_google_wrong_state_never_reaches_the_provider(
    site: str, oauth2_provider: Any, browser: Any
) -> None:
    provider, _ = oauth2_provider
    start = await browser.get(site + "/google")
    back = await browser.get(start.headers["Location"])
    browser.jar["oauth_state"] = "someone-else"
    assert (await browser.get(back.headers["Location"])).code == 403
    assert len(provider.codes) == 1  # the code was never traded


async def test_google_settings_give_the_client_credentials(
    site: str, oauth2_provider: Any, browser: Any
) -> None:
    # get_authenticated_user was called without client_id/secret: they came
    # from the google_oauth setting, or the provider would have said 400.
    done = await browser.follow(site + "/google")
    assert done.code == 200


def test_google_settings_are_required() -> None:
    from squall.httputil import HTTPServerRequest

    class Handler(RequestHandler, GoogleOAuth2Mixin):
        pass

    app = Application()
    request = HTTPServerRequest(method="GET", uri="/", connection=_NoConnection())
    with pytest.raises(Exception, match="google_oauth"):
        Handler(app, request).get_google_oauth_settings()


class _NoConnection:
    def set_close_callback(self, callback: Any) -> None:
        pass


async def test_google_callback_style_gets_none_when_refused(site: str, browser: Any) -> None:
    with ExpectLog("squall.general", "third-party login failed"):
        answer = await browser.get(site + "/google-classic?code=nothing")
    assert json_decode(answer.body) == {"access": None}


async def test_facebook_login_whole_flow(site: str, oauth2_provider: Any, browser: Any) -> None:
    provider, _ = oauth2_provider
    start = await browser.get(site + "/facebook")
    query = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(start.headers["Location"]).query))
    assert query == {
        "response_type": "code",
        "redirect_uri": site + "/facebook",
        "client_id": provider.client_id,
        "scope": "user_posts",
    }
    done = await browser.follow(start.headers["Location"])
    assert done.code == 200, refusals
    user = json_decode(done.body)["user"]
    assert (
        user["id"] == "1001" and user["name"] == "Grace H." and user["email"] == "grace@example.com"
    )
    assert user["picture"] == {"data": {"url": "http://pic"}}
    assert user["access_token"] in provider.tokens
    assert user["session_expires"] == "3599"
    me = provider.graph_calls[-1]
    assert me["path"] == "me"
    expected = hmac.new(
        provider.client_secret.encode(), user["access_token"].encode(), hashlib.sha256
    ).hexdigest()
    assert me["query"]["appsecret_proof"] == expected
    assert set(me["query"]["fields"].split(",")) == {
        "id",
        "name",
        "first_name",
        "last_name",
        "locale",
        "picture",
        "link",
        "email",
    }


async def test_facebook_replayed_code_is_refused(site: str, browser: Any) -> None:
    start = await browser.get(site + "/facebook")
    back = await browser.get(start.headers["Location"])
    assert (await browser.get(back.headers["Location"])).code == 200
    assert (await browser.get(back.headers["Location"])).code == 403
    assert "Facebook code exchange failed" in refusals[-1]


async def test_facebook_request_and_oauth2_request(
    site: str, oauth2_provider: Any, browser: Any
) -> None:
    provider, _ = oauth2_provider
    provider.tokens.add("tok-1")
    answer = await browser.get(site + "/facebook-post?token=tok-1")
    assert answer.code == 200
    body = json_decode(answer.body)
    assert body["posted"]["path"] == "me/feed"
    assert body["posted"]["body"] == {"message": "Hi & bye"}
    assert body["posted"]["query"] == {"access_token": "tok-1", "limit": "2"}
    # A URL that has a query keeps it; the arguments join it.
    assert body["plain"]["query"] == {"type": "tagged", "access_token": "tok-1", "after": "x y"}
    assert [c["method"] for c in provider.graph_calls] == ["POST", "GET"]


async def test_facebook_request_callback_style(
    site: str, oauth2_provider: Any, browser: Any
) -> None:
    provider, _ = oauth2_provider
    provider.tokens.add("tok-2")
    answer = await browser.get(site + "/facebook-classic?token=tok-2")
    assert json_decode(answer.body)["answer"]["query"] == {"access_token": "tok-2"}


async def test_oauth2_request_errors_propagate(
    site: str, oauth2_provider: Any, io_loop: Any
) -> None:
    from squall.httpclient import HTTPClientError

    _, base = oauth2_provider

    class Bare(OAuth2Mixin):
        pass

    with pytest.raises(HTTPClientError) as caught:
        await Bare().oauth2_request(base + "/graph/me", access_token="unknown")
    assert caught.value.code == 401


def test_authorize_redirect_arguments() -> None:
    seen: list[str] = []

    class Fake(OAuth2Mixin):
        _OAUTH_AUTHORIZE_URL = "https://provider.example/auth?"

        def redirect(self, url: str) -> None:
            seen.append(url)

    Fake().authorize_redirect(
        redirect_uri="https://site/cb", client_id="id", client_secret="never-sent", scope=["a", "b"]
    )
    Fake().authorize_redirect(client_id="id", response_type="token", extra_params={"scope": "x"})
    assert seen == [
        "https://provider.example/auth?response_type=code&redirect_uri=https%3A%2F%2Fsite%2Fcb"
        "&client_id=id&scope=a+b",
        "https://provider.example/auth?response_type=token&client_id=id&scope=x",
    ]


def test_oauth_request_token_url() -> None:
    class Fake(OAuth2Mixin):
        _OAUTH_ACCESS_TOKEN_URL = "https://provider.example/token?"

    url = Fake()._oauth_request_token_url(
        redirect_uri="https://site/cb",
        client_id="id",
        client_secret="s",
        code="c",
        extra_params={"x": "1"},
    )
    assert url == (
        "https://provider.example/token?redirect_uri=https%3A%2F%2Fsite%2Fcb&code=c&client_id=id"
        "&client_secret=s&x=1"
    )
