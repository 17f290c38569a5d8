"""explain_forward: the terms that make one output element of a layer's forward pass.

    explain_forward(layer, x, index) -> Explanation
        layer: Conv2d, MaxPool2d, AvgPool2d, ReLU, Sigmoid, Tanh, Linear, Flatten, Dropout or
               Residual; x: the layer's input (N, C, H, W) or (N, F), as given to forward;
        index: the output element (n, c, i, j) or (n, f).
Conv: the patch, the kernel, the products, the bias and the sum. Pools: the window and the
winner (max) or the mean. Activations: the formula with x. Linear: x[k]·W[f,k] terms plus bias.
Flatten: which input element. Dropout: x·mask (mask already scaled by 1/(1-p); the layer's last
mask is used, so x must be the input of its last forward). Residual: body value + skip value
(computed on a twin of the block, so the block's caches and the engine rng are untouched).
Numbers are computed in float64 from x and the parameters; see engine.explain for the fields.
"""

from __future__ import annotations

import math

import numpy as np

from engine.explain import (
    Explanation,
    Term,
    affine,
    batch_output_shape,
    check_index,
    dropout_mask,
    layer_kind,
    pinned_copy,
    receptive_field,
    sigmoid,
    window_geometry,
)


def explain_forward(layer, x, index) -> Explanation:
    """Explain output element `index` ((n, c, i, j) or (n, f)) of layer.forward(x)."""
    kind = layer_kind(layer)
    if kind == "Sequential":
        raise ValueError("explain_forward: explain one layer of a Sequential, not the whole model")
    x = np.asarray(x)
    index = check_index(index, batch_output_shape(layer, x.shape), f"{layer!r} output")
    return _FORWARD[kind](layer, x, index)


def _conv(layer, x, index) -> Explanation:
    n, c, i, j = index
    kh, kw, sh, sw, ph, pw = window_geometry(layer)
    w = layer.weight.value.astype(np.float64)  # (C_out, C_in, kh, kw)
    _, C, H, W = x.shape
    terms, field, pads = [], [], 0
    for cp in range(C):
        for u in range(kh):
            for v in range(kw):
                r, s = i * sh + u - ph, j * sw + v - pw
                wv = float(w[c, cp, u, v])
                if 0 <= r < H and 0 <= s < W:
                    xv = float(x[n, cp, r, s])
                    label, source = f"x[{cp},{r},{s}]·w[{c},{cp},{u},{v}]", (n, cp, r, s)
                    field.append(source)
                else:  # a zero-padding tap: shown with x = 0
                    xv, label, source = 0.0, f"pad[{cp},{r},{s}]·w[{c},{cp},{u},{v}]", None
                    pads += 1
                terms.append(Term(label, (xv, wv), xv * wv, source))
    bias = float(layer.bias.value[c])
    single = layer.weight.value.shape[:2] == (1, 1)
    row, col = affine("i", sh, "u", ph), affine("j", sw, "v", pw)
    notes = [f"{pads} of {len(terms)} taps fall on zero padding (x = 0)"] if pads else []
    return Explanation(
        title=f"{layer!r}: output ({c},{i},{j}) of sample {n}",
        symbolic=f"y[c,i,j] = Σ_{{c',u,v}} x[c',{row},{col}]·w[c,c',u,v] + b[c]",
        lhs=f"(I*K)({i},{j})" if single else f"y[{c},{i},{j}]",
        terms=terms,
        bias=bias,
        total=math.fsum([t.value for t in terms] + [bias]),
        receptive_field=field,
        index=index,
        notes=notes,
    )


def _pool(layer, x, index) -> Explanation:
    n, c, i, j = index
    kh, kw, sh, sw, _, _ = window_geometry(layer)
    terms = []
    for u in range(kh):
        for v in range(kw):
            r, s = i * sh + u, j * sw + v
            xv = float(x[n, c, r, s])
            terms.append(Term(f"x[{c},{r},{s}]", (xv,), xv, (n, c, r, s)))
    row, col = affine("i", sh, "u", 0), affine("j", sw, "v", 0)
    common = dict(
        lhs=f"y[{c},{i},{j}]",
        terms=terms,
        bias=None,
        receptive_field=[t.source for t in terms],
        index=index,
    )
    if layer_kind(layer) == "MaxPool2d":
        winner = 0
        for k, t in enumerate(terms):  # the first maximum in row-major order wins ties
            if t.value > terms[winner].value:
                winner = k
        return Explanation(
            title=f"{layer!r}: output ({c},{i},{j}) of sample {n}; winner {terms[winner].label}",
            symbolic=f"y[c,i,j] = max_{{u<{kh},v<{kw}}} x[c,{row},{col}]",
            total=terms[winner].value,
            kind="max",
            winner=winner,
            **common,
        )
    return Explanation(
        title=f"{layer!r}: output ({c},{i},{j}) of sample {n}",
        symbolic=f"y[c,i,j] = (1/{kh * kw}) Σ_{{u<{kh},v<{kw}}} x[c,{row},{col}]",
        total=math.fsum(t.value for t in terms) / len(terms),
        kind="mean",
        **common,
    )


