"""Miscellaneous utilities (the ``tornado.util`` API).

Public names: :class:`ObjectDict`, :func:`import_object`, :class:`Configurable`,
:class:`GzipDecompressor`, :class:`ArgReplacer`, :data:`TimeoutError`,
:func:`errno_from_exception`, :func:`re_unescape`, :func:`timedelta_to_seconds`,
:func:`raise_exc_info`, :func:`exec_in` and the ``unicode_type`` style aliases.
"""

from __future__ import annotations

from types import FunctionType

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


def _publish() -> None:
    # Report public classes and functions under this package rather than the
    # private module that defines them: clearer reprs and tracebacks, and
    # pickles that name the public path.
    for name in __all__:
        obj = globals()[name]
        if isinstance(obj, (type, FunctionType)) and obj.__module__.startswith(__name__ + "._"):
            obj.__module__ = __name__


_publish()
