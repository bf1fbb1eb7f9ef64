"""ASGIApplication: a squall.web Application as an ASGI 3 application.

Each HTTP scope becomes one run of the application's own delegate machinery
(:meth:`~squall.web.Application.start_request`, then ``headers_received``,
``data_received`` per ``http.request`` event, ``finish``), so routing,
``@stream_request_body``, cookies, XSRF, static files and error pages
behave as on squall's server.  The connection the handlers answer on is a
:class:`_Channel`: what they write (``write_headers``, ``write``,
``finish``) becomes ``http.response.start`` and ``http.response.body``
events, queued and sent in order; each write's future resolves once the
ASGI server has taken the event, so ``await self.flush()`` is flow control
here too.

Who sends the queued events: while the request body is still coming, a
small task does (a handler may answer early); once the body is in, the call
itself does, and meanwhile listens for ``http.disconnect``, which reaches
the handler as :meth:`~squall.web.RequestHandler.on_connection_close`.
"""

from __future__ import annotations

import asyncio
import inspect
from collections import deque
from collections.abc import Callable, Iterable, MutableMapping
from typing import Any

from squall.httputil import (
    HTTPConnection,
    HTTPHeaders,
    HTTPMessageDelegate,
    RequestStartLine,
    ResponseStartLine,
)
from squall.iostream import StreamClosedError
from squall.log import app_log
from squall.web import Application

from ._scope import _field_list, _headers_from_fields, _Peer, _route_target

__all__ = ["ASGIApplication", "_Channel"]

_Receive = Callable[[], Any]
_Send = Callable[[MutableMapping[str, Any]], Any]
_Hook = Callable[[], Any]

# Response fields the ASGI server writes itself: those that describe one
# HTTP/1 hop, and ``Date`` and ``Server``, which uvicorn and hypercorn add
# (or leave out, as their options say); a second copy from the handler
# would make two of a field that may appear only once.
_SERVER_OWNED = frozenset(("Date", "Server"))
_HOP_FIELDS = frozenset(("Connection", "Keep-Alive", "Transfer-Encoding")) | _SERVER_OWNED


def _quiet(future: asyncio.Future[Any]) -> None:
    if not future.cancelled():
        future.exception()


def _request_headers(scope: MutableMapping[str, Any]) -> HTTPHeaders:
    headers = _headers_from_fields(scope.get("headers") or ())
    if "Host" not in headers:
        server = scope.get("server")
        if server:
            host, port = server[0], server[1]
            headers["Host"] = f"{host}:{port}" if port not in (None, 80, 443) else str(host)
    return headers


def _peer_of(scope: MutableMapping[str, Any]) -> _Peer:
    client = scope.get("client")
    scheme = scope.get("scheme") or "http"
    protocol = "https" if scheme in ("https", "wss") else "http"
    if client:
        return _Peer((client[0], client[1]), str(client[0]), protocol)
    return _Peer(None, None, protocol)


def _version_of(scope: MutableMapping[str, Any]) -> str:
    version = scope.get("http_version") or "1.1"
    return f"HTTP/{version}.0" if "." not in version else f"HTTP/{version}"


