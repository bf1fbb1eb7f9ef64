"""StaticFileHandler: files from a directory, with versioned URLs, validators and ranges.

The handler answers GET and HEAD for one file below its root. Conditional
requests (``If-None-Match`` against a content-hash ``Etag``, or
``If-Modified-Since``) get 304; a single ``Range: bytes=...`` gets 206 or
416; anything else gets the whole file, read and sent in 64 KiB pieces with a
flush between pieces, so a large file never sits whole in memory.

URLs built by :meth:`StaticFileHandler.make_static_url` (what
``RequestHandler.static_url`` calls) carry ``?v=<hash of the content>``;
requests with a ``v`` argument are cached by browsers for
:attr:`StaticFileHandler.CACHE_MAX_AGE` seconds. Content hashes are kept in a
class-wide cache until :meth:`StaticFileHandler.reset` (or, with the
application setting ``static_hash_cache=False``, not kept at all).
"""

from __future__ import annotations

import datetime
import email.utils
import hashlib
import mimetypes
import os
import threading
from collections.abc import Awaitable, Generator, Iterable
from pathlib import Path
from typing import Any

from squall.httputil import format_timestamp
from squall.httputil._helpers import _get_content_range, _parse_request_range
from squall.iostream import StreamClosedError
from squall.log import gen_log

from ._errors import HTTPError
from ._handler import RequestHandler

__all__ = ["StaticFileHandler"]

_PIECE = 64 * 1024  # bytes read from disk and flushed to the client at a time
_UTC = datetime.timezone.utc
_OCTETS = "application/octet-stream"
# Compressed files go out as what they are (RFC 6713), never as their inner type.
_COMPRESSED_TYPES = {"gzip": "application/gzip"}


def _byte_span(range_header: str | None, size: int) -> tuple[int, int] | None:
    """The ``[start, stop)`` of a ``size``-byte file to send; None if the range is unsatisfiable.

    No header, an unparsable one or several ranges mean the whole file.
    """
    asked = _parse_request_range(range_header) if range_header else None
    if asked is None:
        return 0, size
    first, last = asked
    if first is None:  # "bytes=-0": the empty suffix
        return None
    start = first if first >= 0 else max(size + first, 0)
    stop = size if last is None else min(last, size)
    return (start, stop) if start < stop else None


def _http_date(text: str | None) -> datetime.datetime | None:
    """An HTTP date as an aware datetime; None when absent or unreadable."""
    if not text:
        return None
    try:
        moment = email.utils.parsedate_to_datetime(text)
    except (TypeError, ValueError):
        return None
    return _aware(moment)


def _aware(moment: datetime.datetime) -> datetime.datetime:
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=_UTC)


def _pieces(content: Iterable[bytes] | bytes) -> Iterable[bytes]:
    """``get_content`` may give one ``bytes`` or an iterable of them."""
    return (content,) if isinstance(content, bytes) else content


