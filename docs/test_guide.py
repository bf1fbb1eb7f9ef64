"""Run every Python example of the documentation, so the docs cannot rot.

``python -m pytest docs/test_guide.py`` (the ``docs`` tox env does) runs each
page of ``docs/`` that holds a ``.. code-block:: python`` in a fresh Python
process of its own, with a fresh working directory, and fails on the first
example that raises. How a page is executed:

* Its code blocks run in the order they appear, in one shared namespace, as
  if a reader typed them into one session. ``__name__`` is ``"__guide__"``,
  so ``if __name__ == "__main__":`` sections are left out of that run (a
  check can still run the file as a script, see below).
* A block with a ``:caption:`` that names a relative file (``app.py``,
  ``templates/home.html``, ``translations/es.csv``) is also written to that
  path in the working directory first, so templates, CSV files and modules
  the examples use are real files. That directory is the current directory
  and is on ``sys.path``.
* A comment that starts with ``.. check:`` holds hidden Python that runs at
  that point in the same namespace: it drives the examples above it (starts
  a server on a free port, sends requests, runs a script or pytest) and
  asserts what the prose promises. Readers never see it.
* A comment ``.. skip-next: <reason>`` leaves the next code block out. It is
  for fragments that cannot run on their own; the reason is mandatory.

Checks reach the helpers below through the name ``guide`` (a :class:`Guide`):
``guide.serve(app)`` serves an application from a background thread and
returns its base URL; ``guide.browser(base)`` is a small cookie-keeping HTTP
client (no redirects followed); ``guide.script(name, port)`` runs a file of
the page as ``__main__`` with ``8888`` replaced by a free port, and waits
until it listens; ``guide.pytest(name)`` runs pytest on a file of the page;
``guide.nginx(conf)`` starts nginx with a config (``None`` when nginx is not
installed). Every wait is bounded, every process and thread is stopped at the
end of the page.
"""

from __future__ import annotations

import asyncio
import contextlib
import http.client
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import traceback
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass, field
from http.cookies import SimpleCookie
from pathlib import Path
from typing import Any

import pytest

DOCS = Path(__file__).resolve().parent
ROOT = DOCS.parent

_DIRECTIVE = re.compile(r"^(?P<indent>\s*)\.\. code-block::\s*(?P<lang>\S+)\s*$")
_OPTION = re.compile(r"^\s+:(?P<name>[\w-]+):\s*(?P<value>.*)$")
_CHECK = re.compile(r"^(?P<indent>\s*)\.\. check:\s*$")
_SKIP = re.compile(r"^\s*\.\. skip-next:\s*(?P<reason>\S.*)$")
_FILE_CAPTION = re.compile(r"^[\w./-]+\.\w+$")
_PAGE_TIMEOUT = 240


@dataclass
class Chunk:
    """One runnable piece of a page: a visible code block or a hidden check."""

    kind: str  # "code", "check" or "file" (a non-Python block written to disk)
    line: int  # where it starts in the .rst file (1-based)
    text: str
    lang: str = "python"
    caption: str | None = None
    skip: str | None = None


def _indented_body(lines: list[str], start: int, indent: int) -> tuple[str, int]:
    """Collect the lines after ``start`` indented deeper than ``indent``."""
    body: list[str] = []
    i = start
    while i < len(lines):
        line = lines[i]
        if line.strip() and len(line) - len(line.lstrip()) <= indent:
            break
        body.append(line)
        i += 1
    while body and not body[-1].strip():
        body.pop()
    width = min((len(b) - len(b.lstrip()) for b in body if b.strip()), default=0)
    return "\n".join(b[width:] for b in body) + "\n", i


