"""Where the blog keeps its users and entries: one small async interface, two back ends.

:class:`Repository` is what the handlers see: a handful of ``async`` methods
that return plain :class:`User` and :class:`Entry` records. Two classes
implement it:

* :class:`SQLiteRepository` (the default; stdlib :mod:`sqlite3`, a file made
  on first start). :mod:`sqlite3` blocks, so every call runs on a
  one-thread executor that owns the connection, and the handler awaits it
  through ``IOLoop.run_in_executor``: the event loop never waits on the disk.
* :class:`PostgresRepository` (``postgresql://...``) on psycopg 3's
  ``AsyncConnection``, which waits for the server on the event loop itself.

:func:`open_repository` picks one from a URL and creates the schema when it is
missing.
"""

from __future__ import annotations

import abc
import concurrent.futures
import dataclasses
import datetime
import os
import sqlite3
from collections.abc import Callable
from typing import Any, TypeVar

from squall.ioloop import IOLoop

_T = TypeVar("_T")
UTC = datetime.timezone.utc


@dataclasses.dataclass(frozen=True)
class User:
    id: int
    name: str
    password: str  # the stored hash (see blog.app.hash_password), never the password


@dataclasses.dataclass(frozen=True)
class Entry:
    id: int
    author_id: int
    author: str
    slug: str
    title: str
    markdown: str
    html: str
    published: datetime.datetime
    updated: datetime.datetime


# One schema text per dialect; the statements below are shared and written
# with %s placeholders (SQLite's "?" is swapped in by its repository).
_SQLITE_SCHEMA = """
CREATE TABLE IF NOT EXISTS users (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    name TEXT NOT NULL UNIQUE,
    password TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS entries (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    author_id INTEGER NOT NULL REFERENCES users(id),
    slug TEXT NOT NULL UNIQUE,
    title TEXT NOT NULL,
    markdown TEXT NOT NULL,
    html TEXT NOT NULL,
    published TEXT NOT NULL,
    updated TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS entries_by_date ON entries (published);
"""

_POSTGRES_SCHEMA = """
CREATE TABLE IF NOT EXISTS users (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    password TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS entries (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    author_id BIGINT NOT NULL REFERENCES users(id),
    slug TEXT NOT NULL UNIQUE,
    title TEXT NOT NULL,
    markdown TEXT NOT NULL,
    html TEXT NOT NULL,
    published TIMESTAMPTZ NOT NULL,
    updated TIMESTAMPTZ NOT NULL
);
CREATE INDEX IF NOT EXISTS entries_by_date ON entries (published);
"""

_ENTRY_COLUMNS = (
    "SELECT e.id, e.author_id, u.name, e.slug, e.title, e.markdown, e.html,"
    " e.published, e.updated FROM entries e JOIN users u ON u.id = e.author_id"
)
_SQL = {
    "user_by_name": "SELECT id, name, password FROM users WHERE name = %s",
    "user_by_id": "SELECT id, name, password FROM users WHERE id = %s",
    "add_user": "INSERT INTO users (name, password) VALUES (%s, %s) RETURNING id",
    "recent": _ENTRY_COLUMNS + " ORDER BY e.published DESC, e.id DESC LIMIT %s",
    "by_slug": _ENTRY_COLUMNS + " WHERE e.slug = %s",
    "slug_taken": "SELECT 1 FROM entries WHERE slug = %s",
    "add_entry": (
        "INSERT INTO entries (author_id, slug, title, markdown, html, published, updated)"
        " VALUES (%s, %s, %s, %s, %s, %s, %s) RETURNING id"
    ),
    "edit_entry": (
        "UPDATE entries SET title = %s, markdown = %s, html = %s, updated = %s WHERE id = %s"
    ),
}


def _when(value: Any) -> datetime.datetime:
    moment = (
        value if isinstance(value, datetime.datetime) else datetime.datetime.fromisoformat(value)
    )
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _entry(row: Any) -> Entry:
    eid, author_id, author, slug, title, text, html, published, updated = row
    return Entry(eid, author_id, author, slug, title, text, html, _when(published), _when(updated))


