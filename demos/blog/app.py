"""A small multi-user blog on squall: Markdown entries, an Atom feed, local accounts.

    python3 demos/blog/app.py                      # SQLite in the per-user data dir
    python3 demos/blog/app.py --data /tmp/blog     # ... or in a folder of your choice
    python3 demos/blog/app.py --db postgresql://user@127.0.0.1/blog   # psycopg 3

Anyone may read; writing needs an account (the first sign-up for a name
creates it; passwords are kept as salted scrypt hashes). The signed-in user
travels in a signed cookie, every form carries an XSRF token, entries are
rendered by the ``Entry`` UI module on the front page, on their own page and
(as HTML) in the feed, and the stylesheet is served with a content-hashed
``static_url``. Storage goes through ``blog.store``: never a blocking call on
the event loop.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import hashlib
import hmac
import os
import re
import sys
import unicodedata
from typing import Any

if __name__ == "__main__" and not __package__:  # run as a script: make "blog" importable
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import squall.ioloop
import squall.web

from blog import render
from blog.store import Entry, Repository, User, repository_for

HERE = os.path.dirname(os.path.abspath(__file__))
USER_COOKIE = "blog_user"
NAME_RULE = re.compile(r"^[A-Za-z0-9_.-]{2,30}$")
MIN_PASSWORD = 8


# -- passwords ----------------------------------------------------------------
# scrypt where OpenSSL offers it, PBKDF2 otherwise; both are slow on purpose,
# so the handlers run them on the default executor, off the event loop.


def hash_password(password: str) -> str:
    salt = os.urandom(16)
    if hasattr(hashlib, "scrypt"):
        digest = hashlib.scrypt(password.encode(), salt=salt, n=2**14, r=8, p=1)
        return f"scrypt$16384$8$1${salt.hex()}${digest.hex()}"
    digest = hashlib.pbkdf2_hmac("sha256", password.encode(), salt, 300_000)
    return f"pbkdf2_sha256$300000${salt.hex()}${digest.hex()}"


def check_password(password: str, stored: str) -> bool:
    kind, *fields = stored.split("$")
    if kind == "scrypt" and hasattr(hashlib, "scrypt"):
        n, r, p, salt, expected = fields
        digest = hashlib.scrypt(
            password.encode(), salt=bytes.fromhex(salt), n=int(n), r=int(r), p=int(p)
        )
    elif kind == "pbkdf2_sha256":
        rounds, salt, expected = fields
        digest = hashlib.pbkdf2_hmac("sha256", password.encode(), bytes.fromhex(salt), int(rounds))
    else:
        return False
    return hmac.compare_digest(digest.hex(), expected)


def slugify(title: str) -> str:
    plain = unicodedata.normalize("NFKD", title).encode("ascii", "ignore").decode()
    words = re.findall(r"[a-z0-9]+", plain.lower())
    return "-".join(words)[:60].strip("-") or "entry"


# -- the UI module ------------------------------------------------------------


class EntryModule(squall.web.UIModule):
    """One entry: its title, byline, rendered body and (for its author) an edit link."""

    def embedded_css(self) -> str:
        return ".entry{margin:0 0 2.5em}.entry .byline{color:#667;font-size:.9em;margin:.2em 0 1em}"

    def render(self, entry: Entry, heading: str = "h2") -> bytes:
        user = self.current_user
        mine = user is not None and user.id == entry.author_id
        return self.render_string("modules/entry.html", entry=entry, heading=heading, mine=mine)


# -- handlers -----------------------------------------------------------------


class BlogHandler(squall.web.RequestHandler):
    """Shared by every page: the repository, the URL prefix and the signed-in user."""

    def initialize(self, repository: Repository, prefix: str) -> None:
        self.repository = repository
        self.prefix = prefix

    async def prepare(self) -> None:
        await _ready(self.repository)
        user_id = self.get_signed_cookie(USER_COOKIE)
        if user_id and user_id.isdigit():
            self.current_user = await self.repository.user(int(user_id))

    def get_template_namespace(self) -> dict[str, Any]:
        namespace = super().get_template_namespace()
        namespace["home"] = self.prefix + "/"
        namespace["link"] = self.link
        return namespace

    def link(self, path: str) -> str:
        """``path`` (starting with /) inside this blog, whatever prefix it is mounted at."""
        return self.prefix + path

    def sign_in(self, user: User) -> None:
        self.set_signed_cookie(
            USER_COOKIE, str(user.id), httponly=True, samesite="Lax", path=self.prefix or "/"
        )

    def next_url(self) -> str:
        wanted = self.get_argument("next", "")
        # only paths on this site: no scheme, no //host
        return (
            wanted if wanted.startswith("/") and not wanted.startswith("//") else self.prefix + "/"
        )


async def _ready(repository: Repository) -> None:
    """Set the repository up once (the first request waits for it; the others share it)."""
    pending: asyncio.Future[None] | None = getattr(repository, "_squall_ready", None)
    if pending is None or (pending.done() and pending.exception() is not None):
        pending = asyncio.ensure_future(repository.setup())
        repository._squall_ready = pending  # type: ignore[attr-defined]
    await asyncio.shield(pending)


class HomeHandler(BlogHandler):
    async def get(self) -> None:
        entries = await self.repository.recent_entries(20)
        self.render("home.html", entries=entries)


class EntryHandler(BlogHandler):
    async def get(self, slug: str) -> None:
        entry = await self.repository.entry(slug)
        if entry is None:
            raise squall.web.HTTPError(404)
        self.render("entry.html", entry=entry)


class FeedHandler(BlogHandler):
    async def get(self) -> None:
        entries = await self.repository.recent_entries(20)
        self.set_header("Content-Type", "application/atom+xml; charset=UTF-8")
        site = f"{self.request.protocol}://{self.request.host}{self.prefix}"
        self.render("feed.xml", entries=entries, site=site)


class ComposeHandler(BlogHandler):
    """``/compose`` writes a new entry; ``/edit/<slug>`` changes one of your own."""

    async def _own_entry(self, slug: str | None) -> Entry | None:
        if slug is None:
            return None
        entry = await self.repository.entry(slug)
        if entry is None:
            raise squall.web.HTTPError(404)
        if entry.author_id != self.current_user.id:
            raise squall.web.HTTPError(403, "only its author may edit an entry")
        return entry

    @squall.web.authenticated
    async def get(self, slug: str | None = None) -> None:
        entry = await self._own_entry(slug)
        self.render(
            "compose.html",
            entry=entry,
            title=entry.title if entry else "",
            text=entry.markdown if entry else "",
            error=None,
        )

    @squall.web.authenticated
    async def post(self, slug: str | None = None) -> None:
        entry = await self._own_entry(slug)
        title = self.get_body_argument("title", "", strip=True)
        text = self.get_body_argument("markdown", "").replace("\r\n", "\n")
        if not title or not text.strip():
            self.set_status(400)
            self.render(
                "compose.html",
                entry=entry,
                title=title,
                text=text,
                error="An entry needs a title and some text.",
            )
            return
        html = render.to_html(text)
        if entry is None:
            slug = await self.repository.add_entry(
                self.current_user, slugify(title), title[:200], text, html
            )
        else:
            await self.repository.edit_entry(entry, title[:200], text, html)
            slug = entry.slug
        self.redirect(self.link(f"/entry/{slug}"))


class SignInHandler(BlogHandler):
    """``/signin`` for existing accounts; ``/signup`` makes a new one and signs it in."""

    def initialize(self, repository: Repository, prefix: str, creating: bool = False) -> None:
        super().initialize(repository, prefix)
        self.creating = creating

    def _form(self, error: str | None = None, name: str = "") -> None:
        self.render(
            "signin.html",
            creating=self.creating,
            error=error,
            name=name,
            next=self.get_argument("next", ""),
        )

    def get(self) -> None:
        self._form()

    async def post(self) -> None:
        name = self.get_body_argument("name", "", strip=True)
        password = self.get_body_argument("password", "")
        loop = squall.ioloop.IOLoop.current()
        if self.creating:
            if not NAME_RULE.match(name):
                return self._refuse(
                    400, "Names are 2 to 30 letters, digits, '.', '_' or '-'.", name
                )
            if len(password) < MIN_PASSWORD:
                return self._refuse(
                    400, f"Passwords need at least {MIN_PASSWORD} characters.", name
                )
            stored = await loop.run_in_executor(None, hash_password, password)
            user = await self.repository.add_user(name, stored)
            if user is None:
                return self._refuse(409, "That name is taken; sign in instead?", name)
        else:
            user = await self.repository.user_named(name)
            valid = user is not None and await loop.run_in_executor(
                None, check_password, password, user.password
            )
            if not valid:
                return self._refuse(403, "Wrong name or password.", name)
        assert user is not None
        self.sign_in(user)
        self.redirect(self.next_url())

    def _refuse(self, status: int, error: str, name: str) -> None:
        self.set_status(status)
        self._form(error, name)


class SignOutHandler(BlogHandler):
    def post(self) -> None:
        self.clear_cookie(USER_COOKIE, path=self.prefix or "/")
        self.redirect(self.prefix + "/")


# -- the application ------------------------------------------------------------


def default_data_dir() -> str:
    """Where the demos keep their files unless told otherwise (per user, created on demand)."""
    if os.environ.get("SQUALL_DEMO_DATA"):
        return os.environ["SQUALL_DEMO_DATA"]
    if sys.platform == "win32":
        base = os.environ.get("LOCALAPPDATA") or os.path.expanduser("~")
    else:
        base = os.environ.get("XDG_DATA_HOME") or os.path.expanduser("~/.local/share")
    return os.path.join(base, "squall-demos")


def cookie_secret_in(data_dir: str) -> str:
    """The secret kept in ``data_dir`` (made on first use), so sign-ins survive a restart.

    Several processes starting at once on a fresh data dir agree on one
    secret: the file is written under a temporary name and linked into
    place, so exactly one of them creates it and the others read that one.
    """
    path = os.path.join(data_dir, "cookie_secret")
    for _ in range(50):
        try:
            with open(path) as kept:
                secret = kept.read().strip()
            if secret:
                return secret
        except FileNotFoundError:
            pass
        os.makedirs(data_dir, exist_ok=True)
        draft = f"{path}.{os.getpid()}.tmp"
        descriptor = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(descriptor, "w") as kept:
            kept.write(base64.urlsafe_b64encode(os.urandom(32)).decode())
        try:
            os.link(draft, path)  # fails if another process got there first
        except FileExistsError:
            pass
        finally:
            os.unlink(draft)
    raise RuntimeError(f"cannot read or create the cookie secret in {path}")


def make_app(
    prefix: str = "/blog",
    db: str | None = None,
    data_dir: str | None = None,
    cookie_secret: str | None = None,
    debug: bool = False,
) -> squall.web.Application:
    """The blog, its every URL under ``prefix`` ("" for the root of a server).

    ``db`` is a ``postgresql://`` URL or a SQLite file path; by default
    ``blog.sqlite3`` in ``data_dir`` (itself :func:`default_data_dir` by default).
    The schema is created on the first request (or by ``await``-ing
    ``app.settings["blog_repository"].setup()`` yourself).
    """
    if render.markdown is None:
        raise RuntimeError(render.MISSING)
    prefix = prefix.rstrip("/")
    folder = data_dir or default_data_dir()
    repository = repository_for(db or os.path.join(folder, "blog.sqlite3"))
    shared = {"repository": repository, "prefix": prefix}
    return squall.web.Application(
        [
            (prefix + "/", HomeHandler, shared),
            (prefix + "/entry/([a-z0-9-]+)", EntryHandler, shared),
            (prefix + "/feed", FeedHandler, shared),
            (prefix + "/compose", ComposeHandler, shared),
            (prefix + "/edit/([a-z0-9-]+)", ComposeHandler, shared),
            (prefix + "/signin", SignInHandler, shared),
            (prefix + "/signup", SignInHandler, {**shared, "creating": True}),
            (prefix + "/signout", SignOutHandler, shared),
        ],
        template_path=os.path.join(HERE, "templates"),
        static_path=os.path.join(HERE, "static"),
        static_url_prefix=prefix + "/static/",
        ui_modules={"Entry": EntryModule},
        cookie_secret=cookie_secret or cookie_secret_in(folder),
        login_url=prefix + "/signin",
        xsrf_cookies=True,
        debug=debug,
        blog_repository=repository,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--port", type=int, default=8888)
    parser.add_argument("--address", default="127.0.0.1")
    parser.add_argument(
        "--data",
        help=f"folder for the SQLite file and the cookie secret (default {default_data_dir()})",
    )
    parser.add_argument(
        "--db", help="postgresql://user:password@host/dbname, or a SQLite file path"
    )
    parser.add_argument(
        "--prefix", default="", help="mount the blog under this path (default: the root)"
    )
    parser.add_argument("--debug", action="store_true", help="reload on source changes")
    args = parser.parse_args()
    try:
        app = make_app(args.prefix, db=args.db, data_dir=args.data, debug=args.debug)
        loop = squall.ioloop.IOLoop.current()
        loop.run_sync(lambda: _ready(app.settings["blog_repository"]))
    except Exception as error:
        sys.exit(f"blog: {error}")
    app.listen(args.port, args.address)
    print(
        f"squall blog on http://{args.address}:{args.port}{args.prefix}/  (Ctrl-C stops it)",
        flush=True,
    )
    try:
        loop.start()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