def parse(path: Path) -> list[Chunk]:
    """Split an .rst page into its code blocks and hidden checks, in order."""
    lines = path.read_text(encoding="utf-8").splitlines()
    chunks: list[Chunk] = []
    pending_skip: str | None = None
    i = 0
    while i < len(lines):
        line = lines[i]
        skip = _SKIP.match(line)
        if skip:
            pending_skip = skip["reason"]
            i += 1
            continue
        check = _CHECK.match(line)
        if check:
            start = i + 1
            text, i = _indented_body(lines, i + 1, len(check["indent"]))
            chunks.append(Chunk("check", start, text))
            continue
        block = _DIRECTIVE.match(line)
        if not block:
            i += 1
            continue
        start = i + 1
        options: dict[str, str] = {}
        i += 1
        while i < len(lines) and _OPTION.match(lines[i]):
            option = _OPTION.match(lines[i])
            assert option is not None
            options[option["name"]] = option["value"].strip()
            i += 1
        text, i = _indented_body(lines, i, len(block["indent"]))
        caption = options.get("caption")
        if caption is not None and not _FILE_CAPTION.match(caption):
            caption = None
        lang = block["lang"]
        kind = "code" if lang == "python" else "file"
        chunks.append(Chunk(kind, start, text, lang, caption, pending_skip))
        pending_skip = None
    return chunks


def pages() -> list[Path]:
    """Every page of the site that holds a Python example."""
    found = []
    for path in sorted(DOCS.rglob("*.rst")):
        if "_build" in path.parts:
            continue
        if any(c.kind == "code" for c in parse(path)):
            found.append(path)
    return found


# -- helpers for the hidden checks ------------------------------------------


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def wait_for_port(port: int, timeout: float = 15.0, process: Any = None) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return
        except OSError:
            pass
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"the process exited ({process.returncode}) before listening")
        if time.monotonic() > deadline:
            raise TimeoutError(f"nothing listens on port {port} after {timeout} s")
        time.sleep(0.05)


@dataclass
class Response:
    code: int
    headers: http.client.HTTPMessage
    body: bytes

    @property
    def text(self) -> str:
        return self.body.decode("utf-8")

    def json(self) -> Any:
        return json.loads(self.body)


def request(
    url: str,
    method: str = "GET",
    body: bytes | None = None,
    headers: dict[str, str] | None = None,
    timeout: float = 15.0,
) -> Response:
    """One HTTP request with the standard library; no redirect is followed."""
    parts = urllib.parse.urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname or "", parts.port, timeout=timeout)
    try:
        target = parts.path or "/"
        if parts.query:
            target += "?" + parts.query
        conn.request(method, target, body=body, headers=headers or {})
        reply = conn.getresponse()
        return Response(reply.status, reply.headers, reply.read())
    finally:
        conn.close()


