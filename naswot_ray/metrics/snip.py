"""snip (Lee et al., ICLR 2019, as a zero-cost proxy in Abdelfattah et al. 2021; = NASLib).

score = sum over Conv2d/Linear layers of sum |W * dL/dW|, L the mean cross-entropy of the labelled
batch. The reference takes |dL/dmask| for a ones-mask multiplying each weight, which is the same
number. One forward, one backward; BN parameters and biases are excluded.
"""

from __future__ import annotations

import torch
from torch import nn

from naswot_ray.data.base import Batch
from naswot_ray.metrics import register_metric
from naswot_ray.metrics.base import Metric, MetricNeeds, ScoringContext
from naswot_ray.metrics.netutil import finite_or_raise, labelled_logits, weight_layers


@register_metric("snip")
class Snip(Metric):
    name = "snip"
    description = "Lee et al. 2019: sum over conv/linear weights of |W * dCE/dW|; 1 forward + 1 backward, needs labels"
    higher_is_better = True
    needs = MetricNeeds(data=True, labels=True, grad=True)

    def score(self, model: nn.Module, batch: Batch, *, seed: int, mode: str, ctx: ScoringContext) -> float:
        weights = [m.weight for m in weight_layers(model)]
        if not weights:
            raise ValueError("metric 'snip': the network has no Conv2d/Linear layers")
        with torch.enable_grad():
            logits, labels = labelled_logits(model, batch, self.name)
            loss = nn.functional.cross_entropy(logits, labels)
            grads = torch.autograd.grad(loss, weights, allow_unused=True)
        terms = [(w.detach() * g).abs().sum() for w, g in zip(weights, grads) if g is not None]
        total = torch.stack(terms).sum() if terms else torch.zeros(())
        return finite_or_raise(float(total), self.name)
