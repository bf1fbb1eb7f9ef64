"""mypy --strict over every source root: each distribution's packages, then the meta-package.

    python tools/typecheck.py

Every ``packages/*/src`` goes on MYPYPATH so the namespace spans them all, the
way it does once installed; the meta-package's ``squall/__init__.py`` (a
regular package) is checked on its own so it cannot shadow the namespace.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _repo import META_INIT, ROOT, dists, run


def main() -> None:
    table = dists()
    roots = [str(d.path / "src") for d in table.values()]
    packages = [f"squall.{p}" for d in table.values() for p in d.import_packages]
    env = dict(os.environ, MYPYPATH=os.pathsep.join(roots))
    args = [a for p in packages for a in ("-p", p)]
    run([sys.executable, "-m", "mypy", "--strict", *args], cwd=ROOT, env=env)
    run([sys.executable, "-m", "mypy", "--strict", str(META_INIT.relative_to(ROOT))], cwd=ROOT)


if __name__ == "__main__":
    main()
