"""MeCo (Jiang, Wang, Bie, "MeCo: Zero-Shot NAS with One Data and Single Forward Pass via Minimum
Eigenvalue of Correlation", NeurIPS 2023).

MeCo = sum over every module's output O (the root and every container included) of lambda_min(P),
P = the C x C Pearson correlation between the channels of O's first sample across its H*W positions,
NaN/inf entries of P set to 0, lambda_min = its smallest eigenvalue (proxies-sota-spec section 3). A constant channel (a zero op's output) gives an exact eigenvalue 0,
post-pooling outputs and logits (one column) contribute 0. Tuple outputs count their first element;
non-tensor outputs are skipped (the reference crashes on them).

Protocol: one real image (the first of the run batch, as the NB201 correlation script), the network as
constructed (default init), train mode, one forward, no labels, no backward. Higher is better.

The official code takes the smallest real part from a general eigensolver (``torch.linalg.eig``); P is
symmetric, so the symmetric solver used here (``eigvalsh``, float32) gives the same eigenvalues to
float32 round-off (about 1e-7 of ||P||) at a quarter to a fifth of the cost, which dominates MeCo;
where LAPACK's symmetric solver fails to converge (degenerate matrices), the general one is used.

Modes: ``reference`` (the official computation, as above) and ``opt`` (MeCo_opt: 8
channels drawn without replacement from the architecture's seed, lambda_min of their 8 x 8
correlation times C/8; a module with fewer than 8 channels uses all of them, where the reference
crashes).
"""

from __future__ import annotations

import math
import warnings

import torch
from torch import nn

from naswot_ray.data.base import Batch
from naswot_ray.metrics import register_metric
from naswot_ray.metrics.base import BatchNeeds, Metric, MetricNeeds, ScoringContext
from naswot_ray.metrics.netutil import derived_generator
from naswot_ray.metrics.proxyutil import KEY_CHANNELS, at_least
from naswot_ray.options import Option

OPT_CHANNELS = 8


def first_sample_rows(output: object) -> torch.Tensor | None:
    """Output's first sample as C x (H*W) rows, or None when the output is not a tensor."""
    if isinstance(output, (tuple, list)):
        output = output[0] if output else None
    if not isinstance(output, torch.Tensor) or output.dim() < 1 or output.shape[0] < 1:
        return None
    first = output[0].detach()
    if first.dim() == 0:
        return None
    return first.reshape(first.shape[0], -1)


def min_eigenvalue_of_correlation(rows: torch.Tensor) -> float:
    """lambda_min of the zero-filled Pearson correlation of ``rows`` (symmetric solver, float32)."""
    with warnings.catch_warnings():  # one column (logits, pooled features): undefined, zero-filled below
        warnings.simplefilter("ignore", UserWarning)
        corr = torch.corrcoef(rows.to(torch.float32))
    if corr.dim() == 0:
        corr = corr.reshape(1, 1)
    corr = torch.nan_to_num(corr, nan=0.0, posinf=0.0, neginf=0.0)
    try:
        return float(torch.linalg.eigvalsh(corr).min())
    except torch.linalg.LinAlgError:  # LAPACK's symmetric solver can fail on degenerate matrices
        return float(torch.linalg.eigvals(corr.cpu()).real.min())


def meco_sum(outputs: list[torch.Tensor], *, opt: bool, generator: torch.Generator) -> float:
    total = 0.0
    for rows in outputs:
        channels = rows.shape[0]
        if opt and channels > OPT_CHANNELS:
            pick = torch.randperm(channels, generator=generator)[:OPT_CHANNELS]
            value = min_eigenvalue_of_correlation(rows[pick.to(rows.device)]) * channels / OPT_CHANNELS
        else:
            value = min_eigenvalue_of_correlation(rows)
        if math.isfinite(value):
            total += value
    return total


@register_metric("meco")
class MeCo(Metric):
    name = "meco"
    description = ("MeCo (NeurIPS 2023): sum over every module output of the min eigenvalue of the channel "
                   "correlation of one image; default init, 1 forward, no labels")
    higher_is_better = True
    version = 1
    legal_nonfinite: frozenset[str] = frozenset()
    needs = MetricNeeds(data=True, labels=False, grad=False)
    modes = ("reference", "opt")
    options = (Option("images", int, 1, "images forwarded (the reference: 1; only the first one's outputs are "
                      "read, more only change the train-mode BN statistics, e.g. to run 1x1 feature maps)",
                      check=at_least(1)),)
    mutates_model = True

    def batch_needs(self, mode: str, options) -> BatchNeeds:
        return BatchNeeds("run", size=int(options["images"]))

    def score(self, model: nn.Module, batch: Batch, *, seed: int, mode: str, ctx: ScoringContext) -> float:
        outputs: list[torch.Tensor] = []

        def hook(_module: nn.Module, _inputs: tuple, output: object) -> None:
            rows = first_sample_rows(output)
            if rows is not None:
                outputs.append(rows)

        handles = [m.register_forward_hook(hook) for m in model.modules()]
        model.train()
        try:
            with torch.no_grad():
                model(batch.x[:int(ctx.options.get("images", 1))])
        finally:
            for handle in handles:
                handle.remove()
        return meco_sum(outputs, opt=mode == "opt", generator=derived_generator(seed, KEY_CHANNELS))
