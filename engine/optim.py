"""Optimizers with PyTorch's semantics: SGD (momentum, L2) and Adam (bias correction, L2).

Also the one list of optimizer kinds the app and the CLI offer ("sgd", "momentum", "adam"),
their default learning rate for each preset, and make_optimizer() to build one by kind.
"""

from __future__ import annotations

import copy
import math

import numpy as np

from engine.module import Parameter


def _number(owner: str, name: str, value, lo: float = 0.0, hi: float | None = None) -> float:
    ok = isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool)
    if not ok or not math.isfinite(value) or value < lo or (hi is not None and value >= hi):
        where = f"[{lo}, {hi})" if hi is not None else f">= {lo}"
        raise ValueError(f"{owner}: {name} must be a finite number {where}, got {value!r}")
    return float(value)


def _share(records: list) -> list:
    """A new list of new record dicts holding the same (read-only) arrays."""
    return [None if r is None else dict(r) for r in records]


class Optimizer:
    """Shared plumbing: params, aligned per-param state, state_dict, and update records."""

    _hyper: tuple[str, ...] = ("lr",)

    def __init__(self, params, lr: float):
        params = list(params)
        name = type(self).__name__
        if not params:
            raise ValueError(f"{name}: got an empty parameter list")
        for i, p in enumerate(params):
            if not isinstance(p, Parameter):
                raise ValueError(f"{name}: params[{i}] is {type(p).__name__}, not a Parameter")
        if len({id(p) for p in params}) != len(params):
            raise ValueError(f"{name}: a parameter appears more than once in params")
        self.params = params
        self.lr = lr
        self.state: list[dict] = [{} for _ in params]
        self.record = False  # True: keep the inputs/outputs of each update for explain(i)
        self._records: list[dict | None] = [None] * len(params)

    @property
    def lr(self) -> float:
        return self._lr

    @lr.setter
    def lr(self, value) -> None:
        self._lr = self._validate("lr", value)

    def _validate(self, key: str, value):
        """A hyperparameter checked like PyTorch: lr, momentum, eps, wd >= 0; betas in [0, 1)."""
        name = type(self).__name__
        if key == "betas":
            if not isinstance(value, (tuple, list)) or len(value) != 2:
                raise ValueError(f"{name}: betas must be a pair (beta1, beta2), got {value!r}")
            return tuple(_number(name, f"betas[{i}]", b, 0.0, 1.0) for i, b in enumerate(value))
        return _number(name, key, value)

    def zero_grad(self) -> None:
        """Zero every parameter's gradient (frozen ones too)."""
        for p in self.params:
            p.zero_grad()

    def step(self) -> None:
        """Update every parameter with requires_grad from its .grad; frozen ones are skipped."""
        for i, p in enumerate(self.params):
            if not p.requires_grad:
                continue
            record = {"value_before": p.value.copy()} if self.record else None
            self._update(p, self.state[i], record)
            if record is not None:
                record["value_after"] = p.value.copy()
                for value in record.values():  # read-only: explain and state_dict share them
                    if isinstance(value, np.ndarray):
                        value.setflags(write=False)
            self._records[i] = record

    def _update(self, p: Parameter, state: dict, record: dict | None) -> None:
        raise NotImplementedError

    def _l2(self, p: Parameter, record: dict | None) -> np.ndarray:
        """The gradient with PyTorch's weight decay added: g = grad + weight_decay * value."""
        if record is not None:
            record.update(lr=self.lr, grad=p.grad.copy())
        if not self.weight_decay:
            return p.grad
        l2 = self.weight_decay * p.value
        if record is not None:
            record["l2_term"] = l2  # a fresh array, only read below
        return p.grad + l2

    def explain(self, i: int) -> dict:
        """The last recorded update of params[i]: lr, grad, l2_term, buffers, before/after."""
        name = type(self).__name__
        if isinstance(i, bool) or not isinstance(i, (int, np.integer)):
            raise ValueError(f"{name}.explain: index must be an int, got {i!r}")
        if not 0 <= i < len(self.params):
            raise ValueError(f"{name}.explain: index {i} out of range 0..{len(self.params) - 1}")
        if not self.params[i].requires_grad:
            raise ValueError(f"{name}.explain: params[{i}] is frozen (requires_grad=False)")
        if self._records[i] is None:
            raise ValueError(
                f"{name}.explain: no update of params[{i}] recorded; "
                "set opt.record = True before step()"
            )
        return dict(self._records[i])

    def state_dict(self) -> dict:
        """A deep copy of hyperparameters and per-param state, plus the records (for undo).

        Records are shared, not copied: step() replaces them and their arrays are read-only.
        """
        return {
            "type": type(self).__name__,
            "hyper": {k: getattr(self, k) for k in self._hyper},
            "state": copy.deepcopy(self.state),
            "records": _share(self._records),
        }

    def load_state_dict(self, d: dict, hyper: bool = True) -> None:
        """Restore a state_dict; it is validated entirely before anything is changed.

        hyper=False restores the computation (per-param state, records) but keeps the
        hyperparameters set now: undo and divergence recovery must not undo a user's lr.
        """
        name = type(self).__name__
        if not isinstance(d, dict) or d.get("type") != name:
            got = d.get("type") if isinstance(d, dict) else type(d).__name__
            raise ValueError(f"{name}.load_state_dict: expected a {name} state_dict, got {got!r}")
        state, saved = d.get("state"), d.get("hyper", {})
        if not isinstance(state, list) or len(state) != len(self.params):
            n = len(state) if isinstance(state, list) else "no"
            raise ValueError(
                f"{name}.load_state_dict: {n} state entries for {len(self.params)} params"
            )
        for i, (p, s) in enumerate(zip(self.params, state, strict=True)):
            if not isinstance(s, dict):
                raise ValueError(f"{name}.load_state_dict: state[{i}] is not a dict")
            for key, value in s.items():
                if isinstance(value, np.ndarray) and value.shape != p.value.shape:
                    raise ValueError(
                        f"{name}.load_state_dict: state[{i}][{key!r}] has shape "
                        f"{value.shape}, params[{i}] has {p.value.shape}"
                    )
        new_hyper = {k: self._validate(k, saved[k]) for k in self._hyper if k in saved}
        for key, value in (new_hyper if hyper else {}).items():
            setattr(self, key, value)
        self.state = copy.deepcopy(state)
        records = d.get("records")
        if not isinstance(records, list) or len(records) != len(self.params):
            records = [None] * len(self.params)  # a state_dict without records: nothing to explain
        self._records = _share(records)

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={getattr(self, k)}" for k in self._hyper)
        return f"{type(self).__name__}({args})"


