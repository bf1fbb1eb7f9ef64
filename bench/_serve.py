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
    # IPPROTO_TCP spelled out: asyncio sets TCP_NODELAY on accepted sockets
    # only when the listener says so (proto 0 leaves Nagle on, and servers
    # that rely on asyncio for it stall 40 ms per response on delayed ACKs).
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("127.0.0.1", 0))
    s.listen(4096)
    s.setblocking(False)
    return s


def run(main: Callable[[], Awaitable[None]], impl: str, profile_to: str | None) -> None:
    """Run ``main`` forever; uvloop when ``impl`` ends with ``-uvloop``, ``-speedups``
    (which also asks squall for the httptools parser) or ``-compiled`` (squall-http's
    compiled build, see _compiled.py, with its own reader)."""
    if impl.endswith("-speedups"):
        os.environ.setdefault("SQUALL_HTTP_PARSER", "httptools")
    elif impl.endswith("-compiled"):
        # The compiled build's own reader ("auto" keeps it over llhttp).
        os.environ.setdefault("SQUALL_HTTP_PARSER", "auto")
    elif impl.startswith("squall"):
        # The plain rows are squall's pure-Python parser even where httptools
        # is installed (the server's default, "auto", would pick llhttp).
        os.environ.setdefault("SQUALL_HTTP_PARSER", "python")
    if impl.endswith(("-uvloop", "-speedups", "-compiled")):
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
