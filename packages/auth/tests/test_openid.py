"""OpenIdMixin: checkid_setup redirects, direct verification, AX attributes, forged and
replayed assertions, against a local OpenID 2.0 provider."""

from __future__ import annotations

import urllib.parse
from typing import Any

import pytest
from squall.auth import AuthError, OpenIdMixin
from squall.escape import json_decode
from squall.testing import ExpectLog
from squall.web import Application, HTTPError, RequestHandler, asynchronous

pytest_plugins = ["squall.testing.pytest_plugin"]

refusals: list[str] = []


class OpenIdLogin(RequestHandler, OpenIdMixin):
    async def get(self) -> None:
        if self.get_argument("openid.mode", None):
            try:
                user = await self.get_authenticated_user()
            except AuthError as exc:
                refusals.append(str(exc))
                raise HTTPError(403, reason="Login-Refused")
            self.write({"user": user})
        else:
            attrs = self.get_argument("attrs", "name,email,language,username").split(",")
            self.authenticate_redirect(callback_uri="/openid?from=login", ax_attrs=attrs)


class OverviewGoogleHandler(RequestHandler, OpenIdMixin):
    """The overview's GoogleMixin example, word for word but for the mixin's name."""

    @asynchronous
    def get(self) -> None:
        if self.get_argument("openid.mode", None):
            self.get_authenticated_user(self._on_auth)
            return
        self.authenticate_redirect()

    def _on_auth(self, user: Any) -> None:
        if not user:
            self.authenticate_redirect()
            return
        # Save the user with, e.g., set_secure_cookie()
        self.finish({"overview": user})


@pytest.fixture
def site(serve: Any, openid_provider: Any, monkeypatch: pytest.MonkeyPatch) -> str:
    refusals.clear()
    for cls in (OpenIdLogin, OverviewGoogleHandler):
        monkeypatch.setattr(
            cls, "_OPENID_ENDPOINT", openid_provider.base_url + "/openid", raising=False
        )
    return serve(Application([(r"/openid", OpenIdLogin), (r"/overview", OverviewGoogleHandler)]))


async def test_openid_whole_flow(site: str, openid_provider: Any, browser: Any) -> None:
    start = await browser.get(site + "/openid")
    assert start.code == 302
    location = urllib.parse.urlsplit(start.headers["Location"])
    assert location.path == "/openid"
    query = dict(urllib.parse.parse_qsl(location.query))
    assert query["openid.mode"] == "checkid_setup"
    assert query["openid.ns"] == "http://specs.openid.net/auth/2.0"
    assert (
        query["openid.claimed_id"]
        == query["openid.identity"]
        == ("http://specs.openid.net/auth/2.0/identifier_select")
    )
    assert query["openid.return_to"] == site + "/openid?from=login"
    assert query["openid.realm"] == site + "/"
    assert query["openid.ns.ax"] == "http://openid.net/srv/ax/1.0"
    assert query["openid.ax.mode"] == "fetch_request"
    required = query["openid.ax.required"].split(",")
    assert set(required) == {"firstname", "fullname", "lastname", "email", "username", "language"}
    assert {query[f"openid.ax.type.{alias}"] for alias in required} == {
        "http://axschema.org/namePerson/first",
        "http://axschema.org/namePerson",
        "http://axschema.org/namePerson/last",
        "http://axschema.org/contact/email",
        "http://axschema.org/namePerson/friendly",
        "http://axschema.org/pref/language",
    }

    done = await browser.follow(start.headers["Location"])
    assert done.code == 200, refusals
    assert json_decode(done.body)["user"] == {
        "first_name": "Alan",
        "last_name": "Turing",
        "name": "Alan Turing",
        "email": "alan@example.org",
        "locale": "en_gb",
        "username": "aturing",
        "claimed_id": "http://id.example/alan",
    }
    verification = openid_provider.verifications[-1]
    assert verification["openid.mode"] == "check_authentication"
    assert "from" not in verification  # only the assertion's own fields go back


async def test_fewer_ax_attributes(site: str, browser: Any) -> None:
    start = await browser.get(site + "/openid?attrs=email")
    query = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(start.headers["Location"]).query))
    assert query["openid.ax.required"] == "email"
    assert not any(k.startswith("openid.ax.type.") and k != "openid.ax.type.email" for k in query)
    done = await browser.follow(start.headers["Location"])
    assert json_decode(done.body)["user"] == {
        "email": "alan@example.org",
        "claimed_id": "http://id.example/alan",
    }


