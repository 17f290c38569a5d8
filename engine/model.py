"""Sequential models: chaining, shape inference, parameter names, and rebuilding from a spec."""

from __future__ import annotations

from engine.activations import check_shape
from engine.module import Module, Parameter


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

    def forward(self, x):
        """Each layer's forward in order; a ValueError names the failing layer's index."""
        for i, layer in enumerate(self.layers):
            try:
                x = layer.forward(x)
            except ValueError as e:
                raise layer_error(i, layer, e) from e
        return x

    def backward(self, grad_out):
        """Each layer's backward in reverse order; returns the gradient for the model's input."""
        for layer in reversed(self.layers):
            grad_out = layer.backward(grad_out)
        return grad_out

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


def from_spec(spec: dict, *, _path: str = "spec") -> Module:
    """Rebuild a layer or a nested model from its spec() (fresh parameters drawn from rng())."""
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
        children = [from_spec(s, _path=f"{_path}.layers[{i}]") for i, s in enumerate(layers)]
        return types[name](*children)
    # JSON turns (h, w) pairs into lists; the constructors take tuples.
    kwargs = {k: tuple(v) if isinstance(v, list) else v for k, v in kwargs.items()}
    try:
        return types[name](**kwargs)
    except TypeError as e:
        raise ValueError(f"from_spec: {_path}: bad arguments for {name}: {e}") from e
    except ValueError as e:
        raise ValueError(f"from_spec: {_path}: {e}") from e
