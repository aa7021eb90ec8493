"""grasp (Wang et al., ICLR 2020, as a zero-cost proxy in Abdelfattah et al. 2021; = NASLib).

score = sum over Conv2d/Linear weights of -W * (H g), g = dL/dW and H the Hessian of the mean
cross-entropy L w.r.t. those weights (a Hessian-vector product through a double backward). The sum
is signed, with the minus sign Samsung added. The reference runs two forwards (one for g, one with
create_graph); both see the same network and batch, so g is read here from the create_graph pass:
1 forward, 1 backward with graph, 1 double backward.
"""

from __future__ import annotations

import torch
from torch import nn

from naswot_ray.data.base import Batch
from naswot_ray.metrics import register_metric
from naswot_ray.metrics.base import Metric, MetricNeeds, ScoringContext
from naswot_ray.metrics.netutil import finite_or_raise, labelled_logits, weight_layers


@register_metric("grasp")
class Grasp(Metric):
    name = "grasp"
    description = ("Wang et al. 2020: sum over conv/linear weights of -W * (Hessian(CE) @ dCE/dW), signed; "
                   "1 forward + backward with graph + double backward, needs labels")
    higher_is_better = True
    needs = MetricNeeds(data=True, labels=True, grad=True)

    def score(self, model: nn.Module, batch: Batch, *, seed: int, mode: str, ctx: ScoringContext) -> float:
        weights = [m.weight for m in weight_layers(model)]
        if not weights:
            raise ValueError("metric 'grasp': the network has no Conv2d/Linear layers")
        with torch.enable_grad():
            logits, labels = labelled_logits(model, batch, self.name)
            loss = nn.functional.cross_entropy(logits, labels)
            grads = torch.autograd.grad(loss, weights, allow_unused=True, create_graph=True)
            used = [(w, g) for w, g in zip(weights, grads) if g is not None]
            products = [(g.detach() * g).sum() for _, g in used if g.requires_grad]
            if not products:
                return 0.0
            z = torch.stack(products).sum()
            hg = torch.autograd.grad(z, [w for w, _ in used], allow_unused=True)
        terms = [(-w.detach() * h).sum() for (w, _), h in zip(used, hg) if h is not None]
        total = torch.stack(terms).sum() if terms else torch.zeros(())
        return finite_or_raise(float(total), self.name)
