"""``python -m squall.httpclient URL``: fetch and print (see :func:`squall.httpclient.main`)."""

from __future__ import annotations

from squall.httpclient import main

main()
