"""Local identity providers for the squall.auth tests, and a browser that walks the redirects.

Each provider is a small squall.web application served on 127.0.0.1 by the
test itself; the mixins are pointed at it through their ``_OAUTH_*`` /
``_OPENID_ENDPOINT`` class attributes.  The OAuth 1.0a provider checks every
signature with oauthlib (an implementation independent of squall's) over the
raw query string and body it received, and refuses reused nonces, tokens
and verifiers; the OAuth 2.0 and OpenID providers refuse reused codes and
assertions.  Test modules enable the squall pytest plugin themselves.
"""

from __future__ import annotations

import hashlib
import hmac
import http.cookies
import secrets
import time
import types
import urllib.parse
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from oauthlib.oauth1.rfc5849 import signature as oauthlib_signature
from squall.httpclient import AsyncHTTPClient, HTTPResponse
from squall.httpserver import HTTPServer
from squall.httputil import url_concat
from squall.testing import bind_unused_port
from squall.web import Application, HTTPError, RequestHandler

# Secrets with reserved characters, so that percent-encoding mistakes show.
CONSUMER_KEY = "site key/1"
CONSUMER_SECRET = "c0nsumer&secret=+/%~ é"


def _random_secret() -> str:
    return secrets.token_urlsafe(6) + "&=+/% !*'()"


class Browser:
    """Follows nothing by itself: each hop is one GET, cookies carried like a browser's."""

    def __init__(self) -> None:
        self.client = AsyncHTTPClient(force_instance=True)
        self.jar: dict[str, str] = {}

    async def get(self, url: str, **kwargs: Any) -> HTTPResponse:
        headers = dict(kwargs.pop("headers", {}))
        if self.jar:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.jar.items())
        response = await self.client.fetch(
            url, follow_redirects=False, raise_error=False, headers=headers, **kwargs
        )
        for line in response.headers.get_list("Set-Cookie"):
            jar = http.cookies.SimpleCookie()
            jar.load(line)
            for name, morsel in jar.items():
                if morsel["expires"] or morsel.value == "":
                    self.jar.pop(name, None)
                else:
                    self.jar[name] = morsel.coded_value
        return response

    async def follow(self, url: str, hops: int = 5) -> HTTPResponse:
        """GET ``url`` and the redirects after it (at most ``hops``)."""
        response = await self.get(url)
        for _ in range(hops):
            if response.code not in (301, 302, 303, 307):
                break
            response = await self.get(urllib.parse.urljoin(url, response.headers["Location"]))
            url = response.effective_url
        return response


# -- OAuth 1.0 / 1.0a -----------------------------------------------------------------------


