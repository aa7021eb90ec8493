"""VKDNW: the Cholesky factor, the decile entropy, and the fast per-sample Jacobians against a slow,
obvious reimplementation (one backward per sample and logit) on tiny networks."""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from naswot_ray.metrics import get_metric
from naswot_ray.metrics.vkdnw import (ALPHA, fisher_matrix, functional_jacobians, hooked_jacobians,
                                      multinomial_cholesky, parameter_subset, smoothed_probabilities,
                                      vkdnw_entropy)
from naswot_ray.metrics.proxyutil import kaiming_fan_in
from tests.metrics._support import ALL_NONE, make_batch, make_ctx


def slow_jacobians(model: nn.Module, x: torch.Tensor, tensors: int) -> torch.Tensor:
    """J[b, k, j] = d logit_k(x_b) / d (element 0 of parameter tensor j), one sample and logit at a time."""
    params = [p for _, p in model.named_parameters()][:tensors]
    rows = []
    for b in range(x.shape[0]):
        z = model(x[b:b + 1])[0]
        per_logit = []
        for k in range(z.shape[0]):
            grads = torch.autograd.grad(z[k], params, retain_graph=True, allow_unused=True)
            per_logit.append(torch.stack([g.reshape(-1)[0] if g is not None else torch.zeros(()) for g in grads]))
        rows.append(torch.stack(per_logit))
    return torch.stack(rows)


class Tiny(nn.Module):
    """Conv (stride 2, padding 1, bias) -> BN -> ReLU -> conv -> BN -> ReLU -> pool -> Linear."""

    def __init__(self, num_classes: int, width: int = 3) -> None:
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(2, width, 3, stride=2, padding=1, bias=True), nn.BatchNorm2d(width), nn.ReLU(),
            nn.Conv2d(width, width, 3, padding=1, bias=False), nn.BatchNorm2d(width), nn.ReLU(inplace=True))
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.head = nn.Linear(width, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.pool(self.features(x)).flatten(1))


def test_multinomial_cholesky_by_hand_and_in_general() -> None:
    p = torch.tensor([0.25, 0.75])
    s = math.sqrt(0.25 * 0.75)
    assert torch.allclose(multinomial_cholesky(p), torch.tensor([[s, 0.0], [-s, 0.0]]), atol=1e-7)
    q = torch.softmax(torch.randn(4, 6, generator=torch.Generator().manual_seed(0)), dim=-1)
    factor = multinomial_cholesky(q)
    sigma = torch.diag_embed(q) - q.unsqueeze(-1) * q.unsqueeze(-2)
    assert torch.allclose(factor @ factor.transpose(-1, -2), sigma, atol=1e-6)
    assert torch.equal(factor, factor.tril())
    assert not torch.allclose(factor.transpose(-1, -2) @ factor, sigma, atol=1e-3)  # why the modes differ


def test_smoothing_uses_the_reference_float16_constants() -> None:
    assert ALPHA == pytest.approx(0.0499878, abs=1e-7)
    p = smoothed_probabilities(torch.zeros(1, 10))
    assert float(p.sum()) == pytest.approx(1.0, abs=5e-4)


def test_entropy_of_deciles_by_hand() -> None:
    # 9 equal eigenvalues: every decile 1, q~ = 1/9 each -> ln 9
    assert vkdnw_entropy(torch.eye(9)) == pytest.approx(math.log(9), abs=1e-6)
    # a rank-1 Fisher of size 5: deciles up to 0.9 interpolate between zeros and the one eigenvalue
    f = torch.zeros(5, 5)
    f[0, 0] = 2.0
    q = torch.quantile(torch.tensor([0.0, 0.0, 0.0, 0.0, 2.0]), torch.arange(1, 10) / 10)
    q = q / (q.sum() + 1e-10)
    assert vkdnw_entropy(f) == pytest.approx(float(-(q * torch.log(q + 1e-10)).sum()), abs=1e-6)
    assert vkdnw_entropy(torch.zeros(3, 3)) == 0.0


