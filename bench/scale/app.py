"""Servers for bench/scale/run.py, one command line per process group.

usage: app.py IMPL ROLE --address A --port P [--processes N] [--pubsub URL] [--backlog B]

IMPL is ``squall`` or ``tornado``; ROLE is ``hello`` (the overview's first
example: a RequestHandler writing "Hello, world") or ``chat`` (squall only:
a room fanned out through squall.pubsub). With ``--processes N`` > 1 the
command binds an ``SO_REUSEPORT`` socket and forks N workers with the
framework's own ``fork_processes``, which replaces a worker that dies.
A worker prints ``ready <pid>`` once it serves.

The chat role:

* ``POST /post`` with ``{"seq": n, "t": unix_time}`` publishes
  ``{"id": n, "seq": n, "t": t, "by": pid}`` on the hub's ``room`` channel
  and answers ``{"by": pid}``;
* ``GET /poll?cursor=ID`` is a long poll on a
  :class:`squall.pubsub.LongPollRelay` keyed by message id, so that a cursor
  is valid on every process (``cursor`` empty: only new messages); it
  answers ``{"messages": [...], "cursor": ID, "missed": bool, "pid": pid}``
  or, after 25 s with nothing new, the same with no messages;
* ``/ws`` is a WebSocket whose first frame is ``{"hello": pid}``, then every
  message of the room (a :class:`squall.pubsub.Broadcaster`).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import signal
import sys
from typing import Any

POLL_SECONDS = 25.0


def hello_app(web: Any) -> Any:
    class MainHandler(web.RequestHandler):
        def get(self) -> None:
            self.write("Hello, world")

    return web.Application([(r"/", MainHandler)], log_function=lambda handler: None)


def chat_app(hub_url: str) -> Any:
    import squall.web as web
    import squall.websocket
    from squall.pubsub import Broadcaster, LongPollRelay, hub_from_url

    hub = hub_from_url(hub_url)
    relay = LongPollRelay(hub, "room", history=1000, key=lambda m: m["id"])
    fanout = Broadcaster(hub, "room")
    pid = os.getpid()

    class Post(web.RequestHandler):
        async def post(self) -> None:
            body = json.loads(self.request.body)
            await hub.publish(
                "room", {"id": body["seq"], "seq": body["seq"], "t": body["t"], "by": pid}
            )
            self.write({"by": pid})

    class Poll(web.RequestHandler):
        async def get(self) -> None:
            raw = self.get_query_argument("cursor", "")
            cursor = int(raw) if raw else None
            self.waiter = asyncio.ensure_future(relay.wait(cursor))
            try:
                batch = await asyncio.wait_for(asyncio.shield(self.waiter), POLL_SECONDS)
            except asyncio.TimeoutError:
                self.waiter.cancel()
                self.write({"messages": [], "cursor": cursor, "missed": False, "pid": pid})
                return
            except asyncio.CancelledError:
                return  # the client went away
            self.write(
                {
                    "messages": batch.messages,
                    "cursor": batch.cursor,
                    "missed": batch.missed,
                    "pid": pid,
                }
            )

        def on_connection_close(self) -> None:
            waiter = getattr(self, "waiter", None)
            if waiter is not None:
                waiter.cancel()

    class Socket(squall.websocket.WebSocketHandler):
        def open(self) -> None:
            self.write_message({"hello": pid})
            fanout.add(self)

        def on_message(self, message: str | bytes) -> None:
            pass

        def on_close(self) -> None:
            fanout.discard(self)

    return web.Application(
        [(r"/post", Post), (r"/poll", Poll), (r"/ws", Socket)], log_function=lambda handler: None
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("impl", choices=["squall", "tornado"])
    parser.add_argument("role", choices=["hello", "chat"])
    parser.add_argument("--address", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--processes", type=int, default=1)
    parser.add_argument("--pubsub", default="memory://")
    parser.add_argument("--backlog", type=int, default=4096)
    args = parser.parse_args()
    if args.impl == "tornado" and args.role != "hello":
        sys.exit("the chat role runs on squall only")
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    if args.impl == "squall":
        import squall.web as web
        from squall.httpserver import HTTPServer
        from squall.netutil import bind_sockets
        from squall.process import fork_processes
    else:
        import tornado.web as web  # type: ignore[no-redef]
        from tornado.httpserver import HTTPServer  # type: ignore[no-redef]
        from tornado.netutil import bind_sockets  # type: ignore[no-redef]
        from tornado.process import fork_processes  # type: ignore[no-redef]
    sockets = bind_sockets(
        args.port, args.address, backlog=args.backlog, reuse_port=args.processes > 1
    )
    if args.processes > 1:
        fork_processes(args.processes, max_restarts=1000)

    async def serve() -> None:
        app = hello_app(web) if args.role == "hello" else chat_app(args.pubsub)
        server = HTTPServer(app)
        server.add_sockets(sockets)
        stop = asyncio.Event()
        asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
        print(f"ready {os.getpid()}", flush=True)
        await stop.wait()

    asyncio.run(serve())


if __name__ == "__main__":
    main()
