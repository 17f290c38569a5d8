"""Startup cost: importing the app must leave the engine (and numba's compiler) for later."""

from __future__ import annotations

import subprocess
import sys


def test_importing_the_app_loads_neither_numba_nor_the_engine():
    # the first frame must not wait for numba: the engine comes in the warm-up worker
    script = (
        "import sys\n"
        "import tui.app\n"
        "bad = [m for m in sys.modules if m.split('.')[0] in ('numba', 'engine')]\n"
        "assert not bad, bad\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
