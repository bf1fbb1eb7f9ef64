"""OpenID 2.0 login with Attribute Exchange: :class:`OpenIdMixin`.

The browser goes to the provider with a ``checkid_setup`` request; the
provider sends it back with a signed positive assertion; we hand that
assertion back to the provider (``check_authentication``, direct
verification, OpenID 2.0 section 11.4.2) and believe it only when the
provider answers ``is_valid:true``.  Attribute values are read only from
fields the assertion lists in ``openid.signed``: an unsigned field could
have been added by anyone on the way.
"""

from __future__ import annotations

import asyncio
import urllib.parse
from collections.abc import Callable, Iterable
from typing import Any, cast

from squall.httpclient import AsyncHTTPClient
from squall.web import RequestHandler

from ._common import AuthError, _fetch, _shared_client, _start

__all__ = ["OpenIdMixin"]

_OPENID_NS = "http://specs.openid.net/auth/2.0"
_SELECT = "http://specs.openid.net/auth/2.0/identifier_select"
_AX_NS = "http://openid.net/srv/ax/1.0"
_OAUTH_EXT_NS = "http://specs.openid.net/extensions/oauth/1.0"

# What each name of ``ax_attrs`` asks for: AX aliases and their type URIs.
_AX_REQUESTS: dict[str, tuple[tuple[str, str], ...]] = {
    "name": (
        ("firstname", "http://axschema.org/namePerson/first"),
        ("fullname", "http://axschema.org/namePerson"),
        ("lastname", "http://axschema.org/namePerson/last"),
    ),
    "email": (("email", "http://axschema.org/contact/email"),),
    "language": (("language", "http://axschema.org/pref/language"),),
    "username": (("username", "http://axschema.org/namePerson/friendly"),),
}

_AX_URI = {alias: uri for group in _AX_REQUESTS.values() for alias, uri in group}

_UserCallback = Callable[[Any], object]