class OAuth1Provider:
    """State of a Twitter-like OAuth 1.0a provider; ``version="1.0"`` for the older flow."""

    def __init__(self, version: str = "1.0a") -> None:
        self.version = version
        self.consumers = {CONSUMER_KEY: CONSUMER_SECRET}
        self.request_tokens: dict[str, dict[str, Any]] = {}
        self.access_tokens: dict[str, str] = {}
        self.nonces: set[tuple[str, str, str]] = set()
        self.verified: list[dict[str, Any]] = []  # one entry per accepted signed call
        self.refusals: list[str] = []
        self.base_url = ""

    def check(self, handler: RequestHandler, token_kind: str | None) -> dict[str, str]:
        """Verify the signature of ``handler``'s request with oauthlib; 401 when it fails."""
        request = handler.request
        query = urllib.parse.urlsplit(request.uri or "").query
        body = request.body.decode() if request.body else ""
        signed = dict(
            oauthlib_signature.collect_parameters(
                uri_query=query, body=body or None, exclude_oauth_signature=False
            )
        )
        consumer_secret = self.consumers.get(signed.get("oauth_consumer_key", ""))
        token_secret = None
        if token_kind is not None:
            token = signed.get("oauth_token", "")
            store = self.request_tokens if token_kind == "request" else self.access_tokens
            entry = store.get(token)
            token_secret = entry["secret"] if isinstance(entry, dict) else entry
        if consumer_secret is None or (token_kind is not None and token_secret is None):
            self._refuse("unknown consumer or token")
        nonce = (
            signed.get("oauth_consumer_key", ""),
            signed.get("oauth_nonce", ""),
            signed.get("oauth_timestamp", ""),
        )
        if nonce in self.nonces:
            self._refuse("nonce used before")
        if abs(int(signed.get("oauth_timestamp", "0")) - time.time()) > 300:
            self._refuse("stale timestamp")
        oauth_request = types.SimpleNamespace(
            uri=request.full_url(),
            http_method=request.method,
            params=oauthlib_signature.collect_parameters(uri_query=query, body=body or None),
            signature=signed.get("oauth_signature", ""),
        )
        if signed.get(
            "oauth_signature_method"
        ) != "HMAC-SHA1" or not oauthlib_signature.verify_hmac_sha1(
            oauth_request, consumer_secret, token_secret
        ):
            self._refuse("bad signature")
        self.nonces.add(nonce)
        self.verified.append({"method": request.method, "path": request.path, "params": signed})
        return signed

    def _refuse(self, why: str) -> None:
        self.refusals.append(why)
        raise HTTPError(401, reason=why.title().replace(" ", "-"))

    def app(self) -> Application:
        provider = self

        class RequestToken(RequestHandler):
            def get(self) -> None:
                signed = provider.check(self, None)
                key, secret = "rt-" + secrets.token_hex(6), _random_secret()
                callback = signed.get("oauth_callback") if provider.version == "1.0a" else None
                provider.request_tokens[key] = {
                    "secret": secret,
                    "callback": callback,
                    "verifier": None,
                }
                self.write(
                    urllib.parse.urlencode(
                        {
                            "oauth_token": key,
                            "oauth_token_secret": secret,
                            "oauth_callback_confirmed": "true",
                        }
                    )
                )

        class Approve(RequestHandler):
            """The user says yes: back to the site with the token (and a verifier in 1.0a)."""

            def get(self) -> None:
                key = self.get_argument("oauth_token")
                entry = provider.request_tokens.get(key)
                if entry is None:
                    raise HTTPError(404)
                target = entry["callback"] or self.get_argument("oauth_callback", None)
                if not target or target == "oob":
                    target = provider.base_url + "/registered-callback"
                query = {"oauth_token": key}
                if provider.version == "1.0a":
                    entry["verifier"] = query["oauth_verifier"] = "v-" + secrets.token_hex(4)
                self.redirect(url_concat(target, query))

        class AccessToken(RequestHandler):
            def get(self) -> None:
                signed = provider.check(self, "request")
                entry = provider.request_tokens.pop(signed["oauth_token"])
                if provider.version == "1.0a" and (
                    entry["verifier"] is None or signed.get("oauth_verifier") != entry["verifier"]
                ):
                    provider._refuse("wrong verifier")
                key, secret = "at-" + secrets.token_hex(6), _random_secret()
                provider.access_tokens[key] = secret
                self.write(
                    urllib.parse.urlencode(
                        {
                            "oauth_token": key,
                            "oauth_token_secret": secret,
                            "screen_name": "ada",
                            "user_id": "42",
                        }
                    )
                )

        class Credentials(RequestHandler):
            def get(self) -> None:
                provider.check(self, "access")
                self.write({"screen_name": "ada", "id": 42, "name": "Ada L."})

        class Echo(RequestHandler):
            def check_xsrf_cookie(self) -> None:
                pass

            def get(self) -> None:
                self.answer()

            def post(self) -> None:
                self.answer()

            def answer(self) -> None:
                signed = provider.check(self, "access")
                self.write({k: v for k, v in signed.items() if not k.startswith("oauth_")})

        return Application(
            [
                (r"/oauth/request_token", RequestToken),
                (r"/oauth/(?:authorize|authenticate)", Approve),
                (r"/oauth/access_token", AccessToken),
                (r"/1.1/account/verify_credentials\.json", Credentials),
                (r"/1.1/.*", Echo),
            ]
        )


# -- OAuth 2.0 ------------------------------------------------------------------------------


