"""The one shared version: ``VERSION`` at the root, stamped into every distribution.

    python tools/version.py check        fail if anything disagrees with VERSION
    python tools/version.py set 0.2.0    write VERSION and stamp it everywhere

Stamped places: each ``pyproject.toml`` (``version`` and every exact
``squall-*==`` pin), the meta-package's dependency list (one pin per
distribution under packages/) and ``version``/``version_info`` in
``src/squall/__init__.py``.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _repo import META_INIT, ROOT, VERSION_FILE, dists, is_squall, meta, req_name

_VERSION_RE = re.compile(r"^\d+\.\d+\.\d+$")
_PIN_RE = re.compile(r'"(squall-[a-z0-9\-]+(?:\[[a-z0-9,\-]+\])?)==[^"]*"')
_EXTRAS_RE = re.compile(r"\[[^\]]*\]")


def _info(version: str) -> str:
    major, minor, micro = version.split(".")
    return f"({int(major)}, {int(minor)}, {int(micro)}, 0)"


def check() -> list[str]:
    """Every disagreement with VERSION, as readable lines."""
    version = VERSION_FILE.read_text().strip()
    problems = []
    table = dists()
    for dist in [*table.values(), meta()]:
        where = dist.path.relative_to(ROOT) / "pyproject.toml"
        if dist.version != version:
            problems.append(f"{where}: version {dist.version} != VERSION {version}")
        extras = [req for group in dist.extras.values() for req in group]
        for req in [*dist.requires, *extras]:
            bare = _EXTRAS_RE.sub("", req.replace(" ", ""), count=1)
            if is_squall(req) and bare != f"{req_name(req)}=={version}":
                problems.append(f"{where}: {req!r} is not pinned exactly to =={version}")
            if is_squall(req) and req_name(req)[len("squall-") :] not in table:
                problems.append(f"{where}: {req!r} names no distribution under packages/")
    pinned = {req_name(r) for r in meta().requires if is_squall(r)}
    for dist in table.values():
        if dist.name not in pinned:
            problems.append(f"pyproject.toml: the meta-package does not pin {dist.name}")
    text = META_INIT.read_text()
    if f'version = "{version}"' not in text:
        problems.append(f"{META_INIT.relative_to(ROOT)}: version is not {version!r}")
    if f"version_info = {_info(version)}" not in text:
        problems.append(f"{META_INIT.relative_to(ROOT)}: version_info is not {_info(version)}")
    return problems


def stamp(version: str) -> None:
    if not _VERSION_RE.match(version):
        raise SystemExit(f"not a X.Y.Z version: {version!r}")
    VERSION_FILE.write_text(version + "\n")
    for dist in [*dists().values(), meta()]:
        path = dist.path / "pyproject.toml"
        text = path.read_text()
        text = re.sub(r'(?m)^version = "[^"]*"', f'version = "{version}"', text, count=1)
        text = _PIN_RE.sub(lambda m: f'"{m.group(1)}=={version}"', text)
        path.write_text(text)
    text = META_INIT.read_text()
    text = re.sub(r'(?m)^version = "[^"]*"', f'version = "{version}"', text, count=1)
    text = re.sub(r"(?m)^version_info = \([^)]*\)", f"version_info = {_info(version)}", text)
    META_INIT.write_text(text)


def main(argv: list[str]) -> None:
    if argv[:1] == ["check"]:
        problems = check()
        for line in problems:
            print(line)
        if problems:
            raise SystemExit(1)
        print(f"version {VERSION_FILE.read_text().strip()}: every distribution agrees")
    elif argv[:1] == ["set"] and len(argv) == 2:
        stamp(argv[1])
        print(f"stamped {argv[1]}")
    else:
        raise SystemExit(__doc__)


if __name__ == "__main__":
    main(sys.argv[1:])
