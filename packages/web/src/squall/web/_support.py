"""Module-level helpers of :mod:`squall.web._handler`: response constants, the
cached Date text and status lines, header value conversion, verb lookup.
"""

from __future__ import annotations

import asyncio
import datetime
import numbers
import re
import time
from collections.abc import Callable, Coroutine
from typing import TYPE_CHECKING, Any

from squall.escape._html import _xhtml_escape_marked
from squall.httputil import (
    ResponseStartLine,
    format_timestamp,
    responses,
)
from squall.ioloop._eager import _start_eagerly

from squall import escape

from ._errors import HTTPError

if TYPE_CHECKING:
    from ._handler import RequestHandler

__all__ = ["RequestHandler"]

_SERVER_NAME = "SquallServer/0.1.0"
_HTML = "text/html; charset=UTF-8"
_JSON = "application/json; charset=UTF-8"

# Control characters (other than tab, LF, CR) become spaces in arguments.
_ARGUMENT_CONTROLS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")
# A header value may not smuggle in another line.
_UNSAFE_HEADER = re.compile(r"[\x00-\x1f]")
# Cookie names and values may hold no control characters and no spaces.
_BAD_COOKIE_TEXT = re.compile(r"[\x00-\x20]")
_BAD_COOKIE_ATTRIBUTE = re.compile(r"[\x00-\x20;\x7f]")
# One entity tag of an If-None-Match list: "*", "x" or W/"x".
_ETAG_ITEM = re.compile(rb'\*|(?:W/)?"[^"]*"')

# Settings that become keyword arguments of the default template loader.
_LOADER_OPTIONS = {"autoescape": "autoescape", "template_whitespace": "whitespace"}

_ERROR_PAGE = "<html><title>{0}: {1}</title><body>{0}: {1}</body></html>"

# Status lines with the standard phrases, made once: building the named
# tuple costs more than looking it up.
_STATUS_LINES = {
    int(code): ResponseStartLine("HTTP/1.1", int(code), phrase)
    for code, phrase in responses.items()
}


def _linkify_marked(text: str | bytes, *args: Any, **kwargs: Any) -> escape.SafeHTML:
    """:func:`squall.escape.linkify`, its result marked as already-escaped HTML."""
    return escape.SafeHTML(escape.linkify(text, *args, **kwargs))


# Escaping helpers as templates see them: their results are marked safe, so
# templates written before autoescaping ({{ escape(x) }}) escape only once.
_MARKED_HELPERS: dict[str, Any] = {
    "escape": _xhtml_escape_marked,
    "xhtml_escape": _xhtml_escape_marked,
    "linkify": _linkify_marked,
}


class _Missing:
    """Marks "no default given" for the argument getters."""

    def __repr__(self) -> str:
        return "<required>"


_REQUIRED: Any = _Missing()

# The Date header changes once a second: format it once a second. The text
# holds for times in [_date_from, _date_until); a clock set back leaves that
# window too.
_date_from = _date_until = 0.0
_date_text = ""


def _http_date_now() -> str:
    global _date_from, _date_until, _date_text
    now = time.time()
    if now >= _date_until or now < _date_from:
        _date_from = float(int(now))
        _date_until = _date_from + 1.0
        _date_text = format_timestamp(now)
    return _date_text


# Tasks of handlers that went asynchronous: asyncio keeps only weak
# references to tasks, and a request must not vanish half-served.
_in_flight: set[asyncio.Future[Any]] = set()


def _spawn(work: Coroutine[Any, Any, Any]) -> asyncio.Future[Any] | None:
    """Run ``work`` at once; its Task if it has to wait, ``None`` if it finished."""
    task = _start_eagerly(work)
    if task is not None:
        _in_flight.add(task)
        task.add_done_callback(_in_flight.discard)
    return task


def _is_awaitable(value: object) -> bool:
    return hasattr(value, "__await__")


# The method attribute of each standard verb (no str.lower() per request).
_VERB_ATTRIBUTES = {
    verb: verb.lower() for verb in ("GET", "HEAD", "POST", "DELETE", "PATCH", "PUT", "OPTIONS")
}


def _unimplemented_method(self: RequestHandler, *args: Any, **kwargs: Any) -> None:
    raise HTTPError(405)


# How each accepted kind of header value becomes text (checked in this order).
_HEADER_FORMS: tuple[tuple[type, Callable[[Any], str]], ...] = (
    (str, str),
    (bytes, lambda raw: raw.decode("latin-1")),
    (numbers.Integral, str),
    (datetime.datetime, format_timestamp),
)


def _header_text(value: Any) -> str:
    """A header value as text: str, latin-1 bytes, integers and datetimes are accepted."""
    for kind, render in _HEADER_FORMS:
        if isinstance(value, kind):
            text = render(value)
            break
    else:
        raise TypeError(f"cannot use {value!r} as a header value")
    if _UNSAFE_HEADER.search(text) is None:
        return text
    raise ValueError(f"header value {text!r} holds a control character (CR/LF injection?)")
