"""The WebSocket scope of ASGIContainer: an ASGI application behind squall's own WebSocket layer.

The opening handshake is checked before the application hears of the
request (a bad one gets squall's usual 400/405/426).  Then the application
gets ``websocket.connect`` and decides: ``websocket.accept`` answers 101,
takes the connection over from HTTP (``detach()``) and hands it to a
:class:`squall.websocket._session._Session`, the driver squall's
WebSocketHandler uses, with this call as its owner; ``websocket.close``
before accepting is a 403; ``websocket.http.response.start`` and ``.body``
give any HTTP answer instead.

Messages the session delivers wait in a short queue for ``receive()``;
when it is full the session stops reading from the socket until the
application catches up.  ``send()`` waits until the frame is handed to the
transport.  Once the connection is over, ``receive()`` says
``websocket.disconnect`` (with the client's close code: 1005 when its
close frame had none, 1006 when there was no close frame) and ``send()``
raises :class:`~squall.iostream.StreamClosedError`, an :class:`OSError`.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import MutableMapping
from typing import TYPE_CHECKING, Any

from squall.httputil import HTTPConnection, HTTPHeaders, ResponseStartLine, responses
from squall.iostream import StreamClosedError
from squall.log import app_log
from squall.websocket._frames import WebSocketClosedError, WebSocketProtocol
from squall.websocket._handshake import accept_key, check_upgrade_request, parse_subprotocols
from squall.websocket._session import _Session

from ._container import _hang_up, _keep, _Reply, _settle, _written_or_raise
from ._scope import _headers_from_fields, _local_address, _make_scope

if TYPE_CHECKING:
    from ._container import ASGIContainer

__all__ = ["_SocketCall"]

# Messages held for receive() before the session stops reading.
_QUEUE_LIMIT = 16
# Where the call stands.
_WAITING = 0  # websocket.connect given, no answer yet
_OPEN = 1  # accepted
_ANSWERING = 2  # sending an HTTP answer instead (websocket.http.response.*)
_OVER = 3  # closed, refused or answered
# Fields of the 101 answer that are ours to set.
_OURS = frozenset(("Upgrade", "Connection", "Sec-Websocket-Accept", "Sec-Websocket-Protocol"))


class _SocketCall:
    """One WebSocket request given to an ASGI application (see the module docs)."""

    __slots__ = (
        "_conn",
        "_connect_given",
        "_container",
        "_key",
        "_messages",
        "_parting",
        "_reply",
        "_room",
        "_session",
        "_stage",
        "_waiter",
    )

    def __init__(
        self,
        container: ASGIContainer,
        server_conn: object,
        conn: HTTPConnection,
        method: str,
        uri: str,
        version: str,
        headers: HTTPHeaders,
        peer: Any,
    ) -> None:
        self._container = container
        self._conn = conn
        self._stage = _WAITING
        self._connect_given = False
        self._messages: deque[dict[str, Any]] = deque()
        self._waiter: asyncio.Future[None] | None = None
        self._room: asyncio.Future[None] | None = None
        self._session: _Session | None = None
        self._reply: _Reply | None = None
        self._parting: tuple[int, str] | None = None
        self._key = (headers.get("Sec-WebSocket-Key") or "").strip()
        refusal = check_upgrade_request(method, headers)
        if refusal is not None:
            self._stage = _OVER
            answer = HTTPHeaders()
            for name, value in refusal.headers:
                answer[name] = value
            body = refusal.message.encode("utf-8")
            answer["Content-Length"] = str(len(body))
            line = ResponseStartLine("HTTP/1.1", refusal.status, responses.get(refusal.status, ""))
            conn.write_headers(line, answer, body or None)
            conn.finish()
            return
        scope = _make_scope(
            "websocket",
            method,
            uri,
            version,
            headers,
            peer,
            _local_address(server_conn),
            container.root_path,
            container.state,
        )
        scope["subprotocols"] = parse_subprotocols(headers.get("Sec-WebSocket-Protocol"))
        scope["extensions"] = {"websocket.http.response": {}}
        _keep(asyncio.get_running_loop().create_task(self._run(scope)))

    # -- the HTTP side, before the upgrade -------------------------------------------

    def on_connection_close(self) -> None:
        if self._stage in (_WAITING, _ANSWERING):
            self._stage = _OVER
            self._parting = (1006, "")
            self._wake()

    # -- the session's owner interface -------------------------------------------------

    def on_message(self, message: str | bytes) -> asyncio.Future[None] | None:
        if type(message) is str:
            self._messages.append({"type": "websocket.receive", "text": message})
        else:
            self._messages.append({"type": "websocket.receive", "bytes": message})
        self._wake()
        if len(self._messages) >= _QUEUE_LIMIT:
            room = self._room = asyncio.get_running_loop().create_future()
            return room
        return None

    def on_ping(self, data: bytes) -> None:
        pass

    def on_pong(self, data: bytes) -> None:
        pass

    def _ws_closed(self, code: int | None, reason: str | None) -> None:
        session = self._session
        if code is None:
            heard = session is not None and session.protocol.close_received
            code = 1005 if heard else 1006
        self._parting = (code, reason or "")
        self._stage = _OVER
        self._session = None
        self._wake()
        self._make_room()

    def log_exception(self, typ: Any, value: Any, tb: Any) -> None:
        app_log.error("WebSocket error in an ASGI connection", exc_info=(typ, value, tb))

    # -- receive and send ------------------------------------------------------------------

    def _wake(self) -> None:
        waiter, self._waiter = self._waiter, None
        _settle(waiter)

    def _make_room(self) -> None:
        room, self._room = self._room, None
        _settle(room)

    async def receive(self) -> dict[str, Any]:
        if not self._connect_given:
            self._connect_given = True
            return {"type": "websocket.connect"}
        while True:
            messages = self._messages
            if messages:
                message = messages.popleft()
                if len(messages) < _QUEUE_LIMIT // 2:
                    self._make_room()
                return message
            parting = self._parting
            if parting is not None:
                return {"type": "websocket.disconnect", "code": parting[0], "reason": parting[1]}
            waiter = self._waiter = asyncio.get_running_loop().create_future()
            await waiter

    async def send(self, message: MutableMapping[str, Any]) -> None:
        kind = message["type"]
        stage = self._stage
        if kind == "websocket.send":
            session = self._session
            if stage == _WAITING:
                raise RuntimeError("the ASGI application sent a message before websocket.accept")
            if session is None or stage != _OPEN:
                raise StreamClosedError()
            text = message.get("text")
            try:
                if text is not None:
                    written = session.send(text, False)
                else:
                    data = message.get("bytes")
                    if data is None:
                        raise ValueError("websocket.send carries neither text nor bytes")
                    written = session.send(bytes(data), True)
            except WebSocketClosedError:
                raise StreamClosedError() from None
            pending = _written_or_raise(written)
            if pending is not None:
                await pending
        elif kind == "websocket.accept":
            if stage != _WAITING:
                raise self._out_of_turn(kind)
            self._accept(message)
        elif kind == "websocket.close":
            if stage == _WAITING:
                self._stage = _OVER
                self._parting = (1000, "")
                self._refuse()
            elif stage == _OPEN and self._session is not None:
                self._stage = _OVER
                self._session.close(message.get("code") or 1000, message.get("reason") or None)
            else:
                raise StreamClosedError()
        elif kind == "websocket.http.response.start":
            if stage != _WAITING:
                raise self._out_of_turn(kind)
            answer = self._reply = _Reply(self._conn, "GET")
            answer.start(message)
            self._stage = _ANSWERING
        elif kind == "websocket.http.response.body":
            reply = self._reply
            if stage != _ANSWERING or reply is None:
                raise self._out_of_turn(kind)
            pending = _written_or_raise(reply.body(message))
            if reply.complete:
                self._stage = _OVER
                self._parting = (1000, "")
            if pending is not None:
                await pending
        else:
            raise RuntimeError(f"unexpected ASGI message {kind!r} for a WebSocket")

    def _out_of_turn(self, kind: str) -> Exception:
        if self._stage == _OVER:
            return StreamClosedError()
        return RuntimeError(f"the ASGI application sent {kind!r} out of turn")

    def _accept(self, message: MutableMapping[str, Any]) -> None:
        headers = _headers_from_fields(message.get("headers") or ())
        for name in _OURS:
            if name in headers:
                del headers[name]
        headers["Upgrade"] = "websocket"
        headers["Connection"] = "Upgrade"
        headers["Sec-WebSocket-Accept"] = accept_key(self._key)
        chosen = message.get("subprotocol")
        if chosen:
            headers["Sec-WebSocket-Protocol"] = chosen
        conn = self._conn
        conn.write_headers(ResponseStartLine("HTTP/1.1", 101, "Switching Protocols"), headers)
        conn.finish()
        stream = conn.detach()  # type: ignore[attr-defined]
        container = self._container
        session = self._session = _Session(
            self,
            WebSocketProtocol(False, container.websocket_max_message_size),
            stream,
            container.websocket_ping_interval,
            container.websocket_ping_timeout,
        )
        self._stage = _OPEN
        session.start()
        session.release()

    def _refuse(self) -> None:
        headers = HTTPHeaders()
        headers["Content-Length"] = "0"
        self._conn.write_headers(ResponseStartLine("HTTP/1.1", 403, "Forbidden"), headers)
        self._conn.finish()

    async def _run(self, scope: dict[str, Any]) -> None:
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
        stage = self._stage
        if stage == _WAITING:
            self._stage = _OVER
            self._refuse()
        elif stage == _OPEN and self._session is not None:
            self._stage = _OVER
            self._session.close(1000)
        elif stage == _ANSWERING:
            app_log.error("The ASGI application returned before finishing its WebSocket denial")
            self._stage = _OVER
            _hang_up(self._conn)

    def _failed(self, exc: Exception) -> None:
        stage = self._stage
        if isinstance(exc, StreamClosedError) and stage == _OVER:
            app_log.debug("ASGI application stopped after its WebSocket closed: %r", exc)
            return
        app_log.error("Exception in the ASGI application serving a WebSocket", exc_info=exc)
        self._stage = _OVER
        if stage == _WAITING:
            _Reply(self._conn, "GET").fail()
        elif stage == _OPEN and self._session is not None:
            self._session.close(1011, "internal error")
        elif stage == _ANSWERING:
            _hang_up(self._conn)
