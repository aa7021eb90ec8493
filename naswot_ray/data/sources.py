"""Mini-batch sources: where the one fixed batch of a run comes from.

Names: ``cifar10``, ``cifar100`` (torchvision datasets, downloaded where the network allows),
``imagenet16-120`` (the official pickled ImageNet16 files under ``--data-root``), ``random``
(seeded Gaussian) and ``npz:PATH`` (uint8 NHWC images under ``x`` or ``x_train``).

Every source draws ``batch_size`` distinct training images with a seeded generator, un-augmented,
and returns them normalised with the provenance needed to redraw them. :func:`check_batch_spec`
validates a request without drawing a batch, so the CLI can reject bad input before it writes or
starts anything. Labels are checked there too, because a wrong label is never loud later: an npz
whose label count differs from its image count is an error (it used to drop the labels and let
label-reading metrics run on random ones), and when a metric reads labels, every label of the source
must be a class of the network head (it used to turn every architecture into an error row while
the run exited 0).
"""

from __future__ import annotations

import os
import pickle
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from naswot_ray.data.base import Batch, BatchProvenance, labels_sha256, tensor_sha256
from naswot_ray.data.normalization import get_normalization, normalize_uint8_nhwc
from naswot_ray.errors import InputError

DATASET_NAMES = ("cifar10", "cifar100", "imagenet16-120", "random", "npz:PATH")
NUM_CLASSES = {"cifar10": 10, "cifar100": 100, "imagenet16-120": 120}
DEFAULT_NORM = {"cifar10": "cifar10", "cifar100": "cifar100", "imagenet16-120": "imagenet16-120"}
IMAGE_SIZE = {"cifar10": 32, "cifar100": 32, "imagenet16-120": 16}


def check_data_root(data_root: str | None) -> None:
    """A given ``--data-root`` must be an existing folder (one-line InputError saying which it is not)."""
    if data_root is None:
        return
    path = Path(data_root).expanduser()
    if not path.exists():
        raise InputError(f"--data-root {data_root!r} does not exist; give the folder holding the dataset files")
    if not path.is_dir():
        raise InputError(f"--data-root {data_root!r} is a file, not a folder; give the folder holding the dataset files")


def default_data_root() -> Path:
    """Where datasets are kept when ``--data-root`` is not given."""
    return Path(os.environ.get("NASWOT_RAY_DATA", Path.home() / ".cache" / "naswot-ray" / "data"))


@dataclass(frozen=True)
class BatchSpec:
    """A request for a batch: which data, how many images, which seed, which statistics."""

    dataset: str
    batch_size: int = 128
    seed: int = 1
    data_root: str | None = None
    norm: str | None = None
    #: image side for ``random`` (the space's native input size)
    image_size: int = 32
    #: label range for ``random`` labels and ``npz`` files without labels
    num_classes: int = 10
    download: bool = True

    @property
    def kind(self) -> str:
        return "npz" if self.dataset.startswith("npz:") else self.dataset

    @property
    def dataset_classes(self) -> int:
        """The class count of the data (10 for CIFAR-10, ...); used as the default network head."""
        return NUM_CLASSES.get(self.kind, self.num_classes)


def check_batch_spec(spec: BatchSpec, *, head_classes: int | None = None) -> None:
    """Reject bad requests with one clear line, reading as little as possible.

    ``head_classes``: the network head's class count when a requested metric reads labels; every label
    the source can hold must then be one of its classes.
    """
    if spec.kind not in ("cifar10", "cifar100", "imagenet16-120", "random", "npz"):
        raise InputError(f"unknown dataset {spec.dataset!r}; valid choices: {', '.join(DATASET_NAMES)}")
    if spec.batch_size < 2:
        raise InputError(f"batch size {spec.batch_size} is too small; need at least 2 images")
    if spec.norm is not None:
        get_normalization(spec.norm)
    check_data_root(spec.data_root)
    if spec.kind == "imagenet16-120":
        _imagenet16_files(_root(spec))
    labels: np.ndarray | None = None
    if spec.kind == "npz":
        images, labels, _ = _load_npz(spec.dataset[len("npz:"):], header_only=True)
        if len(images) < spec.batch_size:
            raise InputError(f"dataset {spec.dataset!r} has {len(images)} images, fewer than batch size {spec.batch_size}")
    if head_classes is not None:
        _check_labels_fit(spec, labels, head_classes)


