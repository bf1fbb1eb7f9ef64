"""OAuth 2.0 (RFC 6749, authorization code grant): :class:`OAuth2Mixin`,
:class:`GoogleOAuth2Mixin` and :class:`FacebookGraphMixin`.

The browser goes to the provider's authorization page; the provider sends
it back with a one-time ``code``; the site trades the code (with its client
secret) for an access token, server to server.  Neither the secret nor the
token ever passes through the browser.  A ``state`` value, when the site
uses one, travels in ``extra_params`` and is the site's to check.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import urllib.parse
from collections.abc import Callable
from typing import Any, cast

from squall.httpclient import AsyncHTTPClient, HTTPRequest
from squall.httputil import url_concat
from squall.web import RequestHandler

from ._common import AuthError, _call_api, _fetch, _json_reply, _shared_client, _start

__all__ = ["FacebookGraphMixin", "GoogleOAuth2Mixin", "OAuth2Mixin"]

_Callback = Callable[[Any], object]
_GOOGLE_APIS = "https://www.googleapis.com"


class OAuth2Mixin:
    """OAuth 2.0 for a :class:`~squall.web.RequestHandler`.

    Class attributes:

    * ``_OAUTH_AUTHORIZE_URL``: the provider's authorization page.
    * ``_OAUTH_ACCESS_TOKEN_URL``: where a code is traded for a token.
    """

    _OAUTH_AUTHORIZE_URL: str
    _OAUTH_ACCESS_TOKEN_URL: str
    _OAUTH_NO_CALLBACKS = False

    def get_auth_http_client(self) -> AsyncHTTPClient:
        """The client for calls to the provider: the loop's shared
        :class:`~squall.httpclient.AsyncHTTPClient`; override to use another."""
        return _shared_client()

    def authorize_redirect(
        self,
        redirect_uri: str | None = None,
        client_id: str | None = None,
        client_secret: str | None = None,
        extra_params: dict[str, Any] | None = None,
        scope: list[str] | None = None,
        response_type: str = "code",
    ) -> None:
        """Redirect the browser to the provider's authorization page.

        The provider sends it back to ``redirect_uri`` (many providers want
        it registered in advance and matched exactly) with a ``code``; call
        the mixin's ``get_authenticated_user`` there.  ``scope`` is joined
        with spaces; ``extra_params`` (``state``, ``prompt``, ...) are added
        as they are.  ``client_secret`` is accepted for symmetry and never
        sent to the browser.
        """
        query = _given(
            {"response_type": response_type, "redirect_uri": redirect_uri, "client_id": client_id},
            extra_params,
            {"scope": " ".join(scope) if scope else None},
        )
        cast(RequestHandler, self).redirect(url_concat(self._OAUTH_AUTHORIZE_URL, query))

    def _oauth_request_token_url(
        self,
        redirect_uri: str | None = None,
        client_id: str | None = None,
        client_secret: str | None = None,
        code: str | None = None,
        extra_params: dict[str, Any] | None = None,
    ) -> str:
        """The access-token URL with the code-exchange arguments in its query."""
        query = _given(
            {
                "redirect_uri": redirect_uri,
                "code": code,
                "client_id": client_id,
                "client_secret": client_secret,
            },
            extra_params,
        )
        return url_concat(self._OAUTH_ACCESS_TOKEN_URL, query)

    def oauth2_request(
        self,
        url: str,
        access_token: str | None = None,
        post_args: dict[str, Any] | None = None,
        *,
        callback: _Callback | None = None,
        **args: Any,
    ) -> asyncio.Future[Any]:
        """Call an OAuth 2.0 API with ``access_token``; resolve to the decoded JSON.

        The token and the keyword arguments go into the query string (merged
        with any query ``url`` has); ``post_args`` makes it a POST with them as
        the form body.  HTTP failures raise
        :class:`~squall.httpclient.HTTPClientError`.  Example::

            class MainHandler(squall.web.RequestHandler, squall.auth.FacebookGraphMixin):
                @squall.web.authenticated
                async def get(self):
                    feed = await self.oauth2_request(
                        "https://graph.facebook.com/me/feed",
                        access_token=self.current_user["access_token"])
                    self.render("feed.html", feed=feed)
        """
        query: dict[str, Any] = {} if access_token is None else {"access_token": access_token}
        query.update(args)
        if query:
            url = url_concat(url, query)
        if post_args is None:
            request = HTTPRequest(url)
        else:
            request = HTTPRequest(
                url,
                method="POST",
                body=urllib.parse.urlencode(post_args),
                headers={"Content-Type": "application/x-www-form-urlencoded"},
            )
        return _start(_call_api(self.get_auth_http_client(), request), callback)


class GoogleOAuth2Mixin(OAuth2Mixin):
    """Log in with Google (OAuth 2.0).

    Create OAuth credentials for a web application in the Google Cloud
    console, register the redirect URI of your login handler, and put the
    client ID and secret in the application settings as
    ``google_oauth={"key": CLIENT_ID, "secret": CLIENT_SECRET}``::

        class GoogleOAuth2LoginHandler(squall.web.RequestHandler,
                                       squall.auth.GoogleOAuth2Mixin):
            async def get(self):
                redirect_uri = "https://your.site/auth/google"
                if self.get_argument("code", False):
                    access = await self.get_authenticated_user(
                        redirect_uri=redirect_uri, code=self.get_argument("code"))
                    user = await self.oauth2_request(
                        self._OAUTH_USERINFO_URL, access_token=access["access_token"])
                    # Save the user and access token, e.g. with set_signed_cookie()
                else:
                    self.authorize_redirect(
                        redirect_uri=redirect_uri,
                        client_id=self.get_google_oauth_settings()["key"],
                        scope=["profile", "email"],
                        response_type="code",
                        extra_params={"approval_prompt": "auto"})
    """

    _OAUTH_SETTINGS_KEY = "google_oauth"
    _OAUTH_USERINFO_URL = f"{_GOOGLE_APIS}/oauth2/v1/userinfo"
    _OAUTH_ACCESS_TOKEN_URL = f"{_GOOGLE_APIS}/oauth2/v4/token"
    _OAUTH_AUTHORIZE_URL = "https://accounts.google.com/o/oauth2/v2/auth"

    def get_google_oauth_settings(self) -> dict[str, str]:
        """The client credentials, ``{"key": ..., "secret": ...}``, from the
        ``google_oauth`` application setting; override to keep them elsewhere."""
        handler = cast(RequestHandler, self)
        handler.require_setting(self._OAUTH_SETTINGS_KEY, "Google OAuth2")
        return cast("dict[str, str]", handler.settings[self._OAUTH_SETTINGS_KEY])

    def get_authenticated_user(
        self,
        redirect_uri: str,
        code: str,
        client_id: str | None = None,
        client_secret: str | None = None,
        *,
        callback: _Callback | None = None,
    ) -> asyncio.Future[dict[str, Any]]:
        """Trade the ``code`` of the callback request for tokens; resolve to Google's answer.

        The answer is a dict with ``access_token`` (for
        :meth:`~squall.auth.OAuth2Mixin.oauth2_request`),
        ``expires_in``, ``token_type``, ``id_token`` and so on.  ``client_id`` and
        ``client_secret`` default to :meth:`get_google_oauth_settings`.
        Raises :class:`AuthError` when Google refuses the code (a forged,
        expired or replayed one).  With ``callback=``, the callback receives
        the answer or ``None``.
        """
        if client_id is None or client_secret is None:
            credentials = self.get_google_oauth_settings()
            client_id = credentials["key"] if client_id is None else client_id
            client_secret = credentials["secret"] if client_secret is None else client_secret
        form = urllib.parse.urlencode(
            {
                "redirect_uri": redirect_uri,
                "code": code,
                "client_id": client_id,
                "client_secret": client_secret,
                "grant_type": "authorization_code",
            }
        )
        return _start(self._trade_code(form), callback)

    async def _trade_code(self, form: str) -> dict[str, Any]:
        client = self.get_auth_http_client()
        reply = await _fetch(
            client, self._OAUTH_ACCESS_TOKEN_URL, "Google code exchange", body=form
        )
        answer = _json_reply(reply, "Google code exchange")
        if "access_token" not in answer:
            raise AuthError("Google code exchange: no access_token in the answer")
        return answer


class FacebookGraphMixin(OAuth2Mixin):
    """Log in with Facebook and call the Graph API (OAuth 2.0).

    ::

        class FacebookGraphLoginHandler(squall.web.RequestHandler,
                                        squall.auth.FacebookGraphMixin):
            async def get(self):
                redirect_uri = "https://your.site/auth/facebookgraph/"
                if self.get_argument("code", False):
                    user = await self.get_authenticated_user(
                        redirect_uri=redirect_uri,
                        client_id=self.settings["facebook_api_key"],
                        client_secret=self.settings["facebook_secret"],
                        code=self.get_argument("code"))
                    # Save the user, e.g. with set_signed_cookie()
                else:
                    self.authorize_redirect(
                        redirect_uri=redirect_uri,
                        client_id=self.settings["facebook_api_key"],
                        extra_params={"scope": "user_posts"})
    """

    _FACEBOOK_BASE_URL = "https://graph.facebook.com"
    _OAUTH_AUTHORIZE_URL = "https://www.facebook.com/dialog/oauth?"
    _OAUTH_ACCESS_TOKEN_URL = f"{_FACEBOOK_BASE_URL}/oauth/access_token?"

    _USER_FIELDS = frozenset({"id", "name", "first_name", "last_name", "locale", "picture", "link"})

    def get_authenticated_user(
        self,
        redirect_uri: str,
        client_id: str,
        client_secret: str,
        code: str,
        extra_fields: dict[str, Any] | None = None,
        *,
        callback: _Callback | None = None,
    ) -> asyncio.Future[dict[str, Any] | None]:
        """Trade the ``code`` for an access token and fetch the user; resolve to the user.

        The user is a dict of the fields ``id``, ``name``, ``first_name``,
        ``last_name``, ``locale``, ``picture``, ``link`` and any named in
        ``extra_fields`` (a collection of field names), plus ``access_token``
        and ``session_expires`` (seconds, as a string).  The ``/me`` call
        carries ``appsecret_proof``.  Raises :class:`AuthError` when
        Facebook refuses the code.  With ``callback=``, the callback receives
        the user or ``None``.
        """
        fields = self._USER_FIELDS.union(extra_fields or ())
        url = self._oauth_request_token_url(
            redirect_uri=redirect_uri, client_id=client_id, client_secret=client_secret, code=code
        )
        return _start(self._trade_code(url, client_secret, sorted(fields)), callback)

    async def _trade_code(
        self, url: str, client_secret: str, fields: list[str]
    ) -> dict[str, Any] | None:
        reply = await _fetch(self.get_auth_http_client(), url, "Facebook code exchange")
        session = _json_reply(reply, "Facebook code exchange")
        token = session.get("access_token")
        if not token:
            raise AuthError("Facebook code exchange: no access_token in the answer")
        user = await self.facebook_request(
            "/me",
            access_token=token,
            appsecret_proof=_appsecret_proof(client_secret, token),
            fields=",".join(fields),
        )
        if user is None:
            return None
        profile = {name: user.get(name) for name in fields}
        profile["access_token"] = token
        profile["session_expires"] = str(session.get("expires_in"))
        return profile

    def facebook_request(
        self,
        path: str,
        access_token: str | None = None,
        post_args: dict[str, Any] | None = None,
        *,
        callback: _Callback | None = None,
        **args: Any,
    ) -> asyncio.Future[Any]:
        """Call the Graph API at ``path`` (such as ``"/me/feed"``); resolve to the JSON.

        Keyword arguments go to the query string; ``post_args`` makes it a
        POST.  Pass ``appsecret_proof=`` (the hex HMAC-SHA256 of the token keyed
        by the app secret, as Facebook documents) when the app requires it;
        :meth:`get_authenticated_user` does so for its own call.
        """
        return self.oauth2_request(
            self._FACEBOOK_BASE_URL + path,
            access_token=access_token,
            post_args=post_args,
            callback=callback,
            **args,
        )


def _given(*layers: dict[str, Any] | None) -> dict[str, Any]:
    """The entries of ``layers`` that have a value, later layers winning, first order kept."""
    merged: dict[str, Any] = {}
    for layer in layers:
        merged.update((name, value) for name, value in (layer or {}).items() if value is not None)
    return merged


def _appsecret_proof(client_secret: str, access_token: str) -> str:
    """Facebook's ``appsecret_proof``: hex HMAC-SHA256 of the token, keyed by the app secret."""
    return hmac.new(client_secret.encode(), access_token.encode(), hashlib.sha256).hexdigest()
