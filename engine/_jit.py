"""Numba settings in one place: decorator defaults, a cache directory that always works, threads."""

from __future__ import annotations

import contextlib
import os
import stat
import tempfile
from pathlib import Path


def _writable(path: Path) -> bool:
    try:
        path.mkdir(parents=True, exist_ok=True)
        probe = path / ".write-probe"
        probe.write_text("")
        probe.unlink()
        return True
    except OSError:
        return False


def private_dir(path: Path, uid: int | None = None) -> bool:
    """True when path is a real directory (not a link) owned by uid, private (0700) and writable;
    it is created 0700 if absent. Numba's cache index files are pickles: in a shared temp
    directory another user could plant one, so a directory anyone else controls is refused."""
    uid = os.getuid() if uid is None else uid
    try:
        os.mkdir(path, 0o700)
    except FileExistsError:
        pass
    except OSError:
        return False
    try:
        st = os.lstat(path)
        if not stat.S_ISDIR(st.st_mode) or st.st_uid != uid:
            return False
        if st.st_mode & 0o077:
            os.chmod(path, 0o700)  # ours but open to others (an older version made it so)
    except OSError:
        return False
    return _writable(path)


def _choose_cache_dir() -> str:
    """The first usable of: $NUMBA_CACHE_DIR, ~/.cache/cnn-tui/numba, a per-user temp dir."""
    if os.environ.get("NUMBA_CACHE_DIR"):
        candidates = [Path(os.environ["NUMBA_CACHE_DIR"])]
    else:
        candidates = []
    home = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    candidates += [home / "cnn-tui" / "numba"]
    for path in candidates:
        if _writable(path):
            return str(path)
    shared = Path(tempfile.gettempdir()) / f"cnn-tui-numba-{os.getuid()}"
    if private_dir(shared):
        return str(shared)
    # Last resort: a fresh private temp dir (always writable unless the disk is full).
    return tempfile.mkdtemp(prefix="cnn-tui-numba-")


def _cpu_features() -> str | None:
    """The host's LLVM feature string, with 512-bit vectors allowed where AVX-512 exists.

    LLVM tunes Intel server cores (Skylake-X to Emerald Rapids) with "prefer-256-bit": its
    vectoriser then emits 8-lane ymm code even though the core runs 16-lane zmm FMAs at full
    rate. The convolution kernels ran ~1.3x slower that way than with zmm (W3 backward,
    one thread, same process load). None: leave Numba's default (no AVX-512, or unknown host).
    """
    try:
        import llvmlite.binding as ll

        features = ll.get_host_cpu_features().flatten()
    except (ImportError, RuntimeError, OSError):
        return None
    if "+avx512f" not in features.split(","):
        return None
    return features + ",-prefer-256-bit"


# Must be set before numba is imported, or numba picks its own location (and may fail
# on a read-only install).
os.environ["NUMBA_CACHE_DIR"] = _choose_cache_dir()
CACHE_DIR = os.environ["NUMBA_CACHE_DIR"]
# The same for the CPU features (a user's NUMBA_CPU_FEATURES wins). They are part of the
# cache key, so code compiled with other features is never loaded by mistake.
if "NUMBA_CPU_FEATURES" not in os.environ and (_features := _cpu_features()):
    os.environ["NUMBA_CPU_FEATURES"] = _features

import numba  # noqa: E402

if numba.config.CPU_FEATURES is None and os.environ.get("NUMBA_CPU_FEATURES"):
    # numba was imported before this module (e.g. by the serve fork server): its config
    # read the environment too early, but no kernel is compiled until the engine's are.
    numba.config.CPU_FEATURES = os.environ["NUMBA_CPU_FEATURES"]

# fastmath without "nnan" and "ninf": kernels must keep NaN and inf meaningful (a max-pool over a
# NaN returns it, as divergence should show); reassociation and contraction still vectorise.
FASTMATH = {"reassoc", "contract", "nsz", "arcp", "afn"}
JIT_OPTIONS = dict(cache=True, nogil=True, fastmath=FASTMATH)


def njit(*args, **kwargs):
    """numba.njit with the project's defaults (cache, nogil, FASTMATH)."""
    options = {**JIT_OPTIONS, **kwargs}
    return numba.njit(*args, **options)


def pjit(*args, **kwargs):
    """A parallel njit: each prange iteration must own its slice of the output."""
    options = {**JIT_OPTIONS, "parallel": True, **kwargs}
    return numba.njit(*args, **options)


prange = numba.prange


@contextlib.contextmanager
def num_threads(n: int | None):
    """Run parallel kernels on n threads (None: all) inside the block; tests use it to check
    that results do not depend on the thread count (each kernel's partition does not)."""
    saved = numba.get_num_threads()
    numba.set_num_threads(numba.config.NUMBA_NUM_THREADS if n is None else n)
    try:
        yield
    finally:
        numba.set_num_threads(saved)
