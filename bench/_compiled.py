"""squall-http's compiled build for the bench rows named ``...-compiled``.

The wheel is built once per interpreter and source state with the same
mypyc hook a user turns on (``HATCH_BUILD_HOOK_ENABLE_MYPYC=1``; it needs
hatchling, hatch-mypyc, mypy and setuptools: bench/requirements-compiled.txt),
unpacked under ``bench/.compiled/`` and put first on the server's
``PYTHONPATH``, so its ``squall.httputil`` and ``squall.http1connection``
(the C extensions beside their sources) are the ones imported.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CACHE = ROOT / "bench" / ".compiled"


def _source_key() -> str:
    digest = hashlib.sha256(sys.version.encode())
    src = ROOT / "packages" / "http"
    for path in sorted(src.rglob("*")):
        if path.is_file() and "__pycache__" not in path.parts and path.suffix != ".so":
            digest.update(str(path.relative_to(src)).encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def compiled_path() -> str:
    """A directory holding the compiled squall-http, built if needed."""
    target = CACHE / _source_key()
    if (target / "squall").is_dir():
        return str(target)
    sys.path.insert(0, str(ROOT / "tools"))
    from _repo import build_wheels

    print("building squall-http's compiled wheel (mypyc, once) ...", file=sys.stderr)
    os.environ["HATCH_BUILD_HOOK_ENABLE_MYPYC"] = "1"
    try:
        with tempfile.TemporaryDirectory() as out:
            (wheel,) = build_wheels(["http"], Path(out))
            with zipfile.ZipFile(wheel) as archive:
                archive.extractall(target)
    except (subprocess.CalledProcessError, SystemExit) as exc:
        raise SystemExit(
            "the compiled build failed: pip install -r bench/requirements-compiled.txt "
            f"(and a C compiler with the Python headers): {exc}"
        ) from None
    finally:
        del os.environ["HATCH_BUILD_HOOK_ENABLE_MYPYC"]
    return str(target)
