"""Zen: Delta and the BN term by hand, the all-none cell, BN without running statistics."""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from naswot_ray.metrics import get_metric
from naswot_ray.metrics.zen import bn_log_scale, zen_score
from naswot_ray.spaces.parts import generic_parts
from tests.metrics._support import ALL_NONE, make_batch, make_ctx


def test_delta_by_hand() -> None:
    # F = 2x (a 1x1 conv of weight 2 before the pooling): Delta = mean_n sum |2 * 0.01 * eps| = 0.02 * 4 for eps = 1
    model = nn.Sequential(nn.Conv2d(1, 1, 1, bias=False), nn.AdaptiveAvgPool2d(1), nn.Flatten())
    with torch.no_grad():
        model[0].weight.fill_(2.0)
    x = torch.randn(3, 1, 2, 2)
    value = zen_score(model, generic_parts(model), x, torch.ones_like(x), 0.01)
    assert value == pytest.approx(math.log(0.08), rel=1e-6)


def test_bn_term_by_hand() -> None:
    model = nn.Sequential(nn.BatchNorm2d(2), nn.BatchNorm2d(1))
    model[0].running_var.copy_(torch.tensor([3.0, 5.0]))  # mean 4 -> ln 2
    model[1].running_var.fill_(9.0)  # ln 3
    assert bn_log_scale(model) == pytest.approx(math.log(2) + math.log(3))


def test_all_none_network_is_minus_infinity() -> None:
    from naswot_ray.spaces import get_space

    space = get_space("nb201")
    model = space.build(ALL_NONE, 10)
    ctx = make_ctx(lambda: model, space=space)
    ctx.options = {"batch_size": 4, "repeats": 1, "mixup_gamma": 0.01}
    assert get_metric("zen").score(model, make_batch(torch.randn(4, 3, 8, 8)), seed=0, mode="default", ctx=ctx) == -math.inf


def test_bn_without_running_statistics_is_refused_in_one_line() -> None:
    from naswot_ray.spaces import get_space

    space = get_space("nb201").with_options(model="samsung")
    arch = "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|nor_conv_3x3~0|nor_conv_3x3~1|nor_conv_3x3~2|"
    model = space.build(arch, 10)
    ctx = make_ctx(lambda: model, space=space)
    ctx.options = {"batch_size": 4, "repeats": 1, "mixup_gamma": 0.01}
    with pytest.raises(ValueError, match="zen reads BN running variances, and this network's BatchNorm keeps none"):
        get_metric("zen").score(model, make_batch(torch.randn(4, 3, 8, 8)), seed=0, mode="default", ctx=ctx)
