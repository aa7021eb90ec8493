"""ZiCo (Li, Yang, Bhardwaj, Marculescu, "ZiCo: Zero-shot NAS via inverse Coefficient of Variation on
Gradients", ICLR 2023).

ZiCo = sum over Conv2d/Linear layers l with S_l != 0 of ln S_l, S_l = sum over weights theta with
s_theta != 0 of mean_b |g_b(theta)| / std_b g_b(theta), where g_b is the cross-entropy weight gradient of
labelled batch b (population std over the beta batches). Proxies-sota-spec section 2.

Protocol: beta = 2 batches of 64 labelled real images, the first 128 images of the run batch split in
two (options ``batches``, ``batch_size``); the network as constructed (default init), train mode,
mean cross-entropy on the logits, so the head needs the dataset's class count. 2 x (forward + backward).
Higher is better. A layer whose gradients are all zero (a dead branch; every layer of an all-``none``
network) contributes 0, so an all-``none`` network scores 0. The first batch's pass is shared with
``plain`` and ``epe_nas`` when they read the same images (:mod:`naswot_ray.metrics.labelled_pass`).

Modes: ``reference`` (float32 statistics, as the official numpy code) and ``clean`` (float64).
"""

from __future__ import annotations

import math

import torch
from torch import nn

from naswot_ray.data.base import Batch
from naswot_ray.metrics import register_metric
from naswot_ray.metrics.base import BatchNeeds, Metric, MetricNeeds, ScoringContext
from naswot_ray.metrics.labelled_pass import GRADS, labelled_pass
from naswot_ray.metrics.proxyutil import at_least
from naswot_ray.metrics.shared import shared_passes
from naswot_ray.options import Option


def zico_from_grads(per_batch: list[list[torch.Tensor | None]], *, clean: bool = False) -> float:
    """The ZiCo value from each batch's list of per-layer weight gradients (same layer order)."""
    dtype = torch.float64 if clean else torch.float32
    total = 0.0
    for layer in zip(*per_batch):
        if any(g is None for g in layer):
            continue
        grads = torch.stack([g.to(dtype) for g in layer])
        mean_abs = grads.abs().mean(dim=0)
        std = grads.std(dim=0, unbiased=False)
        mask = std != 0
        ratio = float((mean_abs[mask] / std[mask]).sum())
        if ratio != 0.0:
            total += math.log(ratio)
    return total


@register_metric("zico")
class ZiCo(Metric):
    name = "zico"
    description = ("ZiCo (ICLR 2023): sum_l ln sum_theta mean|g|/std(g) of cross-entropy weight gradients over 2 "
                   "labelled batches of 64; default init, train mode, 2 x (forward + backward)")
    higher_is_better = True
    version = 1
    legal_nonfinite: frozenset[str] = frozenset()
    needs = MetricNeeds(data=True, labels=True, grad=True)
    modes = ("reference", "clean")
    options = (Option("batch_size", int, 64, "labelled images per batch", check=at_least(1)),
               Option("batches", int, 2, "number of batches (the first batches*batch_size images)",
                      check=at_least(2)))
    mutates_model = True

    def batch_needs(self, mode: str, options) -> BatchNeeds:
        return BatchNeeds("run", size=int(options["batch_size"]) * int(options["batches"]), labels=True)

    def score(self, model: nn.Module, batch: Batch, *, seed: int, mode: str, ctx: ScoringContext) -> float:
        size, batches = int(ctx.options.get("batch_size", 64)), int(ctx.options.get("batches", 2))
        model.train()
        shared = shared_passes(ctx)
        per_batch = []
        for b in range(batches):
            done = labelled_pass(model, batch, b * size, (b + 1) * size, need=GRADS, metric=self.name, shared=shared)
            per_batch.append(done.grads)
        return zico_from_grads(per_batch, clean=mode == "clean")
