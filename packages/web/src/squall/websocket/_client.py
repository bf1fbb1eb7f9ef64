"""The client end: :func:`websocket_connect` and :class:`WebSocketClientConnection`.

Connecting reuses squall's client plumbing: :class:`~squall.tcpclient.TCPClient`
opens the TCP (and TLS) connection, an
:class:`~squall.http1connection.HTTP1Connection` sends the upgrade request and
parses the answer, and on a valid 101 the stream is detached and driven by a
:class:`~._session._Session`. The request may be a URL (``ws://`` or
``wss://``) or an :class:`~squall.httpclient.HTTPRequest`, whose headers
(cookies included), timeouts and TLS options (``validate_cert``,
``ca_certs``, ``client_cert``/``client_key``, ``ssl_options``) apply.
"""

from __future__ import annotations

import asyncio
import collections
import ssl
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import urlsplit

from squall.escape import utf8
from squall.http1connection import HTTP1Connection, HTTP1ConnectionParameters
from squall.httpclient import HTTPClientError, HTTPRequest
from squall.httputil import (
    HTTPHeaders,
    HTTPMessageDelegate,
    RequestStartLine,
    ResponseStartLine,
)
from squall.iostream import StreamClosedError
from squall.log import app_log
from squall.netutil import Resolver, ssl_options_to_context
from squall.simple_httpclient import HTTPTimeoutError
from squall.tcpclient import TCPClient

from ._deflate import ExtensionError, MessageDeflater, client_confirm, client_offer
from ._frames import WebSocketClosedError, WebSocketError, WebSocketProtocol
from ._handshake import check_upgrade_response, new_client_key
from ._session import _Session

__all__ = ["WebSocketClientConnection", "websocket_connect"]

_DEFAULT_MAX_MESSAGE_SIZE = 10 * 1024 * 1024
_DEFAULT_TIMEOUT = 20.0
_PORTS = {"ws": 80, "http": 80, "wss": 443, "https": 443}


class _Answer(HTTPMessageDelegate):
    """Receives the server's answer to the upgrade; detaches the stream on a 101."""

    def __init__(self, connection: HTTP1Connection) -> None:
        self.connection = connection
        self.code = 0
        self.reason = ""
        self.headers = HTTPHeaders()
        self.stream: Any = None

    def headers_received(
        self, start_line: RequestStartLine | ResponseStartLine, headers: HTTPHeaders
    ) -> None:
        assert isinstance(start_line, ResponseStartLine)
        self.code, self.reason, self.headers = start_line.code, start_line.reason, headers
        if start_line.code == 101:
            self.stream = self.connection.detach()


def _tls_context(request: HTTPRequest) -> ssl.SSLContext:
    options = request.ssl_options
    if isinstance(options, ssl.SSLContext):
        return options
    if isinstance(options, dict):
        return ssl_options_to_context(options, server_side=False)
    context = ssl.create_default_context(cafile=request.ca_certs)
    if request.validate_cert is False:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    if request.client_cert is not None:
        context.load_cert_chain(request.client_cert, request.client_key)
    return context


