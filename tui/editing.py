"""ModelEdits: add, remove, move and edit layers; build the candidate, check it, swap on success."""

from __future__ import annotations

import numpy as np

from engine import Sequential, from_spec

DROPOUT_STEPS = (0.0, 0.25, 0.5)  # the D key steps through these


class SessionError(ValueError):
    """An action that cannot run now; the message says why and what to press instead."""


class ModelEdits:
    """Mixin for Session: every edit validates the whole candidate model before swapping it in."""

    def _targets_for(self, model: Sequential):
        """MSE presets learn zeros shaped like the output; class targets stay as they are."""
        if type(self.loss).__name__ == "MSELoss":
            return np.zeros((len(self.stepper.x), *model.output_shape(self.input_shape)), "f4")
        return self.stepper.targets

    def candidate(self, index: int, spec: dict | None, insert=False, rng=None) -> Sequential:
        """The model with layer `index` replaced (or `spec` inserted there, or removed); a new
        layer's weights come from rng (default: the session's generator)."""
        layers = list(self.layers)
        if spec is None:
            del layers[index]
        else:
            layer = from_spec(spec, rng=self.rng if rng is None else rng)  # ValueError says why
            layers[index : index if insert else index + 1] = [layer]
        if not layers:
            raise SessionError("a model needs at least one layer")
        model = Sequential(*layers)
        shapes = model.shapes(self.input_shape)  # ValueError "layer 3 (Conv2d(...)): ..."
        self._check_loss(shapes[-1])
        return model

    def _check_loss(self, out: tuple[int, ...]) -> None:
        """Cross-entropy needs one score per class at the end."""
        if type(self.loss).__name__ != "CrossEntropyLoss":
            return
        # The whole training set decides, not the few digits being stepped through.
        labels = self.train_data.labels if self.train_data is not None else self.stepper.targets
        classes = int(np.max(labels)) + 1
        if len(out) != 1 or out[0] < classes:
            shape = "×".join(map(str, out))
            raise SessionError(
                f"cross-entropy needs the model to end in (K,) class scores with K >= {classes}; "
                f"it would end in {shape}"
            )

    def preview(self, index: int, spec: dict, insert: bool = False) -> list[str]:
        """What the layer editor shows for a candidate: formula, shapes; ValueError says why."""
        # A throwaway generator: previews leave the session's random numbers as they were.
        model = self.candidate(index, spec, insert, rng=np.random.default_rng(0))
        shapes = model.shapes(self.input_shape)
        in_shape = self.input_shape if index == 0 else shapes[index - 1]
        layer = model.layers[index]
        out = "×".join(map(str, shapes[index]))
        lines = [f"output {out} · {layer.num_parameters():,} params"]
        formula = getattr(layer, "size_formula", None)
        if formula is not None:
            lines.extend(formula(in_shape).split("; "))
        chain = " → ".join("×".join(map(str, s)) for s in [self.input_shape, *shapes])
        lines.append(f"shapes: {chain}")
        return lines

    def _swap(self, model: Sequential) -> None:
        lr = self.optimizer.lr
        targets = self._targets_for(model)
        self.model = model
        self._rebuild(self.stepper.x, targets, lr)
        self.sel.follow(None)

    def replace_layer(self, index: int, spec: dict) -> str:
        """Layer `index` becomes `spec` (the others keep their weights)."""
        self._swap(self.candidate(index, spec))
        return f"layer {index} is now {self.layers[index]!r}"

    def insert_layer(self, index: int, spec: dict) -> str:
        """Insert `spec` before position `index` (len(layers) appends)."""
        self._swap(self.candidate(index, spec, insert=True))
        self.sel.layer = index
        return f"added layer {index}: {self.layers[index]!r}"

    def delete_layer(self, index: int) -> str:
        """Remove layer `index` if the rest still fits together."""
        removed = self.layers[index]
        self._swap(self.candidate(index, None))
        self.sel.layer = min(index, len(self.layers) - 1)
        return f"removed layer {index}: {removed!r}"

    def move_layer(self, index: int, delta: int) -> str:
        """Swap layer `index` with its neighbour if the shapes still work."""
        j = index + delta
        if not 0 <= j < len(self.layers):
            raise SessionError(f"layer {index} is already at the {'top' if j < 0 else 'bottom'}")
        layers = list(self.layers)
        layers[index], layers[j] = layers[j], layers[index]
        model = Sequential(*layers)
        self._check_loss(model.shapes(self.input_shape)[-1])
        self._swap(model)
        self.sel.layer = j
        return f"moved {layers[j]!r} to position {j}"

    # ---- dropout before the head ---------------------------------------------------------
    def dropout_layer(self) -> int | None:
        """Index of the top-level Dropout layer, if the model has one."""
        kinds = [type(layer).__name__ for layer in self.layers]
        return kinds.index("Dropout") if "Dropout" in kinds else None

    def cycle_dropout(self) -> str:
        """Dropout before the last Linear: off -> p 0.25 -> p 0.5 -> off."""
        at = self.dropout_layer()
        p = 0.0 if at is None else self.layers[at].p
        k = DROPOUT_STEPS.index(p) if p in DROPOUT_STEPS else -1  # a p set by hand: off next
        new = DROPOUT_STEPS[(k + 1) % len(DROPOUT_STEPS)] if k >= 0 else 0.0
        if at is not None and new == 0.0:
            return self.delete_layer(at)
        if at is not None:
            return self.replace_layer(at, {"type": "Dropout", "p": new})
        heads = [i for i, layer in enumerate(self.layers) if type(layer).__name__ == "Linear"]
        if not heads:
            raise SessionError("dropout goes before the classifier head, and this model has none")
        return self.insert_layer(heads[-1], {"type": "Dropout", "p": new})

    def dropout_note(self) -> str:
        """'dropout p=0.5 at layer 7: kept units ×2' for the optimizer pane, '' without one."""
        at = self.dropout_layer()
        if at is None:
            return ""
        p = self.layers[at].p
        scale = f"kept units ×{1 / (1 - p):.3g}" if p else "off"
        return f"dropout p={p:g} at layer {at}: {scale}"
