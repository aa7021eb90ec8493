"""Regularised SWAP (Peng et al., ICLR 2024): SWAP * exp(-(P_k - mu)^2 / sigma).

P_k is the trainable-parameter count in thousands (names containing "auxiliary" excluded), sigma plays
the role of 2 * variance (proxies-sota-spec section 4). mu and sigma steer the preferred model size and
are declared options (``--metric-option swap_reg.mu=...``). The paper's values for NAS-Bench-201 are
not in its public code and are UNVERIFIED; the defaults here (mu = 1500, sigma = 1.5e6, in thousands:
a third-party port's mu = sigma = 1.5 with the count in millions, rescaled) make the prior grow with
size over NB201's whole range (0.07M-1.53M). The SWAP count comes from the same passes as ``swap``
(computed once when both are requested). Higher is better.
"""

from __future__ import annotations

import math

from torch import nn

from naswot_ray.data.base import Batch
from naswot_ray.metrics import register_metric
from naswot_ray.metrics.base import BatchNeeds, Metric, MetricNeeds, ScoringContext
from naswot_ray.metrics.params import count_parameters
from naswot_ray.metrics.swap import SWAP_OPTIONS, shared_swap
from naswot_ray.options import Option


def size_prior(params: int, mu: float, sigma: float) -> float:
    """exp(-(P_k - mu)^2 / sigma), P_k = ``params`` / 1e3."""
    return math.exp(-((params / 1e3 - mu) ** 2) / sigma)


@register_metric("swap_reg")
class SwapReg(Metric):
    name = "swap_reg"
    description = ("regularised SWAP (ICLR 2024): SWAP * exp(-(params/1e3 - mu)^2 / sigma); mu, sigma options "
                   "(NB201 values unverified); shares swap's forwards")
    higher_is_better = True
    version = 1
    legal_nonfinite: frozenset[str] = frozenset()
    needs = MetricNeeds(data=True, labels=False, grad=False)
    options = SWAP_OPTIONS + (
        Option("mu", float, 1500.0, "preferred size, thousands of parameters (paper's NB201 value unverified)"),
        Option("sigma", float, 1.5e6, "width of the size prior (2 x variance, thousands^2; unverified)",
               check=lambda v: None if float(v) > 0 else "must be positive"))
    mutates_model = True

    def batch_needs(self, mode: str, options) -> BatchNeeds:
        return BatchNeeds("run", size=int(options["images"]))

    def score(self, model: nn.Module, batch: Batch, *, seed: int, mode: str, ctx: ScoringContext) -> float:
        params = count_parameters(model)
        swap = shared_swap(model, batch, seed=seed, ctx=ctx, images=int(ctx.options.get("images", 16)),
                           repeats=int(ctx.options.get("repeats", 32)))
        return swap * size_prior(params, float(ctx.options.get("mu", 1500.0)), float(ctx.options.get("sigma", 1.5e6)))
