"""The training loop, evaluation, divergence guard, optimizer choice and transfer learning."""

import math
import re

import numpy as np
import pytest

from engine import paths
from engine.checkpoint import load
from engine.conv import Conv2d
from engine.data import Dataset, mnist_split
from engine.dropout import Dropout
from engine.linear import Linear
from engine.optim import SGD, Adam
from engine.train import (
    DEFAULT_LR,
    TrainConfig,
    TrainingDiverged,
    build_model,
    evaluate,
    make_optimizer,
    predict_proba,
    run,
    train,
)
from engine.transfer import freeze_features, head, transfer

TRAIN, HELD_OUT = mnist_split()
SMALL = TRAIN.subset(slice(0, 100), "small")  # 4 batches of 32 (the last one has 4)


def losses_of(config, data=SMALL):
    _, _, steps = run(config, data)
    return [p.loss for p in steps]


def snapshot(model):
    return [p.value.copy() for p in model.parameters()]


def test_same_seed_same_curve_and_another_seed_differs():
    config = TrainConfig(max_steps=6, dropout=0.2)
    first, second = losses_of(config), losses_of(config)
    assert len(first) == 6 and first == second  # bit for bit
    assert losses_of(TrainConfig(max_steps=6, dropout=0.2, seed=1)) != first


def test_progress_records_steps_epochs_and_evaluation():
    model, loss_fn, _ = build_model("lenet", seed=0)
    opt = make_optimizer("adam", model.parameters(), 1e-3)
    records = list(train(model, loss_fn, opt, SMALL, epochs=2, batch_size=32, eval_data=SMALL))
    assert [p.step for p in records] == list(range(1, 9))
    assert [p.epoch for p in records] == [1] * 4 + [2] * 4
    assert {p.total_steps for p in records} == {8}
    assert [p.step for p in records if p.evaluation is not None] == [4, 8]
    assert [p.epoch_end for p in records] == [False, False, False, True] * 2
    assert records[3].evaluation.count == 100
    assert records[-1].fraction == 1.0 and records[-1].eta_s == 0.0
    assert all(p.images_per_s > 0 and 0 <= p.accuracy <= 1 for p in records)
    assert records[3].epoch_loss == pytest.approx(np.mean([p.loss for p in records[:4]]))
    steps = train(model, loss_fn, opt, SMALL, epochs=2, batch_size=50)  # no eval data
    assert [(p.epoch_end, p.evaluation) for p in steps] == [(False, None), (True, None)] * 2
    weights = [32, 32, 32, 4]  # epoch accuracy weights each batch by its size
    acc = np.dot([p.accuracy for p in records[:4]], weights) / 100
    assert records[3].epoch_accuracy == pytest.approx(acc)


def test_a_few_steps_lower_the_loss():
    model, loss_fn, _ = build_model("lenet", seed=0)
    opt = make_optimizer("momentum", model.parameters(), 0.05)
    data = TRAIN.subset(slice(0, 256), "first-256")
    before = evaluate(model, data).loss
    for _ in train(model, loss_fn, opt, data, epochs=3, batch_size=32, seed=0):
        pass
    assert evaluate(model, data).loss < 0.7 * before


def test_evaluate_matches_an_independent_computation():
    model, _, _ = build_model("lenet", seed=3)
    data = HELD_OUT.subset(slice(0, 300), "part")
    result = evaluate(model, data, batch_size=128)
    probs = predict_proba(model, data.images)  # (300, 10)
    pred = probs.argmax(axis=1)
    assert result.accuracy == pytest.approx(np.mean(pred == data.labels))
    expected_loss = -np.mean(np.log(probs[np.arange(300), data.labels]))
    assert result.loss == pytest.approx(expected_loss, rel=1e-4)
    assert result.confusion.sum() == 300 and result.confusion.shape == (10, 10)
    for t, p in [(data.labels[0], pred[0]), (data.labels[7], pred[7])]:
        assert result.confusion[t, p] == np.sum((data.labels == t) & (pred == p))
    assert model.training  # evaluate restores the mode


def test_summary_line():
    model, _, _ = build_model("lenet", seed=0)
    summary = evaluate(model, HELD_OUT).summary()
    assert re.fullmatch(r"accuracy \d{1,3}\.\d\d% on 2000 held-out digits", summary)
    assert (
        summary
        == f"accuracy {100 * evaluate(model, HELD_OUT).accuracy:.2f}% on 2000 held-out digits"
    )
    part = evaluate(model, HELD_OUT.digits([5, 6])).summary()
    assert part.endswith("held-out digits 5,6")


