"""Numba's cache location: always a writable directory, never a crash at import."""

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PROBE = (
    "import numpy as np, engine, engine._jit as j;"
    "y = engine.Conv2d(1, 1, 3)(np.ones((1, 1, 4, 4), np.float32));"
    "print(j.CACHE_DIR, y.shape)"
)


def run_probe(env: dict) -> str:
    """Import the engine and run a convolution in a fresh interpreter with `env`."""
    done = subprocess.run(
        [sys.executable, "-c", PROBE], env=env, cwd=ROOT, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.split()[0]


def base_env() -> dict:
    env = {k: v for k, v in os.environ.items() if k not in ("NUMBA_CACHE_DIR", "XDG_CACHE_HOME")}
    env["PYTHONPATH"] = str(ROOT)
    return env


def test_explicit_cache_dir_is_used(tmp_path):
    chosen = run_probe({**base_env(), "NUMBA_CACHE_DIR": str(tmp_path / "numba")})
    assert chosen == str(tmp_path / "numba")
    assert any((tmp_path / "numba").rglob("*.nbi"))  # the kernels really were cached there


def test_unwritable_home_falls_back_to_a_temp_dir(tmp_path):
    # A home that cannot be written (here: a path under a regular file) and no override.
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("")
    env = {**base_env(), "HOME": str(blocker / "home"), "TMPDIR": str(tmp_path / "tmp")}
    (tmp_path / "tmp").mkdir()
    chosen = run_probe(env)
    assert chosen.startswith(str(tmp_path / "tmp"))


def test_unwritable_override_is_skipped_not_fatal(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("")
    env = {**base_env(), "NUMBA_CACHE_DIR": str(blocker / "numba"), "TMPDIR": str(tmp_path)}
    chosen = run_probe(env)
    assert chosen != str(blocker / "numba") and Path(chosen).is_dir()