class _Channel(HTTPConnection):
    """The connection a squall handler answers on under an ASGI server."""

    __slots__ = (
        "_bodyless",
        "_close_callback",
        "_delegate",
        "_outbox",
        "_pump",
        "_send",
        "_waker",
        "complete",
        "context",
        "gone",
        "inline",
        "last_queued",
    )

    def __init__(self, send: _Send, context: _Peer, bodyless: bool) -> None:
        self._send = send
        self.context = context
        self._bodyless = bodyless
        self._outbox: deque[tuple[dict[str, Any], asyncio.Future[None]]] = deque()
        self._pump: asyncio.Task[None] | None = None
        self._waker: asyncio.Future[None] | None = None
        self._close_callback: Callable[[], None] | None = None
        self._delegate: HTTPMessageDelegate | None = None
        # inline: the call itself sends what is queued (no pump task).
        self.inline = False
        self.last_queued = False
        self.complete = False
        self.gone = False

    # -- HTTPConnection ------------------------------------------------------------------

    def write_headers(
        self,
        start_line: RequestStartLine | ResponseStartLine,
        headers: HTTPHeaders,
        chunk: bytes | None = None,
    ) -> asyncio.Future[None]:
        assert isinstance(start_line, ResponseStartLine)
        written = self._queue(
            {
                "type": "http.response.start",
                "status": start_line.code,
                "headers": _field_list(headers, _HOP_FIELDS),
            }
        )
        if chunk:
            written = self.write(chunk)
        return written

    def write(self, chunk: bytes) -> asyncio.Future[None]:
        if self._bodyless:
            chunk = b""
        return self._queue({"type": "http.response.body", "body": chunk, "more_body": True})

    def finish(self) -> None:
        if self.last_queued:
            return
        self.last_queued = True
        outbox = self._outbox
        if outbox:
            last = outbox[-1][0]
            if last["type"] == "http.response.body":
                # Still unsent: it becomes the last one (one event fewer).
                last["more_body"] = False
                return
        self._queue({"type": "http.response.body", "body": b"", "more_body": False})

    def set_close_callback(self, callback: Callable[[], None] | None) -> None:
        self._close_callback = callback

    def set_body_timeout(self, timeout: float) -> None:
        """The ASGI server owns the socket and its timeouts: nothing to do."""

    def set_max_body_size(self, max_body_size: int) -> None:
        """The ASGI server owns the socket and its limits: nothing to do."""

    def detach(self) -> Any:
        raise NotImplementedError("under an ASGI server a handler cannot take over the connection")

    # -- the queue ---------------------------------------------------------------------------

    def _queue(self, message: dict[str, Any]) -> asyncio.Future[None]:
        loop = asyncio.get_running_loop()
        future: asyncio.Future[None] = loop.create_future()
        if self.gone:
            future.set_exception(StreamClosedError())
            future.add_done_callback(_quiet)
            return future
        self._outbox.append((message, future))
        waker = self._waker
        if waker is not None:
            self._waker = None
            if not waker.done():
                waker.set_result(None)
        elif not self.inline and self._pump is None:
            self._pump = loop.create_task(self._drain_in_task())
        return future

    async def _drain_in_task(self) -> None:
        try:
            await self.drain()
        finally:
            self._pump = None

    async def drain(self) -> None:
        """Send what is queued, in order; resolve each write's future once sent."""
        outbox = self._outbox
        send = self._send
        while outbox:
            message, future = outbox.popleft()
            try:
                await send(message)
            except Exception as exc:
                app_log.debug("ASGI send failed; the client is taken to be gone: %r", exc)
                future.set_exception(StreamClosedError(real_error=exc))
                future.add_done_callback(_quiet)
                self.lost()
                return
            if message["type"] == "http.response.body" and not message["more_body"]:
                self.complete = True
            if not future.done():
                future.set_result(None)

    def lost(self) -> None:
        """The client is gone: fail what is queued and tell the handler."""
        if self.gone:
            return
        self.gone = True
        outbox = self._outbox
        while outbox:
            _, future = outbox.popleft()
            if not future.done():
                future.set_exception(StreamClosedError())
                future.add_done_callback(_quiet)
        waker = self._waker
        if waker is not None and not waker.done():
            waker.set_result(None)
        if self.complete:
            return
        callback, self._close_callback = self._close_callback, None
        delegate, self._delegate = self._delegate, None
        try:
            if callback is not None:
                callback()
            if delegate is not None:
                delegate.on_connection_close()
        except Exception:
            app_log.error("Uncaught exception in on_connection_close", exc_info=True)

    async def sent_or_lost(self, receive: _Receive) -> None:
        """Send everything until the response is complete, or the client leaves."""
        pump = self._pump
        if pump is not None:
            await pump
        self.inline = True
        listener: asyncio.Future[Any] | None = None
        try:
            while True:
                await self.drain()
                if self.complete or self.gone:
                    return
                # The handler goes on asynchronously: wait for its next
                # write, and listen for the client leaving meanwhile.
                waker = self._waker = asyncio.get_running_loop().create_future()
                if listener is None:
                    listener = asyncio.ensure_future(receive())
                await asyncio.wait((waker, listener), return_when=asyncio.FIRST_COMPLETED)
                self._waker = None
                if listener.done():
                    message = listener.result()
                    listener = None
                    if message.get("type") == "http.disconnect":
                        self.lost()
                        return
        finally:
            if listener is not None:
                listener.cancel()


