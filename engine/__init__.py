"""cnn-tui's engine: the math of CNNs in NumPy + Numba, with no interface imports.

The layers, losses, optimizers, stepper and explain API are exported here; data loading,
images, training and checkpoints live in their modules (engine.data, engine.images,
engine.train, engine.transfer, engine.checkpoint) so `import engine` stays light.
State is explicit: forward_ctx returns a Context that backward and explain read, and every
run passes its own numpy Generator to what draws random numbers (see engine.module).
"""

import os

# Numba's thread pool and OpenBLAS's spinning threads fight on small machines
# (PERFORMANCE.md, pitfall 2); this only takes effect if set before NumPy loads.
# OMP_WAIT_POLICY=PASSIVE is deliberately not set: it made the conv/pool kernels of a
# batch-64 training step about 2x slower (every call paid a thread wake-up).
os.environ.setdefault("OPENBLAS_THREAD_TIMEOUT", "4")

# What `from engine import X` finds, and in which module. Loaded on first use (PEP 562) rather
# than here: a package whose __init__ imports its submodules forms an import cycle with each of
# them, and Python does not make `import engine.conv` in one thread wait for `engine/__init__`
# running in another. Two threads importing the engine for the first time (a lesson's worker
# and the kernel warm-up) then deadlocked inside the import system, which "resolved" it by
# handing one of them a partially initialised module: "cannot import name 'Conv2d' from
# partially initialized module 'engine.conv'". The submodules import each other without a
# cycle, so per-module import locks are enough once the package itself imports nothing.
_EXPORTS = {
    "engine.activations": ("ReLU", "Sigmoid", "Tanh"),
    "engine.checkpoint": ("CheckpointError",),
    "engine.conv": ("Conv2d",),
    "engine.dropout": ("Dropout",),
    "engine.explain": ("Explanation", "Term", "explain_backward", "explain_forward",
                       "explain_loss", "receptive_field"),
    "engine.linear": ("Flatten", "Linear"),
    "engine.losses": ("CrossEntropyLoss", "DivergenceError", "MSELoss"),
    "engine.model": ("Sequential", "from_spec"),
    "engine.module": ("Context", "Module", "Parameter"),
    "engine.optim": ("SGD", "Adam"),
    "engine.pool": ("AvgPool2d", "MaxPool2d"),
    "engine.residual": ("Residual",),
    "engine.stepper": ("Op", "ParamUpdate", "Record", "Stepper", "Trace"),
}  # fmt: skip
_HOME = {name: module for module, names in _EXPORTS.items() for name in names}


def __getattr__(name: str):
    """`engine.Conv2d` and `from engine import Conv2d`: import the defining module on first use."""
    module = _HOME.get(name)
    if module is None:
        raise AttributeError(f"module 'engine' has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(module), name)
    globals()[name] = value  # the next lookup is a plain attribute
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_HOME))


__all__ = [
    "Module",
    "Context",
    "Parameter",
    "Conv2d",
    "MaxPool2d",
    "AvgPool2d",
    "ReLU",
    "Sigmoid",
    "Tanh",
    "CheckpointError",
    "Dropout",
    "Flatten",
    "Linear",
    "CrossEntropyLoss",
    "DivergenceError",
    "MSELoss",
    "Sequential",
    "from_spec",
    "SGD",
    "Adam",
    "Residual",
    "Explanation",
    "Term",
    "receptive_field",
    "explain_forward",
    "explain_backward",
    "explain_loss",
    "Stepper",
    "Op",
    "Record",
    "ParamUpdate",
    "Trace",
]
