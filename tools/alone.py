"""Check that every distribution installs and imports on its own.

    python tools/alone.py

1. No source tree under packages/ and no wheel but the meta-package's holds
   ``squall/__init__.py`` (one stray copy hides every other distribution).
2. Every wheel is built with ``hatch build``; the meta-package's wheel holds
   only ``squall/__init__.py`` and its metadata.
3. Each distribution goes into a fresh venv with only its declared
   dependencies; every public module of it imports and every ``__all__`` name
   resolves, with no other squall distribution present; squall-httpclient
   also fetches a page from a local stdlib ``http.server``.
4. The meta-package: ``import squall`` then lazy ``squall.<module>`` access for
   every module; uninstalling it again leaves every distribution importable.
5. Editable installs (all distributions plus the meta-package) resolve to the
   source tree and serve lazy access.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _repo import PACKAGES, ROOT, Dist, closure, dists, meta, run, wheel_path

_PROBE = r"""
import importlib, json, sys
modules = json.loads(sys.argv[1])
optional = {}
for name in modules:
    try:
        module = importlib.import_module(name)
    except ModuleNotFoundError as exc:
        # A module built on an optional third-party package (pytest for the
        # pytest plugin, pycares, twisted) may need it; a missing *squall*
        # module is always an undeclared dependency.
        if exc.name and exc.name.split(".")[0] != "squall":
            optional[name] = exc.name
            continue
        raise
    for attr in getattr(module, "__all__", ()):
        if not hasattr(module, attr):
            raise SystemExit(f"{name}.__all__ names {attr!r}, which does not exist")
loaded = sorted(m for m in sys.modules if m.startswith("squall."))
print(json.dumps({"loaded": loaded, "optional": optional}))
"""


# squall-httpclient alone must not only import: it fetches a page from a stdlib
# http.server on 127.0.0.1, through the blocking and the async client.
_FETCH = r"""
import asyncio, http.server, threading
from squall.httpclient import AsyncHTTPClient, HTTPClient

class Page(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        body = b"alone " + self.path.encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass

server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Page)
threading.Thread(target=server.serve_forever, daemon=True).start()
url = "http://127.0.0.1:%d/page" % server.server_address[1]
try:
    client = HTTPClient()
    try:
        got = client.fetch(url, request_timeout=10).body
    finally:
        client.close()
    assert got == b"alone /page", got

    async def fetch_async():
        return (await AsyncHTTPClient().fetch(url + "?async", request_timeout=10)).body

    got = asyncio.run(fetch_async())
    assert got == b"alone /page?async", got
finally:
    server.shutdown()
