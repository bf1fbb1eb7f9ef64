"""mypyc's class options, for the compiled build, without mypy_extensions at run time.

The compiled build (mypyc, see packages/http/pyproject.toml) reads
``@mypyc_attr(...)`` while compiling; a pure-Python install runs the same
source, where the decorator does nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

__all__ = ["mypyc_attr"]

_T = TypeVar("_T")

try:
    from mypy_extensions import mypyc_attr
except ImportError:  # pure Python: nothing to tell a compiler

    def mypyc_attr(*names: str, **options: object) -> Callable[[_T], _T]:  # type: ignore[misc,unused-ignore]
        """Leave the class as it is."""
        return lambda cls: cls
