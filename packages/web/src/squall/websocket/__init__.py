"""WebSockets (RFC 6455, with permessage-deflate from RFC 7692): Tornado's ``tornado.websocket`` API.

Server side, subclass :class:`WebSocketHandler` and map it to a URL like any
handler::

    class EchoWebSocket(WebSocketHandler):
        def on_message(self, message):
            self.write_message("You said: " + message)

Client side, :func:`websocket_connect` returns a
:class:`WebSocketClientConnection`::

    conn = await websocket_connect("ws://localhost:8888/echo")
    conn.write_message("hello")
    reply = await conn.read_message()   # None once the connection is closed

The protocol itself is an I/O-free object (``squall.websocket._frames``):
bytes in, messages and control events out; both ends are thin drivers
around it.
"""

from __future__ import annotations

from squall.util._util import _publish_public_names

from ._client import WebSocketClientConnection, websocket_connect
from ._frames import WebSocketClosedError, WebSocketError
from ._server import WebSocketHandler

__all__ = [
    "WebSocketClientConnection",
    "WebSocketClosedError",
    "WebSocketError",
    "WebSocketHandler",
    "websocket_connect",
]

_publish_public_names(globals())
