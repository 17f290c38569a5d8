"""One widget per explorer pane (layers, tensor, math, optimizer, curves, status line);
the panes' styles are in PANES_TCSS, which an app mounting a pane loads."""

from pathlib import Path

PANES_TCSS = Path(__file__).resolve().parent.parent / "panes.tcss"
