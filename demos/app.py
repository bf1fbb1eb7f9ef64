"""squall's demo site: every demo in one server, each under its own path.

    python3 demos/app.py                         # http://127.0.0.1:8888/
    python3 demos/app.py --port 9000 --data /tmp/squall-demos --debug
    python3 demos/app.py --pubsub redis://127.0.0.1:6379/0   # chats across processes

The landing page at ``/`` links the demos; each one is its own
``squall.web.Application`` (built by the demo's ``make_app(prefix=...)``)
nested under a :class:`squall.routing.RuleRouter` rule
``PathMatches("/<prefix>/.*")``, so one :class:`squall.httpserver.HTTPServer`
serves them all. A demo that cannot be loaded (a folder not there yet, a
missing optional package) gets a page saying why instead of its link, and the
rest of the site still runs.

Nothing to configure: the blog's SQLite file and the cookie secret live in a
per-user data dir (``--data``; by default ``~/.local/share/squall-demos`` or
``$SQUALL_DEMO_DATA``), created on first start.

The same site runs under an ASGI server too (demos/asgi.py, which builds it
with :func:`make_router` and serves nothing itself)::

    uvicorn --app-dir demos asgi:app
    hypercorn --bind 127.0.0.1:8000 demos/asgi:app
"""

from __future__ import annotations

import argparse
import dataclasses
import importlib
import importlib.util
import inspect
import os
import re
import sys
import traceback
from collections.abc import Callable
from typing import Any

import squall.autoreload
import squall.httpserver
import squall.ioloop
import squall.web
from squall.pubsub import Hub
from squall.routing import AnyMatches, PathMatches, Rule, RuleRouter

HERE = os.path.dirname(os.path.abspath(__file__))
if HERE not in sys.path:  # the demos with several modules are packages in this folder
    sys.path.insert(0, HERE)

from blog.app import cookie_secret_in, default_data_dir  # noqa: E402
from chatkit import add_pubsub_option, hub_for  # noqa: E402


@dataclasses.dataclass
class Demo:
    """One demo as the landing page shows it."""

    folder: str
    prefix: str
    title: str
    blurb: str
    script: str  # demos/<folder>/<script> defines make_app(prefix=...) and runs it alone
    problem: str | None = None  # why it is not mounted, when it is not

    @property
    def run(self) -> str:
        return f"python3 demos/{self.folder}/{self.script}"


# fmt: off
DEMOS = [
    Demo("helloworld", "/hello", "Hello, world",
         "The overview's first example, unchanged but for the import prefix.",
         "helloworld.py"),
    Demo("guestbook", "/guestbook", "Guestbook",
         "Templates with inheritance, a UI module, static files, localization (English, "
         "Spanish, French), signed-cookie sign-in and XSRF-protected forms.",
         "app.py"),
    Demo("blog", "/blog", "Blog",
         "A multi-user blog: Markdown entries rendered safely, an Atom feed, local accounts "
         "with hashed passwords, @authenticated compose/edit, SQLite through an executor or "
         "PostgreSQL through psycopg's async driver.",
         "app.py"),
    Demo("chat", "/chat", "Chat",
         "The overview's long-polling chat: a message cache for late joiners, "
         "on_connection_close, XSRF on posts.",
         "chat.py"),
    Demo("websocket", "/websocket", "WebSocket chat",
         "The same chat room over a WebSocket.",
         "wschat.py"),
    Demo("upload", "/upload", "Upload",
         "Large uploads streamed to disk by the streaming multipart parser, with progress "
         "in the page.",
         "upload.py"),
    Demo("spider", "/spider", "Spider",
         "A concurrent crawler: the async HTTP client, a queue and a bounded number of "
         "workers, crawling a small sample site.",
         "spider.py"),
    Demo("auth", "/auth", "OAuth2 sign-in",
         "Sign in through a small OAuth2 provider shipped with the demo, with squall.auth's "
         "OAuth2Mixin in the GoogleOAuth2Mixin pattern.",
         "app.py"),
    Demo("tcpecho", "/tcpecho", "TCP echo",
         "A TCPServer and a TCPClient (the page's handler is a TCP client of an echo server "
         "in the same process); alone it runs in a terminal.",
         "tcpecho.py"),
]
# fmt: on


