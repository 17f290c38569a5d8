"""repaint_changed: refresh only the lines of a pane whose rendering changed (bytes over SSH)."""

from __future__ import annotations

from rich.segment import SegmentLines
from textual.geometry import Region


def repaint_changed(widget, previous: list | None) -> list | None:
    """Refresh the lines of `widget` that differ from `previous`; returns the new lines.

    Textual sends every line of a refreshed region, so a pane that repaints whole for a
    one-line change (the pass marker moving one row) costs a screenful over SSH. The
    widget's render() is laid out as Rich would at the content width and compared line by
    line; a different line count or width repaints it all. The laid-out lines are kept for
    Textual's next render (laid_out), so a step lays out a Rich table once, not twice.
    """
    widget._laid_out = None  # render() below must build, not hand back the last lines
    width = widget.content_size.width
    if not widget.is_mounted or width <= 0:
        widget.refresh()
        return None
    console = widget.app.console
    options = console.options.update(width=width, height=None)
    rendered = console.render_lines(widget.render(), options, pad=False)
    widget._laid_out = (width, rendered)
    lines = [(width, line) for line in rendered]
    if previous is None or len(previous) != len(lines):
        widget.refresh()
        return lines
    rows = [y for y, (a, b) in enumerate(zip(previous, lines, strict=True)) if a != b]
    if rows:
        widget.refresh(*(Region(0, y, width, 1) for y in rows))
    return lines


def laid_out(widget) -> SegmentLines | None:
    """The lines repaint_changed laid out, once, if the pane still has their width."""
    kept, widget._laid_out = getattr(widget, "_laid_out", None), None
    if kept is None or kept[0] != widget.content_size.width:
        return None
    return SegmentLines(kept[1], new_lines=True)
