"""Uploads received part by part: :class:`MultipartStreamHandler` (beyond Tornado).

Tornado buffers a whole ``multipart/form-data`` body before the handler sees
``request.files``; with ``@stream_request_body`` it hands over raw chunks and
leaves the parsing to the application. :class:`MultipartStreamHandler` sits
in between: it runs :class:`squall.httputil.MultipartParser` over the chunks
as they arrive and calls :meth:`~MultipartStreamHandler.on_part_start`,
:meth:`~MultipartStreamHandler.on_part_data` and
:meth:`~MultipartStreamHandler.on_part_end` for each uploaded file, while
plain form fields land in ``self.request.body_arguments`` as usual. An upload
of any size passes through in constant memory.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from squall.httputil import (
    MultipartData,
    MultipartError,
    MultipartEvent,
    MultipartParser,
    MultipartPart,
    MultipartPartEnd,
)

from ._decorators import stream_request_body
from ._errors import HTTPError
from ._handler import RequestHandler

__all__ = ["MultipartStreamHandler"]


def _bad_body(exc: MultipartError) -> HTTPError:
    return HTTPError(400, "bad multipart/form-data body: %s", exc)


def _after_body_check(verb: Callable[..., Any]) -> Callable[..., Any]:
    """Wrap a verb method so that it runs only after a complete multipart body."""

    @functools.wraps(verb)
    def checked(self: MultipartStreamHandler, *args: Any, **kwargs: Any) -> Any:
        self._body_complete()
        return verb(self, *args, **kwargs)

    checked._squall_multipart_checked = True  # type: ignore[attr-defined]
    return checked


@stream_request_body
class MultipartStreamHandler(RequestHandler):
    """A :class:`RequestHandler` that receives ``multipart/form-data`` uploads as they stream in.

    Subclass it and override the three callbacks; each may be a coroutine
    (``async def``), and while one is pending no more of the body is read, so
    a slow consumer slows the sender down instead of filling memory::

        class UploadHandler(MultipartStreamHandler):
            max_body_size = 10 * 1024**3  # allow 10 GB uploads

            def on_part_start(self, part):
                self.sink = open(os.path.join(UPLOADS, uuid.uuid4().hex), "wb")

            def on_part_data(self, part, data):
                self.sink.write(data)

            def on_part_end(self, part):
                self.sink.close()

            def post(self):
                self.write({"title": self.get_body_argument("title")})

    The callbacks see file parts only, those whose ``Content-Disposition``
    has a ``filename`` (see :class:`~squall.httputil.MultipartPart` for
    ``name``, ``filename``, ``content_type`` and ``headers``). Plain fields
    are collected, each up to :attr:`max_field_size` bytes, into
    ``self.request.body_arguments`` (so ``get_body_argument`` and
    ``get_argument`` find them). ``request.body`` and ``request.files``
    stay empty.

    The verb methods a subclass defines (``post``, ``put``, ...) run once
    the body is complete; a body that is not well-formed multipart (wrong
    ``Content-Type``, bad part headers, a missing close delimiter, too many
    parts, a field too large) is answered with 400 and the reason is logged.
    A request with no multipart ``Content-Type`` and no body (say, a GET of
    the upload form) runs its verb normally. Release whatever the callbacks
    opened in ``on_finish`` or ``on_connection_close`` when an upload can
    stop half way. ``prepare`` runs before any of the body, as with every
    ``@stream_request_body`` handler.

    With the ``xsrf_cookies`` setting on, the XSRF check runs in ``prepare``
    too, before a byte of the body is read: an ``_xsrf`` *form field* comes
    too late. Send the token in the ``X-XSRFToken`` header (a script does:
    ``xhr.setRequestHeader("X-XSRFToken", token)``) or as an ``_xsrf`` query
    argument of the form's ``action`` URL.
    """

    max_body_size: int | None = None
    """When set, the body limit of this request's connection (in bytes); else the server's."""
    max_parts: int = 1000
    """Most parts (fields and files) one body may have."""
    max_part_header_size: int = 16384
    """Largest header block of one part, in bytes."""
    max_field_size: int = 64 * 1024
    """Largest plain (non-file) field value kept in ``body_arguments``, in bytes."""

    _parser: MultipartParser | None = None
    _current: MultipartPart | None = None
    _field: list[bytes] | None = None
    _field_size = 0

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        for method in cls.SUPPORTED_METHODS:
            verb = cls.__dict__.get(method.lower())
            if callable(verb) and not getattr(verb, "_squall_multipart_checked", False):
                setattr(cls, method.lower(), _after_body_check(verb))

    def __init__(self, application: Any, request: Any, **kwargs: Any) -> None:
        super().__init__(application, request, **kwargs)
        if self.max_body_size is not None:
            widen = getattr(request.connection, "set_max_body_size", None)
            if widen is not None:
                widen(self.max_body_size)

    # -- the callbacks -----------------------------------------------------------------------

    def on_part_start(self, part: MultipartPart) -> Awaitable[None] | None:
        """A file part begins; its headers are in ``part``. Does nothing by default."""
        return None

    def on_part_data(self, part: MultipartPart, data: bytes) -> Awaitable[None] | None:
        """The next piece (never empty) of ``part``'s content. Drops it by default."""
        return None

    def on_part_end(self, part: MultipartPart) -> Awaitable[None] | None:
        """``part``'s content is complete. Does nothing by default."""
        return None

    # -- the machinery -----------------------------------------------------------------------

    def _make_parser(self) -> MultipartParser:
        content_type = self.request.headers.get("Content-Type", "")
        try:
            parser = MultipartParser.from_content_type(
                content_type,
                max_header_size=self.max_part_header_size,
                max_parts=self.max_parts,
            )
        except MultipartError as exc:
            raise _bad_body(exc) from None
        self._parser = parser
        return parser

    def data_received(self, chunk: bytes) -> Awaitable[None] | None:
        """Parse the next chunk of the body and call the callbacks it completes."""
        parser = self._parser or self._make_parser()
        try:
            events = parser.feed(chunk)
        except MultipartError as exc:
            raise _bad_body(exc) from None
        return self._deliver(events)

    def _deliver(self, events: Sequence[MultipartEvent]) -> Awaitable[None] | None:
        for index, event in enumerate(events):
            outcome = self._route(event)
            if outcome is not None and inspect.isawaitable(outcome):
                return self._deliver_later(outcome, events, index + 1)
        return None

    async def _deliver_later(
        self, pending: Awaitable[None], events: Sequence[MultipartEvent], index: int
    ) -> None:
        try:
            await pending
            for event in events[index:]:
                outcome = self._route(event)
                if outcome is not None and inspect.isawaitable(outcome):
                    await outcome
        except Exception as exc:
            self._handle_request_exception(exc)

    def _route(self, event: MultipartEvent) -> Any:
        if isinstance(event, MultipartData):
            field = self._field
            if field is None:
                assert self._current is not None
                return self.on_part_data(self._current, event.data)
            self._field_size += len(event.data)
            if self._field_size > self.max_field_size:
                raise HTTPError(400, "multipart field larger than %d bytes", self.max_field_size)
            field.append(event.data)
        elif isinstance(event, MultipartPart):
            self._current = event
            if event.filename is not None:
                return self.on_part_start(event)
            self._field = []
            self._field_size = 0
        elif isinstance(event, MultipartPartEnd):
            field = self._field
            if field is None:
                return self.on_part_end(event.part)
            self._field = None
            self._keep_field(event.part.name, b"".join(field))
        return None

    def _keep_field(self, name: str, value: bytes) -> None:
        request = self.request
        request.body_arguments.setdefault(name, []).append(value)
        if "arguments" in vars(request):  # already derived from the query: keep it current
            request.arguments.setdefault(name, []).append(value)

    def _body_complete(self) -> None:
        """Raise 400 unless the body was a complete multipart message (or there was none)."""
        parser = self._parser
        if parser is None:
            content_type = self.request.headers.get("Content-Type", "")
            if not content_type.lower().startswith("multipart/"):
                return
            parser = self._make_parser()
        try:
            parser.finish()
        except MultipartError as exc:
            raise _bad_body(exc) from None
