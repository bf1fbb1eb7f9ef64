"""The two real-time patterns on top of a hub: long-poll relays and WebSocket fan-out.

Both work on duck-typed objects (futures, anything with ``write_message``),
so this distribution needs no web framework.
"""

from __future__ import annotations

import asyncio
import functools
import json
from collections import deque
from collections.abc import Callable
from typing import Any, Protocol

from squall.log import app_log

from ._hub import Hub, Listener, Message

__all__ = ["Batch", "Broadcaster", "LongPollRelay"]

_GAP = object()  # a gap notice's place in a relay's history


class Batch:
    """What :meth:`LongPollRelay.wait` returns.

    ``messages`` are the values after the caller's cursor, oldest first;
    ``cursor`` is the value to send back next time; ``missed`` is true when
    some messages after the old cursor are no longer available (they fell
    out of the relay's history, or the hub reported a gap).
    """

    __slots__ = ("cursor", "messages", "missed")

    def __init__(self, cursor: int, messages: list[Any], missed: bool) -> None:
        self.cursor = cursor
        self.messages = messages
        self.missed = missed

    def __repr__(self) -> str:
        return f"Batch(cursor={self.cursor}, {len(self.messages)} messages, missed={self.missed})"


class LongPollRelay:
    """Release long-poll requests when messages arrive on a channel.

    The relay listens to ``channel`` and numbers each message (and gap
    notice) it receives (1, 2, ...), keeping the last ``history`` of them. A request handler
    calls ``await relay.wait(cursor)`` with the number of the last message
    its client has seen (``0`` or ``None`` for "only new ones"): it gets the
    newer messages at once if there are some, otherwise it waits for the
    next one. Cancel the awaiting task (for instance when the client goes
    away) to stop waiting. Cursors are numbers of this relay, in this
    process: behind a load balancer keep a client on one process, or put
    your own ids into the messages.
    """

    def __init__(self, hub: Hub, channel: str, history: int = 200) -> None:
        if history < 1:
            raise ValueError("history must keep at least one message")
        self._entries: deque[tuple[int, Any]] = deque(maxlen=history)
        self._last = 0
        self._waiters: set[asyncio.Future[None]] = set()
        self._listener: Listener | None = hub.add_listener(channel, self._on_message)

    @property
    def cursor(self) -> int:
        """The number of the newest entry received (0 before any)."""
        return self._last

    def waiting(self) -> int:
        """How many requests are waiting."""
        return len(self._waiters)

    def _on_message(self, msg: Message) -> None:
        self._last += 1
        self._entries.append((self._last, _GAP if msg.gap else msg.data))
        waiters, self._waiters = self._waiters, set()
        for fut in waiters:
            if not fut.done():
                fut.set_result(None)

    def _since(self, cursor: int) -> Batch:
        entries = self._entries
        oldest = entries[0][0] if entries else self._last + 1
        newer = [data for number, data in entries if number > cursor]
        fresh = [data for data in newer if data is not _GAP]
        return Batch(self._last, fresh, cursor + 1 < oldest or len(fresh) < len(newer))

    async def wait(self, cursor: int | None = None) -> Batch:
        """The messages after ``cursor``, waiting for one if there are none yet.

        A gap reported while nobody had newer messages also releases the
        waiters, with no messages and ``missed`` true.
        """
        if self._listener is None:
            raise RuntimeError("the relay is closed")
        if cursor is None or cursor > self._last:
            cursor = self._last
        if cursor == self._last:
            fut = asyncio.get_running_loop().create_future()
            self._waiters.add(fut)
            try:
                await fut
            finally:
                self._waiters.discard(fut)
        return self._since(cursor)

    def close(self) -> None:
        """Stop listening and cancel every waiting request."""
        if self._listener is not None:
            self._listener.remove()
            self._listener = None
        waiters, self._waiters = self._waiters, set()
        for fut in waiters:
            fut.cancel()


class _Writable(Protocol):
    def write_message(self, message: Any, binary: bool = False) -> Any: ...


class Broadcaster:
    """Write every message of a channel to a set of WebSocket connections.

    Add a handler when its socket opens (``broadcaster.add(self)`` in
    ``open()``) and discard it in ``on_close()``; anything with a
    ``write_message(message, binary=False)`` method works. ``str`` messages
    are written as text, ``bytes`` as binary frames and other values as
    JSON text. A connection whose write fails, at once or through the
    future it returned, is dropped from the set. Gap notices are not
    written; pass ``on_gap`` to hear about them.
    """

    def __init__(
        self, hub: Hub, channel: str, on_gap: Callable[[Message], Any] | None = None
    ) -> None:
        self._peers: dict[_Writable, None] = {}
        self._on_gap = on_gap
        self._listener: Listener | None = hub.add_listener(channel, self._on_message)

    def add(self, connection: _Writable) -> None:
        """Start sending messages to ``connection``."""
        self._peers[connection] = None

    def discard(self, connection: _Writable) -> None:
        """Stop sending to ``connection`` (no error if it was not there)."""
        self._peers.pop(connection, None)

    def __len__(self) -> int:
        return len(self._peers)

    def __contains__(self, connection: object) -> bool:
        return connection in self._peers

    def _on_message(self, msg: Message) -> None:
        if msg.gap:
            if self._on_gap is not None:
                self._on_gap(msg)
            return
        data = msg.data
        binary = isinstance(data, bytes)
        if not binary and not isinstance(data, str):
            data = json.dumps(data)
        for peer in list(self._peers):
            try:
                pending = peer.write_message(data, binary=binary)
            except Exception:
                self.discard(peer)
                continue
            if isinstance(pending, asyncio.Future):
                pending.add_done_callback(functools.partial(self._after_write, peer=peer))

    def _after_write(self, fut: asyncio.Future[Any], *, peer: _Writable) -> None:
        if not fut.cancelled() and fut.exception() is not None:
            app_log.debug("dropping a closed connection from the broadcast")
            self.discard(peer)

    def close(self) -> None:
        """Stop listening and forget every connection."""
        if self._listener is not None:
            self._listener.remove()
            self._listener = None
        self._peers.clear()
