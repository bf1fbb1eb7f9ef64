"""An I/O event loop for non-blocking sockets (the ``tornado.ioloop`` API).

:class:`IOLoop` is a wrapper around an :mod:`asyncio` event loop (the standard one or
uvloop); :class:`PeriodicCallback` runs a function at a fixed interval.
:func:`use_event_loop` (or ``SQUALL_EVENT_LOOP=uvloop``) chooses the loop
implementation squall creates.
"""

from __future__ import annotations

from squall.util import TimeoutError
from squall.util._util import _publish_public_names

from ._choice import event_loop_kind, use_event_loop
from ._ioloop import IOLoop
from ._ioloop import _Selectable as _Selectable  # for type hints in sibling packages
from ._periodic import PeriodicCallback

__all__ = ["IOLoop", "PeriodicCallback", "TimeoutError", "event_loop_kind", "use_event_loop"]


_publish_public_names(globals())
