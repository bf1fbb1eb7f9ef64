"""Decorators for handler methods and classes.

:func:`authenticated`, :func:`addslash` and :func:`removeslash` wrap verb
methods; :func:`stream_request_body` marks a handler class; and
:func:`asynchronous` is the classic (pre-coroutine) way to keep a request
open after the verb method returns.

How :func:`asynchronous` keeps errors from hanging a request: while the
decorated method runs, a :class:`contextvars.ContextVar` names its handler.
asyncio runs every callback in the context captured when it was scheduled,
so a callback the method set up (``fetch(url, callback=self.on_response)``,
``IOLoop.add_timeout``, ...) still sees the handler when it runs later.  If
such a callback raises, the failure reaches either squall's IOLoop callback
guard or the event loop's exception handler; both ask this module, which
answers the error through the handler that is still open.
"""

from __future__ import annotations

import asyncio
import contextvars
import functools
import weakref
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar
from urllib.parse import urlencode, urlsplit

from ._errors import HTTPError
from ._handler import RequestHandler

__all__ = ["addslash", "asynchronous", "authenticated", "removeslash", "stream_request_body"]

_F = TypeVar("_F", bound=Callable[..., Any])
_H = TypeVar("_H", bound=type[RequestHandler])


def authenticated(method: _F) -> _F:
    """Require a logged-in :attr:`~squall.web.RequestHandler.current_user` for this method.

    Anonymous GET and HEAD requests are redirected to
    :meth:`~squall.web.RequestHandler.get_login_url` with the request's URL
    in ``next`` (the full URL when the login URL is absolute; nothing is
    added to a login URL that has a query already).  Other methods get 403.
    """

    @functools.wraps(method)
    def guarded(self: RequestHandler, *args: Any, **kwargs: Any) -> Any:
        if self.current_user:
            return method(self, *args, **kwargs)
        if self.request.method not in ("GET", "HEAD"):
            raise HTTPError(403)
        login = self.get_login_url()
        if "?" not in login:
            here = self.request.full_url() if urlsplit(login).scheme else self.request.uri
            login = f"{login}?{urlencode({'next': here})}"
        self.redirect(login)
        return None

    return guarded  # type: ignore[return-value]


def _slash_redirect(handler: RequestHandler, path: str) -> None:
    query = handler.request.query
    handler.redirect(f"{path}?{query}" if query else path, permanent=True)


def addslash(method: _F) -> _F:
    """Redirect (301) GET/HEAD requests for ``/path`` to ``/path/``; other methods get 404.

    The route's pattern must accept both forms, e.g. ``r"/foo/?"``.
    """

    @functools.wraps(method)
    def slashed(self: RequestHandler, *args: Any, **kwargs: Any) -> Any:
        path = self.request.path
        if path.endswith("/"):
            return method(self, *args, **kwargs)
        if self.request.method not in ("GET", "HEAD"):
            raise HTTPError(404)
        _slash_redirect(self, path + "/")
        return None

    return slashed  # type: ignore[return-value]


def removeslash(method: _F) -> _F:
    """Redirect (301) GET/HEAD requests for ``/path/`` to ``/path``; other methods get 404.

    The route's pattern must accept both forms, e.g. ``r"/foo/*"``.  ``/``
    itself is served as it is.
    """

    @functools.wraps(method)
    def unslashed(self: RequestHandler, *args: Any, **kwargs: Any) -> Any:
        path = self.request.path
        trimmed = path.rstrip("/")
        if trimmed == path or not trimmed:
            return method(self, *args, **kwargs)
        if self.request.method not in ("GET", "HEAD"):
            raise HTTPError(404)
        _slash_redirect(self, trimmed)
        return None

    return unslashed  # type: ignore[return-value]


def stream_request_body(cls: _H) -> _H:
    """Class decorator: hand the request body to ``data_received`` piece by piece.

    ``prepare()`` runs as soon as the head is in (it may raise the body
    limit with ``self.request.connection.set_max_body_size(n)``), each
    piece then goes to :meth:`~squall.web.RequestHandler.data_received`
    (which may return an awaitable to slow the sender down), and the verb
    method runs once the body is complete.  ``request.body`` and the body
    arguments stay empty.
    """
    if not (isinstance(cls, type) and issubclass(cls, RequestHandler)):
        raise TypeError(f"stream_request_body decorates RequestHandler classes, not {cls!r}")
    cls._stream_request_body = True
    return cls


# -- the classic @asynchronous ---------------------------------------------------------------

#: The handler whose ``@asynchronous`` method scheduled the running code.
_open_handler: contextvars.ContextVar[RequestHandler | None] = contextvars.ContextVar(
    "squall.web.asynchronous handler", default=None
)
_watched_loops: weakref.WeakSet[asyncio.AbstractEventLoop] = weakref.WeakSet()
_hook_installed = False


def _answer_failure(handler: RequestHandler | None, exc: BaseException | None) -> bool:
    """Send ``exc`` as the error response of ``handler`` if it is still open; True if done."""
    if handler is None or handler._finished or not isinstance(exc, Exception):
        return False
    handler._handle_request_exception(exc)
    return True


def _ioloop_hook(exc: Exception) -> bool:
    # Called by squall.ioloop's callback guard, inside the failed callback's context.
    return _answer_failure(_open_handler.get(), exc)


def _watch(loop: asyncio.AbstractEventLoop) -> None:
    """Route failures of callbacks run by ``loop`` itself (future done-callbacks and the like)."""
    earlier = loop.get_exception_handler()

    def on_failure(loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
        scheduled = getattr(context.get("handle"), "_context", None)
        owner = scheduled.get(_open_handler) if isinstance(scheduled, contextvars.Context) else None
        if _answer_failure(owner, context.get("exception")):
            return
        if earlier is not None:
            earlier(loop, context)
        else:
            loop.default_exception_handler(context)

    loop.set_exception_handler(on_failure)
    _watched_loops.add(loop)


def _arm() -> None:
    global _hook_installed
    if not _hook_installed:
        from squall.ioloop._ioloop import _callback_error_hooks

        _callback_error_hooks.append(_ioloop_hook)
        _hook_installed = True
    loop = asyncio.get_running_loop()
    if loop not in _watched_loops:
        _watch(loop)


async def _finish_when_done(handler: RequestHandler, outcome: Awaitable[Any]) -> None:
    token = _open_handler.set(handler)
    try:
        await outcome
    finally:
        _open_handler.reset(token)
    if not handler._finished:
        handler.finish()


def asynchronous(method: _F) -> _F:
    """The classic decorator: the request stays open after the method returns.

    The handler must call :meth:`~squall.web.RequestHandler.finish` itself,
    typically from a callback (``AsyncHTTPClient().fetch(url,
    callback=self.on_response)``).  An exception raised by a callback that
    the method scheduled is answered through this handler (an error page,
    :class:`~squall.web.HTTPError` status included) instead of leaving the
    client waiting.  If the method returns an awaitable (a coroutine), the
    request finishes when it completes, as Tornado did.  Modern code uses
    ``async def`` methods instead.
    """

    @functools.wraps(method)
    def kept_open(self: RequestHandler, *args: Any, **kwargs: Any) -> Any:
        self._auto_finish = False
        _arm()
        token = _open_handler.set(self)
        try:
            outcome = method(self, *args, **kwargs)
        finally:
            _open_handler.reset(token)
        if outcome is not None and hasattr(outcome, "__await__"):
            return _finish_when_done(self, outcome)
        return None

    return kept_open  # type: ignore[return-value]
