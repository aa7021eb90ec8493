"""grad_norm (Abdelfattah et al., "Zero-Cost Proxies for Lightweight NAS", ICLR 2021; = NASLib).

score = sum over Conv2d/Linear layers l of ||dL/dW_l||_2 (Frobenius norm per layer, then summed; not
the global norm). L is the mean cross-entropy of the labelled batch. One forward, one backward.
BN parameters and biases are excluded; a layer without a gradient contributes 0.
"""

from __future__ import annotations

import torch
from torch import nn

from naswot_ray.data.base import Batch
from naswot_ray.metrics import register_metric
from naswot_ray.metrics.base import Metric, MetricNeeds, ScoringContext
from naswot_ray.metrics.netutil import finite_or_raise, labelled_logits, weight_layers


@register_metric("grad_norm")
class GradNorm(Metric):
    name = "grad_norm"
    description = ("Abdelfattah et al. 2021: sum over conv/linear layers of ||dCE/dW||_2; "
                   "1 forward + 1 backward, needs labels")
    higher_is_better = True
    needs = MetricNeeds(data=True, labels=True, grad=True)

    def score(self, model: nn.Module, batch: Batch, *, seed: int, mode: str, ctx: ScoringContext) -> float:
        weights = [m.weight for m in weight_layers(model)]
        if not weights:
            raise ValueError("metric 'grad_norm': the network has no Conv2d/Linear layers")
        with torch.enable_grad():
            logits, labels = labelled_logits(model, batch, self.name)
            loss = nn.functional.cross_entropy(logits, labels)
            grads = torch.autograd.grad(loss, weights, allow_unused=True)
        norms = [g.norm() for g in grads if g is not None]
        total = torch.stack(norms).sum() if norms else torch.zeros(())
        return finite_or_raise(float(total), self.name)
