"""Session without an app: stepping, refusals, validated edits, optimizers, runs, divergence."""

from __future__ import annotations

import numpy as np
import pytest

from engine import DivergenceError
from engine.gradcheck import check_module
from tui import showing
from tui.session import Session, SessionError


@pytest.fixture
def article():
    return Session("article")


def test_article_forward_is_the_map_of_sixes(article):
    label = article.forward()
    assert label.startswith("forward 0")
    shown = showing.tensor(article)
    np.testing.assert_array_equal(shown.array, np.full((1, 3, 3), 6.0))
    e = showing.explanation(article)
    assert e.total == pytest.approx(6.0)
    assert e.text(max_terms=9).endswith("= 6")
    assert [t.factors for t in e.terms[:3]] == [(4.0, 1.0), (3.0, 0.0), (2.0, -1.0)]


def test_backward_before_the_forward_pass_is_refused_with_a_reason(article):
    with pytest.raises(SessionError, match="forward pass and the loss first: 2 forward op"):
        article.backward()
    assert article.stepper.position == 0
    with pytest.raises(SessionError, match="update needs every gradient"):
        article.update()


def test_article_gradients_match_the_hand_computation(article):
    for _ in range(2):
        article.forward()
    with pytest.raises(SessionError, match="forward pass is complete"):
        article.forward()
    article.backward()  # loss backward: dL/dy = 2 * (6 - 0) / 9 everywhere
    np.testing.assert_allclose(article.stepper.grads[1], np.full((1, 1, 3, 3), 4 / 3), rtol=1e-6)
    article.backward()  # conv backward
    # dL/dw[u, v] = sum_ij 4/3 * x[i+u, j+v] with x[r, s] = 4 - s: (4/3) * 3 * (9 - 3v)
    expected = np.tile([36.0, 24.0, 12.0], (3, 1))
    np.testing.assert_allclose(article.layers[0].weight.grad[0, 0], expected, rtol=1e-6)
    assert article.sel.view == "grad_input" and article.sel.layer == 0
    e = showing.explanation(article)
    n, c, r, s = (0, *article.sel.in_cursor)
    assert e.total == pytest.approx(float(article.stepper.grads[0][n, c, r, s]), rel=1e-6)


def test_update_iteration_history_undo_and_reset(article):
    w0 = article.layers[0].weight.value.copy()
    article.iteration()
    assert article.history[-1][0] == 1 and article.history[-1][1] == pytest.approx(36.0)
    lr = article.optimizer.lr
    np.testing.assert_allclose(
        article.layers[0].weight.value[0, 0], w0[0, 0] - lr * np.tile([36, 24, 12], (3, 1)),
        rtol=1e-5,
    )  # fmt: skip
    assert "undid update" in article.undo()
    assert article.history == [] and article.completed == 0
    np.testing.assert_array_equal(article.layers[0].weight.value, w0)
    article.iteration()
    article.iteration()
    assert len(article.history) == 2
    article.reset()
    assert article.history == [] and article.stepper.position == 0
    np.testing.assert_array_equal(article.layers[0].weight.value, w0)
    with pytest.raises(SessionError, match="nothing to undo"):
        article.undo()


def test_impossible_edit_is_refused_and_the_model_stays(article):
    before = article.model
    spec = {"type": "Conv2d", "in_channels": 1, "out_channels": 1, "kernel_size": 7}
    with pytest.raises(ValueError, match=r"layer 0 .*floor\(\(5 \+ 0 - 7\) / 1\) \+ 1 = -1"):
        article.preview(0, spec)
    with pytest.raises(ValueError, match="H_out"):
        article.replace_layer(0, spec)
    assert article.model is before
    with pytest.raises(SessionError, match="at least one layer"):
        article.delete_layer(0)
    assert article.model is before and len(article.layers) == 1


