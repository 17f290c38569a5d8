"""The seam: the engine never pulls in the interface (textual or tui)."""

import ast
import json
import subprocess
import sys
from pathlib import Path

import engine

ENGINE_DIR = Path(engine.__file__).parent
INTERFACE = ("textual", "tui")

PROBE = """
import json, sys
{imports}
loaded = sorted(m for m in sys.modules if m.split(".")[0] in {interface!r})
print(json.dumps(loaded))
"""


def loaded_after(imports: str) -> list[str]:
    """Interface modules in sys.modules after running `imports` in a fresh interpreter."""
    code = PROBE.format(imports=imports, interface=INTERFACE)
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_importing_engine_loads_no_interface_module():
    assert loaded_after("import engine") == []


def test_importing_every_engine_module_loads_no_interface_module():
    imports = (
        "import importlib, pkgutil, engine\n"
        "for info in pkgutil.iter_modules(engine.__path__):\n"
        "    importlib.import_module('engine.' + info.name)\n"
    )
    assert loaded_after(imports) == []


def test_no_engine_source_imports_the_interface():
    # Also catches imports inside functions, which the subprocess checks would not run.
    offenders = []
    for path in sorted(ENGINE_DIR.glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                names = [node.module or ""] if node.level == 0 else []
            else:
                continue
            offenders += [
                f"{path.name}:{node.lineno} {n}" for n in names if n.split(".")[0] in INTERFACE
            ]
    assert offenders == []


def test_the_contract_names_are_exported():
    names = [
        "ReLU", "Sigmoid", "Tanh", "Dropout", "Flatten", "Linear", "Residual", "Sequential",
        "CrossEntropyLoss", "MSELoss", "SGD", "Adam", "DivergenceError", "from_spec",
        "CheckpointError",
    ]  # fmt: skip
    missing = [n for n in names if n not in engine.__all__ or not hasattr(engine, n)]
    assert missing == []
