"""OAuth 1.0 request signing, HMAC-SHA1, as RFC 5849 section 3.4 spells it.

A signature covers three things joined by ``&``, each percent-encoded: the
upper-case method, the base URI (lower-case scheme and host, no default port,
no query) and the normalized parameters, which are every query parameter of
the URL plus the ``oauth_*`` protocol parameters plus the form-encoded body,
each name and value percent-encoded, sorted, paired with ``=`` and joined
with ``&``.  The key is the consumer secret and the token secret, encoded
and joined with ``&`` (the token part empty before a token exists).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import time
from collections.abc import Iterable, Mapping
from typing import Any
from urllib.parse import parse_qsl, quote, urlsplit

__all__ = ["_oauth_signature", "_protocol_parameters"]

_DEFAULT_PORTS = {"http": 80, "https": 443}


def _percent(value: Any) -> str:
    """RFC 5849 section 3.6: UTF-8, then %XX for all but ALPHA DIGIT ``-._~``."""
    if isinstance(value, bytes):
        value = value.decode("utf-8")
    elif not isinstance(value, str):
        value = str(value)
    return quote(value, safe="~")


def _base_uri(url: str) -> str:
    """Section 3.4.1.2: the URL with its query and fragment cut, host in lower case."""
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").lower()
    if ":" in host:
        host = f"[{host}]"
    if parts.port is not None and parts.port != _DEFAULT_PORTS.get(scheme):
        host = f"{host}:{parts.port}"
    # The path as it goes on the wire: characters a URI cannot hold are escaped,
    # escapes already there are kept.
    path = quote(parts.path or "/", safe="/%:@!$&'()*+,;=~")
    return f"{scheme}://{host}{path}"


def _normalized(url: str, parameters: Iterable[tuple[str, Any]]) -> str:
    """Section 3.4.1.3: the URL's own query pairs plus ``parameters``, encoded and sorted."""
    pairs = [
        (_percent(name), _percent(value))
        for name, value in [*parse_qsl(urlsplit(url).query, keep_blank_values=True), *parameters]
        if name != "oauth_signature"
    ]
    pairs.sort()
    return "&".join(f"{name}={value}" for name, value in pairs)


def _base_string(method: str, url: str, parameters: Iterable[tuple[str, Any]]) -> str:
    """Section 3.4.1: what the signature covers."""
    parts = (method.upper(), _base_uri(url), _normalized(url, parameters))
    return "&".join(_percent(part) for part in parts)


def _pairs(
    parameters: Mapping[str, Any] | Iterable[tuple[str, Any]] | None,
) -> list[tuple[str, Any]]:
    if parameters is None:
        return []
    if isinstance(parameters, Mapping):
        return list(parameters.items())
    return list(parameters)


def _oauth_signature(
    consumer_token: Mapping[str, Any],
    method: str,
    url: str,
    parameters: Mapping[str, Any] | Iterable[tuple[str, Any]] | None = None,
    token: Mapping[str, Any] | None = None,
) -> str:
    """The base64 HMAC-SHA1 signature of one request (RFC 5849 section 3.4.2).

    ``consumer_token`` and ``token`` are dicts with a ``secret`` entry;
    ``parameters`` holds the ``oauth_*`` parameters and any form-encoded body
    parameters (query parameters are read from ``url`` itself).
    """
    text = _base_string(method, url, _pairs(parameters))
    key = f"{_percent(consumer_token['secret'])}&{_percent(token['secret'] if token else '')}"
    digest = hmac.new(key.encode("utf-8"), text.encode("utf-8"), hashlib.sha1).digest()
    return base64.b64encode(digest).decode("ascii")


def _protocol_parameters(consumer_key: str, token_key: str | None = None) -> dict[str, str]:
    """The unsigned ``oauth_*`` parameters every request carries (a fresh nonce each time)."""
    fields = {
        "oauth_consumer_key": consumer_key,
        "oauth_signature_method": "HMAC-SHA1",
        "oauth_timestamp": str(int(time.time())),
        "oauth_nonce": secrets.token_hex(16),
        "oauth_version": "1.0",
    }
    if token_key is not None:
        fields["oauth_token"] = token_key
    return fields
