"""The response object (:class:`HTTPResponse`) and :class:`HTTPClientError`."""

from __future__ import annotations

from io import BytesIO
from typing import TYPE_CHECKING

from squall.httputil import HTTPHeaders, responses

if TYPE_CHECKING:
    from ._request import HTTPRequest

__all__ = ["HTTPClientError", "HTTPError", "HTTPResponse"]


class HTTPClientError(Exception):
    """A fetch failed: a non-2xx status (``code`` is that status) or 599 for no answer.

    ``code`` is the status; 599 means no HTTP status arrived at all (timeout,
    connection closed or reset, malformed response, TLS failure).  ``message``
    says what happened (the reason phrase for a status error) and
    ``response`` is the :class:`HTTPResponse`, when there is one.  Known as
    ``HTTPError`` too (Tornado's older name).
    """

    def __init__(
        self, code: int, message: str | None = None, response: HTTPResponse | None = None
    ) -> None:
        super().__init__(code, message, response)
        self.code, self.response = code, response
        self.message = responses.get(code, "Unknown") if message is None else message

    def __str__(self) -> str:
        return f"HTTP {self.code}: {self.message}"

    # Exceptions pickled or copied keep their text.
    __repr__ = __str__


#: Older name of :class:`HTTPClientError`, kept for code written against it.
HTTPError = HTTPClientError


class HTTPResponse:
    """What a fetch produced: status, headers, body, timings and any error.

    ``code`` and ``reason`` (the server's phrase, or the standard one),
    ``headers`` (:class:`~squall.httputil.HTTPHeaders`), ``body`` (bytes) and
    ``buffer`` (the same as a file-like object), ``effective_url`` (the URL
    after redirects), ``request`` (the request that produced it: the last
    one when redirects were followed), ``error`` (an exception, or ``None``;
    a status outside 200-299 sets it to an :class:`HTTPClientError`),
    ``request_time`` (seconds from the request's creation to the end),
    ``start_time`` (wall clock when the request was made) and ``time_info``
    (a dict of timings, filled by the curl client).
    """

    __slots__ = (
        "_body",
        "_buffer",
        "code",
        "effective_url",
        "error",
        "headers",
        "reason",
        "request",
        "request_time",
        "start_time",
        "time_info",
    )

    _body: bytes | None
    _buffer: BytesIO | None
    error: BaseException | None

    def __init__(
        self,
        request: HTTPRequest,
        code: int,
        headers: HTTPHeaders | None = None,
        buffer: BytesIO | None = None,
        effective_url: str | None = None,
        error: BaseException | None = None,
        request_time: float | None = None,
        time_info: dict[str, float] | None = None,
        reason: str | None = None,
        start_time: float | None = None,
    ) -> None:
        if error is None and not 200 <= code < 300:
            error = HTTPClientError(code, message=reason, response=self)
        self.error = error
        self.code, self.request, self.start_time = code, request, start_time
        self.reason = reason or responses.get(code, "Unknown")
        self.effective_url = effective_url or request.url
        self.headers = HTTPHeaders() if headers is None else headers
        self.request_time, self.time_info = request_time, time_info or {}
        self._buffer, self._body = buffer, None

    @classmethod
    def _of_bytes(
        cls,
        request: HTTPRequest,
        code: int,
        body: bytes,
        headers: HTTPHeaders,
        reason: str | None,
        effective_url: str,
        request_time: float,
        start_time: float | None,
    ) -> HTTPResponse:
        """A response holding ``body`` directly (no :class:`BytesIO` made unless asked for)."""
        made = object.__new__(cls)
        made.code, made.request, made.headers, made.effective_url = (
            code,
            request,
            headers,
            effective_url,
        )
        made.reason = reason or responses.get(code, "Unknown")
        made.request_time, made.start_time, made.time_info = request_time, start_time, {}
        made._buffer, made._body = None, body
        made.error = None if 200 <= code < 300 else HTTPClientError(code, reason, made)
        return made

    @property
    def buffer(self) -> BytesIO | None:
        """The body as a file-like object (``None`` when there is none)."""
        if self._buffer is None and self._body is not None:
            self._buffer = BytesIO(self._body)
        return self._buffer

    @buffer.setter
    def buffer(self, value: BytesIO | None) -> None:
        self._buffer = value
        self._body = None

    @property
    def body(self) -> bytes:
        """The body as bytes (``b""`` when there is none)."""
        if self._body is None:
            self._body = b"" if self._buffer is None else self._buffer.getvalue()
        return self._body

    def rethrow(self) -> None:
        """Raise :attr:`error` if there is one; otherwise do nothing."""
        if self.error is not None:
            raise self.error

    def __repr__(self) -> str:
        return f"HTTPResponse(code={self.code}, reason={self.reason!r}, url={self.effective_url!r})"
