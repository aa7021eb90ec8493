"""ntk_cond modes: ``tenas`` scores the space's C=3, N=1 proxy, ``full`` the given network, ``auto`` picks."""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from naswot_ray.metrics import get_metric
from naswot_ray.metrics.ntk_cond import NAN_KAPPA, PROXY_C, PROXY_N
from naswot_ray.spaces import get_space
from tests.metrics._support import ALL_NONE, ALL_SKIP, FakeSpace, make_batch, make_ctx, score


class ProxySpace(FakeSpace):
    """A space whose proxy is a linear model with Theta = 4 diag(1, 4, 9) on X = diag(1, 2, 3): kappa 9."""

    def __init__(self) -> None:
        super().__init__("proxied")
        self.calls: list[tuple] = []

    def build_proxy(self, arch: str, num_classes: int, C: int, N: int) -> nn.Module:
        self.calls.append((arch, num_classes, C, N))
        return nn.Sequential(nn.Flatten(), nn.Linear(3, num_classes))


def _x() -> torch.Tensor:
    return torch.diag(torch.tensor([1.0, 2.0, 3.0]))[:, :, None, None]


def _given_network() -> nn.Module:
    """Two linear layers: the first layer's weights enter the kernel, so kappa depends on the (seeded)
    re-init and is not the proxy's 9."""
    return nn.Sequential(nn.Flatten(), nn.Linear(3, 3, bias=False), nn.Linear(3, 4))


def test_modes_pick_the_network() -> None:
    metric = get_metric("ntk_cond")
    assert metric.modes == ("auto", "tenas", "full") and metric.resolve_mode(None) == "auto"
    space = ProxySpace()
    batch = make_batch(_x())
    for mode in ("tenas", "auto"):
        assert score("ntk_cond", nn.Identity(), batch, mode=mode, space=space, arch="cell") == pytest.approx(9.0, rel=1e-9)
    assert space.calls == [("cell", 10, PROXY_C, PROXY_N)] * 2 and (PROXY_C, PROXY_N) == (3, 1)
    # full: the given network
    full = score("ntk_cond", _given_network(), batch, mode="full", space=space)
    assert math.isfinite(full) and abs(full - 9.0) > 1e-3
    assert score("ntk_cond", _given_network(), batch, mode="auto", space=FakeSpace()) == pytest.approx(full, rel=1e-12)


def test_tenas_mode_needs_a_proxy_builder() -> None:
    with pytest.raises(ValueError, match="space 'test' has no proxy network \\(build_proxy\\); use mode 'full'"):
        score("ntk_cond", nn.Identity(), make_batch(_x()), mode="tenas", space=FakeSpace())


def test_nb201_proxy_is_the_cell_at_c3_n1_with_stem() -> None:
    space = get_space("nb201")
    arch = "|nor_conv_3x3~0|+|nor_conv_1x1~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_3x3~1|none~2|"
    net = space.build_proxy(arch, 10)
    assert net.stem[0].in_channels == 3 and net.stem[0].out_channels == 3
    widths = [layer.edges[0].op[1].out_channels for layer in net.cells if hasattr(layer, "edges")]
    assert widths == [3, 6, 12] and len(net.cells) == 5
    assert net.classifier.in_features == 12 and net.classifier.out_features == 10
    assert net(torch.randn(2, 3, 8, 8)).shape == (2, 10)


def test_nb201_degenerate_cells_in_tenas_mode_and_rng_untouched() -> None:
    space = get_space("nb201")
    x = torch.randn(4, 3, 8, 8, generator=torch.Generator().manual_seed(0))
    values = {}
    for arch in (ALL_NONE, ALL_SKIP):
        torch.manual_seed(0)
        model = space.build(arch, 10).train()
        ctx = make_ctx(lambda: model, space=space, arch=arch)
        state = torch.get_rng_state()
        values[arch] = score("ntk_cond", model, make_batch(x), mode="tenas", ctx=ctx)
        assert torch.equal(torch.get_rng_state(), state)  # proxy built under a forked RNG, inits from own generators
    assert values[ALL_NONE] == NAN_KAPPA  # every cell outputs zeros: the logits are the bias, Theta = 0
    assert math.isfinite(values[ALL_SKIP]) and values[ALL_SKIP] >= 1.0
