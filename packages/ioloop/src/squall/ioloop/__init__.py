"""An I/O event loop for non-blocking sockets (the ``tornado.ioloop`` API).

:class:`IOLoop` is a wrapper around an :mod:`asyncio` event loop (the standard one or
uvloop); :class:`PeriodicCallback` runs a function at a fixed interval.
"""

from __future__ import annotations

from types import FunctionType

from squall.util import TimeoutError

from ._ioloop import IOLoop
from ._ioloop import _Selectable as _Selectable  # for type hints in sibling packages
from ._periodic import PeriodicCallback

__all__ = ["IOLoop", "PeriodicCallback", "TimeoutError"]


def _publish() -> None:
    # Report public classes and functions under this package rather than the
    # private module that defines them: clearer reprs and tracebacks, and
    # pickles that name the public path.
    for name in __all__:
        obj = globals()[name]
        if isinstance(obj, (type, FunctionType)) and obj.__module__.startswith(__name__ + "._"):
            obj.__module__ = __name__


_publish()
