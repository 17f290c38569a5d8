"""cnn-tui's terminal interface: the Textual app (tui.app) and the console script (tui.cli)."""
