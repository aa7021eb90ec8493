"""epsilon: the formula on hand-made outputs, constant init, per-space constants, an explicit BN net,
raising on constant outputs, degenerate NB201 cells."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from torch import nn

from naswot_ray.metrics import get_metric
from naswot_ray.metrics.epsilon import constant_init
from tests.metrics._support import ALL_NONE, ALL_SKIP, MIXED, FakeSpace, make_batch, nb201_case, score


class Scripted(nn.Module):
    """Returns ``small`` when its weight holds the first (tiny) constant and ``large`` otherwise."""

    def __init__(self, small: list[float], large: list[float]) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.zeros(1))
        self.small, self.large = torch.tensor(small)[:, None], torch.tensor(large)[:, None]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.small if float(self.weight) < 1e-3 else self.large


def test_formula_by_hand() -> None:
    # p1 = (nan, .25, .5, 1), p2 = (.25, nan, 1, .5): mean|p1-p2| over both-defined = .5;
    # mean of all defined values = 3.5/6; eps = .5 / (3.5/6) = 6/7.
    model = Scripted([0, 1, 2, 4], [1, 0, 4, 2])
    value = score("epsilon", model, make_batch(torch.zeros(4, 1)), space=FakeSpace("nb201"))
    assert value == pytest.approx(6 / 7, rel=1e-12)


def test_constant_output_raises() -> None:
    with pytest.raises(ValueError, match="constant network output"):
        score("epsilon", Scripted([3, 3, 3], [0, 1, 2]), make_batch(torch.zeros(3, 1)))


def test_constant_init_sets_every_weight_and_zeroes_every_bias() -> None:
    net = nn.Sequential(nn.Conv2d(1, 2, 3), nn.BatchNorm2d(2), nn.BatchNorm2d(2, affine=False), nn.Flatten(),
                        nn.Linear(2, 3))
    constant_init(net, 0.5)
    assert torch.all(net[0].weight == 0.5) and torch.all(net[1].weight == 0.5) and torch.all(net[4].weight == 0.5)
    assert all(torch.all(m.bias == 0) for m in (net[0], net[1], net[4]))


def test_constants_per_space() -> None:
    metric = get_metric("epsilon")
    assert metric.weights_for(FakeSpace("nb201")) == (1e-7, 1.0)
    assert metric.weights_for(FakeSpace("nb101")) == (1e-4, 10.0)
    assert metric.weights_for(FakeSpace("nds_darts")) == (1e-7, 1.0)


class Residual(nn.Module):
    """y = head(ReLU(x + BN(lin(x)))): the BN branch and the identity branch scale differently with w."""

    def __init__(self, classes: int) -> None:
        super().__init__()
        self.lin, self.bn, self.head = nn.Linear(1, 1), nn.BatchNorm1d(1), nn.Linear(1, classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(torch.relu(x + self.bn(self.lin(x))))


def explicit_epsilon(x: np.ndarray, w1: float, w2: float) -> float:
    """The Residual net with all weights w and biases 0, BN in train mode (eps 1e-5), in numpy."""
    outs = []
    for w in (w1, w2):
        h = w * x
        y = w * np.maximum(x + (h - h.mean()) / np.sqrt(h.var() + 1e-5) * w, 0)
        p = (y - y.min()) / (y.max() - y.min())
        outs.append(np.where(p == 0, np.nan, p))
    return float(np.nanmean(np.abs(outs[0] - outs[1])) / np.nanmean(np.concatenate(outs)))


def test_residual_bn_net_matches_explicit_formula_and_ignores_class_count() -> None:
    x = np.array([-1.0, 0.2, 0.5, 1.5, 3.0, -0.3])
    expected = explicit_epsilon(x, 1e-4, 10.0)
    assert expected > 0.01
    for classes in (1, 4):
        value = score("epsilon", Residual(classes).train(), make_batch(torch.tensor(x, dtype=torch.float32)[:, None]),
                      space=FakeSpace("nb101"))
        assert value == pytest.approx(expected, rel=1e-4)


def test_attributes() -> None:
    metric = get_metric("epsilon")
    assert metric.higher_is_better and metric.mutates_model and not metric.needs.labels


def test_nb201_cells() -> None:
    build, batch, ctx = nb201_case(ALL_NONE)
    with pytest.raises(ValueError, match="constant network output"):
        score("epsilon", build(), batch, ctx=ctx)
    for arch in (ALL_SKIP, MIXED):
        build, batch, ctx = nb201_case(arch, batch_size=8)
        value = score("epsilon", build(), batch, ctx=ctx)
        assert math.isfinite(value) and value > 0
        assert score("epsilon", build(), batch, ctx=ctx) == value


ALL_CONV = "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|nor_conv_3x3~0|nor_conv_3x3~1|nor_conv_3x3~2|"
UNDERFLOWS = "|none~0|+|skip_connect~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_3x3~2|"


def test_float64_scores_cells_whose_float32_logits_underflow() -> None:
    # Every path of this cell crosses conv+BN pairs, each shrinking the signal ~1e-9 under w=1e-7: in the
    # reference's float32 the logits underflow to a constant (NaN there, raised here); in float64 they
    # still depend on the input.
    build, batch, ctx = nb201_case(ALL_CONV, batch_size=8)
    with pytest.raises(ValueError, match="constant network output under constant weight 1e-07"):
        score("epsilon", build(), batch, ctx=ctx)
    value = score("epsilon", build(), batch, ctx=ctx, mode="float64")
    assert math.isfinite(value) and value >= 0
    assert get_metric("epsilon").resolve_mode(None) == "float32"


def test_float32_loses_precision_that_float64_keeps() -> None:
    # A cell whose float32 logits survive at ~5e-33, after intermediate values went through float32's
    # subnormal range: the float32 score is off by more than 1% (it is ~0.748 against 0.7356).
    build, batch, ctx = nb201_case(UNDERFLOWS, batch_size=8)
    f32 = score("epsilon", build(), batch, ctx=ctx, mode="float32")
    f64 = score("epsilon", build(), batch, ctx=ctx, mode="float64")
    assert f64 == pytest.approx(0.7356213, rel=1e-5)
    assert abs(f32 - f64) / f64 > 0.01
    # where nothing underflows the two precisions agree to float32 rounding
    build, batch, ctx = nb201_case(ALL_SKIP, batch_size=8)
    assert score("epsilon", build(), batch, ctx=ctx) == pytest.approx(
        score("epsilon", build(), batch, ctx=ctx, mode="float64"), rel=3e-3)
