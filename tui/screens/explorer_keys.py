"""The explorer's keys: every binding (footer, help, command palette) and the panes' keys."""

from __future__ import annotations

from textual.binding import Binding

B = Binding
BINDINGS = [
    B("f", "forward", "forward"),
    B("b", "backward", "backward"),
    B("u", "update", "update"),
    B("i", "iteration", "iter"),  # short: the 80-column footer has room for "q quit" too
    B("z", "undo", "undo"),
    B("r", "reset", "reset"),
    B("t", "run", "run"),
    B("x", "stop", "stop"),
    B("p", "presets", "presets", show=False),
    B("1", "preset('article')", "article 5x5 example", show=False),
    B("2", "preset('lenet')", "LeNet-style MNIST net", show=False),
    B("3", "preset('resnet')", "small residual net", show=False),
    B("a", "add_layer", "add layer", show=False),
    B("d", "delete_layer", "delete layer", show=False),
    B("e", "edit_layer", "edit layer", show=False),
    B("shift+up", "move_layer(-1)", "move layer up", show=False),
    B("shift+down", "move_layer(1)", "move layer down", show=False),
    B("tab", "next_pane", "next pane", show=False),
    B("shift+tab", "next_pane(-1)", "previous pane", show=False),
    B("v", "cycle_view", "tensor view", show=False),
    B("less_than_sign", "sample(-1)", "previous sample / filter", key_display="<", show=False),
    B("greater_than_sign", "sample(1)", "next sample / filter", key_display=">", show=False),
    B("left_square_bracket", "channel(-1)", "previous channel", key_display="[", show=False),
    B("right_square_bracket", "channel(1)", "next channel", key_display="]", show=False),
    B("m", "display_mode", "numbers / heatmap", show=False),
    B("o", "cycle_optimizer", "switch optimizer (SGD, momentum, Adam)", show=False),
    B("plus,equals_sign", "lr(1)", "raise learning rate", key_display="+", show=False),
    B("minus", "lr(-1)", "lower learning rate", key_display="-", show=False),
    B("w", "weight_decay", "L2 weight decay (cycle λ)", show=False),
    B("D", "dropout", "dropout before the head (cycle p)", show=False),
    B("g", "gradcheck", "verify gradients", show=False),
    B("G", "gradient_flow", "gradient flow per layer", show=False),
    B("T", "training", "training screen", show=False),
    B("P", "predict", "predict a digit", show=False),
    B("L", "transfer_lesson", "transfer lesson", show=False),
    B("question_mark", "help", "help", key_display="?"),
    B("escape", "back", "back to the lesson or home", show=False),
    B("q", "quit", "quit"),
]
PANE_KEYS = [
    ("↑ ↓", "layers pane: select a layer"),
    ("arrows", "tensor pane: move the element cursor (math follows)"),
    ("← → ↑ ↓", "optimizer pane: pick the parameter and its element"),
    ("ctrl+p", "command palette: every action by name"),
]
