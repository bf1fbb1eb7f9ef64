"""Miscellaneous utilities (the ``tornado.util`` API).

Public names: :class:`ObjectDict`, :func:`import_object`, :class:`Configurable`,
:class:`GzipDecompressor`, :class:`ArgReplacer`, :data:`TimeoutError`,
:func:`errno_from_exception`, :func:`re_unescape`, :func:`timedelta_to_seconds`,
:func:`raise_exc_info`, :func:`exec_in` and the ``unicode_type`` style aliases.
"""

from __future__ import annotations

from squall.util._util import _publish_public_names

from ._configurable import Configurable
from ._util import (
    ArgReplacer,
    GzipDecompressor,
    ObjectDict,
    TimeoutError,
    basestring_type,
    bytes_type,
    errno_from_exception,
    exec_in,
    import_object,
    raise_exc_info,
    re_unescape,
    timedelta_to_seconds,
    unicode_type,
)

__all__ = [
    "ArgReplacer",
    "Configurable",
    "GzipDecompressor",
    "ObjectDict",
    "TimeoutError",
    "basestring_type",
    "bytes_type",
    "errno_from_exception",
    "exec_in",
    "import_object",
    "raise_exc_info",
    "re_unescape",
    "timedelta_to_seconds",
    "unicode_type",
]


_publish_public_names(globals())
