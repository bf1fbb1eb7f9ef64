"""ASGIContainer: an ASGI 3 application served by squall's HTTPServer.

The container is an :class:`~squall.httputil.HTTPServerConnectionDelegate`:
for each request the server hands it, :class:`_HTTPCall` builds the scope
from the head and starts the application as a task at once, so the
application reads the body as it arrives.  Body pieces wait in a small
list until ``receive()`` takes them; past a window the server is told to
stop reading (the awaitable ``data_received`` returns), so an application
that does not read holds the client back instead of filling memory.

Going out, ``http.response.start`` is kept until the first body event, so a
response given in one ``http.response.body`` goes out in one write with a
``Content-Length``; otherwise the server frames it (chunked for HTTP/1.1).
``send()`` awaits the connection's write future: while the client does not
keep up, the application waits.

Failures are the application's business until they reach us: an exception
before any byte went out is a 500 page, after that the connection is closed
(the client must not take half a response for a whole one), and an
application that returns without finishing its response is treated the
same way.  Each is logged on ``squall.application``; the server goes on.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, MutableMapping
from types import TracebackType
from typing import Any, cast

from squall.httputil import (
    HTTPConnection,
    HTTPHeaders,
    HTTPMessageDelegate,
    HTTPServerConnectionDelegate,
    HTTPServerRequest,
    RequestStartLine,
    ResponseStartLine,
    responses,
)
from squall.ioloop._eager import _start_eagerly
from squall.iostream import StreamClosedError
from squall.log import access_log, app_log
from squall.websocket._handshake import has_token

from ._lifespan import _ASGIApp, _LifespanRun
from ._scope import _headers_from_fields, _local_address, _make_scope, _Peer

__all__ = ["ASGIContainer", "_Reply", "_hang_up", "_keep"]

# Body bytes waiting for receive() before the server is asked to stop reading.
_WINDOW = 256 * 1024
_FAILURE_PAGE = b"Internal Server Error"
_BODYLESS = frozenset((204, 304))

# Calls in progress: the loop holds tasks only weakly.
_tasks: set[asyncio.Future[Any]] = set()


def _settle(future: asyncio.Future[None] | None) -> None:
    """Release whoever awaits ``future`` (nothing to do for None or a done one)."""
    if future is not None and not future.done():
        future.set_result(None)


def _keep(task: asyncio.Future[Any]) -> None:
    _tasks.add(task)
    task.add_done_callback(_tasks.discard)


def _hang_up(conn: Any) -> None:
    """End a connection whose response cannot be completed."""
    closer = getattr(conn, "close", None)
    try:
        if closer is not None:
            closer()
        else:
            conn.detach().close()
    except Exception:
        app_log.debug("closing a connection after a broken response failed", exc_info=True)


def _written_or_raise(written: asyncio.Future[None] | None) -> Awaitable[None] | None:
    """What ``send`` has to wait for; raises at once when the client is gone."""
    if written is None:
        return None
    if written.done():
        if not written.cancelled() and written.exception() is not None:
            raise StreamClosedError(real_error=written.exception())
        return None
    return written


class _Reply:
    """One HTTP response given as ASGI events, written on a squall connection."""

    __slots__ = ("complete", "conn", "fields", "head_out", "method", "started", "status")

    def __init__(self, conn: HTTPConnection, method: str) -> None:
        self.conn = conn
        self.method = method
        self.started = False
        self.head_out = False
        self.complete = False
        self.status = 0
        self.fields: Any = ()

    def start(self, message: MutableMapping[str, Any]) -> None:
        if self.started:
            raise RuntimeError("the ASGI application sent a second response start")
        status = message["status"]
        if type(status) is not int:
            status = int(status)
        if not 100 <= status <= 999:
            raise RuntimeError(f"the ASGI application gave the status {status}")
        # Kept as given until the head goes out (squall's HTTP/1 connections
        # write the byte pairs as they are).
        self.fields = message.get("headers") or ()
        self.status = status
        self.started = True

    def body(self, message: MutableMapping[str, Any]) -> asyncio.Future[None] | None:
        if not self.started:
            raise RuntimeError("the ASGI application sent a response body before its start")
        if self.complete:
            raise RuntimeError("the ASGI application sent a body after the response was complete")
        data = message.get("body") or b""
        if type(data) is not bytes:
            data = bytes(data)
        more = message.get("more_body", False)
        conn = self.conn
        written: asyncio.Future[None] | None = None
        if not self.head_out:
            self.head_out = True
            status = self.status
            # A body given whole gets a Content-Length (unless the fields frame it).
            whole = not more and status >= 200 and status not in _BODYLESS and self.method != "HEAD"
            direct = getattr(conn, "_write_head_fields", None)
            if direct is not None and status >= 200:
                written = direct(status, self.fields, data or None, len(data) if whole else None)
            else:
                headers = _headers_from_fields(self.fields)
                if whole and "Content-Length" not in headers._joined:
                    headers._joined["Content-Length"] = str(len(data))
                written = conn.write_headers(_start_line(status), headers, data or None)
        elif data:
            written = conn.write(data)
        if not more:
            self.complete = True
            conn.finish()
        return written

    def fail(self) -> None:
        """A 500 page, when nothing went out yet."""
        headers = HTTPHeaders()
        headers["Content-Type"] = "text/plain; charset=utf-8"
        headers["Content-Length"] = str(len(_FAILURE_PAGE))
        self.status, self.head_out, self.complete = 500, True, True
        line = ResponseStartLine("HTTP/1.1", 500, "Internal Server Error")
        written = self.conn.write_headers(line, headers, _FAILURE_PAGE)
        if not written.done():
            written.add_done_callback(_seen)
        self.conn.finish()


# Status -> its response start line, made once.
_start_lines: dict[int, ResponseStartLine] = {}


def _start_line(status: int) -> ResponseStartLine:
    line = _start_lines.get(status)
    if line is None:
        line = ResponseStartLine("HTTP/1.1", status, responses.get(status, "Unknown"))
        if len(_start_lines) < 1024:
            _start_lines[status] = line
    return line


def _seen(future: asyncio.Future[Any]) -> None:
    if not future.cancelled():
        future.exception()


class _HTTPCall(_Reply, HTTPMessageDelegate):
    """One request: the scope, ``receive`` and ``send`` of one application call.

    It is its own :class:`_Reply`: one object per request, not two.
    """

    __slots__ = (
        "_began",
        "_conn",
        "_container",
        "_ended",
        "_final_given",
        "_gone",
        "_parts",
        "_peer",
        "_room",
        "_server_conn",
        "_size",
        "_socket",
        "_target",
        "_waiter",
    )

    def __init__(
        self,
        container: ASGIContainer,
        server_conn: object,
        conn: HTTPConnection,
        peer: Any = None,
    ) -> None:
        self._container = container
        self._server_conn = server_conn
        self._conn = self.conn = conn
        self._peer = peer
        self.method = "GET"
        self.started = self.head_out = self.complete = False
        self.status = 0
        self.fields = ()
        self._parts: list[bytes] | None = None
        self._size = 0
        self._ended = False
        self._final_given = False
        self._gone = False
        self._waiter: asyncio.Future[None] | None = None
        self._room: asyncio.Future[None] | None = None
        self._socket: Any = None
        self._target = ""
        self._began = 0.0

    # -- from the server -------------------------------------------------------------

    def headers_received(
        self, start_line: RequestStartLine | ResponseStartLine, headers: HTTPHeaders
    ) -> Awaitable[None] | None:
        method, uri, version = cast(RequestStartLine, start_line)
        conn = self._conn
        peer = self._peer
        if peer is None:
            peer = getattr(conn, "context", None)
        container = self._container
        upgrade = headers._joined.get("Upgrade")
        if upgrade is not None and has_token(upgrade, "websocket"):
            from ._websocket import _SocketCall

            self._socket = _SocketCall(
                container, self._server_conn, conn, method, uri, version, headers, peer
            )
            return None
        scope = _make_scope(
            "http",
            method,
            uri,
            version,
            headers,
            peer,
            _local_address(self._server_conn),
            container.root_path,
            container.state,
        )
        self.method = method
        self._target = uri
        self._began = time.monotonic()
        # Started at once: an application that never waits answers without a Task.
        task = _start_eagerly(self._call(scope))
        if task is not None:
            _keep(task)
        return None

    def data_received(self, chunk: bytes) -> Awaitable[None] | None:
        if self._socket is not None:
            return None
        parts = self._parts
        if parts is None:
            self._parts = [chunk]
        else:
            parts.append(chunk)
        self._size += len(chunk)
        self._wake()
        if self._size >= _WINDOW and not self._gone:
            room = self._room = asyncio.get_running_loop().create_future()
            return room
        return None

    def finish(self) -> None:
        self._ended = True
        self._wake()

    def on_connection_close(self) -> None:
        self._gone = True
        self._wake()
        self._make_room()
        socket = self._socket
        if socket is not None:
            socket.on_connection_close()

    # -- for the application -----------------------------------------------------------

    def _wake(self) -> None:
        waiter, self._waiter = self._waiter, None
        _settle(waiter)

    def _make_room(self) -> None:
        room, self._room = self._room, None
        _settle(room)

    async def receive(self) -> dict[str, Any]:
        while True:
            if self._gone:
                return {"type": "http.disconnect"}
            parts = self._parts
            if parts:
                body = parts[0] if len(parts) == 1 else b"".join(parts)
                parts.clear()
                self._size = 0
                self._make_room()
                ended = self._final_given = self._ended
                return {"type": "http.request", "body": body, "more_body": not ended}
            if self._ended and not self._final_given:
                self._final_given = True
                return {"type": "http.request", "body": b"", "more_body": False}
            if self.complete:
                return {"type": "http.disconnect"}
            waiter = self._waiter = asyncio.get_running_loop().create_future()
            await waiter

    async def send(self, message: MutableMapping[str, Any]) -> None:
        kind = message["type"]
        if self._gone:
            raise StreamClosedError()
        if kind == "http.response.body":
            pending = _written_or_raise(self.body(message))
            if self.complete:
                self._log(self.status)
                self._wake()
                # Answered: a body nobody will read must not hold the
                # connection's reading back (the server drops the rest).
                self._make_room()
            if pending is not None:
                await pending
        elif kind == "http.response.start":
            self.start(message)
        else:
            raise RuntimeError(f"unexpected ASGI message {kind!r} for an HTTP request")

    async def _call(self, scope: dict[str, Any]) -> None:
        container = self._container
        try:
            if not container._ready:
                await container._start_once()
                # The scope was made before the startup filled the state in.
                scope["state"] = container.state.copy()
            await container.application(scope, self.receive, self.send)
        except Exception as exc:
            self._failed(exc)
            return
        finally:
            self._make_room()
        if self.complete or self._gone:
            return
        if not self.head_out:
            app_log.error(
                "The ASGI application returned without a response to %s %s",
                self.method,
                self._target,
            )
            self.fail()
            self._log(500)
        else:
            app_log.error(
                "The ASGI application returned before finishing its response to %s %s",
                self.method,
                self._target,
            )
            _hang_up(self._conn)

    def _failed(self, exc: Exception) -> None:
        if self._gone:
            app_log.debug("ASGI application stopped after its client left: %r", exc)
            return
        app_log.error(
            "Exception in the ASGI application serving %s %s",
            self.method,
            self._target,
            exc_info=exc,
        )
        if not self.head_out:
            self.fail()
            self._log(500)
        elif not self.complete:
            _hang_up(self._conn)

    def _log(self, status: int) -> None:
        level = 20 if status < 400 else 30 if status < 500 else 40
        if access_log.isEnabledFor(level):
            elapsed = 1000.0 * (time.monotonic() - self._began)
            peer = self._peer or getattr(self._conn, "context", None)
            access_log.log(
                level,
                "%d %s %s (%s) %.2fms",
                status,
                self.method,
                self._target,
                str(peer or ""),
                elapsed,
            )


class ASGIContainer(HTTPServerConnectionDelegate):
    """Serves an ASGI 3 application (Starlette, FastAPI, Django, Quart...) from squall's HTTPServer.

    ::

        container = ASGIContainer(starlette_app)
        HTTPServer(container, xheaders=True).listen(8000)

    :param application: the ``async def app(scope, receive, send)`` callable
        of ASGI 3.
    :param root_path: the path the application is mounted at (the ``root_path``
        of the scope).  A request path that does not begin with it (a proxy
        took it off) gets it put back in front of ``path``, as ASGI 2.4
        wants.
    :param lifespan: ``"auto"`` (the default) runs the application's lifespan
        protocol if it speaks it, ``"on"`` requires it (:meth:`startup` raises
        otherwise), ``"off"`` never runs it.
    :param websocket_max_message_size: the largest WebSocket message accepted
        from a client (10 MiB); a larger one closes with code 1009.
    :param websocket_ping_interval: seconds between pings on an accepted
        WebSocket (none by default); ``websocket_ping_timeout`` closes one
        whose client stays silent that long after a ping.

    Serving follows the ASGI HTTP and WebSocket specifications, version
    2.4: the request body streams in ``http.request`` events, the response
    streams out (``send`` waits while the client is slow), a client that
    leaves is an ``http.disconnect`` event and a ``send`` that raises
    :class:`OSError`; ``client`` and ``scheme`` come from the request, so the
    server's ``xheaders`` apply; WebSockets are accepted with a subprotocol
    and headers, or refused with a 403 or any response of the application's
    (the ``websocket.http.response`` extension).  An application that fails
    gets a 500 page, or its connection closed when part of a response is out;
    either way the error is logged on ``squall.application`` and every
    response gets an access-log line.

    Lifespan: :meth:`startup` and :meth:`shutdown` (or ``async with
    container:``) run the application's startup and shutdown; when
    :meth:`startup` was not called, the first request runs it.  What the
    application keeps in the lifespan ``state`` is :attr:`state`, copied into
    every request's scope.

    The container is also a plain ``callable(request)``, so it can be a
    :class:`~squall.web.FallbackHandler` target inside a squall
    application; as a rule target of an :class:`~squall.web.Application` it
    is served as a delegate, with the request body streamed.
    """

    def __init__(
        self,
        application: _ASGIApp,
        *,
        root_path: str = "",
        lifespan: str = "auto",
        websocket_max_message_size: int = 10 * 1024 * 1024,
        websocket_ping_interval: float | None = None,
        websocket_ping_timeout: float | None = None,
    ) -> None:
        if lifespan not in ("auto", "on", "off"):
            raise ValueError(f"lifespan must be 'auto', 'on' or 'off', not {lifespan!r}")
        self.application = application
        self.root_path = root_path.rstrip("/")
        self.lifespan = lifespan
        self.websocket_max_message_size = websocket_max_message_size
        self.websocket_ping_interval = websocket_ping_interval
        self.websocket_ping_timeout = websocket_ping_timeout
        #: The lifespan state the application filled in at startup.
        self.state: dict[str, Any] = {}
        self._ready = lifespan == "off"
        self._starting: asyncio.Future[None] | None = None
        self._lifespan_run: _LifespanRun | None = None

    def start_request(
        self, server_conn: object, request_conn: HTTPConnection
    ) -> HTTPMessageDelegate:
        """The delegate that serves one request (the server's interface)."""
        return _HTTPCall(self, server_conn, request_conn)

    def __call__(self, request: HTTPServerRequest) -> None:
        """Serve a complete ``request`` (the ``callable(request)`` interface); returns at once."""
        peer = _Peer(
            getattr(getattr(request.connection, "context", None), "address", None),
            request.remote_ip,
            request.protocol,
        )
        call = _HTTPCall(self, request.server_connection, request.connection, peer)
        line = RequestStartLine(request.method or "GET", request.uri or "/", request.version)
        call.headers_received(line, request.headers)
        if request.body:
            call.data_received(request.body)
        call.finish()

    # -- lifespan ---------------------------------------------------------------------

    async def startup(self) -> None:
        """Run the application's lifespan startup (once); raises if it reports a failure."""
        if self._ready:
            return
        await self._start_once()

    def _start_once(self) -> asyncio.Future[None]:
        starting = self._starting
        if starting is None:
            starting = self._starting = asyncio.ensure_future(self._run_startup())
        return starting

    async def _run_startup(self) -> None:
        run = self._lifespan_run = _LifespanRun(
            self.application, self.state, required=self.lifespan == "on"
        )
        await run.startup()
        self._ready = True

    async def shutdown(self) -> None:
        """Run the application's lifespan shutdown (when its startup ran)."""
        run, self._lifespan_run = self._lifespan_run, None
        if run is not None:
            await run.shutdown()

    async def __aenter__(self) -> ASGIContainer:
        await self.startup()
        return self

    async def __aexit__(
        self,
        typ: type[BaseException] | None,
        value: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.shutdown()
