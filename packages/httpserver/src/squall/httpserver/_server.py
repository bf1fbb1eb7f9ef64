"""HTTPServer: listening sockets in, one asyncio transport and protocol per connection out.

Accepting uses :func:`squall.netutil.add_accept_handler`; each accepted
socket becomes an asyncio transport driving a ``_H1ServerProtocol``
directly (no IOStream, no task per request). A stream given to
:meth:`HTTPServer.handle_stream` is still served, through
:class:`~squall.http1connection.HTTP1ServerConnection`, so code that builds on
Tornado's stream interface keeps working.
"""

from __future__ import annotations

import asyncio
import socket
import ssl
from collections.abc import Callable, Iterable
from typing import Any, cast

from squall.http1connection import HTTP1ConnectionParameters, HTTP1ServerConnection
from squall.http1connection._parsers import reader_class
from squall.httputil import (
    HTTPConnection,
    HTTPMessageDelegate,
    HTTPServerConnectionDelegate,
    HTTPServerRequest,
)
from squall.httputil._callable import _CallableDelegate
from squall.iostream import IOStream, SSLIOStream
from squall.log import app_log, gen_log
from squall.netutil import add_accept_handler
from squall.tcpserver import TCPServer
from squall.util import Configurable

from ._adapter import _Forwarded
from ._h2hook import _H2Options
from ._peer import _peer_context
from ._protocol import _H1ServerProtocol
from ._registry import _Registry, _Settings

__all__ = ["HTTPServer"]

_MiB = 1024 * 1024
# The most one socket read takes at once (below the usual mmap threshold).
_RECEIVE_SIZE = 65536


def _handshake_done(task: asyncio.Future[Any]) -> None:
    if task.cancelled():
        return
    exc = task.exception()
    if exc is not None:
        # Scanners and clients that hang up mid-handshake are routine.
        gen_log.debug("TLS connection failed before HTTP started: %r", exc)


