"""The mini-batch every architecture of a run is scored on, and where it came from.

A batch is drawn once per run (seeded, un-augmented, from the training split), normalised, and
shipped to every worker. Its provenance, including the sha256 of the exact float tensor, goes into
every score row so a result can be reproduced and joined with others computed on the same pixels.
"""

from __future__ import annotations

import hashlib
from dataclasses import asdict, dataclass, field

import numpy as np
import torch


@dataclass(frozen=True)
class BatchProvenance:
    """Enough to redraw the batch: source, split, indices (or pixel hash), seed, size."""

    dataset: str
    split: str
    batch_size: int
    seed: int
    sha256: str
    norm: str
    image_size: int
    num_classes: int
    source: str = ""
    indices: tuple[int, ...] | None = field(default=None, repr=False)

    def as_dict(self) -> dict:
        out = asdict(self)
        out["indices"] = list(self.indices) if self.indices is not None else None
        return out


@dataclass
class Batch:
    """A normalised float32 NCHW tensor ``x``, integer labels ``y`` (or None) and provenance."""

    x: torch.Tensor
    y: torch.Tensor | None
    provenance: BatchProvenance

    def to(self, device: torch.device | str) -> "Batch":
        y = self.y.to(device) if self.y is not None else None
        return Batch(self.x.to(device), y, self.provenance)

    @property
    def size(self) -> int:
        return int(self.x.shape[0])


def tensor_sha256(x: torch.Tensor) -> str:
    """sha256 of the tensor's float32 bytes in C order (shape included), stable across devices."""
    arr = np.ascontiguousarray(x.detach().to("cpu", torch.float32).numpy())
    digest = hashlib.sha256()
    digest.update(str(tuple(arr.shape)).encode())
    digest.update(arr.tobytes())
    return digest.hexdigest()
