"""Serving a plain ``handle_request(request)`` callable: one mechanism for every driver.

The server's transport path, its IOStream path and the router all accept a
plain callable instead of a delegate (the classic overview style). Each hands
the finished :class:`HTTPServerRequest` to :func:`_run_request_callback`; the
two delegate-based paths gather the body with :class:`_CallableDelegate`.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

from squall.log import app_log, gen_log

from ._delegates import HTTPMessageDelegate
from ._errors import HTTPInputError
from ._headers import HTTPHeaders
from ._request import HTTPServerRequest
from ._startline import RequestStartLine, ResponseStartLine

__all__: list[str] = []


def _log_callback_failure(task: asyncio.Future[Any]) -> None:
    if not task.cancelled() and task.exception() is not None:
        app_log.error("Uncaught exception in the request callback", exc_info=task.exception())


def _run_request_callback(
    callback: Callable[[HTTPServerRequest], Any],
    request: HTTPServerRequest,
    when_done: Callable[[asyncio.Future[Any]], None] = _log_callback_failure,
) -> None:
    """Fill the request's form view, call ``callback``; schedule an awaitable outcome.

    A body that is no valid form is logged at INFO and stays available as
    ``request.body``. ``when_done`` sees the task of an awaitable outcome
    (by default its failure is logged).
    """
    if request.body:
        try:
            request._parse_body()
        except HTTPInputError as exc:
            gen_log.info("Request body not parsed as a form: %s", exc)
    outcome = callback(request)
    if outcome is not None and hasattr(outcome, "__await__"):
        asyncio.ensure_future(outcome).add_done_callback(when_done)


class _CallableDelegate(HTTPMessageDelegate):
    """Collects one request's body, then runs ``callback(request)``.

    ``request`` is given when the caller built it from the head already (a
    router that matched on it); otherwise it is built when the head arrives.
    """

    def __init__(
        self,
        callback: Callable[[HTTPServerRequest], Any],
        request: HTTPServerRequest | None = None,
        *,
        server_connection: object = None,
        connection: Any = None,
    ) -> None:
        self._callback = callback
        self._request = request
        self._server_connection = server_connection
        self._connection = connection
        self._parts: list[bytes] = []

    def headers_received(
        self, start_line: RequestStartLine | ResponseStartLine, headers: HTTPHeaders
    ) -> Awaitable[None] | None:
        if self._request is None:
            assert isinstance(start_line, RequestStartLine)
            self._request = HTTPServerRequest(
                start_line=start_line,
                headers=headers,
                connection=self._connection,
                server_connection=self._server_connection,
            )
        return None

    def data_received(self, chunk: bytes) -> Awaitable[None] | None:
        self._parts.append(chunk)
        return None

    def finish(self) -> None:
        request = self._request
        assert request is not None, "finish() before headers_received()"
        if self._parts:
            request.body = b"".join(self._parts)
            self._parts = []
        _run_request_callback(self._callback, request)

    def on_connection_close(self) -> None:
        self._parts = []
