"""The exceptions a request handler raises to steer its response.

:class:`HTTPError` ends the request with an error page, :class:`Finish`
ends it with whatever was written so far, and :class:`MissingArgumentError`
is the 400 that :meth:`~squall.web.RequestHandler.get_argument` raises.
"""

from __future__ import annotations

from typing import Any

from squall.httputil import responses

__all__ = ["Finish", "HTTPError", "MissingArgumentError"]


class HTTPError(Exception):
    """Raise to answer the request with ``status_code`` and the handler's error page.

    :param status_code: the HTTP status (``500`` by default).
    :param log_message: logged (at WARNING) instead of shown to the client;
        formatted with ``args`` when there are any, so it may contain ``%``
        placeholders.
    :param reason: the reason phrase of the status line; by default the
        standard one for ``status_code`` (``"Unknown"`` for other codes).
        Required in practice for codes without a standard phrase.
    """

    def __init__(
        self,
        status_code: int = 500,
        log_message: str | None = None,
        *args: Any,
        **kwargs: Any,
    ) -> None:
        self.status_code = status_code
        self.log_message = log_message
        self.args = args
        self.reason: str | None = kwargs.get("reason")

    def _detail(self) -> str | None:
        """``log_message`` with ``args`` filled in (untouched when there are none)."""
        message = self.log_message
        if message is None or not self.args:
            return message
        return message % self.args

    def __str__(self) -> str:
        phrase = self.reason or responses.get(self.status_code, "Unknown")
        text = f"HTTP {self.status_code:d}: {phrase}"
        detail = self._detail()
        if detail:
            text = f"{text} ({detail})"
        return text


class Finish(Exception):
    """Raise to end the request without an error page.

    Unlike :class:`HTTPError` the response is what the handler has built so
    far (status, headers, body); ``raise Finish(chunk)`` writes ``chunk``
    first, as :meth:`~squall.web.RequestHandler.finish` would.
    """


class MissingArgumentError(HTTPError):
    """A required argument is absent: a 400 whose message names it (``arg_name``)."""

    def __init__(self, arg_name: str) -> None:
        super().__init__(400, f"Missing argument {arg_name}")
        self.arg_name = arg_name