@dataclass
class Browser:
    """Keeps cookies between requests to one site, like a browser would."""

    base: str
    cookies: dict[str, str] = field(default_factory=dict)

    def fetch(
        self,
        path: str,
        method: str = "GET",
        form: dict[str, str] | None = None,
        body: bytes | None = None,
        headers: dict[str, str] | None = None,
    ) -> Response:
        sent = dict(headers or {})
        if form is not None:
            body = urllib.parse.urlencode(form).encode()
            sent.setdefault("Content-Type", "application/x-www-form-urlencoded")
        if self.cookies:
            sent["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        reply = request(self.base + path, method, body, sent)
        for header in reply.headers.get_all("Set-Cookie") or []:
            jar: SimpleCookie = SimpleCookie()
            jar.load(header)
            for name, morsel in jar.items():
                if morsel["expires"] and "1970" in morsel["expires"]:
                    self.cookies.pop(name, None)
                else:
                    self.cookies[name] = morsel.value
        return reply


class Guide:
    """What a hidden check can use; one per page, cleaned up at its end."""

    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        self.blocks: dict[str, str] = {}
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._processes: list[subprocess.Popen[bytes]] = []
        self.free_port = free_port
        self.wait_for_port = wait_for_port
        self.request = request

    # servers on a background event loop
    def _background(self) -> asyncio.AbstractEventLoop:
        if self._loop is None:
            ready = threading.Event()

            def run() -> None:
                loop = asyncio.new_event_loop()
                asyncio.set_event_loop(loop)
                self._loop = loop
                ready.set()
                loop.run_forever()
                loop.run_until_complete(loop.shutdown_asyncgens())
                loop.close()

            self._thread = threading.Thread(target=run, name="guide-server", daemon=True)
            self._thread.start()
            if not ready.wait(10):
                raise TimeoutError("the server thread did not start")
        assert self._loop is not None
        return self._loop

    def call(self, function: Callable[[], Any], timeout: float = 15.0) -> Any:
        """Run ``function()`` on the server thread's loop (awaiting it if it is a coroutine)."""

        async def step() -> Any:
            result = function()
            if asyncio.iscoroutine(result):
                result = await result
            return result

        future = asyncio.run_coroutine_threadsafe(step(), self._background())
        return future.result(timeout)

    def serve(self, app: Any, **server_options: Any) -> str:
        """Serve ``app`` on a free 127.0.0.1 port; returns ``http://127.0.0.1:<port>``."""
        from squall.httpserver import HTTPServer
        from squall.netutil import bind_sockets

        def start() -> int:
            sockets = bind_sockets(0, "127.0.0.1")
            HTTPServer(app, **server_options).add_sockets(sockets)
            return int(sockets[0].getsockname()[1])

        return f"http://127.0.0.1:{self.call(start)}"

    def browser(self, base: str) -> Browser:
        return Browser(base)

    # processes
    def _spawn(self, args: list[str], env: dict[str, str] | None = None) -> subprocess.Popen[bytes]:
        process = subprocess.Popen(
            args,
            cwd=self.workdir,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self._processes.append(process)
        return process

    def script(
        self, name: str, port: int | None = None, args: tuple[str, ...] = ()
    ) -> subprocess.Popen[bytes]:
        """Run the page's file ``name`` as a script, ``8888`` replaced by ``port``."""
        source = (self.workdir / name).read_text()
        if port is not None:
            source = source.replace("8888", str(port))
        runnable = self.workdir / f"_run_{Path(name).name}"
        runnable.write_text(source)
        env = dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path))
        process = self._spawn([sys.executable, str(runnable), *args], env)
        if port is not None:
            wait_for_port(port, process=process)
        return process

    def pytest(self, *args: str) -> subprocess.CompletedProcess[str]:
        """Run pytest in the working directory; returns the finished process."""
        env = dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path))
        return subprocess.run(
            [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *args],
            cwd=self.workdir,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )

    def nginx(self, conf: str) -> int | None:
        """Start nginx on ``conf`` after ``nginx -t`` accepts it; its pid, or None without nginx.

        Temporary-file paths go into the ``http`` block; ``pid``, ``daemon``
        and the error log are given on the command line, so ``conf`` must not
        set them.
        """
        binary = shutil.which("nginx") or (
            "/usr/sbin/nginx" if os.path.exists("/usr/sbin/nginx") else None
        )
        if binary is None:
            if os.environ.get("CI") == "true":
                raise RuntimeError("nginx is not installed (apt-get install nginx)")
            print("    nginx is not installed: its part of the page is skipped")
            return None
        prefix = self.workdir / "nginx"
        (prefix / "logs").mkdir(parents=True, exist_ok=True)
        temps = "".join(
            f"    {kind}_temp_path {prefix / kind};\n"
            for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
        )
        conf = conf.replace("http {\n", "http {\n" + temps, 1)
        if os.geteuid() == 0:
            conf = "user root root;\n" + conf
        path = prefix / "nginx.conf"
        path.write_text(conf)
        globals_ = f"daemon off; pid {prefix / 'nginx.pid'};"
        flags = ["-p", str(prefix), "-c", str(path), "-e", str(prefix / "logs" / "error.log")]
        check = subprocess.run(
            [binary, "-t", *flags, "-g", globals_],
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )
        assert check.returncode == 0, check.stderr
        process = self._spawn([binary, *flags, "-g", globals_])
        return process.pid

    def close(self) -> None:
        for process in reversed(self._processes):
            if process.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(process.pid, signal.SIGTERM)
                try:
                    process.wait(10)
                except subprocess.TimeoutExpired:
                    with contextlib.suppress(ProcessLookupError):
                        os.killpg(process.pid, signal.SIGKILL)
                    process.wait(10)
        if self._loop is not None and self._thread is not None:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(10)