class HTTPServer(TCPServer, Configurable, HTTPServerConnectionDelegate):
    r"""A non-blocking HTTP/1.x server on the event loop (HTTP/2 too with ``http2=True``).

    ``request_callback`` is either an
    :class:`~squall.httputil.HTTPServerConnectionDelegate` (usually a
    :class:`squall.web.Application`) or a plain callable taking an
    :class:`~squall.httputil.HTTPServerRequest`, called once the whole
    request (body included) has arrived::

        def handle_request(request):
            message = f"You requested {request.uri}\n"
            request.write(
                f"HTTP/1.1 200 OK\r\nContent-Length: {len(message)}\r\n\r\n{message}"
            )
            request.finish()

        server = HTTPServer(handle_request)
        server.listen(8888)
        IOLoop.current().start()

    Bytes given to ``request.write`` before any headers go out verbatim (and
    the connection closes after the response); a callable may instead answer
    with ``request.connection.write_headers(start_line, headers, body)`` and
    ``request.connection.finish()``, which frames the response and keeps the
    connection alive. A callable may be a coroutine function.

    Keep-alive is on by default (HTTP/1.1, or HTTP/1.0 with ``Connection:
    keep-alive``); pipelined requests are answered in order.

    Arguments:
        no_keep_alive: close every connection after one response.
        xheaders: take the client's address from ``X-Real-Ip`` /
            ``X-Forwarded-For`` (the rightmost hop not in
            ``trusted_downstream``) and the scheme from ``X-Scheme`` /
            ``X-Forwarded-Proto``, for a server behind a reverse proxy.
        ssl_options: an :class:`ssl.SSLContext`, or a dict of
            :func:`~squall.netutil.ssl_options_to_context` arguments, to serve
            HTTPS.
        protocol: the scheme to report (``request.protocol``) when not serving
            TLS itself, e.g. ``"https"`` behind a TLS-terminating proxy that
            sets no header.
        decompress_request: inflate request bodies sent with
            ``Content-Encoding: gzip`` (the application sees the plain body
            and ``X-Consumed-Content-Encoding``).
        chunk_size: the largest piece of body handed to a delegate's
            ``data_received`` at once (64 KB). While the delegate is busy
            with an awaitable it returned, the connection stops reading once
            four such pieces (at least 64 KB, at most ``max_buffer_size``)
            wait undelivered.
        max_header_size: the largest request head accepted (64 KB; 431 past it).
        idle_connection_timeout: seconds a connection may wait for its next
            request before it is closed silently (3600).
        body_timeout: seconds allowed for a whole request body (no limit by
            default); past it the client gets a 408 and the connection closes.
        max_body_size: the largest request body (``max_buffer_size``); 413 past it.
        max_buffer_size: how many bytes of unread input (pipelined requests)
            a connection holds before it stops reading (100 MB).
        trusted_downstream: proxies whose addresses ``X-Forwarded-For``
            parsing skips.
        header_timeout: (squall) seconds from the first byte of a request head
            to its end, a fixed deadline that slow senders cannot push back;
            past it the client gets a 408 and the connection closes. Defaults
            to ``idle_connection_timeout``, at most 60.
        http_parser: (squall) which HTTP/1 parser reads requests:
            ``"httptools"`` (llhttp, from the ``speedups`` extra; an
            :class:`ImportError` when it is not installed), ``"python"``
            (squall's own), or ``"auto"`` (httptools when installed). The
            default ``None`` takes the ``SQUALL_HTTP_PARSER`` environment
            variable, ``"auto"`` when it is unset. Both parsers accept and
            refuse exactly the same requests; the choice is logged once on
            ``squall.general`` at INFO.
        http2: (squall) also speak HTTP/2 (needs the ``http2`` extra, the
            ``h2`` library): over TLS the client chooses it by ALPN (``h2``
            is offered before ``http/1.1`` on the server's SSL context), on
            cleartext a client that opens with the HTTP/2 preface gets it
            (h2c with prior knowledge; the HTTP/1.1 ``Upgrade: h2c`` dance is
            not supported). HTTP/1.1 keeps working on the same port. Each
            stream reaches the application as one request with
            ``request.version == "HTTP/2.0"``; ``max_header_size`` bounds
            each header list, ``max_body_size`` each stream's body (413),
            ``idle_connection_timeout`` a connection without open streams;
            :meth:`shutdown` sends GOAWAY and lets open streams finish.
        http2_max_concurrent_streams: streams a client may open at once
            (SETTINGS_MAX_CONCURRENT_STREAMS, 100). A client resetting more
            than twice that many streams (at least 100) within ten seconds
            is sent GOAWAY ``ENHANCE_YOUR_CALM`` and cut off ("rapid reset").
        http2_max_frame_size: the largest frame payload accepted
            (SETTINGS_MAX_FRAME_SIZE, 16384..16777215).
        http2_initial_window_size: each stream's receive window in bytes
            (SETTINGS_INITIAL_WINDOW_SIZE, 65535); a request body is only
            acknowledged once the application has taken it, so a slow
            ``data_received`` stalls its own stream only.

    Malformed requests get the matching 4xx/5xx status (400, 413, 414, 431,
    501, 505) with ``Connection: close`` and the connection closes; the
    reason is logged on ``squall.general`` at INFO level. An exception from
    the application is logged on ``squall.application`` and answered with a
    500 if no response had started.

    Beyond Tornado: :meth:`shutdown` stops gracefully.
    """

    request_callback: HTTPServerConnectionDelegate | Callable[[HTTPServerRequest], Any]
    no_keep_alive: bool
    xheaders: bool
    protocol: str | None
    decompress_request: bool
    chunk_size: int
    max_header_size: int
    idle_connection_timeout: float
    header_timeout: float
    body_timeout: float | None
    max_body_size: int
    max_buffer_size: int
    trusted_downstream: frozenset[str]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        # Configurable.__new__ has already called initialize() with the arguments.
        pass

    def initialize(  # type: ignore[override]
        self,
        request_callback: HTTPServerConnectionDelegate | Callable[[HTTPServerRequest], Any],
        no_keep_alive: bool = False,
        xheaders: bool = False,
        ssl_options: dict[str, Any] | ssl.SSLContext | None = None,
        protocol: str | None = None,
        decompress_request: bool = False,
        chunk_size: int | None = None,
        max_header_size: int | None = None,
        idle_connection_timeout: float | None = None,
        body_timeout: float | None = None,
        max_body_size: int | None = None,
        max_buffer_size: int | None = None,
        trusted_downstream: list[str] | None = None,
        *,
        header_timeout: float | None = None,
        http_parser: str | None = None,
        http2: bool = False,
        http2_max_concurrent_streams: int = 100,
        http2_max_frame_size: int = 16384,
        http2_initial_window_size: int = 65535,
    ) -> None:
        """Take the constructor's arguments (see the class documentation)."""
        # Resolved now: a parser asked for but not installed fails here, not per connection.
        self._reader_class = reader_class(http_parser)
        TCPServer.__init__(
            self,
            ssl_options=ssl_options,
            max_buffer_size=max_buffer_size,
            read_chunk_size=chunk_size,
        )
        self.request_callback = request_callback
        self.no_keep_alive = no_keep_alive
        self.xheaders = xheaders
        self.protocol = protocol
        self.decompress_request = decompress_request
        self.chunk_size = chunk_size or 65536
        self.max_header_size = max_header_size or 65536
        self.idle_connection_timeout = idle_connection_timeout or 3600.0
        self.header_timeout = header_timeout or min(60.0, self.idle_connection_timeout)
        self.body_timeout = body_timeout
        self.max_buffer_size = max_buffer_size or 100 * _MiB
        self.max_body_size = max_body_size or self.max_buffer_size
        self.trusted_downstream = frozenset(trusted_downstream or ())
        self._http2: _H2Options | None = None
        self._alpn: ssl.SSLContext | None = None
        if http2:
            try:
                import h2  # noqa: F401
            except ImportError:
                raise ImportError(
                    "http2=True needs the h2 library: pip install 'squall-httpserver[http2]'"
                ) from None
            self._http2 = _H2Options(
                http2_max_concurrent_streams,
                http2_max_frame_size,
                http2_initial_window_size,
                self.max_header_size,
            )
        self._registry: _Registry | None = None
        # Listening sockets this server accepts on, and the switches that stop it.
        self._listening: list[socket.socket] = []
        self._accepting: list[Callable[[], None]] = []
        self._handshakes: set[asyncio.Task[Any]] = set()
        # Connections served through handle_stream (IOStream path).
        self._stream_conns: set[HTTP1ServerConnection] = set()

    @classmethod
    def configurable_base(cls) -> type[Configurable]:
        return HTTPServer

    @classmethod
    def configurable_default(cls) -> type[Configurable]:
        return HTTPServer

    # -- listening --------------------------------------------------------------

    def add_sockets(self, sockets: Iterable[socket.socket]) -> None:
        """Serve HTTP on already-bound, listening ``sockets``."""
        for sock in sockets:
            self._listening.append(sock)
            self._accepting.append(add_accept_handler(sock, self._accepted))

    def stop(self) -> None:
        """Stop accepting and close the listening sockets; open connections stay."""
        accepting, self._accepting = self._accepting, []
        for unwatch in accepting:
            unwatch()
        listening, self._listening = self._listening, []
        for sock in listening:
            sock.close()
        super().stop()

    def _registry_for(self, loop: asyncio.AbstractEventLoop) -> _Registry:
        registry = self._registry
        if registry is None or registry._loop is not loop:
            registry = self._registry = _Registry(_Settings(self), loop)
        return registry

    def _accepted(self, conn: socket.socket, address: Any) -> None:
        loop = asyncio.get_running_loop()
        registry = self._registry_for(loop)
        if self.ssl_options is None:
            protocol = _H1ServerProtocol(registry, False)
            make = getattr(loop, "_make_socket_transport", None)
            if make is not None:
                # The selector loop's own constructor: no task, no extra round
                # trip through the loop before the first byte is read.
                conn.setblocking(False)
                transport = make(conn, protocol, extra={"peername": address})
                # Every read of this transport allocates max_size bytes first
                # (256 KiB by default): past glibc's mmap threshold, that is an
                # mmap and a munmap per received chunk, tens of microseconds.
                transport.max_size = _RECEIVE_SIZE
                return
            context: ssl.SSLContext | None = None
        else:
            protocol = _H1ServerProtocol(registry, True)
            context = self._context()
            if self._http2 is not None and context is not self._alpn:
                # Offer h2 first; clients without it keep HTTP/1.1.
                context.set_alpn_protocols(["h2", "http/1.1"])
                self._alpn = context
        task = loop.create_task(
            loop.connect_accepted_socket(
                lambda: protocol,
                conn,
                ssl=context,
                ssl_handshake_timeout=self.header_timeout if context is not None else None,
            )
        )
        self._handshakes.add(task)
        task.add_done_callback(self._handshakes.discard)
        task.add_done_callback(_handshake_done)

    # -- the IOStream path and the delegate interface ------------------------------

    def handle_stream(self, stream: IOStream, address: tuple[Any, ...]) -> None:
        """Serve HTTP on an already connected ``stream`` (Tornado's TCPServer hook).

        Used for streams handed over by code built on
        :class:`~squall.tcpserver.TCPServer`;
        sockets this server accepts itself take the faster transport path.
        """
        scheme = "https" if isinstance(stream, SSLIOStream) else (self.protocol or "http")
        context = _peer_context(address, scheme, self.trusted_downstream)
        params = HTTP1ConnectionParameters(
            no_keep_alive=self.no_keep_alive,
            chunk_size=self.chunk_size,
            max_header_size=self.max_header_size,
            header_timeout=self.header_timeout,
            max_body_size=self.max_body_size,
            body_timeout=self.body_timeout,
            decompress=self.decompress_request,
        )
        conn = HTTP1ServerConnection(stream, params, context)
        self._stream_conns.add(conn)
        conn.start(self)

    def start_request(
        self, server_conn: object, request_conn: HTTPConnection
    ) -> HTTPMessageDelegate:
        """The delegate for a request arriving on a stream served by :meth:`handle_stream`."""
        callback = self.request_callback
        delegate: HTTPMessageDelegate
        starter = getattr(callback, "start_request", None)
        if starter is not None:
            delegate = starter(server_conn, request_conn)
        else:
            delegate = _CallableDelegate(
                cast(Callable[[HTTPServerRequest], Any], callback),
                server_connection=server_conn,
                connection=request_conn,
            )
        if self.xheaders:
            delegate = _Forwarded(delegate, request_conn)
        return delegate

    def on_close(self, server_conn: object) -> None:
        """A stream connection ended: forget it (and tell the application's delegate)."""
        self._stream_conns.discard(cast(HTTP1ServerConnection, server_conn))
        closing = getattr(self.request_callback, "on_close", None)
        if closing is not None:
            closing(server_conn)

    # -- ending ------------------------------------------------------------------

    async def close_all_connections(self) -> None:
        """Close every open connection at once and wait until they are all closed.

        Responses in progress are cut off; use :meth:`shutdown` to let them
        finish. Combine with :meth:`stop` (which stops accepting) for a clean
        end, e.g. at the end of a test.
        """
        for task in list(self._handshakes):
            task.cancel()
        registry = self._registry
        if registry is not None:
            for conn in list(registry.conns):
                conn._abort()
            await registry.emptied()
        while self._stream_conns:
            await self._stream_conns.pop().close()

    async def shutdown(self, timeout: float | None = 30.0) -> None:
        """Stop gracefully: no new connections, in-flight requests finish, then close.

        Listening sockets close at once (:meth:`stop`); idle keep-alive
        connections close at once; a connection in the middle of a request
        gets its response (with ``Connection: close``) and is then closed.
        Whatever is still open after ``timeout`` seconds (``None``: no limit)
        is closed by force. Returns when every connection is closed.
        """
        self.stop()
        loop = asyncio.get_running_loop()
        deadline = None if timeout is None else loop.time() + timeout
        registry = self._registry
        if registry is not None:
            registry.draining = True
            for conn in list(registry.conns):
                conn._drain_idle()
            try:
                if deadline is None:
                    await registry.emptied()
                else:
                    await asyncio.wait_for(registry.emptied(), max(0.0, deadline - loop.time()))
            except asyncio.TimeoutError:
                gen_log.info(
                    "shutdown: closing %d connection(s) still busy after %s s",
                    len(registry.conns),
                    timeout,
                )
                for conn in list(registry.conns):
                    conn._abort()
                await registry.emptied()
        for task in list(self._handshakes):
            task.cancel()
        if self._stream_conns:
            waits = [conn.close() for conn in list(self._stream_conns)]
            self._stream_conns.clear()
            try:
                await asyncio.gather(*waits)
            except Exception:
                app_log.debug("error while closing stream connections", exc_info=True)
