"""Entry point of ``python -m squall.autoreload``."""

from __future__ import annotations

from squall.autoreload import main

main()
