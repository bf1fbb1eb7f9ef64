"""Shared fixtures: run a module's tests once per HTTP/1 reader (pure Python and llhttp)."""

from __future__ import annotations

import pytest
from squall.http1connection import _parsers
from squall.http1connection._codec import H1Reader

READERS = [
    pytest.param(H1Reader, id="python"),
    pytest.param(
        _parsers.LlhttpReader,
        id="httptools",
        marks=pytest.mark.skipif(
            _parsers.HTTPTOOLS_VERSION is None, reason="httptools not installed"
        ),
    ),
]


@pytest.fixture(params=READERS)
def each_reader(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> type[H1Reader]:
    """Rebinds the requesting module's ``H1Reader`` to the reader under test.

    A module opts in with ``pytestmark = pytest.mark.usefixtures("each_reader")``:
    every ``H1Reader(...)`` it builds is then the pure reader in one run and
    the llhttp one in the other.
    """
    monkeypatch.setattr(request.module, "H1Reader", request.param)
    return request.param  # type: ignore[no-any-return]
