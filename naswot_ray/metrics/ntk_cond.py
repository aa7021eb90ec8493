"""ntk_cond: TE-NAS condition number of the neural tangent kernel (Chen et al., ICLR 2021).

Per repeat: Kaiming-normal re-init (fan_out, ReLU gain) of conv/linear weights, biases 0, BN 1/0;
G = Jacobian of theta -> (sum_c z_{n,c}(theta; X))_{n=1..B} w.r.t. every parameter whose name
contains "weight" (conv, linear and BN gamma; the class-summed NTK); Theta = G G^T in float64;
kappa = lambda_max / lambda_min from ``eigvalsh``. The mean over 3 repeats; lower is better.

On CUDA one reverse-mode Jacobian (``torch.func.jacrev``: vmapped vector-Jacobian products of one
forward, 1024/B cotangents at a time) replaces the reference's B retained-graph backward passes; on the
CPU those B backward passes are faster and are used (same matrix up to rounding). With train-mode
BN the output of sample n depends on every input, which both forms keep (a vmap over per-sample
calls would not). The batch is used as given (paper: B=32, TE-NAS code: 72 for NB201).

Modes (which network the kernel is taken of):

- ``auto`` (default): ``tenas`` where the space offers a proxy network (``build_proxy``), else ``full``.
- ``tenas``: TE-NAS's size. TE-NAS computes kappa on its pruning supernet at C=3, N=1 with stem, not
  on the C=16, N=5 benchmark network; here the architecture's own cell in that skeleton,
  ``space.build_proxy(arch, num_classes, C=PROXY_C, N=PROXY_N)`` (NB201: the benchmark builder at
  C=3, N=1), with the run's head size. Raises for a space without ``build_proxy``. Why the default:
  on the CPU the full network costs 30-120 s per NB201 cell at B=32 (B backward passes through 17
  layers, 3 repeats), the proxy 2-4 s (measured on a shared 2-core machine), and the proxy's size is
  what TE-NAS computed its kappa at.
- ``full``: the benchmark network the worker built (metrics-spec 2.4's per-architecture design choice).

Width and depth of the proxy are the module constants PROXY_C / PROXY_N, the batch size is the run's
``--batch-size`` (paper: 32, TE-NAS code: 72), the repeats are the class attribute ``repeats``.

Degenerate kernels, documented choices: lambda_min is clamped up to the float64 noise floor
B * eps64 * lambda_max (below it an eigenvalue cannot be told from 0), so a singular Theta gives a
large but finite kappa instead of a huge or negative one; a NaN kappa (lambda_max <= 0, i.e.
Theta = 0: a network whose output ignores every weight) becomes 1e5, as the reference's
``nan_to_num(nan=100000)`` (note that this ranks such a network better than a merely singular one).
"""

from __future__ import annotations

import torch
from torch import nn
from torch.func import functional_call, jacrev

from naswot_ray.data.base import Batch
from naswot_ray.metrics import register_metric
from naswot_ray.metrics.base import Metric, MetricNeeds, ScoringContext
from naswot_ray.metrics.netutil import batch_stats_without_update, derived_generator, kaiming_normal_reinit

NAN_KAPPA = 1e5
#: TE-NAS's NTK supernet size (prune_tenas.py: C=3, N=1, with stem), used by the ``tenas`` mode
PROXY_C = 3
PROXY_N = 1
#: (cotangents per vmapped VJP) x (batch size): the vmapped backward holds that many per-sample
#: activation gradients at once, so the chunk shrinks as the batch grows (16 at B=64)
JACREV_SAMPLE_BUDGET = 1024
REPEATS = 3
_SALT = 0x4E544B  # "NTK": keeps this metric's random stream apart from other metrics'


def _add_gram(gram: torch.Tensor, rows: torch.Tensor, block: int = 1 << 16) -> None:
    """gram += rows rows^T in float64, converting ``block`` columns at a time to bound memory."""
    for start in range(0, rows.shape[1], block):
        g = rows[:, start:start + block].to(torch.float64)
        gram.addmm_(g, g.T)


def _weight_params(model: nn.Module) -> dict[str, torch.Tensor]:
    params = {name: p for name, p in model.named_parameters() if "weight" in name}
    if not params:
        raise ValueError("metric 'ntk_cond': the network has no parameter named '*weight*'")
    return params


