"""epe_nas: the per-class correlation score by hand, both head-size branches, a constant Jacobian."""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from naswot_ray.metrics import get_metric
from naswot_ray.metrics.epe_nas import epe_from_jacobian
from tests.metrics._support import make_batch, make_ctx

K = 1e-5


def test_score_by_hand() -> None:
    # class 0: rows (1,2,3), (1,3,2): corr = [[1, .5], [.5, 1]]; class 1: rows (1,2,3), (2,4,6): corr = 1 everywhere
    jac = torch.tensor([[1.0, 2.0, 3.0], [1.0, 3.0, 2.0], [1.0, 2.0, 3.0], [2.0, 4.0, 6.0]])
    labels = torch.tensor([0, 0, 1, 1])
    s0 = 2 * math.log(1 + K) + 2 * math.log(0.5 + K)
    s1 = 4 * math.log(1 + K)
    assert epe_from_jacobian(jac, labels, 10) == pytest.approx(abs(s0) + abs(s1), rel=1e-9)
    # more than 100 outputs: s_c / n_c, then sum over ordered pairs of |s_c - s_c'| / classes present
    assert epe_from_jacobian(jac, labels, 120) == pytest.approx(2 * abs(s0 / 2 - s1 / 2) / 2, rel=1e-9)


def test_single_image_classes() -> None:
    jac = torch.tensor([[1.0, 2.0, 3.0], [3.0, 1.0, 2.0]])
    labels = torch.tensor([0, 1])
    assert epe_from_jacobian(jac, labels, 10) == pytest.approx(2 * math.log(1 + K))
    assert math.isinf(epe_from_jacobian(jac, labels, 120))  # every class skipped: nothing to compare


def test_a_network_that_ignores_its_input_is_minus_infinity() -> None:
    class Constant(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.bias = nn.Parameter(torch.zeros(3))

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return self.bias.expand(x.shape[0], 3) + 0 * x.sum()

    model = Constant()
    ctx = make_ctx(lambda: model)
    ctx.options = {"batch_size": 4}
    batch = make_batch(torch.randn(4, 1, 2, 2), torch.tensor([0, 0, 1, 1]))
    assert get_metric("epe_nas").score(model, batch, seed=0, mode="default", ctx=ctx) == -math.inf
