"""Sizes read from files, stated once and checked before anything is allocated."""

from __future__ import annotations

import math

from engine.activations import is_int

# A teaching app's models are small (lenet: 9,146 parameters). These limits are far above
# anything it builds and far below what would exhaust a laptop's memory.
MAX_PARAMETERS = 10_000_000  # 40 MB of float32 weights
MAX_INPUT_VALUES = 1 << 20  # one sample: e.g. 1x1024x1024 or 3x512x512
MAX_LAYER_VALUES = 1 << 24  # one layer's output for one sample: 64 MB of float32
MAX_SPEC_DEPTH = 16  # layers nested inside Sequential/Residual blocks
MAX_LAYERS = 1_000  # layers in a spec, counting nested ones
MAX_MEMBER_BYTES = 64 << 20  # one uncompressed member of a checkpoint archive
MAX_ARCHIVE_BYTES = 128 << 20  # all members a checkpoint load reads, uncompressed
MAX_TEXT_BYTES = 4 << 20  # a JSON member (spec, meta, names), as stored (4 bytes a character)

_CONTAINERS = ("Sequential", "Residual")


class LimitError(ValueError):
    """A size read from a file is beyond a stated limit; the message names it and the limit."""


def _ints(value) -> tuple[int, ...] | None:
    """(v,) or (h, w) when value is an int or a pair of ints, else None (the layer will say)."""
    items = value if isinstance(value, (list, tuple)) else (value,)
    return tuple(int(v) for v in items) if all(is_int(v) for v in items) else None


def _conv_params(spec: dict) -> tuple[int, int | None, int | None]:
    """(parameters, in_channels, out_channels) of a Conv2d spec; 0 when its sizes are not ints."""
    c_in, c_out = _ints(spec.get("in_channels")), _ints(spec.get("out_channels"))
    kernel = _ints(spec.get("kernel_size"))
    if not (c_in and c_out and kernel) or len(c_in) != 1 or len(c_out) != 1:
        return 0, None, None
    area = kernel[0] ** 2 if len(kernel) == 1 else math.prod(kernel)  # k means k x k
    return c_out[0] * c_in[0] * area + c_out[0], c_in[0], c_out[0]


def _walk(spec, path: str, depth: int, counts: list[int]) -> tuple[int | None, int | None]:
    """Add spec's layers and parameters to counts; (first in, last out) channels for Residual."""
    if depth > MAX_SPEC_DEPTH:
        raise LimitError(f"{path}: layers nested more than {MAX_SPEC_DEPTH} deep")
    counts[0] += 1
    if counts[0] > MAX_LAYERS:
        raise LimitError(f"{path}: more than {MAX_LAYERS:,} layers")
    if not isinstance(spec, dict):
        return None, None  # from_spec names the malformed entry
    kind = spec.get("type")
    if kind in _CONTAINERS and isinstance(spec.get("layers"), list):
        first = last = None
        for i, child in enumerate(spec["layers"]):
            c_in, c_out = _walk(child, f"{path}.layers[{i}]", depth + 1, counts)
            first = first if first is not None else c_in
            last = c_out if c_out is not None else last
        if kind == "Residual" and first is not None:  # a 1x1 projection may be added
            counts[1] += first * last + last
        return first, last
    if kind == "Conv2d":
        params, c_in, c_out = _conv_params(spec)
    elif kind == "Linear":
        sizes = _ints(spec.get("in_features")), _ints(spec.get("out_features"))
        params = sizes[0][0] * sizes[1][0] + sizes[1][0] if all(sizes) else 0
        c_in = c_out = None
    else:
        return None, None
    counts[1] += params
    if params > MAX_PARAMETERS:
        raise LimitError(
            f"{path}: {kind} would have {params:,} parameters "
            f"({4 * params:,} bytes); the limit is {MAX_PARAMETERS:,}"
        )
    return c_in, c_out


def check_spec(spec) -> int:
    """The parameter count of a model spec, without building it; LimitError past a limit."""
    counts = [0, 0]  # layers, parameters
    _walk(spec, "spec", 0, counts)
    if counts[1] > MAX_PARAMETERS:
        raise LimitError(
            f"spec: the model would have {counts[1]:,} parameters ({4 * counts[1]:,} bytes); "
            f"the limit is {MAX_PARAMETERS:,}"
        )
    return counts[1]


def check_input_shape(shape: tuple[int, ...], what: str = "input shape") -> tuple[int, ...]:
    """shape if every size is >= 1 and a sample has at most MAX_INPUT_VALUES values."""
    if not shape or any(d < 1 for d in shape):
        raise LimitError(f"{what} {shape}: every size must be at least 1")
    values = math.prod(shape)
    if values > MAX_INPUT_VALUES:
        raise LimitError(
            f"{what} {shape}: {values:,} values per sample; the limit is {MAX_INPUT_VALUES:,}"
        )
    return shape


def check_model_shapes(model, in_shape, where: str = "") -> tuple[int, ...]:
    """model's per-sample output shape, after checking that every layer's output (nested ones
    too) holds at most MAX_LAYER_VALUES values; LimitError naming the first that does not."""
    shape = tuple(in_shape)
    for i, layer in enumerate(getattr(model, "layers", ())):  # Sequential and Residual bodies
        shape = check_model_shapes(layer, shape, f"{where}{i}.")
    out = tuple(model.output_shape(tuple(in_shape)))
    values = math.prod(out)
    if values > MAX_LAYER_VALUES:
        label = f"layer {where[:-1]}" if where else "the model"
        raise LimitError(
            f"{label} ({model!r}) would output {out}: {values:,} values per sample; "
            f"the limit is {MAX_LAYER_VALUES:,}"
        )
    return out