class SGD(Optimizer):
    """SGD: g = grad + wd*w; buf = momentum*buf + g (buf = g at first); w -= lr * buf."""

    _hyper = ("lr", "momentum", "weight_decay")

    def __init__(self, params, lr: float, momentum: float = 0.0, weight_decay: float = 0.0):
        self.momentum = self._validate("momentum", momentum)
        self.weight_decay = self._validate("weight_decay", weight_decay)
        super().__init__(params, lr)

    def _update(self, p, state, record):
        g = self._l2(p, record)
        if self.momentum:
            buf = state.get("momentum_buffer")
            if buf is None:  # PyTorch starts the buffer at the first gradient, not at zero
                buf = state["momentum_buffer"] = np.array(g, copy=True)
            else:
                buf *= self.momentum
                buf += g
            g = buf
            if record is not None:
                record["momentum_buffer"] = buf.copy()
        p.value -= self.lr * g


class Adam(Optimizer):
    """Adam (L2 in the gradient, like torch.optim.Adam): w -= lr * m_hat / (sqrt(v_hat) + eps)."""

    _hyper = ("lr", "betas", "eps", "weight_decay")

    def __init__(
        self,
        params,
        lr: float = 1e-3,
        betas=(0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0.0,
    ):
        self.betas = self._validate("betas", betas)
        self.eps = self._validate("eps", eps)
        self.weight_decay = self._validate("weight_decay", weight_decay)
        super().__init__(params, lr)

    def _update(self, p, state, record):
        g = self._l2(p, record)
        b1, b2 = self.betas
        if not state:
            state.update(step=0, exp_avg=np.zeros_like(p.value), exp_avg_sq=np.zeros_like(p.value))
        state["step"] += 1
        t = state["step"]
        m, v = state["exp_avg"], state["exp_avg_sq"]
        m *= b1
        m += (1 - b1) * g  # m = b1 m + (1 - b1) g
        v *= b2
        v += (1 - b2) * (g * g)  # v = b2 v + (1 - b2) g^2
        bc1, bc2 = 1 - b1**t, 1 - b2**t
        # PyTorch's arrangement of lr * m_hat / (sqrt(v_hat) + eps):
        denom = np.sqrt(v) / math.sqrt(bc2) + self.eps
        p.value -= (self.lr / bc1) * (m / denom)
        if record is not None:
            record.update(
                m=m.copy(),
                v=v.copy(),
                m_hat=m / bc1,
                v_hat=v / bc2,
                bias_correction1=float(bc1),
                bias_correction2=float(bc2),
                step=t,
            )


# ---- the optimizer kinds the app and the CLI offer -------------------------------------------
OPTIMIZERS = {"sgd": "SGD", "momentum": "SGD+momentum", "adam": "Adam"}  # kind -> name shown
MOMENTUM = 0.9  # the "momentum" kind's coefficient
# Per preset, the learning rate of each kind that trains visibly within a few dozen steps and
# does not diverge (measured on the preset's data: the article's one 5x5 image under MSE, or
# mini-batches of 32-64 digits). Plain SGD wants the largest, Adam (per-weight steps) the
# smallest; the article's unnormalised 0-4 pixels make plain SGD diverge above 0.02.
DEFAULT_LR = {
    "article": {"sgd": 0.005, "momentum": 0.002, "adam": 0.05},
    "lenet": {"sgd": 0.1, "momentum": 0.05, "adam": 0.002},
    "resnet": {"sgd": 0.1, "momentum": 0.05, "adam": 0.002},
}
DEFAULT_KIND = {"article": "sgd", "lenet": "adam", "resnet": "adam"}  # what the explorer opens


def default_lr(kind: str, preset: str = "lenet") -> float:
    """The learning rate `kind` starts at on `preset` (LeNet's for a model of another name)."""
    if kind not in OPTIMIZERS:
        raise ValueError(f"unknown optimizer {kind!r}; choose one of {', '.join(OPTIMIZERS)}")
    return DEFAULT_LR.get(preset, DEFAULT_LR["lenet"])[kind]


def make_optimizer(
    kind: str, params, lr: float, momentum: float = MOMENTUM, weight_decay: float = 0.0
) -> SGD | Adam:
    """'adam', 'sgd' (plain) or 'momentum' (SGD with momentum) over params."""
    if kind == "adam":
        return Adam(params, lr=lr, weight_decay=weight_decay)
    if kind == "sgd":
        return SGD(params, lr=lr, weight_decay=weight_decay)
    if kind == "momentum":
        return SGD(params, lr=lr, momentum=momentum, weight_decay=weight_decay)
    raise ValueError(f"unknown optimizer {kind!r}; choose one of {', '.join(OPTIMIZERS)}")
