"""The hub interface shared by every backend, and the two ways to receive.

A :class:`Hub` keeps, per channel, the set of local receivers: iterator
subscriptions (:class:`Subscription`) and callbacks (:class:`Listener`).
Backends only say how a message leaves the process and tell the base class
when one arrives (``_dispatch``) or when some may have been lost
(``_dispatch_gap``); the base class tells them when a channel gains its
first receiver or loses its last one.
"""

from __future__ import annotations

import asyncio
import inspect
from collections import deque
from collections.abc import Callable, Iterable
from types import TracebackType
from typing import Any, TypeVar

from squall.log import app_log

__all__ = [
    "Hub",
    "HubClosedError",
    "HubUnavailableError",
    "Listener",
    "Message",
    "PubSubError",
    "Subscription",
]

#: Default bound of a subscription's queue.
DEFAULT_MAXSIZE = 1000


class PubSubError(Exception):
    """Base class of the errors raised by :mod:`squall.pubsub`."""


class HubUnavailableError(PubSubError, ConnectionError):
    """The hub cannot reach its broker: the message was *not* published."""


class HubClosedError(PubSubError):
    """The hub was closed."""


class Message:
    """One delivery on a channel: a published value, or a gap notice.

    ``data`` is the value published (``str``, ``bytes`` or a JSON
    value). When ``gap`` is true the entry is not a message but
    the notice that messages on ``channel`` were lost at this point of the
    stream: ``data`` is then ``None`` and ``missed`` is how many were lost
    when that is known (a full subscriber queue), ``None`` when it is not
    (the link to the broker was down for a while).
    """

    __slots__ = ("channel", "data", "gap", "missed")

    def __init__(
        self, channel: str, data: Any, gap: bool = False, missed: int | None = None
    ) -> None:
        self.channel = channel
        self.data = data
        self.gap = gap
        self.missed = missed

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Message):
            return NotImplemented
        return (self.channel, self.data, self.gap, self.missed) == (
            other.channel,
            other.data,
            other.gap,
            other.missed,
        )

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        if self.gap:
            return f"Message({self.channel!r}, gap, missed={self.missed})"
        return f"Message({self.channel!r}, {self.data!r})"


