""":class:`PeriodicCallback`: call a function every N milliseconds on the current IOLoop.

Runs are pinned to a grid of slots ``start + k * interval``: each run is scheduled for
the first slot still in the future, so a slow callback (or a blocked loop) skips the
slots it overran instead of firing a burst to catch up.
"""

from __future__ import annotations

import asyncio
import datetime
import random
from collections.abc import Awaitable, Callable
from inspect import isawaitable
from typing import Any

from squall.log import app_log

from ._ioloop import IOLoop

__all__ = ["PeriodicCallback"]


def _following_slot(slot: float, now: float, step: float) -> float:
    """The first slot ``slot + k * step`` (k >= 1) that lies after ``now``.

    If the clock reads earlier than ``slot`` (it went backwards, or we were woken
    early) the answer is simply the next slot.
    """
    if now < slot:
        return slot + step
    return slot + ((now - slot) // step + 1) * step


class PeriodicCallback:
    """Schedule ``callback`` to be called every ``callback_time`` milliseconds.

    ``callback_time`` is a number of milliseconds or a :class:`datetime.timedelta`;
    it must be positive (:class:`ValueError` otherwise). With ``jitter`` (e.g. 0.1 for
    10%) each interval is randomly stretched or shrunk by up to ``jitter / 2`` of it.
    If a call runs longer than the interval (or the loop was blocked), the missed
    runs are skipped to get back on schedule rather than run in a burst. A callback
    returning an awaitable is awaited before the next run is scheduled. Exceptions
    are logged to ``squall.application`` and do not stop the timer.

    :meth:`start` must be called (it binds to :meth:`IOLoop.current`).
    """

    def __init__(
        self,
        callback: Callable[[], Awaitable[Any] | None],
        callback_time: datetime.timedelta | float,
        jitter: float = 0,
    ) -> None:
        if isinstance(callback_time, datetime.timedelta):
            callback_time = callback_time / datetime.timedelta(milliseconds=1)
        if not callback_time > 0:
            raise ValueError(
                f"PeriodicCallback needs a positive callback_time, not {callback_time!r}"
            )
        self.callback = callback
        self.callback_time: float = callback_time
        self.jitter = jitter
        self.io_loop: IOLoop | None = None
        self._timer: object | None = None
        self._slot = 0.0
        # A fresh token per start(); a run that finishes after a stop()/start() pair
        # sees a different token and leaves the new schedule alone.
        self._epoch: object | None = None

    def start(self) -> None:
        """Start the timer on the current :class:`IOLoop` (first call after one interval)."""
        self.stop()
        loop = IOLoop.current()
        self.io_loop = loop
        self._epoch = epoch = object()
        self._slot = loop.time()
        self._plan(epoch)

    def stop(self) -> None:
        """Stop the timer; a call already running is not interrupted."""
        self._epoch = None
        timer, self._timer = self._timer, None
        if timer is not None and self.io_loop is not None:
            self.io_loop.remove_timeout(timer)

    def is_running(self) -> bool:
        """Return True between :meth:`start` and :meth:`stop`."""
        return self._epoch is not None

    def _step(self) -> float:
        """One interval in seconds, jittered if asked to."""
        seconds = self.callback_time / 1000.0
        if self.jitter:
            # Centred on the nominal interval, so the average rate is unchanged.
            seconds *= 1.0 + self.jitter * (random.random() - 0.5)
        return seconds

    def _plan(self, epoch: object) -> None:
        loop = self.io_loop
        if loop is None or self._epoch is not epoch:
            return
        self._slot = _following_slot(self._slot, loop.time(), self._step())
        self._timer = loop.call_at(self._slot, self._fire, epoch)

    def _fire(self, epoch: object) -> None:
        self._timer = None
        if self._epoch is not epoch:
            return
        try:
            outcome = self.callback()
        except Exception:
            app_log.error("Exception in periodic callback %r", self.callback, exc_info=True)
            outcome = None
        if outcome is not None and isawaitable(outcome):
            # Wait for it: the next slot is chosen once this run is over.
            pending = asyncio.ensure_future(outcome)
            pending.add_done_callback(lambda done: self._after_async(done, epoch))
        else:
            self._plan(epoch)

    def _after_async(self, done: asyncio.Future[Any], epoch: object) -> None:
        problem = None if done.cancelled() else done.exception()
        if problem is not None:
            app_log.error("Exception in periodic callback %r", self.callback, exc_info=problem)
        self._plan(epoch)