class ASGIApplication:
    """Runs a :class:`squall.web.Application` as an ASGI 3 application.

    ::

        application = squall.web.Application([(r"/", MainHandler)])
        app = ASGIApplication(application, on_startup=[open_pool], on_shutdown=[close_pool])
        # uvicorn module:app, hypercorn module:app, ...

    Handlers run on the ASGI server's event loop, so everything squall does
    on its own server works here too: synchronous and ``async`` handlers,
    ``@stream_request_body`` (the body arrives piece by piece),
    ``flush()`` (its future resolves when the server has taken the data),
    long polls (:meth:`~squall.web.RequestHandler.on_connection_close`
    runs when the client leaves), cookies, XSRF, static files,
    ``AsyncHTTPClient`` and :class:`~squall.websocket.WebSocketHandler`.

    :param application: the squall application to serve.
    :param on_startup: callables run, in order, when the ASGI server starts
        (the lifespan startup event); each is called with no argument and
        may return an awaitable, which is awaited.  One that raises makes the
        startup fail: the server reports it and does not serve.
    :param on_shutdown: the same, when the server stops.

    Both lists are public attributes; hooks may be appended later.  The
    request's ``remote_ip`` and ``protocol`` come from the scope's
    ``client`` and ``scheme`` (so the ASGI server's proxy-header handling
    applies), and the mount point (``root_path``) is taken off the path
    before routing.  Under an ASGI server, the server frames the response:
    ``Connection``, ``Transfer-Encoding``, ``Date`` and ``Server`` set by a
    handler are dropped (the server writes its own, as its options say).
    ``request.connection.detach()`` is not available.
    """

    def __init__(
        self,
        application: Application,
        *,
        on_startup: Iterable[_Hook] = (),
        on_shutdown: Iterable[_Hook] = (),
    ) -> None:
        self.application = application
        self.on_startup: list[_Hook] = list(on_startup)
        self.on_shutdown: list[_Hook] = list(on_shutdown)

    async def __call__(
        self, scope: MutableMapping[str, Any], receive: _Receive, send: _Send
    ) -> None:
        kind = scope["type"]
        if kind == "http":
            await self._serve_http(scope, receive, send)
        elif kind == "websocket":
            from ._bridge import _serve_websocket

            await _serve_websocket(self.application, scope, receive, send)
        elif kind == "lifespan":
            await self._lifespan(receive, send)
        else:
            raise ValueError(f"squall's ASGIApplication does not serve {kind!r} scopes")

    async def _serve_http(
        self, scope: MutableMapping[str, Any], receive: _Receive, send: _Send
    ) -> None:
        method = scope.get("method") or "GET"
        channel = _Channel(send, _peer_of(scope), method == "HEAD")
        line = RequestStartLine(method, _route_target(scope), _version_of(scope))
        delegate = channel._delegate = self.application.start_request(channel, channel)
        pending = delegate.headers_received(line, _request_headers(scope))
        if pending is not None:
            await pending
        more = True
        while more:
            message = await receive()
            kind = message.get("type")
            if kind == "http.request":
                more = bool(message.get("more_body"))
                body = message.get("body")
                if body and not channel.gone:
                    pending = delegate.data_received(bytes(body))
                    if pending is not None:
                        await pending
            elif kind == "http.disconnect":
                channel.lost()
                return
        channel.inline = True
        delegate.finish()
        await channel.sent_or_lost(receive)

    async def _lifespan(self, receive: _Receive, send: _Send) -> None:
        while True:
            message = await receive()
            kind = message.get("type")
            if kind == "lifespan.startup":
                hooks, stage = self.on_startup, "startup"
            elif kind == "lifespan.shutdown":
                hooks, stage = self.on_shutdown, "shutdown"
            else:
                continue
            try:
                for hook in hooks:
                    outcome = hook()
                    if inspect.isawaitable(outcome):
                        await outcome
            except Exception as exc:
                app_log.error("A %s hook of the ASGI application failed", stage, exc_info=True)
                await send({"type": f"lifespan.{stage}.failed", "message": repr(exc)})
                return
            await send({"type": f"lifespan.{stage}.complete"})
            if stage == "shutdown":
                return
