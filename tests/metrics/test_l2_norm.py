"""l2_norm: Frobenius norms of conv/linear weights, by hand."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from naswot_ray.metrics import get_metric
from tests.metrics._support import make_ctx


def test_value_by_hand() -> None:
    model = nn.Sequential(nn.Conv2d(2, 1, 1, bias=True), nn.BatchNorm2d(1), nn.Flatten(), nn.Linear(1, 2))
    with torch.no_grad():
        model[0].weight.fill_(1.0)  # ||.|| = sqrt(2)
        model[0].bias.fill_(100.0)  # biases and BN do not count
        model[3].weight.copy_(torch.tensor([[3.0], [4.0]]))  # ||.|| = 5
    value = get_metric("l2_norm").score(model, None, seed=0, mode="default", ctx=make_ctx(lambda: model))
    assert value == pytest.approx(2 ** 0.5 + 5.0)
    assert get_metric("l2_norm").needs.data is False and not get_metric("l2_norm").mutates_model