print("fetched")
"""
# Runtime checks beyond imports, by distribution folder.
_SMOKE = {"httpclient": (_FETCH, "fetches a page from a local http.server")}


def fail(message: str) -> None:
    raise SystemExit(f"alone: FAIL: {message}")


def public_modules(wheel: Path) -> list[str]:
    """Dotted names of the public modules a wheel ships (no ``_private`` parts)."""
    names = []
    with zipfile.ZipFile(wheel) as zf:
        for item in zf.namelist():
            if not item.startswith("squall/") or not item.endswith(".py"):
                continue
            parts = item[: -len(".py")].split("/")
            if parts[-1] == "__init__":
                parts = parts[:-1]
            if parts[-1] == "__main__" or any(p.startswith("_") for p in parts[1:]):
                continue
            if len(parts) > 1:
                names.append(".".join(parts))
    return sorted(names)


class Venv:
    """A fresh virtual environment driven by the outer pip (fast: no pip inside)."""

    def __init__(self, where: Path) -> None:
        self.path = where
        run([sys.executable, "-m", "venv", "--without-pip", str(where)])
        self.python = str(where / "bin" / "python")

    def pip(self, *args: str) -> None:
        run(
            [
                sys.executable,
                "-m",
                "pip",
                "--disable-pip-version-check",
                "--python",
                self.python,
                *args,
            ]
        )

    def probe(self, modules: list[str]) -> dict[str, Any]:
        out = subprocess.run(
            [self.python, "-c", _PROBE, json.dumps(modules)],
            capture_output=True,
            text=True,
            check=False,
            cwd=self.path,
        )
        if out.returncode:
            fail(f"import check failed for {modules}:\n{out.stdout}{out.stderr}")
        result: dict[str, Any] = json.loads(out.stdout)
        return result

    def python_ok(self, code: str) -> str:
        out = subprocess.run(
            [self.python, "-c", code], capture_output=True, text=True, check=False, cwd=self.path
        )
        if out.returncode:
            fail(f"in {self.path.name}: {code!r} failed:\n{out.stdout}{out.stderr}")
        return out.stdout


def check_sources() -> None:
    strays = sorted(PACKAGES.glob("*/src/squall/__init__.py"))
    if strays:
        fail(f"stray namespace __init__.py: {', '.join(map(str, strays))}")


def check_wheels(wheels: dict[str, Path], meta_wheel: Path) -> None:
    for name, wheel in wheels.items():
        with zipfile.ZipFile(wheel) as zf:
            if "squall/__init__.py" in zf.namelist():
                fail(f"{wheel.name} ({name}) ships squall/__init__.py")
    with zipfile.ZipFile(meta_wheel) as zf:
        payload = [n for n in zf.namelist() if ".dist-info/" not in n]
    if payload != ["squall/__init__.py"]:
        fail(f"the meta-package wheel must hold only squall/__init__.py, not {payload}")


def install_alone(env: Venv, table: dict[str, Dist], folder: str, wheels: dict[str, Path]) -> None:
    order = closure(folder, table)
    env.pip("install", "-q", "--no-index", "--no-deps", *(str(wheels[f]) for f in order))
    third = [r for f in order for r in table[f].third_party]
    if third:
        env.pip("install", "-q", *third)


def main() -> None:
    check_sources()
    table = dists()
    with tempfile.TemporaryDirectory(prefix="squall-alone-") as tmp_name:
        tmp = Path(tmp_name)
        out = tmp / "wheels"
        out.mkdir()
        for dist in [*table.values(), meta()]:
            run(
                ["hatch", "build", "-t", "wheel", str(out)],
                cwd=dist.path,
                env=dict(os.environ, HATCH_VERBOSE="0"),
            )
        wheels = {f: wheel_path(d, out) for f, d in table.items()}
        meta_wheel = wheel_path(meta(), out)
        check_wheels(wheels, meta_wheel)
        print("alone: wheels are well-formed", flush=True)

        modules = {f: public_modules(w) for f, w in wheels.items()}
        # Top-level modules that need an optional third-party package (e.g.
        # squall.curl_httpclient needs pycurl, an extra): left out of lazy access checks.
        needs_extra: set[str] = set()
        for folder in table:
            env = Venv(tmp / f"alone-{folder}")
            install_alone(env, table, folder, wheels)
            mine = set(modules[folder])
            allowed = {m for f in closure(folder, table) for m in modules[f]}
            result = env.probe(sorted(mine))
            tops = {a.split(".")[1] for a in allowed}
            foreign = [m for m in result["loaded"] if m.split(".")[1] not in tops]
            if foreign:
                fail(f"{folder}: importing its modules loaded undeclared {foreign}")
            optional = result["optional"]
            needs_extra.update(m.split(".")[1] for m in optional if m.count(".") == 1)
            note = "".join(f"; {m} needs the optional {dep}" for m, dep in optional.items())
            print(
                f"alone: {table[folder].name}: {len(mine) - len(optional)} public modules "
                f"import with only {', '.join(closure(folder, table))}{note}",
                flush=True,
            )
            smoke = _SMOKE.get(folder)
            if smoke is not None:
                if env.python_ok(smoke[0]).strip() != "fetched":
                    fail(f"{folder}: the smoke check printed no result")
                print(f"alone: {table[folder].name} alone {smoke[1]}", flush=True)

        # The meta-package over every wheel, then removed again.
        env = Venv(tmp / "meta")
        env.pip(
            "install",
            "-q",
            "--no-index",
            "--no-deps",
            str(meta_wheel),
            *(str(w) for w in wheels.values()),
        )
        third = sorted({r for d in table.values() for r in d.third_party})
        if third:
            env.pip("install", "-q", *third)
        every = sorted(m for ms in modules.values() for m in ms)
        tops = sorted({m.split(".")[1] for m in every} - needs_extra)
        env.python_ok(
            "import squall, importlib\n"
            f"assert squall.version == {meta().version!r}, squall.version\n"
            f"for top in {tops!r}:\n"
            "    mod = getattr(squall, top)\n"
            "    assert mod is importlib.import_module('squall.' + top)\n"
            "assert 'template' in dir(squall)\n"
            "try:\n    squall.no_such_module\nexcept AttributeError as e:\n"
            "    assert 'no_such_module' in str(e)\nelse:\n    raise SystemExit('no error')\n"
        )
        env.pip("uninstall", "-q", "-y", "squall")
        env.probe(every)
        env.python_ok("import squall; assert not hasattr(squall, 'version')")
        print(
            "alone: meta-package lazy access works; uninstalling it leaves every "
            "distribution importable",
            flush=True,
        )

        # Editable installs resolve to the source tree.
        env = Venv(tmp / "editable")
        env.pip("install", "-q", "hatchling", "editables")
        env.pip(
            "install",
            "-q",
            "--no-build-isolation",
            "--no-deps",
            *(a for d in table.values() for a in ("-e", str(d.path))),
            "-e",
            str(ROOT),
        )
        if third:
            env.pip("install", "-q", *third)
        env.python_ok(
            "import squall, pathlib\n"
            f"root = pathlib.Path({str(ROOT)!r})\n"
            f"for top in {tops!r}:\n"
            "    mod = getattr(squall, top)\n"
            "    assert root in pathlib.Path(mod.__file__).parents, mod.__file__\n"
        )
        print("alone: editable installs resolve to the source tree", flush=True)
    print("alone: OK")


if __name__ == "__main__":
    main()