def test_optimizers_and_regularisers_are_selectable():
    model, _, _ = build_model("lenet", dropout=0.5, seed=0)
    assert isinstance(model.layers[-2], Dropout) and isinstance(model.layers[-1], Linear)
    params = model.parameters()
    adam = make_optimizer("adam", params, 1e-3, weight_decay=1e-4)
    assert isinstance(adam, Adam) and adam.weight_decay == 1e-4
    sgd = make_optimizer("sgd", params, 0.1)
    assert isinstance(sgd, SGD) and sgd.momentum == 0.0
    assert make_optimizer("momentum", params, 0.05, momentum=0.8).momentum == 0.8
    with pytest.raises(ValueError, match="unknown optimizer 'rmsprop'"):
        make_optimizer("rmsprop", params, 0.1)
    with pytest.raises(ValueError, match="unknown preset 'vgg'"):
        build_model("vgg")
    assert TrainConfig().lr == DEFAULT_LR[TrainConfig().preset][TrainConfig().optimizer]
    plain = losses_of(TrainConfig(max_steps=4))
    assert losses_of(TrainConfig(max_steps=4, weight_decay=0.5))[1:] != plain[1:]
    assert losses_of(TrainConfig(max_steps=4, optimizer="adam", lr=1e-3)) != plain


def test_bad_arguments_fail_at_the_call():
    model, loss_fn, _ = build_model("lenet", seed=0)
    opt = make_optimizer("sgd", model.parameters(), 0.1)
    with pytest.raises(ValueError, match="epochs, batch_size and max_steps must be >= 1"):
        train(model, loss_fn, opt, SMALL, epochs=0)
    with pytest.raises(ValueError, match="unknown schedule 'step'"):
        train(model, loss_fn, opt, SMALL, schedule="step")
    with pytest.raises(ValueError, match="no training examples"):
        train(model, loss_fn, opt, SMALL.subset(slice(0, 0)))


def test_cosine_schedule_and_lr_restored():
    model, loss_fn, _ = build_model("lenet", seed=0)
    opt = make_optimizer("sgd", model.parameters(), 0.1)
    got = [p.lr for p in train(model, loss_fn, opt, SMALL, batch_size=32, schedule="cosine")]
    want = [0.05 * (1 + math.cos(math.pi * s / 4)) for s in range(4)]
    np.testing.assert_allclose(got, want)
    assert opt.lr == 0.1


def test_diverging_run_stops_and_keeps_the_last_good_weights():
    model, loss_fn, _ = build_model("lenet", seed=0)
    initial = snapshot(model)
    opt = make_optimizer("momentum", model.parameters(), 10.0)
    after = [initial]
    with pytest.raises(TrainingDiverged, match=r"diverged at step \d+ .*lr=10") as info:
        for _ in train(model, loss_fn, opt, TRAIN, batch_size=32, seed=0, max_steps=50):
            after.append(snapshot(model))
    k = len(after)  # the step that diverged, 1-based
    assert f"restored to those before step {k - 1}" in str(info.value)
    for p, good in zip(model.parameters(), after[k - 2], strict=True):
        np.testing.assert_array_equal(p.value, good)  # the weights step k-1 started from


def test_nan_loss_on_the_first_step_leaves_the_weights_alone():
    model, loss_fn, _ = build_model("lenet", seed=0)
    initial = snapshot(model)
    bad = Dataset(np.full((8, 1, 28, 28), np.nan, np.float32), np.zeros(8, np.int64), "nan")
    opt = make_optimizer("adam", model.parameters(), 1e-3)
    with pytest.raises(TrainingDiverged, match="diverged at step 1"):
        next(train(model, loss_fn, opt, bad, batch_size=4))
    for p, good in zip(model.parameters(), initial, strict=True):
        np.testing.assert_array_equal(p.value, good)


def test_nan_update_is_undone():
    model, loss_fn, _ = build_model("lenet", seed=0)
    opt = make_optimizer("sgd", model.parameters(), 0.01)
    real_step = opt.step

    def poisoned_step():
        real_step()
        opt.params[0].value[0, 0, 0, 0] = np.inf

    steps = train(model, loss_fn, opt, SMALL, batch_size=32)
    next(steps)
    good = snapshot(model)
    opt.step = poisoned_step
    with pytest.raises(TrainingDiverged, match="update made the weights NaN or inf"):
        next(steps)
    for p, g in zip(model.parameters(), good, strict=True):
        np.testing.assert_array_equal(p.value, g)


@pytest.mark.parametrize("optimizer", ["adam", "momentum"])
def test_frozen_layers_receive_no_updates(optimizer):
    model, loss_fn, _ = build_model("lenet", seed=0)
    frozen = freeze_features(model)
    convs = [m for m in model.layers if isinstance(m, Conv2d)]
    assert {id(p) for p in frozen} == {id(p) for c in convs for p in c.parameters()}
    before, head_before = snapshot(model), head(model).weight.value.copy()
    opt = make_optimizer(optimizer, model.parameters(), 0.01, weight_decay=0.1)
    for _ in train(model, loss_fn, opt, SMALL, batch_size=32, seed=0):
        pass
    for p, b in zip(frozen, before[: len(frozen)], strict=True):
        np.testing.assert_array_equal(p.value, b)
    assert not np.array_equal(head(model).weight.value, head_before)


