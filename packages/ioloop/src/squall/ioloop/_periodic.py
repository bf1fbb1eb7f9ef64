""":class:`PeriodicCallback`: call a function every N milliseconds on the current IOLoop."""

from __future__ import annotations

import datetime
import math
import random
from collections.abc import Awaitable, Callable
from inspect import isawaitable
from typing import Any

from squall.log import app_log

from ._ioloop import IOLoop

__all__ = ["PeriodicCallback"]


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
        self.callback = callback
        if isinstance(callback_time, datetime.timedelta):
            self.callback_time: float = callback_time / datetime.timedelta(milliseconds=1)
        else:
            self.callback_time = callback_time
        if self.callback_time <= 0:
            raise ValueError("Periodic callback must have a positive callback_time")
        self.jitter = jitter
        self._running = False
        self._timeout: object | None = None
        self._next_timeout = 0.0
        self.io_loop: IOLoop | None = None

    def start(self) -> None:
        """Start the timer on the current :class:`IOLoop` (first call after one interval)."""
        io_loop = IOLoop.current()
        assert io_loop is not None
        self.io_loop = io_loop
        self._running = True
        self._next_timeout = io_loop.time()
        self._schedule_next()

    def stop(self) -> None:
        """Stop the timer; a call already running is not interrupted."""
        self._running = False
        if self._timeout is not None and self.io_loop is not None:
            self.io_loop.remove_timeout(self._timeout)
            self._timeout = None

    def is_running(self) -> bool:
        """Return True between :meth:`start` and :meth:`stop`."""
        return self._running

    async def _run(self) -> None:
        if not self._running:
            return
        try:
            value = self.callback()
            if value is not None and isawaitable(value):
                await value
        except Exception:
            app_log.error("Exception in callback %r", self.callback, exc_info=True)
        finally:
            self._schedule_next()

    def _schedule_next(self) -> None:
        if not self._running or self.io_loop is None:
            return
        self._update_next(self.io_loop.time())
        self._timeout = self.io_loop.add_timeout(self._next_timeout, self._run)

    def _update_next(self, current_time: float) -> None:
        interval = self.callback_time / 1000.0
        if self.jitter:
            interval *= 1 + self.jitter * (random.random() - 0.5)
        if self._next_timeout <= current_time:
            # Jump to the first slot after now, skipping every slot we already missed.
            missed = math.floor((current_time - self._next_timeout) / interval)
            self._next_timeout += (missed + 1) * interval
        else:
            # The clock went backwards (or we were called early): just add one interval.
            self._next_timeout += interval
