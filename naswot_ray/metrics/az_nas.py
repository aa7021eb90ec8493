"""AZ-NAS (Lee & Ham, "AZ-NAS: Assembling Zero-Cost Proxies for Network Architecture Search", CVPR 2024).

Four per-architecture components from one forward and one set of segment VJPs (group ``az_nas``):

- ``az_expressivity`` s^E = sum_t E_t, E_t = spectral entropy of the channel covariance of tap t
  (eigenvalues l of the biased C x C covariance over B*H*W positions, p = l / sum l, E = -sum p ln(p+1e-8));
- ``az_progressivity`` s^P = min_t (E_t - E_{t-1});
- ``az_trainability`` s^T = mean_t [-s - 1/(s+1e-6) + 2], s = largest singular value of
  G_in^T G_out / (B H W), G_in = (df_t/df_{t-1})^T g for a Rademacher g (pixel-unshuffled across a
  stride); -inf for a segment that is exactly the identity (g_in == g);
- ``az_complexity`` s^C = conv/linear FLOPs of one forward of one image (the ``flops`` rule).

Protocol (proxies-sota-spec section 1): fresh Kaiming-normal fan-in init (BN 1/0), train mode, B = 64
Gaussian images drawn from the architecture's seed, no labels. Taps are the space's ``feature_taps``
(NB201: stem and the 17 cells/reduction blocks). Higher is better for all four. NaN in s^E, s^P or s^T
becomes -inf by definition (an all-``none`` network has zero features, hence 0/0 entropies), so -inf
is a legal value. The AZ-NAS score itself, sum of ln(rank/N) over the four, is relative to a pool of
candidates and therefore not a metric: ``analyze`` computes it from these stored components.

Modes: ``reference`` (default; float32 eigvalsh as the official code, where a stray negative
eigenvalue yields NaN, hence -inf) and ``clean`` (float64 covariances and Jacobian products,
eigenvalues clamped at 0). Both keep the autograd graph between VJPs (values are unaffected; it keeps
non-chain graphs correct) and refuse a non-integer stride between taps with one line.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from naswot_ray.data.base import Batch
from naswot_ray.metrics import register_metric
from naswot_ray.metrics.base import BatchNeeds, Metric, MetricNeeds, ScoringContext
from naswot_ray.metrics.flops import count_flops
from naswot_ray.metrics.netutil import derived_generator
from naswot_ray.metrics.proxyutil import (KEY_RADEMACHER, at_least, capture_outputs, kaiming_fan_in, network_parts,
                                          rademacher_like)
from naswot_ray.options import Option

GROUP = "az_nas"
MODES = ("reference", "clean")
EPS_ENTROPY = 1e-8
EPS_SIGMA = 1e-6


BATCH_OPTION = Option("batch_size", int, 64, "Gaussian images per architecture (AZ-NAS: 64)", check=at_least(2, "images"))


def spectral_entropy(feature: torch.Tensor, *, clean: bool = False) -> torch.Tensor:
    """E of one N x C x H x W feature map (0-d tensor; NaN when the covariance is all zero)."""
    channels = feature.shape[1]
    rows = feature.detach().transpose(0, 1).reshape(channels, -1).T
    if clean:
        rows = rows.to(torch.float64)
    centred = rows - rows.mean(dim=0, keepdim=True)
    cov = centred.T @ centred / centred.shape[0]
    eig = torch.linalg.eigvalsh(cov)
    if clean:
        eig = eig.clamp_min(0.0)
    p = eig / eig.sum()
    return -(p * torch.log(p + EPS_ENTROPY)).sum()


def segment_trainability(g_in: torch.Tensor, g_out: torch.Tensor, *, clean: bool = False) -> float:
    """-s - 1/(s + 1e-6) + 2 for one segment's VJP pair (s: top singular value of G_in^T G_out / BHW)."""
    if g_in.shape == g_out.shape and torch.equal(g_in, g_out):
        return -math.inf
    h_in, h_out = g_in.shape[-1], g_out.shape[-1]
    if h_in != h_out:
        if h_in % h_out or g_in.shape[-2] % g_out.shape[-2] or h_in // h_out != g_in.shape[-2] // g_out.shape[-2]:
            raise ValueError(f"az_nas: tap sizes {tuple(g_in.shape[-2:])} -> {tuple(g_out.shape[-2:])} are not an "
                             "integer stride apart; the segment Jacobian is undefined")
        g_in = F.pixel_unshuffle(g_in, h_in // h_out)
    batch, _, height, width = g_out.shape
    dtype = torch.float64 if clean else torch.float32
    rows_in = g_in.transpose(0, 1).reshape(g_in.shape[1], -1).to(dtype)
    rows_out = g_out.transpose(0, 1).reshape(g_out.shape[1], -1).to(dtype)
    m = rows_in @ rows_out.T / (batch * height * width)
    sigma = float(torch.linalg.matrix_norm(m, ord=2))
    return -sigma - 1.0 / (sigma + EPS_SIGMA) + 2.0


def nan_to_neg_inf(value: float) -> float:
    return -math.inf if math.isnan(value) else value


def az_components(model: nn.Module, x: torch.Tensor, taps: list[nn.Module], *, seed: int, clean: bool = False
                  ) -> dict[str, float]:
    """s^E, s^P and s^T of ``model`` (already initialised, in train mode) on the images ``x``.

    One forward with hooks on ``taps``, then one VJP per consecutive pair of taps from the last back
    to the first, each with a Rademacher cotangent drawn from ``seed``.
    """
    outputs: list[torch.Tensor | None] = [None] * len(taps)
    handles = capture_outputs(taps, outputs)
    try:
        with torch.enable_grad():
            model(x)
    finally:
        for handle in handles:
            handle.remove()
    if any(o is None for o in outputs):
        missing = [i for i, o in enumerate(outputs) if o is None]
        raise ValueError(f"az_nas: feature taps {missing} did not run in the forward pass")
    features: list[torch.Tensor] = outputs  # type: ignore[assignment]
    for i, f in enumerate(features):
        if not isinstance(f, torch.Tensor) or f.dim() != 4:
            raise ValueError(f"az_nas: feature tap {i} gives {type(f).__name__} "
                             f"{tuple(getattr(f, 'shape', ()))}, expected an N x C x H x W tensor")
    entropies = [float(spectral_entropy(f, clean=clean)) for f in features]
    expressivity = sum(entropies)
    steps = [b - a for a, b in zip(entropies, entropies[1:])]
    progressivity = math.nan if any(math.isnan(s) for s in steps) else (min(steps) if steps else math.nan)
    generator = derived_generator(seed, KEY_RADEMACHER)
    scores: list[float] = []
    with torch.enable_grad():
        for t in range(len(features) - 1, 0, -1):
            f_out, f_in = features[t], features[t - 1]
            g_out = rademacher_like(f_out, generator)
            g_in = None
            if f_out.requires_grad and f_in.requires_grad:
                (g_in,) = torch.autograd.grad(f_out, f_in, g_out, retain_graph=True, allow_unused=True)
            if g_in is None:  # no path from f_in to f_out: a zero Jacobian
                g_in = torch.zeros_like(f_in)
            scores.append(segment_trainability(g_in.detach(), g_out, clean=clean))
    trainability = sum(scores) / len(scores) if scores else math.nan
    return {"az_expressivity": nan_to_neg_inf(expressivity), "az_progressivity": nan_to_neg_inf(progressivity),
            "az_trainability": nan_to_neg_inf(trainability)}


class AZComponent(Metric):
    """One AZ-NAS component; every member computes all four in one pass (:meth:`score_group`)."""

    group = GROUP
    higher_is_better = True
    version = 1
    needs = MetricNeeds(data=True, labels=False, grad=True)
    modes = MODES
    options = (BATCH_OPTION,)
    legal_nonfinite = frozenset({"-inf"})
    mutates_model = True

    def batch_needs(self, mode: str, options) -> BatchNeeds:
        return BatchNeeds(source="gaussian", size=int(options.get("batch_size", 64)))

    def score_group(self, model: nn.Module, batch: Batch, *, seed: int, mode: str, ctx: ScoringContext
                    ) -> dict[str, float]:
        taps = network_parts(ctx, model).require_taps("az_nas")
        complexity = float(count_flops(model, tuple(batch.x.shape[1:])))
        kaiming_fan_in(model, seed)
        model.train()
        values = az_components(model, batch.x, taps, seed=seed, clean=mode == "clean")
        model.zero_grad(set_to_none=True)
        return {**values, "az_complexity": complexity}

    def score(self, model: nn.Module, batch: Batch, *, seed: int, mode: str, ctx: ScoringContext) -> float:
        return self.score_group(model, batch, seed=seed, mode=mode, ctx=ctx)[self.name]


@register_metric("az_expressivity")
class AZExpressivity(AZComponent):
    name = "az_expressivity"
    description = ("AZ-NAS (CVPR 2024) expressivity: sum over stem/cell taps of the spectral entropy of the "
                   "channel covariance; Gaussian B=64, Kaiming fan-in, 1 forward (group az_nas)")


@register_metric("az_progressivity")
class AZProgressivity(AZComponent):
    name = "az_progressivity"
    description = ("AZ-NAS (CVPR 2024) progressivity: min over consecutive taps of the entropy increase; "
                   "shares az_nas's forward")


@register_metric("az_trainability")
class AZTrainability(AZComponent):
    name = "az_trainability"
    description = ("AZ-NAS (CVPR 2024) trainability: mean over tap segments of -s-1/s+2, s = top singular value "
                   "of the Rademacher segment-VJP product; -inf for an identity segment; 1 forward + segment VJPs")


@register_metric("az_complexity")
class AZComplexity(AZComponent):
    name = "az_complexity"
    description = "AZ-NAS (CVPR 2024) complexity: conv/linear FLOPs of one image (the flops rule); shares az_nas's pass"
    legal_nonfinite = frozenset()
