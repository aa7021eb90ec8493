"""Building blocks of the 2021-2025 training-free proxies (AZ-NAS, ZiCo, MeCo, SWAP, Zen, VKDNW, NASLib's).

Why one module: each proxy re-initialises a fresh network its own way (proxies-sota-spec 0.2), reads
parts of the network the space names (spec 0.1), and draws its random inputs from the architecture's
seed. Keeping those notions here makes "the same init" and "the same batch" mean the same thing in
every proxy, which is what lets two proxies share a pass (:mod:`naswot_ray.metrics.shared`).
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import nn
from torch.nn.modules.batchnorm import _BatchNorm

from naswot_ray.data.base import Batch
from naswot_ray.metrics.base import ScoringContext
from naswot_ray.metrics.netutil import WEIGHT_LAYERS, derived_generator, kaiming_normal_reinit
from naswot_ray.spaces.parts import NetworkParts, generic_parts

#: stream keys of :func:`derived_generator`, one per kind of random draw, so draws never collide
KEY_KAIMING = 101
KEY_NORMAL = 102
KEY_RADEMACHER = 103
KEY_CHANNELS = 104
KEY_ZEN_INPUT = 105


def at_least(n: int, what: str = "") -> Callable[[object], str | None]:
    """An option check: the value must be >= ``n`` (one line naming the bound otherwise)."""
    def check(value: object) -> str | None:
        return None if int(value) >= n else f"must be at least {n}{' ' + what if what else ''}"
    return check


def network_parts(ctx: ScoringContext | None, model: nn.Module) -> NetworkParts:
    """The parts the space declares for ``model``, or the generic fallback for outside models."""
    space = getattr(ctx, "space", None)
    finder = getattr(space, "network_parts", None)
    return finder(model) if callable(finder) else generic_parts(model)


@torch.no_grad()
def reset_batchnorm(model: nn.Module) -> None:
    """Fresh BN statistics (mean 0, var 1, no batches seen) and affine gamma 1 / beta 0."""
    for module in model.modules():
        if isinstance(module, _BatchNorm):
            if module.track_running_stats:
                module.reset_running_stats()
            if module.affine:
                module.weight.fill_(1.0)
                module.bias.zero_()


def kaiming_fan_in(model: nn.Module, seed: int) -> nn.Module:
    """AZ-NAS / VKDNW init (spec 0.2): conv/linear ~ N(0, 2/fan_in), biases 0, BN 1/0, fresh stats."""
    kaiming_normal_reinit(model, mode="fan_in", generator=derived_generator(seed, KEY_KAIMING))
    reset_batchnorm(model)
    return model


@torch.no_grad()
def standard_normal(model: nn.Module, generator: torch.Generator) -> nn.Module:
    """Zen / SWAP init (spec 0.2): conv/linear weights ~ N(0, 1) unscaled, biases 0, BN 1/0, fresh stats.

    Drawn on the CPU from ``generator`` (identical on every device), then copied to the weights.
    """
    for module in model.modules():
        if isinstance(module, WEIGHT_LAYERS):
            draw = torch.empty(module.weight.shape, dtype=torch.float32).normal_(0.0, 1.0, generator=generator)
            module.weight.copy_(draw)
            if module.bias is not None:
                module.bias.zero_()
    reset_batchnorm(model)
    return model


def rademacher_like(t: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """+-1 entries with probability 1/2 each, ``t``'s shape, drawn on the CPU."""
    signs = torch.randint(0, 2, t.shape, generator=generator, dtype=torch.int8).to(t.dtype).mul_(2).sub_(1)
    return signs.to(t.device)


def capture_outputs(modules: list[nn.Module], store: list[torch.Tensor | None]) -> list:
    """Forward hooks writing each module's (single) output into ``store`` at its position.

    A module called twice in one forward would make "its output" ambiguous: that raises.
    """
    def hook_for(position: int) -> Callable:
        def hook(_module: nn.Module, _inputs: tuple, output: torch.Tensor) -> None:
            if store[position] is not None:
                raise ValueError(f"feature tap {position} ran twice in one forward; taps must be called once")
            store[position] = output
        return hook

    return [module.register_forward_hook(hook_for(i)) for i, module in enumerate(modules)]


def needs_labels(batch: Batch, metric: str) -> torch.Tensor:
    """The batch's labels, or one clear line saying the metric needs them."""
    if batch.y is None or batch.y.numel() == 0:
        raise ValueError(f"metric {metric!r} needs labels, and this batch ({batch.provenance.dataset}) has none; "
                         "use a labelled dataset (cifar10, cifar100, imagenet16-120 or an npz with labels)")
    return batch.y


def logits_of(model: nn.Module, x: torch.Tensor, metric: str) -> torch.Tensor:
    """The model's [B, K] logits, or one clear line when the output is not such a tensor."""
    out = model(x)
    if not isinstance(out, torch.Tensor) or out.dim() != 2:
        raise ValueError(f"metric {metric!r} needs a [B, num_classes] logits tensor, got {type(out).__name__} "
                         f"{tuple(getattr(out, 'shape', ()))}")
    return out


__all__ = ["at_least", "network_parts", "reset_batchnorm", "kaiming_fan_in", "standard_normal", "rademacher_like",
           "capture_outputs", "needs_labels", "logits_of"]
