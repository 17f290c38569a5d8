"""explain_backward: the chain-rule terms that make one element of a layer's gradient.

    explain_backward(layer, x, grad_out, index, wrt="input") -> Explanation
        x: the layer's forward input; grad_out: dL/dy, shaped like the layer's output;
        wrt "input": index into x (n, c, r, s) or (n, k);
            "weight" / "bias": index into layer.weight / layer.bias (Conv2d, Linear).
g below is grad_out. Conv grad_input: one term g[c,i,j]·w[c,c',u,v] per output position that
read this input (i·s + u - p = r); grad_weight: Σ over n, i, j of g[n,c,i,j]·x[n,c',i·s+u-p,...]
(padding taps kept as x = 0 terms); grad_bias: Σ g. Max pool: g routed to the window's winner
(factor 1) and nowhere else (factor 0); avg pool: g/(kh·kw) from each window containing the pixel.
Activations: g·f'(x). Linear: Σ_f g[f]·W[f,k]; grad W[f,k] = Σ_n g[n,f]·x[n,k].
Flatten: the matching g element. Dropout: g·mask. Residual: through the body + through the skip.
grad_field lists the grad_out indices that feed the element; receptive_field the x indices.
"""

from __future__ import annotations

import math
from itertools import product

import numpy as np

from engine.explain import (
    Explanation,
    Term,
    TermList,
    affine,
    batch_output_shape,
    check_index,
    dropout_mask,
    layer_kind,
    pinned_copy,
    sigmoid,
    window_geometry,
)


def explain_backward(layer, x, grad_out, index, wrt: str = "input") -> Explanation:
    """Explain element `index` of dL/d(input), dL/d(weight) or dL/d(bias) of layer."""
    kind = layer_kind(layer)
    if kind == "Sequential":
        raise ValueError("explain_backward: explain one layer of a Sequential, not the model")
    x = np.asarray(x)
    grad_out = np.asarray(grad_out, dtype=np.float64)
    out_shape = batch_output_shape(layer, x.shape)
    if grad_out.shape != out_shape:
        raise ValueError(f"{layer!r}: grad_out shape {grad_out.shape}, expected {out_shape}")
    if wrt == "input":
        index = check_index(index, x.shape, f"{layer!r} input")
    elif wrt in ("weight", "bias"):
        param = getattr(layer, wrt, None) if kind in ("Conv2d", "Linear") else None
        if param is None:
            raise ValueError(f"explain_backward: {layer!r} has no {wrt}")
        index = check_index(index, param.value.shape, f"{layer!r} {wrt}")
    else:
        raise ValueError(f"explain_backward: wrt must be 'input', 'weight' or 'bias', got {wrt!r}")
    return _BACKWARD[kind](layer, x, grad_out, index, wrt)


def _ix(*index: int) -> str:
    return ",".join(map(str, index))


def _sum(
    title, symbolic, lhs, terms, index, field=(), grad_field=(), notes=(), total=None
) -> Explanation:
    return Explanation(
        title=title,
        symbolic=symbolic,
        lhs=lhs,
        terms=terms,
        bias=None,
        total=math.fsum(t.value for t in terms) if total is None else total,
        receptive_field=list(field),
        index=index,
        grad_field=list(grad_field),
        notes=list(notes),
    )


