"""MultipartStreamHandler: uploads received part by part, through a real HTTPServer on 127.0.0.1."""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import textwrap
import time
from collections.abc import Callable
from typing import Any

from squall.httpclient import AsyncHTTPClient, HTTPResponse
from squall.httputil import MultipartPart
from squall.log import gen_log
from squall.testing import AsyncHTTPTestCase, ExpectLog, gen_test
from squall.web import Application, MultipartStreamHandler

BOUNDARY = "squall-boundary-1234"
CONTENT_TYPE = f"multipart/form-data; boundary={BOUNDARY}"


def field(name: str, value: bytes) -> bytes:
    return (
        f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n'.encode()
        + value
        + b"\r\n"
    )


def upload(name: str, filename: str, data: bytes, content_type: str = "text/plain") -> bytes:
    return (
        (
            f"--{BOUNDARY}\r\n"
            f'Content-Disposition: form-data; name="{name}"; filename="{filename}"\r\n'
            f"Content-Type: {content_type}\r\n\r\n"
        ).encode()
        + data
        + b"\r\n"
    )


CLOSE = f"--{BOUNDARY}--\r\n".encode()
PAYLOAD = bytes(range(256)) * 2000 + b"\r\n--squall-boundary-123 not quite\r\n"


class RecordingHandler(MultipartStreamHandler):
    """Keeps every callback in ``self.application.settings['log']``."""

    def prepare(self) -> None:
        self.log: list[Any] = self.settings["log"]
        self.pieces: list[int] = []

    def on_part_start(self, part: MultipartPart) -> None:
        self.log.append(("start", part.name, part.filename, part.content_type))
        self.data: list[bytes] = []

    def on_part_data(self, part: MultipartPart, data: bytes) -> None:
        assert data
        self.data.append(data)

    def on_part_end(self, part: MultipartPart) -> None:
        self.log.append(("end", part.name, b"".join(self.data)))

    def post(self) -> None:
        self.log.append(("post",))
        self.write(
            {
                "title": self.get_body_argument("title"),
                "tags": self.get_arguments("tag"),
                "files": self.request.files,
                "body": self.request.body.decode(),
            }
        )

    def get(self) -> None:
        self.write("the upload form")


class AsyncRecordingHandler(RecordingHandler):
    """The same with coroutine callbacks that yield to the loop each time.

    Its ``prepare`` derives ``request.arguments`` before the body: fields must still reach it.
    """

    def prepare(self) -> None:
        super().prepare()
        assert self.request.arguments == {}

    async def on_part_start(self, part: MultipartPart) -> None:  # type: ignore[override]
        await asyncio.sleep(0)
        super().on_part_start(part)

    async def on_part_data(self, part: MultipartPart, data: bytes) -> None:  # type: ignore[override]
        await asyncio.sleep(0)
        super().on_part_data(part, data)

    async def on_part_end(self, part: MultipartPart) -> None:  # type: ignore[override]
        await asyncio.sleep(0)
        super().on_part_end(part)

    async def post(self) -> None:  # type: ignore[override]
        await asyncio.sleep(0)
        super().post()


class FailingHandler(MultipartStreamHandler):
    async def on_part_data(self, part: MultipartPart, data: bytes) -> None:
        raise RuntimeError("disk full")

    def post(self) -> None:
        self.write("unreachable")


class SmallLimitsHandler(RecordingHandler):
    max_parts = 3
    max_field_size = 16


