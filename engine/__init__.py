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

from engine.activations import ReLU, Sigmoid, Tanh
from engine.checkpoint import CheckpointError
from engine.conv import Conv2d
from engine.dropout import Dropout
from engine.explain import (
    Explanation,
    Term,
    explain_backward,
    explain_forward,
    explain_loss,
    receptive_field,
)
from engine.linear import Flatten, Linear
from engine.losses import CrossEntropyLoss, DivergenceError, MSELoss
from engine.model import Sequential, from_spec
from engine.module import Context, Module, Parameter
from engine.optim import SGD, Adam
from engine.pool import AvgPool2d, MaxPool2d
from engine.residual import Residual
from engine.stepper import Op, ParamUpdate, Record, Stepper, Trace

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
