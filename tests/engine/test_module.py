"""Module and Context: no shared random state; each run's generator gives the same numbers."""

import threading

import numpy as np
import pytest

import engine.module
from engine.conv import Conv2d
from engine.data import Dataset
from engine.linear import Linear
from engine.train import TrainConfig, run


def test_the_engine_has_no_module_level_generator():
    shared = [k for k, v in vars(engine.module).items() if isinstance(v, np.random.Generator)]
    assert shared == [] and not hasattr(engine.module, "manual_seed")


def train_run(seed: int) -> tuple[list[float], list[np.ndarray]]:
    """LeNet with dropout, 12 steps on synthetic digits: (losses, final weights)."""
    r = np.random.default_rng(100)  # the data is the same for every run
    data = Dataset(r.random((96, 1, 28, 28)).astype(np.float32), r.integers(0, 10, 96), "synth")
    config = TrainConfig(preset="lenet", epochs=2, batch_size=16, seed=seed, dropout=0.3,
                         optimizer="adam", lr=0.002, max_steps=12)  # fmt: skip
    model, _, steps = run(config, data)
    losses = [p.loss for p in steps]
    return losses, [p.value.copy() for p in model.parameters()]


def test_two_runs_in_two_threads_give_the_numbers_of_each_alone():
    # Before, one engine-wide generator was reseeded by each run and drawn from by both:
    # weights, batch order and dropout masks depended on how the threads interleaved.
    alone = {seed: train_run(seed) for seed in (3, 4)}
    results: dict = {}

    def worker(key, seed):
        results[key] = train_run(seed)

    threads = [threading.Thread(target=worker, args=(k, s)) for k, s in
               (("a", 3), ("b", 3), ("c", 4))]  # fmt: skip
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for key, seed in (("a", 3), ("b", 3), ("c", 4)):
        losses, weights = results[key]
        assert losses == alone[seed][0], key
        assert all(np.array_equal(w, v) for w, v in zip(weights, alone[seed][1], strict=True))
    assert alone[3][0] != alone[4][0]  # the seed matters


@pytest.mark.parametrize(
    "build, name",
    [
        (lambda: Conv2d(1, 10**9, 3), "Conv2d(1->1000000000"),
        (lambda: Linear(10**5, 10**5), "Linear(100000->100000)"),
    ],
)
def test_huge_layers_are_refused_before_allocating(build, name):
    with pytest.raises(ValueError) as info:
        build()
    message = str(info.value)
    assert message.startswith(name) and "bytes" in message and "GiB limit" in message


def test_huge_batches_are_refused_before_allocating():
    conv = Conv2d(1, 64, 3, padding=1, rng=np.random.default_rng(0))
    x = np.broadcast_to(np.float32(0), (200_000, 1, 28, 28))  # no memory: a view of one number
    need = 200_000 * 64 * 28 * 28 * 4
    with pytest.raises(ValueError, match=rf"Conv2d\(1->64.*\(200000, 64, 28, 28\).*{need:,}"):
        conv.forward(x)
