"""LayersPane: the network as a list with output shapes, parameter counts and the pass cursor."""

from __future__ import annotations

from dataclasses import dataclass

from rich.console import Group
from rich.segment import SegmentLines
from rich.table import Table
from rich.text import Text
from textual.binding import Binding
from textual.message import Message
from textual.reactive import reactive
from textual.widget import Widget

from tui.widgets.linediff import laid_out, repaint_changed

# Where the pass stands: "down" = next op is this row's forward, "up" = its backward.
MARKS = {"down": "▼", "up": "▲", "update": "◆", "done": "✓"}


def short_name(spec: dict) -> str:
    """A layer in a few characters: "Conv 1→8 k3 p1", "MaxPool 2", "Linear 784→10"."""
    kind = spec.get("type", "?")

    def pair(key: str, default=None) -> str:
        value = spec.get(key, default)
        if isinstance(value, (list, tuple)):
            return "x".join(map(str, value)) if len(set(value)) > 1 else str(value[0])
        return str(value)

    if kind == "Conv2d":
        text = f"Conv {spec['in_channels']}→{spec['out_channels']} k{pair('kernel_size')}"
        if pair("stride", 1) != "1":
            text += f" s{pair('stride')}"
        return text + (f" p{pair('padding')}" if pair("padding", 0) != "0" else "")
    if kind in ("MaxPool2d", "AvgPool2d"):
        text = f"{kind[:-2]} {pair('kernel_size')}"
        stride = spec.get("stride")
        return text + (f" s{pair('stride')}" if stride not in (None, spec["kernel_size"]) else "")
    if kind == "Linear":
        return f"Linear {spec['in_features']}→{spec['out_features']}"
    if kind == "Dropout":
        return f"Dropout {spec['p']:g}"
    if kind == "Residual":  # channels in and out, and the body's total stride
        convs = [s for s in spec["layers"] if s.get("type") == "Conv2d"]
        if not convs:
            return f"Residual ({len(spec['layers'])})"
        stride = 1
        for s in spec["layers"]:
            if s.get("type") in ("Conv2d", "MaxPool2d", "AvgPool2d"):
                step = s.get("stride") or s.get("kernel_size")
                stride *= step[0] if isinstance(step, (list, tuple)) else (step or 1)
        text = f"Residual {convs[0]['in_channels']}→{convs[-1]['out_channels']}"
        return text + (f" s{stride}" if stride != 1 else "")
    return kind


def shape_text(shape: tuple[int, ...]) -> str:
    """(8, 28, 28) -> "8×28×28"."""
    return "×".join(map(str, shape))


def count_text(n: int | None) -> str:
    """Parameter counts that fit five characters: 80, 1160, 7.9k, 1.2M."""
    if n is None:
        return ""
    if n < 10_000:
        return str(n)
    return f"{n / 1000:.1f}k" if n < 1_000_000 else f"{n / 1e6:.1f}M"


def grid_lines(cells: list[list[Text]], width: int) -> list[Text] | list[Table]:
    """Rows of (mark, index, label, shape[, count]) as lines `width` wide: the label takes what
    the others leave, one space between columns. It is the layout of a Rich Table.grid(padding=
    (0, 1), expand=True) with those columns, built directly: the table's layout took a fifth of
    an explorer step. Too narrow for a label: the table itself, which knows how to squeeze."""
    right = [max(row[k].cell_len for row in cells) for k in range(3, len(cells[0]))]
    label = width - 1 - 2 - sum(right) - len(cells[0]) + 1
    if label < 1:
        table = Table.grid(padding=(0, 1), expand=True)
        table.add_column(width=1, no_wrap=True)
        table.add_column(justify="right", width=2, no_wrap=True)
        table.add_column(ratio=1, no_wrap=True, overflow="ellipsis")
        for _ in right:
            table.add_column(justify="right", no_wrap=True)
        for row in cells:
            table.add_row(*row)
        return [table]
    lines = []
    for row in cells:
        mark, index, name = row[0].copy(), row[1].copy(), row[2].copy()
        mark.align("left", 1)  # padded in the cell's own style, as the table does
        index.align("right", 2)
        name.truncate(label, overflow="ellipsis", pad=True)
        parts = [mark, index, name]
        for cell, w in zip(row[3:], right, strict=True):
            cell = cell.copy()
            cell.align("right", w)
            parts.append(cell)
        lines.append(Text(" ", no_wrap=True).join(parts))
    return lines


