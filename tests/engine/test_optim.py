"""SGD and Adam against hand-computed steps (and PyTorch when it is installed)."""

import math

import numpy as np
import pytest

from engine.module import Parameter
from engine.optim import SGD, Adam

GRADS = [1.0, 0.5, -1.0]  # grad of element 0 at steps 1, 2, 3; element 1 always gets grad 0


def run(opt, p, steps=3):
    """Feed the fixed gradients and return the value after every step."""
    values = []
    for g in GRADS[:steps]:
        p.grad[...] = [g, 0.0]
        opt.step()
        values.append(p.value.copy())
    return values


def test_sgd_momentum_weight_decay_by_hand():
    p = Parameter(np.array([1.0, -2.0]), "w")
    opt = SGD([p], lr=0.1, momentum=0.9, weight_decay=0.1)
    opt.record = True
    # Element 0, w = 1.0:
    # step 1: g = 1.0 + 0.1*1.0 = 1.1;        buf = 1.1 (first step: buf = g)
    #         w = 1.0 - 0.1*1.1 = 0.89
    # step 2: g = 0.5 + 0.1*0.89 = 0.589;     buf = 0.9*1.1 + 0.589 = 1.579
    #         w = 0.89 - 0.1*1.579 = 0.7321
    # step 3: g = -1.0 + 0.1*0.7321 = -0.92679; buf = 0.9*1.579 - 0.92679 = 0.49431
    #         w = 0.7321 - 0.049431 = 0.682669
    # Element 1, w = -2.0, grad 0: only weight decay pulls it towards 0:
    # step 1: g = -0.2; buf = -0.2; w = -2.0 + 0.02 = -1.98
    # step 2: g = -0.198; buf = 0.9*(-0.2) - 0.198 = -0.378; w = -1.98 + 0.0378 = -1.9422
    # step 3: g = -0.19422; buf = 0.9*(-0.378) - 0.19422 = -0.53442; w = -1.888758
    values = run(opt, p)
    expected = [[0.89, -1.98], [0.7321, -1.9422], [0.682669, -1.888758]]
    assert np.allclose(values, expected, rtol=1e-13, atol=0)
    assert np.allclose(opt.state[0]["momentum_buffer"], [0.49431, -0.53442], rtol=1e-12)
    e = opt.explain(0)
    assert e["lr"] == 0.1
    assert np.allclose(e["grad"], [-1.0, 0.0])
    assert np.allclose(e["l2_term"], [0.07321, -0.19422], rtol=1e-12)
    assert np.allclose(e["momentum_buffer"], [0.49431, -0.53442], rtol=1e-12)
    assert np.allclose(e["value_before"], [0.7321, -1.9422], rtol=1e-13)
    assert np.allclose(e["value_after"], [0.682669, -1.888758], rtol=1e-13)


def test_plain_sgd_by_hand():
    p = Parameter(np.array([1.0, -2.0]), "w")
    opt = SGD([p], lr=0.5)
    # w -= 0.5 * grad: 1.0 - 0.5 = 0.5; 0.5 - 0.25 = 0.25; 0.25 + 0.5 = 0.75
    assert np.allclose(run(opt, p), [[0.5, -2.0], [0.25, -2.0], [0.75, -2.0]], rtol=1e-15)
    assert opt.state == [{}]  # no momentum buffer without momentum


def adam_by_formula(w: float, grads, lr, beta1, beta2, eps, weight_decay) -> list[dict]:
    """Adam (Kingma & Ba, Algorithm 1) with coupled L2, one scalar in plain Python floats:
    g = grad + wd * w; m = b1 m + (1 - b1) g; v = b2 v + (1 - b2) g^2;
    m_hat = m / (1 - b1^t); v_hat = v / (1 - b2^t); w -= lr * m_hat / (sqrt(v_hat) + eps).
    Every intermediate of every step, independent of engine.optim."""
    m = v = 0.0
    out = []
    for t, grad in enumerate(grads, start=1):
        l2 = weight_decay * w
        g = grad + l2
        m = beta1 * m + (1 - beta1) * g
        v = beta2 * v + (1 - beta2) * g * g
        bc1, bc2 = 1 - beta1**t, 1 - beta2**t
        m_hat, v_hat = m / bc1, v / bc2
        w = w - lr * m_hat / (math.sqrt(v_hat) + eps)
        out.append(dict(w=w, m=m, v=v, m_hat=m_hat, v_hat=v_hat, l2=l2, bc1=bc1, bc2=bc2))
    return out


