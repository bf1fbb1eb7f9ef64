"""Future plumbing shared by the rest of squall; mirrors ``tornado.concurrent``.

:class:`Future` is :class:`asyncio.Future`; ``futures`` is :mod:`concurrent.futures`.
"""

from __future__ import annotations

from squall.util._util import _publish_public_names

from ._futures import (
    FUTURES,
    DummyExecutor,
    Future,
    ReturnValueIgnoredError,
    chain_future,
    dummy_executor,
    future_add_done_callback,
    future_set_exc_info,
    future_set_exception_unless_cancelled,
    future_set_result_unless_cancelled,
    futures,
    is_future,
    run_on_executor,
)

__all__ = [
    "FUTURES",
    "DummyExecutor",
    "Future",
    "ReturnValueIgnoredError",
    "chain_future",
    "dummy_executor",
    "future_add_done_callback",
    "future_set_exc_info",
    "future_set_exception_unless_cancelled",
    "future_set_result_unless_cancelled",
    "futures",
    "is_future",
    "run_on_executor",
]


_publish_public_names(globals())
