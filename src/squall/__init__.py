"""squall: a non-blocking web framework and networking library with Tornado's API.

This file belongs to the ``squall`` meta-package only. It makes ``squall`` a
regular package that still spans every installed ``squall-*`` distribution
(each of which ships a PEP 420 portion of the namespace), holds the version,
and imports submodules on first attribute access, so that Tornado-style code
such as ``import squall`` then ``squall.web.Application`` works whenever the
distribution providing ``squall.web`` is installed.
"""

from __future__ import annotations

import importlib
import pkgutil
from typing import Any

# Extend the package over every ``squall`` folder on sys.path: each distribution
# installs a namespace portion without an ``__init__.py`` of its own.
__path__ = pkgutil.extend_path(__path__, __name__)

#: The version as a string, like ``tornado.version``.
version = "0.1.0"
#: The version as a tuple of four ints, like ``tornado.version_info``.
version_info = (0, 1, 0, 0)

__all__ = ["version", "version_info"]


def __getattr__(name: str) -> Any:
    """Import ``squall.<name>`` on first access (PEP 562)."""
    if name.startswith("__"):
        raise AttributeError(name)
    try:
        module = importlib.import_module(f"{__name__}.{name}")
    except ModuleNotFoundError as exc:
        if exc.name != f"{__name__}.{name}":
            raise
        raise AttributeError(
            f"module 'squall' has no attribute {name!r}: no installed squall "
            f"distribution provides 'squall.{name}'"
        ) from None
    globals()[name] = module
    return module


def __dir__() -> list[str]:
    names = set(globals())
    for info in pkgutil.iter_modules(__path__):
        if not info.name.startswith("_"):
            names.add(info.name)
    return sorted(names)
