"""cnn-tui's terminal interface: the Textual app and the `cnn-tui` command; it drives `engine`."""

import os

# Must precede NumPy's import, which tui.session does before the engine's (PERFORMANCE.md,
# pitfall 2: OpenBLAS threads spinning after a matmul fight Numba's for the two cores).
os.environ.setdefault("OPENBLAS_THREAD_TIMEOUT", "4")
