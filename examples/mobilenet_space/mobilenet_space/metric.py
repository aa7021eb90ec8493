"""``unit_entropy``: how evenly each rectifier unit splits one batch into "on" and "off".

For every rectifier unit u (one channel at one position of one rectifier call), p_u is the fraction of the
batch's images for which it is on (input > 0); the score is the mean binary entropy
H(p_u) = -p log2 p - (1-p) log2 (1-p), in bits, from 0 (every unit always on or always off: the network
treats all images alike) to 1 (every unit splits the batch in half). The intuition is NASWOT's (networks
whose rectifiers tell images apart train better), summarised per unit instead of per image pair. Higher
is better; one inference forward; no labels. Option ``per``: ``unit`` (every unit weighs the same) or
``call`` (every rectifier call weighs the same, so wide early layers do not dominate).

The rectifiers come from the space's ``network_parts`` (a model from outside gets every rectifier module),
so this file is the whole metric: it touches no file of naswot-ray.
"""

from __future__ import annotations

import torch

from naswot_ray import Metric, MetricNeeds, Option


class UnitEntropy(Metric):
    name = "unit_entropy"
    description = "example plugin: mean binary entropy (bits) of each rectifier unit's on/off split of the batch; 1 forward, no labels"
    higher_is_better = True
    needs = MetricNeeds(data=True, labels=False, grad=False)
    version = 1
    options = (Option("per", str, "unit", "weigh every rectifier 'unit' the same, or every rectifier 'call'",
                      choices=("unit", "call")),)
    #: nr.score then refuses models whose rectifiers are functional calls (hooks would miss them)
    reads_rectifiers = True

    def score(self, model, batch, *, seed, mode, ctx) -> float:
        sites = ctx.space.network_parts(model).activation_sites
        if not sites:
            raise ValueError("unit_entropy needs rectifier modules and the network has none")
        per_call: list[tuple[float, int]] = []

        def record(_module, _inputs, output) -> None:
            on = (output.detach() > 0).reshape(output.shape[0], -1).to(torch.float64).mean(0)
            entropy = -(torch.xlogy(on, on) + torch.xlogy(1 - on, 1 - on)) / torch.log(torch.tensor(2.0, dtype=torch.float64))
            per_call.append((float(entropy.sum()), int(entropy.numel())))

        handles = [site.register_forward_hook(record) for site in sites]
        try:
            with torch.inference_mode():
                model(batch.x)
        finally:
            for handle in handles:
                handle.remove()
        if ctx.options.get("per", "unit") == "call":
            return sum(total / count for total, count in per_call) / len(per_call)
        return sum(total for total, _ in per_call) / sum(count for _, count in per_call)