class StaticFileHandler(RequestHandler):
    """Serves the files below a directory (``initialize(path, default_filename=None)``).

    The application sets one up by itself for its ``static_path`` setting (at
    ``static_url_prefix``, default ``/static/``, plus ``/robots.txt`` and
    ``/favicon.ico``; ``static_handler_class`` and ``static_handler_args``
    customize it). To serve another directory, route a pattern with one
    capture group to it::

        Application([(r"/content/(.*)", StaticFileHandler, {"path": "/var/www"})])

    The captured group is the file's path below ``path``. With
    ``default_filename`` (e.g. ``"index.html"``) a request for a directory
    serves that file, after redirecting ``/dir`` to ``/dir/``; without it a
    directory is 403. Paths that leave the root, directly or through a
    symbolic link, are 403; missing files are 404.

    Every step is a method that subclasses may override: where files live
    (:meth:`get_absolute_path`, :meth:`validate_absolute_path`,
    :meth:`parse_url_path`), what they contain (:meth:`get_content`,
    :meth:`get_content_size`, :meth:`get_modified_time`,
    :meth:`get_content_version`, :meth:`get_content_type`) and how they are
    cached (:meth:`get_cache_time`, :meth:`compute_etag`,
    :meth:`should_return_304`, :meth:`set_extra_headers`).
    """

    CACHE_MAX_AGE = 86400 * 365 * 10
    """Seconds a browser may keep a versioned (``?v=``) response: ten years."""

    _versions: dict[str, str | None] = {}
    _versions_lock = threading.Lock()
    _stat_result: os.stat_result | None = None

    root: str
    default_filename: str | None
    path: str
    absolute_path: str
    modified: datetime.datetime | None

    def initialize(self, path: str, default_filename: str | None = None) -> None:  # type: ignore[override]
        """``path``: the directory served; ``default_filename``: served for a directory."""
        self.root, self.default_filename = path, default_filename

    @classmethod
    def reset(cls) -> None:
        """Forget every content hash computed so far (they are recomputed when next needed)."""
        with cls._versions_lock:
            cls._versions.clear()

    # -- serving ---------------------------------------------------------------------------

    def head(self, path: str) -> Awaitable[None]:
        """Like :meth:`get`, headers only (``Content-Length`` is still the body's)."""
        return self.get(path, False)

    async def get(self, path: str, include_body: bool = True) -> None:
        """Send the file at ``path`` (below the root), or a 304, 206, 416, 403 or 404."""
        self.path = self.parse_url_path(path)
        target = self.validate_absolute_path(
            self.root, self.get_absolute_path(self.root, self.path)
        )
        if target is None:  # validate_absolute_path answered by itself (a redirect)
            return
        self.absolute_path = target
        self.modified = self.get_modified_time()
        self.set_headers()
        if self.should_return_304():
            return self.set_status(304)
        size = self.get_content_size()
        span = _byte_span(self.request.headers.get("Range"), size)
        if span is None:
            return self._refuse_range(size)
        start, stop = span
        partial = stop - start != size
        if partial:
            self.set_status(206)
            self.set_header("Content-Range", _get_content_range(start, stop, size))
        self.set_header("Content-Length", stop - start)
        if include_body:
            limits = (start, stop) if partial else (None, None)
            await self._stream(self.get_content(target, *limits))

    def _refuse_range(self, size: int) -> None:
        self.set_status(416)
        for name, value in (("Content-Type", "text/plain"), ("Content-Range", f"bytes */{size}")):
            self.set_header(name, value)

    async def _stream(self, content: Iterable[bytes] | bytes) -> None:
        # A piece is flushed before the next one is read, so one at most is
        # held; the last goes out with finish().
        try:
            for index, piece in enumerate(_pieces(content)):
                if index:
                    await self.flush()
                self.write(piece)
        except StreamClosedError:
            pass  # the client went away; nothing left to do
        finally:
            if isinstance(content, Generator):
                content.close()

    def set_headers(self) -> None:
        """Set ``Accept-Ranges``, ``Etag``, ``Last-Modified``, ``Content-Type`` and cache headers."""
        content_type = self.get_content_type()
        fields: dict[str, str] = {"Accept-Ranges": "bytes"}
        if self.modified is not None:
            fields["Last-Modified"] = format_timestamp(self.modified)
        if content_type:
            fields["Content-Type"] = content_type
        lifetime = self.get_cache_time(self.path, self.modified, content_type)
        if lifetime > 0:
            expiry = datetime.datetime.now(_UTC) + datetime.timedelta(seconds=lifetime)
            fields["Expires"] = format_timestamp(expiry)
            fields["Cache-Control"] = f"max-age={lifetime}"
        self.set_etag_header()
        for name, value in fields.items():
            self.set_header(name, value)
        self.set_extra_headers(self.path)

    def should_return_304(self) -> bool:
        """Whether the client's copy is current (``If-None-Match``, else ``If-Modified-Since``)."""
        headers = self.request.headers
        if headers.get("If-None-Match"):
            return self.check_etag_header()
        told = _http_date(headers.get("If-Modified-Since"))
        return told is not None and self.modified is not None and told >= _aware(self.modified)

    # -- where files live --------------------------------------------------------------------

    @classmethod
    def get_absolute_path(cls, root: str, path: str) -> str:
        """Where ``path`` (relative to ``root``) is: by default an absolute filesystem path.

        Subclasses may return any string that is unique per resource and that
        their :meth:`get_content` understands.
        """
        return os.path.normpath(os.path.join(os.path.abspath(root), path))

    def validate_absolute_path(self, root: str, absolute_path: str) -> str | None:
        """Check ``absolute_path`` and return what to serve, or None after answering by itself.

        Raises :class:`HTTPError` 403 for a path outside ``root`` (after
        resolving symbolic links) or for a directory without
        ``default_filename``, and 404 for a missing file. A directory requested
        without its trailing slash is redirected (301) to the slashed URL.
        Called once per request; the result becomes ``self.absolute_path``.
        """
        base = Path(root).resolve()
        target = self._inside(base, Path(absolute_path))
        if self.default_filename is not None and target.is_dir():
            if not self.request.path.endswith("/"):
                self._add_slash()
                return None
            target = self._inside(base, target / self.default_filename)
        if not target.exists():
            raise HTTPError(404)
        if not target.is_file():
            raise HTTPError(403, "%s is not a regular file", self.path)
        return str(target)

    def _inside(self, base: Path, candidate: Path) -> Path:
        """``candidate`` with links resolved; 403 unless it is ``base`` or below it."""
        real = candidate.resolve()
        if real != base and base not in real.parents:
            raise HTTPError(403, "%s is outside the static root", self.path)
        return real

    def _add_slash(self) -> None:
        url_path = self.request.path
        if url_path.startswith("//"):  # the redirect would name another host
            raise HTTPError(403, "refusing to redirect %s (two leading slashes)", url_path)
        self.redirect(url_path + "/", permanent=True)

    def parse_url_path(self, url_path: str) -> str:
        """Turn the captured URL path into a path below the root (the inverse of :meth:`make_static_url`)."""
        return url_path if os.sep == "/" else url_path.replace("/", os.sep)

    # -- what files contain ------------------------------------------------------------------

    @classmethod
    def get_content(
        cls, abspath: str, start: int | None = None, end: int | None = None
    ) -> Generator[bytes, None, None]:
        """Yield the bytes of ``abspath`` from ``start`` up to (not including) ``end``, 64 KiB at a time.

        ``None`` means the start or the end of the file; a negative ``start``
        counts from the end. Subclasses may return a single ``bytes`` instead.
        The file's size when it is opened bounds what is read.
        """
        with open(abspath, "rb", buffering=0) as source:
            size = os.fstat(source.fileno()).st_size
            offset = 0 if start is None else start if start >= 0 else max(size + start, 0)
            stop = size if end is None else min(end, size)
            source.seek(offset)
            while offset < stop:
                piece = source.read(min(_PIECE, stop - offset))
                if not piece:
                    break
                offset += len(piece)
                yield piece

    @classmethod
    def get_content_version(cls, abspath: str) -> str:
        """The version of ``abspath`` used in URLs and ``Etag``: SHA-512 of its content, in hex."""
        digest = hashlib.sha512()
        for piece in _pieces(cls.get_content(abspath)):
            digest.update(piece)
        return digest.hexdigest()

    def _stat(self) -> os.stat_result:
        known = self._stat_result
        if known is None:
            known = self._stat_result = os.stat(self.absolute_path)
        return known

    def get_content_size(self) -> int:
        """The size in bytes of the file being served."""
        return self._stat().st_size

    def get_modified_time(self) -> datetime.datetime | None:
        """When the file was last modified (an aware UTC datetime, whole seconds), or None."""
        return datetime.datetime.fromtimestamp(int(self._stat().st_mtime), _UTC)

    def get_content_type(self) -> str:
        """The ``Content-Type`` for the file, guessed from its name by :mod:`mimetypes`.

        A compressed file is sent as what it is: ``.gz`` as
        ``application/gzip``, any other encoding (``.bz2``, ``.Z``, ...) as
        ``application/octet-stream``; unknown types too.
        """
        kind, encoding = mimetypes.guess_type(self.absolute_path)
        if encoding:
            return _COMPRESSED_TYPES.get(encoding, _OCTETS)
        return kind or _OCTETS

    # -- caching -----------------------------------------------------------------------------

    def set_extra_headers(self, path: str) -> None:
        """Hook for subclasses to add headers to every response (does nothing)."""

    def get_cache_time(self, path: str, modified: datetime.datetime | None, mime_type: str) -> int:
        """Seconds the response may be cached: :attr:`CACHE_MAX_AGE` for ``?v=`` URLs, else 0.

        0 sends no ``Expires``/``Cache-Control`` (browsers revalidate with the
        ``Etag`` and ``Last-Modified`` validators).
        """
        versioned = "v" in self.request.arguments
        return self.CACHE_MAX_AGE if versioned else 0

    def compute_etag(self) -> str | None:
        """The ``Etag``: the quoted content version, the same for full and partial responses."""
        version = self._cached_version(self.absolute_path, self.settings)
        return f'"{version}"' if version else None

    @classmethod
    def make_static_url(
        cls, settings: dict[str, Any], path: str, include_version: bool = True
    ) -> str:
        """The URL (relative to the host) of static file ``path``, with ``?v=<version>``.

        ``settings`` are the application's (``static_url_prefix``, default
        ``/static/``; ``static_path``). Without ``include_version``, or when
        no version can be computed (a missing file), there is no query.
        """
        url = f"{settings.get('static_url_prefix', '/static/')}{path}"
        version = cls.get_version(settings, path) if include_version else None
        return f"{url}?v={version}" if version else url

    @classmethod
    def get_version(cls, settings: dict[str, Any], path: str) -> str | None:
        """The version string of static file ``path`` (under ``settings["static_path"]``), or None."""
        return cls._cached_version(cls.get_absolute_path(settings["static_path"], path), settings)

    @classmethod
    def _cached_version(cls, abspath: str, settings: dict[str, Any]) -> str | None:
        """The content version, remembered per path unless ``static_hash_cache`` is off."""
        remember = settings.get("static_hash_cache", True)
        versions = cls._versions
        if remember and abspath in versions:
            return versions[abspath]
        try:
            version: str | None = cls.get_content_version(abspath)
        except Exception as exc:  # a missing or unreadable file has no version
            gen_log.error("Cannot version static file %r: %s", abspath, exc)
            version = None
        if remember:
            with cls._versions_lock:
                versions[abspath] = version
        return version