def _conv(layer, x, g, index, wrt) -> Explanation:
    kh, kw, sh, sw, ph, pw = window_geometry(layer)
    w = layer.weight.value.astype(np.float64)  # (C_out, C_in, kh, kw)
    N, C, H, W = x.shape
    _, C_out, Ho, Wo = g.shape
    name = repr(layer)
    if wrt == "input":
        n, cp, r, s = index
        terms, gf = [], []
        for c in range(C_out):
            for u in range(kh):
                for v in range(kw):
                    i, ri = divmod(r + ph - u, sh)
                    j, rj = divmod(s + pw - v, sw)
                    if ri or rj or not (0 <= i < Ho and 0 <= j < Wo):
                        continue
                    gv, wv = float(g[n, c, i, j]), float(w[c, cp, u, v])
                    terms.append(
                        Term(f"g[{_ix(c, i, j)}]·w[{_ix(c, cp, u, v)}]", (gv, wv), gv * wv)
                    )
                    gf.append((n, c, i, j))
        return _sum(
            f"{name}: dL/dx ({_ix(cp, r, s)}) of sample {n}",
            f"dL/dx[c',r,s] = Σ_{{c,u,v: r = {affine('i', sh, 'u', ph)}, "
            f"s = {affine('j', sw, 'v', pw)}}} g[c,i,j]·w[c,c',u,v]",
            f"dL/dx[{_ix(cp, r, s)}]",
            terms, index, [index], gf,
        )  # fmt: skip
    if wrt == "bias":
        (c,) = index
        gs = g[:, c]  # (N, Ho, Wo)
        return _sum(f"{name}: dL/db[{c}]", "dL/db[c] = Σ_{n,i,j} g[n,c,i,j]", f"dL/db[{c}]",
                    TermList(gs.size, lambda k: _bias_term(gs, c, k)), index, (),
                    list(product(range(N), (c,), range(Ho), range(Wo))),
                    total=math.fsum(gs.ravel().tolist()))  # fmt: skip
    c, cp, u, v = index
    rows, cols = np.arange(Ho) * sh + u - ph, np.arange(Wo) * sw + v - pw  # input coordinates
    xp = np.pad(x[:, cp].astype(np.float64), ((0, 0), (ph, ph), (pw, pw)))  # (N, H+2p, W+2p)
    xs = xp[:, rows[:, None] + ph, cols[None, :] + pw]  # (N, Ho, Wo): the x each g meets
    gs = g[:, c]  # (N, Ho, Wo)
    inside = [(int(rows[i]), int(cols[j])) for i in range(Ho) for j in range(Wo)
              if 0 <= rows[i] < H and 0 <= cols[j] < W]  # fmt: skip

    def term(k: int) -> Term:
        n, i, j = np.unravel_index(k, gs.shape)
        r, s, gv, xv = int(rows[i]), int(cols[j]), float(gs[n, i, j]), float(xs[n, i, j])
        inner = 0 <= r < H and 0 <= s < W
        what = "x" if inner else "pad"
        label = f"g[{_ix(n, c, i, j)}]·{what}[{_ix(n, cp, r, s)}]"
        return Term(label, (gv, xv), gv * xv, (int(n), cp, r, s) if inner else None)

    return _sum(
        f"{name}: dL/dw[{_ix(c, cp, u, v)}]",
        f"dL/dw[c,c',u,v] = Σ_{{n,i,j}} g[n,c,i,j]·x[n,c',{affine('i', sh, 'u', ph)},"
        f"{affine('j', sw, 'v', pw)}]",
        f"dL/dw[{_ix(c, cp, u, v)}]",
        TermList(gs.size, term), index,
        [(n, cp, r, s) for n in range(N) for r, s in inside],
        list(product(range(N), (c,), range(Ho), range(Wo))),
        total=math.fsum((gs * xs).ravel().tolist()),
    )  # fmt: skip


def _bias_term(gs: np.ndarray, c: int, k: int) -> Term:
    n, i, j = np.unravel_index(k, gs.shape)
    v = float(gs[n, i, j])
    return Term(f"g[{_ix(n, c, i, j)}]", (v,), v)


def _pool(layer, x, g, index, wrt) -> Explanation:
    kh, kw, sh, sw, _, _ = window_geometry(layer)
    n, c, r, s = index
    _, _, Ho, Wo = g.shape
    is_max = layer_kind(layer) == "MaxPool2d"
    terms, gf, winner = [], [], None
    for i in range(Ho):
        for j in range(Wo):
            if not (i * sh <= r < i * sh + kh and j * sw <= s < j * sw + kw):
                continue
            gv = float(g[n, c, i, j])
            gf.append((n, c, i, j))
            if is_max:
                window = x[n, c, i * sh : i * sh + kh, j * sw : j * sw + kw]
                wu, wv = divmod(int(np.argmax(window)), kw)  # argmax: the first maximum wins
                best = (i * sh + wu, j * sw + wv)
                wins = best == (r, s)
                how = "wins" if wins else f"loses to x[{_ix(c, *best)}]"
                terms.append(Term(f"g[{_ix(c, i, j)}]·1[x[{_ix(c, r, s)}] {how}]",
                                  (gv, float(wins)), gv * float(wins)))  # fmt: skip
                if wins and winner is None:
                    winner = len(terms) - 1
            else:
                k = 1.0 / (kh * kw)
                terms.append(Term(f"g[{_ix(c, i, j)}]/{kh * kw}", (gv, k), gv * k))
    notes = [] if terms else ["no pooling window covers this pixel (floor in the size formula)"]
    if is_max:
        symbolic = "dL/dx[c,r,s] = Σ_{windows (i,j) holding (r,s)} g[c,i,j]·1[x[c,r,s] is the max]"
    else:
        symbolic = f"dL/dx[c,r,s] = Σ_{{windows (i,j) holding (r,s)}} g[c,i,j] / {kh * kw}"
    e = _sum(f"{layer!r}: dL/dx ({_ix(c, r, s)}) of sample {n}", symbolic,
             f"dL/dx[{_ix(c, r, s)}]", terms, index, [index], gf, notes)  # fmt: skip
    e.winner = winner
    return e


