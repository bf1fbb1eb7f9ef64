"""Ready-made handlers: ErrorHandler, RedirectHandler and FallbackHandler."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from squall.httputil import HTTPServerRequest, qs_to_qsl, url_concat

from ._errors import HTTPError
from ._handler import RequestHandler

__all__ = ["ErrorHandler", "FallbackHandler", "RedirectHandler"]


class ErrorHandler(RequestHandler):
    """Answers every request with the error page for ``status_code`` (the 404 of unmatched URLs)."""

    def initialize(self, status_code: int) -> None:  # type: ignore[override]
        self.set_status(status_code)

    def prepare(self) -> None:
        raise HTTPError(self.get_status())

    def check_xsrf_cookie(self) -> None:
        # An error answer needs no XSRF token: a POST to a missing page is a 404, not a 403.
        pass


class RedirectHandler(RequestHandler):
    """Redirects every GET to ``url`` (301 unless ``permanent=False``, which gives 302).

    ``url`` may refer to the groups of the route's pattern with
    :meth:`str.format` fields: ``{0}`` for the first unnamed group, ``{name}``
    for a named one.  The request's query string is appended to the target::

        (r"/pictures/(.*)", RedirectHandler, {"url": "/photos/{0}"})
    """

    def initialize(self, url: str, permanent: bool = True) -> None:  # type: ignore[override]
        self._target, self._permanent = url, permanent

    def get(self, *args: Any, **kwargs: Any) -> None:
        target = self._target.format(*args, **kwargs)
        query = self.request.query_arguments
        if query:
            pairs: Any = list(qs_to_qsl(query))
            target = url_concat(target, pairs)
        self.redirect(target, permanent=self._permanent)


class FallbackHandler(RequestHandler):
    """Hands the request to ``fallback``, a plain ``callable(request)`` that answers it itself.

    Used to mount other request callbacks (such as
    :class:`squall.wsgi.WSGIContainer`) inside an application::

        Application([
            (r"/legacy/.*", FallbackHandler, {"fallback": WSGIContainer(flask_app)}),
            (r"/.*", MainHandler),
        ])
    """

    def initialize(  # type: ignore[override]
        self, fallback: Callable[[HTTPServerRequest], Any]
    ) -> None:
        self.fallback = fallback

    def prepare(self) -> None:
        self.fallback(self.request)
        # The fallback answered on the connection itself.
        self._finished = True
        self.on_finish()
