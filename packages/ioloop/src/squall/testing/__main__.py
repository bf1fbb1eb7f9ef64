"""Entry point of ``python -m squall.testing test.module.names...``."""

from __future__ import annotations

from squall.testing import main

main()
