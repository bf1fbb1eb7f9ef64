"""A squall server process for the nginx deployment tests (run as a script).

It answers every request with JSON naming the process that served it (pid
and :func:`~squall.process.task_id`) and the client address and scheme the
request reports, so a test behind nginx can see where requests went and
what ``xheaders`` made of the proxy headers. ``/slow`` answers after a fifth
of a second, so a drain has something in flight to wait for.

Only :class:`~squall.httpserver.HTTPServer` with a plain callback: the
httpserver distribution's tests must not need ``squall.web``.

Layouts (the same ones ``deploy/app.py`` offers):

* ``--processes=N``: bind one socket, fork N workers sharing it;
* ``--processes=N --reuse-port``: fork first, each worker binds its own
  ``SO_REUSEPORT`` socket on the same port;
* ``--processes=1``: one plain process (the one-port-per-process layout
  starts several of these).

Each worker prints ``serving {"task": ..., "pid": ...}`` once it serves.
SIGTERM makes a worker drain (:meth:`HTTPServer.shutdown`) and exit 0.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import socket

from squall.httpserver import HTTPServer
from squall.httputil import HTTPHeaders, HTTPServerRequest, ResponseStartLine
from squall.netutil import bind_sockets
from squall.process import fork_processes, task_id

_SLOW_SECONDS = 0.2


def _send_json(request: HTTPServerRequest) -> None:
    # The TCP peer as accepted (nginx's end of the upstream connection).
    peer = getattr(request.connection.context, "address", None) or ("", 0)
    payload = {
        "peer": f"{peer[0]}:{peer[1]}",
        "pid": os.getpid(),
        "task": task_id(),
        "ip": request.remote_ip,
        "scheme": request.protocol,
    }
    body = json.dumps(payload).encode()
    fields = HTTPHeaders({"Content-Type": "application/json", "Content-Length": str(len(body))})
    request.connection.write_headers(ResponseStartLine("HTTP/1.1", 200, "OK"), fields, body)
    request.connection.finish()


def _on_request(request: HTTPServerRequest) -> None:
    if request.path == "/slow":
        asyncio.get_running_loop().call_later(_SLOW_SECONDS, _send_json, request)
    else:
        _send_json(request)


async def _run(listeners: list[socket.socket], xheaders: bool) -> None:
    server = HTTPServer(_on_request, xheaders=xheaders)
    server.add_sockets(listeners)
    # The tests learn which pid serves which task from this line.
    print("serving", json.dumps({"task": task_id(), "pid": os.getpid()}), flush=True)
    loop = asyncio.get_running_loop()
    term = asyncio.Event()
    loop.add_signal_handler(signal.SIGTERM, term.set)
    await term.wait()
    await server.shutdown(timeout=10)


def main() -> None:
    cli = argparse.ArgumentParser()
    cli.add_argument("--port", type=int, required=True)
    cli.add_argument("--processes", type=int, default=1)
    cli.add_argument("--reuse-port", action="store_true")
    cli.add_argument("--xheaders", action="store_true")
    opts = cli.parse_args()
    if opts.reuse_port:
        if opts.processes != 1:
            fork_processes(opts.processes)
        listeners = bind_sockets(opts.port, "127.0.0.1", reuse_port=True)
    else:
        listeners = bind_sockets(opts.port, "127.0.0.1")
        if opts.processes != 1:
            fork_processes(opts.processes)
    asyncio.run(_run(listeners, opts.xheaders))


if __name__ == "__main__":
    main()
