"""The guestbook: the classic overview's examples as one application.

    python3 demos/guestbook/app.py              # http://127.0.0.1:8888
    python3 demos/guestbook/app.py --port 9000 --debug

The demo site (``python3 demos/app.py``) mounts it under ``/guestbook``;
``make_app(prefix=...)`` puts every URL below (routes, static files, the
login URL, cookie paths). What it shows (each a feature of the overview, ported
by changing the import prefix from ``tornado`` to ``squall``), relative to the
prefix:

* ``/`` a guestbook page rendered from templates with inheritance, a UI module
  per entry (its CSS lands once in ``<head>``), static files through
  ``static_url`` (content-hashed, cached for ever), and localized strings (the
  ``?lang=`` choice is kept in a cookie, else the browser's Accept-Language).
* ``/login`` a form protected against XSRF that signs you in with a signed
  cookie; ``@authenticated`` sends anonymous visitors there with ``?next=``.
* ``/sign`` an XSRF-protected POST that adds an entry (signed-in users only).
* ``/story/([0-9]+)`` path arguments; ``/api/entries`` a JSON answer;
  ``/old`` a RedirectHandler.
"""

from __future__ import annotations

import argparse
import datetime
import os
from typing import Any

import squall.ioloop
import squall.locale
import squall.web

HERE = os.path.dirname(os.path.abspath(__file__))
LANGUAGES = {"en_US": "English", "es_ES": "Español", "fr_FR": "Français"}


class Entry(squall.web.UIModule):
    """One guestbook entry; its CSS is emitted once per page, in <head>."""

    def embedded_css(self) -> str:
        return ".entry { margin: 0 0 1em; padding: .5em 1em; border-left: 3px solid #3a7; }"

    def render(self, entry: dict[str, Any]) -> bytes:
        return self.render_string("modules/entry.html", entry=entry)


class BaseHandler(squall.web.RequestHandler):
    def initialize(self, entries: list[dict[str, Any]], prefix: str) -> None:
        self.entries = entries
        self.prefix = prefix
        self.home = prefix + "/"

    def get_current_user(self) -> str | None:
        user = self.get_signed_cookie("user")
        return user.decode() if user else None

    def get_template_namespace(self) -> dict[str, Any]:
        namespace = super().get_template_namespace()
        namespace["languages"] = LANGUAGES
        namespace["home"] = self.home
        return namespace

    def get_user_locale(self) -> squall.locale.Locale | None:
        code = self.get_cookie("lang")
        return squall.locale.get(code) if code in LANGUAGES else None


class HomeHandler(BaseHandler):
    def get(self) -> None:
        lang = self.get_query_argument("lang", None)
        if lang in LANGUAGES:
            self.set_cookie("lang", lang, expires_days=365, path=self.home)
            self.redirect(self.home)
            return
        self.render("home.html", entries=self.entries)


class LoginHandler(BaseHandler):
    def get(self) -> None:
        self.render("login.html", next=self.get_argument("next", self.home), error=None)

    def post(self) -> None:
        name = self.get_body_argument("name", "", strip=True)
        next_url = self.get_body_argument("next", self.home)
        if not name or len(name) > 40:
            self.set_status(400)
            self.render("login.html", next=next_url, error=self.locale.translate("Pick a name"))
            return
        self.set_signed_cookie("user", name, httponly=True, samesite="Lax", path=self.home)
        local = next_url.startswith("/") and not next_url.startswith("//")
        self.redirect(next_url if local else self.home)


class LogoutHandler(BaseHandler):
    def post(self) -> None:
        self.clear_cookie("user", path=self.home)
        self.redirect(self.home)


class SignHandler(BaseHandler):
    @squall.web.authenticated
    def get(self) -> None:
        self.redirect(self.home + "#sign")

    @squall.web.authenticated
    def post(self) -> None:
        text = self.get_body_argument("message", strip=True)
        if text:
            self.entries.insert(
                0,
                {
                    "author": self.current_user,
                    "message": text[:500],
                    "when": datetime.datetime.now(datetime.timezone.utc),
                },
            )
        self.redirect(self.home)


class StoryHandler(BaseHandler):
    def get(self, story_id: str) -> None:
        self.write("You requested the story " + story_id)


class EntriesAPIHandler(BaseHandler):
    def get(self) -> None:
        self.write(
            {
                "entries": [
                    {"author": e["author"], "message": e["message"], "when": e["when"].isoformat()}
                    for e in self.entries
                ]
            }
        )


def make_app(
    prefix: str = "/guestbook", debug: bool = False, cookie_secret: str | None = None
) -> squall.web.Application:
    """The guestbook under ``prefix`` ("" for a server's root); ``cookie_secret`` defaults to a fresh random one."""
    prefix = prefix.rstrip("/")
    squall.locale.load_translations(os.path.join(HERE, "translations"))
    entries: list[dict[str, Any]] = [
        {
            "author": "squall",
            "message": "Welcome! Sign in and leave a message.",
            "when": datetime.datetime(2026, 12, 1, tzinfo=datetime.timezone.utc),
        }
    ]
    shared = {"entries": entries, "prefix": prefix}
    return squall.web.Application(
        [
            (prefix + r"/", HomeHandler, shared),
            squall.web.url(prefix + r"/login", LoginHandler, shared, name="login"),
            squall.web.url(prefix + r"/logout", LogoutHandler, shared, name="logout"),
            squall.web.url(prefix + r"/sign", SignHandler, shared, name="sign"),
            (prefix + r"/story/([0-9]+)", StoryHandler, shared),
            (prefix + r"/api/entries", EntriesAPIHandler, shared),
            (prefix + r"/old", squall.web.RedirectHandler, {"url": prefix + "/"}),
        ],
        template_path=os.path.join(HERE, "templates"),
        static_path=os.path.join(HERE, "static"),
        static_url_prefix=prefix + "/static/",
        ui_modules={"Entry": Entry},
        cookie_secret=cookie_secret or os.urandom(32).hex(),
        login_url=prefix + "/login",
        xsrf_cookies=True,
        debug=debug,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--port", type=int, default=8888)
    parser.add_argument("--address", default="127.0.0.1")
    parser.add_argument("--prefix", default="", help="serve it under this path (default: the root)")
    parser.add_argument("--debug", action="store_true", help="reload on source changes")
    args = parser.parse_args()
    app = make_app(args.prefix, debug=args.debug)
    app.listen(args.port, args.address)
    where = f"http://{args.address}:{args.port}{args.prefix.rstrip('/')}/"
    print(f"squall guestbook on {where}  (Ctrl-C stops it)", flush=True)
    try:
        squall.ioloop.IOLoop.current().start()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
