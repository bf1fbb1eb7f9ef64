"""SimpleAsyncHTTPClient: fetch scheduling, connection pool, dialing (proxies, TLS), redirects."""

from __future__ import annotations

import asyncio
import base64
import collections
import socket
import ssl
import time
from collections.abc import Callable
from typing import Any, cast
from urllib.parse import urljoin, urlsplit

from squall.http1connection._codec import H1Limits, H1Reader
from squall.http1connection._events import NEED_DATA, Head
from squall.httpclient._client import AsyncHTTPClient
from squall.httpclient._request import HTTPRequest
from squall.httpclient._response import HTTPClientError, HTTPResponse
from squall.httputil import (
    HTTPHeaders,
    RequestStartLine,
    ResponseStartLine,
    encode_username_password,
)
from squall.netutil import Resolver, is_valid_ip, ssl_options_to_context

from ._link import HTTPStreamClosedError, HTTPTimeoutError, _Exchange, _Link, _Stale

__all__ = ["SimpleAsyncHTTPClient"]

_KNOWN_METHODS = frozenset(("GET", "HEAD", "POST", "DELETE", "PATCH", "PUT", "OPTIONS"))
_NEEDS_BODY = frozenset(("POST", "PATCH", "PUT"))
_IDEMPOTENT = frozenset(("GET", "HEAD", "OPTIONS", "PUT", "DELETE", "TRACE"))
_DEFAULT_PORTS = {"http": 80, "https": 443}
_USER_AGENT = "squall/0.1.0"
#: Pooled connections unused for this long are closed (servers drop them sooner or later).
_IDLE_SECONDS = 30.0
_CONTENT_FIELDS = ("Content-Length", "Content-Type", "Content-Encoding", "Transfer-Encoding")


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
        self._active = 0
        self._waiting: collections.deque[_Waiting] = collections.deque()
        self._pool = _Pool(per_key=max(max_clients, 1))
        self._contexts: dict[tuple[Any, ...], ssl.SSLContext] = {}
        self._tasks: set[asyncio.Task[None]] = set()

    def close(self) -> None:
        super().close()
        self._pool.close()
        for task in list(self._tasks):
            task.cancel()
        if self._own_resolver:
            self.resolver.close()

    # -- scheduling -------------------------------------------------------------

    def fetch_impl(self, request: HTTPRequest, callback: Callable[[HTTPResponse], None]) -> None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + (request.request_timeout or 1e9)
        if self._active < self.max_clients:
            self._launch(request, callback, deadline)
            return
        waiting = _Waiting(request, callback, deadline)
        patience = min(request.connect_timeout or 1e9, request.request_timeout or 1e9)
        waiting.timer = loop.call_later(patience, self._queue_timeout, waiting)
        self._waiting.append(waiting)

    def _queue_timeout(self, waiting: _Waiting) -> None:
        try:
            self._waiting.remove(waiting)
        except ValueError:
            return
        error = HTTPTimeoutError("Timeout in request queue")
        waiting.callback(self._failure(waiting.request, error))

    def _launch(
        self, request: HTTPRequest, callback: Callable[[HTTPResponse], None], deadline: float
    ) -> None:
        self._active += 1
        task = asyncio.get_running_loop().create_task(self._run(request, callback, deadline))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _next_waiting(self) -> None:
        self._active -= 1
        while self._waiting and self._active < self.max_clients:
            waiting = self._waiting.popleft()
            if waiting.timer is not None:
                waiting.timer.cancel()
            self._launch(waiting.request, waiting.callback, waiting.deadline)

    @staticmethod
    def _failure(request: HTTPRequest, error: BaseException) -> HTTPResponse:
        code = error.code if isinstance(error, HTTPClientError) else 599
        return HTTPResponse(
            request,
            code,
            error=error,
            request_time=time.monotonic() - request._start_time,
            start_time=request.start_time,
        )

    async def _run(
        self, request: HTTPRequest, callback: Callable[[HTTPResponse], None], deadline: float
    ) -> None:
        try:
            response = await self._follow(request, deadline)
        except asyncio.CancelledError:
            response = self._failure(request, HTTPStreamClosedError("Client closed"))
        except Exception as e:
            response = self._failure(request, e)
        finally:
            self._next_waiting()
        callback(response)

    async def _follow(self, request: HTTPRequest, deadline: float) -> HTTPResponse:
        """Fetch ``request``, following redirects as its options allow."""
        original_url = request.url
        left = request.max_redirects or 0
        while True:
            follow = bool(request.follow_redirects) and left > 0
            exchange = await self._attempt(request, deadline, follow)
            headers = exchange.headers
            assert headers is not None
            code = exchange.code
            if exchange.follow:
                request = _redirected(request, urljoin(request.url, headers["Location"]), code)
                left -= 1
                continue
            response = HTTPResponse._of_bytes(
                request,
                code,
                b"".join(exchange.chunks),
                headers=headers,
                reason=exchange.reason,
                effective_url=request.url,
                request_time=time.monotonic() - request._start_time,
                start_time=request.start_time,
            )
            response.request = _original(request, original_url)
            if (
                request.follow_redirects
                and code in (301, 302, 303, 307, 308)
                and "Location" in headers
                and request.max_redirects
            ):
                response.error = HTTPClientError(
                    code, f"Too many redirects (max_redirects={request.max_redirects})", response
                )
            return response

    async def _attempt(self, request: HTTPRequest, deadline: float, follow: bool) -> _Exchange:
        """One request/response on a pooled or new connection (retried once if stale)."""
        parts = urlsplit(request.url)
        scheme = parts.scheme.lower()
        if scheme not in _DEFAULT_PORTS:
            raise ValueError(f"Unsupported URL scheme in {request.url!r}")
        host = parts.hostname
        if not host:
            raise ValueError(f"No host in URL {request.url!r}")
        port = parts.port or _DEFAULT_PORTS[scheme]
        host = self.hostname_mapping.get(host, host)
        tls = self._tls_key(request) if scheme == "https" else None
        proxy = None
        if request.proxy_host:
            proxy = (request.proxy_host, request.proxy_port or 80, request.proxy_username or "")
        key = (scheme, host, port, tls, proxy, request.network_interface, request.allow_ipv6)
        head, body = self._serialise(request, parts, via_proxy=proxy is not None and tls is None)
        for attempt in (0, 1):
            link = self._pool.take(key)
            reused = link is not None
            if link is None:
                link = await self._dial(request, scheme, host, port, tls, deadline)
            try:
                exchange = await self._exchange(link, request, head, body, deadline, reused, follow)
            except _Stale:
                if attempt or request.method not in _IDEMPOTENT or request.body_producer:
                    raise HTTPStreamClosedError(
                        f"Stream closed: {host} closed a kept-alive connection"
                    ) from None
                continue
            if exchange.reusable and not self._closed:
                link.uses += 1
                self._pool.give(key, link)
            elif not link.closed:
                link.drop()
            return exchange
        raise AssertionError("unreachable")

    # -- the request bytes ----------------------------------------------------------

    def _serialise(
        self, request: HTTPRequest, parts: Any, *, via_proxy: bool
    ) -> tuple[tuple[RequestStartLine, HTTPHeaders], bytes | None]:
        method = request.method
        if method not in _KNOWN_METHODS and not request.allow_nonstandard_methods:
            raise ValueError(
                f"unknown method {method!r} (allow_nonstandard_methods=True allows it)"
            )
        body = request.body
        if not request.allow_nonstandard_methods:
            has_body = request.body_producer is not None or body is not None
            if method in _NEEDS_BODY and not has_body:
                raise ValueError(f"a {method} request needs a body (or body_producer)")
            if method not in _NEEDS_BODY and body is not None and method != "DELETE":
                raise ValueError(f"a {method} request cannot have a body")
        headers = request.headers
        if "Host" not in headers:
            netloc = parts.netloc.rpartition("@")[2]
            headers["Host"] = netloc
        if "User-Agent" not in headers:
            headers["User-Agent"] = request.user_agent or _USER_AGENT
        if request.decompress_response and "Accept-Encoding" not in headers:
            headers["Accept-Encoding"] = "gzip"
        username, password = request.auth_username, request.auth_password
        if username is None and parts.username is not None:
            username, password = parts.username, parts.password or ""
        if username is not None:
            if request.auth_mode not in (None, "basic"):
                raise ValueError(f"unsupported auth_mode {request.auth_mode!r}")
            token = base64.b64encode(encode_username_password(username, password or ""))
            headers["Authorization"] = "Basic " + token.decode("ascii")
        if via_proxy:
            target = request.url.split("#", 1)[0]
            proxy_auth = _proxy_authorization(request)
            if proxy_auth:
                headers["Proxy-Authorization"] = proxy_auth
        else:
            target = (parts.path or "/") + ("?" + parts.query if parts.query else "")
        if body is not None:
            headers["Content-Length"] = str(len(body))
            if method == "POST" and "Content-Type" not in headers:
                headers["Content-Type"] = "application/x-www-form-urlencoded"
        if request.expect_100_continue:
            headers["Expect"] = "100-continue"
        return (RequestStartLine(method, target, "HTTP/1.1"), headers), body

    async def _exchange(
        self,
        link: _Link,
        request: HTTPRequest,
        head: tuple[RequestStartLine, HTTPHeaders],
        body: bytes | None,
        deadline: float,
        reused: bool,
        follow: bool,
    ) -> _Exchange:
        transport = link.transport
        assert transport is not None
        limit = self.max_buffer_size
        if self.max_body_size is not None:
            limit = min(limit, self.max_body_size)
        exchange = _Exchange(
            link,
            head[1].get("Host", ""),
            reused=reused,
            follow=follow,
            decompress=bool(request.decompress_response),
            on_chunk=request.streaming_callback,
            on_header=request.header_callback,
            limit=limit,
        )
        writer = link.writer
        link.reader.expect_response_to(request.method)
        wire = writer.head(head[0], head[1], keep_alive=True)
        loop = asyncio.get_running_loop()
        timer = loop.call_at(deadline, _expire, exchange)
        try:
            if request.expect_100_continue and (body is not None or request.body_producer):
                exchange.continued = loop.create_future()
                transport.write(wire)
                await exchange.continued
                if exchange.done.done() or exchange.code:
                    await exchange.done
                    return exchange
                wire = b""
            if request.body_producer is not None:
                if wire:
                    transport.write(wire)
                await self._produce(link, request, exchange)
                transport.write(writer.end())
            elif body is not None:
                transport.write(wire + writer.data(body) + writer.end())
            else:
                transport.write(wire + writer.end())
            await exchange.done
        except BaseException:
            if not exchange.done.done():
                exchange.fail(HTTPStreamClosedError("request abandoned"))
                exchange.done.exception()
            raise
        finally:
            timer.cancel()
        return exchange

    @staticmethod
    async def _produce(link: _Link, request: HTTPRequest, exchange: _Exchange) -> None:
        writer = link.writer
        transport = link.transport
        assert transport is not None and request.body_producer is not None

        def write(chunk: bytes) -> asyncio.Future[None]:
            if exchange.done.done() or link.closed:
                raise HTTPStreamClosedError("Stream closed while sending the body")
            transport.write(writer.data(chunk))
            return asyncio.ensure_future(link.drain())

        await request.body_producer(write)  # type: ignore[arg-type]
        if exchange.done.done():
            await exchange.done

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

    def _tls_context(self, request: HTTPRequest, key: tuple[Any, ...]) -> ssl.SSLContext:
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
        self._contexts[key] = context
        return context

    async def _dial(
        self,
        request: HTTPRequest,
        scheme: str,
        host: str,
        port: int,
        tls: tuple[Any, ...] | None,
        deadline: float,
    ) -> _Link:
        loop = asyncio.get_running_loop()
        budget = min(request.connect_timeout or 1e9, deadline - loop.time())
        context = self._tls_context(request, tls) if tls is not None else None
        try:
            return await asyncio.wait_for(
                self._open(request, host, port, context), timeout=max(budget, 0)
            )
        except asyncio.TimeoutError:
            raise HTTPTimeoutError("Timeout while connecting") from None
        except ssl.SSLError as e:
            raise HTTPClientError(599, f"TLS handshake with {host}:{port} failed: {e}") from None
        except ssl.CertificateError as e:
            raise HTTPClientError(599, f"TLS certificate of {host}:{port} refused: {e}") from None

    async def _open(
        self, request: HTTPRequest, host: str, port: int, context: ssl.SSLContext | None
    ) -> _Link:
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
        for _, address in addresses:
            try:
                _, link = await loop.create_connection(
                    lambda: _Link(self._limits),
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
                    link.transport,  # type: ignore[arg-type]
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
        reader = H1Reader(client=True)
        reader.expect_response_to("CONNECT")
        answer = _TunnelAnswer(link, reader)
        link.exchange = answer  # type: ignore[assignment]
        try:
            code = await answer.done
        finally:
            link.exchange = None
        if not 200 <= code < 300:
            link.drop()
            raise HTTPClientError(code, f"Proxy refused the tunnel to {authority}")


class _TunnelAnswer:
    """Reads the proxy's answer to CONNECT (stands in for an exchange on the link)."""

    def __init__(self, link: _Link, reader: H1Reader) -> None:
        self.link = link
        self.reader = reader
        self.heard = False
        self.done: asyncio.Future[int] = asyncio.get_running_loop().create_future()
        link.reader, self._saved = reader, link.reader

    def pump(self) -> None:
        try:
            while not self.done.done():
                event = self.reader.next_event()
                if event is NEED_DATA:
                    return
                if type(event) is Head:
                    code = cast(ResponseStartLine, event[0]).code
                    if code >= 200:
                        self.link.reader = self._saved
                        self.done.set_result(code)
        except Exception as e:
            self.link.drop()
            self.done.set_exception(HTTPClientError(599, f"Bad answer from the proxy: {e}"))

    def lost(self, exc: Exception | None) -> None:
        if not self.done.done():
            self.done.set_exception(HTTPStreamClosedError("Stream closed by the proxy"))


class _Waiting:
    __slots__ = ("callback", "deadline", "request", "timer")

    def __init__(
        self, request: HTTPRequest, callback: Callable[[HTTPResponse], None], deadline: float
    ) -> None:
        self.request = request
        self.callback = callback
        self.deadline = deadline
        self.timer: asyncio.TimerHandle | None = None


def _expire(exchange: _Exchange) -> None:
    exchange.fail(HTTPTimeoutError("Timeout during request"))


def _proxy_authorization(request: HTTPRequest) -> str | None:
    if not request.proxy_username:
        return None
    if request.proxy_auth_mode not in (None, "basic"):
        raise ValueError(f"unsupported proxy_auth_mode {request.proxy_auth_mode!r}")
    pair = encode_username_password(request.proxy_username, request.proxy_password or "")
    return "Basic " + base64.b64encode(pair).decode("ascii")


def _redirected(request: HTTPRequest, url: str, code: int) -> HTTPRequest:
    """The request to send after a ``code`` redirect to ``url``."""
    nxt = object.__new__(HTTPRequest)
    nxt.__dict__.update(request.__dict__)
    nxt.url = url
    nxt.max_redirects = (request.max_redirects or 0) - 1
    headers = request.headers.copy()
    nxt.headers = headers
    if (code == 303 and request.method != "HEAD") or (
        code in (301, 302) and request.method == "POST"
    ):
        nxt.method = "GET"
        nxt.body = None
        nxt.body_producer = None
        for name in _CONTENT_FIELDS:
            if name in headers:
                del headers[name]
    old, new = urlsplit(request.url), urlsplit(url)
    if (old.scheme, old.netloc) != (new.scheme, new.netloc):
        for name in ("Host", "Authorization"):
            if name in headers:
                del headers[name]
        if request.auth_username is not None and old.hostname != new.hostname:
            nxt.auth_username = nxt.auth_password = None
    nxt._original = getattr(request, "_original", request)  # type: ignore[attr-defined]
    return nxt


def _original(request: HTTPRequest, url: str) -> HTTPRequest:
    """The request the caller gave (``response.request``), before any redirect."""
    found: HTTPRequest = getattr(request, "_original", request)
    return found
