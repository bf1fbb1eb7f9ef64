"""A hub over Redis pub/sub, so that channels reach every process and host.

One connection carries every subscription of the hub; publishing uses the
client's pool. A task owns the subscription link: it (re)connects with
exponential back-off, subscribes to every channel that has a local
receiver, then reads.  Subscribe/unsubscribe commands issued while the link
is up go through one queue, so they reach Redis in the order they were made.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib
from collections import deque
from typing import Any

from squall.log import app_log

from ._codec import _decode, _encode
from ._hub import Hub, HubUnavailableError

__all__ = ["RedisHub"]


def _redis_modules() -> tuple[Any, Any]:
    try:
        client = importlib.import_module("redis.asyncio")
        backoff = importlib.import_module("redis.backoff")
        retry = importlib.import_module("redis.asyncio.retry")
    except ImportError as exc:
        raise ImportError("RedisHub needs redis-py: pip install 'squall-pubsub[redis]'") from exc
    return client, retry.Retry(backoff.NoBackoff(), 0)


class RedisHub(Hub):
    """A hub on a Redis (>= 6) server, for channels shared across processes.

    ``url`` is a redis-py URL (``redis://host:6379/0``, ``rediss://``,
    ``unix://``); other keyword arguments go to ``redis.asyncio.Redis``.

    When the link to Redis breaks, the hub retries after ``backoff``
    seconds, doubling the delay up to ``max_backoff``, and subscribes again
    to every channel. Nothing is lost silently: :meth:`publish` raises
    :class:`~squall.pubsub.HubUnavailableError` while Redis is unreachable,
    and once every channel is subscribed again each receiver gets a gap
    :class:`~squall.pubsub.Message` (``missed=None``) for its channels,
    since messages sent by other processes in between never reached us.
    """

    def __init__(
        self,
        url: str = "redis://127.0.0.1:6379/0",
        *,
        backoff: float = 0.05,
        max_backoff: float = 5.0,
        connect_timeout: float = 5.0,
        **client_options: Any,
    ) -> None:
        super().__init__()
        client, no_retry = _redis_modules()
        errors = importlib.import_module("redis.exceptions")
        self._link_errors: tuple[type[BaseException], ...] = (
            errors.ConnectionError,
            errors.TimeoutError,
            OSError,
        )
        client_options.setdefault("socket_connect_timeout", connect_timeout)
        client_options.setdefault("retry", no_retry)
        self._redis = client.Redis.from_url(url, **client_options)
        self._first_delay = backoff
        self._max_delay = max_backoff
        self._link: Any = None  # the redis-py PubSub while the link is up
        self._live: set[str] = set()
        self._outbox: deque[tuple[bool, str]] = deque()
        self._sender: asyncio.Task[None] | None = None
        self._runner: asyncio.Task[None] | None = None
        self._nudge: asyncio.Event | None = None
        self._ready: list[asyncio.Future[None]] = []
        self._resync = False
        self._reconnects = 0

    @property
    def connected(self) -> bool:
        """True while the subscription link is up."""
        return self._link is not None

    @property
    def reconnects(self) -> int:
        """How many times the subscription link was re-established after a loss."""
        return self._reconnects

    async def publish(self, channel: str, message: Any) -> int:
        self._check_open()
        payload = _encode(message)
        try:
            return int(await self._redis.publish(channel, payload))
        except self._link_errors as exc:
            raise HubUnavailableError(
                f"Redis is unreachable, message on {channel!r} not published: {exc}"
            ) from exc

    async def wait_ready(self) -> None:
        """Wait until Redis has confirmed every channel with a local receiver.

        This waits through outages; bound it with ``asyncio.wait_for``.
        """
        self._check_open()
        self._start()
        if self._caught_up():
            return
        fut = asyncio.get_running_loop().create_future()
        self._ready.append(fut)
        await fut

    # -- link management -----------------------------------------------------

    def _caught_up(self) -> bool:
        return self._link is not None and self._live.issuperset(self._routes)

    def _start(self) -> None:
        if self._runner is None and not self._closed:
            self._nudge = asyncio.Event()
            self._runner = asyncio.get_running_loop().create_task(self._keep_linked())
        elif self._nudge is not None:
            self._nudge.set()

    def _channel_opened(self, channel: str) -> None:
        self._queue_command(True, channel)

    def _channel_closed(self, channel: str) -> None:
        self._live.discard(channel)
        self._queue_command(False, channel)

    def _queue_command(self, subscribe: bool, channel: str) -> None:
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            return  # wait_ready()/publish() from a loop will start the link
        self._start()
        if self._link is None:
            return  # the next connection subscribes to what is wanted then
        self._outbox.append((subscribe, channel))
        if self._sender is None or self._sender.done():
            self._sender = asyncio.get_running_loop().create_task(self._send_commands(self._link))

    async def _send_commands(self, link: Any) -> None:
        while self._outbox and self._link is link:
            subscribe, channel = self._outbox.popleft()
            try:
                await (link.subscribe(channel) if subscribe else link.unsubscribe(channel))
            except self._link_errors:
                return  # the reader notices the broken link and starts over

    async def _keep_linked(self) -> None:
        assert self._nudge is not None
        delay = self._first_delay
        while not self._closed:
            if not self._routes:
                self._nudge.clear()
                await self._nudge.wait()
                continue
            link = self._redis.pubsub()
            try:
                wanted = list(self._routes)
                await link.subscribe(*wanted)
                self._link = link
                for channel in set(self._routes).difference(wanted):
                    self._queue_command(True, channel)
                for channel in set(wanted).difference(self._routes):
                    self._queue_command(False, channel)
                delay = self._first_delay
                while True:
                    reply = await link.get_message(timeout=None)
                    if reply is not None:
                        self._handle(reply)
            except self._link_errors as exc:
                if self._link is link:
                    self._resync = True
                    app_log.warning("pubsub: lost the link to Redis (%s); reconnecting", exc)
            except Exception:
                if self._link is link:
                    self._resync = True
                app_log.exception("pubsub: the Redis subscription link failed; reconnecting")
            finally:
                self._link = None
                self._live.clear()
                self._outbox.clear()
                with contextlib.suppress(Exception):
                    await link.aclose()
            if not self._closed:
                await asyncio.sleep(delay)
                delay = min(delay * 2, self._max_delay)

    def _handle(self, reply: dict[str, Any]) -> None:
        kind = reply["type"]
        channel = reply["channel"]
        if isinstance(channel, bytes):
            channel = channel.decode("utf-8", "replace")
        if kind == "message":
            try:
                data = _decode(reply["data"])
            except ValueError:
                app_log.warning("pubsub: undecodable message on %r skipped", channel)
                return
            self._dispatch(channel, data)
        elif kind == "subscribe":
            self._live.add(channel)
            if self._caught_up():
                if self._resync:
                    self._resync = False
                    self._reconnects += 1
                    self._dispatch_gap(list(self._routes))
                waiters, self._ready = self._ready, []
                for fut in waiters:
                    if not fut.done():
                        fut.set_result(None)
        elif kind == "unsubscribe":
            self._live.discard(channel)

    async def _shutdown(self) -> None:
        for task in (self._sender, self._runner):
            if task is not None:
                task.cancel()
                with contextlib.suppress(BaseException):
                    await task
        for fut in self._ready:
            if not fut.done():
                fut.cancel()
        self._ready = []
        await self._redis.aclose()
