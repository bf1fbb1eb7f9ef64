"""The ASGI lifespan protocol, server side: run an application's startup and shutdown.

One task calls the application with a ``lifespan`` scope for the whole life
of the container.  Its ``receive`` hands out ``lifespan.startup``, then
waits until shutdown is asked for; what the application sends back settles
the matching future.  An application that raises, or returns, before
answering the startup event does not speak the protocol: in ``"auto"`` mode
that is fine (it is logged at DEBUG level and serving goes on), in ``"on"``
mode it is an error.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from squall.log import app_log

from ._scope import _HTTP_ASGI

__all__ = ["_LifespanRun"]

_ASGIApp = Callable[
    [
        MutableMapping[str, Any],
        Callable[[], Awaitable[MutableMapping[str, Any]]],
        Callable[[MutableMapping[str, Any]], Awaitable[None]],
    ],
    Awaitable[None],
]


class _LifespanRun:
    """The lifespan conversation with one application."""

    def __init__(self, application: _ASGIApp, state: dict[str, Any], required: bool) -> None:
        self._application = application
        self._state = state
        self._required = required
        self._task: asyncio.Task[None] | None = None
        self._started: asyncio.Future[None] | None = None
        self._stopped: asyncio.Future[None] | None = None
        self._stop_asked: asyncio.Future[None] | None = None
        self._handed_startup = False
        self.supported = True

    async def startup(self) -> None:
        loop = asyncio.get_running_loop()
        self._started = loop.create_future()
        self._stopped = loop.create_future()
        self._stop_asked = loop.create_future()
        scope = {"type": "lifespan", "asgi": _HTTP_ASGI, "state": self._state}
        self._task = loop.create_task(self._converse(scope))
        self._task.add_done_callback(self._ended)
        await self._started

    async def _converse(self, scope: dict[str, Any]) -> None:
        await self._application(scope, self._receive, self._send)

    async def shutdown(self) -> None:
        task, asked, stopped = self._task, self._stop_asked, self._stopped
        if task is None or asked is None or stopped is None or not self.supported:
            return
        if not asked.done():
            asked.set_result(None)
        await stopped

    async def _receive(self) -> dict[str, Any]:
        if not self._handed_startup:
            self._handed_startup = True
            return {"type": "lifespan.startup"}
        asked = self._stop_asked
        assert asked is not None
        await asked
        return {"type": "lifespan.shutdown"}

    async def _send(self, message: MutableMapping[str, Any]) -> None:
        kind = message.get("type")
        if kind == "lifespan.startup.complete":
            self._settle(self._started, None)
        elif kind == "lifespan.startup.failed":
            why = message.get("message", "")
            self._settle(self._started, RuntimeError(f"ASGI lifespan startup failed: {why}"))
        elif kind == "lifespan.shutdown.complete":
            self._settle(self._stopped, None)
        elif kind == "lifespan.shutdown.failed":
            why = message.get("message", "")
            asked = self._stop_asked
            if asked is not None and (not asked.done() or asked.cancelled()):
                # No shutdown was asked for: the lifespan task is being
                # cancelled (the loop is closing; the cancellation reached the
                # future its receive() awaited). Nobody waits for an answer.
                app_log.debug("ASGI lifespan ended without a shutdown: %s", why)
                self._settle(self._stopped, None)
            else:
                self._settle(self._stopped, RuntimeError(f"ASGI lifespan shutdown failed: {why}"))
        else:
            raise RuntimeError(f"unexpected ASGI message {kind!r} in the lifespan scope")

    @staticmethod
    def _settle(future: asyncio.Future[None] | None, failure: BaseException | None) -> None:
        if future is None or future.done():
            return
        if failure is None:
            future.set_result(None)
        else:
            future.set_exception(failure)

    def _ended(self, task: asyncio.Task[None]) -> None:
        failure = None if task.cancelled() else task.exception()
        started = self._started
        if started is not None and not started.done():
            # The application left before answering the startup event.
            if self._required:
                why = repr(failure) if failure is not None else "it returned"
                started.set_exception(
                    RuntimeError(f"the ASGI application does not support lifespan ({why})")
                )
            else:
                app_log.debug("ASGI lifespan not supported by the application: %r", failure)
                self.supported = False
                started.set_result(None)
        elif failure is not None:
            app_log.error("ASGI lifespan task failed", exc_info=failure)
        stopped = self._stopped
        if stopped is not None and not stopped.done():
            stopped.set_result(None)
