"""grasp: closed-form Hessian-vector product for a linear softmax model, sign, degenerate NB201 cells."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from torch import nn

from naswot_ray.metrics import get_metric
from tests.metrics._support import ALL_NONE, ALL_SKIP, make_batch, nb201_case, score


def closed_form_grasp(w: np.ndarray, x: np.ndarray, y: np.ndarray) -> float:
    """-sum W * (H g) for L = mean CE(W x): H V = mean_n (diag(p_n) - p_n p_n^T) V x_n x_n^T."""
    z = x @ w.T
    p = np.exp(z - z.max(1, keepdims=True))
    p /= p.sum(1, keepdims=True)
    n = len(y)
    g = (p - np.eye(w.shape[0])[y]).T @ x / n
    hg = np.zeros_like(w)
    for i in range(n):
        curvature = np.diag(p[i]) - np.outer(p[i], p[i])
        hg += np.outer(curvature @ g @ x[i], x[i]) / n
    return float(-(w * hg).sum())


def linear(w: np.ndarray) -> nn.Module:
    net = nn.Linear(w.shape[1], w.shape[0], bias=False)
    with torch.no_grad():
        net.weight.copy_(torch.from_numpy(w))
    return net


def test_linear_softmax_closed_form() -> None:
    rng = np.random.default_rng(2)
    w = rng.normal(size=(3, 2))
    x, y = rng.normal(size=(4, 2)), np.array([0, 1, 2, 1])
    expected = closed_form_grasp(w, x, y)
    batch = make_batch(torch.from_numpy(x).float(), torch.from_numpy(y), 3)
    value = score("grasp", linear(w.astype(np.float32)), batch)
    assert value == pytest.approx(expected, rel=1e-4)


def test_single_sample_by_hand() -> None:
    # W = (1, -1)^T, x = 1, y = 0: p = (s, 1-s) with s = sigma(2); g = (s-1, 1-s);
    # H = s(1-s) [[1,-1],[-1,1]], so H g = 2 s (1-s)^2 (-1, 1), and -W.(H g) = 4 s (1-s)^2.
    s = 1.0 / (1.0 + math.exp(-2.0))
    value = score("grasp", linear(np.array([[1.0], [-1.0]], dtype=np.float32)),
                  make_batch(torch.ones(1, 1), torch.tensor([0]), 2))
    assert value == pytest.approx(4.0 * s * (1.0 - s) ** 2, rel=1e-5)


def test_signed_not_absolute_and_attributes() -> None:
    metric = get_metric("grasp")
    assert metric.higher_is_better and metric.needs.labels and not metric.mutates_model
    rng = np.random.default_rng(0)  # a case whose closed form is negative (-0.283)
    w = rng.normal(size=(3, 2))
    x, y = rng.normal(size=(4, 2)), np.array([0, 1, 2, 1])
    expected = closed_form_grasp(w, x, y)
    assert expected < 0
    batch = make_batch(torch.from_numpy(x).float(), torch.from_numpy(y), 3)
    assert score("grasp", linear(w.astype(np.float32)), batch) == pytest.approx(expected, rel=1e-4)


def test_degenerate_nb201_cells() -> None:
    build, batch, ctx = nb201_case(ALL_NONE)
    assert score("grasp", build(), batch, ctx=ctx) == 0.0
    build, batch, ctx = nb201_case(ALL_SKIP)
    first = score("grasp", build(), batch, ctx=ctx)
    assert math.isfinite(first)
    assert score("grasp", build(), batch, ctx=ctx) == pytest.approx(first, rel=1e-6)
