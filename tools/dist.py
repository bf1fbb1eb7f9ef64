"""Build, install and test one distribution with only its declared dependencies.

    python tools/dist.py list                 the distributions, in dependency order
    python tools/dist.py test NAME [ARGS]     wheel-install NAME + its squall deps, run its tests
    python tools/dist.py build [OUTDIR]       ``hatch build`` every wheel (and the meta-package)
    python tools/dist.py develop              editable-install everything (docs, local work)

``NAME`` may be a tox environment name such as ``py311-template``: the last
dash-separated factor names the distribution, so tox.ini needs one entry per
distribution and nothing else. Factors before it change the run:
``speedups`` (``py311-speedups-http``) also installs the ``speedups`` extras
of the distribution and its squall dependencies and runs the tests with
``SQUALL_HTTP_PARSER=httptools``, so they exercise the llhttp parser; ``h2``
(``py311-h2-web``) installs the ``http2`` extras and runs the tests with
``SQUALL_TEST_HTTP2=1``, so every AsyncHTTPTestCase serves and fetches over
HTTP/2; ``compiled`` (``py313-compiled-web``) builds squall-http with its
mypyc hook (``HATCH_BUILD_HOOK_ENABLE_MYPYC=1``: the codec and the header map
as C extensions) and runs the tests with ``SQUALL_EXPECT_COMPILED=1``, which
makes them check that the compiled modules are the ones in use. Siblings are always installed from wheels
built from this repository (``--no-index``), never from a package index.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _repo import PACKAGES, ROOT, build_wheels, closure, dists, meta, run

PIP = [sys.executable, "-m", "pip", "--disable-pip-version-check"]


def _dist_from(arg: str) -> str:
    name = arg.rsplit("-", 1)[-1]
    if name not in dists():
        raise SystemExit(f"unknown distribution {name!r} (from {arg!r}); have {', '.join(dists())}")
    return name


def install(folder: str, *with_extras: str) -> None:
    """Install ``folder`` and its squall closure from fresh wheels, plus test deps
    (and, given ``with_extras``, those extras of every distribution of the closure)."""
    table = dists()
    order = closure(folder, table)
    # Squall siblings named only by the test group (a client tested against
    # the squall server) come from this repository as well, after the rest.
    for extra in table[folder].test_squall_deps:
        for name in closure(extra, table):
            if name not in order:
                order.append(name)
    with tempfile.TemporaryDirectory(prefix="squall-wheels-") as tmp:
        wheels = build_wheels(order, Path(tmp))
        # Uninstall any squall dist not in the closure (a reused env must not
        # hide an undeclared import).
        installed = subprocess.run(
            [*PIP, "list", "--format=freeze"], capture_output=True, text=True, check=True
        ).stdout.split()
        stray = [
            line.split("==")[0]
            for line in installed
            if line.lower().startswith("squall")
            and line.split("==")[0].lower() not in {table[f].name for f in order}
        ]
        if stray:
            run([*PIP, "uninstall", "-q", "-y", *stray])
        run(
            [
                *PIP,
                "install",
                "-q",
                "--no-index",
                "--no-deps",
                "--force-reinstall",
                *map(str, wheels),
            ]
        )
    third = [r for f in order for r in table[f].third_party]
    for extra in with_extras:
        wanted = [r for f in order for r in table[f].extras.get(extra, ())]
        third = list(dict.fromkeys([*third, *wanted]))
    tests = list(table[folder].test_third_party)
    if third or tests:
        run([*PIP, "install", "-q", *third, *tests])
    run([*PIP, "check"])


# factor -> (the extra it installs, the environment it sets)
_FACTORS: dict[str, tuple[str | None, dict[str, str]]] = {
    "speedups": ("speedups", {"SQUALL_HTTP_PARSER": "httptools"}),
    "h2": ("http2", {"SQUALL_TEST_HTTP2": "1"}),
    # The compiled build: squall-http's wheel made by its mypyc hook.
    "compiled": (None, {"SQUALL_EXPECT_COMPILED": "1"}),
}


def test(folder: str, args: list[str], *, factors: list[str] | None = None) -> None:
    chosen = [_FACTORS[f] for f in factors or () if f in _FACTORS]
    if "compiled" in (factors or ()):
        os.environ["HATCH_BUILD_HOOK_ENABLE_MYPYC"] = "1"
    install(folder, *[extra for extra, _ in chosen if extra is not None])
    tests = PACKAGES / folder / "tests"
    # Run from the repository root so the root pytest configuration applies;
    # the code under test is the installed wheel, never the source tree.
    env = dict(os.environ)
    env.pop("PYTHONPATH", None)
    for _, settings in chosen:
        env.update(settings)
    result = subprocess.run(
        [sys.executable, "-m", "pytest", str(tests.relative_to(ROOT)), *args],
        cwd=ROOT,
        env=env,
        check=False,
    )
    # pytest exits 5 when it collected nothing: a distribution without tests fails.
    raise SystemExit(result.returncode)


def build_all(outdir: Path) -> None:
    """Build every wheel with ``hatch build`` (the release path)."""
    outdir.mkdir(parents=True, exist_ok=True)
    for dist in [*dists().values(), meta()]:
        run(["hatch", "build", "-t", "wheel", str(outdir.resolve())], cwd=dist.path)


def develop() -> None:
    """Editable-install every distribution and the meta-package, with every
    third-party package any of them uses: runtime, extras and test groups
    (what the type checker and the docs build need to see)."""
    table = dists()
    editable = [a for d in table.values() for a in ("-e", str(d.path))]
    run([*PIP, "install", "-q", "--no-build-isolation", "--no-deps", *editable, "-e", str(ROOT)])
    third = sorted(
        {
            r
            for d in table.values()
            for r in (
                *d.third_party,
                *d.test_third_party,
                *(x for e in d.extras.values() for x in e),
            )
        }
    )
    if third:
        run([*PIP, "install", "-q", *third])


def main(argv: list[str]) -> None:
    if not argv or argv[0] in {"-h", "--help"}:
        print(__doc__)
        return
    command, rest = argv[0], argv[1:]
    if command == "list":
        table = dists()
        seen: list[str] = []
        for name in table:
            for dep in closure(name, table):
                if dep not in seen:
                    seen.append(dep)
        print("\n".join(seen))
    elif command == "test" and rest:
        test(_dist_from(rest[0]), rest[1:], factors=rest[0].split("-")[:-1])
    elif command == "develop":
        develop()
    elif command == "build":
        build_all(Path(rest[0]) if rest else ROOT / "dist")
    else:
        raise SystemExit(__doc__)


if __name__ == "__main__":
    main(sys.argv[1:])