def test_transfer_fine_tunes_the_head_and_compares_with_scratch():
    model, _, _ = load(paths.PRETRAINED_LENET_0_4)
    convs = [m for m in model.layers if isinstance(m, Conv2d)]
    conv_before = [p.value.copy() for c in convs for p in c.parameters()]
    result = transfer(model, train_examples=64, steps=6, eval_every=3)
    tuned, scratch = result.fine_tuned, result.scratch
    assert len(tuned.losses) == len(scratch.losses) == 6
    assert tuned.eval_steps == scratch.eval_steps == [0, 3, 6]
    assert tuned.trainable == 7850 and scratch.trainable == model.num_parameters()
    assert tuned.final.count == scratch.final.count == len(HELD_OUT.digits([5, 6, 7, 8, 9]))
    assert result.train_examples == 64
    assert result.frozen == ["0.weight", "0.bias", "3.weight", "3.bias"]
    after = [p.value for c in convs for p in c.parameters()]
    for b, a in zip(conv_before, after, strict=True):
        np.testing.assert_array_equal(a, b)
    assert tuned.final.accuracy > scratch.final.accuracy  # features from 0-4 help with 5-9


def test_shipped_model_reaches_the_target():
    model, shape, meta = load(paths.PRETRAINED_LENET)
    result = evaluate(model, HELD_OUT)
    assert shape == (1, 28, 28) and result.accuracy >= 0.975
    assert result.accuracy == pytest.approx(meta["accuracy"])
    assert meta["summary"] == result.summary()


def optimizer_arrays(opt):
    """Every array of the optimizer's per-parameter state (momentum buffers, Adam's m and v)."""
    return [v for state in opt.state for v in state.values() if isinstance(v, np.ndarray)]


@pytest.mark.parametrize(("kind", "lr", "big"), [("momentum", 0.05, 50.0), ("adam", 2e-3, 5.0)])
def test_divergence_restores_the_optimizer_state_with_the_weights(kind, lr, big):
    model, loss_fn, _ = build_model("lenet", seed=0)
    opt = make_optimizer(kind, model.parameters(), lr)
    with pytest.raises(TrainingDiverged) as info:
        for p in train(model, loss_fn, opt, TRAIN, batch_size=32, seed=0, max_steps=50):
            if p.step == 4:
                opt.lr = big  # as the explorer's + does during a run: step 5 uses it
    restored = int(re.search(r"restored to those before step (\d+)", str(info.value))[1])
    assert restored == 5  # step 5's update exploded the loss of step 6
    # Four steps at the first lr are the reference: their weights and optimizer state are
    # what step 5 started from (a momentum buffer, or Adam's m, v and step count).
    ref_model, _, _ = build_model("lenet", seed=0)
    ref_opt = make_optimizer(kind, ref_model.parameters(), lr)
    for _ in train(ref_model, loss_fn, ref_opt, TRAIN, batch_size=32, seed=0, max_steps=4):
        pass
    for p, q in zip(model.parameters(), ref_model.parameters(), strict=True):
        np.testing.assert_array_equal(p.value, q.value)
    got, want = optimizer_arrays(opt), optimizer_arrays(ref_opt)
    assert len(got) == len(want) > 0
    for a, b in zip(got, want, strict=True):
        np.testing.assert_array_equal(a, b)
    assert [s.get("step") for s in opt.state] == [s.get("step") for s in ref_opt.state]
    assert opt.lr == big  # the lr the user set stays


def test_divergence_names_the_weight_decay_and_warns_nothing(recwarn):
    model, loss_fn, _ = build_model("lenet", seed=0)
    opt = make_optimizer("momentum", model.parameters(), 0.05, weight_decay=1e308)
    with pytest.raises(TrainingDiverged) as info:
        for _ in train(model, loss_fn, opt, SMALL, batch_size=32, seed=0, max_steps=4):
            pass
    text = str(info.value)
    assert "weight decay is too large (weight_decay=1e+308" in text
    assert "smaller learning rate" not in text
    assert [str(w.message) for w in recwarn] == []  # no overflow warning leaks
    assert all(np.isfinite(p.value).all() for p in model.parameters())


def test_divergence_names_a_momentum_of_one_or_more():
    model, loss_fn, _ = build_model("lenet", seed=0)
    opt = make_optimizer("momentum", model.parameters(), 0.05, momentum=1.5)
    with pytest.raises(TrainingDiverged, match=r"momentum is too large \(momentum=1.5"):
        for _ in train(model, loss_fn, opt, TRAIN, batch_size=32, seed=0, max_steps=200):
            pass


def test_open_ended_run_stops_when_the_caller_stops():
    model, loss_fn, _ = build_model("lenet", seed=0)
    opt = make_optimizer("sgd", model.parameters(), 0.1)
    steps = train(model, loss_fn, opt, SMALL, epochs=None, batch_size=32, seed=0)
    got = [next(steps) for _ in range(6)]  # 4 batches an epoch: goes on into epoch 2
    assert [p.step for p in got] == list(range(1, 7)) and got[-1].epoch == 2
    assert got[-1].total_steps == 0 and math.isnan(got[-1].fraction)
    with pytest.raises(ValueError, match="cosine schedule needs a length"):
        train(model, loss_fn, opt, SMALL, epochs=None, schedule="cosine")
