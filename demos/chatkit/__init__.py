"""What the long-polling chat and the WebSocket chat have in common.

Both rooms sign the nickname into a cookie, show the same login form and
page frame, give every message an id that no other process on any host will
give, keep the newest messages in a :class:`squall.pubsub.LongPollRelay`
keyed by that id (so a cursor means the same in every process), and start
from the same command line, where ``--pubsub`` names the hub that carries
messages between processes. What differs, how a message reaches the
browser, stays in each demo's own file.

Templates and static files are looked up in the demo's own folders first,
then in this package's (``base.html``, ``login.html``, ``chatkit.css``,
``chatkit.js``).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import time
import uuid
from collections.abc import Callable
from typing import Any

import squall.template
import squall.web
from squall.pubsub import Hub, LongPollRelay, hub_from_url

__all__ = [
    "SECRET_VARIABLE",
    "Login",
    "Logout",
    "Page",
    "add_pubsub_option",
    "application",
    "hub_for",
    "kept_after",
    "message_id",
    "new_message",
    "serve",
    "signed_nickname",
]

_KIT = os.path.dirname(os.path.abspath(__file__))

#: The environment variable that gives every process the same cookie secret
#: (needed when a balancer sends one browser to several processes).
SECRET_VARIABLE = "SQUALL_CHAT_SECRET"


# -- messages ------------------------------------------------------------------------------


def new_message(author: str, text: str) -> dict[str, Any]:
    """A message as both rooms publish it, with an ``id`` unique across processes and hosts."""
    return {"id": uuid.uuid4().hex, "author": author, "text": text, "time": time.time()}


def message_id(message: Any) -> str:
    """The key a relay files a message under (``LongPollRelay(..., key=message_id)``)."""
    return str(message["id"])


async def kept_after(relay: LongPollRelay, cursor: str) -> tuple[list[Any], str]:
    """The messages ``relay`` keeps after id ``cursor``, and the cursor to go on from; never waits.

    An id the relay does not know (``""``, one that fell out of its history,
    one from before a restart) means "from the start": every kept message.
    """
    batch = relay.since(cursor or None)
    return batch.messages, str(batch.cursor or cursor)


# -- pages ---------------------------------------------------------------------------------


def signed_nickname(handler: squall.web.RequestHandler) -> str | None:
    """The nickname in the demo's signed cookie (the ``chat_cookie`` setting), if valid."""
    value = handler.get_signed_cookie(handler.settings["chat_cookie"])
    return value.decode() if value else None


class Page(squall.web.RequestHandler):
    """Base of a chat's pages and form posts: the room, the URL prefix, the nickname."""

    def initialize(self, room: Any, prefix: str) -> None:
        self.room = room
        self.prefix = prefix

    def get_current_user(self) -> str | None:
        return signed_nickname(self)

    def get_template_namespace(self) -> dict[str, Any]:
        names = super().get_template_namespace()
        names.update(prefix=self.prefix, brand=self.settings["chat_brand"])
        return names

    def nickname(self) -> str:
        """The signed-in nickname; scripts that lost their cookie get 403, not a login redirect."""
        who = self.current_user
        if not who:
            raise squall.web.HTTPError(403, "sign in first")
        return str(who)


class Login(Page):
    """The nickname form; a valid nickname goes into the signed cookie."""

    def get(self) -> None:
        self.render("login.html", error=None)

    def post(self) -> None:
        nickname = self.get_body_argument("nickname", "", strip=True)
        if len(nickname) not in range(1, 33):
            self.set_status(400)
            self.render("login.html", error="A nickname has 1 to 32 characters.")
            return
        self.set_signed_cookie(
            self.settings["chat_cookie"],
            nickname,
            path=self.prefix or "/",
            httponly=True,
            samesite="Lax",
        )
        self.redirect(self.prefix + "/")


class Logout(Page):
    def post(self) -> None:
        self.clear_cookie(self.settings["chat_cookie"], path=self.prefix or "/")
        self.redirect(self.prefix + "/login")


class _Folders(squall.template.BaseLoader):
    """Template names looked up in several folders, the first that has the file wins."""

    def __init__(self, *folders: str) -> None:
        super().__init__()
        self.folders = folders

    def resolve_path(self, name: str, parent_path: str | None = None) -> str:
        return name  # the chats' templates live side by side: names are flat

    def _create_template(self, name: str) -> squall.template.Template:
        for folder in self.folders:
            path = os.path.join(folder, name)
            if os.path.isfile(path):
                with open(path, "rb") as source:
                    return squall.template.Template(source.read(), name=name, loader=self)
        raise FileNotFoundError(f"no template {name!r} in {', '.join(self.folders)}")


