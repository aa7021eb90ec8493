"""grad_norm: hand-worked values, per-layer (not global) norm, labels checks, degenerate NB201 cells."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from torch import nn

from naswot_ray.metrics import get_metric
from tests.metrics._support import ALL_NONE, ALL_SKIP, make_batch, nb201_case, score


def sigmoid(v: float) -> float:
    return 1.0 / (1.0 + math.exp(-v))


def one_linear() -> nn.Module:
    net = nn.Linear(1, 2, bias=False)
    with torch.no_grad():
        net.weight.copy_(torch.tensor([[1.0], [-1.0]]))
    return net


def test_single_linear_by_hand() -> None:
    # z = (1, -1), label 0: dL/dz = (sigma(2) - 1, 1 - sigma(2)), dL/dW = dL/dz * x with x = 1.
    value = score("grad_norm", one_linear(), make_batch(torch.ones(1, 1), torch.tensor([0]), 2))
    assert value == pytest.approx(math.sqrt(2.0) * (1.0 - sigmoid(2.0)), rel=1e-6)


def two_linear(w1: np.ndarray, w2: np.ndarray) -> nn.Module:
    net = nn.Sequential(nn.Linear(2, 2, bias=False), nn.Linear(2, 3, bias=False))
    with torch.no_grad():
        net[0].weight.copy_(torch.from_numpy(w1))
        net[1].weight.copy_(torch.from_numpy(w2))
    return net


def manual_grads(w1: np.ndarray, w2: np.ndarray, x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Backprop of the mean cross-entropy through z = W2 W1 x, written out by hand."""
    h = x @ w1.T
    z = h @ w2.T
    p = np.exp(z - z.max(1, keepdims=True))
    p /= p.sum(1, keepdims=True)
    dz = (p - np.eye(3)[y]) / len(y)
    return (dz @ w2).T @ x, dz.T @ h


def test_two_layers_sum_of_layer_norms_not_global_norm() -> None:
    rng = np.random.default_rng(0)
    w1, w2 = rng.normal(size=(2, 2)).astype(np.float32), rng.normal(size=(3, 2)).astype(np.float32)
    x, y = rng.normal(size=(4, 2)).astype(np.float32), np.array([0, 2, 1, 2])
    g1, g2 = manual_grads(w1.astype(np.float64), w2.astype(np.float64), x.astype(np.float64), y)
    value = score("grad_norm", two_linear(w1, w2), make_batch(torch.from_numpy(x), torch.from_numpy(y), 3))
    expected = np.linalg.norm(g1) + np.linalg.norm(g2)
    assert value == pytest.approx(expected, rel=1e-5)
    assert value > np.sqrt(np.sum(g1 ** 2) + np.sum(g2 ** 2)) * 1.01


def test_labels_are_required_and_must_fit_the_head() -> None:
    with pytest.raises(ValueError, match="needs labels"):
        score("grad_norm", one_linear(), make_batch(torch.ones(1, 1), None))
    with pytest.raises(ValueError, match="2 outputs"):
        score("grad_norm", one_linear(), make_batch(torch.ones(1, 1), torch.tensor([5])))


def test_attributes() -> None:
    metric = get_metric("grad_norm")
    assert metric.higher_is_better and metric.needs.labels and metric.needs.grad and not metric.mutates_model


def test_degenerate_nb201_cells() -> None:
    build, batch, ctx = nb201_case(ALL_NONE)
    assert score("grad_norm", build(), batch, ctx=ctx) == 0.0
    build, batch, ctx = nb201_case(ALL_SKIP)
    first = score("grad_norm", build(), batch, ctx=ctx)
    assert math.isfinite(first) and first > 0
    assert score("grad_norm", build(), batch, ctx=ctx) == first
