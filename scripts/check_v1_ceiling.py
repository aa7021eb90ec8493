"""Why NASWOT's v1 score gives about minus the batch size on torchvision networks, and NASWOT v2 does not.

The v1 score (``jacob_cov``) is -sum_i [ln(l_i + k) + 1/(l_i + k)] over the eigenvalues l_i of the B x B
correlation matrix of the input Jacobians; each term is at least 1 (equality at l_i = 1) and the eigenvalues
sum to B, so -B is its ceiling, reached when the Jacobians of different images are uncorrelated. This prints,
per network, the mean absolute off-diagonal correlation, the v1 score next to -B, and NASWOT v2 (``naswot``),
all through ``nr.score`` on one seeded Gaussian batch (untrained networks, ``weights=None``).

Usage: python scripts/check_v1_ceiling.py [--images 16] [--side 224] [--models resnet18,mobilenet_v3_small]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import torch
import torchvision

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout without installing

import naswot_ray as nr  # noqa: E402


def mean_abs_correlation(model: torch.nn.Module, x: torch.Tensor) -> float:
    """Mean |off-diagonal| Pearson correlation of the input-Jacobian rows (train-mode BN, as scored)."""
    probe = x.clone().requires_grad_(True)
    model.train()
    (jacobian,) = torch.autograd.grad(model(probe).sum(), probe)
    corr = torch.corrcoef(jacobian.reshape(len(x), -1).double())
    return float((corr - torch.eye(len(x), dtype=corr.dtype)).abs().sum() / (len(x) * (len(x) - 1)))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=16)
    parser.add_argument("--side", type=int, default=224)
    parser.add_argument("--models", default="resnet18,mobilenet_v3_small")
    args = parser.parse_args()
    x = torch.randn(args.images, 3, args.side, args.side, generator=torch.Generator().manual_seed(1))
    print(f"B = {args.images}, {args.side} px; v1 ceiling = {-args.images}")
    print(f"{'model':<20} {'mean |corr|':>12} {'jacob_cov (v1)':>15} {'naswot (v2)':>12}")
    for name in args.models.split(","):
        torch.manual_seed(0)
        model = getattr(torchvision.models, name)(weights=None)
        values = nr.score(model, x, metrics=("jacob_cov", "naswot"))
        print(f"{name:<20} {mean_abs_correlation(model, x):12.4f} {values['jacob_cov']:15.3f} {values['naswot']:12.2f}")


if __name__ == "__main__":
    main()
