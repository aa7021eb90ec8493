"""MeCo: the minimum eigenvalue of channel correlations by hand, every module counted, opt mode."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from naswot_ray.metrics import get_metric
from naswot_ray.metrics.meco import meco_sum, min_eigenvalue_of_correlation
from naswot_ray.metrics.netutil import derived_generator
from naswot_ray.metrics.proxyutil import KEY_CHANNELS
from tests.metrics._support import ALL_NONE, make_batch, make_ctx


def test_min_eigenvalue_by_hand() -> None:
    # channels (1,2,3) and (1,3,2): correlation 0.5, eigenvalues 1.5 and 0.5
    assert min_eigenvalue_of_correlation(torch.tensor([[1.0, 2.0, 3.0], [1.0, 3.0, 2.0]])) == pytest.approx(0.5, abs=1e-6)
    # a constant channel: its row and column are NaN, zero-filled, so an exact eigenvalue 0
    assert min_eigenvalue_of_correlation(torch.tensor([[1.0, 2.0, 3.0], [5.0, 5.0, 5.0]])) == pytest.approx(0.0, abs=1e-7)
    # one column (pooled features, logits): P is NaN everywhere -> 0
    assert min_eigenvalue_of_correlation(torch.tensor([[1.0], [2.0]])) == 0.0


def test_every_module_output_counts_including_the_root() -> None:
    # Sequential(Identity): the Identity's output and the root's (the same tensor) count once each: 0.5 + 0.5
    model = nn.Sequential(nn.Identity())
    x = torch.tensor([[1.0, 2.0, 3.0], [1.0, 3.0, 2.0]]).reshape(1, 2, 1, 3)
    batch = make_batch(torch.cat([x, torch.randn(3, 2, 1, 3)]))  # only the first image is read
    value = get_metric("meco").score(model, batch, seed=0, mode="reference", ctx=make_ctx(lambda: model))
    assert value == pytest.approx(1.0, abs=1e-6)


def test_opt_mode_samples_eight_channels_and_rescales() -> None:
    rows = torch.randn(16, 40, generator=torch.Generator().manual_seed(2))
    pick = torch.randperm(16, generator=derived_generator(5, KEY_CHANNELS))[:8]
    expected = min_eigenvalue_of_correlation(rows[pick]) * 16 / 8
    assert meco_sum([rows], opt=True, generator=derived_generator(5, KEY_CHANNELS)) == pytest.approx(expected, rel=1e-6)
    few = rows[:4]  # fewer than 8 channels: all of them, no rescaling (the reference crashes here)
    assert meco_sum([few], opt=True, generator=derived_generator(5, KEY_CHANNELS)) == pytest.approx(
        min_eigenvalue_of_correlation(few), rel=1e-6)


def test_all_none_network_is_near_the_minimum() -> None:
    from naswot_ray.spaces import get_space

    space = get_space("nb201")
    batch = make_batch(torch.randn(2, 3, 32, 32, generator=torch.Generator().manual_seed(0)))
    none = get_metric("meco").score(space.build(ALL_NONE, 10), batch, seed=0, mode="reference", ctx=make_ctx(None))
    conv = space.build("|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|nor_conv_3x3~0|nor_conv_3x3~1|nor_conv_3x3~2|", 10)
    assert 0.0 <= none < get_metric("meco").score(conv, batch, seed=0, mode="reference", ctx=make_ctx(None))


def test_the_general_solver_takes_over_when_the_symmetric_one_fails(monkeypatch) -> None:
    def fail(_matrix):
        raise torch.linalg.LinAlgError("linalg.eigh: The algorithm failed to converge")

    monkeypatch.setattr(torch.linalg, "eigvalsh", fail)
    assert min_eigenvalue_of_correlation(torch.tensor([[1.0, 2.0, 3.0], [1.0, 3.0, 2.0]])) == pytest.approx(0.5, abs=1e-6)
