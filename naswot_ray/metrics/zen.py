"""Zen-score (Lin et al., "Zen-NAS: A Zero-Shot NAS for High-Performance Image Recognition", ICCV 2021).

Zen = ln Delta + sum over BatchNorm2d layers of ln sqrt(mean_c running_var_c), with
Delta = mean_n sum_{c,h,w} |F(x)_n - F(x + 0.01 eps)_n|, F the feature map before global average
pooling (the space's ``pre_gap``), x, eps ~ N(0, I) (proxies-sota-spec section 5).

Protocol (AZ-NAS's NB201 port, the one behind VKDNW's re-run): conv/linear weights ~ N(0, 1), biases 0,
BN 1/0 with fresh statistics; train mode, no gradients; B = 64 Gaussian images from the architecture's
seed, one repeat (options ``batch_size``, ``repeats``, ``mixup_gamma``). The running variances are the
ones left by the two train-mode forwards (momentum 0.1 from 1), exactly as the reference reads them.
Higher is better. An all-``none`` network has Delta = 0, so -inf (a legal value). A network with BN
layers that keep no running statistics (the ``samsung`` NB201 model) is refused with one line.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from naswot_ray.data.base import Batch
from naswot_ray.metrics import register_metric
from naswot_ray.metrics.base import BatchNeeds, Metric, MetricNeeds, ScoringContext
from naswot_ray.metrics.netutil import derived_generator
from naswot_ray.metrics.proxyutil import KEY_NORMAL, KEY_ZEN_INPUT, at_least, network_parts, standard_normal
from naswot_ray.options import Option
from naswot_ray.spaces.parts import NetworkParts


def pre_gap_features(model: nn.Module, parts: NetworkParts, x: torch.Tensor) -> torch.Tensor:
    """The feature map before global pooling for input ``x`` (one forward of the whole network)."""
    module = parts.require_pre_gap("zen")
    found: list[torch.Tensor] = []
    if parts.pre_gap_is_input:
        handle = module.register_forward_pre_hook(lambda _m, inputs: found.append(inputs[0]))
    else:
        handle = module.register_forward_hook(lambda _m, _inputs, output: found.append(output))
    try:
        model(x)
    finally:
        handle.remove()
    if len(found) != 1:
        raise ValueError(f"zen: the pre-pooling module ran {len(found)} times in one forward; expected once")
    return found[0]


def bn_log_scale(model: nn.Module) -> float:
    """sum over BatchNorm2d layers of ln sqrt(mean running_var)."""
    total = 0.0
    for module in model.modules():
        if isinstance(module, nn.BatchNorm2d):
            if module.running_var is None:
                raise ValueError("zen reads BN running variances, and this network's BatchNorm keeps none "
                                 "(track_running_stats=False, e.g. the samsung NB201 model)")
            total += 0.5 * math.log(float(module.running_var.double().mean()))
    return total


def zen_score(model: nn.Module, parts: NetworkParts, x: torch.Tensor, eps: torch.Tensor, gamma: float) -> float:
    """One repeat: model already re-initialised, in train mode, with fresh BN statistics."""
    with torch.no_grad():
        out = pre_gap_features(model, parts, x)
        mixed = pre_gap_features(model, parts, x + gamma * eps)
        delta = float((out - mixed).abs().sum(dim=tuple(range(1, out.dim()))).mean())
    log_delta = math.log(delta) if delta > 0 else -math.inf
    return log_delta + bn_log_scale(model)


@register_metric("zen")
class Zen(Metric):
    name = "zen"
    description = ("Zen-NAS (ICCV 2021): ln mean|F(x)-F(x+0.01e)| + sum_BN ln sqrt(mean running_var), F pre-GAP; "
                   "N(0,1) init, Gaussian B=64, 2 forwards, no labels")
    higher_is_better = True
    version = 1
    needs = MetricNeeds(data=True, labels=False, grad=False)
    options = (Option("batch_size", int, 64, "Gaussian images per repeat",
                      check=at_least(2, "images")),
               Option("repeats", int, 1, "repeats averaged (each re-draws weights and images)",
                      check=at_least(1)),
               Option("mixup_gamma", float, 0.01, "perturbation scale of the second input"))
    legal_nonfinite = frozenset({"-inf"})
    mutates_model = True

    def batch_needs(self, mode: str, options) -> BatchNeeds:
        return BatchNeeds("gaussian", size=int(options["batch_size"]))

    def score(self, model: nn.Module, batch: Batch, *, seed: int, mode: str, ctx: ScoringContext) -> float:
        parts = network_parts(ctx, model)
        gamma = float(ctx.options.get("mixup_gamma", 0.01))
        repeats = int(ctx.options.get("repeats", 1))
        weights = derived_generator(seed, KEY_NORMAL)
        inputs = derived_generator(seed, KEY_ZEN_INPUT)
        model.train()
        total = 0.0
        for r in range(repeats):
            standard_normal(model, weights)
            x = batch.x if r == 0 else torch.randn(batch.x.shape, generator=inputs).to(batch.x)
            eps = torch.randn(batch.x.shape, generator=inputs).to(batch.x)
            total += zen_score(model, parts, x, eps, gamma)
        return total / repeats
