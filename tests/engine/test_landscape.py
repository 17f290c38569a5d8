"""The optimizers on the 2-D valley: each first steps by hand, and momentum and Adam win."""

import math

import numpy as np
import pytest

from engine.landscape import ADAM_LR, SGD_LR, START, Valley, descend, make, steps_to_reach


def test_valley_height_and_gradient():
    v = Valley(steep=50.0)
    assert v.loss(np.array([2.0, 0.5])) == pytest.approx(0.5 * (4 + 50 * 0.25))
    assert list(v.grad(np.array([2.0, 0.5]))) == [2.0, 25.0]
    g = v.grid((-1, 1), (-1, 1), cols=5, rows=3)
    assert g.shape == (3, 5) and g[1, 2] == 0.0 and g[0, 0] == pytest.approx(0.5 * 51)


def test_first_steps_by_hand():
    a, b = START
    g = np.array([a, 50 * b])
    sgd = descend("sgd", steps=1)
    assert sgd.points[1] == pytest.approx(np.array(START) - SGD_LR * g)
    mom = descend("momentum", steps=2)
    w1 = np.array(START) - SGD_LR * g  # the buffer starts at the first gradient
    g2 = np.array([w1[0], 50 * w1[1]])
    v2 = 0.9 * g + g2
    assert mom.points[2] == pytest.approx(w1 - SGD_LR * v2)
    assert mom.updates[1]["momentum_buffer"] == pytest.approx(v2)
    adam = descend("adam", steps=1)
    m, v = 0.1 * g, 0.001 * g * g
    m_hat, v_hat = m / (1 - 0.9), v / (1 - 0.999)
    step = ADAM_LR * m_hat / (np.sqrt(v_hat) + 1e-8)
    assert adam.points[1] == pytest.approx(np.array(START) - step)
    assert adam.updates[0]["m_hat"] == pytest.approx(m_hat)
    # Adam's first step moves every coordinate by about lr, whatever its gradient's size
    assert np.abs(adam.points[1] - adam.points[0]) == pytest.approx([ADAM_LR, ADAM_LR], rel=1e-6)


def test_momentum_and_adam_win_in_the_valley():
    paths = {n: descend(n, steps=40) for n in ("sgd", "momentum", "adam")}
    assert paths["momentum"].losses[-1] < paths["sgd"].losses[-1] / 3
    assert paths["adam"].losses[-1] < paths["sgd"].losses[-1] / 3
    assert steps_to_reach(paths["sgd"], 0.1) is None
    assert steps_to_reach(paths["adam"], 0.1) is not None


def test_bad_arguments():
    with pytest.raises(ValueError, match="unknown optimizer"):
        descend("rmsprop")
    with pytest.raises(ValueError, match="steps"):
        descend("sgd", steps=-1)
    assert math.isclose(make("adam", __import__("engine").Parameter(np.zeros(2))).lr, ADAM_LR)
