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
    #: sha256 of the int64 labels ('' when the batch has none); part of the identity of label-reading scores
    labels_sha256: str = ""

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

    @classmethod
    def from_images(cls, images: object, labels: object = None, *, norm: str | None = None,
                    name: str = "images") -> "Batch":
        """A batch of images you already hold: a float NCHW tensor is used as given; uint8 NHWC pixels are
        normalised with the statistics ``norm`` names (required for them). See :mod:`naswot_ray.data.images`."""
        from naswot_ray.data.images import batch_from_images

        return batch_from_images(images, labels, norm=norm, name=name)

    def to(self, device: torch.device | str) -> "Batch":
        y = self.y.to(device) if self.y is not None else None
        return Batch(self.x.to(device), y, self.provenance)

    @property
    def size(self) -> int:
        return int(self.x.shape[0])

    def head(self, n: int) -> "Batch":
        """The first ``n`` images (and labels) of this batch; provenance stays the full batch's."""
        y = self.y[:n] if self.y is not None else None
        return Batch(self.x[:n], y, self.provenance)

    def gaussian_like(self, n: int, *, seed: int) -> "Batch":
        """``n`` N(0, 1) images of this batch's shape, device and memory format, drawn on the CPU from
        ``seed`` (identical on every device); no labels."""
        generator = torch.Generator().manual_seed(int(seed) & 0x7FFF_FFFF_FFFF_FFFF)
        x = torch.randn((n, *self.x.shape[1:]), generator=generator, dtype=self.x.dtype).to(self.x.device)
        if self.x.dim() == 4 and not self.x.is_contiguous() and self.x.is_contiguous(memory_format=torch.channels_last):
            x = x.contiguous(memory_format=torch.channels_last)
        return Batch(x, None, self.provenance)


def labels_sha256(y: torch.Tensor | None) -> str:
    """sha256 of the labels as int64 (shape included); '' without labels."""
    if y is None:
        return ""
    arr = np.ascontiguousarray(y.detach().to("cpu", torch.int64).numpy())
    digest = hashlib.sha256()
    digest.update(str(tuple(arr.shape)).encode())
    digest.update(arr.tobytes())
    return digest.hexdigest()


def tensor_sha256(x: torch.Tensor) -> str:
    """sha256 of the tensor's float32 bytes in C order (shape included), stable across devices."""
    arr = np.ascontiguousarray(x.detach().to("cpu", torch.float32).numpy())
    digest = hashlib.sha256()
    digest.update(str(tuple(arr.shape)).encode())
    digest.update(arr.tobytes())
    return digest.hexdigest()
