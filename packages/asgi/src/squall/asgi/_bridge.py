"""WebSocketHandler under an ASGI server: the session's stream made of ASGI events.

A :class:`~squall.websocket.WebSocketHandler` upgrades through the HTTP
machinery and then drives a ``_Session`` over the stream that
``request.connection.detach()`` returns.  Here that stream is a
:class:`_EventStream`: it turns the ASGI server's ``websocket.receive``
and ``websocket.disconnect`` events into the frames the session reads, and
the frames the session writes back into ``websocket.send`` and
``websocket.close`` events.  Both conversions use squall's own frame codec,
as a client would (:class:`~squall.websocket._frames.WebSocketProtocol` with
``client=True``), so the handler is untouched: ``open``, ``on_message``
(in order, with its flow control), ``write_message``, ``close`` with a code
and reason, ``close_code``, ``select_subprotocol``, ``on_close``.

The 101 answer becomes ``websocket.accept`` (with the chosen subprotocol
and the handler's extra headers); any other answer (a 403 from
``check_origin``, a 404 from routing) is sent with the
``websocket.http.response`` extension when the server offers it, else as a
``websocket.close`` before accepting, which servers turn into a 403.  The
ASGI server keeps the connection alive and negotiates compression itself;
pings the handler sends are answered here at once.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, MutableMapping
from typing import Any

from squall.httputil import HTTPHeaders, RequestStartLine, ResponseStartLine
from squall.iostream import StreamClosedError
from squall.web import Application
from squall.websocket._frames import (
    CloseReceived,
    Ping,
    WebSocketProtocol,
    valid_close_code,
)
from squall.websocket._handshake import new_client_key

from ._application import (
    _SERVER_OWNED,
    _Channel,
    _peer_of,
    _quiet,
    _request_headers,
    _version_of,
)
from ._scope import _field_list, _route_target

__all__ = ["_serve_websocket"]

_Receive = Callable[[], Any]
_Send = Callable[[MutableMapping[str, Any]], Any]

# Fields of the handler's 101 answer that the ASGI server writes itself.
_HANDSHAKE_FIELDS = frozenset(
    (
        "Upgrade",
        "Connection",
        "Sec-Websocket-Accept",
        "Sec-Websocket-Protocol",
        "Sec-Websocket-Extensions",
        "Content-Length",
        "Transfer-Encoding",
    )
).union(_SERVER_OWNED)


class _EventStream:
    """What the session reads and writes: frames, carried by ASGI events."""

    def __init__(self, channel: _SocketChannel, receive: _Receive) -> None:
        self._channel = channel
        self._receive = receive
        # The client end of the codec: frames what the client said, reads
        # what the handler says.
        self._codec = WebSocketProtocol(True, None)
        self._ready: list[bytes] = []
        self._nudge: asyncio.Future[None] | None = None
        self._listener: asyncio.Future[Any] | None = None
        self._close_callback: Callable[[], None] | None = None
        self._peer_left = False
        self._closed = False
        self._close_sent = False

    # -- the stream interface the session uses ------------------------------------------

    def set_close_callback(self, callback: Callable[[], None] | None) -> None:
        self._close_callback = callback

    def set_nodelay(self, value: bool) -> None:
        """The ASGI server owns the socket."""

    def closed(self) -> bool:
        return self._closed

    async def read_bytes(self, num_bytes: int, partial: bool = False) -> bytes:
        while True:
            ready = self._ready
            if ready:
                data = ready[0] if len(ready) == 1 else b"".join(ready)
                ready.clear()
                return data
            if self._peer_left or self._closed:
                raise StreamClosedError()
            listener = self._listener
            if listener is None:
                listener = self._listener = asyncio.ensure_future(self._receive())
            nudge = self._nudge = asyncio.get_running_loop().create_future()
            await asyncio.wait((listener, nudge), return_when=asyncio.FIRST_COMPLETED)
            self._nudge = None
            if listener.done():
                self._listener = None
                self._take(listener.result())

    def _take(self, message: MutableMapping[str, Any]) -> None:
        kind = message.get("type")
        codec = self._codec
        if kind == "websocket.receive":
            text = message.get("text")
            if text is not None:
                self._ready.append(codec.send_text(text))
            else:
                self._ready.append(codec.send_binary(message.get("bytes") or b""))
        elif kind == "websocket.disconnect":
            self._peer_left = True
            code = message.get("code")
            if not isinstance(code, int) or not valid_close_code(code):
                code = None
            self._ready.append(codec.close(code, message.get("reason") or None))

    def write(self, data: bytes) -> asyncio.Future[None]:
        last: asyncio.Future[None] | None = None
        channel = self._channel
        for event in self._codec.feed(data):
            kind = type(event)
            if kind is str:
                last = channel.post({"type": "websocket.send", "text": event})
            elif kind is bytes:
                last = channel.post({"type": "websocket.send", "bytes": event})
            elif kind is Ping:
                # The ASGI server keeps the connection alive; answer here.
                self._ready.append(self._codec.pong(event.data))  # type: ignore[union-attr]
                self._poke()
            elif kind is CloseReceived:
                closing: CloseReceived = event  # type: ignore[assignment]
                last = self._say_close(closing.code or 1000, closing.reason or "")
        if last is None:
            last = asyncio.get_running_loop().create_future()
            last.set_result(None)
        return last

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        if not self._close_sent:
            self._say_close(1000, "")
        listener, self._listener = self._listener, None
        if listener is not None:
            listener.cancel()
        self._poke()
        callback, self._close_callback = self._close_callback, None
        if callback is not None:
            asyncio.get_running_loop().call_soon(callback)
        self._channel.ended()

    # -- helpers -----------------------------------------------------------------------------

    def _poke(self) -> None:
        nudge = self._nudge
        if nudge is not None and not nudge.done():
            nudge.set_result(None)

    def _say_close(self, code: int, reason: str) -> asyncio.Future[None] | None:
        if self._close_sent or self._peer_left:
            return None
        self._close_sent = True
        return self._channel.post({"type": "websocket.close", "code": code, "reason": reason})


class _SocketChannel(_Channel):
    """The connection of a WebSocketHandler: its answer becomes accept, or a refusal."""

    __slots__ = ("_answer", "_denial", "_done", "_receive", "_stream")

    def __init__(self, send: _Send, receive: _Receive, scope: MutableMapping[str, Any]) -> None:
        super().__init__(send, _peer_of(scope), False)
        self._receive = receive
        self._denial = "websocket.http.response" in (scope.get("extensions") or {})
        self._answer = 0
        self._stream: _EventStream | None = None
        self._done: asyncio.Future[None] = asyncio.get_running_loop().create_future()

    def post(self, message: dict[str, Any]) -> asyncio.Future[None]:
        return self._queue(message)

    def write_headers(
        self,
        start_line: RequestStartLine | ResponseStartLine,
        headers: HTTPHeaders,
        chunk: bytes | None = None,
    ) -> asyncio.Future[None]:
        assert isinstance(start_line, ResponseStartLine)
        status = self._answer = start_line.code
        if status == 101:
            return self._queue(
                {
                    "type": "websocket.accept",
                    "subprotocol": headers.get("Sec-WebSocket-Protocol"),
                    "headers": _field_list(headers, _HANDSHAKE_FIELDS),
                }
            )
        if not self._denial:
            return self._queue({"type": "websocket.close", "code": 1008, "reason": ""})
        self._queue(
            {
                "type": "websocket.http.response.start",
                "status": status,
                "headers": _field_list(headers, _HANDSHAKE_FIELDS),
            }
        )
        return self._queue(
            {"type": "websocket.http.response.body", "body": chunk or b"", "more_body": True}
        )

    def write(self, chunk: bytes) -> asyncio.Future[None]:
        if self._answer == 101 or not self._denial:
            future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
            future.set_exception(StreamClosedError())
            future.add_done_callback(_quiet)
            return future
        return self._queue(
            {"type": "websocket.http.response.body", "body": chunk, "more_body": True}
        )

    def finish(self) -> None:
        if self.last_queued:
            return
        self.last_queued = True
        if self._answer == 101:
            return
        if self._denial:
            last = self._outbox[-1][0] if self._outbox else None
            if last is not None and last["type"] == "websocket.http.response.body":
                last["more_body"] = False
            else:
                self._queue(
                    {"type": "websocket.http.response.body", "body": b"", "more_body": False}
                )
        self.ended()

    def detach(self) -> _EventStream:
        if self._answer != 101 or self.gone:
            raise StreamClosedError()
        stream = self._stream = _EventStream(self, self._receive)
        return stream

    def ended(self) -> None:
        if not self._done.done():
            self._done.set_result(None)

    def lost(self) -> None:
        super().lost()
        self.ended()
        stream = self._stream
        if stream is not None:
            stream._peer_left = True
            stream.close()


async def _serve_websocket(
    application: Application,
    scope: MutableMapping[str, Any],
    receive: _Receive,
    send: _Send,
) -> None:
    first = await receive()
    if first.get("type") != "websocket.connect":
        return
    headers = _request_headers(scope)
    # The ASGI server did the real handshake; the handler still checks one.
    headers["Upgrade"] = "websocket"
    headers["Connection"] = "Upgrade"
    headers["Sec-WebSocket-Version"] = "13"
    if "Sec-Websocket-Key" not in headers:
        headers["Sec-WebSocket-Key"] = new_client_key()
    if "Sec-Websocket-Extensions" in headers:
        # Compression is between the client and the ASGI server.
        del headers["Sec-WebSocket-Extensions"]
    channel = _SocketChannel(send, receive, scope)
    line = RequestStartLine("GET", _route_target(scope), _version_of(scope))
    delegate = channel._delegate = application.start_request(channel, channel)
    pending = delegate.headers_received(line, headers)
    if pending is not None:
        await pending
    delegate.finish()
    await channel._done
    while channel._pump is not None:
        # What is still queued (the last close, say) goes out first.
        await channel._pump
