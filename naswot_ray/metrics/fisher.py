"""fisher, channel-wise (Turner et al. 2020 / Theis et al. 2018, as in Abdelfattah et al. 2021; = NASLib).

For each Conv2d/Linear output a (before any BN) and output channel k:
g_{n,k} = sum_spatial a_{n,k} * dL/da_{n,k};  F_{l,k} = 0.5 * mean_n g_{n,k}^2;
score = sum_l sum_k F_{l,k} * prod(W_l.shape[1:]) (the reference broadcasts each channel's value to
every weight of that channel before summing, so the fan-in multiplier is needed to match it).
L is the mean cross-entropy of the labelled batch. One forward, one backward.

Instead of the reference's deprecated module backward hooks on an identity "dummy", forward hooks
keep each layer's output (one clone, so later in-place ops cannot change it) and dL/da for all of
them comes from one ``autograd.grad`` call. A layer called twice contributes once per call.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from naswot_ray.data.base import Batch
from naswot_ray.metrics import register_metric
from naswot_ray.metrics.base import Metric, MetricNeeds, ScoringContext
from naswot_ray.metrics.netutil import finite_or_raise, labelled_logits, weight_layers


@register_metric("fisher")
class Fisher(Metric):
    name = "fisher"
    description = ("Turner et al. 2020: sum over conv/linear outputs a and channels k of "
                   "0.5*mean_n(sum_hw a*dCE/da)^2 * fan_in; 1 forward + 1 backward, needs labels")
    higher_is_better = True
    needs = MetricNeeds(data=True, labels=True, grad=True)

    def score(self, model: nn.Module, batch: Batch, *, seed: int, mode: str, ctx: ScoringContext) -> float:
        layers = weight_layers(model)
        if not layers:
            raise ValueError("metric 'fisher': the network has no Conv2d/Linear layers")
        captured: list[tuple[torch.Tensor, int]] = []

        def keep_output(module: nn.Module, _inputs: tuple, output: torch.Tensor) -> torch.Tensor:
            kept = output.clone()
            captured.append((output, math.prod(module.weight.shape[1:])))
            return kept

        handles = [layer.register_forward_hook(keep_output) for layer in layers]
        try:
            with torch.enable_grad():
                logits, labels = labelled_logits(model, batch, self.name)
                loss = nn.functional.cross_entropy(logits, labels)
                live = [(a, fan) for a, fan in captured if a.requires_grad]
                if not live:
                    raise ValueError("metric 'fisher': no conv/linear output depends on a trainable weight")
                grads = torch.autograd.grad(loss, [a for a, _ in live], allow_unused=True)
        finally:
            for handle in handles:
                handle.remove()
        terms = []
        for (act, fan), grad in zip(live, grads):
            if grad is None:
                continue
            prod = act.detach() * grad
            g_nk = prod.sum(dim=tuple(range(2, prod.dim()))) if prod.dim() > 2 else prod
            terms.append(0.5 * g_nk.pow(2).mean(dim=0).sum() * fan)
        total = torch.stack(terms).sum() if terms else torch.zeros(())
        return finite_or_raise(float(total), self.name)
