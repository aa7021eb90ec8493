"""VKDNW (Tybl & Neumann, "Training-free Neural Architecture Search through Variance of Knowledge of Deep
Network Weights", CVPR 2025).

VKDNW = -sum_k q~_k ln(q~_k + 1e-10), q~ = q / (|q|_1 + 1e-10), q_k = the k/10 quantile (k = 1..9,
linear) of the eigenvalues of the Fisher matrix F = (1/B) sum_b (C_b J_b)^T (C_b J_b), where J_b is the
K x |S| Jacobian of sample b's logits with respect to S = the first element of each of the first 128
parameter tensors (``named_parameters()`` order), p_b = 0.95 softmax(z_b) + 0.05/K, and C_b is the
lower-triangular factor L_b with L_b L_b^T = diag(p_b) - p_b p_b^T (proxies-sota-spec section 6).

Modes: ``reference`` (default) uses C_b = L_b, as the official code does, which reproduces the
published numbers; ``true_fisher`` uses C_b = L_b^T, so that C_b^T C_b = diag(p_b) - p_b p_b^T and F is
the Fisher of the categorical model (L L^T != L^T L). Everything else is the same in both modes.

Protocol: fresh Kaiming-normal fan-in init, BN 1/0 with fresh running statistics, **eval** mode (each
BN is then a fixed scale, samples are independent), B = 64 Gaussian images from the architecture's
seed, no labels. Higher is better (more uniform eigenvalue deciles). An all-``none`` network has a
Fisher of rank <= 1, hence 0. Its companions for VKDNW_agg are ``vkdnw_aleph`` (the parameter-tensor
count) and ``vkdnw_jacov``; the aggregate ranks them with AZ-NAS's components and FLOPs in ``analyze``.

Cost: per-sample Jacobians without per-sample copies of the weights. One forward keeps the graph; each
backward pass (cotangent e_k on every sample's logits) yields row k of every J_b at once, because
forward hooks on the modules owning S save what the first element's gradient needs (conv: channel 0 of
the padded input at the kernel's first tap; BN: the normalised channel 0; linear: input feature 0) and
tensor hooks on their outputs contract it with the output gradient per sample. Parameters are frozen
during the passes, so the backward computes activation gradients only. When the head is a Linear on a
d-dimensional feature vector with d < K (NB201: d = 64, K = 100 or 120), the passes run from the
features instead (d passes) and J_b = W Phi_b. Modules this does not cover fall back to
``torch.func`` per-sample Jacobians (slow, same values).
"""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.modules.batchnorm import _BatchNorm

from naswot_ray.data.base import Batch
from naswot_ray.metrics import register_metric
from naswot_ray.metrics.base import BatchNeeds, Metric, MetricNeeds, ScoringContext
from naswot_ray.metrics.proxyutil import at_least, kaiming_fan_in
from naswot_ray.options import Option

#: the official code's smoothing constant is a float16 scalar: 0.05 rounds to 0.0499878
ALPHA = float(torch.tensor(0.05, dtype=torch.float16))
ONE_MINUS_ALPHA = float(torch.tensor(1.0, dtype=torch.float16) - torch.tensor(0.05, dtype=torch.float16))
QUANTILES = tuple(k / 10 for k in range(1, 10))
MODES = ("reference", "true_fisher")


# -- the parameter subset S ------------------------------------------------------------------------
def parameter_subset(model: nn.Module, count: int) -> list[tuple[str, nn.Module, str]]:
    """(full name, owning module, local name) of the first ``count`` parameter tensors, in
    ``named_parameters()`` order (shared tensors once, as there)."""
    owner: dict[int, tuple[nn.Module, str]] = {}
    for module in model.modules():
        for local, param in module.named_parameters(recurse=False):
            owner.setdefault(id(param), (module, local))
    chosen = []
    for name, param in model.named_parameters():
        module, local = owner[id(param)]
        chosen.append((name, module, local))
        if len(chosen) == count:
            break
    return chosen


# -- smoothed probabilities and the multinomial Cholesky factor ------------------------------------
def smoothed_probabilities(logits: torch.Tensor) -> torch.Tensor:
    """p = (1 - alpha) softmax(z) + alpha / K with the reference's float16-rounded constants."""
    k = logits.shape[-1]
    alpha_over_k = float(torch.tensor(ALPHA, dtype=torch.float16) / k)
    return ONE_MINUS_ALPHA * torch.softmax(logits.float(), dim=-1) + alpha_over_k


