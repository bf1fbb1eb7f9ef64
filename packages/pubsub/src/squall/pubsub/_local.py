"""The in-process hub: channels that reach every receiver in this process."""

from __future__ import annotations

from typing import Any

from ._codec import _copy
from ._hub import Hub

__all__ = ["LocalHub"]


class LocalHub(Hub):
    """A hub within one process, with no dependencies (``memory://``).

    Delivery is synchronous: when :meth:`publish` returns, every
    subscription has the message queued and every listener has been called.
    Values follow the same encoding rules as across Redis (JSON values reach
    receivers as an independent copy), so code moves between hubs unchanged.
    """

    async def publish(self, channel: str, message: Any) -> int:
        self._check_open()
        return self._dispatch(channel, _copy(message))
