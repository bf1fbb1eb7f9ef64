"""The message delegate that serves one request with one RequestHandler.

:class:`_HandlerDelegate` receives the request from the server (through the
application's router): it gathers the body, then makes the handler and runs
it.  A handler class decorated with ``@stream_request_body`` is made as soon
as the head is in instead: ``prepare()`` runs before the body, each piece
goes to its ``data_received`` (whose awaitable, if any, holds back further
reading), and the verb method runs at the end of the body.
"""

from __future__ import annotations

from collections.abc import Awaitable, Mapping
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

from squall.httputil import (
    HTTPHeaders,
    HTTPInputError,
    HTTPMessageDelegate,
    HTTPServerRequest,
    RequestStartLine,
    ResponseStartLine,
)
from squall.log import gen_log

if TYPE_CHECKING:
    from ._application import Application
    from ._handler import RequestHandler

__all__ = ["_HandlerDelegate"]

# Stands in for absent keyword arguments: read-only, so one serves every request.
_NOTHING: Mapping[str, Any] = MappingProxyType({})


class _HandlerDelegate(HTTPMessageDelegate):
    """Runs ``handler_class`` for ``request`` once the request (or its head) is in."""

    def __init__(
        self,
        application: Application,
        request: HTTPServerRequest,
        handler_class: type[RequestHandler],
        handler_kwargs: dict[str, Any] | None,
        path_args: list[Any] | None,
        path_kwargs: dict[str, Any] | None,
    ) -> None:
        self.application = application
        self.request = request
        self.handler_class = handler_class
        self.handler_kwargs: Mapping[str, Any] = handler_kwargs or _NOTHING
        self.path_args = path_args or ()
        self.path_kwargs: Mapping[str, Any] = path_kwargs or _NOTHING
        self.handler: RequestHandler | None = None
        self._parts: list[bytes] | None = None
        self._streaming = handler_class._stream_request_body

    def _make_handler(self) -> RequestHandler:
        application = self.application
        settings = application.settings
        # Debug mode forgets cached templates and static hashes first.
        if not (
            settings.get("compiled_template_cache", True)
            and settings.get("static_hash_cache", True)
        ):
            application._reset_caches(self.handler_class)
        options = self.handler_kwargs
        handler = self.handler = (
            self.handler_class(application, self.request, **options)
            if options
            else self.handler_class(application, self.request)
        )
        kinds = application.transforms
        if kinds:
            request = self.request
            handler._transforms = [kind(request) for kind in kinds]
        return handler

    # -- HTTPMessageDelegate -------------------------------------------------------------

    def headers_received(
        self, start_line: RequestStartLine | ResponseStartLine, headers: HTTPHeaders
    ) -> Awaitable[None] | None:
        if not self._streaming:
            return None
        # Streaming: prepare() runs now; if it is asynchronous the server
        # waits for it before reading any body.
        handler = self._make_handler()
        return handler._enter(None, self.path_args, self.path_kwargs)

    def data_received(self, chunk: bytes) -> Awaitable[None] | None:
        if self._streaming:
            handler = self.handler
            if handler is None or handler._finished:
                return None
            try:
                return handler.data_received(chunk)
            except Exception as exc:
                handler._handle_request_exception(exc)
                return None
        parts = self._parts
        if parts is None:
            self._parts = [chunk]
        else:
            parts.append(chunk)
        return None

    def finish(self) -> None:
        if self._streaming:
            handler = self.handler
            if handler is not None:
                handler._respond()
            return
        parts = self._parts
        if parts is not None:
            request = self.request
            request.body = parts[0] if len(parts) == 1 else b"".join(parts)
            self._parts = None
            try:
                request._parse_body()
            except HTTPInputError as exc:
                gen_log.warning("Malformed request body: %s", exc)
        self.run()

    def on_connection_close(self) -> None:
        handler = self.handler
        self._parts = None
        if handler is not None and not handler._finished:
            handler.on_connection_close()

    # -- running a complete request ------------------------------------------------------

    def run(self) -> Any:
        """Make the handler and run it for the complete request (returns its task, if any)."""
        handler = self._make_handler()
        return handler._execute(None, self.path_args, self.path_kwargs)

    # Tornado's name for the same step.
    execute = run
