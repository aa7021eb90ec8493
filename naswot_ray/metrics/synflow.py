"""synflow (Tanaka et al., NeurIPS 2020, as a zero-cost proxy in Abdelfattah et al. 2021; = NASLib).

On a copy of the network with every BatchNorm replaced by identity (Samsung's bn=False variant) and
every parameter and floating buffer replaced by its absolute value, in float64: R = sum of the
outputs for one all-ones input [1, C, H, W]; score = sum over Conv2d/Linear weights of |W * dR/dW|.
One forward and one backward, no data, no labels. Values of 1e30..1e60 are common, so the stored
value is ln(score) (``value_scale = "log"``); a score of 0 (no path from input to output) is -inf.
H and W come from the batch when there is one, else the space's native size.
"""

from __future__ import annotations

import math

import torch
from torch import nn
from torch.nn.modules.batchnorm import _BatchNorm

from naswot_ray.data.base import Batch
from naswot_ray.metrics import register_metric
from naswot_ray.metrics.base import Metric, MetricNeeds, ScoringContext
from naswot_ray.metrics.netutil import input_shape, weight_layers


def remove_batchnorm(model: nn.Module) -> None:
    """Swap every BatchNorm module for ``nn.Identity`` in place."""
    for parent in list(model.modules()):
        for child_name, child in list(parent.named_children()):
            if isinstance(child, _BatchNorm):
                setattr(parent, child_name, nn.Identity())


@torch.no_grad()
def linearise(model: nn.Module) -> None:
    """Absolute value of every parameter and floating buffer, in place."""
    for tensor in list(model.parameters()) + list(model.buffers()):
        if tensor.is_floating_point():
            tensor.abs_()


@register_metric("synflow")
class Synflow(Metric):
    name = "synflow"
    description = ("Tanaka et al. 2020: ln sum |W * dR/dW| over conv/linear weights, R = sum f(1) of the "
                   "|weights|, BN removed, float64; 1 forward + 1 backward, no data")
    higher_is_better = True
    legal_nonfinite = frozenset({"-inf"})
    needs = MetricNeeds(data=False, labels=False, grad=True)
    mutates_model = True
    value_scale = "log"

    def score(self, model: nn.Module, batch: Batch | None, *, seed: int, mode: str, ctx: ScoringContext) -> float:
        remove_batchnorm(model)
        linearise(model)
        model.double()
        layers = weight_layers(model)
        if not layers:
            raise ValueError("metric 'synflow': the network has no Conv2d/Linear layers")
        device = next(model.parameters()).device
        ones = torch.ones((1, *input_shape(batch, ctx.space)), dtype=torch.float64, device=device)
        weights = [m.weight for m in layers]
        with torch.enable_grad():
            total_out = model(ones).sum()
            if not total_out.requires_grad:
                return -math.inf
            grads = torch.autograd.grad(total_out, weights, allow_unused=True)
        terms = [(w.detach() * g).abs().sum() for w, g in zip(weights, grads) if g is not None]
        value = float(torch.stack(terms).sum()) if terms else 0.0
        if math.isnan(value) or value == math.inf:
            raise ValueError(f"metric 'synflow': the float64 score is {value} (overflow)")
        return math.log(value) if value > 0 else -math.inf
