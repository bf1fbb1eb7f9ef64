"""RequestHandler: the object that serves one request.

The application makes a fresh handler for every request and drives it
through ``initialize(**kwargs)``, ``prepare()``, the verb method and
``on_finish()``.  The handler collects a status, headers and body pieces,
and :meth:`RequestHandler.finish` sends them with a single
``write_headers`` call on the connection.  The drive is synchronous for
synchronous code: only a ``prepare`` or verb method that returns an
awaitable makes the rest of the request run as a task.

Two private mixins carry the rest of the handler's methods: cookies and
XSRF tokens (``_cookies``), templates and UI modules (``_rendering``).
Cookie signing, XSRF token coding, UI modules and static URLs live in
sibling modules imported the first time a handler needs them, so requests
that never touch those features pay nothing for them.
"""

from __future__ import annotations

import asyncio
import hashlib
import time
import traceback
from collections.abc import Awaitable, Callable, Iterable, Mapping
from types import TracebackType
from typing import TYPE_CHECKING, Any

from squall.httputil import (
    HTTPServerRequest,
    ResponseStartLine,
    responses,
)
from squall.httputil._headers import _headers_from_dicts
from squall.locale import Locale
from squall.log import app_log, gen_log

from squall import escape
from squall import locale as _locales

from ._cookies import _CookieMixin
from ._errors import Finish, HTTPError, MissingArgumentError
from ._rendering import _RenderingMixin

if TYPE_CHECKING:
    from ._application import Application
    from ._transforms import OutputTransform

__all__ = ["RequestHandler"]

from ._support import (
    _ARGUMENT_CONTROLS,
    _ERROR_PAGE,
    _ETAG_ITEM,
    _HTML,
    _JSON,
    _REQUIRED,
    _SERVER_NAME,
    _STATUS_LINES,
    _VERB_ATTRIBUTES,
    _header_text,
    _http_date_now,
    _is_awaitable,
    _spawn,
    _unimplemented_method,
)