class WebSocketClientConnection:
    """A client WebSocket; made by :func:`websocket_connect`, not directly."""

    def __init__(
        self,
        request: HTTPRequest,
        on_message_callback: Callable[[str | bytes | None], None] | None = None,
        compression_options: dict[str, Any] | None = None,
        ping_interval: float | None = None,
        ping_timeout: float | None = None,
        max_message_size: int = _DEFAULT_MAX_MESSAGE_SIZE,
        subprotocols: list[str] | None = None,
        resolver: Resolver | None = None,
    ) -> None:
        self.request = request
        self._on_message_callback = on_message_callback
        self._compression_options = compression_options
        self._ping_interval = ping_interval
        self._ping_timeout = ping_timeout
        self._max_message_size = max_message_size
        self._subprotocols = list(subprotocols) if subprotocols else []
        self._resolver = resolver
        #: The code and reason of the server's close frame (None if it sent none).
        self.close_code: int | None = None
        self.close_reason: str | None = None
        #: The headers of the server's 101 answer.
        self.headers = HTTPHeaders()
        #: The live connection (None before it opens and after it ends).
        self.protocol: _Session | None = None
        self._subprotocol: str | None = None
        self._inbox: collections.deque[str | bytes | None] = collections.deque()
        self._readers: collections.deque[asyncio.Future[str | bytes | None]] = collections.deque()
        self._ended = False
        self.connect_future: asyncio.Future[WebSocketClientConnection] = (
            asyncio.get_running_loop().create_future()
        )
        task = asyncio.ensure_future(self._connect())
        task.add_done_callback(self._connected)

    # -- connecting --------------------------------------------------------------------

    def _connected(self, task: asyncio.Future[None]) -> None:
        future = self.connect_future
        if future.done():
            return
        failure = None if task.cancelled() else task.exception()
        if task.cancelled():
            future.cancel()
        elif failure is not None:
            future.set_exception(failure)
        else:
            future.set_result(self)

    async def _connect(self) -> None:
        request = self.request
        parts = urlsplit(request.url)
        scheme = parts.scheme.lower()
        if scheme not in _PORTS:
            raise ValueError(f"unsupported URL scheme for a WebSocket: {request.url!r}")
        host = parts.hostname
        if not host:
            raise ValueError(f"no host in URL {request.url!r}")
        port = parts.port or _PORTS[scheme]
        context = _tls_context(request) if scheme in ("wss", "https") else None
        loop = asyncio.get_running_loop()
        budget = request.connect_timeout or _DEFAULT_TIMEOUT
        try:
            stream = await asyncio.wait_for(
                TCPClient(resolver=self._resolver).connect(
                    host,
                    port,
                    ssl_options=context,
                    max_buffer_size=max(self._max_message_size, 65536) + 65536,
                ),
                budget,
            )
        except asyncio.TimeoutError:
            raise HTTPTimeoutError("Timeout while connecting") from None
        except StreamClosedError as exc:
            # Say why (connection refused, TLS failure) rather than "closed".
            if isinstance(exc.real_error, Exception):
                raise exc.real_error from None
            raise
        try:
            deadline = loop.time() + (request.request_timeout or _DEFAULT_TIMEOUT)
            await asyncio.wait_for(self._handshake(stream, parts), deadline - loop.time())
        except asyncio.TimeoutError:
            stream.close()
            raise HTTPTimeoutError("Timeout during request") from None
        except BaseException:
            stream.close()
            raise

    async def _handshake(self, stream: Any, parts: Any) -> None:
        request = self.request
        headers = HTTPHeaders(request.headers)
        key = new_client_key()
        headers["Host"] = parts.netloc.rpartition("@")[2]
        headers["Upgrade"] = "websocket"
        headers["Connection"] = "Upgrade"
        headers["Sec-WebSocket-Key"] = key
        headers["Sec-WebSocket-Version"] = "13"
        if self._subprotocols:
            headers["Sec-WebSocket-Protocol"] = ", ".join(self._subprotocols)
        if self._compression_options is not None:
            headers["Sec-WebSocket-Extensions"] = client_offer()
        target = (parts.path or "/") + ("?" + parts.query if parts.query else "")
        connection = HTTP1Connection(stream, True, HTTP1ConnectionParameters(no_keep_alive=True))
        connection.write_headers(RequestStartLine("GET", target, "HTTP/1.1"), headers)
        connection.finish()
        answer = _Answer(connection)
        await connection.read_response(answer)
        if answer.stream is None:
            if answer.code >= 300:
                raise HTTPClientError(answer.code, answer.reason or None)
            raise WebSocketError("Non-websocket response")
        problem = check_upgrade_response(key, answer.code, answer.headers, self._subprotocols)
        deflater = None
        if problem is None and self._compression_options is not None:
            try:
                terms = client_confirm(answer.headers.get("Sec-WebSocket-Extensions"))
            except ExtensionError as exc:
                problem = str(exc)
            else:
                if terms is not None:
                    deflater = MessageDeflater(terms, True, self._compression_options)
        elif problem is None and answer.headers.get("Sec-WebSocket-Extensions"):
            problem = "the server chose an extension that was not offered"
        if problem is not None:
            raise WebSocketError(f"invalid WebSocket handshake: {problem}")
        chosen = answer.headers.get("Sec-WebSocket-Protocol")
        self._subprotocol = chosen.strip() if chosen else None
        self.headers = answer.headers
        session = self.protocol = _Session(
            self,
            WebSocketProtocol(True, self._max_message_size, deflater),
            answer.stream,
            self._ping_interval,
            self._ping_timeout,
        )
        session.start()
        session.release()

    # -- the public face ---------------------------------------------------------------

    @property
    def selected_subprotocol(self) -> str | None:
        """The subprotocol the server chose, or None."""
        return self._subprotocol

    def write_message(
        self, message: str | bytes | dict[str, Any], binary: bool = False
    ) -> asyncio.Future[None]:
        """Send a message (as :meth:`WebSocketHandler.write_message` does); returns a Future.

        Raises:
            WebSocketClosedError: the connection is closed or closing.
        """
        session = self.protocol
        if session is None or session.closing:
            raise WebSocketClosedError("Client connection has been closed")
        return session.send(message, binary)

    def read_message(
        self, callback: Callable[[asyncio.Future[str | bytes | None]], None] | None = None
    ) -> Awaitable[str | bytes | None]:
        """The next message, or None once the connection is closed.

        ``callback``, if given, is called with the future when it resolves.
        Messages go to ``on_message_callback`` instead when one was given,
        and then this only ever resolves to None (at the close).
        """
        future: asyncio.Future[str | bytes | None] = asyncio.get_running_loop().create_future()
        inbox = self._inbox
        if inbox:
            future.set_result(inbox.popleft())
        elif self._ended:
            future.set_result(None)
        else:
            self._readers.append(future)
        if callback is not None:
            future.add_done_callback(callback)
        return future

    def ping(self, data: bytes = b"") -> None:
        """Send a ping carrying ``data``; :meth:`on_pong` sees the answer."""
        session = self.protocol
        if session is None:
            raise WebSocketClosedError("Client connection has been closed")
        session.ping(utf8(data))

    def close(self, code: int | None = None, reason: str | None = None) -> None:
        """Start the closing handshake (``code`` and ``reason`` as for the handler's close)."""
        session = self.protocol
        if session is not None:
            session.close(code, reason)

    def on_message(self, message: str | bytes | None) -> Awaitable[None] | None:
        """Route a message (None: the end) to ``on_message_callback`` or to :meth:`read_message`."""
        callback = self._on_message_callback
        if callback is not None:
            callback(message)
            return None
        readers = self._readers
        while readers:
            reader = readers.popleft()
            if not reader.done():
                reader.set_result(message)
                return None
        if message is not None:
            self._inbox.append(message)
        return None

    def on_ping(self, data: bytes) -> None:
        """Called when the server pings (the pong is sent already)."""

    def on_pong(self, data: bytes) -> None:
        """Called when a pong arrives."""

    def log_exception(self, typ: Any, value: Any, tb: Any) -> None:
        """Log an exception raised while handling a message."""
        app_log.error("Uncaught exception in WebSocket client", exc_info=(typ, value, tb))

    # -- what the session calls ----------------------------------------------------------

    def _ws_message(self, message: str | bytes) -> Awaitable[None] | None:
        return self.on_message(message)

    def _ws_closed(self, code: int | None, reason: str | None) -> None:
        self.close_code, self.close_reason = code, reason
        self._ended = True
        if self._on_message_callback is not None:
            self._on_message_callback(None)
        readers, self._readers = self._readers, collections.deque()
        for reader in readers:
            if not reader.done():
                reader.set_result(None)


