"""WSGI in both directions.

:class:`WSGIContainer` runs any WSGI application (Flask, Django, Bottle...)
on squall's :class:`~squall.httpserver.HTTPServer`, next to squall's own
handlers, optionally on a thread pool.  :class:`WSGIAdapter` and
:class:`WSGIApplication` run a :mod:`squall.web` application under any WSGI
server (gunicorn, uWSGI, ``wsgiref``, CGI), for handlers that finish
without waiting on the event loop.
"""

from __future__ import annotations

from ._adapter import WSGIAdapter, WSGIApplication
from ._container import WSGIContainer

__all__ = ["WSGIAdapter", "WSGIApplication", "WSGIContainer"]
