"""How squall's IOLoop sits on :mod:`asyncio`; mirrors ``tornado.platform.asyncio``.

:class:`AsyncIOLoop` is the default :class:`~squall.ioloop.IOLoop` implementation;
:class:`AsyncIOMainLoop` adopts an asyncio loop someone else created. Any asyncio loop works,
uvloop included: ``asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())``.
"""

from __future__ import annotations

from squall.util._util import _publish_public_names

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


_publish_public_names(globals())
