"""jacob_cov: the NASWOT v1 score (Mellor et al., arXiv 2006.04647 v1; NASLib "jacov").

J row i = d(sum of all outputs of the whole batch)/dx_i, flattened (with train-mode BN this includes
cross-sample terms, exactly as the reference). Sigma = Pearson correlation of the rows of J,
lambda = eigvalsh(Sigma) in float64 (clamped at 0 against round-off), and
score = -sum_i [ln(lambda_i + k) + 1/(lambda_i + k)], k = 1e-5. Higher is better (max about -B).
One forward and one backward to the input; labels unused. A zero-variance row (an input gradient
that is constant, e.g. a network whose output ignores the input) makes Sigma undefined: raised.
"""

from __future__ import annotations

import torch
from torch import nn

from naswot_ray.data.base import Batch
from naswot_ray.metrics import register_metric
from naswot_ray.metrics.base import Metric, MetricNeeds, ScoringContext
from naswot_ray.metrics.netutil import finite_or_raise

K = 1e-5


def jacob_cov_from_jacobian(jacobian: torch.Tensor) -> torch.Tensor:
    """The score (a 0-d float64 tensor) for a [B, D] input-Jacobian; NaN when a row is constant."""
    corr = torch.corrcoef(jacobian.to(torch.float64))
    if not bool(torch.isfinite(corr).all()):
        return torch.tensor(float("nan"), dtype=torch.float64)
    eig = torch.linalg.eigvalsh(corr).clamp_min(0.0)
    return -(torch.log(eig + K) + 1.0 / (eig + K)).sum()


@register_metric("jacob_cov", aliases=("jacov",))
class JacobCov(Metric):
    name = "jacob_cov"
    description = ("Mellor et al. 2020 (NASWOT v1): -sum(ln(l+1e-5) + 1/(l+1e-5)) over eigenvalues of the "
                   "correlation of input-Jacobian rows; 1 forward + 1 backward to the input")
    higher_is_better = True
    needs = MetricNeeds(data=True, labels=False, grad=True)

    def score(self, model: nn.Module, batch: Batch, *, seed: int, mode: str, ctx: ScoringContext) -> float:
        if batch.size < 2:
            raise ValueError(f"metric 'jacob_cov' needs a batch of at least 2 inputs, got {batch.size}")
        x = batch.x.detach().clone().requires_grad_(True)
        with torch.enable_grad():
            out = model(x)
            if not out.requires_grad:
                raise ValueError("metric 'jacob_cov': the network output does not depend on the input")
            (jac,) = torch.autograd.grad(out.sum(), x)
        value = float(jacob_cov_from_jacobian(jac.reshape(jac.shape[0], -1)))
        return finite_or_raise(value, self.name, "the score (an input-Jacobian row is constant)")
