"""ModelEdits: add, remove, move and edit layers; build the candidate, check it, swap on success."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from engine import Sequential, from_spec

DROPOUT_STEPS = (0.0, 0.25, 0.5)  # the D key steps through these
MAX_EDITS = 20  # layer edits z can take back (each keeps a copy of the weights it replaced)


@dataclass
class Edit:
    """What a layer edit replaced: enough to put the network and its stepper back."""

    what: str
    model: Sequential
    optimizer: object
    opt_kind: str
    stepper: object
    _origin: object
    iteration_base: int
    layer: int
    values: list  # the replaced model's parameter values and gradients at the edit
    grads: list


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

    def _classes(self) -> int | None:
        """How many classes the targets have (None when the loss is not a classification)."""
        if type(self.loss).__name__ != "CrossEntropyLoss":
            return None
        # The whole training set decides, not the few digits being stepped through.
        labels = self.train_data.labels if self.train_data is not None else self.stepper.targets
        return int(np.max(labels)) + 1

    def head_warning(self, model: Sequential) -> str:
        """A warning when the model ends in more scores than there are classes, else ""."""
        classes, out = self._classes(), model.output_shape(self.input_shape)
        if classes is None or len(out) != 1 or out[0] == classes:
            return ""
        return (f"warning: the model now ends in {out[0]} scores for {classes} classes, so it "
                f"trains a {out[0]}-class classifier ({out[0] - classes} scores never get a "
                f"label); a last Linear(…, {classes}) fixes it, z undoes the edit")  # fmt: skip

    def _check_loss(self, out: tuple[int, ...]) -> None:
        """Cross-entropy needs one score per class at the end."""
        classes = self._classes()
        if classes is None:
            return
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

    @property
    def custom(self) -> bool:
        """Whether the network was edited since its preset was loaded (and not undone)."""
        return bool(self.edits)

    def _swap(self, model: Sequential, what: str) -> str:
        """Swap in the validated model; the old one is kept so z can take the edit back."""
        params = self.model.parameters()
        values, grads = [p.value.copy() for p in params], [p.grad.copy() for p in params]
        self.edits.append(
            Edit(what, self.model, self.optimizer, self.opt_kind, self.stepper, self._origin,
                 self.iteration_base, self.sel.layer, values, grads)
        )  # fmt: skip
        del self.edits[:-MAX_EDITS]
        lr = self.optimizer.lr
        targets = self._targets_for(model)
        self.model = model
        self._rebuild(self.stepper.x, targets, lr)
        self.sel.follow(None)
        warning = self.head_warning(model)
        return f"{what}; {warning}" if warning else what

    def undo_edit(self) -> str:
        """Take back the last layer edit: the network, its weights and trace as they were."""
        e = self.edits.pop()
        settings, kind = self._settings(), self.opt_kind
        for p, value, grad in zip(e.model.parameters(), e.values, e.grads, strict=True):
            np.copyto(p.value, value)  # layers shared with later models may have trained on
            np.copyto(p.grad, grad)
        self.model, self.optimizer, self.opt_kind = e.model, e.optimizer, e.opt_kind
        self.stepper, self._origin, self.iteration_base = e.stepper, e._origin, e.iteration_base
        self._run = None
        if kind != e.opt_kind:  # the optimizer the user picked since stays (a fresh one)
            self.opt_kind = kind
            self._rebuild(self.stepper.x, self.stepper.targets, settings["lr"])
        self._keep({k: v for k, v in settings.items() if hasattr(self.optimizer, k)})
        self.sel.follow(self.stepper.current.op if self.stepper.current else None)
        self.sel.layer = min(e.layer, len(self.layers) - 1)
        self.sel.clamp()
        self._drop_points_from(self.iteration_number + (2 if self.stepper.done else 1))
        return f"undid the edit: {e.what}"

    def replace_layer(self, index: int, spec: dict) -> str:
        """Layer `index` becomes `spec` (the others keep their weights)."""
        old = self.layers[index]
        model = self.candidate(index, spec)
        return self._swap(model, f"layer {index} is now {model.layers[index]!r} (was {old!r})")

    def insert_layer(self, index: int, spec: dict) -> str:
        """Insert `spec` before position `index` (len(layers) appends)."""
        model = self.candidate(index, spec, insert=True)
        text = self._swap(model, f"added layer {index}: {model.layers[index]!r}")
        self.sel.layer = index
        return text

    def delete_layer(self, index: int) -> str:
        """Remove layer `index` if the rest still fits together."""
        removed = self.layers[index]
        text = self._swap(self.candidate(index, None), f"removed layer {index}: {removed!r}")
        self.sel.layer = min(index, len(self.layers) - 1)
        return text

    def move_layer(self, index: int, delta: int) -> str:
        """Swap layer `index` with its neighbour if the shapes still work."""
        j = index + delta
        if not 0 <= j < len(self.layers):
            raise SessionError(f"layer {index} is already at the {'top' if j < 0 else 'bottom'}")
        layers = list(self.layers)
        layers[index], layers[j] = layers[j], layers[index]
        model = Sequential(*layers)
        self._check_loss(model.shapes(self.input_shape)[-1])
        text = self._swap(model, f"moved {layers[j]!r} to position {j}")
        self.sel.layer = j
        return text

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