class OpenIdMixin:
    """OpenID 2.0 and Attribute Exchange for a :class:`~squall.web.RequestHandler`.

    Class attribute:

    * ``_OPENID_ENDPOINT``: the provider's endpoint URI.
    """

    _OPENID_ENDPOINT: str

    def get_auth_http_client(self) -> AsyncHTTPClient:
        """The client for calls to the provider: the loop's shared
        :class:`~squall.httpclient.AsyncHTTPClient`; override to use another."""
        return _shared_client()

    def authenticate_redirect(
        self,
        callback_uri: str | None = None,
        ax_attrs: list[str] = ["name", "email", "language", "username"],  # noqa: B006
    ) -> None:
        """Redirect the browser to the provider to log in.

        The provider sends the browser back to ``callback_uri`` (relative to
        this request's URL; this URL when omitted) with ``openid.mode`` among
        the arguments; call :meth:`get_authenticated_user` there.  ``ax_attrs``
        names the attributes asked for (``name``, ``email``, ``language``,
        ``username``); ask for fewer if you need fewer.
        """
        handler = cast(RequestHandler, self)
        query = urllib.parse.urlencode(
            self._openid_args(callback_uri or handler.request.uri or "/", ax_attrs)
        )
        handler.redirect(f"{self._OPENID_ENDPOINT}?{query}")

    def _openid_args(
        self, callback_uri: str, ax_attrs: Iterable[str] = (), oauth_scope: str | None = None
    ) -> dict[str, str]:
        """The ``checkid_setup`` request's fields (in the order providers log them)."""
        request = cast(RequestHandler, self).request
        here = request.full_url()
        fields = {
            "openid.ns": _OPENID_NS,
            "openid.claimed_id": _SELECT,
            "openid.identity": _SELECT,
            "openid.return_to": urllib.parse.urljoin(here, callback_uri),
            "openid.realm": urllib.parse.urljoin(here, "/"),
            "openid.mode": "checkid_setup",
        }
        wanted = [pair for name in ax_attrs for pair in _AX_REQUESTS.get(name, ())]
        if wanted:
            fields["openid.ns.ax"] = _AX_NS
            fields["openid.ax.mode"] = "fetch_request"
            for alias, type_uri in wanted:
                fields[f"openid.ax.type.{alias}"] = type_uri
            fields["openid.ax.required"] = ",".join(alias for alias, _ in wanted)
        if oauth_scope:
            # The OpenID+OAuth hybrid: the consumer is this site's host name.
            fields["openid.ns.oauth"] = _OAUTH_EXT_NS
            fields["openid.oauth.consumer"] = request.host.split(":")[0]
            fields["openid.oauth.scope"] = oauth_scope
        return fields

    def get_authenticated_user(
        self,
        http_client: AsyncHTTPClient | _UserCallback | None = None,
        *,
        callback: _UserCallback | None = None,
    ) -> asyncio.Future[dict[str, Any]]:
        """Verify the provider's answer on the callback request; resolve to the user.

        The user is a dict with the attributes the provider sent among
        ``name``, ``first_name``, ``last_name``, ``email``, ``locale`` (lower
        case) and ``username``, plus ``claimed_id``.  Raises :class:`AuthError`
        when the login was cancelled or the provider does not vouch for the
        answer.  Returns a future; the classic spelling passes the callback
        as the first argument (or ``callback=``), which then receives the
        user or ``None``.
        """
        if (
            callback is None
            and callable(http_client)
            and not isinstance(http_client, AsyncHTTPClient)
        ):
            http_client, callback = None, http_client
        client = cast("AsyncHTTPClient | None", http_client) or self.get_auth_http_client()
        return _start(self._verify_assertion(client), callback)

    async def _verify_assertion(self, client: AsyncHTTPClient) -> dict[str, Any]:
        handler = cast(RequestHandler, self)
        answer = {
            name: handler.get_argument(name, strip=False)
            for name in handler.request.arguments
            if name.startswith("openid.")
        }
        mode = answer.get("openid.mode")
        if mode != "id_res":
            raise AuthError(f"OpenID login not completed (openid.mode is {mode!r})")
        answer["openid.mode"] = "check_authentication"
        reply = await _fetch(
            client,
            self._OPENID_ENDPOINT,
            "OpenID direct verification",
            body=urllib.parse.urlencode(answer),
        )
        verdict = dict(
            line.partition(":")[::2] for line in reply.body.decode("utf-8", "replace").splitlines()
        )
        if verdict.get("is_valid", "").strip() != "true":
            raise AuthError("the OpenID provider did not confirm this answer")
        return _user_from(answer)


def _user_from(answer: dict[str, str]) -> dict[str, Any]:
    """The user dict from the signed fields of a verified assertion."""
    signed = {f"openid.{name}" for name in answer.get("openid.signed", "").split(",") if name}
    trusted = {name: value for name, value in answer.items() if name in signed}
    alias = next(
        (
            name[len("openid.ns.") :]
            for name, value in trusted.items()
            if name.startswith("openid.ns.") and value == _AX_NS
        ),
        None,
    )
    by_type: dict[str, str] = {}
    if alias is not None:
        type_prefix = f"openid.{alias}.type."
        for name, type_uri in trusted.items():
            if name.startswith(type_prefix):
                value = trusted.get(f"openid.{alias}.value.{name[len(type_prefix) :]}")
                if value is not None:
                    by_type[type_uri] = value

    def attribute(alias_name: str) -> str | None:
        return by_type.get(_AX_URI[alias_name])

    user: dict[str, Any] = {}
    first, last, full = attribute("firstname"), attribute("lastname"), attribute("fullname")
    if first:
        user["first_name"] = first
    if last:
        user["last_name"] = last
    if full or first or last:
        user["name"] = full or " ".join(part for part in (first, last) if part)
    for key, alias_name in (("email", "email"), ("username", "username")):
        value = attribute(alias_name)
        if value:
            user[key] = value
    language = attribute("language")
    if language:
        user["locale"] = language.lower()
    claimed = trusted.get("openid.claimed_id")
    if claimed:
        user["claimed_id"] = claimed
    return user