def multinomial_cholesky(p: torch.Tensor) -> torch.Tensor:
    """Lower-triangular L (batched over leading dims) with L L^T = diag(p) - p p^T (Tanabe & Sagae 1992).

    With q_j = 1 - sum_{i<=j} p_i: L_jj = sqrt(p_j q_j / q_{j-1}), L_ij = -p_i sqrt(p_j / (q_{j-1} q_j))
    for i > j. q is clamped at 0 (the float16-rounded constants make sum p exceed 1 by ~2e-4), and a
    zero denominator gives 0, so the last column is 0 as in exact arithmetic.
    """
    q = (1.0 - torch.cumsum(p, dim=-1)).clamp_min(0.0)
    q_prev = torch.cat([torch.ones_like(q[..., :1]), q[..., :-1]], dim=-1)
    diag = torch.sqrt(torch.where(q_prev > 0, p * q / q_prev.clamp_min(1e-30), torch.zeros_like(p)))
    denom = q_prev * q
    below = torch.where(denom > 0, torch.sqrt(p / denom.clamp_min(1e-30)), torch.zeros_like(p))  # per column j
    lower = -p.unsqueeze(-1) * below.unsqueeze(-2)  # [.., i, j] = -p_i * below_j
    k = p.shape[-1]
    strict = torch.ones(k, k, dtype=torch.bool, device=p.device).tril(-1)
    return torch.where(strict, lower, torch.zeros_like(lower)) + torch.diag_embed(diag)


# -- the score from Jacobians ------------------------------------------------------------------------
def fisher_matrix(jacobians: torch.Tensor, logits: torch.Tensor, *, true_fisher: bool) -> torch.Tensor:
    """F = (1/B) sum_b (C_b J_b)^T (C_b J_b) for [B, K, S] Jacobians (C_b = L_b, or L_b^T)."""
    factor = multinomial_cholesky(smoothed_probabilities(logits.detach()))
    if true_fisher:
        factor = factor.transpose(-1, -2)
    projected = factor @ jacobians.float()
    return torch.einsum("bks,bkt->st", projected, projected) / jacobians.shape[0]


def vkdnw_entropy(fisher: torch.Tensor) -> float:
    """Entropy of the nine normalised eigenvalue deciles of ``fisher``."""
    try:
        eig = torch.linalg.svdvals(fisher.cpu())
    except RuntimeError:  # the reference's fallback on a linear-algebra failure
        eig = torch.zeros(2)
    q = torch.quantile(eig.float(), torch.tensor(QUANTILES, dtype=torch.float32))
    q = q / (q.abs().sum() + 1e-10)
    return float(-(q * torch.log(q + 1e-10)).sum())


# -- per-sample Jacobians of the first elements, from hooks ----------------------------------------
class Unsupported(Exception):
    """A parameter of S lives in a module the hook path cannot differentiate per sample."""


def _first_element_rule(module: nn.Module, local: str) -> Callable[[torch.Tensor], Callable[[torch.Tensor], torch.Tensor]]:
    """For one S parameter: a function of the module's input that returns a function of the output
    gradient giving the per-sample derivative of sum(gradient * output) w.r.t. element 0 of the parameter."""
    if isinstance(module, nn.Conv2d) and module.padding_mode == "zeros" and not isinstance(module.padding, str):
        if local == "bias":
            return lambda _x: (lambda g: g[:, 0].sum(dim=(1, 2)))
        if local == "weight":
            (ph, pw), (sh, sw) = module.padding, module.stride

            def conv_weight(x: torch.Tensor) -> Callable[[torch.Tensor], torch.Tensor]:
                padded = F.pad(x[:, 0], (pw, pw, ph, ph))

                def rule(g: torch.Tensor) -> torch.Tensor:
                    ho, wo = g.shape[-2:]
                    tap = padded[:, 0:(ho - 1) * sh + 1:sh, 0:(wo - 1) * sw + 1:sw]
                    return (g[:, 0] * tap).sum(dim=(1, 2))
                return rule
            return conv_weight
    if isinstance(module, nn.Linear):
        if local == "bias":
            return lambda _x: (lambda g: g[..., 0].reshape(g.shape[0], -1).sum(dim=1))
        if local == "weight":
            return lambda x: (lambda g: (g[..., 0] * x[..., 0]).reshape(g.shape[0], -1).sum(dim=1))
    if isinstance(module, _BatchNorm) and not module.training and module.running_mean is not None:
        if local == "bias":
            return lambda _x: (lambda g: g[:, 0].reshape(g.shape[0], -1).sum(dim=1))
        if local == "weight":
            def bn_weight(x: torch.Tensor) -> Callable[[torch.Tensor], torch.Tensor]:
                normed = (x[:, 0] - module.running_mean[0]) / torch.sqrt(module.running_var[0] + module.eps)
                return lambda g: (g[:, 0] * normed).reshape(g.shape[0], -1).sum(dim=1)
            return bn_weight
    raise Unsupported(f"{type(module).__name__}.{local}")