def _check_labels_fit(spec: BatchSpec, npz_labels: np.ndarray | None, head_classes: int) -> None:
    """Every label the source can hold is a class of a ``head_classes``-way head (whole source, not one draw,
    so the answer does not depend on the seed)."""
    if spec.kind == "npz" and npz_labels is not None:
        low, high = int(npz_labels.min()), int(npz_labels.max())
        what = f"npz file {spec.dataset[len('npz:'):]!r} has labels {low}..{high}"
    elif spec.kind in NUM_CLASSES:
        low, high = 0, NUM_CLASSES[spec.kind] - 1
        what = f"dataset {spec.dataset!r} has labels 0..{high}"
    else:  # random labels (and npz files without labels) are drawn in 0..num_classes-1
        low, high = 0, spec.num_classes - 1
        what = f"random labels run 0..{high}"
    if low < 0:
        raise InputError(f"{what}; labels must be class indices >= 0")
    if high >= head_classes:
        raise InputError(f"{what} but the network head has {head_classes} classes and a requested metric reads "
                         f"labels; pass --num-classes {high + 1} (or request only metrics that read no labels)")


def draw_batch(spec: BatchSpec) -> Batch:
    """Draw the run's batch (validated first)."""
    check_batch_spec(spec)
    if spec.kind == "random":
        return _random_batch(spec)
    if spec.kind in ("cifar10", "cifar100"):
        images, labels, source = _cifar(spec)
    elif spec.kind == "imagenet16-120":
        images, labels, source = _imagenet16(spec)
    else:
        images, labels, source = _load_npz(spec.dataset[len("npz:"):], header_only=False)
    return _draw_from_arrays(spec, images, labels, source)


# -- sources ----------------------------------------------------------------------------------

def _root(spec: BatchSpec) -> Path:
    return Path(spec.data_root) if spec.data_root is not None else default_data_root()


def _draw_from_arrays(spec: BatchSpec, images: np.ndarray, labels: np.ndarray | None, source: str) -> Batch:
    if len(images) < spec.batch_size:
        raise InputError(f"dataset {spec.dataset!r} has {len(images)} images, fewer than batch size {spec.batch_size}")
    rng = np.random.default_rng(spec.seed)
    indices = rng.choice(len(images), size=spec.batch_size, replace=False)
    norm_name = spec.norm or DEFAULT_NORM.get(spec.kind, "cifar10")
    x = normalize_uint8_nhwc(images[indices], get_normalization(norm_name))
    if labels is not None:
        y = torch.as_tensor(np.asarray(labels)[indices], dtype=torch.int64)
        num_classes = max(spec.dataset_classes, int(np.max(labels)) + 1)
    else:
        y = torch.as_tensor(rng.integers(0, spec.num_classes, size=spec.batch_size), dtype=torch.int64)
        num_classes = spec.num_classes
    prov = BatchProvenance(
        dataset=spec.dataset if spec.kind != "npz" else f"npz:{Path(source).name}",
        split="train", batch_size=spec.batch_size, seed=spec.seed, sha256=tensor_sha256(x),
        norm=norm_name, image_size=int(x.shape[-1]), num_classes=num_classes, source=source,
        indices=tuple(int(i) for i in indices), labels_sha256=labels_sha256(y),
    )
    return Batch(x, y, prov)


def _random_batch(spec: BatchSpec) -> Batch:
    gen = torch.Generator().manual_seed(spec.seed)
    x = torch.randn(spec.batch_size, 3, spec.image_size, spec.image_size, generator=gen)
    y = torch.randint(0, spec.num_classes, (spec.batch_size,), generator=gen)
    prov = BatchProvenance(
        dataset="random", split="none", batch_size=spec.batch_size, seed=spec.seed, sha256=tensor_sha256(x),
        norm="none", image_size=spec.image_size, num_classes=spec.num_classes, source="torch.randn",
        labels_sha256=labels_sha256(y),
    )
    return Batch(x, y, prov)


