"""Per-channel normalisation statistics of the datasets the NAS benchmarks were trained on.

Values are the NB201/NASWOT ones (metrics-spec section 1), so a batch drawn here equals the
reference's un-augmented ToTensor + Normalize batch.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from naswot_ray.errors import unknown_choice


@dataclass(frozen=True)
class Normalization:
    name: str
    mean: tuple[float, float, float]  # in [0, 1] units
    std: tuple[float, float, float]


def _per255(mean: tuple[float, ...], std: tuple[float, ...], name: str) -> Normalization:
    return Normalization(name, tuple(m / 255 for m in mean), tuple(s / 255 for s in std))  # type: ignore[arg-type]


NORMALIZATIONS: dict[str, Normalization] = {
    "cifar10": _per255((125.3, 123.0, 113.9), (63.0, 62.1, 66.7), "cifar10"),
    "cifar100": _per255((129.3, 124.1, 112.4), (68.2, 65.4, 70.4), "cifar100"),
    "imagenet16-120": _per255((122.68, 116.66, 104.01), (63.22, 61.26, 65.09), "imagenet16-120"),
    "imagenet": Normalization("imagenet", (0.485, 0.456, 0.406), (0.229, 0.224, 0.225)),
}


def get_normalization(name: str) -> Normalization:
    key = name.lower()
    if key not in NORMALIZATIONS:
        raise unknown_choice("normalisation", name, NORMALIZATIONS)
    return NORMALIZATIONS[key]


def normalize_uint8_nhwc(images: np.ndarray, norm: Normalization) -> torch.Tensor:
    """uint8 NHWC images -> normalised float32 NCHW tensor (ToTensor then Normalize, exactly)."""
    x = torch.from_numpy(np.ascontiguousarray(images)).permute(0, 3, 1, 2).to(torch.float32).div_(255.0)
    mean = torch.tensor(norm.mean, dtype=torch.float32).view(1, -1, 1, 1)
    std = torch.tensor(norm.std, dtype=torch.float32).view(1, -1, 1, 1)
    return ((x - mean) / std).contiguous()