def test_valid_edit_swaps_and_keeps_the_other_weights():
    s = Session("lenet")
    w_last = s.layers[7].weight.value.copy()
    lines = s.preview(3, {"type": "Conv2d", "in_channels": 8, "out_channels": 16,
                          "kernel_size": 5, "padding": 2})  # fmt: skip
    assert lines[0].startswith("output 16×14×14")
    assert lines[1].startswith("H_out") and "floor((14 + 4 - 5) / 1) + 1 = 14" in lines[1]
    assert lines[2].startswith("W_out") and lines[3].startswith("shapes: 1×28×28 → 8×28×28")
    s.replace_layer(3, {"type": "Conv2d", "in_channels": 8, "out_channels": 16,
                        "kernel_size": 5, "padding": 2})  # fmt: skip
    assert s.layers[3].weight.shape == (16, 8, 5, 5)
    np.testing.assert_array_equal(s.layers[7].weight.value, w_last)
    assert s.stepper.model is s.model


def test_cross_entropy_needs_class_scores_at_the_end():
    s = Session("lenet")
    layers = list(s.layers)
    with pytest.raises(ValueError, match="layer 6 .*add a Flatten before Linear"):
        s.delete_layer(6)
    with pytest.raises(SessionError, match="K >= 10; it would end in 5"):
        s.replace_layer(7, {"type": "Linear", "in_features": 784, "out_features": 5})
    assert s.layers == layers
    s.insert_layer(7, {"type": "Dropout", "p": 0.25})
    assert type(s.layers[7]).__name__ == "Dropout" and len(s.layers) == 9
    s.move_layer(7, -1)
    assert type(s.layers[6]).__name__ == "Dropout"
    with pytest.raises(SessionError, match="already at the bottom"):
        s.move_layer(8, 1)


def test_mse_target_follows_the_output_shape(article):
    article.replace_layer(0, {"type": "Conv2d", "in_channels": 1, "out_channels": 2,
                              "kernel_size": 3, "padding": 1})  # fmt: skip
    assert article.stepper.targets.shape == (1, 2, 5, 5)
    article.iteration()
    assert np.isfinite(article.history[-1][1])


def test_optimizer_switch_and_learning_rate_ladder(article):
    assert article.opt_kind == "sgd"
    assert "SGD+momentum" in article.cycle_optimizer()
    assert article.optimizer.momentum > 0
    assert "Adam" in article.cycle_optimizer()
    assert type(article.optimizer).__name__ == "Adam"
    # Adam's lr for the article (engine.optim.DEFAULT_LR), a rung of 1-2-5
    assert article.optimizer.lr == pytest.approx(0.05)
    article.scale_lr(1)
    assert article.optimizer.lr == pytest.approx(0.1)  # the next rung up: 5 -> 10
    article.scale_lr(1)
    assert article.optimizer.lr == pytest.approx(0.2)  # 1 -> 2
    article.scale_lr(-2)
    assert article.optimizer.lr == pytest.approx(0.05)
    article.iteration()
    info = article.optimizer.explain(0)
    assert {"m", "v", "m_hat", "v_hat", "bias_correction1"} <= set(info)


def test_training_iterations_lower_the_loss():
    s = Session("lenet")
    points = [s.train_iteration() for _ in range(30)]
    assert [p[0] for p in points] == list(range(1, 31))
    assert np.mean([p[1] for p in points[-5:]]) < np.mean([p[1] for p in points[:5]]) - 0.3
    assert all(0.0 <= p[2] <= 1.0 for p in points)
    assert len(s.stepper.x) == 64


def test_divergence_raises_names_the_loss_and_keeps_the_session(article):
    article.optimizer.lr = 5.0
    with pytest.raises(DivergenceError, match="loss"):
        for _ in range(200):
            article.train_iteration()
    kept = article.completed
    assert article.history, "the iterations before the divergence are kept"
    assert np.isfinite(article.history[-1][1])  # the diverged one is not recorded
    article.undo()  # still usable: undo and stepping work
    assert article.completed <= kept


