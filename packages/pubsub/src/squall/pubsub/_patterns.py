"""The two real-time patterns on top of a hub: long-poll relays and WebSocket fan-out.

Both work on duck-typed objects (futures, anything with ``write_message``),
so this distribution needs no web framework.
"""

from __future__ import annotations

import asyncio
import functools
import json
from collections import deque
from collections.abc import Callable, Hashable
from typing import Any, Protocol

from squall.log import app_log

from ._hub import Hub, Listener, Message

__all__ = ["Batch", "Broadcaster", "LongPollRelay"]

_GAP = object()  # a gap notice's place in a relay's history
_NO_KEY = object()  # an entry without a key (a gap, or a key function that failed)


class Batch:
    """What :meth:`LongPollRelay.wait` returns.

    ``messages`` are the values after the caller's cursor, oldest first;
    ``cursor`` is the value to send back next time (a number of the relay,
    or the newest message's key when the relay has a ``key``); ``missed`` is
    true when some messages after the old cursor are no longer available
    (they fell out of the relay's history, or the hub reported a gap).
    """

    __slots__ = ("cursor", "messages", "missed")

    def __init__(self, cursor: Any, messages: list[Any], missed: bool) -> None:
        self.cursor = cursor
        self.messages = messages
        self.missed = missed

    def __repr__(self) -> str:
        return f"Batch(cursor={self.cursor!r}, {len(self.messages)} messages, missed={self.missed})"


