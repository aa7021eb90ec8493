"""jacob_cov: eigenvalue formula on hand-built Jacobians, a linear net end to end, degenerate cells."""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from naswot_ray.metrics import get_metric
from naswot_ray.metrics.jacob_cov import K, jacob_cov_from_jacobian
from tests.metrics._support import ALL_NONE, ALL_SKIP, MIXED, make_batch, nb201_case, score


def all_ones_correlation(b: int) -> float:
    """Score when every Jacobian row is the same: Sigma = ones, eigenvalues (b, 0, ..., 0)."""
    return -(math.log(b + K) + 1 / (b + K)) - (b - 1) * (math.log(K) + 1 / K)


def test_uncorrelated_rows_give_identity() -> None:
    rows = torch.tensor([[1.0, -1, 1, -1], [1, 1, -1, -1], [1, -1, -1, 1]])
    expected = -3 * (math.log(1 + K) + 1 / (1 + K))
    assert float(jacob_cov_from_jacobian(rows)) == pytest.approx(expected, rel=1e-9)


def test_identical_rows() -> None:
    rows = torch.tensor([[1.0, 2.0, 4.0]]).repeat(4, 1)
    assert float(jacob_cov_from_jacobian(rows)) == pytest.approx(all_ones_correlation(4), rel=1e-9)


def test_linear_net_has_the_same_input_gradient_for_every_image() -> None:
    torch.manual_seed(0)
    net = nn.Sequential(nn.Flatten(), nn.Linear(12, 3))
    x = torch.randn(5, 3, 2, 2)
    assert score("jacob_cov", net, make_batch(x)) == pytest.approx(all_ones_correlation(5), rel=1e-6)


def test_output_independent_of_input_raises() -> None:
    net = nn.Sequential(nn.Flatten(), nn.Linear(12, 3))
    with torch.no_grad():
        net[1].weight.zero_()
    with pytest.raises(ValueError, match="jacob_cov"):
        score("jacob_cov", net, make_batch(torch.randn(4, 3, 2, 2)))


def test_attributes() -> None:
    metric = get_metric("jacob_cov")
    assert metric.higher_is_better and not metric.needs.labels and metric.needs.grad
    assert get_metric("jacov") is metric


def test_nb201_cells() -> None:
    build, batch, ctx = nb201_case(ALL_NONE)
    with pytest.raises(ValueError, match="constant"):
        score("jacob_cov", build(), batch, ctx=ctx)
    for arch in (ALL_SKIP, MIXED):
        build, batch, ctx = nb201_case(arch)
        value = score("jacob_cov", build(), batch, ctx=ctx)
        # the maximum is -B (1 + ln 1 ...) reached when Sigma = I
        assert math.isfinite(value) and value <= -batch.size * (math.log(1 + K) + 1 / (1 + K)) + 1e-6
        assert score("jacob_cov", build(), batch, ctx=ctx) == pytest.approx(value, rel=1e-9)
