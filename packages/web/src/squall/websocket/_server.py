"""The server end: :class:`WebSocketHandler`, a RequestHandler whose GET becomes a WebSocket.

The upgrade is an ordinary request: ``prepare()``, cookies, ``current_user``
and decorators such as ``@authenticated`` all run first. ``get()`` then
checks the request (400/426 as Tornado answers), the origin (403), picks a
subprotocol and the permessage-deflate terms, answers 101 through the normal
``finish()`` (so default headers and cookies set so far go out with it),
detaches the connection and hands it to a :class:`~._session._Session`.
"""

from __future__ import annotations

import asyncio
from typing import Any
from urllib.parse import urlsplit

from squall.httputil import HTTPHeaders
from squall.iostream import StreamClosedError
from squall.web import RequestHandler

from ._deflate import MessageDeflater, server_accept
from ._frames import WebSocketClosedError, WebSocketProtocol
from ._handshake import accept_key, check_upgrade_request, parse_subprotocols
from ._session import _Session

__all__ = ["WebSocketHandler"]

_DEFAULT_MAX_MESSAGE_SIZE = 10 * 1024 * 1024


class _AfterTheAnswer(HTTPHeaders):
    """Response headers of a handler whose 101 went out: always empty, writes go nowhere.

    One instance serves every upgraded handler (``set_header`` after the
    upgrade could not reach the client anyway).
    """

    __slots__ = ()

    def __setitem__(self, name: str, value: str) -> None:
        pass

    def add(self, name: str, value: str) -> None:
        pass


_SPENT_HEADERS = _AfterTheAnswer()
# The body of an upgraded handler: write() refuses after finish(), so this
# shared list is never filled.
_NO_BODY: list[bytes] = []


def _done() -> asyncio.Future[None]:
    future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
    future.set_result(None)
    return future


