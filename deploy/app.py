"""An example production entry point for a squall application (see README.md).

Three ways to run N processes, pick one:

* ``--processes=N``: bind the port, then fork N workers that share the
  socket; the parent restarts any worker that crashes
  (:func:`squall.process.fork_processes`).
* ``--processes=N --reuse-port``: fork first; each worker binds its own
  ``SO_REUSEPORT`` socket and the kernel spreads connections among them.
* ``--processes=1`` (the default) with a different ``--port`` per process,
  started by systemd (``squall@.service``) or supervisord: one upstream line
  per port in nginx, and restarts are the process manager's job.

Behind nginx pass ``--xheaders`` so that ``request.remote_ip`` and
``request.protocol`` come from ``X-Real-IP`` / ``X-Scheme``.

On SIGTERM (or SIGINT) a worker stops accepting, lets the requests in
progress finish (:meth:`HTTPServer.shutdown`, at most ``--drain-timeout``
seconds), closes idle keep-alive connections and exits with status 0, which
is final for :func:`fork_processes`. A SIGTERM to the forking parent is
passed on to every worker; signalling the whole process group (systemd and
supervisord below do) has the same effect.

Replace :func:`make_app` with your own application.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import socket

import squall.web
from squall.httpserver import HTTPServer
from squall.netutil import bind_sockets
from squall.options import define, options, parse_command_line
from squall.process import fork_processes, task_id

define("port", default=8000, help="TCP port to listen on")
define("address", default="127.0.0.1", help="address to bind (nginx runs on this host)")
define("processes", default=1, help="worker processes; 0 means one per CPU")
define("reuse_port", default=False, help="each worker binds its own SO_REUSEPORT socket")
define("xheaders", default=True, help="trust X-Real-IP / X-Scheme (only behind a proxy)")
define("drain_timeout", default=25.0, help="seconds in-flight requests get on SIGTERM")
define("static_path", default="static", help="folder of static files (nginx serves /static/)")

log = logging.getLogger("squall.deploy")


class HelloHandler(squall.web.RequestHandler):
    def get(self) -> None:
        self.write(
            {
                "hello": "world",
                "client": self.request.remote_ip,
                "scheme": self.request.protocol,
                "pid": os.getpid(),
                "worker": task_id(),
            }
        )


def make_app() -> squall.web.Application:
    """The application every worker serves."""
    return squall.web.Application([(r"/", HelloHandler)], static_path=options.static_path)


async def serve(listeners: list[socket.socket]) -> None:
    """Serve on ``listeners`` until SIGTERM/SIGINT, then drain and return."""
    server = HTTPServer(make_app(), xheaders=options.xheaders)
    server.add_sockets(listeners)
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    log.info("pid %d serving on port %d", os.getpid(), options.port)
    await stop.wait()
    log.info("pid %d draining (at most %s s)", os.getpid(), options.drain_timeout)
    await server.shutdown(timeout=options.drain_timeout)
    log.info("pid %d stopped", os.getpid())


def main() -> None:
    parse_command_line()
    count = options.processes
    if options.reuse_port:
        # Each worker (re)binds after the fork, so a replacement gets a socket too.
        if count != 1:
            fork_processes(count)
        listeners = bind_sockets(options.port, options.address, reuse_port=True)
    else:
        # Bound once in the parent: the listen queue survives a worker's death.
        listeners = bind_sockets(options.port, options.address)
        if count != 1:
            fork_processes(count)
    asyncio.run(serve(listeners))


if __name__ == "__main__":
    main()
