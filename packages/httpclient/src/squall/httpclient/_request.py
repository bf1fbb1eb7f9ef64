"""The request object (:class:`HTTPRequest`) and the merging of client-wide defaults."""

from __future__ import annotations

import datetime
import time
from collections.abc import Awaitable, Callable
from typing import Any

from squall.escape import utf8
from squall.httputil import HTTPHeaders, format_timestamp

__all__ = ["HTTPRequest"]

#: What an option left at ``None`` means when neither the request nor the
#: client's ``defaults`` give it a value.
_BUILTIN_DEFAULTS: dict[str, Any] = {
    "connect_timeout": 20.0,
    "request_timeout": 20.0,
    "follow_redirects": True,
    "max_redirects": 5,
    "decompress_response": True,
    "proxy_password": "",
    "allow_nonstandard_methods": False,
    "validate_cert": True,
}


#: Constructor arguments kept on the request exactly as given.
_STORED_AS_GIVEN = (
    "url",
    "method",
    "body_producer",
    "auth_username",
    "auth_password",
    "auth_mode",
    "connect_timeout",
    "request_timeout",
    "follow_redirects",
    "max_redirects",
    "user_agent",
    "decompress_response",
    "network_interface",
    "streaming_callback",
    "header_callback",
    "prepare_curl_callback",
    "proxy_host",
    "proxy_port",
    "proxy_username",
    "proxy_password",
    "proxy_auth_mode",
    "allow_nonstandard_methods",
    "validate_cert",
    "ca_certs",
    "allow_ipv6",
    "client_key",
    "client_cert",
    "ssl_options",
    "expect_100_continue",
    "http2",
)


