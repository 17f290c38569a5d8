"""Losses: cross-entropy on logits (stable log-sum-exp) and mean squared error, with their
explanations: the loss value, one sample's loss, a softmax probability, a gradient element.

forward_ctx(pred, targets) -> (loss, ctx); backward_ctx(ctx) -> dL/dpred; explain(ctx, index,
grad) recomputes its numbers in float64 from ctx.x (the logits or predictions) and ctx.targets.
forward/backward keep and use the last context, like the layers'.
"""

from __future__ import annotations

import math

import numpy as np

from engine.explain import Explanation, Term, check_index
from engine.module import Context


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
    if not math.isfinite(loss):
        raise DivergenceError(f"{owner}: loss is {loss} (not finite); {hint}", loss)
    return loss


class _Loss:
    """forward/backward over forward_ctx/backward_ctx, keeping the last context."""

    ctx: Context | None = None

    def __call__(self, pred, targets) -> float:
        return self.forward(pred, targets)

    def forward(self, pred, targets) -> float:
        """The loss value; keeps the context for backward()."""
        loss, self.ctx = self.forward_ctx(pred, targets)
        return loss

    def backward(self) -> np.ndarray:
        """d loss / d pred for the last forward()."""
        if self.ctx is None:
            raise RuntimeError(f"{self!r}: backward() called before forward()")
        return self.backward_ctx(self.ctx)

    def spec(self) -> dict:
        """{"type": "CrossEntropyLoss"} or {"type": "MSELoss"}."""
        return {"type": type(self).__name__}

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"


class CrossEntropyLoss(_Loss):
    """Softmax + negative log-likelihood on logits (N, K) and int targets (N,), batch mean."""

    def forward_ctx(self, logits, targets) -> tuple[float, Context]:
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
        return loss, Context(logits, (), targets=targets.astype(np.int64), probs=probs)

    def backward_ctx(self, ctx: Context) -> np.ndarray:
        """d loss / d logits = (softmax - onehot) / N, shape (N, K)."""
        n, rows, t = ctx.probs.shape[0], np.arange(ctx.probs.shape[0]), ctx.targets
        grad = ctx.probs.copy()
        # p_t - 1 written as -(sum of the other probabilities): when p_t rounds to 1.0 the
        # subtraction would give exactly 0 and lose the (tiny, but real) gradient.
        grad[rows, t] = 0
        grad[rows, t] = -grad.sum(axis=1)
        grad /= n
        return grad

    def explain(self, ctx: Context, index=None, grad: bool = False) -> Explanation:
        """index None: the mean loss; n: sample n's loss; (n, k): softmax p[n,k] (grad: dL/dz)."""
        z, t = np.asarray(ctx.x, dtype=np.float64), np.asarray(ctx.targets)
        if z.ndim != 2 or t.shape != (z.shape[0],):
            raise ValueError(f"explain_loss: CrossEntropyLoss needs logits (N, K) and targets "
                             f"(N,), got {z.shape} and {t.shape}")  # fmt: skip
        N, K = z.shape
        if index is None:
            if grad:
                raise ValueError("explain_loss: grad=True needs an element index (n, k)")
            terms = [Term(f"L[{n}]", (v,), v, (n,)) for n, v in enumerate(_sample_losses(z, t))]
            return Explanation(
                title=f"CrossEntropyLoss: mean over {N} samples", lhs="L",
                symbolic="L = (1/N) Σ_n L[n],  L[n] = -log softmax(z[n])[t[n]]", terms=terms,
                bias=None, total=math.fsum(x.value for x in terms) / N, kind="mean",
                receptive_field=[(n, int(t[n])) for n in range(N)],
            )  # fmt: skip
        if isinstance(index, (int, np.integer)) or len(tuple(index)) == 1:
            (n,) = check_index(index, (N,), "CrossEntropyLoss sample")
            terms, total, m = _softmax_terms(z, n)
            zt = float(z[n, int(t[n])])
            return Explanation(
                title=f"CrossEntropyLoss: sample {n}, target class {int(t[n])}", lhs=f"L[{n}]",
                symbolic="L[n] = log Σ_j exp(z[n,j] - m) + m - z[n,t],  m = max_j z[n,j]",
                terms=terms, bias=None, total=math.log(total) + m - zt,
                receptive_field=[(n, j) for j in range(K)], index=(n,), kind="formula",
                formula="log({0}) + {1} - {2}", formula_values=(total, m, zt),
            )  # fmt: skip
        n, k = check_index(index, (N, K), "CrossEntropyLoss logits")
        terms, total, m = _softmax_terms(z, n)
        p = terms[k].value / total
        common = dict(terms=terms, bias=None, receptive_field=[(n, j) for j in range(K)],
                      index=(n, k), kind="formula")  # fmt: skip
        if not grad:
            return Explanation(
                title=f"softmax: probability of class {k} for sample {n}", lhs=f"p[{n},{k}]",
                symbolic="p[n,k] = exp(z[n,k] - m) / Σ_j exp(z[n,j] - m)", total=p,
                formula="{0} / {1}", formula_values=(terms[k].value, total), **common,
            )  # fmt: skip
        onehot = 1.0 if int(t[n]) == k else 0.0
        return Explanation(
            title=f"CrossEntropyLoss gradient: logit {k} of sample {n} (target {int(t[n])})",
            symbolic="dL/dz[n,k] = (p[n,k] - onehot[n,k]) / N,  p = softmax(z[n])",
            lhs=f"dL/dz[{n},{k}]", total=(p - onehot) / N, formula="({0} - {1}) / {2}",
            formula_values=(p, onehot, float(N)), grad_field=[(n, k)], **common,
        )  # fmt: skip


