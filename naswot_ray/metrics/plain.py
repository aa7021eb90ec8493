"""plain (NASLib / NAS-Bench-Suite-Zero): sum over Conv2d/Linear weights of dL/dW * W, signed.

SNIP without the absolute value (proxies-sota-spec section 7): one labelled batch (the first 64 images
of the run batch, option ``batch_size``), mean cross-entropy, the network as built and in the run's BN
mode (train by default), one forward + backward. A layer without a gradient contributes 0. Higher is
better, as NASLib ranks it. The pass is ZiCo's first batch when both are requested (same init, images,
mode), so together they cost one forward + backward less.
"""

from __future__ import annotations

import torch
from torch import nn

from naswot_ray.data.base import Batch
from naswot_ray.metrics import register_metric
from naswot_ray.metrics.base import BatchNeeds, Metric, MetricNeeds, ScoringContext
from naswot_ray.metrics.labelled_pass import GRADS, labelled_pass
from naswot_ray.metrics.netutil import weight_layers
from naswot_ray.metrics.proxyutil import at_least
from naswot_ray.metrics.shared import shared_passes
from naswot_ray.options import Option


@register_metric("plain")
class Plain(Metric):
    name = "plain"
    description = ("NASLib plain: sum of dL/dW * W over conv/linear weights (signed SNIP); 1 labelled batch of 64, "
                   "forward + backward")
    higher_is_better = True
    version = 1
    legal_nonfinite: frozenset[str] = frozenset()
    needs = MetricNeeds(data=True, labels=True, grad=True)
    options = (Option("batch_size", int, 64, "labelled images (the first of the run batch)",
                      check=at_least(1)),)
    mutates_model = True

    def batch_needs(self, mode: str, options) -> BatchNeeds:
        return BatchNeeds("run", size=int(options["batch_size"]), labels=True)

    def score(self, model: nn.Module, batch: Batch, *, seed: int, mode: str, ctx: ScoringContext) -> float:
        size = int(ctx.options.get("batch_size", 64))
        done = labelled_pass(model, batch, 0, size, need=GRADS, metric=self.name, shared=shared_passes(ctx))
        total = torch.zeros((), dtype=torch.float64)
        for layer, grad in zip(weight_layers(model), done.grads or []):
            if grad is not None:
                total += (grad.to(torch.float64) * layer.weight.detach().to(torch.float64)).sum().cpu()
        return float(total)
