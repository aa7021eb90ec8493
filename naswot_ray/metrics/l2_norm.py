"""l2_norm (NASLib / NAS-Bench-Suite-Zero): sum over Conv2d/Linear modules of ||W||_F, weights only.

No data, no forward, no copy: the network exactly as built, i.e. its initialisation (proxies-sota-spec
section 7). Under default init E||W||_F^2 = C_out/3, so it is essentially a count of weighted layers.
Higher is better, as NASLib ranks it.
"""

from __future__ import annotations

import torch
from torch import nn

from naswot_ray.data.base import Batch
from naswot_ray.metrics import register_metric
from naswot_ray.metrics.base import Metric, MetricNeeds, ScoringContext
from naswot_ray.metrics.netutil import weight_layers


@register_metric("l2_norm")
class L2Norm(Metric):
    name = "l2_norm"
    description = "NASLib l2_norm: sum of Frobenius norms of conv/linear weights at initialisation; no data"
    higher_is_better = True
    version = 1
    legal_nonfinite: frozenset[str] = frozenset()
    needs = MetricNeeds(data=False, labels=False, grad=False)

    def score(self, model: nn.Module, batch: Batch | None, *, seed: int, mode: str, ctx: ScoringContext) -> float:
        total = torch.zeros((), dtype=torch.float64)
        for layer in weight_layers(model):
            total += torch.linalg.vector_norm(layer.weight.detach().to(torch.float64)).cpu()
        return float(total)
