"""Sequential: chaining, shape inference with named failures, specs, whole-model gradients."""

import json

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from engine.activations import ReLU, Sigmoid, Tanh
from engine.conv import Conv2d
from engine.dropout import Dropout
from engine.gradcheck import check_module
from engine.linear import Flatten, Linear
from engine.losses import CrossEntropyLoss
from engine.model import Sequential, from_spec, named_parameters
from engine.optim import Adam
from engine.pool import AvgPool2d, MaxPool2d
from engine.residual import Residual


def small_cnn(*extra, rng):
    """conv-ReLU-pool-Flatten, then `extra` layers (e.g. Dropout), then Linear(64, 3)."""
    return Sequential(
        Conv2d(1, 4, 3, padding=1, rng=rng), ReLU(), MaxPool2d(2), Flatten(), *extra,
        Linear(4 * 4 * 4, 3, rng=rng),
    )  # fmt: skip


def test_forward_and_backward_chain_the_layers():
    g = np.random.default_rng(0)
    a, b = Linear(4, 5, rng=g), Linear(5, 2, rng=g)
    model = Sequential(a, Tanh(), b)
    x = np.random.default_rng(0).standard_normal((3, 4)).astype(np.float32)
    assert np.allclose(model.forward(x), b.forward(np.tanh(a.forward(x))), atol=1e-6)
    g = np.ones((3, 2), np.float32)
    grad_input = model.backward(g)
    # By hand: through b, then tanh' = 1 - tanh^2, then a.
    h = np.tanh(x @ a.weight.value.T + a.bias.value)
    expected = ((g @ b.weight.value) * (1 - h**2)) @ a.weight.value
    assert np.allclose(grad_input, expected, atol=1e-5)
    assert len(model) == 3 and model[2] is b and list(model) == [a, model[1], b]


def test_shapes_and_summary_for_a_lenet():
    model = Sequential(
        Conv2d(1, 8, 3, padding=1), ReLU(), MaxPool2d(2),
        Conv2d(8, 16, 3, padding=1), ReLU(), MaxPool2d(2),
        Flatten(), Linear(784, 10),
    )  # fmt: skip
    assert model.shapes((1, 28, 28)) == [
        (8, 28, 28), (8, 28, 28), (8, 14, 14),
        (16, 14, 14), (16, 14, 14), (16, 7, 7),
        (784,), (10,),
    ]  # fmt: skip
    assert model.output_shape((1, 28, 28)) == (10,)
    summary = model.summary((1, 28, 28))
    assert summary[0] == (0, "Conv2d(1->8, k=3, s=1, p=1)", (8, 28, 28), 8 * 9 + 8)
    assert summary[7] == (7, "Linear(784->10)", (10,), 7850)
    # 80 + (16*8*9 + 16) + 7850 = 80 + 1168 + 7850
    assert model.num_parameters() == 9098 == sum(row[3] for row in summary)


def test_shapes_names_the_first_impossible_layer():
    model = Sequential(Conv2d(1, 8, 5), MaxPool2d(2), Conv2d(8, 8, 5), ReLU())
    # 12 -> 8 -> 4 -> floor((4 + 0 - 5) / 1) + 1 = 0: layer 2 fails.
    with pytest.raises(ValueError, match=r"^layer 2 \(Conv2d\(8->8, k=5, s=1, p=0\)\): ") as info:
        model.shapes((1, 12, 12))
    assert "floor((4 + 0 - 5) / 1) + 1 = 0" in str(info.value)
    assert str(info.value).count("Conv2d(8->8") == 1  # the layer's name is not repeated
    with pytest.raises(ValueError, match=r"^layer 2 \(Conv2d\(8->8"):
        model.forward(np.zeros((1, 1, 12, 12), np.float32))
    flat = Sequential(Flatten(), Linear(10, 2))
    with pytest.raises(ValueError, match=r"^layer 1 \(Linear\(10->2\)\).*\(9,\)"):
        flat.shapes((1, 3, 3))
    with pytest.raises(ValueError, match=r"layer 0 \(Conv2d.*3 input channels|channels"):
        Sequential(Conv2d(1, 2, 3)).shapes((3, 8, 8))


def test_sequential_rejects_non_layers_and_bad_shapes():
    with pytest.raises(ValueError, match="layer 1 is int"):
        Sequential(ReLU(), 3)
    with pytest.raises(ValueError, match="per-sample shape"):
        Sequential(ReLU()).shapes((1, 2))
    empty = Sequential()
    assert empty.shapes((3,)) == [] and empty.output_shape((3,)) == (3,)
    assert np.array_equal(empty.forward(np.ones((1, 3))), np.ones((1, 3)))


def test_named_parameters_follow_the_structure():
    model = Sequential(
        Conv2d(1, 2, 3, padding=1), ReLU(),
        Residual(Conv2d(2, 4, 3, padding=1), ReLU(), Conv2d(4, 4, 3, padding=1)),
        Flatten(), Linear(4 * 5 * 5, 2),
    )  # fmt: skip
    names = [n for n, _ in named_parameters(model)]
    assert names == [
        "0.weight", "0.bias",
        "2.0.weight", "2.0.bias", "2.2.weight", "2.2.bias",
        "2.projection.weight", "2.projection.bias",
        "4.weight", "4.bias",
    ]  # fmt: skip
    assert [p for _, p in named_parameters(model)] == model.parameters()


