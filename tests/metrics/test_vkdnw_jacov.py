"""vkdnw_jacov: jacob_cov on VKDNW's protocol (Kaiming fan-in, train mode, 64 real images)."""

from __future__ import annotations

import math

import pytest
import torch

from naswot_ray.metrics import get_metric
from naswot_ray.metrics.jacob_cov import jacob_cov_from_jacobian
from naswot_ray.metrics.proxyutil import kaiming_fan_in
from tests.metrics._support import ALL_NONE, make_batch, make_ctx

CONV = "|nor_conv_3x3~0|+|nor_conv_1x1~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|avg_pool_3x3~2|"


def test_equals_jacob_cov_of_the_kaiming_network_on_the_first_images() -> None:
    from naswot_ray.spaces import get_space

    space = get_space("nb201")
    x = torch.randn(6, 3, 8, 8, generator=torch.Generator().manual_seed(0))
    ctx = make_ctx(lambda: space.build(CONV, 10), space=space)
    ctx.options = {"batch_size": 4}
    value = get_metric("vkdnw_jacov").score(space.build(CONV, 10), make_batch(x), seed=7, mode="default", ctx=ctx)
    model = kaiming_fan_in(space.build(CONV, 10), 7).train()
    probe = x[:4].clone().requires_grad_(True)
    (jac,) = torch.autograd.grad(model(probe).sum(), probe)
    assert value == pytest.approx(float(jacob_cov_from_jacobian(jac.reshape(4, -1))), rel=1e-6)


def test_a_network_that_ignores_its_input_is_minus_infinity() -> None:
    from naswot_ray.spaces import get_space

    space = get_space("nb201")
    ctx = make_ctx(lambda: space.build(ALL_NONE, 10), space=space)
    ctx.options = {"batch_size": 4}
    value = get_metric("vkdnw_jacov").score(space.build(ALL_NONE, 10), make_batch(torch.randn(4, 3, 8, 8)),
                                            seed=0, mode="default", ctx=ctx)
    assert value == -math.inf