def test_selection_views_samples_and_cursor():
    s = Session("lenet")
    s.forward()
    assert s.sel.views()[-2:] == ["weight", "weight_grad"]
    assert s.sel.cycle_view() == "∂L/∂y (grad_out)"
    s.sel.view = "output"
    assert s.sel.step_sample(1) == "sample 2 of 8"
    s.sel.move_cursor((3, 10, 11), 3)
    e = showing.explanation(s)
    assert e.total == pytest.approx(float(s.stepper.activations[1][1, 3, 10, 11]), abs=1e-5)
    s.sel.view = "input"
    shown = showing.tensor(s)
    assert (0, 9, 10) in shown.highlight and (0, 11, 12) in shown.highlight
    assert len(shown.highlight) == 9
    s.sel.move_cursor((0, shown.cursor[1] + 1, shown.cursor[2]), 0)  # input arrow: output moves
    assert s.sel.out_cursor == (3, 11, 11)


def test_layer_rows_mark_the_pass(article):
    rows, marker, total = showing.layer_rows(article)
    assert [r.kind for r in rows] == ["input", "layer", "loss", "update"]
    assert marker == (1, "down") and total == 10
    article.forward()
    article.forward()
    assert showing.layer_rows(article)[1] == (2, "up")
    article.backward()
    assert showing.layer_rows(article)[1] == (1, "up")
    article.backward()
    assert showing.layer_rows(article)[1] == (3, "update")
    article.update()
    assert showing.layer_rows(article)[1] == (3, "done")
    assert "iteration done" in showing.summary(article)


def test_gradcheck_job_verifies_the_selected_layer():
    s = Session("lenet")
    s.sel.set_layer(3)  # before any forward: the input is computed on copies
    label, layer, x = showing.gradcheck_job(s)
    assert label.startswith("layer 3") and x.shape == (1, 8, 14, 14)
    assert s.stepper.position == 0 and s.stepper.activations[3] is None
    errors = check_module(layer, x)
    assert set(errors) == {"input", "weight", "bias"}
    assert max(errors.values()) < 1e-6


def test_listing_presets_and_previewing_edits_leave_the_random_stream_alone():
    from tui.session import preset_list

    s = Session("lenet")
    before = s.rng.bit_generator.state  # the session's own generator
    assert [name for name, _, _ in preset_list()] == ["article", "lenet", "resnet"]
    s.preview(1, {"type": "Conv2d", "in_channels": 8, "out_channels": 8, "kernel_size": 3,
                  "stride": 1, "padding": 1}, insert=True)  # fmt: skip
    with pytest.raises(ValueError):
        s.load_preset("nope")
    assert s.rng.bit_generator.state == before


def test_status_summary_fits_80_columns_with_short_op_labels():
    # The update's label is the optimizer's full repr and a residual block's is its whole body:
    # on an 80-column status line they pushed the iteration and op count out of sight.
    s = Session("resnet")
    for _ in range(5):
        s.forward()
    text = showing.summary(s)
    assert text.startswith("next: forward 5: Residual 8→16 s2 · iteration 1, op 5/")
    assert text.index("Adam lr 0.002") < 80
    while s.next_kind != "update":
        s.forward() if s.next_kind in ("forward", "loss") else s.backward()
    text = showing.summary(s)
    assert text.startswith("next: update (Adam lr 0.002) · iteration 1, op 20/21 · ")
    s.update()
    s.forward()  # a short label stays as the engine wrote it
    assert showing.summary(s).startswith("next: forward 1: ReLU() · ")


def test_undo_history_is_capped_to_keep_the_app_small():
    # Each LeNet undo snapshot is about 0.5 MB (parameters, gradients, Adam state and the last
    # recorded update): the engine's default 128 MiB took the app past 300 MB of RSS.
    from tui.session import UNDO_BYTES

    s = Session("lenet")
    assert s.stepper.max_history_bytes == UNDO_BYTES <= 24 * 2**20
    for _ in range(5):
        s.iteration()
    assert 0 < s.stepper._history_bytes <= UNDO_BYTES
    assert s.stepper.history_size >= 2 * len(s.stepper.ops)  # still two whole iterations back
    s.set_optimizer("sgd")
    assert s.stepper.max_history_bytes == UNDO_BYTES  # every rebuilt stepper keeps the cap


