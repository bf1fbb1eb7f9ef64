"""Large uploads, streamed to disk as they arrive, with a progress bar.

    python demos/upload/upload.py [--port 8888] [--address 127.0.0.1] [--folder DIR]

The upload handler is a :class:`squall.web.MultipartStreamHandler`: the
``multipart/form-data`` body is parsed chunk by chunk and each file's bytes
go straight to a ``.part`` file (written in a worker thread, hashed with
SHA-256 on the way), so a multi-gigabyte upload needs no more memory than a
small one. While a chunk is being written no more of the body is read: a
slow disk slows the sender down instead of filling memory. A file is renamed
into place only once complete; an upload cut short leaves nothing behind.

The page sends the form with ``XMLHttpRequest`` and draws its upload
``progress`` events. The XSRF token travels in the ``X-XSRFToken`` header:
a streamed body is not parsed yet when the token is checked, before the
first byte of it is read.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime
import hashlib
import os
import re
import secrets
import tempfile
from typing import IO, Any

import squall.httputil
import squall.ioloop
import squall.web

HERE = os.path.dirname(os.path.abspath(__file__))


class Shelf:
    """The folder uploads land in, and what is known about each finished file."""

    def __init__(self, folder: str) -> None:
        self.folder = folder
        self.files: list[dict[str, Any]] = []

    def slot(self, filename: str) -> str:
        """A fresh file name for an upload called ``filename`` (never a path, never reused)."""
        base = re.sub(r"[^\w.-]+", "_", filename.replace("\\", "/").rsplit("/", 1)[-1])
        return secrets.token_hex(4) + "-" + (base.strip("._")[-80:] or "file")

    def keep(self, record: dict[str, Any]) -> None:
        self.files.append(record)


class _Incoming:
    """One file being received: its ``.part`` file and running size and hash."""

    def __init__(self, filename: str, stored: str, sink: IO[bytes]) -> None:
        self.filename = filename
        self.stored = stored
        self.sink = sink
        self.size = 0
        self.digest = hashlib.sha256()

    def absorb(self, data: bytes) -> None:  # runs in a worker thread
        self.sink.write(data)
        self.digest.update(data)
        self.size += len(data)


class ShelfHandler(squall.web.RequestHandler):
    def initialize(self, shelf: Shelf, prefix: str) -> None:
        self.shelf = shelf
        self.prefix = prefix

    def get_template_namespace(self) -> dict[str, Any]:
        namespace = super().get_template_namespace()
        namespace["prefix"] = self.prefix
        namespace["human_size"] = human_size
        return namespace


class UploadPage(ShelfHandler):
    def get(self) -> None:
        self.render("upload.html", files=self.shelf.files)


class FileList(ShelfHandler):
    def get(self) -> None:
        self.write({"files": self.shelf.files})


class UploadHandler(squall.web.MultipartStreamHandler):
    """``POST`` a ``multipart/form-data`` body with any number of files (and fields)."""

    max_body_size = 8 * 1024**3

    def initialize(self, shelf: Shelf, prefix: str) -> None:
        self.shelf = shelf
        self.prefix = prefix
        self.incoming: _Incoming | None = None
        self.received: list[dict[str, Any]] = []

    def _path(self, stored: str) -> str:
        return os.path.join(self.shelf.folder, stored)

    def on_part_start(self, part: squall.httputil.MultipartPart) -> None:
        if not part.filename:  # a file input left empty
            return
        stored = self.shelf.slot(part.filename)
        sink = open(self._path(stored) + ".part", "wb")  # noqa: SIM115 (closed in on_part_end)
        self.incoming = _Incoming(part.filename, stored, sink)

    async def on_part_data(self, part: squall.httputil.MultipartPart, data: bytes) -> None:
        if self.incoming is not None:
            await asyncio.get_running_loop().run_in_executor(None, self.incoming.absorb, data)

    def on_part_end(self, part: squall.httputil.MultipartPart) -> None:
        incoming, self.incoming = self.incoming, None
        if incoming is None:
            return
        incoming.sink.close()
        os.replace(self._path(incoming.stored) + ".part", self._path(incoming.stored))
        record = {
            "name": incoming.filename,
            "stored": incoming.stored,
            "size": incoming.size,
            "sha256": incoming.digest.hexdigest(),
            "content_type": part.content_type,
            "note": self.get_body_argument("note", ""),
            "when": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        }
        self.shelf.keep(record)
        self.received.append(record)

    def post(self) -> None:
        if "application/json" in self.request.headers.get("Accept", ""):
            self.write({"files": self.received})
        else:  # the form posted without JavaScript
            self.redirect(self.prefix + "/")

    def _discard_partial(self) -> None:
        incoming, self.incoming = self.incoming, None
        if incoming is not None:
            incoming.sink.close()
            os.remove(self._path(incoming.stored) + ".part")

    def on_connection_close(self) -> None:
        self._discard_partial()

    def on_finish(self) -> None:
        self._discard_partial()  # a 400 for a broken body ends here with a file open


class Download(squall.web.StaticFileHandler):
    """Finished uploads, always as attachments (never rendered as a page of this site)."""

    def set_extra_headers(self, path: str) -> None:
        self.set_header("Content-Disposition", "attachment")
        self.set_header("X-Content-Type-Options", "nosniff")


def human_size(size: float) -> str:
    for unit in ("bytes", "KB", "MB", "GB"):
        if size < 1024 or unit == "GB":
            return f"{size:.0f} {unit}" if unit == "bytes" else f"{size:.1f} {unit}"
        size /= 1024
    raise AssertionError("unreachable")


def make_app(
    prefix: str = "", *, folder: str | None = None, debug: bool = False
) -> squall.web.Application:
    """The upload demo under ``prefix``; files go to ``folder`` (a new temporary one by default)."""
    shelf = Shelf(folder or tempfile.mkdtemp(prefix="squall-uploads-"))
    shared = {"shelf": shelf, "prefix": prefix}
    return squall.web.Application(
        [
            (prefix + "/", UploadPage, shared),
            (prefix + "/upload", UploadHandler, shared),
            (prefix + "/files", FileList, shared),
            (prefix + r"/files/([^/]+)", Download, {"path": shelf.folder}),
        ],
        template_path=os.path.join(HERE, "templates"),
        static_path=os.path.join(HERE, "static"),
        static_url_prefix=prefix + "/static/",
        xsrf_cookies=True,
        debug=debug,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description="squall's streaming upload demo")
    parser.add_argument("--port", type=int, default=8888)
    parser.add_argument("--address", default="127.0.0.1")
    parser.add_argument("--folder", help="where uploads are kept (default: a new temporary folder)")
    parser.add_argument("--debug", action="store_true", help="reload on source changes")
    args = parser.parse_args()
    folder = args.folder or tempfile.mkdtemp(prefix="squall-uploads-")
    os.makedirs(folder, exist_ok=True)
    make_app(folder=folder, debug=args.debug).listen(args.port, args.address)
    print(f"upload demo on http://{args.address}:{args.port}/  (Ctrl-C stops it)", flush=True)
    print(f"uploads are kept in {folder}", flush=True)
    try:
        squall.ioloop.IOLoop.current().start()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
