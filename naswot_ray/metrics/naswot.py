"""NASWOT (Mellor et al., ICML 2021): log|det K| of the rectifier-code kernel of one mini-batch.

K = sum over rectifier calls of C C^T + (1-C)(1-C)^T, with C the 0/1 code 1[input > 0] of each unit
for each image; computed from the accumulated Gram matrix of the codes, one GEMM per rectifier call.
One inference-mode forward, no labels, no backward; higher is better.

Modes (recorded in the score row):
- ``reference`` (default): hook every module whose ``str(type(module))`` contains "ReLU", as the
  reference code does. In NB201 that also matches the ``ReLUConvBN`` containers, so every conv
  edge's rectifier is counted twice, which is what the published numbers contain.
- ``clean``: each rectifier module (ReLU, ReLU6, LeakyReLU, PReLU, RReLU) exactly once.
- ``faithful``: the reference's own procedure, slowly: forward with an input gradient, backward of
  the outputs (which marks the rectifiers that receive a gradient), a second forward adding the marked
  modules' float32 products into a float64 numpy array. Same value as ``reference`` on every space we
  ship (tested); kept for regression checks and as the baseline of ``benchmarks/throughput.py``.

Why codes from the rectifier's output: 1[x > 0] equals sign(ReLU(x)), one cheap pass that is also
right for in-place ReLUs. Why exact arithmetic: every per-call GEMM of 0/1 codes is an integer below
2^24 (exact in float32, TF32 and fp16-in/fp32-out), and the sum is kept in float64, so K is exact and
the only rounding left is float64 ``slogdet``. A singular K (e.g. an all-``none`` cell, whose codes
are identical for every image) gives -inf, a legal value.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable

import numpy as np
import torch
from torch import nn

from naswot_ray.data.base import Batch
from naswot_ray.metrics import register_metric
from naswot_ray.metrics.base import ForwardObserver, Metric, MetricNeeds, ScoringContext

RECTIFIERS = (nn.ReLU, nn.ReLU6, nn.LeakyReLU, nn.PReLU, nn.RReLU)
#: rectifiers whose output is >= 0, so sign(output) is exactly the 0/1 code 1[input > 0]
NONNEGATIVE = (nn.ReLU, nn.ReLU6)


def hooked_modules(model: nn.Module, mode: str) -> list[nn.Module]:
    """The modules whose inputs feed K under ``mode`` (see the module docstring)."""
    if mode == "reference":
        return [m for m in model.modules() if "ReLU" in str(type(m))]
    return [m for m in model.modules() if isinstance(m, RECTIFIERS)]


class KernelAccumulator:
    """Accumulates the Gram matrix of 0/1 codes, G = sum_l w_l C_l C_l^T (float64), and N_A.

    K follows from G alone: per layer C C^T + (1-C)(1-C)^T = 2 C C^T - r 1^T - 1 r^T + n J, with
    r = row sums of C = diag(C C^T), so K = 2G - d 1^T - 1 d^T + N_A J with d = diag(G). One GEMM and
    no extra elementwise pass per rectifier call; every per-call product is an exact integer.
    """

    def __init__(self) -> None:
        self.gram: torch.Tensor | None = None
        self.units = 0
        self.calls = 0

    def add_codes(self, codes: torch.Tensor, weight: int = 1) -> None:
        """Add 0/1 ``codes`` (any shape with the batch first) counted ``weight`` times."""
        c = per_sample_rows(codes)
        if c.dtype != torch.float32:
            c = c.to(torch.float32)
        product = _gram(c)
        if weight != 1:
            product = product.mul_(weight)
        if self.gram is None:
            self.gram = product.to(torch.float64)
        else:
            self.gram.add_(product)
        self.units += weight * c.shape[1]
        self.calls += weight

    def add(self, activations: torch.Tensor) -> None:
        """Add the codes 1[a > 0] of pre-activation inputs ``a``."""
        self.add_codes(activations.detach().gt(0))

    def kernel(self) -> torch.Tensor:
        if self.gram is None:
            raise ValueError("the network has no rectifier to hook; NASWOT is undefined for it")
        d = torch.diagonal(self.gram)
        return 2.0 * self.gram - d.unsqueeze(0) - d.unsqueeze(1) + float(self.units)

    def logdet(self) -> float:
        _sign, logabs = torch.linalg.slogdet(self.kernel().cpu())
        return float(logabs)


def per_sample_rows(t: torch.Tensor) -> torch.Tensor:
    """A (batch, units) view of ``t`` without copying: units in memory order, which K does not see
    (it sums over units), so a channels_last activation needs no NCHW copy."""
    if t.dim() == 4 and not t.is_contiguous() and t.is_contiguous(memory_format=torch.channels_last):
        return t.permute(0, 2, 3, 1).reshape(t.shape[0], -1)
    return t.reshape(t.shape[0], -1)


def _gram(c: torch.Tensor) -> torch.Tensor:
    """c @ c.T, exact for 0/1 inputs: fp16 tensor cores with fp32 output on CUDA, fp32 elsewhere."""
    if c.is_cuda:
        half = c.to(torch.float16)
        try:
            return torch.mm(half, half.T, out_dtype=torch.float32)
        except (TypeError, RuntimeError):
            pass
    return c @ c.T


class _Hooks:
    """Forward hooks that feed a :class:`KernelAccumulator` for one forward pass.

    Rectifiers read their codes off their *output* (sign(ReLU(x)) = 1[x > 0], one cheap pass, and
    correct for in-place ReLUs). A hooked container (reference mode) whose input goes straight into a
    hooked rectifier is not computed again: the rectifier's product is counted once more instead.
    Containers whose input reaches no hooked rectifier are computed from their input at the end.
    """

    def __init__(self, model: nn.Module, mode: str) -> None:
        self.acc = KernelAccumulator()
        self.pending: dict[int, tuple[torch.Tensor, int]] = {}
        self.handles = []
        for module in hooked_modules(model, mode):
            if isinstance(module, RECTIFIERS):
                self.handles.append(module.register_forward_hook(self._rectifier))
            else:
                self.handles.append(module.register_forward_pre_hook(self._container))

    def _container(self, _module: nn.Module, inputs: tuple[torch.Tensor, ...]) -> None:
        tensor = inputs[0]
        _, count = self.pending.get(id(tensor), (tensor, 0))
        self.pending[id(tensor)] = (tensor, count + 1)

    def _rectifier(self, module: nn.Module, inputs: tuple[torch.Tensor, ...], output: torch.Tensor) -> None:
        weight = 1
        entry = self.pending.pop(id(inputs[0]), None)
        if entry is not None and entry[0] is inputs[0]:
            weight += entry[1]
        if isinstance(module, NONNEGATIVE):
            codes = torch.sign(output.detach())
        else:
            codes = output.detach().gt(0)
        self.acc.add_codes(codes, weight)

    def finish(self) -> float:
        for handle in self.handles:
            handle.remove()
        for tensor, count in self.pending.values():
            self.acc.add_codes(tensor.detach().gt(0), count)
        self.pending.clear()
        return self.acc.logdet()


def faithful_logdet(model: nn.Module, x: torch.Tensor) -> float:
    """The reference three-pass procedure (see ``faithful`` in the module docstring)."""
    batch_size = x.shape[0]
    kernel = np.zeros((batch_size, batch_size), dtype=np.float64)
    visited: set[int] = set()
    counting = False

    def forward_hook(module: nn.Module, inputs: tuple[torch.Tensor, ...], _output: torch.Tensor) -> None:
        nonlocal kernel
        if counting and id(module) in visited:
            codes = (inputs[0].detach().reshape(batch_size, -1) > 0).float()
            kernel = kernel + (codes @ codes.t()).cpu().numpy() + ((1.0 - codes) @ (1.0 - codes.t())).cpu().numpy()

    def backward_hook(module: nn.Module, _grad_in: object, _grad_out: object) -> None:
        visited.add(id(module))

    handles = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)  # the reference's module backward hook is deprecated
        for module in hooked_modules(model, "reference"):
            handles.append(module.register_forward_hook(forward_hook))
            handles.append(module.register_backward_hook(backward_hook))
        try:
            probe = x.clone().requires_grad_(True)
            output = model(probe)
            output.backward(torch.ones_like(output))
            counting = True
            with torch.no_grad():
                model(x.clone())
        finally:
            for handle in handles:
                handle.remove()
            model.zero_grad(set_to_none=True)
    _sign, logdet = np.linalg.slogdet(kernel)
    return float(logdet)


@register_metric("naswot")
class NaswotMetric(Metric, ForwardObserver):
    name = "naswot"
    description = "Mellor et al. ICML 2021, log|det K|, K = sum_l C C^T + (1-C)(1-C)^T over ReLU codes; 1 forward, no labels"
    higher_is_better = True
    legal_nonfinite = frozenset({"-inf"})
    needs = MetricNeeds(data=True, labels=False, grad=False)
    modes = ("reference", "clean", "faithful")

    def attach(self, model: nn.Module, batch: Batch, *, mode: str) -> Callable[[], float]:
        return _Hooks(model, mode).finish

    def observes(self, mode: str) -> bool:
        return mode != "faithful"

    def score(self, model: nn.Module, batch: Batch, *, seed: int, mode: str, ctx: ScoringContext) -> float:
        if mode == "faithful":
            return faithful_logdet(model, batch.x)
        finish = self.attach(model, batch, mode=mode)
        try:
            with torch.inference_mode():
                model(batch.x)
        except BaseException:
            finish()
            raise
        return finish()