def test_adam_weight_decay_by_hand():
    p = Parameter(np.array([1.0, -2.0]), "w")
    opt = Adam([p], lr=0.1, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.1)
    opt.record = True
    # Step 1 of element 0 by hand (w = 1.0, grad 1.0):
    #   g = 1.0 + 0.1*1.0 = 1.1; m = 0.1*1.1 = 0.11; v = 0.001*1.21 = 0.00121
    #   bc1 = 1 - 0.9 = 0.1, bc2 = 1 - 0.999 = 0.001: m_hat = 1.1, v_hat = 1.21, sqrt = 1.1
    #   w = 1.0 - 0.1 * 1.1 / (1.1 + 1e-8) = 1.0 - 0.1 / (1 + 1e-8 / 1.1)
    # Step 1 of element 1 (w = -2.0, grad 0): g = -0.2, m_hat = -0.2, sqrt(v_hat) = 0.2:
    #   w = -2.0 + 0.1 * 0.2 / (0.2 + 1e-8)
    # Steps 2 and 3 follow the same formulas: adam_by_formula computes them.
    values = run(opt, p)
    assert values[0][0] == pytest.approx(1.0 - 0.1 / (1 + 1e-8 / 1.1), rel=1e-15)
    assert values[0][1] == pytest.approx(-2.0 + 0.1 * 0.2 / (0.2 + 1e-8), rel=1e-15)
    ref = [
        adam_by_formula(1.0, GRADS, 0.1, 0.9, 0.999, 1e-8, 0.1),
        adam_by_formula(-2.0, [0.0] * 3, 0.1, 0.9, 0.999, 1e-8, 0.1),
    ]
    expected = [[ref[0][t]["w"], ref[1][t]["w"]] for t in range(3)]
    assert np.allclose(values, expected, rtol=1e-12, atol=0)
    e = opt.explain(0)
    assert e["step"] == 3 and e["lr"] == 0.1
    assert e["bias_correction1"] == pytest.approx(1 - 0.9**3, rel=1e-14)  # 0.271
    assert e["bias_correction2"] == pytest.approx(1 - 0.999**3, rel=1e-12)  # 0.002997001
    for key, name in (("m", "m"), ("v", "v"), ("m_hat", "m_hat"), ("v_hat", "v_hat")):
        assert np.allclose(e[key], [ref[0][2][name], ref[1][2][name]], rtol=1e-11), key
    # The step-3 L2 term is wd times the weights after step 2.
    assert np.allclose(e["l2_term"], [0.1 * expected[1][0], 0.1 * expected[1][1]], rtol=1e-12)
    assert np.array_equal(opt.state[0]["exp_avg"], e["m"]) and opt.state[0]["step"] == 3


def test_frozen_params_get_no_update_and_no_state():
    a, b = Parameter(np.ones(3), "a"), Parameter(np.ones(3), "b")
    b.requires_grad = False
    for opt in (SGD([a, b], lr=0.1, momentum=0.9, weight_decay=0.1), Adam([a, b], lr=0.1)):
        a.value[...] = b.value[...] = 1.0
        a.grad[...] = b.grad[...] = 1.0
        opt.record = True
        opt.step()
        assert np.array_equal(b.value, np.ones(3)) and opt.state[1] == {}
        assert not np.array_equal(a.value, np.ones(3))
        with pytest.raises(ValueError, match="frozen"):
            opt.explain(1)


@pytest.mark.parametrize(
    "make",
    [
        lambda ps: SGD(ps, lr=0.05, momentum=0.9, weight_decay=0.01),
        lambda ps: Adam(ps, lr=0.01, weight_decay=0.01),
    ],
)
def test_state_dict_round_trip_replays_bit_for_bit(make):
    r = np.random.default_rng(0)
    p = Parameter(r.standard_normal((3, 4)).astype(np.float32), "w")
    grads = [r.standard_normal((3, 4)).astype(np.float32) for _ in range(3)]
    opt = make([p])
    p.grad[...] = grads[0]
    opt.step()
    saved_value, saved = p.value.copy(), opt.state_dict()
    for g in grads[1:]:
        p.grad[...] = g
        opt.step()
    first = p.value.copy()
    opt.lr = 123.0
    p.value[...] = saved_value
    opt.load_state_dict(saved)
    assert opt.lr != 123.0  # hyperparameters come back too
    for g in grads[1:]:
        p.grad[...] = g
        opt.step()
    assert np.array_equal(p.value, first) and p.value.dtype == np.float32
    for value in opt.state[0].values():  # state stays in the param's dtype
        assert not isinstance(value, np.ndarray) or value.dtype == np.float32
    saved["state"][0].clear()  # a deep copy: the optimizer does not share it
    assert opt.state[0]


