"""A :class:`~naswot_ray.data.base.Batch` from images the caller already holds (``Batch.from_images``).

Why its own module: a batch from a dataset source is drawn, normalised and described by
:mod:`naswot_ray.data.sources`; images handed in from Python (``nr.score``, a notebook) need the same
provenance (sha256 of the exact pixels and labels) so a value computed on them is identifiable, but none
of the drawing. Two forms are accepted, and nothing is guessed between them:

- a floating-point NCHW tensor (or array): used exactly as given (already normalised by the caller);
- a uint8 NHWC array (or tensor) of raw pixels: ``norm`` must name the statistics to normalise with
  (``cifar10``, ``cifar100``, ``imagenet16-120``, ``imagenet``), exactly as ``--norm`` does for npz files.
"""

from __future__ import annotations

import numpy as np
import torch

from naswot_ray.data.base import Batch, BatchProvenance, labels_sha256, tensor_sha256
from naswot_ray.data.normalization import NORMALIZATIONS, get_normalization, normalize_uint8_nhwc
from naswot_ray.errors import InputError


def batch_from_images(images: object, labels: object = None, *, norm: str | None = None,
                      name: str = "images") -> Batch:
    """``images`` (and optional integer ``labels``) as a Batch; bad shapes or types are one-line InputErrors."""
    if isinstance(images, Batch):
        return images if labels is None else Batch(images.x, _labels(labels, images.size), _with_labels(images, labels))
    tensor = _as_tensor(images)
    if tensor.dtype == torch.uint8:
        if norm is None:
            raise InputError("uint8 images are raw pixels: pass norm= naming the statistics to normalise them with; "
                             f"valid choices: {', '.join(NORMALIZATIONS)} (or pass a float NCHW tensor, used as given)")
        if tensor.dim() != 4 or tensor.shape[-1] not in (1, 3):
            raise InputError(f"uint8 images must be NHWC with 1 or 3 channels, got shape {tuple(tensor.shape)}")
        pixels = tensor.numpy()
        if pixels.shape[-1] == 1:
            pixels = np.repeat(pixels, 3, axis=-1)
        x = normalize_uint8_nhwc(pixels, get_normalization(norm))
        norm_name = get_normalization(norm).name
    elif tensor.is_floating_point():
        if norm is not None:
            raise InputError(f"norm={norm!r} applies to uint8 NHWC pixels; float images are used as given "
                             "(normalise them yourself, or pass uint8 pixels with norm)")
        if tensor.dim() != 4:
            raise InputError(f"float images must be an NCHW tensor (4 dimensions), got shape {tuple(tensor.shape)}")
        x, norm_name = tensor, "as-given"
    else:
        raise InputError(f"images must be a float NCHW tensor or uint8 NHWC pixels, got dtype {tensor.dtype}")
    if x.shape[0] < 2:
        raise InputError(f"a batch needs at least 2 images, got {x.shape[0]}")
    y = _labels(labels, int(x.shape[0])) if labels is not None else None
    provenance = BatchProvenance(
        dataset=name, split="none", batch_size=int(x.shape[0]), seed=0, sha256=tensor_sha256(x), norm=norm_name,
        image_size=int(x.shape[-1]), num_classes=int(y.max()) + 1 if y is not None else 0, source="python",
        labels_sha256=labels_sha256(y))
    return Batch(x, y, provenance)


def _as_tensor(images: object) -> torch.Tensor:
    if isinstance(images, torch.Tensor):
        return images.detach()
    if isinstance(images, np.ndarray):
        return torch.from_numpy(np.ascontiguousarray(images))
    raise InputError(f"images must be a torch.Tensor, a numpy array or a Batch, got {type(images).__name__}")


def _labels(labels: object, count: int) -> torch.Tensor:
    y = _as_tensor(labels)
    if y.is_floating_point() or y.dtype == torch.bool or y.dim() != 1:
        raise InputError(f"labels must be a 1-d integer array, got {y.dtype} of shape {tuple(y.shape)}")
    if y.shape[0] != count:
        raise InputError(f"{y.shape[0]} labels for {count} images; give one label per image")
    if count and int(y.min()) < 0:
        raise InputError(f"labels must be class indices >= 0, got {int(y.min())}")
    return y.to(torch.int64)


def _with_labels(batch: Batch, labels: object) -> BatchProvenance:
    from dataclasses import replace

    return replace(batch.provenance, labels_sha256=labels_sha256(_labels(labels, batch.size)))


__all__ = ["batch_from_images"]
