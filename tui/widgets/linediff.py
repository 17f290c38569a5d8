"""repaint_changed: refresh only the lines of a pane whose rendering changed (bytes over SSH)."""

from __future__ import annotations

from textual.geometry import Region


def repaint_changed(widget, previous: list | None) -> list | None:
    """Refresh the lines of `widget` that differ from `previous`; returns the new lines.

    Textual sends every line of a refreshed region, so a pane that repaints whole for a
    one-line change (the pass marker moving one row) costs a screenful over SSH. The
    widget's render() is laid out as Rich would at the content width and compared line by
    line; a different line count or width repaints it all.
    """
    width = widget.content_size.width
    if not widget.is_mounted or width <= 0:
        widget.refresh()
        return None
    console = widget.app.console
    options = console.options.update(width=width, height=None)
    lines = [(width, line) for line in console.render_lines(widget.render(), options, pad=False)]
    if previous is None or len(previous) != len(lines):
        widget.refresh()
        return lines
    rows = [y for y, (a, b) in enumerate(zip(previous, lines, strict=True)) if a != b]
    if rows:
        widget.refresh(*(Region(0, y, width, 1) for y in rows))
    return lines