def _cifar(spec: BatchSpec) -> tuple[np.ndarray, np.ndarray, str]:
    from torchvision import datasets  # imported lazily: only CIFAR needs it

    cls = datasets.CIFAR10 if spec.kind == "cifar10" else datasets.CIFAR100
    root = _root(spec)
    try:
        ds = cls(str(root), train=True, download=False)
    except RuntimeError:
        if not spec.download:
            raise InputError(f"{spec.kind} not found under {root}; pass --data-root DIR holding the "
                             f"torchvision {spec.kind} files") from None
        try:
            root.mkdir(parents=True, exist_ok=True)
            ds = cls(str(root), train=True, download=True)
        except Exception as exc:  # no network, disk full, ...: say so on one line
            reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            raise InputError(f"{spec.kind} is not under {root} and could not be downloaded ({reason}); pass "
                             f"--data-root DIR with the torchvision {spec.kind} files, or use "
                             f"--dataset npz:PATH or --dataset random") from None
    return np.asarray(ds.data), np.asarray(ds.targets), f"torchvision:{cls.__name__}:{root}"


def _imagenet16_files(root: Path) -> list[Path]:
    """The official ImageNet16 training pickles: train_data_batch_1..10 (in ROOT or ROOT/ImageNet16)."""
    for candidate in (root, root / "ImageNet16", root / "imagenet16"):
        files = [candidate / f"train_data_batch_{i}" for i in range(1, 11)]
        if all(f.is_file() for f in files):
            return files
    raise InputError(f"ImageNet16-120 not found: expected train_data_batch_1..10 under {root} (or {root}/ImageNet16); "
                     "download the official ImageNet16 pickles and pass --data-root")


def _imagenet16(spec: BatchSpec) -> tuple[np.ndarray, np.ndarray, str]:
    """Keep classes 1..120 of the 1000 (labels are 1-based in the files), as ImageNet16-120 does."""
    images, labels = [], []
    files = _imagenet16_files(_root(spec))
    for path in files:
        with open(path, "rb") as fh:  # a pickle: only ever read from a path the user named
            entry = pickle.load(fh, encoding="latin1")
        data = np.asarray(entry["data"], dtype=np.uint8)
        lab = np.asarray(entry["labels"], dtype=np.int64)
        keep = (lab >= 1) & (lab <= 120)
        images.append(data[keep].reshape(-1, 3, 16, 16).transpose(0, 2, 3, 1))
        labels.append(lab[keep] - 1)
    return np.concatenate(images), np.concatenate(labels), f"imagenet16:{files[0].parent}"


def _load_npz(path_text: str, *, header_only: bool) -> tuple[np.ndarray, np.ndarray | None, str]:
    path = Path(path_text)
    if not path_text:
        raise InputError("dataset 'npz:' needs a file path, e.g. npz:images.npz")
    if path.is_dir():
        raise InputError(f"npz file {path_text!r} is a directory; expected an .npz archive of uint8 NHWC images")
    if not path.is_file():
        raise InputError(f"npz file {path_text!r} does not exist")
    if not zipfile.is_zipfile(path):
        raise InputError(f"cannot read npz file {path_text!r}: it is not an .npz archive (numpy.savez writes one)")
    try:
        with np.load(path, allow_pickle=False) as archive:
            key = next((k for k in ("x", "x_train") if k in archive.files), None)
            if key is None:
                raise InputError(f"npz file {path_text!r} has no 'x' or 'x_train' array (found: {', '.join(archive.files)})")
            images = archive[key]
            label_key = {"x": "y", "x_train": "y_train"}[key]
            labels = archive[label_key] if label_key in archive.files else None
    except InputError:
        raise
    except (OSError, ValueError, zipfile.BadZipFile, EOFError) as exc:
        raise InputError(f"cannot read npz file {path_text!r}: {str(exc).splitlines()[0] if str(exc) else type(exc).__name__}") from None
    if images.dtype != np.uint8 or images.ndim != 4 or images.shape[-1] not in (1, 3):
        raise InputError(f"npz file {path_text!r}: array {key!r} must be uint8 NHWC with 1 or 3 channels, "
                         f"got {images.dtype} {tuple(images.shape)}")
    if labels is not None:
        label_key = {"x": "y", "x_train": "y_train"}[key]
        if labels.ndim != 1 or labels.dtype.kind not in "iu":
            raise InputError(f"npz file {path_text!r}: labels {label_key!r} must be a 1-D integer array, got "
                             f"{labels.dtype} {tuple(labels.shape)}")
        if len(labels) != len(images):
            raise InputError(f"npz file {path_text!r} has {len(images)} images under {key!r} but {len(labels)} labels "
                             f"under {label_key!r}; expected one label per image")
    if images.shape[-1] == 1:
        images = np.repeat(images, 3, axis=-1)
    return images, labels, str(path.resolve())
