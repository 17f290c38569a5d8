"""Pure rendering helpers returning rich Text: number grids, heatmaps, bars, legends, math."""

from tui.render.bars import bar_list, legend
from tui.render.colors import auto_signed, domain, value_rgb
from tui.render.heatmap import fit_shape, heatmap
from tui.render.math import explanation_text
from tui.render.numbers import fit_digits, format_number, grid_size, number_grid

__all__ = [
    "auto_signed",
    "bar_list",
    "domain",
    "explanation_text",
    "fit_digits",
    "fit_shape",
    "format_number",
    "grid_size",
    "heatmap",
    "legend",
    "number_grid",
    "value_rgb",
]