def _import_demo(demo: Demo) -> Any:
    """The module of ``demo.script``: a module of the folder's package when it is one, else
    the file loaded by path as ``demo_<script name>`` (as demos/conftest.py's load_demo does)."""
    folder = os.path.join(HERE, demo.folder)
    stem = os.path.splitext(demo.script)[0]
    if os.path.isfile(os.path.join(folder, "__init__.py")):
        return importlib.import_module(f"{demo.folder}.{stem}")
    script = os.path.join(folder, demo.script)
    if not os.path.isfile(script):
        raise FileNotFoundError(f"demos/{demo.folder}/{demo.script} is not here yet")
    name = f"demo_{stem}"
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, script)
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        try:
            spec.loader.exec_module(module)
        except BaseException:
            del sys.modules[name]
            raise
    return sys.modules[name]


def _build(demo: Demo, offered: dict[str, Any]) -> squall.web.Application:
    make_app: Callable[..., squall.web.Application] = _import_demo(demo).make_app
    accepted = inspect.signature(make_app).parameters
    extra = {key: value for key, value in offered.items() if key in accepted}
    return make_app(prefix=demo.prefix, **extra)


class LandingPage(squall.web.RequestHandler):
    def initialize(self, demos: list[Demo]) -> None:
        self.demos = demos

    def get(self) -> None:
        self.render("index.html", demos=self.demos)


class Unavailable(squall.web.RequestHandler):
    """What a demo's path shows when the demo could not be mounted."""

    def initialize(self, demo: Demo) -> None:
        self.demo = demo

    def get(self) -> None:
        self.set_status(503)
        self.render("unavailable.html", demo=self.demo)


def make_router(
    data_dir: str | None = None,
    cookie_secret: str | None = None,
    debug: bool = False,
    hub: Hub | None = None,
) -> tuple[RuleRouter, list[Demo]]:
    """The whole site and the demos as mounted (each with its ``problem``, if any).

    ``hub`` (a :mod:`squall.pubsub` hub) goes to the demos that take one (the chats).
    """
    folder = data_dir or default_data_dir()
    offered: dict[str, Any] = {
        "data_dir": folder,
        "cookie_secret": cookie_secret or cookie_secret_in(folder),
        "debug": debug,
    }
    if hub is not None:
        offered["hub"] = hub
    demos = [dataclasses.replace(d) for d in DEMOS]
    rules: list[Rule] = []
    fallback: list[Any] = [(r"/", LandingPage, {"demos": demos})]
    for demo in demos:
        mine = dict(offered)
        if demo.folder == "upload":  # uploaded files go to the data dir too
            mine["folder"] = os.path.join(folder, "uploads")
            os.makedirs(mine["folder"], exist_ok=True)
        try:
            app = _build(demo, mine)
        except Exception as error:
            demo.problem = str(error) or type(error).__name__
            if not isinstance(error, (FileNotFoundError, RuntimeError)):
                traceback.print_exc()
            print(f"demo site: {demo.prefix}/ is off: {demo.problem}", file=sys.stderr, flush=True)
            fallback.append((re.escape(demo.prefix) + "/.*", Unavailable, {"demo": demo}))
        else:
            rules.append(Rule(PathMatches(re.escape(demo.prefix) + "/.*"), app))
        # "/blog" without its slash
        fallback.append(
            (re.escape(demo.prefix), squall.web.RedirectHandler, {"url": demo.prefix + "/"})
        )
    site = squall.web.Application(
        fallback,
        template_path=os.path.join(HERE, "site", "templates"),
        static_path=os.path.join(HERE, "site", "static"),
        debug=debug,
    )
    rules.append(Rule(AnyMatches(), site))
    return RuleRouter(rules), demos


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--port", type=int, default=8888)
    parser.add_argument("--address", default="127.0.0.1")
    parser.add_argument(
        "--data", help=f"folder for the demos' files (default {default_data_dir()})"
    )
    add_pubsub_option(parser)  # for the two chats
    parser.add_argument("--debug", action="store_true", help="reload on source changes")
    args = parser.parse_args()
    hub = hub_for(parser, args.pubsub)
    router, _ = make_router(args.data, debug=args.debug, hub=hub)
    server = squall.httpserver.HTTPServer(router)
    server.listen(args.port, args.address)
    squall.ioloop.IOLoop.current().add_callback(hub.wait_ready)  # subscribe right away
    if args.debug:
        squall.autoreload.start()
    print(f"squall demo on http://{args.address}:{args.port}/  (Ctrl-C stops it)", flush=True)
    try:
        squall.ioloop.IOLoop.current().start()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
