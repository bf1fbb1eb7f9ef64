"""Bridges between squall and :mod:`asyncio` (the ``tornado.platform.asyncio`` API).

:class:`AsyncIOLoop` is the default :class:`~squall.ioloop.IOLoop` implementation;
:class:`AsyncIOMainLoop` wraps an existing asyncio loop. Any asyncio loop works,
uvloop included: ``asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())``.
"""

from __future__ import annotations

from types import FunctionType

from ._loop import (
    AnyThreadEventLoopPolicy,
    AsyncIOLoop,
    AsyncIOMainLoop,
    BaseAsyncIOLoop,
    to_asyncio_future,
    to_tornado_future,
)
from ._selector_thread import AddThreadSelectorEventLoop, SelectorThread

__all__ = [
    "AddThreadSelectorEventLoop",
    "AnyThreadEventLoopPolicy",
    "AsyncIOLoop",
    "AsyncIOMainLoop",
    "BaseAsyncIOLoop",
    "SelectorThread",
    "to_asyncio_future",
    "to_tornado_future",
]


def _publish() -> None:
    # Report public classes and functions under this package rather than the
    # private module that defines them: clearer reprs and tracebacks, and
    # pickles that name the public path.
    for name in __all__:
        obj = globals()[name]
        if isinstance(obj, (type, FunctionType)) and obj.__module__.startswith(__name__ + "._"):
            obj.__module__ = __name__


_publish()