class Subscription:
    """An async iterator over the messages of one or more channels.

    Obtained from :meth:`Hub.subscribe`. Messages wait in a queue of at most
    ``maxsize`` entries; when a message arrives at a full queue the *oldest*
    queued message is dropped and the iterator yields a gap
    :class:`Message` (``missed`` = how many were dropped) before the
    messages that were kept. A slow consumer therefore never holds the
    publisher back and always learns what it missed.

    One task at a time reads a subscription (a second concurrent reader
    gets ``RuntimeError``); give each consumer its own subscription.

    Leave with :meth:`aclose` (or ``close()``), or use it as an
    ``async with`` block, which also waits for the subscription to be
    active at the broker (:meth:`ready`). After closing, iteration stops.
    """

    def __init__(self, hub: Hub, channels: tuple[str, ...], maxsize: int) -> None:
        if maxsize < 1:
            raise ValueError("a subscription needs room for at least one message")
        self._hub = hub
        self._channels = channels
        self._maxsize = maxsize
        self._queue: deque[Message] = deque()
        self._dropped: dict[str, int] = {}
        self._wakeup: asyncio.Future[None] | None = None
        self._open = True

    @property
    def channels(self) -> tuple[str, ...]:
        """The channels this subscription receives."""
        return self._channels

    @property
    def closed(self) -> bool:
        """True once unsubscribed (by :meth:`aclose` or by the hub closing)."""
        return not self._open

    def _push(self, msg: Message) -> None:
        queue = self._queue
        if len(queue) >= self._maxsize:
            lost = queue.popleft()
            if not lost.gap:
                self._dropped[lost.channel] = self._dropped.get(lost.channel, 0) + 1
        queue.append(msg)
        self._wake()

    def _wake(self) -> None:
        waiter = self._wakeup
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    def __aiter__(self) -> Subscription:
        return self

    async def __anext__(self) -> Message:
        while True:
            if self._dropped:
                channel, count = next(iter(self._dropped.items()))
                del self._dropped[channel]
                return Message(channel, None, True, count)
            if self._queue:
                return self._queue.popleft()
            if not self._open:
                raise StopAsyncIteration
            if self._wakeup is not None:
                raise RuntimeError("another task is already waiting on this subscription")
            self._wakeup = asyncio.get_running_loop().create_future()
            try:
                await self._wakeup
            finally:
                self._wakeup = None

    async def get(self) -> Message:
        """The next message; raises :class:`HubClosedError` once closed."""
        try:
            return await self.__anext__()
        except StopAsyncIteration:
            raise HubClosedError("the subscription is closed") from None

    def pending(self) -> int:
        """How many messages are queued, not yet consumed."""
        return len(self._queue)

    async def ready(self) -> None:
        """Wait until the broker delivers this subscription's channels."""
        await self._hub.wait_ready()

    def close(self) -> None:
        """Unsubscribe; queued messages can still be read, then iteration stops."""
        if self._open:
            self._open = False
            self._hub._detach(self._channels, self)
            self._wake()

    async def aclose(self) -> None:
        """Unsubscribe (the awaitable spelling of :meth:`close`)."""
        self.close()

    async def __aenter__(self) -> Subscription:
        await self.ready()
        return self

    async def __aexit__(
        self, typ: type[BaseException] | None, value: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()


class Listener:
    """The handle :meth:`Hub.add_listener` returns; :meth:`remove` it to stop."""

    def __init__(self, hub: Hub, channel: str, callback: Callable[[Message], Any]) -> None:
        self._hub = hub
        self.channel = channel
        self.callback = callback
        self._active = True

    @property
    def active(self) -> bool:
        """True until removed (or the hub closed)."""
        return self._active

    def _push(self, msg: Message) -> None:
        try:
            outcome = self.callback(msg)
        except Exception:
            app_log.exception("pubsub listener on %r failed", self.channel)
            return
        if inspect.isawaitable(outcome):
            task = asyncio.ensure_future(outcome)
            task.add_done_callback(self._report)

    def _report(self, task: asyncio.Future[Any]) -> None:
        if not task.cancelled() and task.exception() is not None:
            app_log.error("pubsub listener on %r failed", self.channel, exc_info=task.exception())

    def remove(self) -> None:
        """Stop calling the callback (idempotent)."""
        if self._active:
            self._active = False
            self._hub._detach((self.channel,), self)


_Receiver = Subscription | Listener
_HubT = TypeVar("_HubT", bound="Hub")


class Hub:
    """Publish/subscribe on named channels; subclasses choose the transport.

    Use :class:`~squall.pubsub.LocalHub` within one process and
    :class:`~squall.pubsub.RedisHub` across processes and hosts; both are
    used the same way and a hub is also an ``async with`` block that
    :meth:`close`\\ s it.
    """

    def __init__(self) -> None:
        self._routes: dict[str, dict[_Receiver, None]] = {}
        self._closed = False

    @property
    def closed(self) -> bool:
        """True once :meth:`close` was called."""
        return self._closed

    def channels(self) -> list[str]:
        """The channels that currently have a local receiver."""
        return list(self._routes)

    async def publish(self, channel: str, message: Any) -> int:
        """Send ``message`` to every subscriber of ``channel``.

        ``message`` is a ``str``, ``bytes`` or a JSON-able value (anything
        else raises ``TypeError``). Returns how many receivers it was
        handed to, a count and not an acknowledgement: local receivers on a
        :class:`~squall.pubsub.LocalHub`, subscribed hubs (one connection
        each, whatever their local receivers) on Redis. Raises
        :class:`HubUnavailableError` when the message could not be sent, and
        :class:`HubClosedError` after :meth:`~squall.pubsub.Hub.close`.
        """
        raise NotImplementedError

    def subscribe(self, *channels: str, maxsize: int = DEFAULT_MAXSIZE) -> Subscription:
        """A :class:`Subscription` to ``channels``, active from this call on."""
        if not channels:
            raise ValueError("subscribe() needs at least one channel")
        self._check_open()
        sub = Subscription(self, tuple(dict.fromkeys(channels)), maxsize)
        self._attach(sub.channels, sub)
        return sub

    def add_listener(self, channel: str, callback: Callable[[Message], Any]) -> Listener:
        """Call ``callback(message)`` for each :class:`Message` on ``channel``.

        The callback runs on the event loop, gap notices included; if it
        returns an awaitable, that is run as a task. Exceptions are logged.
        """
        self._check_open()
        handle = Listener(self, channel, callback)
        self._attach((channel,), handle)
        return handle

    def remove_listener(self, handle: Listener) -> None:
        """Same as ``handle.remove()``."""
        handle.remove()

    async def wait_ready(self) -> None:
        """Wait until every channel subscribed so far is live at the broker."""

    async def close(self) -> None:
        """Close the hub: subscriptions end, listeners are dropped."""
        if self._closed:
            return
        self._closed = True
        routes, self._routes = self._routes, {}
        for receivers in routes.values():
            for receiver in receivers:
                if isinstance(receiver, Subscription):
                    receiver._open = False
                    receiver._wake()
                else:
                    receiver._active = False
        await self._shutdown()

    async def __aenter__(self: _HubT) -> _HubT:
        return self

    async def __aexit__(
        self, typ: type[BaseException] | None, value: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close()

    # -- for backends --------------------------------------------------------

    def _check_open(self) -> None:
        if self._closed:
            raise HubClosedError("the hub is closed")

    def _attach(self, channels: Iterable[str], receiver: _Receiver) -> None:
        for channel in channels:
            receivers = self._routes.get(channel)
            if receivers is None:
                receivers = self._routes[channel] = {}
                receivers[receiver] = None
                self._channel_opened(channel)
            else:
                receivers[receiver] = None

    def _detach(self, channels: Iterable[str], receiver: _Receiver) -> None:
        for channel in channels:
            receivers = self._routes.get(channel)
            if receivers is not None and receivers.pop(receiver, 0) is None and not receivers:
                del self._routes[channel]
                self._channel_closed(channel)

    def _dispatch(self, channel: str, data: Any) -> int:
        receivers = self._routes.get(channel)
        if not receivers:
            return 0
        msg = Message(channel, data)
        for receiver in list(receivers):
            receiver._push(msg)
        return len(receivers)

    def _dispatch_gap(self, channels: Iterable[str]) -> None:
        for channel in channels:
            receivers = self._routes.get(channel)
            if receivers:
                notice = Message(channel, None, True, None)
                for receiver in list(receivers):
                    receiver._push(notice)

    def _channel_opened(self, channel: str) -> None:
        """The first local receiver of ``channel`` arrived."""

    def _channel_closed(self, channel: str) -> None:
        """The last local receiver of ``channel`` left."""

    async def _shutdown(self) -> None:
        """Release the backend's resources."""