class LongPollRelay:
    """Release long-poll requests when messages arrive on a channel.

    The relay listens to ``channel`` and numbers each message (and gap
    notice) it receives (1, 2, ...), keeping the last ``history`` of them.
    A request handler calls ``await relay.wait(cursor)`` with the cursor of
    the last message its client has seen (``None`` for "only new ones"):
    it gets the newer messages at once if there are some, otherwise it
    waits for the next one. Cancel the awaiting task (for instance when the
    client goes away) to stop waiting.

    Without ``key`` the cursors are the relay's own numbers, which mean
    something only in this process. Behind a load balancer that spreads one
    client's polls over several processes, give ``key``: a function that
    reads a message's own id (``key=lambda m: m["id"]``). Cursors are then
    those ids, the same in every process that hears the channel (a hub
    delivers a channel's messages in one order to every subscriber), and a
    cursor the relay does not know yields its whole history with
    ``missed`` set. The same message reaches the processes at slightly
    different times, so a cursor not heard here yet is first given
    ``grace`` seconds to arrive.
    """

    def __init__(
        self,
        hub: Hub,
        channel: str,
        history: int = 200,
        *,
        key: Callable[[Any], Hashable] | None = None,
        grace: float = 2.0,
    ) -> None:
        if history < 1:
            raise ValueError("history must keep at least one message")
        self._grace = grace
        self._evicted: dict[Hashable, None] = {}  # keys that fell out, the newest ``history``
        # (number, value, key or _NO_KEY): a message's key is kept beside it.
        self._entries: deque[tuple[int, Any, Hashable]] = deque(maxlen=history)
        self._last = 0
        self._key = key
        self._numbers: dict[Hashable, int] = {}  # key -> number, for the kept entries
        self._waiters: set[asyncio.Future[None]] = set()
        self._listener: Listener | None = hub.add_listener(channel, self._on_message)

    @property
    def cursor(self) -> Any:
        """Where the newest entry is, as a cursor (its number, or its key with ``key``; ``None`` before any)."""
        if self._key is None:
            return self._last
        return self._newest_key()

    def waiting(self) -> int:
        """How many requests are waiting."""
        return len(self._waiters)

    def _on_message(self, msg: Message) -> None:
        self._last += 1
        entries = self._entries
        ident: Hashable = _NO_KEY
        if self._key is not None:
            if len(entries) == entries.maxlen:
                number, _, dropped = entries[0]
                if dropped is not _NO_KEY and self._numbers.get(dropped) == number:
                    del self._numbers[dropped]
                    self._evicted[dropped] = None
                    if len(self._evicted) > len(entries):
                        del self._evicted[next(iter(self._evicted))]
            if not msg.gap:
                try:
                    ident = self._key(msg.data)
                except Exception:
                    app_log.exception(
                        "LongPollRelay: the key function failed; message kept without a key"
                    )
                else:
                    self._numbers[ident] = self._last
        entries.append((self._last, _GAP if msg.gap else msg.data, ident))
        waiters, self._waiters = self._waiters, set()
        for fut in waiters:
            _settle(fut)

    def _newest_key(self) -> Any:
        """The key of the newest kept entry that has one (``None`` if none has)."""
        for _, _, ident in reversed(self._entries):
            if ident is not _NO_KEY:
                return ident
        return None

    def _number_of(self, cursor: Any) -> int | None:
        """The relay's number for a client's cursor; ``None`` for "nothing seen that is kept"."""
        if cursor is None:
            return self._last
        if self._key is None:
            return cursor if cursor <= self._last else self._last
        return self._numbers.get(cursor)

    def _since(self, number: int | None, cursor: Any) -> Batch:
        entries = self._entries
        oldest = entries[0][0] if entries else self._last + 1
        start = oldest - 1 if number is None else number
        newer = [data for n, data, _ in entries if n > start]
        fresh = [data for data in newer if data is not _GAP]
        missed = number is None or number + 1 < oldest or len(fresh) < len(newer)
        if self._key is None:
            return Batch(self._last, fresh, missed)
        newest = self._newest_key()
        return Batch(cursor if newest is None or not fresh else newest, fresh, missed)

    async def _next(self, timeout: float | None = None) -> None:
        """Wait for the next entry (or ``timeout`` seconds)."""
        loop = asyncio.get_running_loop()
        fut = loop.create_future()
        self._waiters.add(fut)
        timer = None
        if timeout is not None:
            timer = loop.call_later(timeout, _settle, fut)
        try:
            await fut
        finally:
            self._waiters.discard(fut)
            if timer is not None:
                timer.cancel()

    async def _arrival(self, cursor: Any) -> int | None:
        """The number of a key not heard yet, once it is; ``None`` after the grace period.

        The same message reaches the processes behind a balancer at slightly
        different times: a client's next poll can land where its cursor has
        not arrived yet.
        """
        if not self._entries:
            return None  # nothing heard at all (a fresh process): nothing to wait for
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self._grace
        while cursor not in self._numbers:
            left = deadline - loop.time()
            if left <= 0 or cursor in self._evicted:
                return None
            await self._next(left)
            if self._listener is None:
                raise RuntimeError("the relay is closed")
        return self._numbers[cursor]

    def since(self, cursor: Any = None) -> Batch:
        """The kept messages after ``cursor`` right now, without waiting.

        ``None`` means "from the start": every kept message (``missed`` is
        set when older ones already fell out). A cursor the relay does not
        know also yields every kept message, with ``missed`` set; unlike
        :meth:`wait`, no grace period is given. Useful to render a page with
        the recent history before its first long poll.
        """
        if self._listener is None:
            raise RuntimeError("the relay is closed")
        number = 0 if cursor is None else self._number_of(cursor)
        return self._since(number, cursor)

    async def wait(self, cursor: Any = None) -> Batch:
        """The messages after ``cursor``, waiting for one if there are none yet.

        A gap reported while nobody had newer messages also releases the
        waiters, with no messages and ``missed`` true. With ``key``, a cursor
        the relay has not heard yet is given ``grace`` seconds to arrive;
        one it never heard, or that fell out of the history, is answered
        with the whole history and ``missed`` true.
        """
        if self._listener is None:
            raise RuntimeError("the relay is closed")
        number = self._number_of(cursor)
        if number is None:
            number = await self._arrival(cursor)
        unknown = number is None
        if number is None and not self._entries:
            number = self._last  # nothing kept: wait for the next one, then report the miss
        if number == self._last:
            await self._next()
        batch = self._since(number, cursor)
        if unknown:
            batch.missed = True
        return batch

    def close(self) -> None:
        """Stop listening and cancel every waiting request."""
        if self._listener is not None:
            self._listener.remove()
            self._listener = None
        waiters, self._waiters = self._waiters, set()
        for fut in waiters:
            fut.cancel()


def _settle(fut: asyncio.Future[None]) -> None:
    if not fut.done():
        fut.set_result(None)


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