def run_page(page: Path, workdir: Path) -> int:
    """Execute one page (in this process); print a line per chunk; 0 when all passed."""
    os.chdir(workdir)
    sys.path.insert(0, str(workdir))
    guide = Guide(workdir)
    namespace: dict[str, Any] = {"__name__": "__guide__", "guide": guide}
    counts = {"code": 0, "check": 0, "file": 0, "skipped": 0}
    name = page.relative_to(DOCS)
    try:
        for chunk in parse(page):
            where = f"{name}:{chunk.line}"
            if chunk.skip is not None:
                counts["skipped"] += 1
                print(f"  skip  {where} ({chunk.skip})")
                continue
            if chunk.caption:
                target = workdir / chunk.caption
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_text(chunk.text, encoding="utf-8")
                guide.blocks[chunk.caption] = chunk.text
            if chunk.kind == "file":
                counts["file"] += chunk.caption is not None
                continue
            print(f"  {chunk.kind:5} {where}", flush=True)
            code = compile(chunk.text, f"{where} ({chunk.kind})", "exec")
            try:
                exec(code, namespace)
            except BaseException:
                traceback.print_exc()
                print(f"FAILED at {where}")
                return 1
            counts[chunk.kind] += 1
    finally:
        guide.close()
    print(
        f"{name}: {counts['code']} code blocks and {counts['check']} checks passed, "
        f"{counts['file']} files written, {counts['skipped']} skipped"
    )
    return 0


# -- the pytest side --------------------------------------------------------


@pytest.mark.parametrize("page", pages(), ids=lambda p: str(p.relative_to(DOCS)))
def test_page_examples_run(page: Path, tmp_path: Path) -> None:
    env = dict(os.environ)
    roots = [str(p) for p in sorted((ROOT / "packages").glob("*/src"))] + [str(ROOT / "src")]
    env["PYTHONPATH"] = os.pathsep.join([*roots, env.get("PYTHONPATH", "")])
    done = subprocess.run(
        [sys.executable, str(Path(__file__).resolve()), str(page), str(tmp_path)],
        env=env,
        capture_output=True,
        text=True,
        timeout=_PAGE_TIMEOUT,
        check=False,
    )
    print(done.stdout, done.stderr)
    assert done.returncode == 0, done.stdout[-6000:] + done.stderr[-3000:]


def test_every_skip_has_a_reason_and_a_block() -> None:
    for page in sorted(DOCS.rglob("*.rst")):
        lines = page.read_text(encoding="utf-8").splitlines()
        for number, line in enumerate(lines, 1):
            if line.strip().startswith(".. skip-next"):
                assert _SKIP.match(line), f"{page}:{number}: a skip needs a reason"
                rest = [x for x in lines[number:] if x.strip()]
                assert rest and _DIRECTIVE.match(rest[0]), f"{page}:{number}: skip what?"


def test_guide_code_is_mostly_run() -> None:
    chunks = [c for page in pages() for c in parse(page) if c.kind == "code"]
    skipped = [c for c in chunks if c.skip]
    assert len(chunks) >= 40
    assert len(skipped) * 10 <= len(chunks), "more than one block in ten is skipped"


_PIP = re.compile(r"pip install (?P<targets>(?:\"?\./packages/[\w\[\],]+\"?[ \t]*)+)")


def _dependencies() -> dict[str, set[str]]:
    tomllib = pytest.importorskip("tomllib")  # Python 3.11+

    table: dict[str, set[str]] = {}
    for pyproject in sorted((ROOT / "packages").glob("*/pyproject.toml")):
        project = tomllib.loads(pyproject.read_text())["project"]
        needs = {re.split(r"[=<>\[; ]", d)[0] for d in project.get("dependencies", [])}
        table[project["name"]] = {n for n in needs if n.startswith("squall-")}
    return table


def test_install_lines_name_every_dependency() -> None:
    """Each ``pip install ./packages/...`` line of the site installs a closed set."""
    table = _dependencies()
    covered: set[str] = set()
    for page in [DOCS / "install.rst", *sorted((DOCS / "guide").glob("*.rst"))]:
        for match in _PIP.finditer(re.sub(r"\\\n\s*", " ", page.read_text(encoding="utf-8"))):
            folders = re.findall(r"\./packages/(\w+)", match["targets"])
            names = {f"squall-{f}" for f in folders}
            for folder in folders:
                assert (ROOT / "packages" / folder).is_dir(), folder
            for name in names:
                missing = table[name] - names
                assert not missing, f"{page.name}: {name} also needs {sorted(missing)}"
            covered |= names
    assert covered == set(table), f"no install line for {sorted(set(table) - covered)}"


if __name__ == "__main__":
    sys.exit(run_page(Path(sys.argv[1]).resolve(), Path(sys.argv[2]).resolve()))
