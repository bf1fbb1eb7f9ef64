"""The OAuth 2.0 demo through real sockets: the client and its provider in one process.

Starts ``python demos/auth/app.py --prefix /auth`` (as the demo site mounts
it) and walks the authorization code flow one redirect at a time, then the
ways it must refuse: a forged state, a reused or wrong code, a wrong client
secret, an unregistered redirect_uri, a missing token, a declined consent.
"""

from __future__ import annotations

import http.cookiejar
import json
import os
import socket
import subprocess
import sys
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from typing import Any

import pytest

APP = os.path.join(os.path.dirname(os.path.abspath(__file__)), "app.py")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def site() -> Iterator[str]:
    port = _free_port()
    proc = subprocess.Popen(
        [sys.executable, APP, "--port", str(port), "--prefix", "/auth"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    assert proc.stdout is not None
    banner = proc.stdout.readline()
    try:
        if f"http://127.0.0.1:{port}/auth/" not in banner:
            proc.kill()
            pytest.fail(f"the auth demo did not start: {banner}{proc.stdout.read()}")
        yield f"http://127.0.0.1:{port}"
    finally:
        proc.terminate()
        proc.wait(10)
        proc.stdout.close()


class _Stay(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: object, **kwargs: object) -> None:
        return None


class _Browser:
    """Keeps cookies; never follows a redirect by itself, so each hop can be looked at."""

    def __init__(self) -> None:
        self.jar = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(self.jar), _Stay()
        )

    def go(
        self, url: str, form: dict[str, str] | None = None, **headers: str
    ) -> tuple[int, dict[str, str], str]:
        data = None if form is None else urllib.parse.urlencode(form).encode()
        request = urllib.request.Request(url, data=data, headers=headers)
        try:
            with self.opener.open(request, timeout=15) as answer:
                return answer.status, dict(answer.headers), answer.read().decode()
        except urllib.error.HTTPError as error:
            return error.code, dict(error.headers), error.read().decode()

    def cookie(self, name: str) -> str | None:
        return next((c.value for c in self.jar if c.name == name), None)


def _query(url: str) -> dict[str, str]:
    return dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(url).query))


def _to_consent(site: str, browser: _Browser) -> tuple[str, dict[str, str]]:
    """From the client's sign-in link to the provider's consent form; returns its fields."""
    status, headers, _ = browser.go(site + "/auth/login")
    assert status == 302
    authorize = headers["Location"]
    assert authorize.startswith(site + "/auth/provider/authorize?")
    asked = _query(authorize)
    assert asked["response_type"] == "code" and asked["client_id"] == "squall-demo-site"
    assert asked["redirect_uri"] == site + "/auth/login"
    assert asked["scope"] == "profile email" and len(asked["state"]) >= 16
    status, _, page = browser.go(authorize)
    assert status == 200 and "would like to know your name" in page
    fields = {k: v for k, v in asked.items() if k != "scope"}
    return authorize, {**fields, "_xsrf": browser.cookie("_xsrf") or ""}


def _allow(site: str, browser: _Browser, person: str) -> str:
    """Consent as ``person``; returns the URL the provider sends the browser back to."""
    _, fields = _to_consent(site, browser)
    status, headers, _ = browser.go(
        site + "/auth/provider/authorize", {**fields, "person": person, "decision": "allow"}
    )
    assert status == 302
    return headers["Location"]