def _local_derivative(kind: str, v: float) -> tuple[float, str]:
    if kind == "ReLU":
        return (1.0 if v > 0 else 0.0), "1[x>0]"
    if kind == "Sigmoid":
        y = sigmoid(v)
        return y * (1.0 - y), "σ(x)(1-σ(x))"
    y = math.tanh(v)
    return 1.0 - y * y, "(1-tanh²(x))"


def _elementwise(layer, x, g, index, wrt) -> Explanation:
    kind, gv, at = layer_kind(layer), float(g[index]), _ix(*index[1:])
    if kind in ("ReLU", "Sigmoid", "Tanh"):
        d, what = _local_derivative(kind, float(x[index]))
        symbolic = f"dL/dx = g·{what}"
    else:  # Dropout: the scaled mask of the last forward, or identity
        mask = dropout_mask(layer, x.shape)
        d, what = (1.0, "1 (identity)") if mask is None else (float(mask[index]), "mask")
        symbolic = "dL/dx = g·mask" if mask is not None else "dL/dx = g"
    term = Term(f"g[{at}]·{what}", (gv, d), gv * d, index)
    return _sum(f"{layer!r}: dL/dx ({at}) of sample {index[0]}", symbolic, f"dL/dx[{at}]",
                [term], index, [index], [index])  # fmt: skip


def _linear(layer, x, g, index, wrt) -> Explanation:
    w = layer.weight.value.astype(np.float64)  # (out, in)
    N, F = g.shape
    name = repr(layer)
    if wrt == "input":
        n, k = index
        terms = [
            Term(f"g[{f}]·W[{f},{k}]", (float(g[n, f]), float(w[f, k])), float(g[n, f] * w[f, k]))
            for f in range(F)
        ]
        return _sum(f"{name}: dL/dx[{k}] of sample {n}", "dL/dx[k] = Σ_f g[f]·W[f,k]",
                    f"dL/dx[{k}]", terms, index, [index], [(n, f) for f in range(F)])  # fmt: skip
    if wrt == "bias":
        (f,) = index
        terms = [Term(f"g[{n},{f}]", (float(g[n, f]),), float(g[n, f])) for n in range(N)]
        return _sum(f"{name}: dL/db[{f}]", "dL/db[f] = Σ_n g[n,f]", f"dL/db[{f}]",
                    terms, index, (), [(n, f) for n in range(N)])  # fmt: skip
    f, k = index
    xs = x.astype(np.float64)
    terms = [
        Term(f"g[{n},{f}]·x[{n},{k}]", (float(g[n, f]), float(xs[n, k])), float(g[n, f] * xs[n, k]),
             (n, k))
        for n in range(N)
    ]  # fmt: skip
    return _sum(f"{name}: dL/dW[{f},{k}]", "dL/dW[f,k] = Σ_n g[n,f]·x[n,k]", f"dL/dW[{f},{k}]",
                terms, index, [(n, k) for n in range(N)], [(n, f) for n in range(N)])  # fmt: skip


def _flatten(layer, x, g, index, wrt) -> Explanation:
    n = index[0]
    f = int(np.ravel_multi_index(index[1:], x.shape[1:]))
    gv = float(g[n, f])
    return _sum(f"{layer!r}: dL/dx ({_ix(*index[1:])}) of sample {n}",
                "dL/dx[c,i,j] = g[f], f = c·H·W + i·W + j", f"dL/dx[{_ix(*index[1:])}]",
                [Term(f"g[{f}]", (gv,), gv)], index, [index], [(n, f)])  # fmt: skip


def _residual(layer, x, g, index, wrt) -> Explanation:
    twin = pinned_copy(layer)
    twin.forward(x)  # the twin's caches now hold this x (the real block is untouched)
    gb = g
    for child in reversed(twin.layers):
        gb = child.backward(gb)
    body = float(gb[index])
    if twin.projection is None:
        skip, skip_label = float(g[index]), f"g[{_ix(*index[1:])}] (identity skip)"
    else:
        skip = float(twin.projection.backward(g)[index])
        skip_label = "through proj (1x1 conv)"
    terms = [Term("through body", (body,), body), Term(skip_label, (skip,), skip)]
    return _sum(f"{layer!r}: dL/dx ({_ix(*index[1:])}) of sample {index[0]}",
                "dL/dx = (dbody/dx)ᵀ g + (dskip/dx)ᵀ g", f"dL/dx[{_ix(*index[1:])}]",
                terms, index, [index])  # fmt: skip


_BACKWARD = {
    "Conv2d": _conv,
    "MaxPool2d": _pool,
    "AvgPool2d": _pool,
    "ReLU": _elementwise,
    "Sigmoid": _elementwise,
    "Tanh": _elementwise,
    "Dropout": _elementwise,
    "Linear": _linear,
    "Flatten": _flatten,
    "Residual": _residual,
}
