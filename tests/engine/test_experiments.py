"""Side-by-side runs: same start and batches, the regularized runs really regularize."""

import numpy as np

from engine.data import mnist_split
from engine.dropout import Dropout
from engine.experiments import compare_optimizers, compare_regularization, dropout_mask, small_cnn


def _data(n):
    train, held = mnist_split()
    return train.subset(slice(0, n), "few"), held.subset(slice(0, 64), "held")


def test_optimizers_start_from_the_same_loss_and_differ_after():
    data, _ = _data(96)
    g = np.random.default_rng(0)
    model = small_cnn(0.0, rng=g)
    before = [p.value.copy() for p in model.parameters()]
    runs = compare_optimizers(model, data, steps=3)
    first = {r.losses[0] for r in runs.values()}
    assert len(first) == 1  # same weights, same first batch
    assert len({r.losses[-1] for r in runs.values()}) == 3
    assert all(np.array_equal(a, p.value) for a, p in zip(before, model.parameters(), strict=True))


def test_regularization_runs():
    data, held = _data(64)
    g = np.random.default_rng(0)
    runs = compare_regularization(small_cnn(0.5, rng=g), data, held, epochs=2, weight_decay=0.03)
    assert set(runs) == {"plain", "dropout", "l2"}
    for r in runs.values():
        assert r.epochs == [1, 2] and len(r.losses) == 4
        assert r.gap == r.held_out[-1].loss - r.train_eval[-1].loss
    drops = {
        n: next(m for m in _layers(r.model) if isinstance(m, Dropout)).p for n, r in runs.items()
    }
    assert drops == {"plain": 0.0, "dropout": 0.5, "l2": 0.0}
    mask = dropout_mask(runs["dropout"].model, data.images[:2])
    assert mask.shape == (2, 4 * 14 * 14)
    assert set(np.unique(mask)) == {0.0, 2.0}  # kept units scaled by 1 / (1 - p)
    assert dropout_mask(runs["plain"].model, data.images[:2]) is None
    # plain and l2 see the same batches from the same start: they differ only by the decay
    assert runs["plain"].losses[0] == runs["l2"].losses[0]
    assert runs["plain"].losses[-1] != runs["l2"].losses[-1]


def _layers(m):
    yield m
    for c in m.children():
        yield from _layers(c)


def test_l2_update_adds_lambda_w_to_the_gradient():
    from engine.experiments import l2_update

    data, _ = _data(8)
    g = np.random.default_rng(1)
    model = small_cnn(0.5, rng=g)
    before = [p.value.copy() for p in model.parameters()]
    name, index, rec = l2_update(model, data.images, data.labels, weight_decay=0.1, lr=0.5)
    assert name == "5.weight"  # the head: Linear after Flatten and Dropout
    w = model.layers[5].weight.value
    assert index == tuple(np.unravel_index(np.argmax(np.abs(w)), w.shape))
    assert np.array_equal(rec["l2_term"], np.float32(0.1) * rec["value_before"])
    expected = rec["value_before"] - np.float32(0.5) * (rec["grad"] + rec["l2_term"])
    assert np.allclose(rec["value_after"], expected, rtol=1e-6, atol=1e-7)
    assert all(np.array_equal(a, p.value) for a, p in zip(before, model.parameters(), strict=True))
