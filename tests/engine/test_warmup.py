"""warmup: compiles every kernel without touching the engine's seeded random stream."""

from engine.module import manual_seed, rng
from engine.warmup import warmup


def test_warmup_reports_progress_and_leaves_the_rng_alone():
    manual_seed(3)
    expected = rng().random(4)
    manual_seed(3)
    seen = []
    total = warmup(lambda done, total, name: seen.append((done, total, name)))
    assert rng().random(4).tolist() == expected.tolist()
    assert seen[-1] == (total, total, "done") and len(seen) == total + 1
