"""SWAP (Peng, Song, Fayek, Ciesielski, Chang, "SWAP-NAS: Sample-Wise Activation Patterns for
Ultra-fast NAS", ICLR 2024).

SWAP = the number of distinct N-bit columns of A = 1[a > 0], where A (N x M) concatenates, per image,
the outputs of every rectifier whose input is a 4-D feature map (the space's ``activation_sites``;
rectifiers of fully connected heads are ignored); bounded by min(M, 2^N). Averaged over R repeats,
each re-drawing conv/linear weights from N(0, 1) (biases 0, BN 1/0). Proxies-sota-spec section 4.

Protocol: the first 16 images of the run batch (the reference's first batch of an unshuffled loader),
R = 32 (``correlation.py``), train mode, no labels, no backward: R forwards at B = 16. Higher is better.
An all-``none`` network has one pattern (SWAP = 1). Each column's N <= 63 bits are packed into one
int64 before counting, which gives the reference's count exactly, far faster.
``swap_reg`` (its own module) multiplies this count by a size prior and reads it from the same
passes when both are requested.
"""

from __future__ import annotations

import torch
from torch import nn

from naswot_ray.data.base import Batch
from naswot_ray.metrics import register_metric
from naswot_ray.metrics.base import BatchNeeds, Metric, MetricNeeds, ScoringContext
from naswot_ray.metrics.netutil import derived_generator
from naswot_ray.metrics.proxyutil import KEY_NORMAL, at_least, network_parts, standard_normal
from naswot_ray.metrics.shared import shared_passes
from naswot_ray.options import Option

MAX_IMAGES = 63  # bits of one packed int64 column


def _images(value: object) -> str | None:
    return None if 1 <= int(value) <= MAX_IMAGES else f"must be between 1 and {MAX_IMAGES}"


SWAP_OPTIONS = (Option("images", int, 16, "real images (the first of the run batch)", check=_images),
                Option("repeats", int, 32, "re-initialisations averaged",
                       check=at_least(1)))


def pattern_codes(activation: torch.Tensor) -> torch.Tensor:
    """One int64 per neuron: bit n set when image n activates it (``activation`` is N x ...)."""
    n = activation.shape[0]
    bits = activation.detach().reshape(n, -1).gt(0).to(torch.int64)
    weights = torch.pow(2, torch.arange(n, dtype=torch.int64, device=bits.device)).unsqueeze(1)
    return (bits * weights).sum(dim=0)


def count_patterns(model: nn.Module, sites: list[nn.Module], x: torch.Tensor) -> int:
    """Distinct activation patterns of one forward of ``x`` over the rectifiers ``sites``."""
    codes: list[torch.Tensor] = []

    def hook(_module: nn.Module, inputs: tuple, output: torch.Tensor) -> None:
        if inputs and isinstance(inputs[0], torch.Tensor) and inputs[0].dim() == 4:
            codes.append(pattern_codes(output))

    handles = [m.register_forward_hook(hook) for m in sites]
    try:
        with torch.no_grad():
            model(x)
    finally:
        for handle in handles:
            handle.remove()
    if not codes:
        raise ValueError("swap needs rectifier modules on 4-D feature maps; this network declares none")
    return int(torch.unique(torch.cat(codes)).numel())


def swap_score(model: nn.Module, x: torch.Tensor, *, seed: int, repeats: int, ctx: object) -> float:
    """Mean pattern count over ``repeats`` N(0, 1) re-initialisations of ``model`` (train mode)."""
    sites = network_parts(ctx, model).activation_sites  # type: ignore[arg-type]
    generator = derived_generator(seed, KEY_NORMAL)
    model.train()
    total = 0
    for _ in range(repeats):
        standard_normal(model, generator)
        total += count_patterns(model, sites, x)
    return total / repeats


def shared_swap(model: nn.Module, batch: Batch, *, seed: int, ctx: ScoringContext, images: int, repeats: int) -> float:
    """SWAP for these options, computed once per architecture however many metrics read it."""
    if batch.size < images:
        raise ValueError(f"swap needs {images} images and the run batch has {batch.size}; use --batch-size {images} "
                         "or a smaller images option")
    return shared_passes(ctx).get(("swap", images, repeats), lambda: swap_score(
        model, batch.x[:images], seed=seed, repeats=repeats, ctx=ctx))


@register_metric("swap")
class Swap(Metric):
    name = "swap"
    description = ("SWAP (ICLR 2024): distinct sample-wise ReLU patterns over 16 real images, mean of 32 N(0,1) "
                   "re-inits; 32 forwards at B=16, no labels")
    higher_is_better = True
    version = 1
    legal_nonfinite: frozenset[str] = frozenset()
    needs = MetricNeeds(data=True, labels=False, grad=False)
    options = SWAP_OPTIONS
    mutates_model = True

    def batch_needs(self, mode: str, options) -> BatchNeeds:
        return BatchNeeds("run", size=int(options["images"]))

    def score(self, model: nn.Module, batch: Batch, *, seed: int, mode: str, ctx: ScoringContext) -> float:
        return shared_swap(model, batch, seed=seed, ctx=ctx, images=int(ctx.options.get("images", 16)),
                           repeats=int(ctx.options.get("repeats", 32)))
