"""AZ-NAS components: hand-worked entropies and segment scores, the degenerate NB201 cells, the group."""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from naswot_ray.metrics import get_metric, parse_metric_list
from naswot_ray.metrics.az_nas import az_components, segment_trainability, spectral_entropy
from naswot_ray.spaces.parts import PartsUnavailable
from tests.metrics._support import ALL_NONE, ALL_SKIP, make_batch, make_ctx

IDENTITY_CELL = "|none~0|+|none~0|none~1|+|skip_connect~0|none~1|none~2|"


class Scale(nn.Module):
    """Multiplies by a constant: a tap whose segment Jacobian is known exactly."""

    def __init__(self, factor: float) -> None:
        super().__init__()
        self.factor = factor

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * self.factor


def test_spectral_entropy_of_isotropic_and_of_zero_features() -> None:
    # 4 positions x 2 channels: (1,1), (1,-1), (-1,1), (-1,-1): centred, covariance = I, p = (1/2, 1/2)
    f = torch.tensor([[1.0, 1.0, -1.0, -1.0], [1.0, -1.0, 1.0, -1.0]]).reshape(1, 2, 2, 2)
    expected = -2 * 0.5 * math.log(0.5 + 1e-8)
    assert float(spectral_entropy(f)) == pytest.approx(expected, abs=1e-6)
    assert float(spectral_entropy(f, clean=True)) == pytest.approx(expected, abs=1e-12)
    # one dominant direction: covariance diag(4, 0) -> p = (1, 0) -> E = -ln(1 + 1e-8) ~ 0
    g = torch.stack([2 * f[:, 0], torch.zeros_like(f[:, 0])], dim=1)
    assert float(spectral_entropy(g, clean=True)) == pytest.approx(0.0, abs=1e-7)
    assert math.isnan(float(spectral_entropy(torch.zeros(2, 3, 4, 4))))  # 0/0: the all-none case


def test_segment_score_by_hand() -> None:
    g_out = torch.tensor([1.0, -1.0, -1.0, 1.0]).reshape(1, 1, 2, 2)
    assert segment_trainability(g_out.clone(), g_out) == -math.inf  # identity segment
    # g_in = 2 g_out on one channel: M = 2 * sum(g^2) / 4 = 2 -> -2 - 1/2 + 2
    assert segment_trainability(2 * g_out, g_out) == pytest.approx(-0.5, abs=1e-6)
    # zero Jacobian: sigma = 0 -> -1/1e-6 + 2
    assert segment_trainability(torch.zeros_like(g_out), g_out) == pytest.approx(-1e6 + 2, rel=1e-9)
    # stride 2: g_in 1x1x4x4 pixel-unshuffles to 1x4x2x2; only the first unshuffled channel equals g_out
    g_in = torch.zeros(1, 1, 4, 4)
    g_in[0, 0, 0::2, 0::2] = 3 * g_out[0, 0]
    assert segment_trainability(g_in, g_out) == pytest.approx(-3 - 1 / 3 + 2, abs=1e-6)
    with pytest.raises(ValueError, match="not an integer stride apart"):
        segment_trainability(torch.zeros(1, 1, 3, 3), torch.zeros(1, 1, 2, 2))


def test_components_of_a_scaling_chain_by_hand() -> None:
    # taps f0 = 2x, f1 = 6x with one channel: E_t = -ln(1 + 1e-8), P = 0, segment g_in = 3 g_out -> sigma = 3
    taps = [Scale(2.0), Scale(3.0)]
    model = nn.Sequential(*taps)
    x = torch.randn(4, 1, 3, 3, requires_grad=False)
    values = az_components(model, x.requires_grad_(True), taps, seed=0)
    assert values["az_expressivity"] == pytest.approx(2 * -math.log(1 + 1e-8), abs=1e-6)
    assert values["az_progressivity"] == pytest.approx(0.0, abs=1e-6)
    assert values["az_trainability"] == pytest.approx(-3 - 1 / 3 + 2, abs=1e-5)


def _nb201(arch: str, seed: int = 0) -> tuple[dict, nn.Module]:
    from naswot_ray.spaces import get_space

    space = get_space("nb201")
    model = space.build(arch, 10)
    ctx = make_ctx(lambda: space.build(arch, 10), space=space, arch=arch)
    batch = make_batch(torch.randn(8, 3, 16, 16, generator=torch.Generator().manual_seed(seed)))
    return get_metric("az_trainability").score_group(model, batch, seed=seed, mode="reference", ctx=ctx), model


def test_all_none_network_ranks_last_on_expressivity_progressivity_and_trainability() -> None:
    values, _ = _nb201(ALL_NONE)
    assert values["az_expressivity"] == -math.inf and values["az_progressivity"] == -math.inf
    # 15 cells give sigma = 0 (about -1e6 each); the 2 reduction blocks stay finite through their shortcut
    assert -1e6 < values["az_trainability"] < -0.8e6
    assert values["az_complexity"] > 0


def test_identity_cell_has_minus_infinite_trainability_only() -> None:
    values, _ = _nb201(IDENTITY_CELL)
    assert values["az_trainability"] == -math.inf
    assert math.isfinite(values["az_expressivity"]) and math.isfinite(values["az_progressivity"])


def test_all_skip_cell_is_finite_in_clean_mode() -> None:
    from naswot_ray.spaces import get_space

    space = get_space("nb201")
    ctx = make_ctx(lambda: space.build(ALL_SKIP, 10), space=space)
    batch = make_batch(torch.randn(8, 3, 16, 16, generator=torch.Generator().manual_seed(1)))
    clean = get_metric("az_expressivity").score_group(space.build(ALL_SKIP, 10), batch, seed=1, mode="clean", ctx=ctx)
    # skip-only stages grow the features 4x per cell; float64 keeps every entropy finite
    assert all(math.isfinite(v) for v in clean.values())


def test_group_name_requests_all_four_and_their_declarations() -> None:
    members = parse_metric_list("az_nas")
    assert members == ["az_expressivity", "az_progressivity", "az_trainability", "az_complexity"]
    for name in members:
        metric = get_metric(name)
        assert metric.group == "az_nas" and metric.mutates_model
        assert metric.batch_needs("reference", metric.resolve_options()).source == "gaussian"
        assert metric.batch_needs("reference", metric.resolve_options()).size == 64
    assert get_metric("az_trainability").legal_nonfinite == frozenset({"-inf"})


def test_a_model_from_outside_says_in_one_line_that_taps_are_missing() -> None:
    model = nn.Sequential(nn.Conv2d(3, 4, 3), nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(4, 2))
    ctx = make_ctx(lambda: model)  # a space without network_parts: the generic fallback
    with pytest.raises(PartsUnavailable, match="az_nas needs the network's feature taps") as info:
        get_metric("az_expressivity").score(model, make_batch(torch.randn(4, 3, 8, 8)), seed=0, mode="reference", ctx=ctx)
    assert "\n" not in str(info.value)