class Repository(abc.ABC):
    """The blog's storage, as the handlers use it (every method is a coroutine)."""

    @abc.abstractmethod
    async def _rows(self, key: str, *params: Any) -> list[tuple[Any, ...]]:
        """Run statement ``_SQL[key]`` and return its rows (``[]`` when it has none)."""

    @abc.abstractmethod
    async def setup(self) -> None:
        """Connect and create the tables that are missing."""

    @abc.abstractmethod
    async def close(self) -> None:
        """Let go of the connection."""

    async def user_named(self, name: str) -> User | None:
        rows = await self._rows("user_by_name", name)
        return User(*rows[0]) if rows else None

    async def user(self, user_id: int) -> User | None:
        rows = await self._rows("user_by_id", user_id)
        return User(*rows[0]) if rows else None

    async def add_user(self, name: str, password_hash: str) -> User | None:
        """Create an account; ``None`` when the name is already taken."""
        try:
            rows = await self._rows("add_user", name, password_hash)
        except Exception as error:
            if _is_unique_violation(error):
                return None
            raise
        return User(rows[0][0], name, password_hash)

    async def recent_entries(self, limit: int = 10) -> list[Entry]:
        return [_entry(row) for row in await self._rows("recent", limit)]

    async def entry(self, slug: str) -> Entry | None:
        rows = await self._rows("by_slug", slug)
        return _entry(rows[0]) if rows else None

    async def add_entry(self, author: User, slug: str, title: str, text: str, html: str) -> str:
        """Publish an entry; returns its slug (``slug`` with a suffix if that one is taken)."""
        now = datetime.datetime.now(UTC)
        candidate, n = slug, 1
        while await self._rows("slug_taken", candidate):
            n += 1
            candidate = f"{slug}-{n}"
        await self._rows("add_entry", author.id, candidate, title, text, html, now, now)
        return candidate

    async def edit_entry(self, entry: Entry, title: str, text: str, html: str) -> None:
        now = datetime.datetime.now(UTC)
        await self._rows("edit_entry", title, text, html, now, entry.id)


def _is_unique_violation(error: Exception) -> bool:
    if isinstance(error, sqlite3.IntegrityError):
        return True
    return getattr(error, "sqlstate", None) == "23505"


class SQLiteRepository(Repository):
    """SQLite in one file; the calls run on a single worker thread that owns the connection."""

    def __init__(self, path: str) -> None:
        self.path = path
        self._worker = concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="blog-sqlite")
        self._db: sqlite3.Connection | None = None

    async def _call(self, work: Callable[..., _T], *args: Any) -> _T:
        return await IOLoop.current().run_in_executor(self._worker, work, *args)

    def _open(self) -> None:
        folder = os.path.dirname(os.path.abspath(self.path))
        os.makedirs(folder, exist_ok=True)
        db = sqlite3.connect(self.path, isolation_level=None)  # autocommit
        db.execute("PRAGMA foreign_keys = ON")
        db.execute("PRAGMA journal_mode = WAL")
        db.executescript(_SQLITE_SCHEMA)
        self._db = db

    def _run(self, statement: str, params: tuple[Any, ...]) -> list[tuple[Any, ...]]:
        assert self._db is not None, "setup() first"
        cells = tuple(p.isoformat() if isinstance(p, datetime.datetime) else p for p in params)
        return self._db.execute(statement, cells).fetchall()

    async def _rows(self, key: str, *params: Any) -> list[tuple[Any, ...]]:
        return await self._call(self._run, _SQL[key].replace("%s", "?"), params)

    async def setup(self) -> None:
        await self._call(self._open)

    async def close(self) -> None:
        if self._db is not None:
            await self._call(self._db.close)
            self._db = None
        self._worker.shutdown(wait=False)


class PostgresRepository(Repository):
    """PostgreSQL through psycopg 3's asyncio connection (no thread involved)."""

    def __init__(self, url: str) -> None:
        self.url = url
        self._conn: Any = None

    async def _rows(self, key: str, *params: Any) -> list[tuple[Any, ...]]:
        assert self._conn is not None, "setup() first"
        cursor = await self._conn.execute(_SQL[key], params)
        return list(await cursor.fetchall()) if cursor.description else []

    async def setup(self) -> None:
        try:
            import psycopg
        except ImportError:
            raise RuntimeError(
                "--db=postgresql://... needs psycopg 3:\n"
                "    python3 -m pip install 'psycopg[binary]'"
            ) from None
        # autocommit: each statement is its own transaction, like the SQLite side.
        self._conn = await psycopg.AsyncConnection.connect(self.url, autocommit=True)
        await self._conn.execute(_POSTGRES_SCHEMA)

    async def close(self) -> None:
        if self._conn is not None:
            await self._conn.close()
            self._conn = None


def repository_for(db: str) -> Repository:
    """A repository for ``db``: a ``postgresql://`` URL, or a SQLite file path (``sqlite:///`` optional)."""
    if db.startswith(("postgresql://", "postgres://")):
        return PostgresRepository(db)
    return SQLiteRepository(db.removeprefix("sqlite://"))


async def open_repository(db: str) -> Repository:
    """:func:`repository_for` ``db``, connected, its schema in place."""
    repository = repository_for(db)
    await repository.setup()
    return repository
