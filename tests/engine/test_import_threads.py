"""The engine imports cleanly when two threads import it for the first time at once."""

import subprocess
import sys
from pathlib import Path

import engine

ROOT = Path(engine.__file__).resolve().parent.parent

# One thread imports the package while another, a moment later, imports a submodule (as the
# lesson screen's kernel warm-up and a lesson's worker did). While engine/__init__ imported its
# submodules, the first thread got "cannot import name 'Conv2d' from partially initialized
# module 'engine.conv'" every time: Python does not make the second thread's `engine.conv`
# wait for the package's __init__ running in the first.
PROBE = """
import sys, threading, time
errors = []

def first_import(statement, delay):
    time.sleep(delay)
    try:
        exec(statement, {})
    except Exception as exc:
        errors.append(f"{statement}: {type(exc).__name__}: {exc}")

threads = [threading.Thread(target=first_import, args=args) for args in
           [("import engine", 0.0), ("from engine.conv import Conv2d", float(sys.argv[1]))]]
for t in threads:
    t.start()
for t in threads:
    t.join()
assert not errors, errors
from engine import Conv2d, Stepper
print("ok")
"""


def test_two_threads_importing_the_engine_at_once_both_get_whole_modules():
    for delay in ("0.02", "0.1"):  # a fresh interpreter each time: only first imports race
        done = subprocess.run([sys.executable, "-c", PROBE, delay], cwd=ROOT, capture_output=True,
                              text=True, timeout=120, check=False)  # fmt: skip
        assert done.returncode == 0 and done.stdout.strip() == "ok", done.stderr[-2000:]


def test_the_package_exports_what_it_did():
    from engine import Conv2d, CrossEntropyLoss, Stepper, explain_forward

    assert Conv2d.__module__ == "engine.conv" and Stepper.__module__ == "engine.stepper"
    assert callable(explain_forward) and CrossEntropyLoss.__name__ == "CrossEntropyLoss"
    assert set(engine.__all__) <= set(dir(engine))
    for name in engine.__all__:
        assert getattr(engine, name) is not None
