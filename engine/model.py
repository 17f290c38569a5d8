"""Sequential models: chaining, shape inference, parameter names, and rebuilding from a spec."""

from __future__ import annotations

from engine.activations import check_shape
from engine.module import Context, Module, Parameter


def _check_layers(owner: str, layers) -> list[Module]:
    for i, layer in enumerate(layers):
        if not isinstance(layer, Module):
            raise ValueError(f"{owner}: layer {i} is {type(layer).__name__}, not a Module")
    return list(layers)


def layer_error(index, layer: Module, error: ValueError, word: str = "layer") -> ValueError:
    """A ValueError "layer 3 (Conv2d(...)): <the layer's message>" without repeating the name."""
    message, name = str(error), repr(layer)
    if message.startswith(name + ": "):
        message = message[len(name) + 2 :]
    return ValueError(f"{word} {index} ({name}): {message}")


class Sequential(Module):
    """Layers applied in order; backward runs them in reverse."""

    def __init__(self, *layers: Module):
        self.layers = _check_layers("Sequential", layers)

    def children(self):
        return list(self.layers)

    def forward_ctx(self, x, rng=None):
        """Each layer's forward in order; a ValueError names the failing layer's index."""
        parts = []
        for i, layer in enumerate(self.layers):
            try:
                x, ctx = layer.forward_ctx(x, rng)
            except ValueError as e:
                raise layer_error(i, layer, e) from e
            parts.append(ctx)
        return x, Context(parts[0].x if parts else x, getattr(x, "shape", ()), parts=tuple(parts))

    def backward_ctx(self, ctx, grad_out, accumulate=True):
        """Each layer's backward in reverse order; returns the gradient for the model's input."""
        return child_grad(self.layers, ctx.parts, grad_out, -1, accumulate)

    def explain_backward(self, ctx, grad_out, index, wrt="input"):
        """A parameter's gradient inside the model (wrt "2.weight"); explain layers one by one."""
        if "." in wrt:
            return explain_inside(self, ctx, grad_out, index, wrt)
        return super().explain_backward(ctx, grad_out, index, wrt)

    def field(self, x_shape, outs: set) -> set:
        """Input indices feeding outs, traced back through every layer."""
        shapes = [tuple(x_shape)]
        for child in self.layers[:-1]:
            shapes.append((x_shape[0], *child.output_shape(shapes[-1][1:])))
        for child, shape in zip(reversed(self.layers), reversed(shapes), strict=True):
            outs = child.field(shape, outs)
        return outs

    def shapes(self, in_shape) -> list[tuple[int, ...]]:
        """Per-sample output shape of every layer for a per-sample input shape (C, H, W) or (F,)."""
        shape = check_shape("Sequential", in_shape)  # its full repr would bury the message
        out = []
        for i, layer in enumerate(self.layers):
            try:
                shape = tuple(layer.output_shape(shape))
            except ValueError as e:
                raise layer_error(i, layer, e) from e
            out.append(shape)
        return out

    def output_shape(self, in_shape):
        """The last layer's per-sample output shape (the input's when there are no layers)."""
        shapes = self.shapes(in_shape)
        return shapes[-1] if shapes else check_shape("Sequential", in_shape)

    def summary(self, in_shape) -> list[tuple[int, str, tuple[int, ...], int]]:
        """(index, name, output_shape, num_params) for every layer."""
        shapes = self.shapes(in_shape)
        return [
            (i, repr(layer), shape, layer.num_parameters())
            for i, (layer, shape) in enumerate(zip(self.layers, shapes, strict=True))
        ]

    def spec(self):
        return {"type": "Sequential", "layers": [layer.spec() for layer in self.layers]}

    def __len__(self) -> int:
        return len(self.layers)

    def __getitem__(self, i):
        return self.layers[i]

    def __iter__(self):
        return iter(self.layers)

    def __repr__(self) -> str:
        return f"Sequential({', '.join(repr(layer) for layer in self.layers)})"