class OAuth2Provider:
    """A Google-and-Facebook-like authorization server with one registered client."""

    def __init__(self) -> None:
        self.client_id = "client-1"
        self.client_secret = "s3cret/+="
        self.codes: dict[str, dict[str, str]] = {}
        self.tokens: set[str] = set()
        self.authorize_queries: list[dict[str, str]] = []
        self.graph_calls: list[dict[str, Any]] = []

    def _trade(self, handler: RequestHandler, args: dict[str, str]) -> dict[str, Any]:
        grant = self.codes.pop(args.get("code", ""), None)
        if (
            grant is None
            or args.get("client_id") != self.client_id
            or args.get("client_secret") != self.client_secret
            or args.get("redirect_uri") != grant["redirect_uri"]
        ):
            handler.set_status(400)
            return {"error": "invalid_grant"}
        token = "tok-" + secrets.token_hex(8)
        self.tokens.add(token)
        return {
            "access_token": token,
            "expires_in": 3599,
            "token_type": "Bearer",
            "id_token": "jwt",
        }

    def app(self) -> Application:
        provider = self

        class Authorize(RequestHandler):
            def get(self) -> None:
                query = {k: self.get_argument(k) for k in self.request.arguments}
                provider.authorize_queries.append(query)
                code = "code-" + secrets.token_hex(6)
                provider.codes[code] = {"redirect_uri": query["redirect_uri"]}
                back = {"code": code}
                if "state" in query:
                    back["state"] = query["state"]
                self.redirect(url_concat(query["redirect_uri"], back))

        class GoogleToken(RequestHandler):
            def check_xsrf_cookie(self) -> None:
                pass

            def post(self) -> None:
                if self.request.headers.get("Content-Type") != "application/x-www-form-urlencoded":
                    raise HTTPError(415)
                args = {k: self.get_body_argument(k) for k in self.request.body_arguments}
                if args.get("grant_type") != "authorization_code":
                    raise HTTPError(400)
                self.write(provider._trade(self, args))

        class FacebookToken(RequestHandler):
            def get(self) -> None:
                self.write(
                    provider._trade(self, {k: self.get_argument(k) for k in self.request.arguments})
                )

        class Graph(RequestHandler):
            def check_xsrf_cookie(self) -> None:
                pass

            def get(self, path: str) -> None:
                self.answer(path)

            def post(self, path: str) -> None:
                self.answer(path)

            def answer(self, path: str) -> None:
                query = {k: self.get_query_argument(k) for k in self.request.query_arguments}
                body = {k: self.get_body_argument(k) for k in self.request.body_arguments}
                provider.graph_calls.append(
                    {"method": self.request.method, "path": path, "query": query, "body": body}
                )
                token = query.get("access_token")
                if token not in provider.tokens:
                    raise HTTPError(401)
                if "appsecret_proof" in query:
                    expected = hmac.new(
                        provider.client_secret.encode(), token.encode(), hashlib.sha256
                    ).hexdigest()
                    if not hmac.compare_digest(expected, query["appsecret_proof"]):
                        raise HTTPError(400, reason="Bad-Proof")
                if path == "me" and self.request.method == "GET":
                    everything = {
                        "id": "1001",
                        "name": "Grace H.",
                        "first_name": "Grace",
                        "last_name": "H.",
                        "locale": "en_US",
                        "picture": {"data": {"url": "http://pic"}},
                        "link": "http://me",
                        "email": "grace@example.com",
                    }
                    wanted = query.get("fields", "id,name").split(",")
                    self.write({k: everything[k] for k in wanted if k in everything})
                else:
                    self.write({"path": path, "query": query, "body": body})

        return Application(
            [
                (r"/o/auth", Authorize),
                (r"/o/token", GoogleToken),
                (r"/o/fbtoken", FacebookToken),
                (r"/graph/(.*)", Graph),
            ]
        )


# -- OpenID 2.0 -----------------------------------------------------------------------------

AX = "http://openid.net/srv/ax/1.0"
PERSON = {
    "http://axschema.org/namePerson/first": "Alan",
    "http://axschema.org/namePerson/last": "Turing",
    "http://axschema.org/contact/email": "alan@example.org",
    "http://axschema.org/pref/language": "en_GB",
    "http://axschema.org/namePerson/friendly": "aturing",
}


