"""ASGI in both directions.

:class:`ASGIContainer` serves any ASGI 3 application (Starlette, FastAPI,
Django's ASGI handler, Quart...) from squall's
:class:`~squall.httpserver.HTTPServer`: HTTP with streaming bodies both
ways, WebSockets through squall's own WebSocket layer, and the lifespan
protocol.  :class:`ASGIApplication` turns a :mod:`squall.web` application
into an ASGI 3 application, so that uvicorn, hypercorn or any other ASGI
server runs it, WebSocketHandlers included.
"""

from __future__ import annotations

from ._application import ASGIApplication
from ._container import ASGIContainer

__all__ = ["ASGIApplication", "ASGIContainer"]
