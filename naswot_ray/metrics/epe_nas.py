"""epe_nas (Lopes, Alirezazadeh, Alexandre, "EPE-NAS", 2021; NASLib's port).

J = d(sum of all logits)/dx per image (flattened); rows grouped by label c; for each class
s_c = sum_{i,j} ln(|corr(J_c)[i,j]| + 1e-5) (divided by n_c when the head has more than 100 outputs).
Score: sum_c |s_c| for heads of <= 100 outputs; sum_c sum_c' |s_c - s_c'| / (classes present) above
(proxies-sota-spec section 7). Labels group the rows; a class with one image gives corr = 1 (and is
skipped above 100 outputs, as NASLib's exception path does). One forward + input-gradient backward on
the first 64 labelled images (option ``batch_size``), the network as built, the run's BN mode.
Higher is better. An undefined correlation (an input gradient constant across a class, e.g. a network
whose output ignores its input) is NaN in NASLib, which ranks it last (-1e8); here it is -inf.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from naswot_ray.data.base import Batch
from naswot_ray.metrics import register_metric
from naswot_ray.metrics.base import BatchNeeds, Metric, MetricNeeds, ScoringContext
from naswot_ray.metrics.labelled_pass import JACOBIAN, labelled_pass
from naswot_ray.metrics.proxyutil import at_least, needs_labels
from naswot_ray.metrics.shared import shared_passes
from naswot_ray.options import Option

K = 1e-5


def epe_from_jacobian(jacobian: torch.Tensor, labels: torch.Tensor, num_classes: int) -> float:
    """The EPE-NAS score of a [n, D] input Jacobian with per-row labels and a head of ``num_classes``."""
    per_class: dict[int, float] = {}
    rows = jacobian.to(torch.float64)
    for c in sorted(set(labels.tolist())):
        members = rows[labels == c]
        if members.shape[0] == 1:
            if num_classes > 100:
                continue  # NASLib: len() of a 0-d corrcoef raises, so the class is skipped
            per_class[c] = math.log(1.0 + K)
            continue
        corr = torch.corrcoef(members)
        s = float(torch.log(corr.abs() + K).sum())
        if num_classes > 100:
            s /= members.shape[0]
        per_class[c] = s
    values = list(per_class.values())
    if num_classes <= 100:
        score = sum(abs(v) for v in values)
    else:
        score = sum(abs(a - b) for a in values for b in values) / len(values) if values else math.nan
    return -math.inf if math.isnan(score) else score


@register_metric("epe_nas")
class EpeNas(Metric):
    name = "epe_nas"
    description = ("EPE-NAS (NASLib): per-class correlation of input Jacobians, sum_c |sum ln(|corr|+1e-5)|; "
                   "1 labelled batch of 64, forward + input backward")
    higher_is_better = True
    version = 1
    needs = MetricNeeds(data=True, labels=True, grad=True)
    options = (Option("batch_size", int, 64, "labelled images (the first of the run batch)",
                      check=at_least(2, "images")),)
    legal_nonfinite = frozenset({"-inf"})
    mutates_model = True

    def batch_needs(self, mode: str, options) -> BatchNeeds:
        return BatchNeeds("run", size=int(options["batch_size"]), labels=True)

    def score(self, model: nn.Module, batch: Batch, *, seed: int, mode: str, ctx: ScoringContext) -> float:
        size = int(ctx.options.get("batch_size", 64))
        done = labelled_pass(model, batch, 0, size, need=JACOBIAN, metric=self.name, shared=shared_passes(ctx))
        labels = needs_labels(batch, self.name)[:size].cpu()
        return epe_from_jacobian(done.jacobian.cpu(), labels, done.num_classes)