def test_warm_up_freezes_the_long_lived_heap_once():
    # Without it a full garbage collection walked numba's and textual's objects (~100 ms)
    # every dozen steps: the step latency's p95 stall.
    import gc

    from tui import session as session_module

    session_module._frozen = False
    s = Session("article")
    s.warm()
    assert session_module._frozen and gc.get_freeze_count() > 0
    assert session_module.freeze_long_lived() is False  # once per process


def test_weight_gradient_view_waits_for_the_backward_pass(article):
    # Before backward reaches the layer, .grad holds zeros: shown as a map they read as a
    # computed gradient of 0 while the math pane says it is not computed yet.
    article.forward()
    article.sel.view = "weight_grad"
    shown = showing.tensor(article)
    assert shown.array is None and "comes in the backward pass: press f" in shown.message
    article.forward()
    article.backward()
    article.backward()
    article.sel.set_layer(0)
    article.sel.view = "weight_grad"
    shown = showing.tensor(article)
    np.testing.assert_array_equal(shown.array, [[[36, 24, 12]] * 3])  # the article's dL/dW


def test_undo_and_reset_keep_the_learning_rate_the_user_set(article):
    article.iteration()
    first = article.optimizer.lr
    assert article.scale_lr(-1) == "learning rate 0.002"  # 0.005 down the 1-2-5 ladder
    article.undo()  # takes back the update, not the user's lr
    assert article.optimizer.lr == 0.002 and article.stepper.next_op.kind == "update"
    article.update()
    assert article.optimizer.explain(0)["lr"] == 0.002  # the update ran with it
    article.scale_lr(1)
    article.reset()
    assert article.optimizer.lr == 0.005 != first / 2 and article.completed == 0


def test_switching_optimizer_keeps_a_learning_rate_for_this_model(article):
    from engine.optim import DEFAULT_LR

    lrs = DEFAULT_LR["article"]
    text = article.cycle_optimizer()
    assert article.optimizer.lr == lrs["momentum"]
    assert f"SGD+momentum lr {lrs['momentum']:g}, its usual learning rate for The art" in text
    article.cycle_optimizer()
    assert article.optimizer.lr == lrs["adam"]
    article.cycle_optimizer()  # back to SGD: the article's lr, not another model's
    assert article.opt_kind == "sgd" and article.optimizer.lr == lrs["sgd"] == 0.005
    losses = [article.train_iteration()[1] for _ in range(30)]
    assert all(np.isfinite(losses)) and losses[-1] < losses[0] / 4


def test_the_explorers_run_has_the_training_loops_guard(article):
    import copy

    from engine.train import TrainingDiverged

    article.optimizer.lr = 0.05  # the lr the o key used to give the article: loss 1e35
    with pytest.raises(TrainingDiverged, match="exploded") as info:
        for _ in range(30):
            article.train_iteration()
    assert "Try a smaller learning rate (lr=0.05)" in str(info.value)
    k = int(info.value.args[0].split("diverged at step ")[1].split()[0])
    # Exploded at iteration k: the weights are back to those iteration k-1 started from and
    # the stepper stands after its loss, which stays on the curves (a loss those weights gave).
    assert [p[0] for p in article.history] == list(range(1, k))
    assert all(p[1] < 100 * 36 for p in article.history)
    assert article.stepper.next_op.kind == "loss_backward"
    kept = article.history[-1][1]
    assert article.stepper.loss_value == kept
    model = copy.deepcopy(article.model)  # MSE against the article's zero target, by hand
    assert np.mean(model.forward(article.stepper.x).astype(np.float64) ** 2) == pytest.approx(kept)
    article.optimizer.lr = 0.005
    article.train_iteration()  # the run goes on from there, measuring those weights again
    assert [p[0] for p in article.history] == list(range(1, k)) and article.history[-1][1] == kept


def test_gradient_hints_name_the_whole_pass_not_just_f():
    s = Session("lenet")
    s.forward()  # forward 0 done: 7 forward ops and the loss to go before any gradient
    s.sel.view = "weight_grad"
    message = showing.tensor(s).message
    assert "press f through the rest of the forward pass and the loss (8 op(s))" in message
    assert "then b backward (i runs all 18 op(s) of the iteration)" in message
    s.sel.view = "grad_input"
    assert "then b backward" in showing.explanation(s)
