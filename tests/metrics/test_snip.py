"""snip: hand-worked values (|W * dL/dW| summed), no gradient left on the model, degenerate NB201 cells."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from naswot_ray.metrics import get_metric
from tests.metrics._support import ALL_NONE, ALL_SKIP, make_batch, nb201_case, score
from tests.metrics.test_grad_norm import manual_grads, one_linear, sigmoid, two_linear


def test_single_linear_by_hand() -> None:
    # W = (1, -1), dL/dW = (sigma(2) - 1, 1 - sigma(2)): |1*(s-1)| + |-1*(1-s)| = 2(1 - sigma(2)).
    model = one_linear()
    value = score("snip", model, make_batch(torch.ones(1, 1), torch.tensor([0]), 2))
    assert value == pytest.approx(2.0 * (1.0 - sigmoid(2.0)), rel=1e-6)
    assert model.weight.grad is None  # shared networks are left clean for the next metric


def test_two_layers_match_manual_backprop() -> None:
    rng = np.random.default_rng(1)
    w1, w2 = rng.normal(size=(2, 2)).astype(np.float32), rng.normal(size=(3, 2)).astype(np.float32)
    x, y = rng.normal(size=(5, 2)).astype(np.float32), np.array([0, 2, 1, 2, 0])
    g1, g2 = manual_grads(w1.astype(np.float64), w2.astype(np.float64), x.astype(np.float64), y)
    expected = np.abs(w1 * g1).sum() + np.abs(w2 * g2).sum()
    value = score("snip", two_linear(w1, w2), make_batch(torch.from_numpy(x), torch.from_numpy(y), 3))
    assert value == pytest.approx(expected, rel=1e-5)


def test_attributes() -> None:
    metric = get_metric("snip")
    assert metric.higher_is_better and metric.needs.labels and not metric.mutates_model


def test_degenerate_nb201_cells() -> None:
    build, batch, ctx = nb201_case(ALL_NONE)
    assert score("snip", build(), batch, ctx=ctx) == 0.0
    build, batch, ctx = nb201_case(ALL_SKIP)
    value = score("snip", build(), batch, ctx=ctx)
    assert math.isfinite(value) and value > 0