@pytest.mark.parametrize("num_classes", [4, 7])  # 7 > width 3: the passes run from the features
def test_fast_jacobians_equal_the_slow_reimplementation(num_classes: int) -> None:
    torch.manual_seed(0)
    model = Tiny(num_classes)
    kaiming_fan_in(model, 3)
    model.eval()
    x = torch.randn(5, 2, 6, 6)
    for tensors in (128, 4):  # all tensors (the head included), or the first few
        subset = parameter_subset(model, tensors)
        fast, logits = hooked_jacobians(model, x, subset)
        slow = slow_jacobians(model, x, tensors)
        assert fast.shape == slow.shape == (5, num_classes, len(subset))
        assert torch.allclose(fast, slow, rtol=1e-4, atol=1e-5)
        assert torch.allclose(logits, model(x), atol=1e-6)
    assert all(p.requires_grad for p in model.parameters())  # frozen only during the passes


def test_functional_fallback_for_modules_without_a_hook_rule() -> None:
    torch.manual_seed(1)
    model = nn.Sequential(nn.Conv2d(2, 3, 3), nn.PReLU(3), nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(3, 4))
    model.eval()
    x = torch.randn(3, 2, 5, 5)
    batch = make_batch(x)
    ctx = make_ctx(lambda: model)
    ctx.options = {"batch_size": 3, "tensors": 128}
    subset = parameter_subset(model, 128)
    fast, _ = functional_jacobians(model, x, subset)
    assert torch.allclose(fast, slow_jacobians(model, x, 128), rtol=1e-4, atol=1e-6)
    assert math.isfinite(get_metric("vkdnw").score(model, batch, seed=0, mode="reference", ctx=ctx))


def test_modes_differ_only_in_the_factor() -> None:
    torch.manual_seed(2)
    model = Tiny(5)
    kaiming_fan_in(model, 0)
    model.eval()
    jac, logits = hooked_jacobians(model, torch.randn(6, 2, 6, 6), parameter_subset(model, 128))
    reference = fisher_matrix(jac, logits, true_fisher=False)
    true = fisher_matrix(jac, logits, true_fisher=True)
    p = smoothed_probabilities(logits)
    sigma = torch.diag_embed(p) - p.unsqueeze(-1) * p.unsqueeze(-2)
    expected = torch.einsum("bks,bkl,blt->st", jac, sigma, jac) / jac.shape[0]  # J^T Sigma J
    assert torch.allclose(true, expected, rtol=1e-3, atol=1e-6)
    assert not torch.allclose(reference, expected, rtol=1e-2)


def test_all_none_network_scores_zero_and_counts_21_tensors() -> None:
    from naswot_ray.spaces import get_space

    space = get_space("nb201")
    model = space.build(ALL_NONE, 10)
    ctx = make_ctx(lambda: model, space=space)
    ctx.options = {"batch_size": 4, "tensors": 128}
    assert get_metric("vkdnw").score(model, make_batch(torch.randn(4, 3, 8, 8)), seed=0, mode="reference",
                                     ctx=ctx) == pytest.approx(0.0, abs=1e-9)
    assert get_metric("vkdnw_aleph").score(model, None, seed=0, mode="default", ctx=ctx) == 21.0


def test_eval_mode_bn_without_statistics_is_refused_in_one_line() -> None:
    model = nn.Sequential(nn.Conv2d(2, 2, 1), nn.BatchNorm2d(2, track_running_stats=False), nn.AdaptiveAvgPool2d(1),
                          nn.Flatten(), nn.Linear(2, 3))
    ctx = make_ctx(lambda: model)
    ctx.options = {"batch_size": 2, "tensors": 128}
    with pytest.raises(ValueError, match="vkdnw runs BN in eval mode with fresh running statistics"):
        get_metric("vkdnw").score(model, make_batch(torch.randn(2, 2, 3, 3)), seed=0, mode="reference", ctx=ctx)
