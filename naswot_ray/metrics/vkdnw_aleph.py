"""vkdnw_aleph: VKDNW's aleph, the number of parameter tensors (``len(named_parameters())``).

Tybl & Neumann (CVPR 2025) call it "No. of trainable layers": conv weights, BN gamma and beta, the
classifier's weight and bias, each one tensor, dead branches included (proxies-sota-spec section 6).
It is the first key of VKDNW_single's lexicographic ranking (aleph, then ``vkdnw``) and a term of
VKDNW_agg. No data, no forward. Higher is better (a deeper, wider-connected network ranks higher).
"""

from __future__ import annotations

from torch import nn

from naswot_ray.data.base import Batch
from naswot_ray.metrics import register_metric
from naswot_ray.metrics.base import Metric, MetricNeeds, ScoringContext


@register_metric("vkdnw_aleph")
class VkdnwAleph(Metric):
    name = "vkdnw_aleph"
    description = "VKDNW's aleph (CVPR 2025): number of parameter tensors, len(named_parameters()); no data"
    higher_is_better = True
    version = 1
    legal_nonfinite: frozenset[str] = frozenset()
    needs = MetricNeeds(data=False, labels=False, grad=False)
    device_independent = True

    def score(self, model: nn.Module, batch: Batch | None, *, seed: int, mode: str, ctx: ScoringContext) -> float:
        return float(sum(1 for _ in model.named_parameters()))
