"""ntk_cond: a linear model whose NTK is K X X^T (any init), jacrev == loop, NaN -> 1e5, clamping,
determinism per seed, degenerate NB201 cells."""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from naswot_ray.metrics import get_metric
from naswot_ray.metrics.ntk_cond import NAN_KAPPA, condition_number, ntk_gram_jacrev, ntk_gram_loop
from tests.metrics._support import ALL_NONE, ALL_SKIP, MIXED, make_batch, nb201_case, score


def test_linear_model_kernel_is_k_x_xt_whatever_the_init() -> None:
    # s_n = 1^T W x_n, so ds_n/dW = 1 x_n^T and Theta = K X X^T; the bias is not a "weight".
    # X = diag(1, 2, 3): Theta = 4 diag(1, 4, 9), kappa = 9 for every re-init.
    net = nn.Sequential(nn.Flatten(), nn.Linear(3, 4))
    x = torch.diag(torch.tensor([1.0, 2.0, 3.0]))[:, :, None, None]
    assert score("ntk_cond", net, make_batch(x), seed=0) == pytest.approx(9.0, rel=1e-9)
    assert score("ntk_cond", net, make_batch(x), seed=5) == pytest.approx(9.0, rel=1e-9)
    assert torch.allclose(ntk_gram_loop(net, x), torch.diag(torch.tensor([4.0, 16.0, 36.0], dtype=torch.float64)))


def small_bn_net() -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(nn.Conv2d(3, 4, 3, padding=1), nn.BatchNorm2d(4), nn.ReLU(), nn.AvgPool2d(3, 1, 1),
                         nn.Conv2d(4, 4, 3, stride=2), nn.BatchNorm2d(4), nn.ReLU(),
                         nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(4, 3)).train()


def test_jacrev_equals_retained_graph_loop_with_train_mode_bn() -> None:
    net = small_bn_net()
    x = torch.randn(5, 3, 6, 6, generator=torch.Generator().manual_seed(1))
    loop = ntk_gram_loop(net, x)
    for chunk in (None, 2, -1):
        assert torch.allclose(ntk_gram_jacrev(net, x, chunk_size=chunk), loop, rtol=1e-5, atol=1e-9)
    assert int(net[1].num_batches_tracked) == 0  # running statistics untouched


def test_theta_is_not_a_per_sample_kernel() -> None:
    # With batch-statistics BN, sample m's output depends on sample n, so the kernel of a batch is not
    # the block of kernels of single samples: the diagonal of Theta differs from per-sample Thetas.
    net = small_bn_net()
    x = torch.randn(4, 3, 6, 6, generator=torch.Generator().manual_seed(2))
    batch_theta = ntk_gram_loop(net, x)
    pair_theta = ntk_gram_loop(net, x[:2])
    assert not torch.allclose(batch_theta[:2, :2], pair_theta, rtol=1e-3)


def test_zero_kernel_maps_to_1e5_and_singular_is_clamped() -> None:
    assert float(condition_number(torch.zeros(3, 3, dtype=torch.float64))) == NAN_KAPPA
    singular = torch.tensor([[1.0, 2.0], [2.0, 4.0]], dtype=torch.float64)
    kappa = float(condition_number(singular))
    assert 1e12 < kappa <= 1.0 / (2 * torch.finfo(torch.float64).eps) * (1 + 1e-9)
    assert float(condition_number(torch.diag(torch.tensor([2.0, 8.0], dtype=torch.float64)))) == 4.0


def test_determinism_per_seed() -> None:
    x = torch.randn(4, 3, 6, 6, generator=torch.Generator().manual_seed(3))
    first = score("ntk_cond", small_bn_net(), make_batch(x), seed=11)
    assert score("ntk_cond", small_bn_net(), make_batch(x), seed=11) == first
    assert score("ntk_cond", small_bn_net(), make_batch(x), seed=12) != first


def test_attributes() -> None:
    metric = get_metric("ntk_cond")
    assert not metric.higher_is_better and metric.mutates_model and not metric.needs.labels
    assert metric.repeats == 3


def test_nb201_cells() -> None:
    build, batch, ctx = nb201_case(ALL_NONE)
    assert score("ntk_cond", build(), batch, ctx=ctx) == NAN_KAPPA
    for arch in (ALL_SKIP, MIXED):
        build, batch, ctx = nb201_case(arch)
        value = score("ntk_cond", build(), batch, ctx=ctx)
        assert math.isfinite(value) and value >= 1.0