class FirstElementGrads:
    """Hooks that fill ``rows`` [B, |S|] with per-sample gradients of element 0 of each S parameter
    during every backward pass through the recorded forward."""

    def __init__(self, subset: list[tuple[str, nn.Module, str]], skip: set[int] = frozenset()) -> None:
        self.rows: torch.Tensor | None = None
        by_module: dict[int, tuple[nn.Module, list[tuple[int, Callable]]]] = {}
        for column, (_name, module, local) in enumerate(subset):
            if id(module) in skip:
                continue
            rule = _first_element_rule(module, local)
            by_module.setdefault(id(module), (module, []))[1].append((column, rule))
        self._handles = [module.register_forward_hook(self._forward_hook(rules))
                         for module, rules in by_module.values()]

    def _forward_hook(self, rules: list[tuple[int, Callable]]) -> Callable:
        def hook(_module: nn.Module, inputs: tuple, output: torch.Tensor) -> None:
            x = inputs[0].detach()
            bound = [(column, rule(x)) for column, rule in rules]

            def on_grad(g: torch.Tensor) -> None:
                if self.rows is not None:
                    for column, per_sample in bound:
                        self.rows[:, column] += per_sample(g).to(self.rows.dtype)
            output.register_hook(on_grad)
        return hook

    def remove(self) -> None:
        for handle in self._handles:
            handle.remove()


def _find_head(model: nn.Module, x: torch.Tensor) -> tuple[torch.Tensor, nn.Linear | None, torch.Tensor | None]:
    """Forward ``x`` once (graph kept); also return the Linear whose output *is* the logits and its input."""
    seen: list[tuple[nn.Linear, torch.Tensor, torch.Tensor]] = []
    handles = [m.register_forward_hook(lambda m, i, o: seen.append((m, i[0], o)))
               for m in model.modules() if isinstance(m, nn.Linear)]
    try:
        logits = model(x)
    finally:
        for handle in handles:
            handle.remove()
    if not isinstance(logits, torch.Tensor) or logits.dim() != 2:
        raise ValueError(f"vkdnw needs [B, num_classes] logits, got {type(logits).__name__} "
                         f"{tuple(getattr(logits, 'shape', ()))}")
    for module, features, output in seen:
        if output is logits and features.dim() == 2:
            return logits, module, features
    return logits, None, None


def hooked_jacobians(model: nn.Module, x: torch.Tensor, subset: list[tuple[str, nn.Module, str]]
                     ) -> tuple[torch.Tensor, torch.Tensor]:
    """(J [B, K, |S|], logits) by min(K, d) activation-only backward passes (see the module docstring)."""
    params = [p for p in model.parameters()]
    flags = [p.requires_grad for p in params]
    for p in params:
        p.requires_grad_(False)
    grads: FirstElementGrads | None = None
    try:
        x_in = x.detach().clone().requires_grad_(True)
        with torch.enable_grad():
            # hooks first need the head's identity, which needs a forward: find it on a tiny probe
            _, head, _ = _find_head(model, x_in[:1])
            use_features = head is not None and head.in_features < head.out_features
            skip = {id(head)} if use_features else set()
            grads = FirstElementGrads(subset, skip)
            if use_features:
                features: list[torch.Tensor] = []
                handle = head.register_forward_hook(lambda _m, i, _o: features.append(i[0]))
                try:
                    logits = model(x_in)
                finally:
                    handle.remove()
                target = features[0]
            else:
                logits = model(x_in)
                target = logits
            if not target.requires_grad:  # the output ignores input and every frozen weight: J = 0
                return torch.zeros(x.shape[0], logits.shape[1], len(subset), device=x.device), logits.detach()
            batch, width = target.shape
            rows = torch.zeros(width, batch, len(subset), dtype=torch.float32, device=x.device)
            for c in range(width):
                cotangent = torch.zeros_like(target)
                cotangent[:, c] = 1.0
                grads.rows = rows[c]
                torch.autograd.grad(target, x_in, cotangent, retain_graph=True, allow_unused=True)
            grads.rows = None
        if not use_features:
            return rows.permute(1, 0, 2).contiguous(), logits.detach()
        weight = head.weight.detach().float()  # [K, d]
        jac = torch.einsum("kd,dbs->bks", weight, rows)
        feats = target.detach().float()
        for column, (_name, module, local) in enumerate(subset):
            if module is head:
                jac[:, 0, column] = feats[:, 0] if local == "weight" else 1.0
        return jac, logits.detach()
    finally:
        if grads is not None:
            grads.remove()
        for p, flag in zip(params, flags):
            p.requires_grad_(flag)


