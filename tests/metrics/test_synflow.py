"""synflow: Euler's identity on bias-free nets (score = layers x R), BN removal, log scale, -inf."""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from naswot_ray.metrics import get_metric
from tests.metrics._support import ALL_NONE, ALL_SKIP, FakeSpace, make_batch, nb201_case, score


def test_one_linear_by_hand() -> None:
    net = nn.Sequential(nn.Flatten(), nn.Linear(2, 1, bias=False))
    with torch.no_grad():
        net[1].weight.copy_(torch.tensor([[-2.0, 3.0]]))
    # |W| = (2, 3), input ones: R = 5, dR/dW = (1, 1), score = 2 + 3 = 5.
    value = score("synflow", net, make_batch(torch.randn(7, 2, 1, 1)))
    assert value == pytest.approx(math.log(5.0), rel=1e-12)


def bias_free_net() -> nn.Module:
    torch.manual_seed(3)
    return nn.Sequential(
        nn.Conv2d(3, 4, 3, padding=1, bias=False), nn.BatchNorm2d(4), nn.ReLU(),
        nn.Conv2d(4, 2, 3, stride=2, padding=1, bias=False), nn.BatchNorm2d(2), nn.ReLU(),
        nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(2, 3, bias=False),
    )


def test_bias_free_net_equals_layers_times_output() -> None:
    # Without biases the output is 1-homogeneous in each layer's weights, so sum W dR/dW = R for every
    # layer (Euler): synflow = 3 R, with R the float64 output of the |weights| net without BN.
    net = bias_free_net()
    with torch.no_grad():
        plain = nn.Sequential(net[0], net[2], net[3], net[5], net[6], net[7], net[8]).double()
        for p in plain.parameters():
            p.abs_()
        r = float(plain(torch.ones(1, 3, 6, 6, dtype=torch.float64)).sum())
    value = score("synflow", bias_free_net(), make_batch(torch.randn(2, 3, 6, 6)))
    assert value == pytest.approx(math.log(3 * r), rel=1e-12)


def test_bn_gamma_is_ignored() -> None:
    net = bias_free_net()
    with torch.no_grad():
        net[1].weight.fill_(123.0)
        net[1].running_var.fill_(1e-6)
    assert score("synflow", net, make_batch(torch.randn(2, 3, 6, 6))) == pytest.approx(
        score("synflow", bias_free_net(), make_batch(torch.randn(2, 3, 6, 6))), rel=1e-12)


def test_zero_weights_give_minus_inf_and_shape_without_batch() -> None:
    net = nn.Sequential(nn.Flatten(), nn.Linear(3 * 4 * 4, 2))
    with torch.no_grad():
        net[1].weight.zero_()
    assert score("synflow", net, None, space=FakeSpace(input_size=4)) == -math.inf


def test_attributes() -> None:
    metric = get_metric("synflow")
    assert metric.value_scale == "log" and metric.mutates_model and not metric.needs.data
    assert metric.higher_is_better


def test_degenerate_nb201_cells() -> None:
    build, batch, ctx = nb201_case(ALL_NONE)
    assert score("synflow", build(), batch, ctx=ctx) == -math.inf
    build, batch, ctx = nb201_case(ALL_SKIP)
    value = score("synflow", build(), batch, ctx=ctx)
    assert math.isfinite(value)
    assert score("synflow", build(), batch, ctx=ctx) == value
