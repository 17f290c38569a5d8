"""Losses: cross-entropy on logits (stable log-sum-exp) and mean squared error."""

from __future__ import annotations

import math

import numpy as np


class DivergenceError(ArithmeticError):
    """The loss became NaN or infinite: training diverged (the message names the value)."""

    def __init__(self, message: str, value: float):
        super().__init__(message)
        self.value = value


def _as_float_array(owner: str, name: str, a) -> np.ndarray:
    a = np.asarray(a)
    if a.dtype.kind not in "fiub":
        raise ValueError(f"{owner}: {name} must be a real number array, got dtype {a.dtype}")
    if a.dtype.type not in (np.float32, np.float64):
        a = a.astype(np.float64)
    return a


def _finite(owner: str, loss: float, hint: str) -> float:
    # np.isfinite here runs in plain NumPy: fastmath kernels may drop NaN checks.
    if not math.isfinite(loss):
        raise DivergenceError(f"{owner}: loss is {loss} (not finite); {hint}", loss)
    return loss


class CrossEntropyLoss:
    """Softmax + negative log-likelihood on logits (N, K) and int targets (N,), batch mean."""

    def __init__(self):
        self.probs = None  # (N, K) softmax of the last forward
        self.targets = None  # (N,) int64

    def __call__(self, logits, targets) -> float:
        return self.forward(logits, targets)

    def forward(self, logits, targets) -> float:
        """-mean_n log softmax(logits_n)[t_n], via log-sum-exp so 1e4 logits don't overflow."""
        logits = _as_float_array("CrossEntropyLoss", "logits", logits)
        if logits.ndim != 2 or logits.shape[0] == 0 or logits.shape[1] == 0:
            raise ValueError(f"CrossEntropyLoss: expected logits (N, K), got shape {logits.shape}")
        n, k = logits.shape
        targets = np.asarray(targets)
        if targets.dtype.kind not in "iu":
            raise ValueError(
                f"CrossEntropyLoss: targets must be integer class indices, "
                f"got dtype {targets.dtype}"
            )
        if targets.shape != (n,):
            raise ValueError(
                f"CrossEntropyLoss: targets shape {targets.shape} does not match logits "
                f"{logits.shape}: expected ({n},)"
            )
        bad = (targets < 0) | (targets >= k)
        if bad.any():
            raise ValueError(
                f"CrossEntropyLoss: target {targets[bad][0]} out of range for K = {k} classes "
                f"(valid: 0..{k - 1})"
            )
        finite = np.isfinite(logits)
        if not finite.all():
            # A -inf logit off the target gives a finite loss, but it means the network overflowed.
            where = tuple(int(i) for i in np.argwhere(~finite)[0])
            raise DivergenceError(
                f"CrossEntropyLoss: loss is nan: logit {float(logits[where])} at {list(where)} "
                "is not finite (the network diverged)",
                float("nan"),
            )
        # Subtracting the row max keeps exp() in (0, 1]: log softmax = z - m - log sum exp(z - m).
        # The max term is exactly 1, so log sum = log1p(the others): precise for confident rows.
        rows, top = np.arange(n), logits.argmax(axis=1)
        with np.errstate(all="ignore"):  # overflow is caught just below, by name
            shifted = logits - logits[rows, top][:, None]  # (N, K), <= 0
            others = np.exp(shifted)
            others[rows, top] = 0
            log_probs = shifted - np.log1p(others.sum(axis=1, keepdims=True))  # (N, K)
            picked = log_probs[np.arange(n), targets]  # (N,)
            probs = np.exp(log_probs)  # (N, K); tiny ones underflow to 0, harmlessly
        loss = _finite("CrossEntropyLoss", float(-picked.mean()), "the logits overflowed")
        self.probs = probs
        self.targets = targets.astype(np.int64)
        return loss

    def backward(self) -> np.ndarray:
        """d loss / d logits = (softmax - onehot) / N, shape (N, K)."""
        if self.probs is None:
            raise RuntimeError("CrossEntropyLoss: backward() called before forward()")
        n, rows = self.probs.shape[0], np.arange(self.probs.shape[0])
        grad = self.probs.copy()
        # p_t - 1 written as -(sum of the other probabilities): when p_t rounds to 1.0 the
        # subtraction would give exactly 0 and lose the (tiny, but real) gradient.
        grad[rows, self.targets] = 0
        grad[rows, self.targets] = -grad.sum(axis=1)
        grad /= n
        return grad

    def spec(self) -> dict:
        """{"type": "CrossEntropyLoss"}."""
        return {"type": "CrossEntropyLoss"}

    def __repr__(self) -> str:
        return "CrossEntropyLoss()"


class MSELoss:
    """Mean over all elements of (pred - target)^2."""

    def __init__(self):
        self.diff = None  # pred - target of the last forward

    def __call__(self, pred, target) -> float:
        return self.forward(pred, target)

    def forward(self, pred, target) -> float:
        """mean((pred - target)^2), computed in pred's dtype."""
        pred = _as_float_array("MSELoss", "pred", pred)
        target = _as_float_array("MSELoss", "target", target)
        if pred.shape != target.shape:
            raise ValueError(f"MSELoss: pred shape {pred.shape} != target shape {target.shape}")
        if pred.size == 0:
            raise ValueError(f"MSELoss: empty input, shape {pred.shape}")
        with np.errstate(all="ignore"):  # overflow to inf is reported just below
            diff = pred - target.astype(pred.dtype, copy=False)
            loss = float(np.mean(diff * diff))
        _finite("MSELoss", loss, "pred or target contain NaN/inf, or values overflowed")
        self.diff = diff
        return loss

    def backward(self) -> np.ndarray:
        """d loss / d pred = 2 (pred - target) / numel."""
        if self.diff is None:
            raise RuntimeError("MSELoss: backward() called before forward()")
        return self.diff * self.diff.dtype.type(2.0 / self.diff.size)

    def spec(self) -> dict:
        """{"type": "MSELoss"}."""
        return {"type": "MSELoss"}

    def __repr__(self) -> str:
        return "MSELoss()"
