"""NASWOT (Mellor et al., ICML 2021): log|det K| of the rectifier-code kernel of one mini-batch.

K = sum over rectifier calls of C C^T + (1-C)(1-C)^T, with C the 0/1 code 1[input > 0] of each unit
for each image; computed as K = (S S^T + N_A)/2 with S = 2C-1, one GEMM per rectifier call.
One inference-mode forward, no labels, no backward; higher is better.

Modes (recorded in the score row):
- ``reference`` (default): hook every module whose ``str(type(module))`` contains "ReLU", as the
  reference code does. In NB201 that also matches the ``ReLUConvBN`` containers, so every conv
  edge's rectifier is counted twice, which is what the published numbers contain.
- ``clean``: each rectifier module (ReLU, ReLU6, LeakyReLU, PReLU, RReLU) exactly once.

Why a pre-hook on the module input: 1[x > 0] equals 1[ReLU(x) > 0], and a pre-hook sees the input
before an in-place ReLU overwrites it. Why exact arithmetic: every per-call GEMM of +-1 codes is an
integer below 2^24 (exact in float32 and TF32), and the sum is kept in float64, so K is exact and
the only rounding left is float64 ``slogdet``. A singular K (e.g. an all-``none`` cell, whose codes
are identical for every image) gives -inf, a legal value.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import nn

from naswot_ray.data.base import Batch
from naswot_ray.metrics import register_metric
from naswot_ray.metrics.base import ForwardObserver, Metric, MetricNeeds, ScoringContext

RECTIFIERS = (nn.ReLU, nn.ReLU6, nn.LeakyReLU, nn.PReLU, nn.RReLU)


def hooked_modules(model: nn.Module, mode: str) -> list[nn.Module]:
    """The modules whose inputs feed K under ``mode`` (see the module docstring)."""
    if mode == "reference":
        return [m for m in model.modules() if "ReLU" in str(type(m))]
    return [m for m in model.modules() if isinstance(m, RECTIFIERS)]


class KernelAccumulator:
    """Accumulates K = sum S S^T (float64, on the model's device) and N_A from rectifier inputs."""

    def __init__(self) -> None:
        self.gram: torch.Tensor | None = None
        self.units = 0
        self.calls = 0

    def add(self, activations: torch.Tensor) -> None:
        a = activations.detach().reshape(activations.shape[0], -1)
        signs = (a > 0).to(torch.float32).mul_(2.0).sub_(1.0)
        product = signs @ signs.T
        if self.gram is None:
            self.gram = product.to(torch.float64)
        else:
            self.gram.add_(product)
        self.units += a.shape[1]
        self.calls += 1

    def kernel(self) -> torch.Tensor:
        if self.gram is None:
            raise ValueError("the network has no rectifier to hook; NASWOT is undefined for it")
        return (self.gram + float(self.units)) * 0.5

    def logdet(self) -> float:
        _sign, logabs = torch.linalg.slogdet(self.kernel().cpu())
        return float(logabs)


@register_metric("naswot")
class NaswotMetric(Metric, ForwardObserver):
    name = "naswot"
    description = "Mellor et al. ICML 2021, log|det K|, K = sum_l C C^T + (1-C)(1-C)^T over ReLU codes; 1 forward, no labels"
    higher_is_better = True
    needs = MetricNeeds(data=True, labels=False, grad=False)
    modes = ("reference", "clean")

    def attach(self, model: nn.Module, batch: Batch, *, mode: str) -> Callable[[], float]:
        acc = KernelAccumulator()

        def hook(_module: nn.Module, inputs: tuple[torch.Tensor, ...]) -> None:
            acc.add(inputs[0])

        handles = [m.register_forward_pre_hook(hook) for m in hooked_modules(model, mode)]

        def finish() -> float:
            for handle in handles:
                handle.remove()
            return acc.logdet()

        return finish

    def score(self, model: nn.Module, batch: Batch, *, seed: int, mode: str, ctx: ScoringContext) -> float:
        finish = self.attach(model, batch, mode=mode)
        try:
            with torch.inference_mode():
                model(batch.x)
        except BaseException:
            finish()
            raise
        return finish()
