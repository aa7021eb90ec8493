"""epsilon / epsinas (Gracheva, arXiv 2302.04406): output sensitivity to the weight scale.

The same network is given two constant shared-weight initialisations w1, w2: every module with a
``weight`` (conv, linear, affine BN gamma) is filled with w, every bias (BN beta included) with 0.
For each, one forward of the batch (BN as the run says, train by default) under inference_mode; the
flattened logits are min-max normalised to p, exact zeros become NaN, and
eps = nanmean|p1 - p2| / nanmean(p1 and p2 together). Higher is better. Two forwards, no labels.

The constants were tuned per space by the authors: (1e-7, 1) for NB201 and (1e-4, 10) for NB101;
other spaces use NB201's pair. With constant weights every logit of a sample is equal, so the value
does not depend on the number of classes (the reference builds 1 output). A constant output (max ==
min, e.g. a cell that ignores its input) or non-finite outputs cannot be normalised: raised.

Precision (modes). Under w = 1e-7 every conv/BN pair shrinks the signal by ~1e-9, so NB201's logits
sit at 1e-25..1e-33 or underflow float32 altogether: on 1,000 random NB201 cells 41% gave a constant
float32 output (NaN), and where float32 still gives a value, intermediate underflow costs it up to ~3%
of the score (measured against float64 on small NB201 batches). ``float32`` (default) is the
reference's dtype, so its NaNs and published correlations (computed on the non-NaN cells) reproduce;
``float64`` runs both forwards in float64: no underflow, every input-dependent cell scored, at about
7x the CPU cost of a float32 forward (no oneDNN kernels for float64).
"""

from __future__ import annotations

import torch
from torch import nn

from naswot_ray.data.base import Batch
from naswot_ray.metrics import register_metric
from naswot_ray.metrics.base import Metric, MetricNeeds, ScoringContext
from naswot_ray.metrics.netutil import finite_or_raise


@torch.no_grad()
def constant_init(model: nn.Module, value: float) -> None:
    """Fill every ``weight`` with ``value`` and every ``bias`` with 0 (modules without them untouched)."""
    for module in model.modules():
        weight = getattr(module, "weight", None)
        if isinstance(weight, torch.Tensor):
            weight.fill_(value)
        bias = getattr(module, "bias", None)
        if isinstance(bias, torch.Tensor):
            bias.zero_()


def normalised_output(output: torch.Tensor, weight: float) -> torch.Tensor:
    """Min-max normalised flattened output in float64, exact zeros replaced by NaN."""
    y = output.detach().reshape(-1).to(torch.float64)
    lo, hi = y.min(), y.max()
    if not bool(torch.isfinite(lo) & torch.isfinite(hi)):
        raise ValueError(f"metric 'epsilon': non-finite network output under constant weight {weight:g}")
    if not bool(hi > lo):
        raise ValueError(f"metric 'epsilon': constant network output under constant weight {weight:g} "
                         "(the output does not depend on the input)")
    p = (y - lo) / (hi - lo)
    return torch.where(p == 0, torch.full_like(p, float("nan")), p)


def forward_logits(model: nn.Module, batch: Batch, weight: float, dtype: torch.dtype) -> torch.Tensor:
    """The logits of ``batch`` under constant ``weight``, with the network and the batch in ``dtype``."""
    model.to(dtype)
    constant_init(model, weight)
    with torch.inference_mode():
        return model(batch.x.to(dtype))


def epsilon_from_outputs(p1: torch.Tensor, p2: torch.Tensor) -> float:
    """nanmean|p1 - p2| / nanmean([p1, p2]) for two normalised output vectors."""
    return float(torch.nanmean((p1 - p2).abs()) / torch.nanmean(torch.cat([p1, p2])))


@register_metric("epsilon", aliases=("epsinas",))
class Epsilon(Metric):
    name = "epsilon"
    description = ("Gracheva 2023 (epsinas): two constant-weight inits w1,w2; mean|p1-p2|/mean(p) of "
                   "min-max normalised logits; 2 forwards, no labels")
    higher_is_better = True
    needs = MetricNeeds(data=True, labels=False, grad=False)
    mutates_model = True
    modes = ("float32", "float64")
    #: (w1, w2) per space name; spaces not listed use ``default_weights``
    weights_by_space: dict[str, tuple[float, float]] = {"nb201": (1e-7, 1.0), "nb101": (1e-4, 10.0)}
    default_weights: tuple[float, float] = (1e-7, 1.0)

    def weights_for(self, space: object) -> tuple[float, float]:
        return self.weights_by_space.get(str(getattr(space, "name", "")), self.default_weights)

    def score(self, model: nn.Module, batch: Batch, *, seed: int, mode: str, ctx: ScoringContext) -> float:
        dtype = torch.float64 if mode == "float64" else torch.float32
        outputs = [normalised_output(forward_logits(model, batch, weight, dtype), weight)
                   for weight in self.weights_for(ctx.space)]
        return finite_or_raise(epsilon_from_outputs(*outputs), self.name,
                               "the score (every normalised output was 0 or NaN)")
