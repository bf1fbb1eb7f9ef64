"""Facts about the monorepo that every tool needs: its distributions and their pins.

A distribution is a folder ``packages/<name>/`` with a ``pyproject.toml``; the
meta-package is the repository root. Nothing here is hard-coded per
distribution, so adding one is a matter of creating its folder.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib


ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ROOT / "packages"
VERSION_FILE = ROOT / "VERSION"
META_INIT = ROOT / "src" / "squall" / "__init__.py"

_NAME_RE = re.compile(r"^\s*([A-Za-z0-9_.\-]+)\s*(.*)$")


@dataclass(frozen=True)
class Dist:
    """One distribution of the monorepo."""

    folder: str  # "escape"; "" for the root meta-package
    path: Path
    name: str  # "squall-escape"
    version: str
    requires: tuple[str, ...]  # every runtime requirement string
    extras: dict[str, tuple[str, ...]]
    test_requires: tuple[str, ...]

    @property
    def squall_deps(self) -> list[str]:
        """Folder names of the squall siblings this distribution pins."""
        return [req_name(r)[len("squall-") :] for r in self.requires if is_squall(r)]

    @property
    def test_squall_deps(self) -> list[str]:
        """Folder names of squall siblings the test group needs (a client's tests
        may serve from the squall server); built from this repository too."""
        return [req_name(r)[len("squall-") :] for r in self.test_requires if is_squall(r)]

    @property
    def test_third_party(self) -> list[str]:
        """Test-group requirements that come from the package index."""
        return [r for r in self.test_requires if not is_squall(r)]

    @property
    def third_party(self) -> list[str]:
        """Runtime requirements that come from the package index."""
        return [r for r in self.requires if not is_squall(r)]

    @property
    def import_packages(self) -> list[str]:
        """Top-level import packages shipped under ``src/squall/``."""
        src = self.path / "src" / "squall"
        if not src.is_dir():
            return []
        return sorted(p.name for p in src.iterdir() if p.is_dir() and (p / "__init__.py").exists())


def req_name(req: str) -> str:
    """The project name of a requirement string, lower-cased."""
    match = _NAME_RE.match(req)
    if not match:
        raise ValueError(f"unreadable requirement: {req!r}")
    return re.split(r"[\[<>=!~;\s]", match.group(1), maxsplit=1)[0].lower()


def is_squall(req: str) -> bool:
    return req_name(req).startswith("squall-")


def _load(path: Path, folder: str) -> Dist:
    data = tomllib.loads((path / "pyproject.toml").read_text(encoding="utf-8"))
    project = data["project"]
    groups = data.get("dependency-groups", {})
    return Dist(
        folder=folder,
        path=path,
        name=project["name"],
        version=project["version"],
        requires=tuple(project.get("dependencies", [])),
        extras={k: tuple(v) for k, v in project.get("optional-dependencies", {}).items()},
        test_requires=tuple(groups.get("test", [])),
    )


def dists() -> dict[str, Dist]:
    """Every distribution under packages/, by folder name, sorted."""
    found = {}
    for pyproject in sorted(PACKAGES.glob("*/pyproject.toml")):
        folder = pyproject.parent.name
        found[folder] = _load(pyproject.parent, folder)
    return found


def meta() -> Dist:
    """The root meta-package ``squall``."""
    return _load(ROOT, "")


def closure(folder: str, table: dict[str, Dist] | None = None) -> list[str]:
    """The folder and every squall sibling it needs, dependencies first."""
    table = table or dists()
    order: list[str] = []

    def visit(name: str, stack: tuple[str, ...]) -> None:
        if name in stack:
            raise SystemExit(f"dependency cycle: {' -> '.join((*stack, name))}")
        if name in order:
            return
        if name not in table:
            raise SystemExit(f"unknown distribution {name!r} (have: {', '.join(table)})")
        for dep in table[name].squall_deps:
            visit(dep, (*stack, name))
        order.append(name)

    visit(folder, ())
    return order


def run(cmd: list[str], **kwargs: object) -> None:
    """Run a command, echoing it, and stop on failure."""
    print("+", " ".join(str(c) for c in cmd), flush=True)
    result = subprocess.run(cmd, check=False, **kwargs)  # type: ignore[call-overload]
    if result.returncode:
        raise SystemExit(result.returncode)


def build_wheels(folders: list[str], outdir: Path, *, meta_too: bool = False) -> list[Path]:
    """Build wheels with the hatchling backend into ``outdir``; return their paths.

    Uses the current interpreter's hatchling (no build isolation) so that
    repeated builds are fast and need no network.
    """
    outdir.mkdir(parents=True, exist_ok=True)
    table = dists()
    targets = [table[f] for f in folders] + ([meta()] if meta_too else [])
    env = dict(os.environ, PIP_DISABLE_PIP_VERSION_CHECK="1")
    # The compiled build (a mypyc hook) compiles in place: give it a copy, so
    # that no extension module is left beside the sources (it would shadow
    # them, stale, for anything run from the tree) and builds running side
    # by side do not meet.
    compiled = bool(env.get("HATCH_BUILD_HOOK_ENABLE_MYPYC"))
    wheels = []
    with tempfile.TemporaryDirectory(prefix="squall-build-") as scratch:
        for dist in targets:
            source = dist.path
            if compiled and dist.path != ROOT:
                source = Path(scratch) / dist.path.name
                shutil.copytree(
                    dist.path, source, ignore=shutil.ignore_patterns("__pycache__", "*.so", "build")
                )
            run(
                [
                    sys.executable,
                    "-m",
                    "pip",
                    "wheel",
                    "-q",
                    "--no-deps",
                    "--no-build-isolation",
                    "-w",
                    str(outdir),
                    str(source),
                ],
                env=env,
            )
            wheels.append(wheel_path(dist, outdir))
    return wheels


def wheel_path(dist: Dist, outdir: Path) -> Path:
    """Where the wheel of ``dist`` lands in ``outdir`` (it must exist)."""
    stem = dist.name.replace("-", "_")
    found = sorted(outdir.glob(f"{stem}-{dist.version}-*.whl"))
    if not found:
        raise SystemExit(f"no wheel for {dist.name} {dist.version} in {outdir}")
    return found[-1]