class LayersPane(Widget, can_focus=True):
    """Up/down select a layer (posts Selected); the marker shows the next operation."""

    BINDINGS = [
        Binding("up", "select(-1)", "layer up", show=False),
        Binding("down", "select(1)", "layer down", show=False),
        Binding("home", "select_first", show=False),
        Binding("end", "select_last", show=False),
    ]

    @dataclass
    class Selected(Message):
        """The user selected layer `index`."""

        index: int

    selected: reactive[int] = reactive(0)

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.border_title = "Layers"
        self.rows: list = []  # tui.selection.LayerRow: input, layers, loss, update
        self.marker: tuple[int, str] | None = None  # (row, kind) in rows
        self.total = 0

    def show(self, rows: list, marker, selected: int, total: int) -> None:
        """Rows (label, shape, params, kind: input/layer/loss/update) and the marker (row, kind)."""
        shown = (list(rows), marker, total, self._clamp_to(rows, selected))
        if shown == (self.rows, self.marker, self.total, self.selected):
            return  # every step pushes every pane: an unchanged list is not sent again
        self.rows, self.marker, self.total = list(rows), marker, total
        subtitle = f"{total:,} params"
        if subtitle != self.border_subtitle:  # setting it repaints the whole pane, even unchanged
            self.border_subtitle = subtitle
        self.set_reactive(LayersPane.selected, self._clamp(selected))
        self._drawn = repaint_changed(self, self._drawn)

    @property
    def layer_count(self) -> int:
        """How many rows are layers."""
        return sum(1 for row in self.rows if row.kind == "layer")

    def _clamp(self, index: int) -> int:
        return self._clamp_to(self.rows, index)

    @staticmethod
    def _clamp_to(rows, index: int) -> int:
        count = sum(1 for row in rows if row.kind == "layer")
        return min(max(index, 0), max(count - 1, 0))

    def action_select(self, delta: int) -> None:
        """Move the selection and tell the screen."""
        self.selected = self._clamp(self.selected + delta)

    def action_select_first(self) -> None:
        """Select the first layer."""
        self.selected = 0

    def action_select_last(self) -> None:
        """Select the last layer."""
        self.selected = self._clamp(len(self.rows))

    def on_click(self, event) -> None:
        """A click on a layer's row selects it (the mouse is optional, never required)."""
        offset = event.get_content_offset(self)
        row = offset.y - 1 if offset is not None else -1  # the header takes the first line
        if 0 <= row < len(self.rows) and self.rows[row].kind == "layer":
            self.selected = row - 1

    _drawn = None  # the lines last drawn (see repaint_changed)

    def watch_selected(self, old: int, new: int) -> None:
        if old != new:
            self.post_message(self.Selected(new))
        self._drawn = repaint_changed(self, self._drawn)

    def render(self) -> Group | Text | SegmentLines:
        """A table: mark, index, layer, output shape, params; the selected layer is reversed.

        The loss and update rows follow the table as whole lines: they have no shape or count,
        and "loss CE = 0.07712" needs more than the layer column at 80 columns.
        """
        if (lines := laid_out(self)) is not None:
            return lines
        if not self.rows:
            return Text("loading the model …")
        wide = self.content_size.width >= 36  # narrow: the counts move to the border subtitle
        head = [Text("layer", "dim"), Text("out", "dim"), Text("params", "dim")]
        cells = [[Text(), Text(), *head[: 3 if wide else 2]]]
        tail = []
        for r, row in enumerate(self.rows):
            mark = ""
            if self.marker is not None and self.marker[0] == r:
                mark = MARKS.get(self.marker[1], "")
            if row.kind in ("loss", "update"):
                line = Text(f"{mark or ' '}    ", "bold", no_wrap=True, overflow="ellipsis")
                tail.append(line.append(row.label, "italic"))
                continue
            is_layer = row.kind == "layer"
            index = str(r - 1) if is_layer else ""
            style = "reverse bold" if is_layer and r - 1 == self.selected else ""
            if not is_layer:
                style = "italic"
            cells.append([Text(mark, "bold"), Text(index), Text(row.label, style),
                          Text(shape_text(row.shape) if row.shape else "")])  # fmt: skip
            if wide:
                cells[-1].append(Text(count_text(row.params)))
        return Group(*grid_lines(cells, self.content_size.width), *tail)