async def _assertion_url(site: str, browser: Any) -> str:
    start = await browser.get(site + "/openid")
    back = await browser.get(start.headers["Location"])
    return str(back.headers["Location"])


async def test_replayed_assertion_is_refused(site: str, browser: Any) -> None:
    url = await _assertion_url(site, browser)
    assert (await browser.get(url)).code == 200
    assert (await browser.get(url)).code == 403
    assert "did not confirm" in refusals[-1]


async def test_tampered_assertion_is_refused(site: str, browser: Any) -> None:
    url = await _assertion_url(site, browser)
    forged = url.replace("alan%40example.org", "mallory%40example.org")
    assert forged != url
    assert (await browser.get(forged)).code == 403
    assert "did not confirm" in refusals[-1]


async def test_unsigned_attributes_are_ignored(site: str, browser: Any) -> None:
    url = await _assertion_url(site, browser)
    # A second AX namespace slipped in unsigned: the provider still vouches for
    # the signed part, but the added email must not reach the user dict.
    injected = url_concat_pairs(
        url,
        [
            ("openid.ns.ext9", "http://openid.net/srv/ax/1.0"),
            ("openid.ext9.type.mail", "http://axschema.org/contact/email"),
            ("openid.ext9.value.mail", "mallory@example.org"),
        ],
    )
    answer = await browser.get(injected)
    assert answer.code == 200
    assert json_decode(answer.body)["user"]["email"] == "alan@example.org"


def url_concat_pairs(url: str, pairs: list[tuple[str, str]]) -> str:
    return url + "&" + urllib.parse.urlencode(pairs)


async def test_cancelled_login_is_refused_without_asking_the_provider(
    site: str, openid_provider: Any, browser: Any
) -> None:
    answer = await browser.get(site + "/openid?openid.mode=cancel&openid.ns=x")
    assert answer.code == 403
    assert "not completed" in refusals[-1]
    assert openid_provider.verifications == []


async def test_overview_style_handler(site: str, browser: Any) -> None:
    done = await browser.follow(site + "/overview")
    assert done.code == 200
    assert json_decode(done.body)["overview"]["email"] == "alan@example.org"


async def test_overview_style_handler_redirects_again_when_refused(site: str, browser: Any) -> None:
    start = await browser.get(site + "/overview")
    back = await browser.get(start.headers["Location"])
    assert (await browser.get(back.headers["Location"])).code == 200
    with ExpectLog("squall.general", "third-party login failed"):
        again = await browser.get(back.headers["Location"])  # replayed: user is None
    assert again.code == 302
    assert "openid.mode=checkid_setup" in again.headers["Location"]


def test_openid_args_with_oauth_scope() -> None:
    from squall.httputil import HTTPServerRequest

    class Conn:
        def set_close_callback(self, callback: Any) -> None:
            pass

    class Handler(RequestHandler, OpenIdMixin):
        pass

    request = HTTPServerRequest(
        method="GET", uri="/login", host="site.example:8080", connection=Conn()
    )
    handler = Handler(Application(), request)
    args = handler._openid_args("/back", ax_attrs=["username"], oauth_scope="feeds")
    assert args["openid.return_to"] == "http://site.example:8080/back"
    assert args["openid.ax.type.username"] == "http://axschema.org/namePerson/friendly"
    assert args["openid.ns.oauth"] == "http://specs.openid.net/extensions/oauth/1.0"
    assert args["openid.oauth.consumer"] == "site.example"
    assert args["openid.oauth.scope"] == "feeds"


async def test_whitespace_in_signed_values_is_kept(
    site: str, openid_provider: Any, browser: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A value with surrounding spaces must go back to the provider byte for byte.
    url = await _assertion_url(site, browser)
    padded = url.replace(
        "openid.ext1.value.username=aturing", "openid.ext1.value.username=+aturing+"
    )
    assert padded != url
    assert (await browser.get(padded)).code == 403  # the provider signed "aturing", not " aturing "
    sent = openid_provider.verifications[-1]
    assert sent["openid.ext1.value.username"] == " aturing "
