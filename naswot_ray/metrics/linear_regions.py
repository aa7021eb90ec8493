"""linear_regions: TE-NAS number of linear regions R-hat (Chen et al., ICLR 2021).

Per repeat: Kaiming-normal re-init (fan_in, ReLU gain; biases 0, BN 1/0), forwards without
gradients, and the activation pattern of every sample: 1[out > 0] of every exact ``nn.ReLU`` whose
input is 4-D (conv feature maps; F.relu, ReLU6 and 2-D ReLUs are not counted), concatenated.
R-hat = the number of distinct patterns (= sum_n 1/|{m : a_m = a_n}|, the reference's formula).
The mean over 3 repeats; higher is better. No labels, no backward.

Modes:
- ``auto`` (default): ``thin`` where the space offers a thin network, else ``full``.
- ``thin``: TE-NAS's setting. The space's ``build_thin(arch)`` network (NB201: the cell at
  C=1, N=1, no stem, one input channel) fed 3 batches of 1000 random 3x3 crops of one random channel
  of random batch images, seeded by ``seed``: M = 3000 samples per repeat. Raises for a space
  without ``build_thin``.
- ``full``: the benchmark network fed the batch images (M = B). With full-size inputs nearly every
  image lands in its own region, so R-hat saturates at M (TENAS issue #10); a saturated value is
  logged as a warning because it carries no ranking information.
"""

from __future__ import annotations

import logging

import torch
from torch import nn

from naswot_ray.data.base import Batch
from naswot_ray.metrics import register_metric
from naswot_ray.metrics.base import Metric, MetricNeeds, ScoringContext
from naswot_ray.metrics.netutil import derived_generator, kaiming_normal_reinit

log = logging.getLogger(__name__)

REPEATS = 3
PATCH = 3
PATCH_BATCHES = 3
PATCH_BATCH_SIZE = 1000
_SALT = 0x4C52  # "LR": keeps this metric's random stream apart from other metrics'


def random_patches(x: torch.Tensor, count: int, generator: torch.Generator) -> torch.Tensor:
    """``count`` random PATCHxPATCH crops (no padding) of one random channel of random images: [count, 1, P, P]."""
    n, c, h, w = x.shape
    if h < PATCH or w < PATCH:
        raise ValueError(f"metric 'linear_regions': images of {h}x{w} are smaller than the {PATCH}x{PATCH} patches")
    image = torch.randint(0, n, (count,), generator=generator)
    channel = torch.randint(0, c, (count,), generator=generator)
    top = torch.randint(0, h - PATCH + 1, (count,), generator=generator)
    left = torch.randint(0, w - PATCH + 1, (count,), generator=generator)
    offsets = torch.arange(PATCH)
    rows = (top[:, None] + offsets)[:, :, None]  # [count, P, 1]
    cols = (left[:, None] + offsets)[:, None, :]  # [count, 1, P]
    index = [t.to(x.device) for t in (image[:, None, None], channel[:, None, None], rows, cols)]
    return x[index[0], index[1], index[2], index[3]].unsqueeze(1)


class PatternRecorder:
    """Forward hooks on exact nn.ReLU modules collecting each sample's binary activation pattern."""

    def __init__(self, model: nn.Module) -> None:
        self.parts: list[torch.Tensor] = []
        relus = [m for m in model.modules() if type(m) is nn.ReLU]
        self.handles = [m.register_forward_hook(self._record) for m in relus]

    def _record(self, _module: nn.Module, inputs: tuple, output: torch.Tensor) -> None:
        if inputs[0].dim() == 4:
            self.parts.append((output > 0).reshape(output.shape[0], -1))

    def patterns(self) -> torch.Tensor:
        """[samples of the forwards so far, units] bool; pops what was recorded."""
        if not self.parts:
            raise ValueError("metric 'linear_regions': the network has no nn.ReLU on a 4-D input")
        out = torch.cat(self.parts, dim=1)
        self.parts = []
        return out

    def remove(self) -> None:
        for handle in self.handles:
            handle.remove()


def count_distinct_rows(patterns: torch.Tensor) -> int:
    """Number of distinct rows of a bool matrix (rows packed into bytes first, to sort less data)."""
    m, units = patterns.shape
    pad = (-units) % 8
    if pad:
        patterns = torch.cat([patterns, patterns.new_zeros((m, pad))], dim=1)
    bits = patterns.reshape(m, -1, 8).to(torch.uint8)
    weights = torch.tensor([1, 2, 4, 8, 16, 32, 64, 128], dtype=torch.uint8, device=patterns.device)
    packed = (bits * weights).sum(dim=2, dtype=torch.uint8)
    return int(torch.unique(packed, dim=0).shape[0])


def count_regions(model: nn.Module, inputs: list[torch.Tensor]) -> int:
    """Distinct activation patterns of ``model`` over the samples of all ``inputs`` batches."""
    recorder = PatternRecorder(model)
    try:
        with torch.no_grad():
            rows = []
            for chunk in inputs:
                model(chunk)
                rows.append(recorder.patterns())
    finally:
        recorder.remove()
    return count_distinct_rows(torch.cat(rows, dim=0))


@register_metric("linear_regions")
class LinearRegions(Metric):
    name = "linear_regions"
    description = ("Chen et al. 2021 (TE-NAS): distinct ReLU activation patterns over 3000 random 3x3 patches "
                   "on the thin network (Kaiming fan_in), mean of 3; 3 forwards per repeat, no labels")
    higher_is_better = True
    needs = MetricNeeds(data=True, labels=False, grad=False)
    mutates_model = True
    modes = ("auto", "thin", "full")
    repeats: int = REPEATS

    def score(self, model: nn.Module, batch: Batch, *, seed: int, mode: str, ctx: ScoringContext) -> float:
        has_thin = callable(getattr(ctx.space, "build_thin", None))
        if mode == "thin" and not has_thin:
            raise ValueError(f"metric 'linear_regions': space {getattr(ctx.space, 'name', ctx.space)!r} "
                             "has no thin network (build_thin); use mode 'full'")
        thin = mode == "thin" or (mode == "auto" and has_thin)
        net = self._thin_network(model, ctx) if thin else model
        counts = []
        for repeat in range(self.repeats):
            generator = derived_generator(seed, _SALT, repeat)
            kaiming_normal_reinit(net, mode="fan_in", generator=generator)
            if thin:
                inputs = [random_patches(batch.x, PATCH_BATCH_SIZE, generator) for _ in range(PATCH_BATCHES)]
            else:
                inputs = [batch.x]
            counts.append(count_regions(net, inputs))
        samples = sum(chunk.shape[0] for chunk in inputs)
        if not thin and max(counts) >= samples:
            log.warning("linear_regions (full) saturated for %s: %d regions for %d samples; "
                        "the value carries no ranking information", ctx.arch, max(counts), samples)
        return sum(counts) / len(counts)

    @staticmethod
    def _thin_network(model: nn.Module, ctx: ScoringContext) -> nn.Module:
        """The space's thin network on the model's device and in its BN mode (global RNG untouched)."""
        with torch.random.fork_rng(devices=[]):
            net = ctx.space.build_thin(ctx.arch)  # type: ignore[attr-defined]
        param = next(model.parameters(), None)
        device = param.device if param is not None else ctx.device
        return net.to(device).train(model.training)
