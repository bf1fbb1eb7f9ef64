"""SimpleAsyncHTTPClient: scheduling, deadlines, the connection pool, request bytes, dialing."""

from __future__ import annotations

import asyncio
import base64
import collections
import socket
import ssl
import time
from collections.abc import Callable
from typing import Any, cast
from urllib.parse import urlsplit

from squall.http1connection._codec import H1Limits, H1Reader
from squall.http1connection._events import NEED_DATA, Head
from squall.httpclient._client import AsyncHTTPClient
from squall.httpclient._request import HTTPRequest
from squall.httpclient._response import HTTPClientError, HTTPResponse
from squall.httputil import (
    HTTPHeaders,
    HTTPOutputError,
    RequestStartLine,
    ResponseStartLine,
    encode_username_password,
)
from squall.netutil import Resolver, is_valid_ip, ssl_options_to_context

from ._fetch import _Fetch
from ._h2 import _Session
from ._link import HTTPStreamClosedError, HTTPTimeoutError, _Link

__all__ = ["SimpleAsyncHTTPClient"]

_KNOWN_METHODS = frozenset(("GET", "HEAD", "POST", "DELETE", "PATCH", "PUT", "OPTIONS"))
_NEEDS_BODY = frozenset(("POST", "PATCH", "PUT"))
_DEFAULT_PORTS = {"http": 80, "https": 443}
_USER_AGENT = "squall/0.1.0"
#: Pooled connections unused for this long are closed (servers drop them sooner or later).
_IDLE_SECONDS = 30.0
_NEVER = float("inf")
#: The deadline sweep may run this early (the loop's clock granularity).
_SLACK = 0.001
_ROUTE_CACHE = 512
#: scheme, host to dial, port, Host field, request target, URL credentials, fixed fields.
_Route = tuple[str, str, int, str, str, "tuple[str, str] | None", str]


class _Pool:
    """Idle keep-alive connections by destination key, most recently used first out."""

    def __init__(self, per_key: int) -> None:
        self.per_key = per_key
        self.idle: dict[tuple[Any, ...], list[_Link]] = {}
        self._sweeper: asyncio.TimerHandle | None = None

    def take(self, key: tuple[Any, ...]) -> _Link | None:
        links = self.idle.get(key)
        while links:
            link = links.pop()
            if link.usable() and time.monotonic() - link.idle_since < _IDLE_SECONDS:
                return link
            link.drop()
        return None

    def give(self, key: tuple[Any, ...], link: _Link) -> None:
        links = self.idle.get(key)
        if links is None:
            links = self.idle[key] = []
        if len(links) >= self.per_key:
            link.drop()
            return
        link.idle_since = time.monotonic()
        links.append(link)
        if self._sweeper is None:
            loop = asyncio.get_running_loop()
            self._sweeper = loop.call_later(_IDLE_SECONDS, self._sweep)

    def _sweep(self) -> None:
        self._sweeper = None
        now = time.monotonic()
        left = 0
        for key, links in list(self.idle.items()):
            fresh = [x for x in links if x.usable() and now - x.idle_since < _IDLE_SECONDS]
            for link in links:
                if link not in fresh:
                    link.drop()
            if fresh:
                self.idle[key] = fresh
                left += len(fresh)
            else:
                del self.idle[key]
        if left:
            self._sweeper = asyncio.get_running_loop().call_later(_IDLE_SECONDS, self._sweep)

    def close(self) -> None:
        if self._sweeper is not None:
            self._sweeper.cancel()
            self._sweeper = None
        for links in self.idle.values():
            for link in links:
                link.drop()
        self.idle.clear()


