"""Shared fixtures: a clean translation registry, a fixed clock, catalogue writers."""

from __future__ import annotations

import datetime
import io
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from squall.locale import _locale

#: The fixed "now" of every date test: Wednesday 13 March 2024, 15:04:05 UTC.
NOW = datetime.datetime(2024, 3, 13, 15, 4, 5)


@pytest.fixture(autouse=True)
def clean_registry() -> Iterator[None]:
    """Start and end every test with no translations and the en_US default."""
    _locale._reset()
    yield
    _locale._reset()


@pytest.fixture
def fixed_now(monkeypatch: pytest.MonkeyPatch) -> datetime.datetime:
    """Freeze the clock format_date reads at NOW."""
    monkeypatch.setattr(_locale, "_utcnow", lambda: NOW)
    return NOW


def _compile_po(po_text: str, mo_path: Path) -> None:
    from babel.messages.mofile import write_mo
    from babel.messages.pofile import read_po

    catalog = read_po(io.BytesIO(po_text.encode("utf-8")))
    mo_path.parent.mkdir(parents=True, exist_ok=True)
    with open(mo_path, "wb") as f:
        write_mo(f, catalog)


@pytest.fixture
def compile_po() -> Callable[[str, Path], None]:
    """Compile .po source text to a .mo file with babel (a pure-Python msgfmt)."""
    return _compile_po
