"""A tiny OAuth 2.0 provider ("squall ID") for the auth demo: authorization code grant only.

Three endpoints, after RFC 6749 §4.1 and the way Google's work:

* ``GET {base}/authorize``: checks ``client_id``, ``redirect_uri`` and
  ``response_type=code``, then shows a consent page (who you are here, and
  Allow / Deny). The XSRF-protected POST sends the browser back to
  ``redirect_uri`` with a one-time ``code`` (or ``error=access_denied``) and
  the client's ``state``.
* ``POST {base}/token``: the client trades the code, with its secret, for an
  access token (JSON). Codes live a minute and work once.
* ``GET {base}/userinfo``: the signed-in person's ``sub``, ``name`` and
  ``email``, for ``Authorization: Bearer <token>`` or ``?access_token=``.

Everything is kept in memory: one registered client, the pending codes and
the tokens. It is a teaching aid, not an identity server.
"""

from __future__ import annotations

import dataclasses
import secrets
import time
import urllib.parse
from typing import Any

import squall.web
from squall.httputil import url_concat

CODE_SECONDS = 60
TOKEN_SECONDS = 3600


@dataclasses.dataclass
class Client:
    client_id: str
    secret: str
    name: str
    redirect_path: str  # the one redirect_uri path it registered (any host: the demo moves)


@dataclasses.dataclass
class Grant:
    client_id: str
    redirect_uri: str
    person: str
    expires: float


class Provider:
    """The provider's state: its registered client, pending codes and issued tokens."""

    def __init__(self, client: Client) -> None:
        self.clients = {client.client_id: client}
        self.codes: dict[str, Grant] = {}
        self.tokens: dict[str, Grant] = {}

    def issue(self, store: dict[str, Grant], grant: Grant) -> str:
        for key in [k for k, g in store.items() if g.expires < time.monotonic()]:
            del store[key]  # forget what has run out
        value = secrets.token_urlsafe(24)
        store[value] = grant
        return value


def person_info(person: str) -> dict[str, str]:
    handle = "".join(ch for ch in person.lower() if ch.isalnum()) or "someone"
    return {"sub": handle, "name": person, "email": f"{handle}@id.squall.example"}


class ProviderHandler(squall.web.RequestHandler):
    def initialize(self, provider: Provider, base: str) -> None:
        self.provider = provider
        self.base = base

    def answer(self, status: int, body: dict[str, Any]) -> None:
        self.set_status(status)
        self.set_header("Cache-Control", "no-store")
        self.finish(body)


class AuthorizeHandler(ProviderHandler):
    """The consent page (GET) and the person's answer (POST)."""

    def _request(self) -> tuple[Client, str, str]:
        client = self.provider.clients.get(self.get_argument("client_id", ""))
        redirect_uri = self.get_argument("redirect_uri", "")
        if client is None or urllib.parse.urlsplit(redirect_uri).path != client.redirect_path:
            # never redirect to an address the client did not register
            raise squall.web.HTTPError(400, "unknown client_id or redirect_uri")
        if self.get_argument("response_type", "") != "code":
            raise squall.web.HTTPError(400, "only response_type=code is supported")
        return client, redirect_uri, self.get_argument("state", "")

    def get(self) -> None:
        client, redirect_uri, state = self._request()
        self.render(
            "consent.html",
            client=client,
            redirect_uri=redirect_uri,
            state=state,
            scope=self.get_argument("scope", ""),
            person=(self.get_signed_cookie("squall_id") or b"").decode(),
            action=self.base + "/authorize",
        )

    def post(self) -> None:
        client, redirect_uri, state = self._request()
        back: dict[str, str] = {"state": state} if state else {}
        person = self.get_body_argument("person", "", strip=True)[:40]
        if self.get_body_argument("decision", "") != "allow":
            self.redirect(url_concat(redirect_uri, {"error": "access_denied", **back}))
            return
        if not person:
            raise squall.web.HTTPError(400, "say who you are")
        self.set_signed_cookie("squall_id", person, httponly=True, path=self.base + "/")
        grant = Grant(client.client_id, redirect_uri, person, time.monotonic() + CODE_SECONDS)
        code = self.provider.issue(self.provider.codes, grant)
        self.redirect(url_concat(redirect_uri, {"code": code, **back}))


class TokenHandler(ProviderHandler):
    """Code for token, server to server (so no XSRF cookie: the client secret is the proof)."""

    def check_xsrf_cookie(self) -> None:
        pass

    def post(self) -> None:
        client = self.provider.clients.get(self.get_body_argument("client_id", ""))
        if client is None or not secrets.compare_digest(
            client.secret, self.get_body_argument("client_secret", "")
        ):
            return self.answer(401, {"error": "invalid_client"})
        if self.get_body_argument("grant_type", "") != "authorization_code":
            return self.answer(400, {"error": "unsupported_grant_type"})
        grant = self.provider.codes.pop(self.get_body_argument("code", ""), None)
        if (
            grant is None
            or grant.expires < time.monotonic()
            or grant.client_id != client.client_id
            or grant.redirect_uri != self.get_body_argument("redirect_uri", "")
        ):
            return self.answer(400, {"error": "invalid_grant"})
        lasting = dataclasses.replace(grant, expires=time.monotonic() + TOKEN_SECONDS)
        token = self.provider.issue(self.provider.tokens, lasting)
        return self.answer(
            200, {"access_token": token, "token_type": "Bearer", "expires_in": TOKEN_SECONDS}
        )


class UserInfoHandler(ProviderHandler):
    def get(self) -> None:
        header = self.request.headers.get("Authorization", "")
        token = (
            header[7:] if header.startswith("Bearer ") else self.get_argument("access_token", "")
        )
        grant = self.provider.tokens.get(token)
        if grant is None or grant.expires < time.monotonic():
            self.set_header("WWW-Authenticate", 'Bearer error="invalid_token"')
            return self.answer(401, {"error": "invalid_token"})
        return self.answer(200, person_info(grant.person))


def provider_routes(base: str, provider: Provider) -> list[tuple[str, type, dict[str, Any]]]:
    """The provider's URL rules, all under ``base`` (like ``/auth/provider``)."""
    shared = {"provider": provider, "base": base}
    return [
        (base + "/authorize", AuthorizeHandler, shared),
        (base + "/token", TokenHandler, shared),
        (base + "/userinfo", UserInfoHandler, shared),
    ]