def test_train_and_eval_reach_nested_layers():
    drop = Dropout(0.5)
    model = Sequential(Residual(Linear(3, 3), drop), Sigmoid())
    model.eval()
    assert not drop.training
    model.train()
    assert drop.training


def test_spec_is_json_and_rebuilds_every_layer_type():
    model = Sequential(
        Conv2d(1, 4, (3, 5), stride=(1, 2), padding=(1, 2)), ReLU(), MaxPool2d(2, stride=1),
        Residual(Conv2d(4, 4, 3, padding=1), Tanh()), AvgPool2d(2), Sigmoid(),
        Flatten(), Dropout(0.25), Linear(4 * 4 * 2, 3),
    )  # fmt: skip
    spec = json.loads(json.dumps(model.spec()))
    # (1, 10, 9) -> conv (4, 10, 5) -> pool s1 (4, 9, 4) -> residual -> avg (4, 4, 2) -> 32
    again = from_spec(spec)
    assert json.loads(json.dumps(again.spec())) == spec
    assert again.shapes((1, 10, 9)) == model.shapes((1, 10, 9))
    assert [p.shape for p in again.parameters()] == [p.shape for p in model.parameters()]


@pytest.mark.parametrize(
    ("spec", "match"),
    [
        ([1, 2], "must be a dict"),
        ({"layers": []}, "must be a dict"),
        ({"type": "Conv3d"}, r"unknown layer type 'Conv3d' \(known: .*Conv2d"),
        ({"type": "Linear", "in_features": 3}, r"bad arguments for Linear"),
        ({"type": "Linear", "in_features": 0, "out_features": 2}, r"Linear\(0->2\)"),
        ({"type": "Sequential", "layers": {}}, "'layers' list"),
        (
            {"type": "Sequential", "layers": [{"type": "ReLU"}, {"type": "Nope"}]},
            r"spec\.layers\[1\]: unknown layer type 'Nope'",
        ),
    ],
)
def test_from_spec_errors_say_where(spec, match):
    with pytest.raises(ValueError, match=match):
        from_spec(spec)


@settings(max_examples=6, deadline=None)
@given(
    n=st.integers(1, 2),
    c=st.integers(1, 2),
    size=st.sampled_from([4, 6]),
    classes=st.integers(2, 4),
    seed=st.integers(0, 999),
)
def test_whole_model_gradients(n, c, size, classes, seed):
    g = np.random.default_rng(seed)
    model = Sequential(
        Conv2d(c, 3, 3, padding=1, rng=g), Tanh(), AvgPool2d(2),
        Residual(Conv2d(3, 3, 3, padding=1, rng=g), Tanh(), Conv2d(3, 3, 3, padding=1, rng=g),
                 rng=g),
        Flatten(), Dropout(0.3, rng=g), Linear(3 * (size // 2) ** 2, classes, rng=g),
    )  # fmt: skip
    x = np.random.default_rng(seed).standard_normal((n, c, size, size))
    errors = check_module(model, x, seed=seed)
    assert max(errors.values()) < 1e-6, errors


def test_same_seed_same_numbers_bit_for_bit():
    def run():
        g = np.random.default_rng(123)
        model = small_cnn(Dropout(0.2, rng=g), rng=g)
        opt = Adam(model.parameters(), lr=0.01, weight_decay=0.001)
        loss = CrossEntropyLoss()
        data = np.random.default_rng(5).standard_normal((6, 1, 8, 8)).astype(np.float32)
        targets = np.arange(6) % 3
        out = []
        for _ in range(3):
            model.zero_grad()
            value = loss.forward(model.forward(data), targets)
            model.backward(loss.backward())
            opt.step()
            out.append(value)
        return out, [p.value.copy() for p in model.parameters()]

    (loss_a, params_a), (loss_b, params_b) = run(), run()  # dropout masks included
    assert loss_a == loss_b
    assert all(np.array_equal(a, b) for a, b in zip(params_a, params_b, strict=True))


def test_frozen_layers_keep_their_weights_while_the_rest_trains():
    g = np.random.default_rng(0)
    model = small_cnn(rng=g)
    conv, head = model.layers[0], model.layers[4]
    for p in conv.parameters():
        p.requires_grad = False
    frozen = [p.value.copy() for p in conv.parameters()]
    head_before = head.weight.value.copy()
    opt = Adam(model.parameters(), lr=0.1)
    loss = CrossEntropyLoss()
    x = np.random.default_rng(0).standard_normal((4, 1, 8, 8)).astype(np.float32)
    for _ in range(2):
        opt.zero_grad()
        loss.forward(model.forward(x), np.array([0, 1, 2, 0]))
        model.backward(loss.backward())
        opt.step()
    assert all(np.array_equal(p.value, f) for p, f in zip(conv.parameters(), frozen, strict=True))
    assert not np.array_equal(head.weight.value, head_before)
