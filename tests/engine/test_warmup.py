"""warmup: compiles every kernel without touching any shared random stream."""

import numpy as np

from engine.warmup import warmup


def test_warmup_reports_progress_and_leaves_the_rng_alone():
    # The engine owns no random stream; NumPy's process-wide one must stay put too.
    np.random.seed(3)  # noqa: NPY002
    expected = np.random.random(4)  # noqa: NPY002
    np.random.seed(3)  # noqa: NPY002
    seen = []
    total = warmup(lambda done, total, name: seen.append((done, total, name)))
    assert np.random.random(4).tolist() == expected.tolist()  # noqa: NPY002
    assert seen[-1] == (total, total, "done") and len(seen) == total + 1
