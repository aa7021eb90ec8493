"""Parameter count: the classic size baseline every zero-cost proxy is compared with.

Counts every trainable tensor element (conv/linear weights and biases, BN gamma/beta; not BN running
statistics, which are buffers), excluding an auxiliary head (DARTS convention: parameters whose name
contains "auxiliary"), so counts equal the benchmarks' recorded ``params``. Stored as a raw count.
"""

from __future__ import annotations

from torch import nn

from naswot_ray.data.base import Batch
from naswot_ray.metrics import register_metric
from naswot_ray.metrics.base import Metric, MetricNeeds, ScoringContext


def count_parameters(model: nn.Module) -> int:
    return sum(p.numel() for name, p in model.named_parameters() if "auxiliary" not in name)


@register_metric("params")
class ParamsMetric(Metric):
    name = "params"
    description = "number of parameters (raw count, auxiliary heads excluded); no data"
    higher_is_better = True
    needs = MetricNeeds(data=False)
    device_independent = True

    def score(self, model: nn.Module, batch: Batch, *, seed: int, mode: str, ctx: ScoringContext) -> float:
        return float(count_parameters(model))
