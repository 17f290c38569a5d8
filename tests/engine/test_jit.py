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

CHOICE = "import engine._jit as j; print(j.CACHE_DIR)"  # where the cache goes, no compiling


def run_probe(env: dict, probe: str = PROBE) -> str:
    """Import the engine and run a convolution in a fresh interpreter with `env`."""
    done = subprocess.run(
        [sys.executable, "-c", probe], env=env, cwd=ROOT, capture_output=True, text=True
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


def test_the_temp_cache_dir_is_private_to_the_user(tmp_path):
    """Issue 8 item 17: /tmp/cnn-tui-numba was shared by every user, with no ownership check."""
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("")
    env = {**base_env(), "HOME": str(blocker / "home"), "TMPDIR": str(tmp_path / "tmp")}
    (tmp_path / "tmp").mkdir()
    chosen = Path(run_probe(env, CHOICE))
    assert chosen == tmp_path / "tmp" / f"cnn-tui-numba-{os.getuid()}"
    st = chosen.lstat()
    assert st.st_uid == os.getuid() and st.st_mode & 0o777 == 0o700


def test_a_cache_dir_someone_else_controls_is_refused(tmp_path):
    from engine._jit import private_dir

    mine = tmp_path / "mine"
    assert private_dir(mine) and mine.stat().st_mode & 0o777 == 0o700
    assert not private_dir(mine, uid=os.getuid() + 1)  # owned by another user: refused
    opened = tmp_path / "opened"
    opened.mkdir(mode=0o777)
    os.chmod(opened, 0o777)
    assert private_dir(opened) and opened.stat().st_mode & 0o777 == 0o700  # ours: closed again
    target = tmp_path / "elsewhere"
    target.mkdir()
    (tmp_path / "link").symlink_to(target)
    assert not private_dir(tmp_path / "link")  # a planted symlink is not followed


def test_a_planted_temp_cache_dir_falls_back_to_a_fresh_one(tmp_path):
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("")
    (tmp_path / "tmp").mkdir()
    elsewhere = tmp_path / "attacker"
    elsewhere.mkdir()
    (tmp_path / "tmp" / f"cnn-tui-numba-{os.getuid()}").symlink_to(elsewhere)
    env = {**base_env(), "HOME": str(blocker / "home"), "TMPDIR": str(tmp_path / "tmp")}
    chosen = Path(run_probe(env, CHOICE))
    assert chosen.parent == tmp_path / "tmp" and chosen.name.startswith("cnn-tui-numba-")
    assert chosen.name != f"cnn-tui-numba-{os.getuid()}" and not any(elsewhere.iterdir())
