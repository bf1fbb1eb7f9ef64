"""Platform integrations: :mod:`squall.platform.asyncio` (the event loop implementation),
and, when their extras are installed, :mod:`squall.platform.caresresolver` and
:mod:`squall.platform.twisted`.

This package itself exports nothing.
"""

from __future__ import annotations

__all__: list[str] = []
