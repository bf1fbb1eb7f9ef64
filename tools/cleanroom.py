"""Run the project's clean-room meter when it is present beside this checkout.

    python tools/cleanroom.py

The meter (``../shared/tools/cleanroom.py``, kept in the project's shared
notes, not in this repository) compares our statements with Tornado's and
fails when any of our files repeats Tornado's code. Developers' machines and
CI have it beside the clone; a plain clone elsewhere does not, and then this
says so and passes.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _repo import ROOT

METER = ROOT.parent / "shared" / "tools" / "cleanroom.py"


def main() -> None:
    if not METER.is_file():
        print(f"cleanroom: {METER} not found; meter skipped")
        return
    raise SystemExit(subprocess.run([sys.executable, str(METER)], cwd=ROOT, check=False).returncode)


if __name__ == "__main__":
    main()
