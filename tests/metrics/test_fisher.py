"""fisher: an independent per-layer autograd computation, a hand-worked linear case, degenerate cells."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from torch import nn

from naswot_ray.metrics import get_metric
from tests.metrics._support import ALL_NONE, ALL_SKIP, make_batch, nb201_case, score


class SmallConvNet(nn.Module):
    """conv -> BN -> in-place ReLU -> conv(bias) -> BN -> ReLU -> pool -> linear, written so the test can
    also run the layers one by one."""

    def __init__(self) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(3, 4, 3, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(4)
        self.conv2 = nn.Conv2d(4, 5, 3, stride=2, padding=1, bias=True)
        self.bn2 = nn.BatchNorm2d(5)
        self.fc = nn.Linear(5, 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = torch.relu_(self.bn1(self.conv1(x)))
        h = torch.relu(self.bn2(self.conv2(h)))
        return self.fc(h.mean(dim=(2, 3)))


def explicit_fisher(net: SmallConvNet, x: torch.Tensor, y: torch.Tensor) -> float:
    """Run the layers by hand, keep each conv/linear output with retain_grad, backward, apply the formula."""
    a1 = net.conv1(x)
    a1.retain_grad()
    a2 = net.conv2(torch.relu(net.bn1(a1)))
    a2.retain_grad()
    a3 = net.fc(torch.relu(net.bn2(a2)).mean(dim=(2, 3)))
    a3.retain_grad()
    nn.functional.cross_entropy(a3, y).backward()
    total = 0.0
    for act, layer in ((a1, net.conv1), (a2, net.conv2), (a3, net.fc)):
        prod = (act * act.grad).detach()
        g = prod.sum(dim=(2, 3)) if prod.dim() == 4 else prod
        per_channel = 0.5 * (g ** 2).mean(dim=0)
        total += float(per_channel.sum()) * math.prod(layer.weight.shape[1:])
    return total


def test_matches_explicit_per_layer_autograd() -> None:
    torch.manual_seed(0)
    net = SmallConvNet().train()
    gen = torch.Generator().manual_seed(1)
    x = torch.randn(6, 3, 8, 8, generator=gen)
    y = torch.randint(0, 3, (6,), generator=gen)
    expected = explicit_fisher(net, x, y)
    net.zero_grad(set_to_none=True)
    value = score("fisher", net, make_batch(x, y, 3))
    assert expected > 0
    assert value == pytest.approx(expected, rel=1e-5)


def test_single_linear_by_hand() -> None:
    # a = W x, dL/da = (p - e_y)/B; g_nk = a_nk dL/da_nk; F_k = 0.5 mean_n g_nk^2; times fan-in D.
    rng = np.random.default_rng(4)
    w, x, y = rng.normal(size=(3, 2)), rng.normal(size=(5, 2)), np.array([0, 1, 2, 2, 0])
    a = x @ w.T
    p = np.exp(a - a.max(1, keepdims=True))
    p /= p.sum(1, keepdims=True)
    g = a * (p - np.eye(3)[y]) / len(y)
    expected = float((0.5 * (g ** 2).mean(0)).sum() * 2)
    net = nn.Linear(2, 3, bias=False)
    with torch.no_grad():
        net.weight.copy_(torch.from_numpy(w).float())
    value = score("fisher", net, make_batch(torch.from_numpy(x).float(), torch.from_numpy(y), 3))
    assert value == pytest.approx(expected, rel=1e-5)


def test_attributes() -> None:
    metric = get_metric("fisher")
    assert metric.higher_is_better and metric.needs.labels and not metric.mutates_model


def test_hooks_are_removed_and_outputs_unchanged() -> None:
    torch.manual_seed(0)
    net = SmallConvNet().train()
    x, y = torch.randn(4, 3, 8, 8), torch.tensor([0, 1, 2, 0])
    score("fisher", net, make_batch(x, y, 3))
    assert all(not m._forward_hooks for m in net.modules())


def test_degenerate_nb201_cells() -> None:
    # All-none: every conv sees zeros, so only the classifier (whose output is its bias) contributes.
    build, batch, ctx = nb201_case(ALL_NONE)
    model = build()
    bias = model.classifier.bias.detach().double()
    p = torch.softmax(bias, 0)
    g = bias * (p - nn.functional.one_hot(batch.y, bias.numel()).double()) / batch.size
    expected = float((0.5 * (g ** 2).mean(0)).sum() * model.classifier.in_features)
    assert score("fisher", model, batch, ctx=ctx) == pytest.approx(expected, rel=1e-5)
    build, batch, ctx = nb201_case(ALL_SKIP)
    value = score("fisher", build(), batch, ctx=ctx)
    assert math.isfinite(value) and value > 0
