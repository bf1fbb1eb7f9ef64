"""The web framework (mirrors ``tornado.web``): Application, RequestHandler and friends.

A web application is an :class:`Application` mapping URL patterns to
:class:`RequestHandler` subclasses, each of which answers the HTTP methods
it defines::

    import squall.ioloop
    import squall.web

    class MainHandler(squall.web.RequestHandler):
        def get(self):
            self.write("Hello, world")

    application = squall.web.Application([(r"/", MainHandler)])

    if __name__ == "__main__":
        application.listen(8888)
        squall.ioloop.IOLoop.instance().start()

Besides Tornado 6's API this keeps the classic overview's
:func:`asynchronous` decorator and ``get_error_html``.  Cookie signing, UI
modules and the static file handler load on first use.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from squall.routing import URLSpec
from squall.util._util import _publish_public_names

from ._application import Application, url
from ._decorators import addslash, asynchronous, authenticated, removeslash, stream_request_body
from ._errors import Finish, HTTPError, MissingArgumentError
from ._handler import RequestHandler
from ._handlers import ErrorHandler, FallbackHandler, RedirectHandler
from ._transforms import ChunkedTransferEncoding, GZipContentEncoding, OutputTransform

if TYPE_CHECKING:
    from ._signing import (
        DEFAULT_SIGNED_VALUE_MIN_VERSION,
        DEFAULT_SIGNED_VALUE_VERSION,
        MAX_SUPPORTED_SIGNED_VALUE_VERSION,
        MIN_SUPPORTED_SIGNED_VALUE_VERSION,
        create_signed_value,
        decode_signed_value,
        get_signature_key_version,
    )
    from ._static import StaticFileHandler
    from ._ui import TemplateModule, UIModule

# Public names defined by modules imported on first access (see __getattr__).
_LAZY = {
    "DEFAULT_SIGNED_VALUE_MIN_VERSION": "_signing",
    "DEFAULT_SIGNED_VALUE_VERSION": "_signing",
    "MAX_SUPPORTED_SIGNED_VALUE_VERSION": "_signing",
    "MIN_SUPPORTED_SIGNED_VALUE_VERSION": "_signing",
    "create_signed_value": "_signing",
    "decode_signed_value": "_signing",
    "get_signature_key_version": "_signing",
    "StaticFileHandler": "_static",
    "TemplateModule": "_ui",
    "UIModule": "_ui",
}

__all__ = [
    "DEFAULT_SIGNED_VALUE_MIN_VERSION",
    "DEFAULT_SIGNED_VALUE_VERSION",
    "MAX_SUPPORTED_SIGNED_VALUE_VERSION",
    "MIN_SUPPORTED_SIGNED_VALUE_VERSION",
    "Application",
    "ChunkedTransferEncoding",
    "ErrorHandler",
    "FallbackHandler",
    "Finish",
    "GZipContentEncoding",
    "HTTPError",
    "MissingArgumentError",
    "OutputTransform",
    "RedirectHandler",
    "RequestHandler",
    "StaticFileHandler",
    "TemplateModule",
    "UIModule",
    "URLSpec",
    "addslash",
    "asynchronous",
    "authenticated",
    "create_signed_value",
    "decode_signed_value",
    "get_signature_key_version",
    "removeslash",
    "stream_request_body",
    "url",
]


def __getattr__(name: str) -> Any:
    home = _LAZY.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{home}"), name)
    if isinstance(value, type) and value.__module__.startswith(f"{__name__}._"):
        value.__module__ = __name__
    globals()[name] = value
    return value


_publish_public_names({**globals(), "__all__": [name for name in __all__ if name not in _LAZY]})
