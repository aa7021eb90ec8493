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

Precision (modes). Under w = 1e-7 every conv/BN pair shrinks the signal by ~1e-9, so in float32 the
logits of a cell whose input-to-output paths all cross a conv edge underflow: measured on 1,000 random
NB201 cells, 41% gave a constant float32 output (a NaN score), where the authors chose (1e-7, 1) as the
first pair giving fewer than 10% NaN. The logits are still input-dependent; they are just below
float32's range. ``auto`` (default) runs each forward in float32 and repeats it in float64 only when
the float32 output's spread is too small to hold 24 significant bits (or is 0); Once one forward needs float64, all
forwards of that network run in float64 (one precision per score). ``float32`` keeps the
float32 result whatever it is (the reference's dtype: NaN-prone); ``float64`` always runs in float64.
A float64 CPU forward costs 2-5x a float32 one, so ``auto`` pays it only where it changes the answer.
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


#: below this spread (max - min) a float32 output has lost significant bits to underflow:
#: float32's smallest normal number times 2^24
FLOAT32_RELIABLE_SPREAD = torch.finfo(torch.float32).tiny * 2.0**24


def forward_logits(model: nn.Module, batch: Batch, weight: float, dtype: torch.dtype) -> torch.Tensor:
    """The logits of ``batch`` under constant ``weight``, with the network and the batch in ``dtype``."""
    model.to(dtype)
    constant_init(model, weight)
    with torch.inference_mode():
        return model(batch.x.to(dtype))


def needs_float64(output: torch.Tensor) -> bool:
    """True when a float32 ``output`` underflowed: no spread left, or too little for full precision."""
    y = output.detach().reshape(-1)
    if not bool(torch.isfinite(y).all()):
        return False  # an overflow is not cured by float64's range here; normalised_output raises on it
    return float(y.max().double() - y.min().double()) < FLOAT32_RELIABLE_SPREAD


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
    modes = ("auto", "float32", "float64")
    #: (w1, w2) per space name; spaces not listed use ``default_weights``
    weights_by_space: dict[str, tuple[float, float]] = {"nb201": (1e-7, 1.0), "nb101": (1e-4, 10.0)}
    default_weights: tuple[float, float] = (1e-7, 1.0)

    def weights_for(self, space: object) -> tuple[float, float]:
        return self.weights_by_space.get(str(getattr(space, "name", "")), self.default_weights)

    def score(self, model: nn.Module, batch: Batch, *, seed: int, mode: str, ctx: ScoringContext) -> float:
        weights = self.weights_for(ctx.space)
        if mode == "auto":
            raw = []
            for weight in weights:
                output = forward_logits(model, batch, weight, torch.float32)
                if needs_float64(output):
                    # all outputs in one precision: float32 rounding (~1e-7 of the normalised range)
                    # next to float64 values would set a noise floor above the smallest true scores
                    raw = [forward_logits(model, batch, w, torch.float64) for w in weights]
                    break
                raw.append(output)
        else:
            dtype = torch.float64 if mode == "float64" else torch.float32
            raw = [forward_logits(model, batch, weight, dtype) for weight in weights]
        outputs = [normalised_output(output, weight) for output, weight in zip(raw, weights)]
        return finite_or_raise(epsilon_from_outputs(*outputs), self.name,
                               "the score (every normalised output was 0 or NaN)")
