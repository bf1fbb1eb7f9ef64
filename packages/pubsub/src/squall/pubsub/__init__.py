"""Publish/subscribe on named channels, within a process or across hosts.

A hub carries messages (``str``, ``bytes`` or JSON-able values) on named
channels. :class:`LocalHub` reaches the receivers in this process;
:class:`RedisHub` (extra ``squall-pubsub[redis]``) reaches every process
connected to the same Redis server. Receive with an async iterator
(``async for msg in hub.subscribe("room")``) or a callback
(``hub.add_listener("room", callback)``); :class:`LongPollRelay` and
:class:`Broadcaster` package the long-poll and WebSocket patterns.
"""

from __future__ import annotations

from typing import Any

from ._hub import (
    Hub,
    HubClosedError,
    HubUnavailableError,
    Listener,
    Message,
    PubSubError,
    Subscription,
)
from ._local import LocalHub
from ._patterns import Batch, Broadcaster, LongPollRelay
from ._redis import RedisHub

__all__ = [
    "Batch",
    "Broadcaster",
    "Hub",
    "HubClosedError",
    "HubUnavailableError",
    "Listener",
    "LocalHub",
    "LongPollRelay",
    "Message",
    "PubSubError",
    "RedisHub",
    "Subscription",
    "hub_from_url",
]


def hub_from_url(url: str, **kwargs: Any) -> Hub:
    """The hub a URL names: ``memory://`` or ``redis://``, ``rediss://``, ``unix://``.

    Keyword arguments go to :class:`RedisHub` (a ``memory://`` hub takes
    none). ``ValueError`` for any other scheme.
    """
    scheme = url.partition("://")[0].lower()
    if scheme == "memory":
        if kwargs:
            raise TypeError(f"LocalHub takes no options, got {sorted(kwargs)}")
        return LocalHub()
    if scheme in ("redis", "rediss", "unix"):
        return RedisHub(url, **kwargs)
    raise ValueError(f"no pubsub hub for {url!r}: use memory:// or redis://host:port")