class WebSocketHandler(RequestHandler):
    """Subclass this and override :meth:`on_message` (and :meth:`open`, :meth:`on_close`).

    Map it to a URL like any handler; a browser connects with
    ``new WebSocket("ws://host/path")``. Send with :meth:`write_message`,
    end with :meth:`close`. Only GET upgrades are accepted (other methods get
    405), and cross-origin requests are refused unless :meth:`check_origin`
    allows them. Extra headers for the 101 answer can be set in
    :meth:`~squall.web.RequestHandler.set_default_headers` or
    :meth:`~squall.web.RequestHandler.prepare`.

    Example::

        class EchoWebSocket(WebSocketHandler):
            def open(self):
                print("WebSocket opened")

            def on_message(self, message):
                self.write_message("You said: " + message)

            def on_close(self):
                print("WebSocket closed")

    Application settings: ``websocket_ping_interval`` (seconds between pings,
    none by default), ``websocket_ping_timeout`` (close when nothing came back
    within this long after a ping; the interval by default, never longer),
    ``websocket_max_message_size`` (default 10 MiB; larger messages close
    the connection with code 1009).
    """

    # Class-level defaults, shadowed per instance only once they change:
    # every attribute an idle connection does not store is memory saved.
    #: The live connection once upgraded (None before, and after it ended).
    ws_connection: _Session | None = None
    #: The code and reason of the client's close frame (None if it sent none).
    close_code: int | None = None
    close_reason: str | None = None
    _subprotocol: str | None = None
    _nodelay: bool | None = None

    def __init__(self, application: Any, request: Any, **kwargs: Any) -> None:
        super().__init__(application, request, **kwargs)

    # -- the upgrade -----------------------------------------------------------------

    def get(self, *args: Any, **kwargs: Any) -> asyncio.Future[None]:
        """Upgrade the connection; returns a future done once :meth:`open` has returned."""
        request = self.request
        headers = request.headers
        refusal = check_upgrade_request(request.method or "", headers)
        if refusal is not None:
            self.set_status(refusal.status)
            for name, value in refusal.headers:
                self.set_header(name, value)
            self.finish(refusal.message)
            return _done()
        origin = headers.get("Origin") or headers.get("Sec-Websocket-Origin")
        if origin is not None and not self.check_origin(origin):
            self.set_status(403)
            self.finish("Cross origin websockets not allowed")
            return _done()
        offered = parse_subprotocols(headers.get("Sec-WebSocket-Protocol"))
        if offered:
            chosen = self.select_subprotocol(offered)
            if chosen is not None:
                if chosen not in offered:
                    raise ValueError(f"select_subprotocol chose {chosen!r}, which was not offered")
                self._subprotocol = chosen
                self.set_header("Sec-WebSocket-Protocol", chosen)
        deflater = None
        options = self.get_compression_options()
        if options is not None:
            terms = server_accept(headers.get("Sec-WebSocket-Extensions"))
            if terms is not None:
                deflater = MessageDeflater(terms, False, options)
                self.set_header("Sec-WebSocket-Extensions", terms.header_value())
        self.set_status(101)
        self.set_header("Upgrade", "websocket")
        self.set_header("Connection", "Upgrade")
        self.set_header("Sec-WebSocket-Accept", accept_key(headers["Sec-WebSocket-Key"].strip()))
        self.finish()
        try:
            stream = self.detach()
        except StreamClosedError:
            return _done()
        self._shed_http()
        session = self.ws_connection = _Session(
            self,
            WebSocketProtocol(False, self.max_message_size, deflater),
            stream,
            self.ping_interval,
            self.ping_timeout,
        )
        session.start()
        if self._nodelay is not None:
            stream.set_nodelay(self._nodelay)
        try:
            pending = self.open(*args, **kwargs)
        except Exception as exc:
            session._crashed(exc)
            return _done()
        if pending is not None and hasattr(pending, "__await__"):
            opened: asyncio.Future[None] = asyncio.ensure_future(pending)
            session.hold_until(opened)
            return opened
        session.release()
        return _done()

    def _shed_http(self) -> None:
        """After the 101, let go of what only HTTP needed: the connection may stay open for hours.

        The request keeps its headers, body and the peer's address (through
        a small stand-in for its ``connection``, where the HTTP server
        offers one); the answer's headers are gone with the answer.
        """
        request = self.request
        handover = getattr(request.connection, "_handover", None)
        if handover is not None:
            request.connection = request.server_connection = handover()
        self._headers = _SPENT_HEADERS
        self._chunks = _NO_BODY
        self._transforms = None

    # -- settings ----------------------------------------------------------------------

    @property
    def ping_interval(self) -> float | None:
        """Seconds between pings (the ``websocket_ping_interval`` setting), None for no pings."""
        return self.settings.get("websocket_ping_interval", None)

    @property
    def ping_timeout(self) -> float | None:
        """The ``websocket_ping_timeout`` setting: how long a ping may go unanswered."""
        return self.settings.get("websocket_ping_timeout", None)

    @property
    def max_message_size(self) -> int:
        """The largest message accepted (``websocket_max_message_size``, default 10 MiB)."""
        return self.settings.get(  # type: ignore[no-any-return]
            "websocket_max_message_size", _DEFAULT_MAX_MESSAGE_SIZE
        )

    # -- hooks -------------------------------------------------------------------------

    def open(self, *args: str, **kwargs: str) -> Any:
        """Called once the WebSocket is open, with the URL's captured groups.

        May be a coroutine: no message is delivered until it has returned.
        """

    def on_message(self, message: str | bytes) -> Any:
        """Handle one incoming message (``str`` for text, ``bytes`` for binary); must be overridden.

        May be a coroutine: the next message waits until it is done.
        """
        raise NotImplementedError(f"{type(self).__name__} must implement on_message()")

    def on_close(self) -> None:
        """Called once when the connection is over (see ``close_code``)."""

    def on_ping(self, data: bytes) -> None:
        """Called when a ping arrives (the pong is sent already)."""

    def on_pong(self, data: bytes) -> None:
        """Called when a pong arrives."""

    def select_subprotocol(self, subprotocols: list[str]) -> str | None:
        """Pick one of the client's subprotocols (in its order of preference), or None.

        Only called when the client offered some.
        """
        return None

    @property
    def selected_subprotocol(self) -> str | None:
        """The subprotocol :meth:`select_subprotocol` chose, or None."""
        return self._subprotocol

    def check_origin(self, origin: str) -> bool:
        """Whether a browser page from ``origin`` may connect; same host only by default.

        Override to accept other origins (return True to accept any); a
        refusal answers 403.
        """
        host = self.request.headers.get("Host")
        return host is not None and urlsplit(origin).netloc.lower() == host.lower()

    def get_compression_options(self) -> dict[str, Any] | None:
        """None (the default) for no compression; a dict to accept permessage-deflate.

        Keys: ``compression_level`` and ``mem_level`` (as for :func:`zlib.compressobj`).
        """
        return None

    def set_nodelay(self, value: bool) -> None:
        """Turn Nagle's algorithm off (True) for lower latency on small messages.

        Best called in :meth:`open`.
        """
        session = self.ws_connection
        if session is None:
            self._nodelay = value
        else:
            session.stream.set_nodelay(value)

    # -- output ------------------------------------------------------------------------

    def write_message(
        self, message: bytes | str | dict[str, Any], binary: bool = False
    ) -> asyncio.Future[None]:
        """Send ``message``: ``str`` as text, ``bytes`` as binary when ``binary``, a dict as JSON.

        Returns a future resolved once the data is handed to the network
        (wait on it for flow control).

        Raises:
            WebSocketClosedError: the connection is closed or closing.
        """
        session = self.ws_connection
        if session is None:
            raise WebSocketClosedError("the WebSocket is not open")
        return session.send(message, binary)

    def ping(self, data: str | bytes = b"") -> None:
        """Send a ping carrying ``data`` (at most 125 bytes); :meth:`on_pong` sees the answer."""
        session = self.ws_connection
        if session is None:
            raise WebSocketClosedError("the WebSocket is not open")
        session.ping(data.encode("utf-8") if isinstance(data, str) else bytes(data))

    def close(self, code: int | None = None, reason: str | None = None) -> None:
        """Start the closing handshake, with an optional status ``code`` and ``reason`` text."""
        session = self.ws_connection
        if session is not None:
            session.close(code, reason)

    # -- what the session and the HTTP layer call ----------------------------------

    def _ws_closed(self, code: int | None, reason: str | None) -> None:
        self.close_code, self.close_reason = code, reason
        self.ws_connection = None
        self.on_close()

    def on_connection_close(self) -> None:
        session = self.ws_connection
        if session is not None:
            session.abort()

    def send_error(self, status_code: int = 500, **kwargs: Any) -> None:
        """An HTTP error page before the upgrade; a 1011 close once it is done."""
        if self.ws_connection is not None:
            # Too late for an HTTP answer: end the WebSocket instead.
            self.ws_connection.close(1011, "internal error")
            return
        super().send_error(status_code, **kwargs)
