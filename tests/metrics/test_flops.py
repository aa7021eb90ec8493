"""flops: hand-counted conv/linear FLOPs, repeated calls, eval-mode counting, NB201 closed form."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from naswot_ray.metrics import get_metric
from tests.metrics._support import ALL_NONE, MIXED, FakeSpace, make_batch, nb201_builder, score


class TwoCalls(nn.Module):
    """conv(bias) -> grouped conv (stride 2) -> the same linear twice; pooling and BN are free."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 8, 3, padding=1, bias=True)
        self.bn = nn.BatchNorm2d(8)
        self.grouped = nn.Conv2d(8, 4, 1, stride=2, groups=2, bias=False)
        self.fc = nn.Linear(4, 4)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.grouped(self.bn(self.conv(x))).mean(dim=(2, 3))
        return self.fc(self.fc(h))


def test_hand_count() -> None:
    conv = 3 * 3 * 3 * 8 * 8 * 8 + 8 * 8 * 8  # k*k*C_in*C_out*H*W + bias term, 8x8 output
    grouped = 1 * 1 * (8 // 2) * 4 * 4 * 4  # 4x4 output
    linear = 2 * (4 * 4 + 4)  # called twice
    model = TwoCalls().train()
    assert score("flops", model, make_batch(torch.randn(5, 3, 8, 8))) == conv + grouped + linear
    assert model.training and model.bn.training  # mode restored
    assert int(model.bn.num_batches_tracked) == 0  # no running-statistics update


def test_no_batch_uses_space_input_size() -> None:
    model = nn.Sequential(nn.Conv2d(3, 2, 3, bias=False))
    assert score("flops", model, None, space=FakeSpace(input_size=5)) == 3 * 3 * 3 * 2 * 3 * 3


@pytest.mark.parametrize(("arch", "side", "classes"), [(MIXED, 32, 10), (ALL_NONE, 16, 120)])
def test_nb201_equals_closed_form(arch: str, side: int, classes: int) -> None:
    build = nb201_builder()
    from naswot_ray.spaces.nb201.cost import nb201_flops

    value = score("flops", build(arch, classes), make_batch(torch.zeros(2, 3, side, side)))
    assert value == nb201_flops(arch, classes, side)


def test_attributes() -> None:
    metric = get_metric("flops")
    assert not metric.needs.data and not metric.mutates_model and metric.value_scale == "raw"


@pytest.mark.parametrize(("channels", "recorded"), [("8:8:8:8:8", 4_481_114), ("8:8:40:32:40", 21_827_994)])
def test_nats_sss_recorded_benchmark_flops(channels: str, recorded: int) -> None:
    """The benchmark's own recorded CIFAR-10 "flop" (spaces-spec 2.3, x 1e6) for NATS-SSS networks."""
    nats = pytest.importorskip("naswot_ray.spaces.nats.sss", reason="NATS-SSS network module missing")
    model = nats.build_nats_sss_network(channels, 10)
    assert score("flops", model, make_batch(torch.zeros(1, 3, 32, 32))) == recorded
