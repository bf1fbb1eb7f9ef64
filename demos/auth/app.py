"""Sign in with OAuth 2.0, against a provider that ships with the demo (no outside network).

    python3 demos/auth/app.py          # http://127.0.0.1:8888/  (the provider: /provider/)

One process, one application, two parts under one prefix:

* ``{prefix}/provider/...``: "squall ID", a tiny OAuth 2.0 provider
  (``provider.py``: a consent page, a token endpoint, a userinfo endpoint).
* ``{prefix}/``: the client site. Its ``/login`` handler is written exactly
  like squall.auth's ``GoogleOAuth2Mixin`` example, on ``SquallIDMixin``, a
  mixin built on ``squall.auth.OAuth2Mixin`` the way ``GoogleOAuth2Mixin`` is:
  swap the mixin (and the settings) and the same handler signs in with Google.

The client keeps who you are in a signed cookie and checks a ``state`` value
(kept in another signed cookie) against login CSRF; its forms carry XSRF
tokens.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import sys
import urllib.parse
from typing import Any

if __name__ == "__main__" and not __package__:  # run as a script: make "auth" importable
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import squall.auth
import squall.ioloop
import squall.web
from squall.httpclient import HTTPClientError, HTTPRequest

from auth.provider import Client, Provider, provider_routes

HERE = os.path.dirname(os.path.abspath(__file__))
CLIENT_ID = "squall-demo-site"


class SquallIDMixin(squall.auth.OAuth2Mixin):
    """Log in with squall ID, the demo's provider: ``GoogleOAuth2Mixin``'s shape, another provider.

    Like ``GoogleOAuth2Mixin`` it names the provider's endpoints in
    ``_OAUTH_*_URL`` attributes, reads the client credentials from an
    application setting (``squall_id_oauth={"key": ..., "secret": ...}``), and
    its ``get_authenticated_user(redirect_uri, code)`` trades the code for the
    token answer, server to server. ``authorize_redirect`` and
    ``oauth2_request`` come from ``OAuth2Mixin`` unchanged.

    The endpoints of a real provider are fixed URLs in class attributes. This
    one lives in the same server as the client, at an address known only once
    a request comes in, so :meth:`point_at_provider` sets them per handler.
    """

    _OAUTH_SETTINGS_KEY = "squall_id_oauth"
    _OAUTH_AUTHORIZE_URL = "http://127.0.0.1:8888/provider/authorize"
    _OAUTH_ACCESS_TOKEN_URL = "http://127.0.0.1:8888/provider/token"
    _OAUTH_USERINFO_URL = "http://127.0.0.1:8888/provider/userinfo"

    def point_at_provider(self, base: str) -> None:
        self._OAUTH_AUTHORIZE_URL = base + "/authorize"
        self._OAUTH_ACCESS_TOKEN_URL = base + "/token"
        self._OAUTH_USERINFO_URL = base + "/userinfo"

    def get_squall_id_settings(self) -> dict[str, str]:
        handler: Any = self
        handler.require_setting(self._OAUTH_SETTINGS_KEY, "squall ID OAuth2")
        return dict(handler.settings[self._OAUTH_SETTINGS_KEY])

    async def get_authenticated_user(self, redirect_uri: str, code: str) -> dict[str, Any]:
        """The provider's token answer for ``code`` (``access_token``, ``expires_in``, ...).

        Raises ``squall.auth.AuthError`` when the provider refuses the code.
        """
        credentials = self.get_squall_id_settings()
        form = {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": redirect_uri,
            "client_id": credentials["key"],
            "client_secret": credentials["secret"],
        }
        request = HTTPRequest(
            self._OAUTH_ACCESS_TOKEN_URL,
            method="POST",
            body=urllib.parse.urlencode(form),
            headers={"Content-Type": "application/x-www-form-urlencoded"},
        )
        try:
            response = await self.get_auth_http_client().fetch(request)
        except HTTPClientError as error:
            raise squall.auth.AuthError(f"squall ID refused the code: {error}") from error
        answer: dict[str, Any] = json.loads(response.body)
        if "access_token" not in answer:
            raise squall.auth.AuthError("squall ID gave no access_token")
        return answer


class ClientHandler(squall.web.RequestHandler):
    def initialize(self, prefix: str) -> None:
        self.prefix = prefix

    def get_current_user(self) -> dict[str, Any] | None:
        kept = self.get_signed_cookie("auth_user")
        return json.loads(kept) if kept else None

    def get_template_namespace(self) -> dict[str, Any]:
        namespace = super().get_template_namespace()
        namespace["home"] = self.prefix + "/"
        return namespace


class HomeHandler(ClientHandler):
    def get(self) -> None:
        self.render("home.html", problem=None)


class LoginHandler(ClientHandler, SquallIDMixin):
    """GoogleOAuth2Mixin's example handler, nearly word for word."""

    def prepare(self) -> None:
        # demo only: the provider is this very server (a real site has fixed URLs)
        here = f"{self.request.protocol}://{self.request.host}{self.prefix}"
        self.point_at_provider(here + "/provider")
        self.redirect_uri = here + "/login"

    async def get(self) -> None:
        if self.get_argument("error", None):  # the person said no at the provider
            self.clear_cookie("auth_state", path=self.prefix + "/")
            self.set_status(403)
            self.render("home.html", problem="You declined to share your squall ID.")
            return
        if self.get_argument("code", False):
            expected = self.get_signed_cookie("auth_state", max_age_days=1)
            self.clear_cookie("auth_state", path=self.prefix + "/")
            if not expected or not secrets.compare_digest(
                expected.decode(), self.get_argument("state", "")
            ):
                raise squall.web.HTTPError(400, "the state does not match this browser's")
            try:
                access = await self.get_authenticated_user(
                    redirect_uri=self.redirect_uri, code=self.get_argument("code")
                )
            except squall.auth.AuthError:
                self.set_status(403)
                self.render("home.html", problem="squall ID did not accept that sign-in.")
                return
            user = await self.oauth2_request(
                self._OAUTH_USERINFO_URL, access_token=access["access_token"]
            )
            # Save the user (the token too, if the site calls the API later).
            self.set_signed_cookie(
                "auth_user", json.dumps(user), httponly=True, path=self.prefix + "/"
            )
            self.redirect(self.prefix + "/")
        else:
            state = secrets.token_urlsafe(16)
            self.set_signed_cookie(
                "auth_state", state, expires_days=None, httponly=True, path=self.prefix + "/"
            )
            self.authorize_redirect(
                redirect_uri=self.redirect_uri,
                client_id=self.get_squall_id_settings()["key"],
                scope=["profile", "email"],
                response_type="code",
                extra_params={"state": state},
            )