class OpenIdProvider:
    """Answers ``checkid_setup`` with a signed positive assertion, and verifies it once."""

    def __init__(self) -> None:
        self.key = secrets.token_bytes(16)
        self.used_nonces: set[str] = set()
        self.setup_queries: list[dict[str, str]] = []
        self.verifications: list[dict[str, str]] = []
        self.base_url = ""

    def _sign(self, fields: dict[str, str], signed: list[str]) -> str:
        text = "".join(f"{name}:{fields['openid.' + name]}\n" for name in signed)
        return hmac.new(self.key, text.encode(), hashlib.sha256).hexdigest()

    def app(self) -> Application:
        provider = self

        class Endpoint(RequestHandler):
            def check_xsrf_cookie(self) -> None:
                pass

            def get(self) -> None:
                query = {k: self.get_argument(k) for k in self.request.arguments}
                provider.setup_queries.append(query)
                if query.get("openid.mode") != "checkid_setup":
                    raise HTTPError(400)
                answer = {
                    "openid.ns": "http://specs.openid.net/auth/2.0",
                    "openid.mode": "id_res",
                    "openid.op_endpoint": provider.base_url + "/openid",
                    "openid.claimed_id": "http://id.example/alan",
                    "openid.identity": "http://id.example/alan",
                    "openid.return_to": query["openid.return_to"],
                    "openid.response_nonce": time.strftime("%Y-%m-%dT%H:%M:%SZ")
                    + secrets.token_hex(4),
                    "openid.assoc_handle": "h1",
                    "openid.ns.ext1": AX,
                    "openid.ext1.mode": "fetch_response",
                }
                for name, value in query.items():
                    if name.startswith("openid.ax.type.") and value in PERSON:
                        alias = name.rsplit(".", 1)[1]
                        answer[f"openid.ext1.type.{alias}"] = value
                        answer[f"openid.ext1.value.{alias}"] = PERSON[value]
                signed = [k[len("openid.") :] for k in answer if k != "openid.ns"]
                answer["openid.signed"] = ",".join(signed)
                answer["openid.sig"] = provider._sign(answer, signed)
                self.redirect(url_concat(query["openid.return_to"], answer))

            def post(self) -> None:
                fields = {
                    k: self.get_body_argument(k, strip=False) for k in self.request.body_arguments
                }
                provider.verifications.append(fields)
                valid = fields.get("openid.mode") == "check_authentication"
                signed = fields.get("openid.signed", "").split(",")
                try:
                    # The site sends every field back, mode changed; the signature covered id_res.
                    expected = provider._sign({**fields, "openid.mode": "id_res"}, signed)
                except KeyError:
                    valid = False
                else:
                    valid = valid and hmac.compare_digest(expected, fields.get("openid.sig", ""))
                nonce = fields.get("openid.response_nonce", "")
                if nonce in provider.used_nonces:
                    valid = False
                provider.used_nonces.add(nonce)
                self.set_header("Content-Type", "text/plain")
                self.write(
                    f"ns:http://specs.openid.net/auth/2.0\nis_valid:{'true' if valid else 'false'}\n"
                )

        return Application([(r"/openid", Endpoint)])


# -- fixtures -------------------------------------------------------------------------------


@pytest.fixture
def serve(io_loop: Any) -> Iterator[Callable[[Application], str]]:
    """Start an application on a free 127.0.0.1 port; returns its base URL."""
    servers: list[HTTPServer] = []

    def start(app: Application) -> str:
        sock, port = bind_unused_port()
        server = HTTPServer(app)
        server.add_sockets([sock])
        servers.append(server)
        return f"http://127.0.0.1:{port}"

    yield start
    # The mixins use the loop's shared client, whose pooled keep-alive
    # connections would outlive the test's loop.
    AsyncHTTPClient().close()
    for server in servers:
        server.stop()
        io_loop.run_sync(server.close_all_connections)


@pytest.fixture
def browser(io_loop: Any) -> Iterator[Browser]:
    agent = Browser()
    yield agent
    agent.client.close()


@pytest.fixture
def oauth1_provider(serve: Callable[[Application], str]) -> OAuth1Provider:
    provider = OAuth1Provider()
    provider.base_url = serve(provider.app())
    return provider


@pytest.fixture
def oauth10_provider(serve: Callable[[Application], str]) -> OAuth1Provider:
    provider = OAuth1Provider(version="1.0")
    provider.base_url = serve(provider.app())
    return provider


@pytest.fixture
def oauth2_provider(serve: Callable[[Application], str]) -> tuple[OAuth2Provider, str]:
    provider = OAuth2Provider()
    return provider, serve(provider.app())


@pytest.fixture
def openid_provider(serve: Callable[[Application], str]) -> OpenIdProvider:
    provider = OpenIdProvider()
    provider.base_url = serve(provider.app())
    return provider