_ACTIVATIONS = {
    "ReLU": ("y = max(0, x)", "max(0, {0})", lambda v: v if v > 0 else 0.0),
    "Sigmoid": ("y = 1 / (1 + exp(-x))", "1 / (1 + exp(-{0}))", sigmoid),
    "Tanh": ("y = tanh(x)", "tanh({0})", math.tanh),
}


def _label(index: tuple[int, ...], name: str = "x") -> str:
    """x[c,i,j] for (n, c, i, j): per-sample labels leave out the sample n."""
    return f"{name}[{','.join(map(str, index[1:]))}]"


def _activation(layer, x, index) -> Explanation:
    symbolic, formula, f = _ACTIVATIONS[layer_kind(layer)]
    xv = float(x[index])
    return Explanation(
        title=f"{layer!r}: output {_label(index, 'y')} of sample {index[0]}",
        symbolic=symbolic,
        lhs=_label(index, "y"),
        terms=[Term(_label(index), (xv,), xv, index)],
        bias=None,
        total=f(xv),
        receptive_field=[index],
        index=index,
        kind="formula",
        formula=formula,
        formula_values=(xv,),
    )


def _linear(layer, x, index) -> Explanation:
    n, f = index
    w = layer.weight.value.astype(np.float64)  # (out, in)
    terms = []
    for k in range(w.shape[1]):
        xv, wv = float(x[n, k]), float(w[f, k])
        terms.append(Term(f"x[{k}]·W[{f},{k}]", (xv, wv), xv * wv, (n, k)))
    bias = float(layer.bias.value[f])
    return Explanation(
        title=f"{layer!r}: output {f} of sample {n}",
        symbolic="y[f] = Σ_k x[k]·W[f,k] + b[f]",
        lhs=f"y[{f}]",
        terms=terms,
        bias=bias,
        total=math.fsum([t.value for t in terms] + [bias]),
        receptive_field=[t.source for t in terms],
        index=index,
    )


def _flatten(layer, x, index) -> Explanation:
    n, f = index
    source = (n, *map(int, np.unravel_index(f, x.shape[1:])))
    xv = float(x[source])
    return Explanation(
        title=f"{layer!r}: output {f} of sample {n}",
        symbolic="y[f] = x[c,i,j] with f = c·H·W + i·W + j (C order)",
        lhs=f"y[{f}]",
        terms=[Term(_label(source), (xv,), xv, source)],
        bias=None,
        total=xv,
        receptive_field=[source],
        index=index,
        kind="formula",
        formula=_label(source),
    )


def _dropout(layer, x, index) -> Explanation:
    xv = float(x[index])
    mask = dropout_mask(layer, x.shape)
    common = dict(lhs=_label(index, "y"), bias=None, receptive_field=[index], index=index)
    title = f"{layer!r}: output {_label(index, 'y')} of sample {index[0]}"
    if mask is None:
        term = Term(_label(index), (xv,), xv, index)
        return Explanation(
            title=title + " (identity: eval mode or p = 0)",
            symbolic="y = x",
            terms=[term],
            total=xv,
            kind="formula",
            formula=_label(index),
            **common,
        )
    m = float(mask[index])
    kept = "kept, scaled by 1/(1-p)" if m else "dropped"
    return Explanation(
        title=f"{title}: {kept}",
        symbolic="y = x·mask, mask = 1/(1-p) with probability 1-p, else 0",
        terms=[Term(f"{_label(index)}·mask", (xv, m), xv * m, index)],
        total=xv * m,
        **common,
    )


def _residual(layer, x, index) -> Explanation:
    twin = pinned_copy(layer)
    h = x
    for child in twin.layers:
        h = child.forward(h)  # (N, C_out, H_out, W_out)
    body = float(h[index])
    if layer.projection is None:
        skip = float(x[index])
        skip_term = Term(_label(index), (skip,), skip, index)
        symbolic = "y = body(x) + x"
    else:
        skip = float(twin.projection.forward(x)[index])
        skip_term = Term(f"proj(x){_label(index, '')}", (skip,), skip)
        symbolic = f"y = body(x) + proj(x), proj = {layer.projection!r}"
    return Explanation(
        title=f"{layer!r}: output {_label(index, 'y')} of sample {index[0]}",
        symbolic=symbolic,
        lhs=_label(index, "y"),
        terms=[Term(f"body(x){_label(index, '')}", (body,), body), skip_term],
        bias=None,
        total=body + skip,
        receptive_field=receptive_field(layer, x.shape, index),
        index=index,
    )


_FORWARD = {
    "Conv2d": _conv,
    "MaxPool2d": _pool,
    "AvgPool2d": _pool,
    "ReLU": _activation,
    "Sigmoid": _activation,
    "Tanh": _activation,
    "Linear": _linear,
    "Flatten": _flatten,
    "Dropout": _dropout,
    "Residual": _residual,
}