def _softmax_terms(z: np.ndarray, n: int) -> tuple[list[Term], float, float]:
    """exp(z[n,j] - m) terms, their sum and m = max_j z[n,j] (which keeps exp() finite)."""
    m = float(z[n].max())
    terms = [Term(f"exp(z[{n},{j}] - m)", (float(z[n, j]), m), math.exp(z[n, j] - m), (n, j),
                  "exp({0} - {1})") for j in range(z.shape[1])]  # fmt: skip
    return terms, math.fsum(t.value for t in terms), m


def _sample_losses(z: np.ndarray, t: np.ndarray) -> list[float]:
    """L[n] = log Σ_j exp(z[n,j] - m) + m - z[n,t] for every sample, in float64."""
    out = []
    for n in range(z.shape[0]):
        _, total, m = _softmax_terms(z, n)
        out.append(math.log(total) + m - float(z[n, t[n]]))
    return out


class MSELoss(_Loss):
    """Mean over all elements of (pred - target)^2."""

    def forward_ctx(self, pred, target) -> tuple[float, Context]:
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
        return loss, Context(pred, (), targets=target, diff=diff)

    def backward_ctx(self, ctx: Context) -> np.ndarray:
        """d loss / d pred = 2 (pred - target) / numel."""
        return ctx.diff * ctx.diff.dtype.type(2.0 / ctx.diff.size)

    def explain(self, ctx: Context, index=None, grad: bool = False) -> Explanation:
        """index None: the mean of (pred - target)^2; an index: that element's (grad: 2·diff/n)."""
        pred = np.asarray(ctx.x, dtype=np.float64)
        target = np.asarray(ctx.targets, dtype=np.float64)
        if pred.shape != target.shape:
            raise ValueError(f"explain_loss: MSELoss pred {pred.shape} != target {target.shape}")
        numel = pred.size

        def term(ix):
            i, p, q = ",".join(map(str, ix)), float(pred[ix]), float(target[ix])
            return Term(f"(pred[{i}] - target[{i}])^2", (p, q), (p - q) ** 2, ix, "({0} - {1})^2")

        if index is None:
            if grad:
                raise ValueError("explain_loss: grad=True needs an element index")
            terms = [term(ix) for ix in np.ndindex(pred.shape)]
            return Explanation(
                title=f"MSELoss: mean over {numel} elements", lhs="L", terms=terms, bias=None,
                symbolic="L = (1/numel) Σ (pred - target)^2", kind="mean",
                total=math.fsum(t.value for t in terms) / numel,
                receptive_field=[t.source for t in terms],
            )  # fmt: skip
        ix = check_index(index, pred.shape, "MSELoss pred")
        t, i = term(ix), ",".join(map(str, ix))
        common = dict(terms=[t], bias=None, receptive_field=[ix], index=ix, kind="formula")
        if not grad:
            return Explanation(
                title=f"MSELoss: squared error of element ({i})", symbolic="(pred - target)^2",
                lhs=f"e[{i}]", total=t.value, formula="({0} - {1})^2", formula_values=t.factors,
                **common,
            )  # fmt: skip
        return Explanation(
            title=f"MSELoss gradient: element ({i})", lhs=f"dL/dpred[{i}]",
            symbolic="dL/dpred = 2·(pred - target) / numel",
            total=2.0 * (t.factors[0] - t.factors[1]) / numel, formula="2*({0} - {1}) / {2}",
            formula_values=(*t.factors, float(numel)), grad_field=[ix], **common,
        )  # fmt: skip
