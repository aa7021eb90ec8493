"""What every space names in its networks (spec 0.1): feature taps, pre-GAP features, activation sites.

Parametrised over the space registry, two small architectures per space (the ones ``test_every_space``
picks), one forward and one backward each: the taps are 4-D, run once, form a chain (each tap's output
depends on the previous one and the spatial size shrinks by an integer factor only), the pre-GAP map
feeds the classifier's width, and the activation sites are rectifiers that fire. A model from outside
gets the generic fallback: pre-GAP found by its pooling layer, no taps.
"""

from __future__ import annotations

import pytest
import torch
from torch import nn

from naswot_ray.metrics.proxyutil import capture_outputs
from naswot_ray.spaces import get_space, space_names
from naswot_ray.spaces.parts import RECTIFIER_TYPES, generic_parts
from tests.spaces.test_every_space import NUM_CLASSES, build, small_archs

NAMES = space_names()


def _side(name: str) -> int:
    """16 px: every space's strides still divide it (the check is structural; 32/224 px only cost more)."""
    return 16


@pytest.mark.parametrize("name", NAMES)
def test_taps_chain_pre_gap_and_activation_sites(name: str) -> None:
    space = get_space(name)
    for arch, _params in small_archs(name):
        model = build(space, arch).train()
        parts = space.network_parts(model)
        assert parts.source == "space"
        taps = parts.feature_taps
        assert taps and len(set(map(id, taps))) == len(taps) >= 2
        outputs: list = [None] * len(taps)
        handles = capture_outputs(taps, outputs)
        fired: list[nn.Module] = []
        handles += [m.register_forward_hook(lambda m, i, o: fired.append(m)) for m in parts.activation_sites]
        pre_gap: list[torch.Tensor] = []
        handles.append(parts.pre_gap.register_forward_hook(lambda m, i, o: pre_gap.append(o)))
        x = torch.randn(2, 3, _side(name), _side(name))
        try:
            model(x)
        finally:
            for handle in handles:
                handle.remove()
        assert all(o is not None and o.dim() == 4 for o in outputs), f"{name}: a tap is not an N x C x H x W map"
        for i in range(1, len(outputs)):
            before, after = outputs[i - 1], outputs[i]
            (grad,) = torch.autograd.grad(after.sum(), before, retain_graph=True, allow_unused=True)
            assert grad is not None, f"{name}: tap {i} is not computed from tap {i - 1}"
            h_in, h_out = before.shape[-1], after.shape[-1]
            assert h_in % h_out == 0 and before.shape[-2] % after.shape[-2] == 0, \
                f"{name}: taps {i - 1} -> {i} shrink {tuple(before.shape[-2:])} -> {tuple(after.shape[-2:])}"
        assert len(pre_gap) == 1 and pre_gap[0].dim() == 4
        head = [m for m in model.modules() if isinstance(m, nn.Linear) and m.out_features == NUM_CLASSES][-1]
        assert pre_gap[0].shape[1] == head.in_features
        assert parts.activation_sites and all(isinstance(m, RECTIFIER_TYPES) for m in parts.activation_sites)
        assert fired, f"{name}: no declared activation site ran"


def test_outside_models_get_the_generic_fallback() -> None:
    model = nn.Sequential(nn.Conv2d(3, 4, 3), nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(4, 2))
    parts = generic_parts(model)
    assert parts.source == "generic" and parts.feature_taps is None
    assert parts.pre_gap is model[2] and parts.pre_gap_is_input
    assert parts.activation_sites == [model[1]]
    # a space's network_parts falls back to the same for a network it did not build
    assert get_space("nb201").network_parts(model).source == "generic"