def websocket_connect(
    url: str | HTTPRequest,
    callback: Callable[[asyncio.Future[WebSocketClientConnection]], None] | None = None,
    connect_timeout: float | None = None,
    on_message_callback: Callable[[str | bytes | None], None] | None = None,
    compression_options: dict[str, Any] | None = None,
    ping_interval: float | None = None,
    ping_timeout: float | None = None,
    max_message_size: int = _DEFAULT_MAX_MESSAGE_SIZE,
    subprotocols: list[str] | None = None,
    resolver: Resolver | None = None,
) -> Awaitable[WebSocketClientConnection]:
    """Open a client WebSocket; returns a Future of :class:`WebSocketClientConnection`.

    ``url`` is a ``ws://``/``wss://`` URL or an
    :class:`~squall.httpclient.HTTPRequest` (for headers, cookies, timeouts
    and TLS options). ``on_message_callback``, if given, receives every
    message (and None at the close) instead of :meth:`read_message`.
    ``compression_options`` (a dict, possibly empty) asks for
    permessage-deflate; ``subprotocols`` lists the ones offered, in order of
    preference. A non-101 answer fails the future with
    :class:`~squall.httpclient.HTTPClientError` (or :class:`WebSocketError`
    for a 2xx), an invalid handshake with :class:`WebSocketError`.
    """
    if isinstance(url, HTTPRequest):
        request = url
        if connect_timeout is not None:
            request.connect_timeout = connect_timeout
    else:
        request = HTTPRequest(url, connect_timeout=connect_timeout)
    connection = WebSocketClientConnection(
        request,
        on_message_callback=on_message_callback,
        compression_options=compression_options,
        ping_interval=ping_interval,
        ping_timeout=ping_timeout,
        max_message_size=max_message_size,
        subprotocols=subprotocols,
        resolver=resolver,
    )
    future = connection.connect_future
    if callback is not None:
        future.add_done_callback(callback)
    return future
