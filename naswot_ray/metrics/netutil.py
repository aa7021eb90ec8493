"""Shared building blocks for the gradient- and init-based zero-cost metrics.

Why one module: grad_norm, snip, grasp, fisher, synflow, ntk_cond and linear_regions all need the same
notions ("the conv/linear layers", "the labelled loss", "a Kaiming re-init drawn from a seed") and must
agree on them exactly, or their numbers stop being comparable with each other and the references.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Iterator

import numpy as np
import torch
from torch import nn
from torch.nn.modules.batchnorm import _BatchNorm

from naswot_ray.data.base import Batch

#: the layer types whose ``.weight`` the Samsung/NASLib proxies sum over ("Conv/Linear weights")
WEIGHT_LAYERS: tuple[type[nn.Module], ...] = (nn.Conv2d, nn.Linear)


def weight_layers(model: nn.Module) -> list[nn.Module]:
    """Every Conv2d/Linear module, in ``modules()`` order (BN and biases are never included)."""
    return [m for m in model.modules() if isinstance(m, WEIGHT_LAYERS)]


def derived_generator(seed: int, *keys: int) -> torch.Generator:
    """A CPU generator seeded from ``(seed, *keys)``.

    Drawing on the CPU makes re-inits and crops identical on every device; mixing the keys through
    SeedSequence keeps the streams of different repeats and metrics independent.
    """
    state = np.random.SeedSequence([int(seed) & 0xFFFFFFFF, *[int(k) for k in keys]]).generate_state(2)
    value = (int(state[0]) << 32 | int(state[1])) & 0x7FFF_FFFF_FFFF_FFFF
    return torch.Generator().manual_seed(value)


@torch.no_grad()
def kaiming_normal_reinit(model: nn.Module, *, mode: str, generator: torch.Generator) -> None:
    """TE-NAS init: conv/linear weights ~ N(0, 2/fan), biases 0, affine BN gamma 1 / beta 0.

    ``mode`` is "fan_in" or "fan_out" with torch's fan definition (fan_in = C_in/g*k*k,
    fan_out = C_out*k*k). Values are drawn on the CPU from ``generator`` and copied to the device.
    """
    if mode not in ("fan_in", "fan_out"):
        raise ValueError(f"kaiming mode must be 'fan_in' or 'fan_out', got {mode!r}")
    for module in model.modules():
        if isinstance(module, WEIGHT_LAYERS):
            weight = module.weight
            receptive = math.prod(weight.shape[2:])
            fan = (weight.shape[1] if mode == "fan_in" else weight.shape[0]) * receptive
            std = math.sqrt(2.0) / math.sqrt(fan)
            draw = torch.empty(weight.shape, dtype=torch.float32).normal_(0.0, std, generator=generator)
            weight.copy_(draw)
            if module.bias is not None:
                module.bias.zero_()
        elif isinstance(module, _BatchNorm) and module.affine:
            module.weight.fill_(1.0)
            module.bias.zero_()


@contextlib.contextmanager
def batch_stats_without_update(model: nn.Module) -> Iterator[None]:
    """Train-mode BN that normalises with batch statistics but writes no running statistics.

    Outputs are unchanged (train-mode BN ignores running stats); the point is that torch.func
    transforms refuse in-place writes to captured buffers, and the metric should not disturb them.
    """
    touched = [m for m in model.modules() if isinstance(m, _BatchNorm) and m.training and m.track_running_stats]
    for module in touched:
        module.track_running_stats = False
    try:
        yield
    finally:
        for module in touched:
            module.track_running_stats = True


def input_shape(batch: Batch | None, space: object) -> tuple[int, int, int]:
    """(C, H, W) of one input: the batch's when there is one, else 3 x the space's native size."""
    if batch is not None and getattr(batch, "x", None) is not None:
        return tuple(int(s) for s in batch.x.shape[1:])  # type: ignore[return-value]
    side = int(getattr(space, "input_size", 32) or 32)
    return (3, side, side)


def labelled_logits(model: nn.Module, batch: Batch, metric: str) -> tuple[torch.Tensor, torch.Tensor]:
    """Forward the batch and return (logits, labels), checking the labels fit the network's head.

    The check costs one host sync but turns a CUDA device-side assert (which poisons the worker's
    CUDA context) into a clear error row.
    """
    if batch.y is None:
        raise ValueError(f"metric {metric!r} needs labels but the batch has none")
    logits = model(batch.x)
    if not isinstance(logits, torch.Tensor) or logits.dim() != 2:
        raise ValueError(f"metric {metric!r} needs a [B, num_classes] logits tensor, got "
                         f"{type(logits).__name__} {tuple(getattr(logits, 'shape', ()))}")
    labels = batch.y
    if labels.numel() == 0:
        raise ValueError(f"metric {metric!r} needs labels but the batch has none")
    low, top = torch.stack(torch.aminmax(labels)).tolist()
    if low < 0 or top >= logits.shape[1]:
        raise ValueError(f"metric {metric!r}: labels span {low}..{top} but the network has "
                         f"{logits.shape[1]} outputs; build it with the dataset's class count")
    return logits, labels


def finite_or_raise(value: float, metric: str, what: str = "value") -> float:
    """Return ``value`` when finite; raise a one-line error naming the metric otherwise."""
    if not math.isfinite(value):
        raise ValueError(f"metric {metric!r}: {what} is {value}")
    return value
