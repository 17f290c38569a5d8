"""explain_loss: the terms that make a loss value, a softmax probability or a logit gradient.

    explain_loss(loss, pred, targets, index=None, *, grad=False) -> Explanation
pred is what the loss's forward got (logits (N, K) for cross-entropy, predictions for MSE) and
targets its targets. The numbers are recomputed in float64 from pred and targets, so the loss
object's caches are not needed.

CrossEntropyLoss (m = max_j z[n,j] keeps exp() from overflowing; terms: exp(z[n,j] - m)):
    index None          L = (1/N) Σ_n L[n]                          (kind "mean", terms L[n])
    index n             L[n] = log Σ_j exp(z[n,j] - m) + m - z[n,t]
    index (n, k)        p[n,k] = exp(z[n,k] - m) / Σ_j exp(z[n,j] - m)     (the softmax)
    (n, k), grad=True   dL/dz[n,k] = (p[n,k] - onehot[n,k]) / N
MSELoss (terms: (pred - target)^2 per element):
    index None          L = mean (pred - target)^2                  (kind "mean")
    index tuple         (pred - target)^2 of that element
    index, grad=True    dL/dpred = 2·(pred - target) / numel
"""

from __future__ import annotations

import math

import numpy as np

from engine.explain import Explanation, Term, check_index


def explain_loss(loss, pred, targets, index=None, *, grad=False) -> Explanation:
    """Explain a loss value, one sample's loss, a softmax probability, or a gradient element."""
    pred = np.asarray(pred, dtype=np.float64)
    targets = np.asarray(targets)
    kinds = [c.__name__ for c in type(loss).__mro__]
    if "CrossEntropyLoss" in kinds:
        return _cross_entropy(pred, targets, index, grad)
    if "MSELoss" in kinds:
        return _mse(pred, targets.astype(np.float64), index, grad)
    raise ValueError(f"explain_loss: {loss!r} is not a CrossEntropyLoss or MSELoss")


def _softmax_terms(z: np.ndarray, n: int) -> tuple[list[Term], float, float]:
    """exp(z[n,j] - m) terms, their sum and m, for sample n."""
    m = float(z[n].max())
    terms = [
        Term(f"exp(z[{n},{j}] - m)", (float(z[n, j]), m), math.exp(z[n, j] - m), (n, j),
             "exp({0} - {1})")
        for j in range(z.shape[1])
    ]  # fmt: skip
    return terms, math.fsum(t.value for t in terms), m


def _sample_loss(z: np.ndarray, t: np.ndarray, n: int) -> float:
    _, total, m = _softmax_terms(z, n)
    return math.log(total) + m - float(z[n, t[n]])


def _cross_entropy(z, t, index, grad) -> Explanation:
    if z.ndim != 2 or t.shape != (z.shape[0],):
        raise ValueError(
            f"explain_loss: CrossEntropyLoss needs logits (N, K) and targets (N,), "
            f"got {z.shape} and {t.shape}"
        )
    N, K = z.shape
    if index is None:
        if grad:
            raise ValueError("explain_loss: grad=True needs an element index (n, k)")
        losses = [_sample_loss(z, t, n) for n in range(N)]
        terms = [Term(f"L[{n}]", (v,), v, (n,)) for n, v in enumerate(losses)]
        return Explanation(
            title=f"CrossEntropyLoss: mean over {N} samples",
            symbolic="L = (1/N) Σ_n L[n],  L[n] = -log softmax(z[n])[t[n]]",
            lhs="L",
            terms=terms,
            bias=None,
            total=math.fsum(x.value for x in terms) / N,
            receptive_field=[(n, int(t[n])) for n in range(N)],
            kind="mean",
        )
    if isinstance(index, (int, np.integer)) or len(tuple(index)) == 1:
        (n,) = check_index(index, (N,), "CrossEntropyLoss sample")
        terms, total, m = _softmax_terms(z, n)
        target = int(t[n])
        return Explanation(
            title=f"CrossEntropyLoss: sample {n}, target class {target}",
            symbolic="L[n] = log Σ_j exp(z[n,j] - m) + m - z[n,t],  m = max_j z[n,j]",
            lhs=f"L[{n}]",
            terms=terms,
            bias=None,
            total=math.log(total) + m - float(z[n, target]),
            receptive_field=[(n, j) for j in range(K)],
            index=(n,),
            kind="formula",
            formula="log({0}) + {1} - {2}",
            formula_values=(total, m, float(z[n, target])),
        )
    n, k = check_index(index, (N, K), "CrossEntropyLoss logits")
    terms, total, m = _softmax_terms(z, n)
    p = terms[k].value / total
    common = dict(terms=terms, bias=None, receptive_field=[(n, j) for j in range(K)], index=(n, k))
    if not grad:
        return Explanation(
            title=f"softmax: probability of class {k} for sample {n}",
            symbolic="p[n,k] = exp(z[n,k] - m) / Σ_j exp(z[n,j] - m)",
            lhs=f"p[{n},{k}]",
            total=p,
            kind="formula",
            formula="{0} / {1}",
            formula_values=(terms[k].value, total),
            **common,
        )
    onehot = 1.0 if int(t[n]) == k else 0.0
    return Explanation(
        title=f"CrossEntropyLoss gradient: logit {k} of sample {n} (target {int(t[n])})",
        symbolic="dL/dz[n,k] = (p[n,k] - onehot[n,k]) / N,  p = softmax(z[n])",
        lhs=f"dL/dz[{n},{k}]",
        total=(p - onehot) / N,
        kind="formula",
        formula="({0} - {1}) / {2}",
        formula_values=(p, onehot, float(N)),
        grad_field=[(n, k)],
        **common,
    )


def _mse(pred, target, index, grad) -> Explanation:
    if pred.shape != target.shape:
        raise ValueError(f"explain_loss: MSELoss pred {pred.shape} != target {target.shape}")
    numel = pred.size

    def term(ix):
        label = ",".join(map(str, ix))
        p, q = float(pred[ix]), float(target[ix])
        return Term(f"(pred[{label}] - target[{label}])^2", (p, q), (p - q) ** 2, ix,
                    "({0} - {1})^2")  # fmt: skip

    if index is None:
        if grad:
            raise ValueError("explain_loss: grad=True needs an element index")
        terms = [term(ix) for ix in np.ndindex(pred.shape)]
        return Explanation(
            title=f"MSELoss: mean over {numel} elements",
            symbolic="L = (1/numel) Σ (pred - target)^2",
            lhs="L",
            terms=terms,
            bias=None,
            total=math.fsum(t.value for t in terms) / numel,
            receptive_field=[t.source for t in terms],
            kind="mean",
        )
    ix = check_index(index, pred.shape, "MSELoss pred")
    t = term(ix)
    label = ",".join(map(str, ix))
    if not grad:
        return Explanation(
            title=f"MSELoss: squared error of element ({label})",
            symbolic="(pred - target)^2",
            lhs=f"e[{label}]",
            terms=[t],
            bias=None,
            total=t.value,
            receptive_field=[ix],
            index=ix,
            kind="formula",
            formula="({0} - {1})^2",
            formula_values=t.factors,
        )
    return Explanation(
        title=f"MSELoss gradient: element ({label})",
        symbolic="dL/dpred = 2·(pred - target) / numel",
        lhs=f"dL/dpred[{label}]",
        terms=[t],
        bias=None,
        total=2.0 * (t.factors[0] - t.factors[1]) / numel,
        receptive_field=[ix],
        index=ix,
        kind="formula",
        formula="2*({0} - {1}) / {2}",
        formula_values=(*t.factors, float(numel)),
        grad_field=[ix],
    )
