"""OAuth 1.0 and 1.0a (RFC 5849): :class:`OAuthMixin` and :class:`TwitterMixin`.

The three legs: fetch a request token (signed with the consumer secret),
send the browser to the provider to approve it, then trade the approved
token (and, in 1.0a, the verifier the provider appended to the callback)
for an access token.  Between the first and the last leg the request token
waits in the browser, in the ``_oauth_request_token`` cookie (base64 key,
``|``, base64 secret, Tornado's format); the callback must present the same
token, or the login is refused.  Every provider call carries its ``oauth_*``
parameters in the query string, signed as :mod:`._signing` describes.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import hmac
import urllib.parse
from collections.abc import Callable
from typing import Any, cast

from squall.httpclient import AsyncHTTPClient, HTTPRequest
from squall.httputil import url_concat
from squall.web import RequestHandler

from ._common import AuthError, _call_api, _fetch, _shared_client, _start, _token_reply
from ._signing import _oauth_signature, _protocol_parameters

__all__ = ["OAuthMixin", "TwitterMixin"]

_COOKIE = "_oauth_request_token"
_TWITTER_HOST = "https://api.twitter.com"

_UserCallback = Callable[[Any], object]


def _pack(token: dict[str, Any]) -> str:
    return "|".join(
        base64.b64encode(str(token[part]).encode()).decode() for part in ("key", "secret")
    )


def _unpack(cookie: str) -> dict[str, str]:
    key, bar, secret = cookie.partition("|")
    try:
        if not bar:
            raise ValueError("no separator")
        return {
            "key": base64.b64decode(key, validate=True).decode(),
            "secret": base64.b64decode(secret, validate=True).decode(),
        }
    except (ValueError, binascii.Error) as exc:
        raise AuthError("the OAuth request-token cookie is malformed") from exc


class OAuthMixin:
    """OAuth 1.0 and 1.0a for a :class:`~squall.web.RequestHandler`.

    Class attributes:

    * ``_OAUTH_REQUEST_TOKEN_URL``, ``_OAUTH_AUTHORIZE_URL``,
      ``_OAUTH_ACCESS_TOKEN_URL``: the provider's three endpoints.
    * ``_OAUTH_VERSION``: ``"1.0a"`` (the default) or ``"1.0"``.
    * ``_OAUTH_NO_CALLBACKS``: true for providers that take no
      ``callback_uri`` (the callback was registered in advance).

    Subclasses implement :meth:`_oauth_consumer_token` and
    :meth:`_oauth_get_user_future`.
    """

    _OAUTH_REQUEST_TOKEN_URL: str
    _OAUTH_AUTHORIZE_URL: str
    _OAUTH_ACCESS_TOKEN_URL: str
    _OAUTH_VERSION = "1.0a"
    _OAUTH_NO_CALLBACKS = False

    def get_auth_http_client(self) -> AsyncHTTPClient:
        """The client for calls to the provider: the loop's shared
        :class:`~squall.httpclient.AsyncHTTPClient`; override to use another."""
        return _shared_client()

    # -- the login handler's side ----------------------------------------------------------

    def authorize_redirect(
        self,
        callback_uri: str | None = None,
        extra_params: dict[str, Any] | None = None,
        http_client: AsyncHTTPClient | None = None,
        *,
        callback: Callable[[Any], object] | None = None,
    ) -> asyncio.Future[None]:
        """Fetch a request token, then redirect the browser to approve it.

        ``callback_uri`` (relative to this request's URL, or ``"oob"``) is
        where the provider sends the browser back; call
        :meth:`get_authenticated_user` there.  ``extra_params`` are added to
        the request-token call (with 1.0a).  The work starts at once; the
        returned future may be awaited.  Raises :class:`AuthError` when the
        provider refuses the request token, or when ``callback_uri`` is given
        to a provider with ``_OAUTH_NO_CALLBACKS``.
        """
        if callback_uri and self._OAUTH_NO_CALLBACKS:
            raise AuthError("this provider takes no callback_uri (it was registered in advance)")
        client = http_client or self.get_auth_http_client()
        return _start(
            self._leg_one(client, callback_uri, extra_params, self._OAUTH_AUTHORIZE_URL), callback
        )

    async def _leg_one(
        self,
        client: AsyncHTTPClient,
        callback_uri: str | None,
        extra_params: dict[str, Any] | None,
        approve_url: str,
    ) -> None:
        if self._OAUTH_VERSION == "1.0a":
            url = self._oauth_request_token_url(
                callback_uri=callback_uri, extra_params=extra_params
            )
        else:
            url = self._oauth_request_token_url()
        reply = await _fetch(client, url, "OAuth request token")
        self._on_request_token(approve_url, callback_uri, reply)

    def _on_request_token(
        self, authorize_url: str, callback_uri: str | None, response: Any
    ) -> None:
        handler = cast(RequestHandler, self)
        token = _token_reply(response.body, "OAuth request token")
        handler.set_cookie(_COOKIE, _pack(token))
        query = {"oauth_token": token["key"]}
        if callback_uri == "oob":
            pass
        elif callback_uri:
            query["oauth_callback"] = urllib.parse.urljoin(handler.request.full_url(), callback_uri)
        handler.redirect(url_concat(authorize_url, query))

    def get_authenticated_user(
        self,
        http_client: AsyncHTTPClient | _UserCallback | None = None,
        *,
        callback: _UserCallback | None = None,
    ) -> asyncio.Future[dict[str, Any]]:
        """Finish the login on the callback request; resolve to the user.

        Checks that the ``oauth_token`` argument is the request token this
        browser was given (the cookie, cleared here), trades it for an access
        token and asks :meth:`_oauth_get_user_future` for the user, a dict
        that gains ``access_token`` (``key``, ``secret`` and whatever else
        the provider returned with it).  Raises :class:`AuthError` for a
        missing or mismatched cookie and for a provider that refuses.  The
        classic spelling passes the callback first (or ``callback=``); it
        receives the user or ``None``.
        """
        if (
            callback is None
            and callable(http_client)
            and not isinstance(http_client, AsyncHTTPClient)
        ):
            http_client, callback = None, http_client
        client = cast("AsyncHTTPClient | None", http_client) or self.get_auth_http_client()
        return _start(self._leg_three(client), callback)

    async def _leg_three(self, client: AsyncHTTPClient) -> dict[str, Any]:
        handler = cast(RequestHandler, self)
        cookie = handler.get_cookie(_COOKIE)
        if not cookie:
            raise AuthError("no OAuth request-token cookie: the login did not start here")
        handler.clear_cookie(_COOKIE)
        issued = _unpack(cookie)
        presented = handler.get_argument("oauth_token", "")
        if not hmac.compare_digest(presented.encode(), issued["key"].encode()):
            raise AuthError("the oauth_token of the callback is not the request token issued")
        verifier = handler.get_argument("oauth_verifier", None)
        if verifier is not None:
            issued["verifier"] = verifier
        reply = await _fetch(client, self._oauth_access_token_url(issued), "OAuth access token")
        access = _token_reply(reply.body, "OAuth access token")
        user = await self._oauth_get_user_future(access)
        if not user:
            raise AuthError("the provider returned no user for this access token")
        user["access_token"] = access
        return user

    # -- URLs and signatures ----------------------------------------------------------------

    def _oauth_request_token_url(
        self, callback_uri: str | None = None, extra_params: dict[str, Any] | None = None
    ) -> str:
        """The signed URL that asks the provider for a request token."""
        consumer = self._oauth_consumer_token()
        url = self._OAUTH_REQUEST_TOKEN_URL
        fields: dict[str, Any] = _protocol_parameters(consumer["key"])
        if self._OAUTH_VERSION == "1.0a":
            if callback_uri == "oob":
                fields["oauth_callback"] = "oob"
            elif callback_uri:
                here = cast(RequestHandler, self).request.full_url()
                fields["oauth_callback"] = urllib.parse.urljoin(here, callback_uri)
            if extra_params:
                fields.update(extra_params)
        fields["oauth_signature"] = _oauth_signature(consumer, "GET", url, fields)
        return url_concat(url, fields)

    def _oauth_access_token_url(self, request_token: dict[str, Any]) -> str:
        """The signed URL that trades an approved request token for an access token."""
        consumer = self._oauth_consumer_token()
        url = self._OAUTH_ACCESS_TOKEN_URL
        fields: dict[str, Any] = _protocol_parameters(consumer["key"], request_token["key"])
        if "verifier" in request_token:
            fields["oauth_verifier"] = request_token["verifier"]
        fields["oauth_signature"] = _oauth_signature(consumer, "GET", url, fields, request_token)
        return url_concat(url, fields)

    def _oauth_request_parameters(
        self,
        url: str,
        access_token: dict[str, Any],
        parameters: dict[str, Any] = {},  # noqa: B006
        method: str = "GET",
    ) -> dict[str, Any]:
        """The signed ``oauth_*`` parameters of one API call made with ``access_token``.

        ``parameters`` are the call's other query and body arguments, which
        the signature covers too.
        """
        consumer = self._oauth_consumer_token()
        fields: dict[str, Any] = _protocol_parameters(consumer["key"], access_token["key"])
        fields["oauth_signature"] = _oauth_signature(
            consumer, method, url, [*parameters.items(), *fields.items()], access_token
        )
        return fields

    # -- what subclasses provide ------------------------------------------------------------

    def _oauth_consumer_token(self) -> dict[str, Any]:
        """This site's consumer credentials: a dict with ``key`` and ``secret``."""
        raise NotImplementedError("an OAuthMixin subclass must define _oauth_consumer_token()")

    async def _oauth_get_user_future(self, access_token: dict[str, Any]) -> dict[str, Any]:
        """Resolve to the user dict for ``access_token``; subclasses override this.

        A subclass written for the classic API may define
        ``_oauth_get_user(access_token, callback)`` instead.
        """
        classic = getattr(self, "_oauth_get_user", None)
        if classic is None:
            raise NotImplementedError("an OAuthMixin subclass must define _oauth_get_user_future()")
        answer: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()

        def deliver(user: Any) -> None:
            if not answer.done():
                answer.set_result(user)

        classic(access_token, deliver)
        return await answer


class TwitterMixin(OAuthMixin):
    """Log in with Twitter (X) and call its API.

    Register the application with Twitter, and put its consumer key and
    secret in the application settings ``twitter_consumer_key`` and
    ``twitter_consumer_secret``.  Use the mixin on the handler of the
    callback URL you registered::

        class TwitterLoginHandler(squall.web.RequestHandler, squall.auth.TwitterMixin):
            async def get(self):
                if self.get_argument("oauth_token", None):
                    user = await self.get_authenticated_user()
                    # Save the user, e.g. with set_signed_cookie()
                else:
                    await self.authorize_redirect()

    The user is the ``account/verify_credentials`` answer plus ``username``
    (the screen name) and ``access_token``, which :meth:`twitter_request`
    takes for calls on the user's behalf.
    """

    # Every endpoint lives on one host; tests and proxies repoint them one by one.
    _TWITTER_BASE_URL = f"{_TWITTER_HOST}/1.1"
    _OAUTH_AUTHENTICATE_URL = f"{_TWITTER_HOST}/oauth/authenticate"
    _OAUTH_AUTHORIZE_URL = f"{_TWITTER_HOST}/oauth/authorize"
    _OAUTH_ACCESS_TOKEN_URL = f"{_TWITTER_HOST}/oauth/access_token"
    _OAUTH_REQUEST_TOKEN_URL = f"{_TWITTER_HOST}/oauth/request_token"

    def authenticate_redirect(
        self,
        callback_uri: str | None = None,
        *,
        callback: Callable[[Any], object] | None = None,
    ) -> asyncio.Future[None]:
        """Like :meth:`~OAuthMixin.authorize_redirect`, through Twitter's
        ``authenticate`` page, which skips the approval screen for a user
        who approved this application before."""
        if callback_uri and self._OAUTH_NO_CALLBACKS:
            raise AuthError("this provider takes no callback_uri (it was registered in advance)")
        client = self.get_auth_http_client()
        return _start(
            self._leg_one(client, callback_uri, None, self._OAUTH_AUTHENTICATE_URL), callback
        )

    def twitter_request(
        self,
        path: str,
        access_token: dict[str, Any],
        post_args: dict[str, Any] | None = None,
        *,
        callback: Callable[[Any], object] | None = None,
        **args: Any,
    ) -> asyncio.Future[Any]:
        """Call the Twitter API on behalf of the user of ``access_token``; resolve to the JSON.

        ``path`` is an API path such as ``"/statuses/user_timeline/btaylor"``
        (``.json`` is appended; a full ``http(s)://`` URL is used as it is);
        keyword arguments go to the query string, and ``post_args`` makes it
        a POST with them as the form body.  HTTP failures raise
        :class:`~squall.httpclient.HTTPClientError`.
        """
        if path.startswith(("http://", "https://")):
            url = path
        else:
            url = f"{self._TWITTER_BASE_URL}{path}.json"
        method = "GET" if post_args is None else "POST"
        if access_token:
            signed = {**args, **(post_args or {})}
            args.update(self._oauth_request_parameters(url, access_token, signed, method))
        if args:
            url = url_concat(url, args)
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

    def _oauth_consumer_token(self) -> dict[str, Any]:
        handler = cast(RequestHandler, self)
        handler.require_setting("twitter_consumer_key", "Twitter OAuth")
        handler.require_setting("twitter_consumer_secret", "Twitter OAuth")
        return {
            "key": handler.settings["twitter_consumer_key"],
            "secret": handler.settings["twitter_consumer_secret"],
        }

    async def _oauth_get_user_future(self, access_token: dict[str, Any]) -> dict[str, Any]:
        user = await self.twitter_request("/account/verify_credentials", access_token=access_token)
        if user:
            user["username"] = user.get("screen_name")
        return cast("dict[str, Any]", user)
