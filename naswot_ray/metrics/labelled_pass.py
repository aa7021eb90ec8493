"""One labelled forward (+ backward) of a default-initialised network on a slice of the run batch.

ZiCo (its labelled batches), NASLib's ``plain`` (the weight gradients of the first batch) and
``epe_nas`` (the input Jacobian of the summed logits on the first batch) all use the network as
constructed, in its given BN mode, on the first images of the run's batch. When their slices agree,
one forward serves all of them: the pass computes, in one go, every output any requested metric will
read from that slice (weight gradients of the cross-entropy, input Jacobian of the summed logits),
and the result is kept in the architecture's :class:`~naswot_ray.metrics.shared.SharedPasses`.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from naswot_ray.data.base import Batch
from naswot_ray.metrics.netutil import weight_layers
from naswot_ray.metrics.proxyutil import logits_of, needs_labels
from naswot_ray.metrics.shared import SharedPasses

GRADS = "grads"
JACOBIAN = "jacobian"


@dataclass
class LabelledPass:
    """What one pass over images [start, stop) produced."""

    #: d(mean cross-entropy)/dW for every Conv2d/Linear weight in ``modules()`` order (None: unused)
    grads: list[torch.Tensor | None] | None
    #: d(sum of all logits)/dx, flattened to [n, D]
    jacobian: torch.Tensor | None
    num_classes: int


def slices_wanted(shared: SharedPasses) -> dict[tuple[int, int], set[str]]:
    """Which (start, stop) slices the requested metrics read, and what each needs from it."""
    wanted: dict[tuple[int, int], set[str]] = {}
    if shared.wants("zico"):
        opts = shared.options("zico")
        size, batches = int(opts.get("batch_size", 64)), int(opts.get("batches", 2))
        for b in range(batches):
            wanted.setdefault((b * size, (b + 1) * size), set()).add(GRADS)
    if shared.wants("plain"):
        wanted.setdefault((0, int(shared.options("plain").get("batch_size", 64))), set()).add(GRADS)
    if shared.wants("epe_nas"):
        wanted.setdefault((0, int(shared.options("epe_nas").get("batch_size", 64))), set()).add(JACOBIAN)
    return wanted


def labelled_pass(model: nn.Module, batch: Batch, start: int, stop: int, *, need: str, metric: str,
                  shared: SharedPasses) -> LabelledPass:
    """The pass over images [start, stop) of ``batch`` (which must hold them), shared where possible.

    ``need`` is what the caller reads (GRADS or JACOBIAN); whatever other requested metrics read
    from the same slice is computed in the same forward.
    """
    if batch.size < stop:
        raise ValueError(f"metric {metric!r} needs {stop} labelled images and the run batch has {batch.size}; "
                         f"use --batch-size {stop} or a smaller --metric-option {metric}.batch_size")
    needs = {need} | slices_wanted(shared).get((start, stop), set())
    key = ("labelled", start, stop, bool(model.training), tuple(sorted(needs)))
    return shared.get(key, lambda: _run(model, batch.x[start:stop], needs_labels(batch, metric)[start:stop],
                                        grads=GRADS in needs, jacobian=JACOBIAN in needs, metric=metric))


def _run(model: nn.Module, x: torch.Tensor, y: torch.Tensor, *, grads: bool, jacobian: bool, metric: str
         ) -> LabelledPass:
    model.zero_grad(set_to_none=True)
    layers = weight_layers(model)
    x_in = x.detach().clone().requires_grad_(True) if jacobian else x
    with torch.enable_grad():
        logits = logits_of(model, x_in, metric)
        low, top = torch.stack(torch.aminmax(y)).tolist()
        if low < 0 or top >= logits.shape[1]:
            raise ValueError(f"metric {metric!r}: labels span {low}..{top} but the network has {logits.shape[1]} "
                             "outputs; build it with the dataset's class count")
        weight_grads = None
        if grads:
            loss = F.cross_entropy(logits, y)
            params = [layer.weight for layer in layers]
            found = torch.autograd.grad(loss, params, retain_graph=jacobian, allow_unused=True)
            weight_grads = [g.detach() if g is not None else None for g in found]
        input_jacobian = None
        if jacobian:
            (j,) = torch.autograd.grad(logits.sum(), x_in)
            input_jacobian = j.detach().reshape(j.shape[0], -1)
    return LabelledPass(weight_grads, input_jacobian, int(logits.shape[1]))


__all__ = ["LabelledPass", "labelled_pass", "slices_wanted", "GRADS", "JACOBIAN"]