def functional_jacobians(model: nn.Module, x: torch.Tensor, subset: list[tuple[str, nn.Module, str]]
                         ) -> tuple[torch.Tensor, torch.Tensor]:
    """(J, logits) with ``torch.func``: per-sample reverse-mode Jacobians of whole tensors, element 0 kept.
    Slow and memory-hungry (one sample at a time); the fallback for modules without a hook rule."""
    from torch.func import functional_call, jacrev

    params = dict(model.named_parameters())
    buffers = dict(model.named_buffers())
    names = [name for name, _m, _l in subset]

    def logits_of(chosen: dict[str, torch.Tensor], xb: torch.Tensor) -> torch.Tensor:
        return functional_call(model, ({**params, **chosen}, buffers), (xb.unsqueeze(0),)).squeeze(0)

    chosen = {n: params[n].detach() for n in names}
    rows = []
    with torch.enable_grad():
        for b in range(x.shape[0]):
            jac = jacrev(logits_of)(chosen, x[b])
            rows.append(torch.stack([jac[n].reshape(jac[n].shape[0], -1)[:, 0] for n in names], dim=1))
        with torch.no_grad():
            logits = model(x)
    return torch.stack(rows).float(), logits


def vkdnw_jacobians(model: nn.Module, x: torch.Tensor, tensors: int) -> tuple[torch.Tensor, torch.Tensor]:
    subset = parameter_subset(model, tensors)
    if not subset:
        raise ValueError("vkdnw needs a network with parameters")
    try:
        return hooked_jacobians(model, x, subset)
    except Unsupported:
        return functional_jacobians(model, x, subset)


@register_metric("vkdnw")
class Vkdnw(Metric):
    name = "vkdnw"
    description = ("VKDNW (CVPR 2025): entropy of the eigenvalue deciles of the Fisher of the logits w.r.t. the first "
                   "element of the first 128 parameter tensors; Kaiming fan-in, eval mode, Gaussian B=64; "
                   "min(K, d) backward passes")
    higher_is_better = True
    version = 1
    legal_nonfinite: frozenset[str] = frozenset()
    needs = MetricNeeds(data=True, labels=False, grad=True)
    modes = MODES
    options = (Option("batch_size", int, 64, "Gaussian images", check=at_least(1)),
               Option("tensors", int, 128, "parameter tensors sampled (first element of each; params_grad_len)",
                      check=at_least(1)))
    mutates_model = True

    def batch_needs(self, mode: str, options) -> BatchNeeds:
        return BatchNeeds("gaussian", size=int(options["batch_size"]))

    def score(self, model: nn.Module, batch: Batch, *, seed: int, mode: str, ctx: ScoringContext) -> float:
        kaiming_fan_in(model, seed)
        model.eval()
        for module in model.modules():
            if isinstance(module, _BatchNorm) and module.running_mean is None:
                raise ValueError("vkdnw runs BN in eval mode with fresh running statistics, and this network's "
                                 "BatchNorm keeps none (track_running_stats=False, e.g. the samsung NB201 model)")
        jac, logits = vkdnw_jacobians(model, batch.x, int(ctx.options.get("tensors", 128)))
        return vkdnw_entropy(fisher_matrix(jac, logits, true_fisher=mode == "true_fisher"))


__all__ = ["Vkdnw", "parameter_subset", "smoothed_probabilities", "multinomial_cholesky", "fisher_matrix",
           "vkdnw_entropy", "hooked_jacobians", "functional_jacobians"]
