"""What the connections of one server share: its settings, resolved once, and the registry.

:class:`_Settings` is everything a connection needs from its
:class:`~squall.httpserver.HTTPServer`; :class:`_Registry` holds the live
connections of one server on one loop, sweeps their deadlines a few times per
shortest timeout (with a coarse clock it refreshes on each sweep) and tells
:meth:`HTTPServer.shutdown` when the last one is gone.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, cast

from squall.http1connection._codec import H1Limits, H1Reader
from squall.httputil import HTTPServerRequest
from squall.log import app_log

if TYPE_CHECKING:
    from ._protocol import _H1ServerProtocol
    from ._server import HTTPServer

__all__: list[str] = []

# Holding small writes to the end of a loop pass pays off when several
# connections answer in one pass; for a lone connection it only adds a pass.
# After this many passes in a row with one answering connection, writes go
# straight out...
_SOLO_PASSES = 8
# ... and every this many straight writes, one pass holds again, to notice load.
_PROBE_EVERY = 32


class _Settings:
    """Everything a connection needs from its server, resolved once per server."""

    __slots__ = (
        "body_timeout",
        "chunk_size",
        "decompress",
        "delegate",
        "handler",
        "header_timeout",
        "http2",
        "idle_timeout",
        "keep_alive",
        "limits",
        "max_body_size",
        "max_buffer_size",
        "protocol",
        "reader",
        "trusted",
        "window",
        "xheaders",
    )

    def __init__(self, server: HTTPServer) -> None:
        callback = server.request_callback
        # Exactly one of delegate / handler is set: the fast path for plain
        # callables builds the request itself instead of going through an
        # adapter delegate.
        self.delegate: Any = callback if hasattr(callback, "start_request") else None
        self.handler: Callable[[HTTPServerRequest], Any] | None = (
            None
            if self.delegate is not None
            else cast(Callable[[HTTPServerRequest], Any], callback)
        )
        self.keep_alive = not server.no_keep_alive
        self.xheaders = server.xheaders
        self.protocol = server.protocol
        self.trusted = server.trusted_downstream
        self.decompress = server.decompress_request
        self.chunk_size = server.chunk_size
        self.max_body_size = server.max_body_size
        self.max_buffer_size = server.max_buffer_size
        # Body bytes a connection may hold for a delegate that is still busy
        # with earlier ones before it stops reading: a few pieces' worth.
        self.window = min(server.max_buffer_size, max(4 * server.chunk_size, 65536))
        self.limits = H1Limits(max_header_size=server.max_header_size)
        self.reader: type[H1Reader] = server._reader_class
        self.idle_timeout = server.idle_connection_timeout
        self.header_timeout = server.header_timeout
        self.body_timeout = server.body_timeout
        # HTTP/2 limits (an _H2Options) when the server speaks HTTP/2, else None.
        self.http2: Any = getattr(server, "_http2", None)


class _Registry:
    """The live connections of one server, their timeout sweep and the draining switch."""

    __slots__ = (
        "_handle",
        "_held",
        "_interval",
        "_loop",
        "_solo",
        "_straight",
        "_waiters",
        "conns",
        "done",
        "draining",
        "holding",
        "now",
        "settings",
    )

    def __init__(self, settings: _Settings, loop: asyncio.AbstractEventLoop) -> None:
        self.settings = settings
        self.conns: set[_H1ServerProtocol] = set()
        self.draining = False
        self._loop = loop
        self.now = loop.time()
        # Sweep often enough that no deadline is overrun by more than a
        # quarter of the shortest timeout (and at least once a second).
        shortest = min(
            t
            for t in (settings.idle_timeout, settings.header_timeout, settings.body_timeout, 4.0)
            if t is not None
        )
        self._interval = max(0.01, shortest / 4)
        self._handle: asyncio.TimerHandle | None = None
        self._waiters: list[asyncio.Future[None]] = []
        # Connections holding small writes until the end of this loop pass,
        # whether writes are held at all now, passes in a row with one
        # answering connection, straight writes left before holding again.
        self._held: list[_H1ServerProtocol] = []
        self.holding = True
        self._solo = 0
        self._straight = 0
        # An already resolved future, handed out by writes that went straight
        # to the transport (most of them): no allocation per write.
        self.done: asyncio.Future[None] = loop.create_future()
        self.done.set_result(None)

    def join(self, conn: _H1ServerProtocol) -> None:
        self.conns.add(conn)
        if self._handle is None:
            self.now = self._loop.time()
            self._handle = self._loop.call_later(self._interval, self._sweep)

    def hold(self, conn: _H1ServerProtocol) -> None:
        """``conn`` holds bytes to send: release them with the others at the end of this pass."""
        held = self._held
        held.append(conn)
        if len(held) == 1:
            self._loop.call_soon(self._release_all)

    def _release_all(self) -> None:
        held, self._held = self._held, []
        if len(held) > 1:
            self._solo = 0
        else:
            self._solo += 1
            if self._solo >= _SOLO_PASSES:
                self.holding = False
                self._straight = _PROBE_EVERY
        for conn in held:
            try:
                conn._release()
            except Exception:
                # A transport that refuses bytes is closing: its protocol hears of it.
                app_log.debug("releasing held response bytes failed", exc_info=True)

    def probe(self) -> bool:
        """A small write while writes go straight out: True when this one should be held.

        Every ``_PROBE_EVERY`` straight writes, writes are held again for a
        pass; if several connections answer in it, holding stays on.
        """
        self._straight -= 1
        if self._straight > 0:
            return False
        self.holding = True
        return True

    def _sweep(self) -> None:
        now = self.now = self._loop.time()
        late = [conn for conn in self.conns if conn._deadline <= now]
        for conn in late:
            conn._expire()
        if self.conns:
            self._handle = self._loop.call_later(self._interval, self._sweep)
        else:
            self._handle = None

    def leave(self, conn: _H1ServerProtocol) -> None:
        conns = self.conns
        conns.discard(conn)
        if not conns:
            if self._handle is not None:
                self._handle.cancel()
                self._handle = None
            waiters, self._waiters = self._waiters, []
            for waiter in waiters:
                if not waiter.done():
                    waiter.set_result(None)

    def emptied(self) -> asyncio.Future[None]:
        """A future resolved once no connection is left (at once if none is)."""
        waiter = self._loop.create_future()
        if self.conns:
            self._waiters.append(waiter)
        else:
            waiter.set_result(None)
        return waiter
