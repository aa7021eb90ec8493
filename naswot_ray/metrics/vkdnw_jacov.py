"""vkdnw_jacov: the jacob_cov variant in VKDNW's aggregate (Tybl & Neumann, CVPR 2025; its NB201 code).

The NASWOT-v1 score -sum_i [ln(v_i + 1e-5) + 1/(v_i + 1e-5)] over the eigenvalues v of the correlation
of the input-Jacobian rows d(sum of logits)/dx_b (the ``jacob_cov`` computation), but on VKDNW's
protocol: a fresh Kaiming-normal fan-in init (BN 1/0), train mode, the first 64 real images of the run
batch (labels unused). One forward + one backward to the input. Higher is better. A constant Jacobian
row makes the correlation undefined: the reference fills that NaN with the pool's minimum; a metric
has no pool, so it is -inf here (ranked last, a legal value).
"""

from __future__ import annotations

import math

import torch
from torch import nn

from naswot_ray.data.base import Batch
from naswot_ray.metrics import register_metric
from naswot_ray.metrics.base import BatchNeeds, Metric, MetricNeeds, ScoringContext
from naswot_ray.metrics.jacob_cov import jacob_cov_from_jacobian
from naswot_ray.metrics.proxyutil import at_least, kaiming_fan_in, logits_of
from naswot_ray.options import Option


@register_metric("vkdnw_jacov")
class VkdnwJacov(Metric):
    name = "vkdnw_jacov"
    description = ("jacob_cov on VKDNW's protocol: Kaiming fan-in init, train mode, 64 real images; "
                   "1 forward + 1 backward to the input")
    higher_is_better = True
    version = 1
    needs = MetricNeeds(data=True, labels=False, grad=True)
    options = (Option("batch_size", int, 64, "real images (the first of the run batch)",
                      check=at_least(2, "images")),)
    legal_nonfinite = frozenset({"-inf"})
    mutates_model = True

    def batch_needs(self, mode: str, options) -> BatchNeeds:
        return BatchNeeds("run", size=int(options["batch_size"]))

    def score(self, model: nn.Module, batch: Batch, *, seed: int, mode: str, ctx: ScoringContext) -> float:
        size = int(ctx.options.get("batch_size", 64))
        if batch.size < size:
            raise ValueError(f"vkdnw_jacov needs {size} images and the run batch has {batch.size}; use "
                             f"--batch-size {size} or a smaller batch_size option")
        kaiming_fan_in(model, seed)
        model.train()
        x = batch.x[:size].detach().clone().requires_grad_(True)
        with torch.enable_grad():
            out = logits_of(model, x, self.name)
            (jac,) = torch.autograd.grad(out.sum(), x, allow_unused=True)
        if jac is None:
            return -math.inf
        value = float(jacob_cov_from_jacobian(jac.reshape(jac.shape[0], -1)))
        return -math.inf if math.isnan(value) else value
