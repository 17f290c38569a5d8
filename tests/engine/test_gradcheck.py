"""The gradient checker itself: exact on known derivatives, and it catches a wrong backward."""

import copy

import numpy as np
import pytest

from engine.gradcheck import check_loss, check_module, numeric_grad, relative_error
from engine.module import Module, Parameter


def test_numeric_grad_matches_a_known_derivative():
    x = np.linspace(-2.0, 2.0, 13)
    f = lambda v: float(np.sum(np.sin(v) * v**2))  # noqa: E731
    exact = np.cos(x) * x**2 + 2 * x * np.sin(x)  # d/dx sin(x) x^2
    assert np.max(np.abs(numeric_grad(f, x) - exact)) < 1e-8


def test_numeric_grad_of_a_quadratic_form_in_2d():
    a = np.array([[2.0, 1.0], [0.5, 3.0]])
    x = np.array([[0.3, -1.2], [2.0, 0.7]])
    # f(X) = sum over columns of x^T A x; gradient (A + A^T) X, and central differences are
    # exact for quadratics up to rounding.
    f = lambda v: float(np.sum(v * (a @ v)))  # noqa: E731
    assert np.allclose(numeric_grad(f, x), (a + a.T) @ x, atol=1e-8)


def test_numeric_grad_restores_x_and_wants_float64():
    x = np.array([0.1, 0.2, 0.3])
    before = x.copy()
    numeric_grad(lambda v: float(v @ v), x)
    assert np.array_equal(x, before)
    with pytest.raises(ValueError, match="float64"):
        numeric_grad(lambda v: float(v.sum()), x.astype(np.float32))


def test_relative_error():
    assert relative_error(np.zeros(3), np.zeros(3)) == 0.0
    assert relative_error(np.array([1.0, 2.0]), np.array([1.0, 2.0])) == 0.0
    assert relative_error(np.array([1.0, 2.0]), np.array([1.0, 1.0])) == pytest.approx(0.5)
    with pytest.raises(ValueError, match="shapes"):
        relative_error(np.zeros(2), np.zeros(3))


class Scale(Module):
    """y = x * w (w broadcast over the batch); `broken` doubles grad_input on purpose."""

    def __init__(self, features, broken=False):
        self.w = Parameter(np.linspace(0.5, 1.5, features).astype(np.float32), "w")
        self.broken = broken

    def own_parameters(self):
        return [self.w]

    def forward(self, x):
        self.x = x.astype(self.w.value.dtype)
        return self.x * self.w.value

    def backward(self, grad_out):
        self.w.grad += (grad_out * self.x).sum(axis=0)
        return grad_out * self.w.value * (2 if self.broken else 1)


def test_check_module_passes_a_correct_backward_and_catches_a_wrong_one():
    x = np.random.default_rng(1).standard_normal((3, 4))
    good = check_module(Scale(4), x)
    assert set(good) == {"input", "w"}
    assert max(good.values()) < 1e-8
    bad = check_module(Scale(4, broken=True), x)
    assert bad["input"] > 0.4  # the analytic gradient is twice the true one
    assert bad["w"] < 1e-8


def test_check_module_leaves_the_callers_module_and_rng_alone():
    m = Scale(4)
    before = m.w.value.copy()
    m.set_rng(np.random.default_rng(7))  # the module's random stream
    state = m.rng.bit_generator.state
    check_module(m, np.ones((2, 4)))
    assert m.w.value.dtype == np.float32 and np.array_equal(m.w.value, before)
    assert not m.w.grad.any()
    assert m.rng.bit_generator.state == state


def test_check_loss_on_a_hand_written_loss():
    class SumSquares:
        def forward(self, p, t):
            self.d = p - t
            return float(np.sum(self.d**2))

        def backward(self):
            return 2 * self.d

    p, t = np.array([1.0, -2.0, 0.5]), np.array([0.0, 1.0, 0.0])
    assert check_loss(SumSquares(), p, t)["input"] < 1e-8


def test_numeric_weight_grad_matches_backward():
    from engine import CrossEntropyLoss, Dropout, Linear, ReLU, Sequential
    from engine.gradcheck import numeric_weight_grad

    g = np.random.default_rng(5)
    model = Sequential(Linear(4, 6, rng=g), ReLU(), Dropout(0.3), Linear(6, 3, rng=g))
    model = model.to(np.float64).set_rng(g)
    x = np.random.default_rng(0).standard_normal((5, 4))
    y = np.array([0, 2, 1, 1, 0])
    loss = CrossEntropyLoss()
    state = copy.deepcopy(g)  # the generator as the analytic pass starts: the same masks
    loss.forward(model.forward(x), y)
    model.zero_grad()
    model.backward(loss.backward())
    for name, index, p in (("0.weight", (2, 1), model[0].weight), ("3.bias", (1,), model[3].bias)):
        numeric = numeric_weight_grad(model, loss, x, y, name, index, rng=state)
        assert numeric == pytest.approx(float(p.grad[index]), rel=1e-6, abs=1e-10)
    with pytest.raises(ValueError, match="no parameter"):
        numeric_weight_grad(model, loss, x, y, "9.weight", (0,))
    with pytest.raises(ValueError, match="outside"):
        numeric_weight_grad(model, loss, x, y, "0.weight", (6, 0))