def child_grad(layers, parts, grad_out, k: int, accumulate: bool = True):
    """Backpropagate grad_out (at the last layer's output) through layers[k + 1:], from their
    contexts: dL/d(output of layers[k]); k = -1 gives the gradient for the first layer's input."""
    after = range(len(layers) - 1, k, -1)  # the layers after k, last first
    for layer, part in zip([layers[i] for i in after], [parts[i] for i in after], strict=True):
        grad_out = layer.backward_ctx(part, grad_out, accumulate)
    return grad_out


def explain_inside(block, ctx, grad_out, index, wrt: str):
    """Explain a parameter's gradient inside a container: wrt "2.weight", "projection.bias"."""
    name, _, rest = wrt.partition(".")
    names = [n for n, _ in block.named_children()]
    if name not in names or not rest:
        known = ", ".join(n for n, _ in named_parameters(block))
        raise ValueError(f"explain_backward: {block!r} has no parameter {wrt!r} (it has {known})")
    k, child = names.index(name), dict(block.named_children())[name]
    if k < len(block.layers):  # a body layer: grad_out backpropagated down to its output
        grad_out = child_grad(block.layers, ctx.parts, grad_out, k, accumulate=False)
    return child.explain_backward(ctx.parts[k], grad_out, index, rest)


def named_parameters(module: Module, prefix: str = "") -> list[tuple[str, Parameter]]:
    """("2.weight", Parameter) pairs in parameters() order, named by the path through children."""
    out = [(prefix + (p.name or f"param{j}"), p) for j, p in enumerate(module.own_parameters())]
    for name, child in module.named_children():
        out.extend(named_parameters(child, f"{prefix}{name}."))
    return out


def layer_types() -> dict[str, type]:
    """Every layer class from_spec can build, by its spec "type"."""
    # Imported on use: residual.py imports this module (a cycle at import time), and
    # conv/pool load the Numba kernels, which a shape-only caller should not pay for.
    from engine.activations import ReLU, Sigmoid, Tanh
    from engine.conv import Conv2d
    from engine.dropout import Dropout
    from engine.linear import Flatten, Linear
    from engine.pool import AvgPool2d, MaxPool2d
    from engine.residual import Residual

    classes = (Conv2d, MaxPool2d, AvgPool2d, ReLU, Sigmoid, Tanh, Dropout, Flatten, Linear)
    return {c.__name__: c for c in (*classes, Residual, Sequential)}


_CONTAINERS = ("Sequential", "Residual")


def from_spec(spec: dict, *, rng=None, _path: str = "spec") -> Module:
    """Rebuild a layer or a nested model from its spec(), with fresh parameters drawn from rng
    (a numpy Generator; see engine.module.generator for the default)."""
    if not isinstance(spec, dict) or not isinstance(spec.get("type"), str):
        raise ValueError(f"from_spec: {_path} must be a dict with a 'type' string, got {spec!r}")
    types = layer_types()
    name = spec["type"]
    if name not in types:
        known = ", ".join(sorted(types))
        raise ValueError(f"from_spec: {_path}: unknown layer type {name!r} (known: {known})")
    kwargs = {k: v for k, v in spec.items() if k != "type"}
    if name in _CONTAINERS:
        layers = kwargs.pop("layers", None)
        if not isinstance(layers, list) or kwargs:
            raise ValueError(
                f"from_spec: {_path}: a {name} spec needs exactly a 'layers' list, got keys "
                f"{sorted(spec)}"
            )
        children = [from_spec(s, rng=rng, _path=f"{_path}.layers[{i}]")
                    for i, s in enumerate(layers)]  # fmt: skip
        return types[name](*children, **({"rng": rng} if name == "Residual" else {}))
    # JSON turns (h, w) pairs into lists; the constructors take tuples.
    kwargs = {k: tuple(v) if isinstance(v, list) else v for k, v in kwargs.items()}
    if name in ("Conv2d", "Linear", "Dropout"):  # the layers that draw random numbers
        kwargs["rng"] = rng
    try:
        return types[name](**kwargs)
    except TypeError as e:
        raise ValueError(f"from_spec: {_path}: bad arguments for {name}: {e}") from e
    except ValueError as e:
        raise ValueError(f"from_spec: {_path}: {e}") from e
