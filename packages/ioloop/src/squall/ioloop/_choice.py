"""Which event loop implementation squall's loops run on: asyncio's own or uvloop.

Chosen explicitly, never by what happens to be installed: by
:func:`use_event_loop` (``squall.web.Application(event_loop="uvloop")``
calls it), or by the environment variable ``SQUALL_EVENT_LOOP``, read the
first time squall creates a loop itself (``IOLoop.current()`` with no loop
in the thread, ``IOLoop()``). The choice is logged once at INFO level.
Choosing uvloop also installs its asyncio policy, so :func:`asyncio.run`
and :func:`asyncio.new_event_loop` make uvloop loops from then on.
"""

from __future__ import annotations

import asyncio
import os
import warnings

from squall.log import gen_log

__all__ = ["event_loop_kind", "use_event_loop"]

ENV_VARIABLE = "SQUALL_EVENT_LOOP"
_KINDS = ("asyncio", "uvloop")

_chosen: str | None = None  # None until use_event_loop() ran (explicitly or from the variable)


def _kind_of(loop: asyncio.AbstractEventLoop) -> str:
    return "uvloop" if type(loop).__module__.partition(".")[0] == "uvloop" else "asyncio"


def _set_policy(policy: asyncio.AbstractEventLoopPolicy | None) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # policies are deprecated in 3.14
        asyncio.set_event_loop_policy(policy)


def use_event_loop(kind: str | None = None) -> str:
    """Make loops created from now on ``kind`` loops: ``"asyncio"`` or ``"uvloop"``.

    With ``kind`` None the ``SQUALL_EVENT_LOOP`` environment variable decides
    (``asyncio`` when it is unset or empty). Returns the kind in force.
    Call it before any loop exists: a loop of the other kind already running
    (or set) in this thread is a :class:`RuntimeError`, as is ``"uvloop"``
    without the uvloop package (``pip install "squall-ioloop[uvloop]"``);
    an unknown kind is a :class:`ValueError`.
    """
    global _chosen
    source = "argument"
    if kind is None:
        kind = os.environ.get(ENV_VARIABLE, "").strip().lower()
        source = f"${ENV_VARIABLE}"
    explicit = bool(kind)
    kind = kind or "asyncio"
    if kind not in _KINDS:
        raise ValueError(f"unknown event loop {kind!r} (from {source}): use one of {_KINDS}")
    from ._ioloop import _usable_thread_loop

    existing = _usable_thread_loop()
    if existing is not None and _kind_of(existing) != kind:
        raise RuntimeError(
            f"event loop {kind!r} requested, but this thread already has an "
            f"{_kind_of(existing)} loop: choose the loop before creating or running one"
        )
    if kind == _chosen:
        return kind
    if kind == "uvloop":
        try:
            import uvloop
        except ImportError:
            raise RuntimeError(
                "event loop 'uvloop' requested but uvloop is not installed: "
                'pip install "squall-ioloop[uvloop]" (or "squall[uvloop]")'
            ) from None
        _set_policy(uvloop.EventLoopPolicy())
        version = getattr(uvloop, "__version__", "?")
        gen_log.info("event loop: uvloop %s (from %s)", version, source)
    else:
        if _chosen == "uvloop":
            _set_policy(None)
        if explicit:
            gen_log.info("event loop: asyncio (from %s)", source)
    _chosen = kind
    return kind


def event_loop_kind() -> str:
    """The kind of the loop running in this thread, else the kind chosen for new loops."""
    from ._ioloop import _usable_thread_loop

    loop = _usable_thread_loop()
    if loop is not None:
        return _kind_of(loop)
    return _chosen or "asyncio"


def _new_loop() -> asyncio.AbstractEventLoop:
    """A fresh loop for squall's own use; the first call honours ``SQUALL_EVENT_LOOP``."""
    if _chosen is None and os.environ.get(ENV_VARIABLE):
        use_event_loop()
    return asyncio.new_event_loop()