def test_sign_in_through_the_provider(site: str) -> None:
    browser = _Browser()
    status, _, page = browser.go(site + "/auth/")
    assert status == 200 and 'id="login"' in page
    back = _allow(site, browser, "Ada Lovelace")
    assert back.startswith(site + "/auth/login?")
    returned = _query(back)
    assert set(returned) == {"code", "state"}
    state_cookie = browser.cookie("auth_state")
    status, headers, _ = browser.go(back)
    assert status == 302 and headers["Location"] == "/auth/"
    status, _, page = browser.go(site + "/auth/")
    assert status == 200 and "Signed in as <strong>Ada Lovelace</strong>" in page
    assert "adalovelace@id.squall.example" in page
    user_cookie = next(c for c in browser.jar if c.name == "auth_user")
    assert user_cookie.path == "/auth/" and user_cookie.has_nonstandard_attr("HttpOnly")
    # the state cookie went with the first use; replayed, the code itself is refused
    assert browser.cookie("auth_state") is None and browser.go(back)[0] == 400
    status, _, page = _Browser().go(back, Cookie=f"auth_state={state_cookie}")
    assert status == 403 and "did not accept" in page
    # the provider remembers who you are at the next consent
    _, fields = _to_consent(site, browser)
    status, _, page = browser.go(
        site
        + "/auth/provider/authorize?"
        + urllib.parse.urlencode(fields | {"response_type": "code"})
    )
    assert 'value="Ada Lovelace"' in page
    # sign out
    status, headers, _ = browser.go(site + "/auth/logout", {"_xsrf": browser.cookie("_xsrf") or ""})
    assert status == 302
    assert 'id="login"' in browser.go(site + "/auth/")[2]


def test_the_state_must_come_back_unchanged(site: str) -> None:
    browser = _Browser()
    back = _allow(site, browser, "Mallory")
    returned = _query(back)
    forged = site + "/auth/login?" + urllib.parse.urlencode({**returned, "state": "x" * 22})
    assert browser.go(forged)[0] == 400
    # and a browser that never started a sign-in has no state at all
    assert _Browser().go(back)[0] == 400


def test_declining_consent(site: str) -> None:
    browser = _Browser()
    _, fields = _to_consent(site, browser)
    status, headers, _ = browser.go(
        site + "/auth/provider/authorize", {**fields, "person": "Bob", "decision": "deny"}
    )
    assert status == 302
    back = _query(headers["Location"])
    assert back == {"error": "access_denied", "state": fields["state"]}
    status, _, page = browser.go(headers["Location"])
    assert status == 403 and "You declined" in page


def _post_json(url: str, form: dict[str, str], **headers: str) -> tuple[int, dict[str, Any]]:
    status, _, body = _Browser().go(url, form, **headers)
    return status, json.loads(body)


def test_provider_endpoints_refuse_what_they_must(site: str) -> None:
    provider = site + "/auth/provider"
    browser = _Browser()
    # the consent page only for the registered client and redirect_uri
    assert browser.go(provider + "/authorize?client_id=evil&response_type=code")[0] == 400
    bad_uri = urllib.parse.urlencode(
        {
            "client_id": "squall-demo-site",
            "response_type": "code",
            "redirect_uri": "http://evil.example/cb",
        }
    )
    assert browser.go(provider + "/authorize?" + bad_uri)[0] == 400
    # consent needs the XSRF token
    _, fields = _to_consent(site, browser)
    no_token = {k: v for k, v in fields.items() if k != "_xsrf"}
    assert (
        browser.go(provider + "/authorize", {**no_token, "decision": "allow", "person": "x"})[0]
        == 403
    )
    # the token endpoint: wrong secret, wrong grant, wrong code
    code = _query(_allow(site, _Browser(), "Eve"))["code"]
    trade = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": site + "/auth/login",
        "client_id": "squall-demo-site",
        "client_secret": "guess",
    }
    assert _post_json(provider + "/token", trade) == (401, {"error": "invalid_client"})
    assert _post_json(provider + "/token", {**trade, "code": "nope"})[0] == 401
    # userinfo wants a valid token, in the header or the query
    status, _, body = _Browser().go(provider + "/userinfo")
    assert status == 401 and json.loads(body) == {"error": "invalid_token"}
    status, headers, _ = _Browser().go(provider + "/userinfo", Authorization="Bearer forged")
    assert status == 401 and headers["Www-Authenticate"].startswith("Bearer")