class RequestHandler(_CookieMixin, _RenderingMixin):
    """Base class for the handlers an :class:`~squall.web.Application` routes to.

    Subclasses define ``get``, ``post`` (and so on) for the methods they
    serve; a method may be a plain function, an ``async def`` coroutine, or
    return any other awaitable.  Positional and keyword arguments of the verb
    method come from the groups of the matched URL pattern, percent-decoded.

    The lifecycle, for each request: a new handler, :meth:`initialize` with
    the keyword arguments of the URL spec, :meth:`prepare`, the verb method,
    then :meth:`on_finish` once the response is sent.  The response finishes
    by itself when the verb method returns (or its awaitable completes),
    unless the method is decorated with :func:`squall.web.asynchronous`.
    """

    #: Methods this handler answers at all; anything else is a 405.
    SUPPORTED_METHODS: tuple[str, ...] = (
        "GET",
        "HEAD",
        "POST",
        "DELETE",
        "PATCH",
        "PUT",
        "OPTIONS",
    )

    # Verbs a subclass has not written answer 405.
    get: Callable[..., Any] = _unimplemented_method
    head: Callable[..., Any] = _unimplemented_method
    post: Callable[..., Any] = _unimplemented_method
    delete: Callable[..., Any] = _unimplemented_method
    patch: Callable[..., Any] = _unimplemented_method
    put: Callable[..., Any] = _unimplemented_method
    options: Callable[..., Any] = _unimplemented_method

    path_args: list[Any]
    path_kwargs: dict[str, Any]

    # Set by @stream_request_body: the body goes to data_received piece by piece.
    _stream_request_body = False

    def __init__(self, application: Application, request: HTTPServerRequest, **kwargs: Any) -> None:
        self.application, self.request = application, request
        self.path_args, self.path_kwargs = [], {}
        # Set by the first flush; then status and headers can no longer change.
        self._head_sent = self._finished = False
        self._auto_finish = True
        self._transforms: list[OutputTransform] | None = None
        self._new_cookie = None  # the jar of set_cookie (see _cookies)
        self.clear()
        # An empty ** costs more than the call itself.
        if kwargs:
            self.initialize(**kwargs)
        else:
            self.initialize()

    # -- hooks for subclasses ---------------------------------------------------

    def initialize(self, **kwargs: Any) -> None:
        """Receive the third element of the URL spec (a dict) as keyword arguments.

        Typically stores them on ``self``; it must not write output.
        """

    def prepare(self) -> Awaitable[None] | None:
        """Called before the verb method, whatever the verb; may finish the request.

        May be a coroutine (or return an awaitable): the verb method then
        waits for it.
        """
        return None

    def on_finish(self) -> None:
        """Called after the response has been sent (for cleanup and logging)."""

    def on_connection_close(self) -> None:
        """Called when the client goes away before the response is finished.

        Long-polling handlers override this to stop waiting.  Closing is only
        noticed while the connection is watched: it may come late or (behind
        some proxies) not at all.
        """

    def data_received(self, chunk: bytes) -> Awaitable[None] | None:
        """Receive a piece of the body (handlers decorated with :func:`~squall.web.stream_request_body`).

        May return an awaitable: the connection reads no more until it is done.
        """
        raise NotImplementedError(f"{type(self).__name__} must implement data_received()")

    @property
    def settings(self) -> dict[str, Any]:
        """The application's settings (``self.application.settings``)."""
        return self.application.settings

    # -- building the response: status and headers -------------------------------

    def clear(self) -> None:
        """Throw away the headers and body built so far and restore the defaults."""
        self._chunks: list[bytes] = []
        self._status_code, self._reason = 200, "OK"
        self._headers = _headers_from_dicts(
            {"Server": _SERVER_NAME, "Content-Type": _HTML, "Date": _http_date_now()}, {}
        )
        self.set_default_headers()

    def set_default_headers(self) -> None:
        """Hook to set headers every response of this handler starts with (errors included)."""

    def set_status(self, status_code: int, reason: str | None = None) -> None:
        """Set the response status; ``reason`` defaults to the standard phrase ("Unknown" if none)."""
        self._status_code = status_code
        self._reason = reason if reason is not None else responses.get(status_code, "Unknown")

    def get_status(self) -> int:
        """The response status code set so far."""
        return self._status_code

    def set_header(self, name: str, value: Any) -> None:
        """Set response header ``name`` to ``value``, replacing earlier values.

        ``value`` may be a str, bytes (latin-1), an integer or a
        :class:`datetime.datetime` (sent as an HTTP date).  Text holding a
        control character (such as CR or LF) raises :class:`ValueError`.
        """
        self._headers[name] = _header_text(value)

    def add_header(self, name: str, value: Any) -> None:
        """Add another value for header ``name`` (for repeatable headers such as ``Link``)."""
        self._headers.add(name, _header_text(value))

    def clear_header(self, name: str) -> None:
        """Remove header ``name`` (undoing :meth:`set_header`); absent headers are ignored."""
        self._headers.pop(name, None)

    # -- reading the request --------------------------------------------------------

    def decode_argument(self, value: bytes, name: str | None = None) -> str:
        """Turn a raw argument (or path group) into text; override for another encoding.

        Undecodable UTF-8 is a 400.  ``name`` is the argument's name (``None``
        for path groups).
        """
        raw: Any = value
        if not isinstance(raw, bytes):
            return raw  # type: ignore[no-any-return]  # None (an unmatched group) or text already
        try:
            return raw.decode("utf-8")
        except UnicodeDecodeError:
            where = name if name is not None else "url"
            raise HTTPError(400, "Invalid unicode in %s: %r", where, raw[:40]) from None

    def _values_of(self, name: str, source: dict[str, list[bytes]], strip: bool) -> list[str]:
        found = []
        for raw in source.get(name, ()):
            text = self.decode_argument(raw, name=name)
            if isinstance(text, str):
                text = _ARGUMENT_CONTROLS.sub(" ", text)
                if strip:
                    text = text.strip()
            found.append(text)
        return found

    def _one_value(
        self, name: str, default: Any, source: dict[str, list[bytes]], strip: bool
    ) -> Any:
        found = self._values_of(name, source, strip)
        if found:
            return found[-1]
        if default is _REQUIRED:
            raise MissingArgumentError(name)
        return default

    def get_argument(self, name: str, default: Any = _REQUIRED, strip: bool = True) -> Any:
        """The last value of argument ``name`` from the query or the form body.

        Without ``default`` a missing argument raises
        :class:`MissingArgumentError` (a 400).  Values are decoded with
        :meth:`decode_argument`, control characters become spaces and, with
        ``strip``, surrounding whitespace is removed.
        """
        return self._one_value(name, default, self.request.arguments, strip)

    def get_arguments(self, name: str, strip: bool = True) -> list[str]:
        """Every value of argument ``name`` (query and form body), possibly none."""
        return self._values_of(name, self.request.arguments, strip)

    def get_body_argument(self, name: str, default: Any = _REQUIRED, strip: bool = True) -> Any:
        """Like :meth:`get_argument`, looking only at the form body."""
        return self._one_value(name, default, self.request.body_arguments, strip)

    def get_body_arguments(self, name: str, strip: bool = True) -> list[str]:
        """Like :meth:`get_arguments`, looking only at the form body."""
        return self._values_of(name, self.request.body_arguments, strip)

    def get_query_argument(self, name: str, default: Any = _REQUIRED, strip: bool = True) -> Any:
        """Like :meth:`get_argument`, looking only at the query string."""
        return self._one_value(name, default, self.request.query_arguments, strip)

    def get_query_arguments(self, name: str, strip: bool = True) -> list[str]:
        """Like :meth:`get_arguments`, looking only at the query string."""
        return self._values_of(name, self.request.query_arguments, strip)

    # -- writing the body -----------------------------------------------------------

    def write(self, chunk: str | bytes | dict[str, Any]) -> None:
        """Add ``chunk`` to the response body (sent at :meth:`flush` or :meth:`finish`).

        Text is encoded as UTF-8; a dict is sent as JSON with
        ``Content-Type: application/json``.  Lists are refused
        (:class:`TypeError`): a top-level JSON array can leak data to other
        sites in old browsers; wrap it in a dict.
        """
        if self._finished:
            raise RuntimeError("write() after finish()")
        given: Any = chunk
        if isinstance(given, str):
            self._chunks.append(given.encode("utf-8"))
            return
        if isinstance(given, bytes):
            self._chunks.append(given)
            return
        if isinstance(given, dict):
            self.set_header("Content-Type", _JSON)
            self._chunks.append(escape.json_encode(given).encode("utf-8"))
            return
        problem = f"write() takes bytes, str or dict, not {type(given).__name__}"
        if isinstance(given, list):
            problem += " (a JSON list at the top level is unsafe: wrap it in a dict)"
        raise TypeError(problem)

    def _make_transforms(self) -> list[OutputTransform]:
        made = self._transforms
        if made is None:
            request = self.request
            made = self._transforms = [kind(request) for kind in self.application.transforms]
        return made

    def _send_head(self, chunk: bytes, finishing: bool) -> asyncio.Future[None]:
        self._head_sent = True
        status = self._status_code
        headers = self._headers
        transforms = self._transforms
        if transforms is None and self.application.transforms:
            transforms = self._make_transforms()
        if transforms:
            for transform in transforms:
                status, headers, chunk = transform.transform_first_chunk(
                    status, headers, chunk, finishing
                )
        jar = self._new_cookie
        if jar:
            for morsel in jar.values():
                headers.add("Set-Cookie", morsel.OutputString(None))
        reason = self._reason
        start = _STATUS_LINES.get(status)
        if start is None or start.reason != reason:
            start = ResponseStartLine("HTTP/1.1", status, reason)
        return self.request.connection.write_headers(start, headers, chunk or None)  # type: ignore[no-any-return]

    def flush(self, include_footers: bool = False) -> asyncio.Future[None]:
        """Send what has been written so far; returns a Future resolved once it is sent.

        The first flush sends the status and headers too (the body is then
        streamed, chunked on HTTP/1.1).
        """
        return self._emit(include_footers)

    def _emit(self, final: bool) -> asyncio.Future[None]:
        pending = self._chunks
        body = pending[0] if len(pending) == 1 else b"".join(pending)
        self._chunks = []
        if not self._head_sent:
            return self._send_head(body, final)
        for transform in self._make_transforms():
            body = transform.transform_chunk(body, final)
        connection = self.request.connection
        if body and self.request.method != "HEAD":
            return connection.write(body)  # type: ignore[no-any-return]
        nothing: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        nothing.set_result(None)
        return nothing

    def finish(self, chunk: str | bytes | dict[str, Any] | None = None) -> asyncio.Future[None]:
        """End the response: send the rest (``chunk`` first, if given) and close the exchange.

        For a GET or HEAD answered with 200 an ``Etag`` is computed and a
        matching ``If-None-Match`` turns the answer into a 304.  Returns a
        Future resolved once the data is sent.  A second call raises
        :class:`RuntimeError`.
        """
        if self._finished:
            raise RuntimeError("finish() was already called for this request")
        if chunk is not None:
            self.write(chunk)
        if self._head_sent:
            sent = self._emit(final=True)
        else:
            sent = self._send_head(self._settle_body(), True)
        request = self.request
        request.connection.finish()
        request._finish_time = time.time()
        self._finished = True
        self.application.log_request(self)
        self.on_finish()
        return sent

    def _settle_body(self) -> bytes:
        """Last touches before the one write (Etag and 304, or Content-Length); returns the body."""
        status = self._status_code
        # Our own headers object: its keys are canonical already.
        fields = self._headers._joined
        if status == 200 and self.request.method in ("GET", "HEAD") and "Etag" not in fields:
            tag = self.compute_etag()
            if tag is not None:
                fields["Etag"] = tag
                if self.check_etag_header():
                    del self._chunks[:]
                    status = self._status_code = 304
                    self._reason = "Not Modified"
        pending = self._chunks
        self._chunks = []
        if status in (204, 304) or 100 <= status < 200:
            if pending:
                raise RuntimeError(f"a {status} response cannot have a body")
            headers = self._headers
            for name in ("Content-Encoding", "Content-Language", "Content-Type"):
                if name in fields:
                    del headers[name]
            return b""
        body = pending[0] if len(pending) == 1 else b"".join(pending)
        if "Content-Length" not in fields:
            fields["Content-Length"] = str(len(body))
        return body

    def detach(self) -> Any:
        """Take over the connection: returns its IOStream and ends HTTP handling for it.

        Only on connections that support it (``request.connection.detach()``).
        """
        self._finished = True
        return self.request.connection.detach()

    def redirect(self, url: str, permanent: bool = False, status: int | None = None) -> None:
        """Answer with a redirect to ``url`` (302, or 301 when ``permanent``, or ``status``)."""
        code = (301 if permanent else 302) if status is None else status
        if not 300 <= code < 400:
            raise ValueError(f"a redirect status is 3xx, not {code}")
        if self._head_sent:
            raise RuntimeError("redirect() after the response headers went out")
        self.set_status(code)
        # Non-ASCII URLs travel as UTF-8 bytes (a header is latin-1 text).
        self._headers["Location"] = _header_text(escape.utf8(url))
        self.finish()

    # -- errors ---------------------------------------------------------------------------

    def send_error(self, status_code: int = 500, **kwargs: Any) -> None:
        """Answer with an error page for ``status_code`` (built by :meth:`write_error`).

        Whatever was written is discarded.  After the headers have gone out
        nothing can be changed: the response is ended as it is.
        """
        if self._head_sent:
            gen_log.error("Error %d after the headers went out: ending the response", status_code)
            self._end_partial()
            return
        self.clear()
        triple = kwargs.get("exc_info")
        failure = triple[1] if triple else None
        phrase = failure.reason if isinstance(failure, HTTPError) else None
        self.set_status(status_code, phrase or kwargs.get("reason"))
        if status_code == 405:
            self._headers["Allow"] = ", ".join(self._allowed_methods())
        try:
            self.write_error(status_code, **kwargs)
        except Exception:
            app_log.error("write_error() failed for %d", status_code, exc_info=True)
        if not self._finished:
            self.finish()

    def _end_partial(self) -> None:
        if self._finished:
            return
        try:
            self.finish()
        except Exception:
            gen_log.error("Could not end the partial response", exc_info=True)

    def _allowed_methods(self) -> list[str]:
        kind = type(self)
        return [
            verb
            for verb in self.SUPPORTED_METHODS
            if getattr(kind, verb.lower(), _unimplemented_method) is not _unimplemented_method
        ]

    def write_error(self, status_code: int, **kwargs: Any) -> None:
        """Write the error page; override for your own.

        ``kwargs`` may hold ``exc_info`` (the exception triple) when an
        exception caused the error.  With the ``serve_traceback`` setting (or
        ``debug``) the page is the traceback as plain text.  A handler that
        defines the classic ``get_error_html(status_code, exception=None,
        **kwargs)`` gets its return value used as the page.
        """
        exc_info = kwargs.get("exc_info")
        classic = getattr(self, "get_error_html", None)
        if classic is not None:
            extra = {key: val for key, val in kwargs.items() if key != "exc_info"}
            failure = exc_info[1] if exc_info is not None else None
            self.finish(classic(status_code, exception=failure, **extra))
            return
        if exc_info is not None and self.application.settings.get("serve_traceback"):
            self.set_header("Content-Type", "text/plain")
            for line in traceback.format_exception(*exc_info):
                self.write(line)
            self.finish()
            return
        self.finish(_ERROR_PAGE.format(status_code, self._reason))

    def log_exception(
        self,
        typ: type[BaseException] | None,
        value: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        """Log an exception that escaped the handler; override to change how.

        An :class:`HTTPError` logs its ``log_message`` (if any) as a warning,
        without a traceback; anything else is an error with its traceback.
        """
        if isinstance(value, HTTPError):
            message = value.log_message
            if message:
                if not value.args:
                    message = message.replace("%", "%%")
                gen_log.warning(
                    "%d %s: " + message, value.status_code, self._request_summary(), *value.args
                )
            return
        app_log.error(
            "Uncaught exception %s\n%r",
            self._request_summary(),
            self.request,
            exc_info=(typ, value, tb),  # type: ignore[arg-type]
        )

    def _request_summary(self) -> str:
        request = self.request
        return f"{request.method} {request.uri} ({request.remote_ip})"

    def _handle_request_exception(self, exc: BaseException) -> None:
        if isinstance(exc, Finish):
            if not self._finished:
                self.finish(*exc.args)
            return
        triple = (type(exc), exc, exc.__traceback__)
        try:
            self.log_exception(*triple)
        except Exception:
            app_log.error("log_exception failed", exc_info=True)
        if self._finished:
            return
        status = exc.status_code if isinstance(exc, HTTPError) else 500
        self.send_error(status, exc_info=triple)

    # -- users, login, locale ---------------------------------------------------------------

    def get_current_user(self) -> Any:
        """Override to say who made the request (from a cookie, say); ``None`` means nobody."""
        return None

    @property
    def current_user(self) -> Any:
        """The user of this request (:meth:`get_current_user`, asked once, or what was assigned)."""
        try:
            return self.__dict__["_current_user"]
        except KeyError:
            user = self._current_user = self.get_current_user()
            return user

    @current_user.setter
    def current_user(self, value: Any) -> None:
        self._current_user = value

    def get_login_url(self) -> str:
        """Where :func:`~squall.web.authenticated` sends anonymous users (the ``login_url`` setting)."""
        self.require_setting("login_url", "@squall.web.authenticated")
        return self.application.settings["login_url"]  # type: ignore[no-any-return]

    def get_template_path(self) -> str | None:
        """The template directory (the ``template_path`` setting; ``None``: next to the caller)."""
        return self.application.settings.get("template_path")

    def get_user_locale(self) -> Locale | None:
        """Override to pick the user's locale; ``None`` falls back to ``Accept-Language``."""
        return None

    def get_browser_locale(self, default: str = "en_US") -> Locale:
        """The best supported locale for the request's ``Accept-Language`` header, else ``default``."""
        codes = _locales.parse_accept_language(self.request.headers.get("Accept-Language"))
        if codes:
            return _locales.get(*codes)
        return _locales.get(default)

    @property
    def locale(self) -> Locale:
        """The locale of this request (:meth:`get_user_locale`, else the browser's)."""
        try:
            return self.__dict__["_locale"]  # type: ignore[no-any-return]
        except KeyError:
            chosen = self.get_user_locale() or self.get_browser_locale()
            self._locale = chosen
            return chosen

    @locale.setter
    def locale(self, value: Locale) -> None:
        self._locale = value

    # -- URLs ------------------------------------------------------------------------------

    def require_setting(self, name: str, feature: str = "this feature") -> None:
        """Raise unless the application has setting ``name`` (which ``feature`` needs)."""
        if not self.application.settings.get(name):
            raise Exception(
                f"You must define the '{name}' setting in your application to use {feature}"
            )

    def reverse_url(self, name: str, *args: Any) -> str:
        """The application's :meth:`~squall.web.Application.reverse_url`."""
        return self.application.reverse_url(name, *args)

    def static_url(self, path: str, include_host: bool | None = None, **kwargs: Any) -> str:
        """The URL of static file ``path``, versioned (``?v=<hash>``) for far-future caching.

        Needs the ``static_path`` setting. ``include_host`` (default: the
        handler's ``include_host`` attribute, else False) makes it absolute.
        Other keyword arguments go to the static handler's ``make_static_url``.
        """
        settings = self.application.settings
        self.require_setting("static_path", "static_url")
        server = settings.get("static_handler_class")
        if server is None:
            from ._static import StaticFileHandler

            server = StaticFileHandler
        relative: str = server.make_static_url(settings, path, **kwargs)
        absolute = getattr(self, "include_host", False) if include_host is None else include_host
        if not absolute:
            return relative
        request = self.request
        return f"{request.protocol}://{request.host}{relative}"

    # -- entity tags -----------------------------------------------------------------------

    def compute_etag(self) -> str | None:
        """The ``Etag`` for the body written so far (a SHA-1 digest); ``None`` for none."""
        pieces = self._chunks
        if len(pieces) == 1:
            return f'"{hashlib.sha1(pieces[0]).hexdigest()}"'
        digest = hashlib.sha1()
        for piece in pieces:
            digest.update(piece)
        return f'"{digest.hexdigest()}"'

    def set_etag_header(self) -> None:
        """Set the ``Etag`` header from :meth:`compute_etag` (if it gives one)."""
        tag = self.compute_etag()
        if tag is not None:
            self.set_header("Etag", tag)

    def check_etag_header(self) -> bool:
        """Whether the request's ``If-None-Match`` matches the response's ``Etag`` (weakly)."""
        wanted = self.request.headers.get("If-None-Match")
        if not wanted:
            return False
        ours = self._headers.get("Etag")
        if not ours:
            return False
        tags = _ETAG_ITEM.findall(escape.utf8(wanted))
        if not tags:
            return False
        if tags[0] == b"*":
            return True
        mine = escape.utf8(ours)
        mine = mine[2:] if mine.startswith(b"W/") else mine
        return any((tag[2:] if tag.startswith(b"W/") else tag) == mine for tag in tags)

    # -- the drive (called by squall.web._dispatch) -----------------------------------------

    def _execute(
        self,
        transforms: list[OutputTransform] | None,
        args: Iterable[bytes],
        kwargs: Mapping[str, bytes],
    ) -> asyncio.Future[Any] | None:
        """Run the whole request: checks, prepare, the verb method, auto-finish.

        ``args`` and ``kwargs`` are the raw path groups. Returns ``None``
        when it all ran synchronously, else the task that carries on.
        """
        pending = self._enter(transforms, args, kwargs)
        if pending is not None:
            return _spawn(self._respond_after(pending))
        return self._respond()

    def _enter(
        self,
        transforms: list[OutputTransform] | None,
        args: Iterable[Any],
        kwargs: Mapping[str, Any],
    ) -> Awaitable[Any] | None:
        """Checks and ``prepare()``; returns an awaitable when ``prepare`` went asynchronous."""
        if transforms is not None:
            self._transforms = transforms
        try:
            method = self.request.method
            if method not in self.SUPPORTED_METHODS:
                raise HTTPError(405)
            if args:
                self.path_args = [self.decode_argument(arg) for arg in args]
            if kwargs:
                self.path_kwargs = {
                    key: self.decode_argument(val, name=key) for key, val in kwargs.items()
                }
            if self.application.settings.get("xsrf_cookies"):
                if method in ("GET", "HEAD", "OPTIONS"):
                    if self.get_cookie("_xsrf") is None:
                        self.xsrf_token  # noqa: B018 (sets the cookie for everyone)
                else:
                    self.check_xsrf_cookie()
            outcome = self.prepare()
        except Exception as exc:
            self._handle_request_exception(exc)
            return None
        if outcome is not None and _is_awaitable(outcome):
            return self._guarded(outcome)
        return None

    async def _guarded(self, outcome: Awaitable[Any]) -> None:
        try:
            await outcome
        except Exception as exc:
            self._handle_request_exception(exc)

    async def _respond_after(self, pending: Awaitable[Any]) -> None:
        await pending
        follow = self._respond()
        if follow is not None:
            await follow

    def _respond(self) -> asyncio.Future[Any] | None:
        """Call the verb method; finish unless it went asynchronous or opted out."""
        if self._finished:
            return None
        try:
            method: Any = self.request.method
            verb = getattr(self, _VERB_ATTRIBUTES.get(method) or method.lower())
            args, kwargs = self.path_args, self.path_kwargs
            outcome = verb(*args, **kwargs) if args or kwargs else verb()
            if outcome is not None and _is_awaitable(outcome):
                return _spawn(self._finish_after(outcome))
            if self._auto_finish and not self._finished:
                self.finish()
        except Exception as exc:
            self._handle_request_exception(exc)
        return None

    async def _finish_after(self, outcome: Awaitable[Any]) -> None:
        try:
            await outcome
            if self._auto_finish and not self._finished:
                self.finish()
        except Exception as exc:
            self._handle_request_exception(exc)