class HTTPRequest:
    """One HTTP request: the URL and every option that governs how it is fetched.

    Only ``url`` is required.  Options left at ``None`` take the value from the
    client's ``defaults`` (see :class:`AsyncHTTPClient`), then the built-in
    defaults: ``connect_timeout`` and ``request_timeout`` 20 seconds,
    ``follow_redirects`` True, ``max_redirects`` 5, ``decompress_response``
    True, ``validate_cert`` True, ``allow_nonstandard_methods`` False.

    Highlights: ``body`` (str or bytes) or ``body_producer`` (an async
    function given a ``write`` callable) for the request body;
    ``streaming_callback`` receives body pieces instead of buffering them;
    ``header_callback`` receives each header line (start line first, blank
    line last); ``auth_mode`` ``"basic"`` (``"digest"`` with the curl client);
    ``proxy_host``/``proxy_port`` (+ ``proxy_username``/``proxy_password``)
    send the request through an HTTP proxy (a CONNECT tunnel for https);
    ``ssl_options`` (dict or :class:`ssl.SSLContext`) overrides ``validate_cert``,
    ``ca_certs``, ``client_key`` and ``client_cert``; ``expect_100_continue``
    waits for the server's go-ahead before sending the body;
    ``if_modified_since`` (datetime or timestamp) adds an
    ``If-Modified-Since`` header.  ``use_gzip`` is the old name of
    ``decompress_response``.

    ``http2`` (a squall addition, honoured by the simple client) chooses the
    protocol: ``None`` or ``"auto"`` offers HTTP/2 by ALPN on ``https`` URLs
    when the ``h2`` package is installed (``squall-httpclient[http2]``) and
    speaks HTTP/1.1 when the server prefers it; ``True`` requires HTTP/2 (the
    fetch fails if the server does not agree, and ``http`` URLs use h2c with
    prior knowledge); ``False`` keeps to HTTP/1.1.  Requests through a proxy
    always use HTTP/1.1.
    """

    allow_ipv6: bool | None
    allow_nonstandard_methods: bool | None
    auth_mode: str | None
    auth_password: str | None
    auth_username: str | None
    body_producer: Callable[[Callable[[bytes], None]], Awaitable[None]] | None
    ca_certs: str | None
    client_cert: str | None
    client_key: str | None
    connect_timeout: float | None
    decompress_response: bool | None
    expect_100_continue: bool
    follow_redirects: bool | None
    http2: bool | str | None
    header_callback: Callable[[str], None] | None
    max_redirects: int | None
    method: str
    network_interface: str | None
    prepare_curl_callback: Callable[[Any], None] | None
    proxy_auth_mode: str | None
    proxy_host: str | None
    proxy_password: str | None
    proxy_port: int | None
    proxy_username: str | None
    request_timeout: float | None
    ssl_options: dict[str, Any] | Any | None
    streaming_callback: Callable[[bytes], None] | None
    url: str
    user_agent: str | None
    validate_cert: bool | None

    def __init__(
        self,
        url: str,
        method: str = "GET",
        headers: dict[str, str] | HTTPHeaders | None = None,
        body: bytes | str | None = None,
        auth_username: str | None = None,
        auth_password: str | None = None,
        auth_mode: str | None = None,
        connect_timeout: float | None = None,
        request_timeout: float | None = None,
        if_modified_since: datetime.datetime | float | None = None,
        follow_redirects: bool | None = None,
        max_redirects: int | None = None,
        user_agent: str | None = None,
        use_gzip: bool | None = None,
        network_interface: str | None = None,
        streaming_callback: Callable[[bytes], None] | None = None,
        header_callback: Callable[[str], None] | None = None,
        prepare_curl_callback: Callable[[Any], None] | None = None,
        proxy_host: str | None = None,
        proxy_port: int | None = None,
        proxy_username: str | None = None,
        proxy_password: str | None = None,
        proxy_auth_mode: str | None = None,
        allow_nonstandard_methods: bool | None = None,
        validate_cert: bool | None = None,
        ca_certs: str | None = None,
        allow_ipv6: bool | None = None,
        client_key: str | None = None,
        client_cert: str | None = None,
        body_producer: Callable[[Callable[[bytes], None]], Awaitable[None]] | None = None,
        expect_100_continue: bool = False,
        decompress_response: bool | None = None,
        ssl_options: dict[str, Any] | Any | None = None,
        http2: bool | str | None = None,
    ) -> None:
        given = locals()
        state = self.__dict__
        for name in _STORED_AS_GIVEN:
            state[name] = given[name]
        # headers and body go through their setters (dict -> HTTPHeaders, str -> bytes).
        self.headers = headers
        self.body = body
        if decompress_response is None:
            state["decompress_response"] = use_gzip
        if if_modified_since:
            self.headers["If-Modified-Since"] = format_timestamp(if_modified_since)
        #: Wall-clock time (``time.time()``) when the request object was made.
        self.start_time = time.time()
        self._start_time = time.monotonic()

    @property
    def headers(self) -> HTTPHeaders:
        """The request headers (an :class:`~squall.httputil.HTTPHeaders`; a dict is converted)."""
        return self._headers

    @headers.setter
    def headers(self, value: dict[str, str] | HTTPHeaders | None) -> None:
        if value is None:
            self._headers = HTTPHeaders()
        elif isinstance(value, HTTPHeaders):
            self._headers = value
        else:
            self._headers = HTTPHeaders(value)

    @property
    def body(self) -> bytes:
        """The request body as bytes (a str is encoded as UTF-8); ``None`` stays ``None``."""
        return self._body  # type: ignore[return-value]

    @body.setter
    def body(self, value: bytes | str | None) -> None:
        self._body = utf8(value)

    def __repr__(self) -> str:
        return f"HTTPRequest({self.method} {self.url})"


def _resolved(request: HTTPRequest, defaults: dict[str, Any] | None) -> HTTPRequest:
    """A shallow copy of ``request`` whose unset (``None``) options are filled in.

    Values come from ``defaults`` (the client's), then :data:`_BUILTIN_DEFAULTS`.
    The caller's object is left untouched, so one request can go to clients
    configured differently.
    """
    merged = object.__new__(HTTPRequest)
    merged.__dict__.update(request.__dict__)
    _fill_defaults(merged.__dict__, defaults)
    return merged


def _fill_defaults(state: dict[str, Any], defaults: dict[str, Any] | None) -> None:
    """Give the unset (``None``) options in a request's ``state`` their default values."""
    if defaults:
        for name, value in defaults.items():
            # Defaults may also name attributes a request does not have (never headers/body).
            if state.get(name) is None and name not in ("headers", "body"):
                state[name] = value
    for name, value in _BUILTIN_DEFAULTS.items():
        if state.get(name) is None:
            state[name] = value