class LogoutHandler(ClientHandler):
    def post(self) -> None:
        self.clear_cookie("auth_user", path=self.prefix + "/")
        self.redirect(self.prefix + "/")


def make_app(
    prefix: str = "/auth",
    cookie_secret: str | None = None,
    client_secret: str | None = None,
    debug: bool = False,
) -> squall.web.Application:
    """The client at ``prefix + "/"`` and its provider at ``prefix + "/provider/"``."""
    prefix = prefix.rstrip("/")
    secret = client_secret or secrets.token_urlsafe(24)
    provider = Provider(Client(CLIENT_ID, secret, "the squall auth demo", prefix + "/login"))
    shared = {"prefix": prefix}
    return squall.web.Application(
        [
            (prefix + "/", HomeHandler, shared),
            (prefix + "/login", LoginHandler, shared),
            (prefix + "/logout", LogoutHandler, shared),
            *provider_routes(prefix + "/provider", provider),
        ],
        template_path=os.path.join(HERE, "templates"),
        cookie_secret=cookie_secret or secrets.token_hex(32),
        login_url=prefix + "/login",
        xsrf_cookies=True,
        squall_id_oauth={"key": CLIENT_ID, "secret": secret},
        debug=debug,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--port", type=int, default=8888)
    parser.add_argument("--address", default="127.0.0.1")
    parser.add_argument("--prefix", default="", help="serve it under this path (default: the root)")
    parser.add_argument("--debug", action="store_true", help="reload on source changes")
    args = parser.parse_args()
    app = make_app(args.prefix, debug=args.debug)
    app.listen(args.port, args.address)
    where = f"http://{args.address}:{args.port}{args.prefix.rstrip('/')}/"
    print(f"squall auth demo on {where}  (Ctrl-C stops it)", flush=True)
    try:
        squall.ioloop.IOLoop.current().start()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