class MultipartStreamTest(AsyncHTTPTestCase):
    def get_app(self) -> Application:
        self.log: list[Any] = []
        return Application(
            [
                (r"/sync", RecordingHandler),
                (r"/async", AsyncRecordingHandler),
                (r"/failing", FailingHandler),
                (r"/small", SmallLimitsHandler),
            ],
            log=self.log,
        )

    def post(self, path: str, body: bytes, content_type: str = CONTENT_TYPE) -> HTTPResponse:
        headers = {"Content-Type": content_type}
        response: HTTPResponse = self.fetch(path, method="POST", body=body, headers=headers)
        return response

    def check_upload(self, path: str) -> None:
        body = (
            b"preamble\r\n"
            + field("title", "caf\xe9".encode())
            + upload("doc", "a.txt", b"hello\r\nworld")
            + field("tag", b"x")
            + upload("doc", "b.bin", PAYLOAD, "application/octet-stream")
            + field("tag", b"y")
            + CLOSE
        )
        response = self.post(path, body)
        assert response.code == 200, response.body
        assert json.loads(response.body) == {
            "title": "caf\xe9",
            "tags": ["x", "y"],
            "files": {},
            "body": "",
        }
        assert self.log == [
            ("start", "doc", "a.txt", "text/plain"),
            ("end", "doc", b"hello\r\nworld"),
            ("start", "doc", "b.bin", "application/octet-stream"),
            ("end", "doc", PAYLOAD),
            ("post",),
        ]

    def test_files_stream_through_callbacks_and_fields_become_arguments(self) -> None:
        self.check_upload("/sync")

    def test_coroutine_callbacks(self) -> None:
        self.check_upload("/async")

    def test_get_without_a_body_runs_normally(self) -> None:
        response = self.fetch("/sync")
        assert (response.code, response.body) == (200, b"the upload form")

    def test_malformed_bodies_get_400_and_the_verb_never_runs(self) -> None:
        cases = [
            (field("title", b"t"), CONTENT_TYPE, "truncated"),  # no close delimiter
            (b"--" + BOUNDARY.encode() + b"junk\r\n", CONTENT_TYPE, "after a multipart boundary"),
            (b"title=t", "application/x-www-form-urlencoded", "not a multipart"),
            (CLOSE, "multipart/form-data", "without a boundary"),
            (
                f"--{BOUNDARY}\r\nContent-Disposition: form-data\r\n\r\nx\r\n".encode() + CLOSE,
                CONTENT_TYPE,
                "without a field name",
            ),
        ]
        for body, content_type, reason in cases:
            self.log.clear()
            with ExpectLog(gen_log, f".*bad multipart/form-data body: .*{reason}"):
                response = self.post("/sync", body, content_type)
            assert response.code == 400, (body, response.code)
            assert ("post",) not in self.log

    def test_limits(self) -> None:
        body = field("title", b"t") + field("tag", b"1") + field("tag", b"2") + CLOSE
        assert self.post("/small", body).code == 200
        with ExpectLog(gen_log, ".*more than 3 multipart parts"):
            response = self.post("/small", field("tag", b"0") + body)
        assert response.code == 400
        with ExpectLog(gen_log, ".*multipart field larger than 16 bytes"):
            response = self.post("/small", field("title", b"x" * 17) + CLOSE)
        assert response.code == 400

    def test_a_failing_callback_is_a_500(self) -> None:
        with ExpectLog("squall.application", "Uncaught exception POST /failing"):
            response = self.post("/failing", upload("f", "f.bin", b"data") + CLOSE)
        assert response.code == 500

    @gen_test
    async def test_curl_form_upload(self) -> None:
        curl = shutil.which("curl")
        if curl is None:
            self.skipTest("curl is not installed")
        with tempfile.NamedTemporaryFile(suffix=".bin") as source:
            source.write(PAYLOAD)
            source.flush()
            process = await asyncio.create_subprocess_exec(
                curl, "-s", "-F", "title=from curl", "-F",
                f"doc=@{source.name};type=application/x-test", self.get_url("/sync"),
                stdout=asyncio.subprocess.PIPE,
            )  # fmt: skip
            output, _ = await process.communicate()
        assert json.loads(output)["title"] == "from curl"
        name = os.path.basename(source.name)
        assert self.log == [
            ("start", "doc", name, "application/x-test"),
            ("end", "doc", PAYLOAD),
            ("post",),
        ]


# -- a 200 MB upload to a server in another process, with its memory watched -------------------

