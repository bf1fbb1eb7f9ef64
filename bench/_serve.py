"""What the bench servers (server/server.py, web/server.py) share: a listening
socket on 127.0.0.1, a raised file limit, and running ``main()`` on asyncio
(or uvloop) with an optional cProfile dumped on SIGTERM."""

from __future__ import annotations

import asyncio
import os
import resource
import socket
from collections.abc import Awaitable, Callable


def listener() -> socket.socket:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("127.0.0.1", 0))
    s.listen(4096)
    s.setblocking(False)
    return s


def run(main: Callable[[], Awaitable[None]], impl: str, profile_to: str | None) -> None:
    """Run ``main`` forever; uvloop when ``impl`` ends with ``-uvloop``."""
    if impl.endswith("-uvloop"):
        import uvloop

        uvloop.install()
    if profile_to:
        import cProfile
        import signal

        prof = cProfile.Profile()

        def dump(*_: object) -> None:
            prof.disable()
            prof.dump_stats(profile_to)
            os._exit(0)

        signal.signal(signal.SIGTERM, dump)
        prof.enable()
    asyncio.run(main())  # type: ignore[arg-type]