class _StaticFiles(squall.web.StaticFileHandler):
    """The demo's ``static`` folder, and for names it does not have, the kit's."""

    shared = os.path.join(os.path.realpath(_KIT), "static")

    @classmethod
    def get_absolute_path(cls, root: str, path: str) -> str:
        own = super().get_absolute_path(root, path)
        return own if os.path.exists(own) else super().get_absolute_path(cls.shared, path)

    def validate_absolute_path(self, root: str, absolute_path: str) -> str | None:
        if absolute_path.startswith(os.path.join(self.shared, "")):
            root = self.shared
        return super().validate_absolute_path(root, absolute_path)


def application(
    prefix: str,
    folder: str,
    routes: list[tuple[str, type[squall.web.RequestHandler], dict[str, Any]]],
    *,
    room: Any,
    brand: str,
    cookie: str,
    cookie_secret: str | None = None,
    **settings: Any,
) -> squall.web.Application:
    """A chat's application: ``routes`` (path below ``prefix``, handler, extra arguments)
    plus ``/login`` and ``/logout``; every handler is given ``room`` and ``prefix``.

    ``folder`` is the demo's folder (its ``templates`` and ``static``);
    ``brand`` heads every page and ``cookie`` names the nickname cookie.
    Other keyword arguments are application settings.
    """
    shared = {"room": room, "prefix": prefix}
    handlers: list[Any] = [
        (prefix + "/login", Login, shared),
        (prefix + "/logout", Logout, shared),
    ]
    handlers.extend((prefix + path, kind, {**shared, **extra}) for path, kind, extra in routes)
    return squall.web.Application(
        handlers,
        template_loader=_Folders(
            os.path.join(folder, "templates"), os.path.join(_KIT, "templates")
        ),
        static_path=os.path.join(folder, "static"),
        static_handler_class=_StaticFiles,
        static_url_prefix=prefix + "/static/",
        cookie_secret=cookie_secret or os.urandom(32).hex(),
        login_url=prefix + "/login",
        xsrf_cookies=True,
        chat_cookie=cookie,
        chat_brand=brand,
        **settings,
    )


# -- the command line ----------------------------------------------------------------------


def add_pubsub_option(parser: argparse.ArgumentParser) -> None:
    """``--pubsub URL``, the hub that carries the chats' messages (demos/app.py has it too)."""
    parser.add_argument(
        "--pubsub",
        default="memory://",
        metavar="URL",
        help="the hub between processes: memory:// (this process only, the default) "
        "or redis://host:port/db (every process using that Redis)",
    )


def hub_for(parser: argparse.ArgumentParser, url: str) -> Hub:
    """The hub ``url`` names; a usage error (exit 2) for a bad URL or a missing redis-py."""
    try:
        return hub_from_url(url)
    except (ValueError, ImportError) as problem:
        parser.error(str(problem))


def serve(make_app: Callable[..., squall.web.Application], title: str, banner: str) -> None:
    """Parse a chat's command line and serve until Ctrl-C.

    ``make_app(hub=..., cookie_secret=..., debug=...)`` builds the app;
    ``banner`` starts the line printed once the server listens and the hub
    delivers (``"<banner> on http://host:port/"``).
    """
    parser = argparse.ArgumentParser(description=title)
    parser.add_argument("--port", type=int, default=8888)
    parser.add_argument("--address", default="127.0.0.1")
    add_pubsub_option(parser)
    parser.add_argument("--debug", action="store_true", help="reload on source changes")
    args = parser.parse_args()
    hub = hub_for(parser, args.pubsub)
    app = make_app(hub=hub, cookie_secret=os.environ.get(SECRET_VARIABLE), debug=args.debug)
    try:
        asyncio.run(_run(app, hub, args, banner))
    except KeyboardInterrupt:
        pass


async def _run(app: squall.web.Application, hub: Hub, args: Any, banner: str) -> None:
    async with hub:
        app.listen(args.port, args.address)
        try:  # so that the banner means "messages from other processes arrive"
            await asyncio.wait_for(hub.wait_ready(), 10)
        except asyncio.TimeoutError:
            print(f"{args.pubsub} does not answer yet; still trying", file=sys.stderr, flush=True)
        where = f"http://{args.address}:{args.port}/"
        print(f"{banner} on {where}  (Ctrl-C stops it)", flush=True)
        await asyncio.Event().wait()
