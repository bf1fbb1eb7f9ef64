"""The events an :class:`~squall.http1connection._codec.H1Reader` hands out."""

from __future__ import annotations

from typing import NamedTuple

from squall.httputil._errors import HTTPInputError
from squall.httputil._headers import HTTPHeaders
from squall.httputil._startline import RequestStartLine, ResponseStartLine

__all__ = ["NEED_DATA", "Data", "EndOfMessage", "H1ProtocolError", "Head"]


# Events are NamedTuples: immutable, no per-instance dict, and the cheapest
# immutable object to build in pure Python (one per message on the hot path).


class Head(NamedTuple):
    """The start line and header fields of a message."""

    start_line: RequestStartLine | ResponseStartLine
    headers: HTTPHeaders


class Data(NamedTuple):
    """A piece of body, de-chunked; never empty."""

    data: bytes


class EndOfMessage(NamedTuple):
    """The body is complete; ``trailers`` holds chunked trailer fields, if any."""

    trailers: HTTPHeaders | None = None


class _NeedData:
    __slots__ = ()

    def __repr__(self) -> str:
        return "NEED_DATA"

    def __reduce__(self) -> str:
        return "NEED_DATA"


#: Returned by ``next_event`` when the reader must be fed more bytes first.
NEED_DATA = _NeedData()


class H1ProtocolError(HTTPInputError):
    """The peer broke HTTP/1 framing; ``status`` is the code a server answers with.

    ``reason`` is a short explanation for the log. Once raised, the reader that
    raised it refuses any further use.
    """

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(f"{status}: {reason}")
        self.status = status
        self.reason = reason
