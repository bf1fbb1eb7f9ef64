"""The two exceptions every HTTP layer of squall raises for bad input and bad output."""

from __future__ import annotations

__all__ = ["HTTPInputError", "HTTPOutputError"]


class HTTPInputError(Exception):
    """The peer sent something that is not valid HTTP (a bad request or response).

    The HTTP/1 codec raises a subclass carrying the status code to answer with.
    """


class HTTPOutputError(Exception):
    """Our side tried to write something that breaks HTTP framing.

    For example a body longer or shorter than the ``Content-Length`` it declared,
    or a body on a response that cannot have one.
    """
