"""SWAP: distinct activation patterns by hand, which rectifiers count, the all-none cell, sharing with swap_reg."""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from naswot_ray.metrics import get_metric
from naswot_ray.metrics.shared import SHARED_KEY, SharedPasses
from naswot_ray.metrics.swap import pattern_codes
from naswot_ray.metrics.swap_reg import size_prior
from tests.metrics._support import ALL_NONE, make_batch, make_ctx


def _ctx(model, **options):
    ctx = make_ctx(lambda: model)
    ctx.options = {"images": 2, "repeats": 3, **options}
    return ctx


def test_patterns_by_hand() -> None:
    # two images, neurons (1,1), (-1,1), (2,-1), (3,5): patterns 11, 01, 10, 11 -> 3 distinct
    a = torch.tensor([[1.0, -1.0, 2.0, 3.0], [1.0, 1.0, -1.0, 5.0]])
    assert torch.unique(pattern_codes(a)).numel() == 3
    # a 1x1 conv with one N(0,1) weight w maps x to w*x: a sign flip keeps the three patterns distinct
    model = nn.Sequential(nn.Conv2d(1, 1, 1, bias=False), nn.ReLU(), nn.Flatten(), nn.ReLU())
    batch = make_batch(a.reshape(2, 1, 1, 4))
    assert get_metric("swap").score(model, batch, seed=0, mode="default", ctx=_ctx(model)) == 3.0


def test_rectifiers_on_flat_inputs_are_ignored() -> None:
    model = nn.Sequential(nn.Flatten(), nn.ReLU())
    with pytest.raises(ValueError, match="swap needs rectifier modules on 4-D feature maps"):
        get_metric("swap").score(model, make_batch(torch.randn(2, 1, 1, 4)), seed=0, mode="default", ctx=_ctx(model))


def test_all_none_network_has_one_pattern() -> None:
    from naswot_ray.spaces import get_space

    space = get_space("nb201")
    model = space.build(ALL_NONE, 10)
    ctx = make_ctx(lambda: model, space=space)
    ctx.options = {"images": 4, "repeats": 2}
    batch = make_batch(torch.randn(4, 3, 8, 8, generator=torch.Generator().manual_seed(0)))
    assert get_metric("swap").score(model, batch, seed=0, mode="default", ctx=ctx) == 1.0


def test_regularised_value_and_shared_count() -> None:
    assert size_prior(1500, 1.5, 1.0) == pytest.approx(1.0)
    assert size_prior(2500, 1.5, 2.0) == pytest.approx(math.exp(-0.5))
    model = nn.Sequential(nn.Conv2d(1, 1, 1, bias=False), nn.ReLU())  # one parameter: P_k = 0.001
    batch = make_batch(torch.tensor([[1.0, -1.0, 2.0, 3.0], [1.0, 1.0, -1.0, 5.0]]).reshape(2, 1, 1, 4))
    shared = SharedPasses({"swap": {}, "swap_reg": {}})
    values = {}
    for name, options in (("swap", {}), ("swap_reg", {"mu": 0.001, "sigma": 1.0})):
        ctx = _ctx(model, **options)
        ctx.extras = {SHARED_KEY: shared}
        values[name] = get_metric(name).score(model, batch, seed=0, mode="default", ctx=ctx)
    assert values["swap_reg"] == pytest.approx(values["swap"]) and values["swap"] == 3.0
    assert list(shared.computed.values()) == [1]  # the patterns were counted once for both
