"""WSGI servers for bench/wsgi/run.py: one process per run, chosen by argv.

usage: server.py IMPL   (squall, squall-pool, tornado, tornado-pool, gunicorn,
                         gunicorn-gthread)

Every server runs the *same* Flask application, a hello world at ``/``.
squall and Tornado host it with their ``WSGIContainer`` on their own HTTP
server, on the event loop's thread or (``-pool``) on a 4-thread
``ThreadPoolExecutor``; gunicorn runs it in one sync worker (which closes
every connection after its response: no keep-alive) or one ``gthread``
worker with 4 threads (keep-alive); its master process stays idle.  The server prints its port, then serves until SIGTERM.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import gc
import logging
import os
import sys

import flask

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from _serve import listener, run  # noqa: E402

impl = sys.argv[1]
POOL_THREADS = 4

app = flask.Flask("bench")


@app.route("/")
def hello() -> str:
    return "Hello, world"


def quiet() -> None:
    for name in ("squall.access", "tornado.access"):
        logging.getLogger(name).disabled = True


async def main() -> None:
    quiet()
    sock = listener()
    executor = (
        concurrent.futures.ThreadPoolExecutor(POOL_THREADS) if impl.endswith("-pool") else None
    )
    if impl.startswith("squall"):
        from squall.httpserver import HTTPServer
        from squall.wsgi import WSGIContainer

        HTTPServer(WSGIContainer(app, executor=executor)).add_sockets([sock])
    elif impl.startswith("tornado"):
        from tornado.httpserver import HTTPServer  # type: ignore[no-redef]
        from tornado.wsgi import WSGIContainer  # type: ignore[no-redef]

        HTTPServer(WSGIContainer(app, executor=executor)).add_sockets([sock])
    else:
        sys.exit(f"unknown server {impl}")
    gc.collect()
    print(sock.getsockname()[1], flush=True)
    await asyncio.Event().wait()


def gunicorn() -> None:
    from gunicorn.app.base import BaseApplication

    sock = listener()
    port = sock.getsockname()[1]
    sock.close()

    class Bench(BaseApplication):  # type: ignore[misc]
        def load_config(self) -> None:
            self.cfg.set("bind", f"127.0.0.1:{port}")
            self.cfg.set("workers", 1)
            if impl == "gunicorn-gthread":
                self.cfg.set("worker_class", "gthread")
                self.cfg.set("threads", POOL_THREADS)
            else:
                self.cfg.set("worker_class", "sync")
            self.cfg.set("backlog", 4096)
            self.cfg.set("loglevel", "warning")
            self.cfg.set("when_ready", lambda server: print(port, flush=True))

        def load(self) -> flask.Flask:
            return app

    Bench().run()


if impl.startswith("gunicorn"):
    gunicorn()
else:
    run(main, impl, None)
