"""Presets: the article's example sums to 6, shapes and sizes, spec round trips."""

import json

import numpy as np
import pytest

from engine.conv import Conv2d
from engine.losses import CrossEntropyLoss, MSELoss
from engine.model import Sequential, from_spec
from engine.presets import (
    PRESETS,
    Preset,
    article,
    article_input,
    article_target,
    build_preset,
)
from engine.residual import Residual


def test_article_example_gives_six_everywhere():
    p = article()
    x = article_input()
    assert x.shape == (1, 1, 5, 5) and np.array_equal(x[0, 0, 2], [4, 3, 2, 1, 0])
    conv = p.model.layers[0]
    assert np.array_equal(conv.weight.value[0, 0], [[1, 0, -1]] * 3)
    assert np.array_equal(conv.bias.value, [0])
    y = p.model.forward(x)
    # (I*K)(0,0) = 4*1 + 3*0 + 2*(-1), three rows: (4 - 2) * 3 = 6 (the article prints 10).
    assert np.array_equal(y, np.full((1, 1, 3, 3), 6.0, dtype=np.float32))
    assert isinstance(p.loss, MSELoss)
    assert p.loss.forward(y, article_target()) == 36.0
    assert "6" in p.description


def test_lenet_shapes_and_size():
    g = np.random.default_rng(0)
    p = build_preset("lenet", rng=g)
    assert p.input_shape == (1, 28, 28) and isinstance(p.loss, CrossEntropyLoss)
    assert p.model.shapes(p.input_shape)[-3:] == [(16, 7, 7), (784,), (10,)]
    assert p.model.num_parameters() == 80 + 1168 + 7850


def test_resnet_has_an_identity_and_a_projection_block():
    g = np.random.default_rng(0)
    p = build_preset("resnet", rng=g)
    blocks = [layer for layer in p.model.layers if isinstance(layer, Residual)]
    assert [b.projection is None for b in blocks] == [True, False]
    assert blocks[1].projection.stride == (2, 2)
    shapes = p.model.shapes(p.input_shape)
    assert shapes[2] == (8, 28, 28) and shapes[5] == (16, 7, 7) and shapes[-1] == (10,)
    # conv 80 + block1 2*(8*8*9 + 8) + block2 (16*8*9+16) + (16*16*9+16) + proj (16*8+16)
    # + linear 7850
    assert p.model.num_parameters() == 80 + 1168 + 1168 + 2320 + 144 + 7850


@pytest.mark.parametrize("name", sorted(PRESETS))
def test_every_preset_round_trips_through_its_spec(name):
    g = np.random.default_rng(1)
    p = PRESETS[name](rng=g)
    assert isinstance(p, Preset) and p.name == name and p.title and p.description
    assert isinstance(p.model, Sequential)
    spec = p.model.spec()
    text = json.dumps(spec)  # JSON-able
    again = from_spec(json.loads(text), rng=g)
    assert again.spec() == json.loads(text)
    assert again.shapes(p.input_shape) == p.model.shapes(p.input_shape)
    assert [q.shape for q in again.parameters()] == [q.shape for q in p.model.parameters()]
    x = np.random.default_rng(0).standard_normal((2, *p.input_shape)).astype(np.float32)
    out = p.model.forward(x)
    assert out.shape == (2, *p.model.output_shape(p.input_shape)) and np.all(np.isfinite(out))


@pytest.mark.parametrize("name", sorted(PRESETS))
def test_presets_are_seeded(name):
    g = np.random.default_rng(9)
    a = PRESETS[name](rng=g).model.parameters()
    g = np.random.default_rng(9)
    b = PRESETS[name](rng=g).model.parameters()
    assert all(np.array_equal(p.value, q.value) for p, q in zip(a, b, strict=True))


def test_unknown_preset_lists_the_known_ones():
    with pytest.raises(ValueError, match=r"unknown preset 'vgg' \(known: article, lenet, resnet\)"):
        build_preset("vgg")


def test_article_kernel_does_not_leak_between_builds():
    a = article()
    a.model.layers[0].weight.value[...] = 0
    assert isinstance(article().model.layers[0], Conv2d)
    assert article().model.layers[0].weight.value[0, 0, 0, 0] == 1