class SimpleAsyncHTTPClient(AsyncHTTPClient):
    """The pure-Python client: HTTP/1.1 over asyncio transports, with keep-alive pooling.

    Beyond Tornado's simple client: connections are kept alive and reused per
    destination (scheme, host, port, TLS settings, proxy), never after
    ``Connection: close``, an unread body, an error or a timeout; a pooled
    connection found closed by the server is retried once on a new one for
    idempotent methods.  Idle connections are closed after 30 seconds.
    With the ``h2`` package installed (``squall-httpclient[http2]``), ``https``
    origins that agree by ALPN are fetched over HTTP/2, one multiplexed
    connection per origin (see ``HTTPRequest``'s ``http2`` option).
    ``proxy_host``/``proxy_port`` work: plain requests for ``http://`` URLs,
    a CONNECT tunnel for ``https://``, with basic proxy authentication.

    ``max_clients`` bounds the requests in progress; more wait in a queue,
    and ``request_timeout`` counts the time spent there.
    ``hostname_mapping`` maps host names to others (or to addresses) before
    connecting; ``max_buffer_size`` bounds a buffered body (no limit applies
    to a ``streaming_callback``), ``max_body_size`` bounds every body,
    ``max_header_size`` the response head; ``resolver`` is the
    :class:`~squall.netutil.Resolver` to use (closed with the client only if
    the client made it).
    """

    def initialize(  # type: ignore[override]
        self,
        max_clients: int = 10,
        hostname_mapping: dict[str, str] | None = None,
        max_buffer_size: int = 104857600,
        resolver: Resolver | None = None,
        defaults: dict[str, Any] | None = None,
        max_header_size: int | None = None,
        max_body_size: int | None = None,
    ) -> None:
        super().initialize(defaults=defaults)
        self.max_clients = max_clients
        self.hostname_mapping = dict(hostname_mapping) if hostname_mapping else {}
        self.max_buffer_size = max_buffer_size
        self.max_header_size = max_header_size
        self.max_body_size = max_body_size
        self._own_resolver = resolver is None
        self.resolver: Resolver = resolver if resolver is not None else Resolver()
        self._limits = H1Limits(
            max_header_size=max_header_size or 65536, max_body_size=max_body_size
        )
        limit = max_buffer_size
        if max_body_size is not None:
            limit = min(limit, max_body_size)
        self._body_limit = limit
        self._active = 0
        self._waiting: collections.deque[_Fetch] = collections.deque()
        self._live: dict[_Fetch, None] = {}
        self._pool = _Pool(per_key=max(max_clients, 1))
        self._contexts: dict[tuple[Any, ...], ssl.SSLContext] = {}
        self._routes: dict[tuple[str, str | None, bool | None], _Route] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._alarm: asyncio.TimerHandle | None = None
        self._alarm_at = _NEVER
        #: HTTP/2 sessions by origin key, and origins known to answer ALPN with HTTP/1.1.
        self._h2: dict[tuple[Any, ...], _Session] = {}
        self._h1_origins: set[tuple[Any, ...]] = set()

    def close(self) -> None:
        super().close()
        self._pool.close()
        if self._alarm is not None:
            self._alarm.cancel()
            self._alarm = None
        for fetch in list(self._live):
            fetch.fail(HTTPStreamClosedError("Client closed"))
        for session in list(self._h2.values()):
            session.shut()
        for task in list(self._tasks):
            task.cancel()
        if self._own_resolver:
            self.resolver.close()

    # -- scheduling -------------------------------------------------------------

    def fetch_impl(self, request: HTTPRequest, callback: Callable[[HTTPResponse], None]) -> None:
        loop = self._loop
        if loop is None:
            loop = self._loop = asyncio.get_running_loop()
        timeout = request.request_timeout
        fetch = _Fetch(self, request, callback, loop.time() + timeout if timeout else _NEVER)
        if self._active < self.max_clients:
            self._active += 1
            self._live[fetch] = None
            fetch.begin()
            return
        patience = min(request.connect_timeout or _NEVER, timeout or _NEVER)
        if patience < _NEVER:
            fetch.timer = loop.call_later(patience, self._queue_timeout, fetch)
        self._waiting.append(fetch)

    def _queue_timeout(self, fetch: _Fetch) -> None:
        try:
            self._waiting.remove(fetch)
        except ValueError:
            return
        fetch.over = True
        error = HTTPTimeoutError("Timeout in request queue")
        request = fetch.request
        fetch.callback(
            HTTPResponse(
                request,
                599,
                error=error,
                request_time=time.monotonic() - request._start_time,
                start_time=request.start_time,
            )
        )

    def _next_waiting(self) -> None:
        """A fetch ended: start queued ones while there is room."""
        self._active -= 1
        waiting = self._waiting
        while waiting and self._active < self.max_clients:
            fetch = waiting.popleft()
            if fetch.timer is not None:
                fetch.timer.cancel()
            self._active += 1
            self._live[fetch] = None
            fetch.begin()

    def _watch(self, deadline: float) -> None:
        """Make sure the deadline sweep runs no later than ``deadline``."""
        if deadline < self._alarm_at:
            if self._alarm is not None:
                self._alarm.cancel()
            self._alarm_at = deadline
            assert self._loop is not None
            self._alarm = self._loop.call_at(deadline, self._sweep)

    def _sweep(self) -> None:
        """Time out every exchange past its deadline; one timer serves all fetches."""
        self._alarm = None
        self._alarm_at = _NEVER
        assert self._loop is not None
        now = self._loop.time() + _SLACK
        soonest = _NEVER
        for fetch in list(self._live):
            if fetch.link is None and fetch.stream is None:
                continue  # dialing: asyncio.wait_for keeps that time
            if fetch.deadline <= now:
                fetch.expire()
            elif fetch.deadline < soonest:
                soonest = fetch.deadline
        if soonest < _NEVER:
            self._watch(soonest)

    # -- the request bytes ----------------------------------------------------------

    def _prepare(self, fetch: _Fetch) -> None:
        """Route ``fetch``'s current request and build its bytes (or its head for a task)."""
        request = fetch.request
        spot = (request.url, request.user_agent, request.decompress_response)
        route = self._routes.get(spot)
        if route is None:
            route = self._route(request)
            if len(self._routes) >= _ROUTE_CACHE:
                self._routes.clear()
            self._routes[spot] = route
        scheme, host, port, netloc, target, userinfo, fixed = route
        method = request.method
        body: bytes | None = request.body
        if not request.allow_nonstandard_methods:
            if method not in _KNOWN_METHODS:
                raise ValueError(
                    f"unknown method {method!r} (allow_nonstandard_methods=True allows it)"
                )
            has_body = request.body_producer is not None or body is not None
            if method in _NEEDS_BODY and not has_body:
                raise ValueError(f"a {method} request needs a body (or body_producer)")
            if method not in _NEEDS_BODY and body is not None and method != "DELETE":
                raise ValueError(f"a {method} request cannot have a body")
        tls = self._tls_key(request) if scheme == "https" else None
        proxy = None
        if request.proxy_host:
            proxy = (request.proxy_host, request.proxy_port or 80, request.proxy_username or "")
        fetch.key = (scheme, host, port, tls, proxy, request.network_interface, request.allow_ipv6)
        fetch.dest = (host, port, tls)
        fetch.host = netloc
        headers = request.headers
        if (
            not headers
            and body is None
            and proxy is None
            and userinfo is None
            and request.auth_username is None
            and not request.expect_100_continue
            and request.body_producer is None
        ):
            # The common case: a pre-built block of the fields the client adds.
            fetch.keep = True
            fetch.head = None
            fetch.wire = _encode(
                f"{method} {target} HTTP/1.1\r\n{fixed}\r\n", fixed.count("\n") + 2
            )
            return
        self._complete_headers(request, headers, netloc, userinfo)
        if proxy is not None and tls is None:
            target = request.url.split("#", 1)[0]
            proxy_auth = _proxy_authorization(request)
            if proxy_auth:
                headers["Proxy-Authorization"] = proxy_auth
        if body is not None:
            headers["Content-Length"] = str(len(body))
            if method == "POST" and "Content-Type" not in headers:
                headers["Content-Type"] = "application/x-www-form-urlencoded"
        if request.expect_100_continue:
            headers["Expect"] = "100-continue"
        connection = headers.get("Connection")
        fetch.keep = connection is None or "close" not in connection.lower()
        if request.expect_100_continue or request.body_producer is not None:
            fetch.wire = None
            fetch.head = (RequestStartLine(method, target, "HTTP/1.1"), headers)
            return
        lines = [f"{method} {target} HTTP/1.1\r\n"]
        lines += [f"{name}: {value}\r\n" for name, value in headers.get_all()]
        lines.append("\r\n")
        wire = _encode("".join(lines), len(lines))
        fetch.head = None
        fetch.wire = wire if body is None else wire + body

    def _route(self, request: HTTPRequest) -> _Route:
        parts = urlsplit(request.url)
        scheme = parts.scheme.lower()
        if scheme not in _DEFAULT_PORTS:
            raise ValueError(f"Unsupported URL scheme in {request.url!r}")
        host = parts.hostname
        if not host:
            raise ValueError(f"No host in URL {request.url!r}")
        port = parts.port or _DEFAULT_PORTS[scheme]
        netloc = parts.netloc.rpartition("@")[2]
        target = (parts.path or "/") + ("?" + parts.query if parts.query else "")
        userinfo = None
        if parts.username is not None:
            userinfo = (parts.username, parts.password or "")
        fixed = f"Host: {netloc}\r\nUser-Agent: {request.user_agent or _USER_AGENT}\r\n"
        if request.decompress_response:
            fixed += "Accept-Encoding: gzip\r\n"
        host = self.hostname_mapping.get(host, host)
        return (scheme, host, port, netloc, target, userinfo, fixed)

    @staticmethod
    def _complete_headers(
        request: HTTPRequest,
        headers: HTTPHeaders,
        netloc: str,
        userinfo: tuple[str, str] | None,
    ) -> None:
        """Add the fields the client supplies (Host, User-Agent, gzip, basic auth) to ``headers``."""
        if "Host" not in headers:
            headers["Host"] = netloc
        if "User-Agent" not in headers:
            headers["User-Agent"] = request.user_agent or _USER_AGENT
        if request.decompress_response and "Accept-Encoding" not in headers:
            headers["Accept-Encoding"] = "gzip"
        username, password = request.auth_username, request.auth_password
        if username is None and userinfo is not None:
            username, password = userinfo
        if username is not None:
            if request.auth_mode not in (None, "basic"):
                raise ValueError(f"unsupported auth_mode {request.auth_mode!r}")
            token = base64.b64encode(encode_username_password(username, password or ""))
            headers["Authorization"] = "Basic " + token.decode("ascii")

    # -- connecting -----------------------------------------------------------------

    def _tls_key(self, request: HTTPRequest) -> tuple[Any, ...]:
        options = request.ssl_options
        if isinstance(options, ssl.SSLContext):
            return ("context", id(options))
        if isinstance(options, dict):
            return ("dict", tuple(sorted((k, repr(v)) for k, v in options.items())))
        return (
            "plain",
            bool(request.validate_cert),
            request.ca_certs,
            request.client_cert,
            request.client_key,
        )

    def _tls_context(
        self, request: HTTPRequest, key: tuple[Any, ...], alpn: list[str] | None = None
    ) -> ssl.SSLContext:
        if alpn:
            key = (*key, *alpn)
        context = self._contexts.get(key)
        if context is not None:
            return context
        options = request.ssl_options
        if isinstance(options, ssl.SSLContext):
            return options
        if isinstance(options, dict):
            context = ssl_options_to_context(options, server_side=False)
        else:
            context = ssl.create_default_context(cafile=request.ca_certs)
            if not request.validate_cert:
                context.check_hostname = False
                context.verify_mode = ssl.CERT_NONE
            if request.client_cert is not None:
                context.load_cert_chain(request.client_cert, request.client_key)
        if alpn:
            context.set_alpn_protocols(alpn)
        self._contexts[key] = context
        return context

    async def _dial(
        self,
        fetch: _Fetch,
        factory: Callable[[], asyncio.BaseProtocol] | None = None,
        alpn: list[str] | None = None,
    ) -> Any:
        """Connect for ``fetch``: a :class:`_Link`, or what ``factory`` makes (HTTP/2)."""
        request = fetch.request
        host, port, tls = fetch.dest
        loop = asyncio.get_running_loop()
        budget = min(request.connect_timeout or _NEVER, fetch.deadline - loop.time())
        context = self._tls_context(request, tls, alpn) if tls is not None else None
        try:
            return await asyncio.wait_for(
                self._open(request, host, port, context, factory), timeout=max(budget, 0)
            )
        except asyncio.TimeoutError:
            raise HTTPTimeoutError("Timeout while connecting") from None
        except ssl.SSLError as e:
            raise HTTPClientError(599, f"TLS handshake with {host}:{port} failed: {e}") from None
        except ssl.CertificateError as e:
            raise HTTPClientError(599, f"TLS certificate of {host}:{port} refused: {e}") from None

    async def _open(
        self,
        request: HTTPRequest,
        host: str,
        port: int,
        context: ssl.SSLContext | None,
        factory: Callable[[], asyncio.BaseProtocol] | None = None,
    ) -> Any:
        loop = asyncio.get_running_loop()
        if request.proxy_host:
            peer_host, peer_port = request.proxy_host, request.proxy_port or 80
        else:
            peer_host, peer_port = host, port
        family = socket.AF_UNSPEC if request.allow_ipv6 is not False else socket.AF_INET
        if is_valid_ip(peer_host) and self._own_resolver:
            addresses: list[tuple[int, Any]] = [(family, (peer_host, peer_port))]
        else:
            addresses = await self.resolver.resolve(peer_host, peer_port, family)
        local = (request.network_interface, 0) if request.network_interface else None
        tunnel = context is not None and bool(request.proxy_host)
        last: Exception | None = None
        link: Any
        for _, address in addresses:
            try:
                _, link = await loop.create_connection(
                    factory or (lambda: _Link(self._limits)),
                    host=address[0],
                    port=address[1],
                    ssl=None if tunnel else context,
                    server_hostname=host if context is not None and not tunnel else None,
                    local_addr=local,
                )
            except OSError as e:
                last = e
                continue
            if tunnel:
                assert context is not None
                await self._tunnel(link, request, host, port)
                transport = await loop.start_tls(
                    link.transport,
                    link,
                    context,
                    server_hostname=host,
                )
                link.transport = transport
            return link
        assert last is not None
        raise last

    @staticmethod
    async def _tunnel(link: _Link, request: HTTPRequest, host: str, port: int) -> None:
        """Ask the proxy on ``link`` for a CONNECT tunnel to ``host:port``."""
        authority = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
        lines = [f"CONNECT {authority} HTTP/1.1", f"Host: {authority}"]
        proxy_auth = _proxy_authorization(request)
        if proxy_auth:
            lines.append(f"Proxy-Authorization: {proxy_auth}")
        assert link.transport is not None
        link.transport.write(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1"))
        answer = _TunnelAnswer(link)
        link.owner = answer
        try:
            code = await answer.done
        finally:
            link.owner = None
        if not 200 <= code < 300:
            link.drop()
            raise HTTPClientError(code, f"Proxy refused the tunnel to {authority}")


class _TunnelAnswer:
    """Reads the proxy's answer to CONNECT (the link's owner until the tunnel is up)."""

    def __init__(self, link: _Link) -> None:
        self.link = link
        self.reader = H1Reader(client=True)
        self.reader.expect_response_to("CONNECT")
        self.done: asyncio.Future[int] = asyncio.get_running_loop().create_future()

    def on_bytes(self, data: bytes) -> None:
        self.reader.feed(data)
        try:
            while not self.done.done():
                event = self.reader.next_event()
                if event is NEED_DATA:
                    return
                if type(event) is Head:
                    code = cast(ResponseStartLine, event[0]).code
                    if code >= 200:
                        self.done.set_result(code)
        except Exception as e:
            self.link.drop()
            self.done.set_exception(HTTPClientError(599, f"Bad answer from the proxy: {e}"))

    def on_filled(self, body: bytes) -> None:
        raise AssertionError("a CONNECT answer has no body to fill")

    def on_lost(self, exc: Exception | None) -> None:
        if not self.done.done():
            self.done.set_exception(HTTPStreamClosedError("Stream closed by the proxy"))


def _encode(text: str, line_count: int) -> bytes:
    """``text`` as latin-1 bytes, refusing CR or LF inside a line (header injection)."""
    if text.count("\n") != line_count or text.count("\r") != line_count:
        raise HTTPOutputError("header value holds a CR or LF")
    try:
        return text.encode("latin-1")
    except UnicodeEncodeError:
        raise HTTPOutputError("header text is not latin-1") from None


def _proxy_authorization(request: HTTPRequest) -> str | None:
    if not request.proxy_username:
        return None
    if request.proxy_auth_mode not in (None, "basic"):
        raise ValueError(f"unsupported proxy_auth_mode {request.proxy_auth_mode!r}")
    pair = encode_username_password(request.proxy_username, request.proxy_password or "")
    return "Basic " + base64.b64encode(pair).decode("ascii")
