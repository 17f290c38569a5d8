"""The layers pane's rows laid out directly must be what Rich's Table.grid lays out."""

from __future__ import annotations

import io

import pytest
from rich.console import Console, Group
from rich.style import Style
from rich.table import Table
from rich.text import Text

from tui.widgets.layers import grid_lines


def table_of(cells: list[list[Text]]) -> Table:
    """The reference: the table the pane used to build (Rich does the layout)."""
    table = Table.grid(padding=(0, 1), expand=True)
    table.add_column(width=1, no_wrap=True)
    table.add_column(justify="right", width=2, no_wrap=True)
    table.add_column(ratio=1, no_wrap=True, overflow="ellipsis")
    for _ in cells[0][3:]:
        table.add_column(justify="right", no_wrap=True)
    for row in cells:
        table.add_row(*row)
    return table


def cells_styled(renderable, width: int) -> list[list[tuple[str, Style]]]:
    """Every character of every line with its style (a missing style is the null style)."""
    console = Console(width=width, file=io.StringIO(), color_system="truecolor")
    options = console.options.update(width=width, height=None)
    lines = console.render_lines(renderable, options, pad=False)
    return [[(ch, seg.style or Style()) for seg in line for ch in seg.text] for line in lines]


def lenet_rows(wide: bool) -> list[list[Text]]:
    rows = [
        [Text(), Text(), Text("layer", "dim"), Text("out", "dim"), Text("params", "dim")],
        [Text("", "bold"), Text(""), Text("input", "italic"), Text("1×28×28"), Text("")],
        [
            Text("▼", "bold"),
            Text("0"),
            Text("Conv 1→8 k3 p1", "reverse bold"),
            Text("8×28×28"),
            Text("80"),
        ],  # fmt: skip
        [Text("", "bold"), Text("1"), Text("ReLU"), Text("8×28×28"), Text("")],
        [
            Text("▲", "bold"),
            Text("10"),
            Text("Linear 784→10, a long label"),
            Text("10"),
            Text("7.9k"),
        ],  # fmt: skip
    ]
    return [row if wide else row[:4] for row in rows]


@pytest.mark.parametrize("wide", [True, False])
def test_rows_match_richs_table_at_every_width(wide):
    for width in range(1, 90):
        rows = lenet_rows(wide)
        expected = cells_styled(table_of(rows), width)
        assert cells_styled(Group(*grid_lines(rows, width)), width) == expected, width
