"""One widget per explorer pane: layers, tensor, math, optimizer, curves, and the status line."""
