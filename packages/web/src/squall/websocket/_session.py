"""The driver shared by both ends: one :class:`~._frames.WebSocketProtocol` moved over one stream.

A :class:`_Session` owns the I/O of a connection after its handshake and
reports to an *owner* (a :class:`~squall.websocket.WebSocketHandler` or a
:class:`~squall.websocket.WebSocketClientConnection`) through four hooks:

* ``owner.on_message(message)``: one whole message; it may return an
  awaitable, and then nothing else reaches the owner (and nothing more is
  read) until it is done: messages are handled strictly in order;
* ``owner.on_ping(data)`` and ``owner.on_pong(data)``;
* ``owner._ws_closed(code, reason)``: once, when the connection is over,
  with the code and reason of the peer's close frame (None when it sent none).

How bytes come in depends on the stream. The server's fast path detaches
a stream with a push mode (``_deliver_to``): each received chunk is handed to
:meth:`_Session.ingest` as it arrives and frames go out with ``_push``, without
a read future or a write future per message. When one chunk completes several
messages, what the owner sends while handling them is gathered and written
at once after the last (one ``send`` system call instead of one per
message), unless the transport is already asking writers to wait. Any other
:class:`~squall.iostream.BaseIOStream` (the server's IOStream path, the client)
is read by a small loop of partial reads.

Closing: a close frame from the peer is echoed; the server then closes the
TCP connection, the client waits (a few seconds at most) for the server to do
so. After our own close frame we wait the same time for the peer's answer.
A protocol failure sends its close code and drops the connection.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any, Protocol

from squall.escape import json_encode
from squall.iostream import StreamClosedError
from squall.log import app_log, gen_log

from ._frames import (
    CloseReceived,
    Ping,
    Pong,
    ProtocolFailure,
    WebSocketClosedError,
    WebSocketEvent,
    WebSocketProtocol,
)

__all__: list[str] = []

#: Seconds a close frame waits for its answer (and a client for the TCP close).
_CLOSE_WAIT = 5.0
_READ_SIZE = 65536
_UNSAID: tuple[None, None] = (None, None)


class _Owner(Protocol):
    def on_message(self, message: str | bytes) -> Any: ...

    def on_ping(self, data: bytes) -> None: ...

    def on_pong(self, data: bytes) -> None: ...

    def _ws_closed(self, code: int | None, reason: str | None) -> None: ...

    def log_exception(self, typ: Any, value: Any, tb: Any) -> None: ...


def _swallow(future: asyncio.Future[Any]) -> None:
    if not future.cancelled():
        future.exception()


class _Session:
    """One live WebSocket connection (see the module docs)."""

    __slots__ = (
        "_backlog",
        "_cork",
        "_gone",
        "_heard",
        "_interval",
        "_owner",
        "_parting",
        "_pushing",
        "_settled",
        "_timeout",
        "_timer",
        "_waker",
        "protocol",
        "stream",
    )

    def __init__(
        self,
        owner: _Owner,
        protocol: WebSocketProtocol,
        stream: Any,
        ping_interval: float | None = None,
        ping_timeout: float | None = None,
    ) -> None:
        self._owner = owner
        self.protocol = protocol
        self.stream = stream
        # Events received while the owner is busy (or not open yet); None
        # when they can go straight through.
        self._backlog: list[WebSocketEvent] | None = []
        self._gone = False
        # The code and reason of the peer's close frame (None: none came).
        self._parting: tuple[int | None, str | None] = _UNSAID
        self._heard = False
        self._timer: asyncio.TimerHandle | None = None
        self._waker: asyncio.Future[None] | None = None
        self._interval = ping_interval or 0.0
        timeout = ping_timeout or self._interval
        if timeout > self._interval:
            gen_log.warning(
                "ping_timeout (%s) longer than ping_interval (%s): using %s",
                timeout,
                self._interval,
                self._interval,
            )
            timeout = self._interval
        self._timeout = timeout
        # The server's fast path hands over a stream with a push mode.
        self._pushing = hasattr(stream, "_deliver_to")
        # Frames held back while a batch of messages is dispatched, and the
        # (resolved) future their writes return; None outside a batch.
        self._cork: list[bytes] | None = None
        self._settled: asyncio.Future[None] | None = None

    # -- starting --------------------------------------------------------------

    def start(self) -> None:
        """Begin reading (events are held until :meth:`release`)."""
        stream = self.stream
        stream.set_close_callback(self._lost)
        if self._pushing:
            stream._deliver_to(self.ingest)
        else:
            task = asyncio.ensure_future(self._pump())
            task.add_done_callback(_swallow)
        if self._interval and not self._gone:
            self._timer = asyncio.get_running_loop().call_later(self._interval, self._tick)

    def release(self) -> None:
        """Let held events through to the owner (after ``open()``)."""
        held = self._backlog
        if held is None:
            return
        self._backlog = None
        self._resume()
        if len(held) > 1 and self._pushing:
            self._batch(held)
        elif held:
            self._dispatch(held, 0)

    def hold_until(self, pending: Awaitable[Any]) -> None:
        """Keep events back (and stop reading) until ``pending`` is done, then release."""
        self._pause()
        future = asyncio.ensure_future(pending)
        future.add_done_callback(self._after_open)

    def _after_open(self, future: asyncio.Future[Any]) -> None:
        failure = None if future.cancelled() else future.exception()
        if failure is not None:
            self._crashed(failure)
            return
        self.release()

    # -- reading ---------------------------------------------------------------

    async def _pump(self) -> None:
        stream = self.stream
        while not self._gone:
            waker = self._waker
            if waker is not None:
                await waker
                continue
            try:
                data = await stream.read_bytes(_READ_SIZE, partial=True)
            except StreamClosedError:
                return
            self.ingest(data)

    def _pause(self) -> None:
        if self._pushing:
            self.stream._pause_delivery()
        elif self._waker is None:
            self._waker = asyncio.get_running_loop().create_future()

    def _resume(self) -> None:
        if self._pushing:
            self.stream._resume_delivery()
            return
        waker, self._waker = self._waker, None
        if waker is not None and not waker.done():
            waker.set_result(None)

    def ingest(self, data: bytes) -> None:
        """Received bytes: parse them and hand what they complete to the owner."""
        self._heard = True
        events = self.protocol.feed(data)
        if events:
            held = self._backlog
            if held is not None:
                held.extend(events)
            elif len(events) > 1 and self._pushing:
                self._batch(events)
            else:
                self._dispatch(events, 0)

    def _batch(self, events: list[WebSocketEvent]) -> None:
        """:meth:`_dispatch` several events, gathering what the owner writes meanwhile."""
        settled = self.stream._settled() if self._cork is None else None
        if settled is None:
            self._dispatch(events, 0)
            return
        self._settled = settled
        self._cork = []
        try:
            self._dispatch(events, 0)
        finally:
            self._uncork()

    def _dispatch(self, events: list[WebSocketEvent], index: int) -> None:
        deliver = self._owner.on_message
        count = len(events)
        while index < count:
            event = events[index]
            index += 1
            kind = type(event)
            if kind is str or kind is bytes:
                try:
                    pending = deliver(event)  # type: ignore[arg-type]
                except Exception as exc:
                    self._crashed(exc)
                    return
                if pending is not None:
                    self._backlog = events[index:]
                    self._pause()
                    future = asyncio.ensure_future(pending)
                    future.add_done_callback(self._after_message)
                    return
            else:
                self._control(event)

    def _uncork(self) -> None:
        """Write what the batch produced, in one piece."""
        held, self._cork = self._cork, None
        self._settled = None
        if held and not self._gone:
            try:
                self.stream._push(held[0] if len(held) == 1 else b"".join(held))
            except StreamClosedError:
                pass

    def _after_message(self, future: asyncio.Future[Any]) -> None:
        failure = None if future.cancelled() else future.exception()
        if failure is not None:
            self._crashed(failure)
            return
        self.release()

    def _crashed(self, exc: BaseException) -> None:
        try:
            self._owner.log_exception(type(exc), exc, exc.__traceback__)
        except Exception:
            app_log.error("log_exception failed", exc_info=True)
        self._backlog = None
        self.close(1011, "internal error")

    def _control(self, event: WebSocketEvent) -> None:
        kind = type(event)
        protocol = self.protocol
        if kind is Ping:
            data: bytes = event.data  # type: ignore[union-attr]
            self._write_quietly(protocol.pong(data))
            self._owner.on_ping(data)
        elif kind is Pong:
            self._owner.on_pong(event.data)  # type: ignore[union-attr]
        elif kind is CloseReceived:
            closing: CloseReceived = event  # type: ignore[assignment]
            self._parting = (closing.code, closing.reason)
            self._write_quietly(protocol.close(closing.code))
            if protocol._client:
                self._arm(_CLOSE_WAIT, self._drop)
            else:
                self._drop()
        elif kind is ProtocolFailure:
            failure: ProtocolFailure = event  # type: ignore[assignment]
            gen_log.info("WebSocket peer broke the protocol (%d): %s", *failure)
            self._write_quietly(protocol.close(failure.code, failure.reason))
            self._drop()

    # -- writing ---------------------------------------------------------------

    def send(self, message: str | bytes | dict[str, Any], binary: bool) -> asyncio.Future[None]:
        """Frame and send one message; see :meth:`WebSocketHandler.write_message`."""
        if self._gone:
            raise WebSocketClosedError("the WebSocket connection is closed")
        protocol = self.protocol
        if type(message) is str and not binary:
            frame = protocol.send_text(message)
        else:
            if isinstance(message, dict):
                message = json_encode(message)
            if binary:
                if isinstance(message, str):
                    message = message.encode("utf-8")
                frame = protocol.send_binary(message)
            else:
                frame = protocol.send_text(message)
        cork = self._cork
        if cork is not None:
            cork.append(frame)
            return self._settled  # type: ignore[return-value]
        try:
            if self._pushing:
                return self.stream._push(frame)  # type: ignore[no-any-return]
            return self.stream.write(frame)  # type: ignore[no-any-return]
        except StreamClosedError:
            raise WebSocketClosedError("the WebSocket connection is closed") from None

    def ping(self, data: bytes) -> None:
        """Send a ping frame (WebSocketClosedError once closing)."""
        if self._gone or self.protocol.close_sent:
            raise WebSocketClosedError("the WebSocket connection is closed")
        self._write_quietly(self.protocol.ping(data))

    def _write_quietly(self, frame: bytes) -> None:
        if not frame or self._gone:
            return
        cork = self._cork
        if cork is not None:
            cork.append(frame)
            return
        try:
            written = self.stream._push(frame) if self._pushing else self.stream.write(frame)
        except StreamClosedError:
            return
        if not written.done():
            written.add_done_callback(_swallow)

    # -- keep-alive ------------------------------------------------------------

    def _arm(self, delay: float, action: Callable[[], None]) -> None:
        timer = self._timer
        if timer is not None:
            timer.cancel()
        self._timer = asyncio.get_running_loop().call_later(delay, action)

    def _tick(self) -> None:
        """Every ``ping_interval``: ping, then check within ``ping_timeout`` that the peer spoke."""
        self._timer = None
        if self._gone or self.protocol.close_sent:
            return
        self._heard = False
        self._write_quietly(self.protocol.ping(b""))
        self._arm(self._timeout, self._check)

    def _check(self) -> None:
        self._timer = None
        if self._gone or self.protocol.close_sent:
            return
        if not self._heard:
            self.close(1000, "ping timed out")
            return
        self._arm(max(self._interval - self._timeout, 0.0), self._tick)

    # -- closing ---------------------------------------------------------------

    @property
    def closing(self) -> bool:
        """Our close frame went out, or the connection is gone."""
        return self._gone or self.protocol.close_sent

    def close(self, code: int | None = None, reason: str | None = None) -> None:
        """Send our close frame; the connection ends when the peer answers (or after a wait)."""
        if self._gone:
            return
        protocol = self.protocol
        if protocol.close_sent:
            return
        self._write_quietly(protocol.close(code, reason))
        if protocol.close_received and not protocol._client:
            self._drop()
        else:
            self._arm(_CLOSE_WAIT, self._drop)

    def _drop(self) -> None:
        """Close the stream (what was written is still sent); :meth:`_lost` follows."""
        self._timer = None
        if not self._gone:
            if self._cork:
                self._uncork()
            self.stream.close()

    def abort(self) -> None:
        """End at once, without a close frame."""
        self._drop()

    def _lost(self) -> None:
        if self._gone:
            return
        self._gone = True
        timer, self._timer = self._timer, None
        if timer is not None:
            timer.cancel()
        waker, self._waker = self._waker, None
        if waker is not None and not waker.done():
            waker.set_result(None)
        self._backlog = None
        self._cork = None
        owner = self._owner
        try:
            owner._ws_closed(*self._parting)
        except Exception as exc:
            try:
                owner.log_exception(type(exc), exc, exc.__traceback__)
            except Exception:
                app_log.error("Uncaught exception closing a WebSocket", exc_info=True)
