"""Mini-batch sources (cifar10, cifar100, imagenet16-120, random, npz:PATH)."""

from naswot_ray.data.base import Batch, BatchProvenance, tensor_sha256
from naswot_ray.data.sources import DATASET_NAMES, BatchSpec, check_batch_spec, draw_batch

__all__ = ["Batch", "BatchProvenance", "BatchSpec", "DATASET_NAMES", "check_batch_spec", "draw_batch", "tensor_sha256"]