_SERVER = textwrap.dedent(
    """
    import asyncio, hashlib, json, os, sys, tempfile
    from squall.httpserver import HTTPServer
    from squall.netutil import bind_sockets
    from squall.web import Application
    from squall.web import MultipartStreamHandler

    def high_water_kib():
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
        return 0

    class Sink(MultipartStreamHandler):
        max_body_size = 512 * 1024 * 1024

        def on_part_start(self, part):
            self.file = tempfile.TemporaryFile(dir=sys.argv[1])
            self.digest = hashlib.sha256()

        def on_part_data(self, part, data):
            self.file.write(data)
            self.digest.update(data)
            if sys.argv[2] == "async":
                return asyncio.sleep(0)

        def on_part_end(self, part):
            self.size = self.file.tell()
            self.file.close()

        def post(self):
            self.write({"size": self.size, "sha256": self.digest.hexdigest(),
                        "name": self.get_body_argument("name"),
                        "peak_kib": high_water_kib()})

    async def main():
        sockets = bind_sockets(0, "127.0.0.1")
        HTTPServer(Application([(r"/upload", Sink)])).add_sockets(sockets)
        port = sockets[0].getsockname()[1]
        print(json.dumps({"port": port, "peak_kib": high_water_kib()}), flush=True)
        await asyncio.Event().wait()

    asyncio.run(main())
    """
)


def _start_server(scratch: str, mode: str) -> tuple[subprocess.Popen[str], dict[str, Any]]:
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path))
    process = subprocess.Popen(
        [sys.executable, "-c", _SERVER, scratch, mode], stdout=subprocess.PIPE, text=True, env=env
    )
    assert process.stdout is not None
    line = process.stdout.readline()
    return process, json.loads(line)


UPLOAD_HEAD = field("name", b"big.bin") + upload("file", "big.bin", b"", "application/x-big")[:-2]
UPLOAD_TAIL = b"\r\n" + CLOSE


def _body_producer(total: int, digest: Any) -> Callable[[Callable[[bytes], Any]], Any]:
    """Writes the upload in 64 KiB pieces, each waiting for the socket to drain."""
    block = hashlib.sha256(b"squall").digest() * (65536 // 32)  # no CR anywhere

    async def produce(write: Callable[[bytes], Any]) -> None:
        await write(UPLOAD_HEAD)
        sent = 0
        for counter in range(total // len(block) + 1):
            piece = (counter.to_bytes(8, "big") + block[8:])[: total - sent]
            if not piece:
                break
            digest.update(piece)
            sent += len(piece)
            await write(piece)
        await write(UPLOAD_TAIL)

    return produce


def _upload_through_a_server_process(total: int, mode: str) -> float:
    """Upload ``total`` bytes; check what the server stored; return its peak RSS growth in MiB."""
    scratch = tempfile.mkdtemp(prefix="squall-upload-")
    process, started = _start_server(scratch, mode)
    try:
        digest = hashlib.sha256()
        length = len(UPLOAD_HEAD) + total + len(UPLOAD_TAIL)

        async def run() -> HTTPResponse:
            client = AsyncHTTPClient(force_instance=True)
            try:
                response: HTTPResponse = await client.fetch(
                    f"http://127.0.0.1:{started['port']}/upload",
                    method="POST",
                    headers={"Content-Type": CONTENT_TYPE, "Content-Length": str(length)},
                    body_producer=_body_producer(total, digest),
                    request_timeout=120,
                )
                return response
            finally:
                client.close()

        began = time.monotonic()
        response = asyncio.run(run())
        elapsed = time.monotonic() - began
        assert response.code == 200
        answer = json.loads(response.body)
        assert answer["size"] == total
        assert answer["sha256"] == digest.hexdigest()
        assert answer["name"] == "big.bin"
        growth: float = (answer["peak_kib"] - started["peak_kib"]) / 1024
        print(
            f"{total >> 20} MiB upload ({mode}): {elapsed:.1f} s, server peak RSS +{growth:.1f} MiB"
        )
        return growth
    finally:
        process.kill()
        process.wait()
        assert process.stdout is not None
        process.stdout.close()
        shutil.rmtree(scratch)


def test_200_megabyte_upload_streams_in_bounded_memory() -> None:
    assert _upload_through_a_server_process(200 * 1024 * 1024, "sync") < 64


def test_upload_with_coroutine_callbacks_streams_in_bounded_memory() -> None:
    assert _upload_through_a_server_process(48 * 1024 * 1024, "async") < 24
