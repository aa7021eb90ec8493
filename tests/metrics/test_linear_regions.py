"""linear_regions: pattern counting by hand, crop extraction, which ReLUs count, modes, NB201 thin net."""

from __future__ import annotations

import logging

import pytest
import torch
from torch import nn

from naswot_ray.metrics import get_metric
from naswot_ray.metrics.linear_regions import count_distinct_rows, count_regions, random_patches
from tests.metrics._support import ALL_NONE, ALL_SKIP, MIXED, FakeSpace, make_batch, nb201_builder, nb201_space, score


def test_distinct_rows_by_hand_including_packed_bits() -> None:
    rows = torch.tensor([[1, 0], [1, 0], [0, 1], [0, 0]], dtype=torch.bool)
    assert count_distinct_rows(rows) == 3
    wide = torch.zeros(4, 11, dtype=torch.bool)
    wide[1, 9] = True  # differs only beyond the first packed byte
    wide[2, 9] = True
    wide[3, 0] = True
    assert count_distinct_rows(wide) == 3


class SignNet(nn.Module):
    """1x1 conv with weights +1 and -1 then ReLU: a pixel's pattern is (x>0, x<0)."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(1, 2, 1, bias=False)
        self.relu = nn.ReLU()
        self.relu6 = nn.ReLU6()
        self.fc = nn.Linear(2, 2)
        self.fc_relu = nn.ReLU()
        with torch.no_grad():
            self.conv.weight.copy_(torch.tensor([1.0, -1.0])[:, None, None, None])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.relu(self.conv(x))
        torch.relu(self.conv(x) * 5)  # functional: not counted
        self.relu6(self.conv(x) - 100)  # ReLU6: not counted
        return self.fc_relu(self.fc(h.flatten(1)))  # 2-D input: not counted


def test_three_regions_for_signed_pixels() -> None:
    x = torch.tensor([-2.0, -1.0, 0.0, 1.0, 3.0])[:, None, None, None]
    assert count_regions(SignNet(), [x]) == 3
    assert count_regions(SignNet(), [x[:2], x[3:]]) == 2  # counted over all chunks together


def test_patches_are_single_channel_crops_of_batch_images() -> None:
    n, c, h, w = 4, 3, 6, 7
    grid = torch.arange(n * c * h * w, dtype=torch.float32).reshape(n, c, h, w)
    patches = random_patches(grid, 50, torch.Generator().manual_seed(0))
    assert patches.shape == (50, 1, 3, 3)
    first = patches[:, 0, 0, 0].long()
    image, rest = first // (c * h * w), first % (c * h * w)
    channel, row, col = rest // (h * w), (rest % (h * w)) // w, rest % w
    assert bool((row <= h - 3).all() and (col <= w - 3).all())
    rebuilt = torch.stack([grid[i, k, r:r + 3, q:q + 3] for i, k, r, q in zip(image, channel, row, col)])
    assert torch.equal(rebuilt, patches[:, 0])
    assert len(set(channel.tolist())) == c and len(set(image.tolist())) == n


def tiny_thin(_arch: str) -> nn.Module:
    return nn.Sequential(nn.Conv2d(1, 3, 3), nn.BatchNorm2d(3), nn.ReLU(), nn.Flatten(), nn.Linear(3, 1))


def test_thin_mode_counts_patches_and_is_deterministic_per_seed() -> None:
    x = torch.randn(8, 3, 8, 8, generator=torch.Generator().manual_seed(0))
    space = FakeSpace(thin=tiny_thin)
    first = score("linear_regions", nn.Linear(1, 1), make_batch(x), seed=3, space=space)
    # three ReLU units on 3000 patches: at most 2^3 = 8 regions, and with random weights several
    assert 2 <= first <= 8
    assert score("linear_regions", nn.Linear(1, 1), make_batch(x), seed=3, space=space) == first
    assert score("linear_regions", nn.Linear(1, 1), make_batch(x), seed=3, mode="thin", space=space) == first


def test_thin_mode_needs_build_thin_and_full_mode_warns_on_saturation(caplog: pytest.LogCaptureFixture) -> None:
    x = torch.randn(6, 3, 8, 8, generator=torch.Generator().manual_seed(1))
    full = nn.Sequential(nn.Conv2d(3, 16, 3), nn.ReLU(), nn.Flatten(), nn.Linear(16 * 36, 2))
    with pytest.raises(ValueError, match="no thin network"):
        score("linear_regions", full, make_batch(x), mode="thin")
    with caplog.at_level(logging.WARNING, logger="naswot_ray.metrics.linear_regions"):
        value = score("linear_regions", full, make_batch(x))  # auto -> full for a space without build_thin
    assert value == 6.0
    assert "saturated" in caplog.text


def test_attributes() -> None:
    metric = get_metric("linear_regions")
    assert metric.higher_is_better and metric.mutates_model and metric.modes[0] == "auto"


def test_nb201_thin_network() -> None:
    build = nb201_builder()
    space = nb201_space(build)
    x = torch.randn(4, 3, 16, 16, generator=torch.Generator().manual_seed(2))
    assert score("linear_regions", build(ALL_NONE, 10), make_batch(x), space=space, arch=ALL_NONE) == 1.0
    values = [score("linear_regions", build(arch, 10), make_batch(x), space=space, arch=arch)
              for arch in (ALL_SKIP, MIXED)]
    assert all(1.0 < v <= 3000 for v in values)