def test_load_state_dict_rejects_bad_input_and_changes_nothing():
    p = Parameter(np.zeros(2), "w")
    opt = SGD([p], lr=0.1, momentum=0.5)
    p.grad[...] = 1.0
    opt.step()
    before = opt.state_dict()
    bad = [
        Adam([p]).state_dict(),
        {**before, "state": []},
        {**before, "state": [{"momentum_buffer": np.zeros(3)}]},
        {**before, "hyper": {"lr": -1.0}},
        "not a dict",
    ]
    for d in bad:
        with pytest.raises(ValueError, match="SGD"):
            opt.load_state_dict(d)
    assert opt.lr == 0.1 and np.array_equal(opt.state[0]["momentum_buffer"], [1.0, 1.0])


def test_constructor_and_setter_validation():
    p = Parameter(np.zeros(2), "w")
    with pytest.raises(ValueError, match=r"SGD: lr"):
        SGD([p], lr=-0.1)
    with pytest.raises(ValueError, match="momentum"):
        SGD([p], lr=0.1, momentum=-1)
    with pytest.raises(ValueError, match="weight_decay"):
        Adam([p], weight_decay=float("nan"))
    with pytest.raises(ValueError, match=r"betas\[1\]"):
        Adam([p], betas=(0.9, 1.0))
    with pytest.raises(ValueError, match="betas"):
        Adam([p], betas=0.9)
    with pytest.raises(ValueError, match="empty"):
        SGD([], lr=0.1)
    with pytest.raises(ValueError, match="not a Parameter"):
        SGD([np.zeros(2)], lr=0.1)
    with pytest.raises(ValueError, match="more than once"):
        SGD([p, p], lr=0.1)
    opt = Adam([p])
    opt.lr = 0.5
    assert opt.lr == 0.5
    with pytest.raises(ValueError, match="lr"):
        opt.lr = float("inf")


def test_explain_needs_record_and_a_valid_index():
    p = Parameter(np.zeros(2), "w")
    opt = SGD([p], lr=0.1)
    opt.step()
    with pytest.raises(ValueError, match="record"):
        opt.explain(0)
    with pytest.raises(ValueError, match="out of range"):
        opt.explain(1)
    opt.record = True
    opt.step()
    assert set(opt.explain(0)) == {"lr", "grad", "value_before", "value_after"}


def test_zero_grad_zeroes_every_param():
    a, b = Parameter(np.ones(2), "a"), Parameter(np.ones(2), "b")
    b.requires_grad = False
    a.grad[...] = b.grad[...] = 3.0
    SGD([a, b], lr=0.1).zero_grad()
    assert not a.grad.any() and not b.grad.any()


@pytest.mark.parametrize("kind", ["sgd", "sgd_momentum", "adam"])
def test_matches_pytorch_when_installed(kind):
    # An extra cross-check only: the hand computations above do not depend on torch.
    torch = pytest.importorskip("torch")
    r = np.random.default_rng(42)
    w0 = r.standard_normal((4, 3))
    grads = [r.standard_normal((4, 3)) for _ in range(5)]
    p = Parameter(w0.copy(), "w")
    t = torch.tensor(w0.copy(), requires_grad=True)
    if kind == "adam":
        ours = Adam([p], lr=0.01, betas=(0.8, 0.99), eps=1e-6, weight_decay=0.05)
        theirs = torch.optim.Adam([t], lr=0.01, betas=(0.8, 0.99), eps=1e-6, weight_decay=0.05)
    else:
        momentum = 0.9 if kind == "sgd_momentum" else 0.0
        ours = SGD([p], lr=0.1, momentum=momentum, weight_decay=0.01)
        theirs = torch.optim.SGD([t], lr=0.1, momentum=momentum, weight_decay=0.01)
    for g in grads:
        p.grad[...] = g
        t.grad = torch.tensor(g)
        ours.step()
        theirs.step()
        assert np.allclose(p.value, t.detach().numpy(), rtol=1e-12, atol=1e-14)


def test_records_are_read_only_and_shared_not_copied_by_state_dict():
    # Undo keeps one state_dict per op: the last update's record is shared, never copied.
    p = Parameter(np.ones((2, 2), dtype=np.float32), "w")
    p.grad[...] = 1.0
    opt = Adam([p], weight_decay=0.1)
    opt.record = True
    opt.step()
    saved = opt.state_dict()
    for key, value in opt.explain(0).items():
        if isinstance(value, np.ndarray):
            assert not value.flags.writeable, key
            assert saved["records"][0][key] is value
    saved["records"][0]["extra"] = 1  # the dicts are the state_dict's own
    assert "extra" not in opt.explain(0)
    opt.load_state_dict(saved)
    assert opt.explain(0)["grad"] is saved["records"][0]["grad"]
