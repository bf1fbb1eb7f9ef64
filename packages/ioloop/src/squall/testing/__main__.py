"""Lets ``python -m squall.testing`` run the test modules named on the command line."""

from __future__ import annotations

from squall.testing import main

main()