def ntk_gram_jacrev(model: nn.Module, x: torch.Tensor, chunk_size: int | None = -1) -> torch.Tensor:
    """Theta via ``torch.func.jacrev`` of the B class-summed outputs (vmapped VJPs, ``chunk_size`` at a
    time; -1 picks it from the batch size and JACREV_SAMPLE_BUDGET, None does all B at once)."""
    if chunk_size == -1:
        chunk_size = max(1, JACREV_SAMPLE_BUDGET // x.shape[0])
    params = {name: p.detach() for name, p in _weight_params(model).items()}

    def summed_outputs(weights: dict[str, torch.Tensor]) -> torch.Tensor:
        out = functional_call(model, weights, (x,), strict=False)
        return out.reshape(out.shape[0], -1).sum(dim=1)

    # no_grad: the transform differentiates w.r.t. ``params`` regardless, and the outer autograd
    # graph through the captured biases would only cost memory.
    with torch.no_grad(), batch_stats_without_update(model):
        jacobian = jacrev(summed_outputs, chunk_size=chunk_size)(params)
    gram = torch.zeros((x.shape[0], x.shape[0]), dtype=torch.float64, device=x.device)
    for block in jacobian.values():
        _add_gram(gram, block.reshape(block.shape[0], -1))
    return gram


def ntk_gram_loop(model: nn.Module, x: torch.Tensor) -> torch.Tensor:
    """Theta from one forward and B retained-graph backward passes (the reference's procedure)."""
    weights = list(_weight_params(model).values())
    rows = []
    with torch.enable_grad(), batch_stats_without_update(model):
        out = model(x)
        summed = out.reshape(out.shape[0], -1).sum(dim=1)
        if not summed.requires_grad:
            return torch.zeros((x.shape[0], x.shape[0]), dtype=torch.float64, device=x.device)
        for n in range(summed.shape[0]):
            grads = torch.autograd.grad(summed[n], weights, retain_graph=n + 1 < summed.shape[0], allow_unused=True)
            rows.append(torch.cat([(g if g is not None else torch.zeros_like(w)).reshape(-1)
                                   for g, w in zip(grads, weights)]))
    gram = torch.zeros((x.shape[0], x.shape[0]), dtype=torch.float64, device=x.device)
    _add_gram(gram, torch.stack(rows))
    return gram


def ntk_gram(model: nn.Module, x: torch.Tensor) -> torch.Tensor:
    """Theta = G G^T (float64, [B, B]) of the class-summed outputs w.r.t. the "weight" parameters.

    Both ways give the same matrix up to float summation order; which one is faster depends on the
    device (measured on CPU: the loop is ~3.5x faster than jacrev, whose vmapped conv/avg-pool
    backward copies a lot; on CUDA the vmapped form batches B small backward passes into one).
    """
    return ntk_gram_jacrev(model, x) if x.device.type == "cuda" else ntk_gram_loop(model, x)


def condition_number(gram: torch.Tensor) -> torch.Tensor:
    """lambda_max / lambda_min (clamped to the noise floor); NaN mapped to 1e5. A 0-d float64 tensor."""
    eig = torch.linalg.eigvalsh(gram)
    top = eig[-1]
    floor = top * gram.shape[0] * torch.finfo(torch.float64).eps
    kappa = top / torch.maximum(eig[0], floor)
    kappa = torch.where(top > 0, kappa, torch.full_like(kappa, float("nan")))
    return torch.nan_to_num(kappa, nan=NAN_KAPPA, posinf=NAN_KAPPA, neginf=NAN_KAPPA)


@register_metric("ntk_cond", aliases=("ntk",))
class NtkCond(Metric):
    name = "ntk_cond"
    description = ("Chen et al. 2021 (TE-NAS): lambda_max/lambda_min of the class-summed NTK G G^T over the "
                   "batch, Kaiming fan_out re-init, mean of 3, on the cell at TE-NAS's C=3/N=1 size (mode tenas) "
                   "or the benchmark network (full); 1 forward + B backward per repeat")
    higher_is_better = False
    needs = MetricNeeds(data=True, labels=False, grad=True)
    mutates_model = True
    modes = ("auto", "tenas", "full")
    repeats: int = REPEATS

    def score(self, model: nn.Module, batch: Batch, *, seed: int, mode: str, ctx: ScoringContext) -> float:
        if batch.size < 2:
            raise ValueError(f"metric 'ntk_cond' needs a batch of at least 2 inputs, got {batch.size}")
        net = self._network(model, mode, ctx)
        kappas = []
        for repeat in range(self.repeats):
            kaiming_normal_reinit(net, mode="fan_out", generator=derived_generator(seed, _SALT, repeat))
            kappas.append(condition_number(ntk_gram(net, batch.x)))
        return float(torch.stack(kappas).mean())

    @staticmethod
    def _network(model: nn.Module, mode: str, ctx: ScoringContext) -> nn.Module:
        """The benchmark network, or the space's C=3, N=1 proxy on the model's device and in its BN mode.

        The proxy is built under a forked RNG: its weights are re-drawn by every repeat anyway, and the
        global stream other metrics of the same architecture see must not depend on this one.
        """
        has_proxy = callable(getattr(ctx.space, "build_proxy", None))
        if mode == "tenas" and not has_proxy:
            raise ValueError(f"metric 'ntk_cond': space {getattr(ctx.space, 'name', ctx.space)!r} has no proxy "
                             "network (build_proxy); use mode 'full'")
        if mode == "full" or not has_proxy:
            return model
        with torch.random.fork_rng(devices=[]):
            net = ctx.space.build_proxy(ctx.arch, ctx.num_classes, C=PROXY_C, N=PROXY_N)  # type: ignore[attr-defined]
        param = next(model.parameters(), None)
        device = param.device if param is not None else ctx.device
        return net.to(device).train(model.training)
