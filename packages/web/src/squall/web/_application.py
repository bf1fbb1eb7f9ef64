"""Application: the routing table and settings of a web application.

An :class:`Application` is a :class:`~squall.routing.ReversibleRouter`, so
an :class:`~squall.httpserver.HTTPServer` serves it directly.  Its
``default_router`` tries host-specific rule sets (:meth:`Application.add_handlers`)
and then ``wildcard_router``, which holds the handlers given to the
constructor.  Targets may be :class:`~squall.web.RequestHandler` classes,
other routers or applications, plain connection delegates or
``callback(request)`` functions.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from squall.httputil import (
    HTTPMessageDelegate,
    HTTPServerRequest,
    RequestStartLine,
)
from squall.ioloop import use_event_loop
from squall.log import access_log
from squall.routing import (
    AnyMatches,
    DefaultHostMatches,
    HostMatches,
    ReversibleRouter,
    ReversibleRuleRouter,
    Rule,
    RuleRouter,
    URLSpec,
)
from squall.routing._routers import _RuleList

from ._dispatch import _HandlerDelegate
from ._handler import RequestHandler
from ._transforms import GZipContentEncoding, OutputTransform

if TYPE_CHECKING:
    from squall.httpserver import HTTPServer

__all__ = ["Application", "_ApplicationRouter", "url"]

#: Tornado's short name for :class:`~squall.routing.URLSpec`.
url = URLSpec

_DEFAULT_BACKLOG = 128

# What ``debug=True`` turns on or off, unless the settings say otherwise.
_DEBUG_IMPLIES = {
    "autoreload": True,
    "compiled_template_cache": False,
    "static_hash_cache": False,
    "serve_traceback": True,
}


def _is_handler_class(target: Any) -> bool:
    return isinstance(target, type) and issubclass(target, RequestHandler)


class _ApplicationRouter(ReversibleRuleRouter):
    """A rule router whose :class:`~squall.web.RequestHandler` targets run inside ``application``.

    Nested lists of rules become routers of the same kind.
    """

    def __init__(self, application: Application, rules: _RuleList | None = None) -> None:
        self.application = application
        # An Application subclass may make its own delegates; else skip a call.
        custom = type(application).get_handler_delegate is not Application.get_handler_delegate
        self._make_delegate: Callable[..., HTTPMessageDelegate] = (
            application.get_handler_delegate
            if custom
            else functools.partial(_HandlerDelegate, application)
        )
        super().__init__(rules)

    def _nested(self, rules: _RuleList) -> RuleRouter:
        return _ApplicationRouter(self.application, rules)

    def get_target_delegate(
        self, target: Any, request: HTTPServerRequest, **target_params: Any
    ) -> HTTPMessageDelegate | None:
        if _is_handler_class(target):
            return self.application.get_handler_delegate(request, target, **target_params)
        return super().get_target_delegate(target, request, **target_params)

    def find_handler(self, request: HTTPServerRequest, **kwargs: Any) -> HTTPMessageDelegate | None:
        # The usual case inlined (a path rule naming a RequestHandler class):
        # this runs for every request.
        for rule in self.rules:
            params = rule.matcher.match(request)
            if params is None:
                continue
            target = rule.target
            if isinstance(target, type) and issubclass(target, RequestHandler):
                return self._make_delegate(
                    request,
                    target,
                    rule.target_kwargs,
                    params.get("path_args"),
                    params.get("path_kwargs"),
                )
            if rule.target_kwargs:
                params["target_kwargs"] = rule.target_kwargs
            found = self.get_target_delegate(target, request, **params)
            if found is not None:
                return found
        return None


class Application(ReversibleRouter):
    """A collection of request handlers and the settings they share.

    :param handlers: rules: tuples ``(pattern, handler_class[, kwargs[,
        name]])``, :class:`~squall.web.url` / :class:`~squall.routing.URLSpec`
        objects or :class:`~squall.routing.Rule` objects.  A handler may also
        be another router, application or delegate, or a plain callable.
    :param default_host: the host whose rules answer requests that name no
        known host (see :meth:`add_handlers`).
    :param transforms: the output transform classes (by default gzip when
        the ``compress_response`` setting is on, else none).
    :param settings: application settings, readable as ``self.settings``
        and by every handler.  The ones squall reads: ``debug`` (turns on
        ``autoreload``, ``serve_traceback`` and turns off
        ``compiled_template_cache`` and ``static_hash_cache``, unless given),
        ``autoreload``, ``compiled_template_cache``, ``static_hash_cache``,
        ``serve_traceback``, ``default_handler_class`` and
        ``default_handler_args`` (what answers unmatched requests instead of
        a 404), ``compress_response`` (or ``gzip``), ``log_function``,
        ``cookie_secret`` and ``key_version``, ``login_url``,
        ``xsrf_cookies``, ``xsrf_cookie_version``, ``xsrf_cookie_kwargs``,
        ``template_path``, ``template_loader``, ``autoescape``,
        ``template_whitespace``, ``ui_modules``, ``ui_methods``,
        ``static_path``, ``static_url_prefix``, ``static_handler_class``,
        ``static_handler_args``; and squall's ``event_loop`` (``"asyncio"``
        or ``"uvloop"``: :func:`squall.ioloop.use_event_loop` is called with
        it, so build the application before the loop starts, as the
        overview's ``main()`` does).

    With ``static_path``, ``/static/(.*)`` (or ``static_url_prefix``),
    ``/favicon.ico`` and ``/robots.txt`` are served from that directory.
    """

    def __init__(
        self,
        handlers: _RuleList | None = None,
        default_host: str | None = None,
        transforms: list[type[OutputTransform]] | None = None,
        **settings: Any,
    ) -> None:
        if settings.get("debug"):
            for name, implied in _DEBUG_IMPLIES.items():
                settings.setdefault(name, implied)
        if settings.get("event_loop"):
            use_event_loop(settings["event_loop"])
        self.settings = settings
        self.default_host = default_host
        gzip_wanted = bool(settings.get("compress_response") or settings.get("gzip"))
        self.transforms: list[type[OutputTransform]] = (
            ([GZipContentEncoding] if gzip_wanted else []) if transforms is None else transforms
        )
        self._ui_modules: dict[str, Any] | None = None
        self._ui_methods: dict[str, Any] | None = None
        static_path = settings.get("static_path")
        rules = [*self._static_rules(static_path), *(handlers or ())] if static_path else handlers
        # Host-specific rule sets go before the catch-all (see add_handlers).
        self.wildcard_router = _ApplicationRouter(self, rules)
        catch_all = Rule(AnyMatches(), self.wildcard_router)
        self.default_router = _ApplicationRouter(self, [catch_all])
        if settings.get("autoreload"):
            from squall import autoreload

            autoreload.start()

    def _static_rules(self, static_path: str) -> list[tuple[str, Any, dict[str, Any]]]:
        settings = self.settings
        server = settings.get("static_handler_class")
        if server is None:
            from ._static import StaticFileHandler

            server = StaticFileHandler
        options = {**(settings.get("static_handler_args") or {}), "path": static_path}
        under_prefix = re.escape(settings.get("static_url_prefix", "/static/")) + "(.*)"
        return [
            (pattern, server, options)
            for pattern in (under_prefix, r"/(favicon\.ico)", r"/(robots\.txt)")
        ]

    # -- what the request path reads once per request -------------------------------------

    def _reset_caches(self, handler_class: type[RequestHandler]) -> None:
        """Debug mode: forget compiled templates and static file hashes before each request."""
        settings = self.settings
        if not settings.get("compiled_template_cache", True):
            with RequestHandler._template_loader_lock:
                for loader in RequestHandler._template_loaders.values():
                    loader.reset()
        if not settings.get("static_hash_cache", True):
            kind = settings.get("static_handler_class")
            if kind is None and settings.get("static_path"):
                from ._static import StaticFileHandler

                kind = StaticFileHandler
            if kind is not None:
                kind.reset()

    # -- UI modules and methods --------------------------------------------------------------

    @property
    def ui_modules(self) -> dict[str, Any]:
        """The UI module classes by name (the built-in ones plus the ``ui_modules`` setting)."""
        modules = self._ui_modules
        if modules is None:
            from . import _ui

            modules = dict(_ui._BUILTIN_UI_MODULES)
            modules.update(_ui._load_ui_modules(self.settings.get("ui_modules") or {}))
            self._ui_modules = modules
        return modules

    @ui_modules.setter
    def ui_modules(self, value: dict[str, Any]) -> None:
        self._ui_modules = value

    @property
    def ui_methods(self) -> dict[str, Any]:
        """UI methods by name (from the ``ui_methods`` setting)."""
        methods = self._ui_methods
        if methods is None:
            from . import _ui

            methods = self._ui_methods = _ui._load_ui_methods(self.settings.get("ui_methods") or {})
        return methods

    @ui_methods.setter
    def ui_methods(self, value: dict[str, Any]) -> None:
        self._ui_methods = value

    # -- serving ------------------------------------------------------------------------------

    def listen(
        self,
        port: int,
        address: str | None = None,
        *,
        family: Any = None,
        backlog: int = _DEFAULT_BACKLOG,
        flags: int | None = None,
        reuse_port: bool = False,
        **kwargs: Any,
    ) -> HTTPServer:
        """Serve this application on ``port`` (and ``address``) with a new HTTPServer.

        Keyword arguments other than the socket options go to the
        :class:`~squall.httpserver.HTTPServer`.  Returns the server (to stop
        it later).  For several processes use the server directly.
        """
        import socket

        from squall.httpserver import HTTPServer

        server = HTTPServer(self, **kwargs)
        server.listen(
            port,
            address=address,
            family=socket.AF_UNSPEC if family is None else family,
            backlog=backlog,
            flags=flags,
            reuse_port=reuse_port,
        )
        return server

    def add_handlers(self, host_pattern: str, host_handlers: _RuleList) -> None:
        """Add rules for requests to hosts matching ``host_pattern`` (a regex, ``$`` added).

        Host rule sets are tried in the order added, before the handlers
        given to the constructor; the ``default_host`` also answers requests
        through them.
        """
        matcher = HostMatches(host_pattern)
        rule = Rule(matcher, _ApplicationRouter(self, host_handlers))
        rules = self.default_router.rules
        rules.insert(len(rules) - 1, rule)
        if self.default_host is not None:
            self.wildcard_router.add_rules(
                [(DefaultHostMatches(self, matcher.host_pattern), host_handlers)]
            )

    def add_transform(self, transform_class: type[OutputTransform]) -> None:
        """Apply ``transform_class`` to every later response."""
        self.transforms.append(transform_class)

    def find_handler(self, request: HTTPServerRequest, **kwargs: Any) -> HTTPMessageDelegate:
        """The delegate that serves ``request``: a matched rule's, else the default handler's (404)."""
        router = self.default_router
        if len(router.rules) == 1 and router.rules[0].target is self.wildcard_router:
            # No host-specific rules: straight to the application's own.
            router = self.wildcard_router
        found = router.find_handler(request)
        if found is not None:
            return found
        settings = self.settings
        fallback = settings.get("default_handler_class")
        if fallback is not None:
            return self.get_handler_delegate(
                request, fallback, settings.get("default_handler_args") or {}
            )
        from ._handlers import ErrorHandler

        return self.get_handler_delegate(request, ErrorHandler, {"status_code": 404})

    def get_handler_delegate(
        self,
        request: HTTPServerRequest,
        target_class: type[RequestHandler],
        target_kwargs: dict[str, Any] | None = None,
        path_args: list[bytes] | None = None,
        path_kwargs: dict[str, bytes] | None = None,
    ) -> _HandlerDelegate:
        """The delegate that runs ``target_class`` for ``request`` (for custom routers).

        :param target_kwargs: for the handler's ``initialize``.
        :param path_args: positional arguments of the verb method.
        :param path_kwargs: keyword arguments of the verb method.
        """
        return _HandlerDelegate(self, request, target_class, target_kwargs, path_args, path_kwargs)

    def reverse_url(self, name: str, *args: Any) -> str:
        """The path of the rule called ``name``, its groups filled with ``args``.

        :raises KeyError: no rule has that name.
        """
        found = self.default_router.reverse_url(name, *args)
        if found is None:
            raise KeyError(f"{name} is not the name of any URL rule")
        return found

    def __call__(self, request: HTTPServerRequest) -> Awaitable[None] | None:
        """Serve a complete ``request`` (the plain ``callback(request)`` style).

        Lets an application run wherever a request callback is expected.
        Returns an awaitable when the handler goes on asynchronously.
        """
        delegate = self.find_handler(request)
        if isinstance(delegate, _HandlerDelegate):
            if request.body and "body_arguments" not in request.__dict__:
                request._parse_body()
            return delegate.run()  # type: ignore[no-any-return]
        line = RequestStartLine(request.method or "GET", request.uri or "/", request.version)
        pending = delegate.headers_received(line, request.headers)
        if pending is not None:
            return _feed_rest(delegate, pending, request.body)
        if request.body:
            delegate.data_received(request.body)
        delegate.finish()
        return None

    def log_request(self, handler: RequestHandler) -> None:
        """Log one finished request (the ``log_function`` setting replaces this).

        The default writes ``status method uri (ip) time`` to
        ``squall.access``: INFO below 400, WARNING below 500, ERROR above.
        """
        custom = self.settings.get("log_function")
        if custom is not None:
            custom(handler)
            return
        status = handler.get_status()
        level = 20 if status < 400 else 30 if status < 500 else 40
        if not access_log.isEnabledFor(level):
            return
        elapsed = 1000.0 * handler.request.request_time()
        access_log.log(level, "%d %s %.2fms", status, handler._request_summary(), elapsed)


async def _feed_rest(delegate: HTTPMessageDelegate, pending: Awaitable[None], body: bytes) -> None:
    await pending
    if body:
        more = delegate.data_received(body)
        if more is not None:
            await more
    delegate.finish()
