"""The ``accuracies`` table: one tidy row per (space, architecture, dataset, split, training budget).

Why one long table instead of one wide table per benchmark: every benchmark names its columns
differently (NB201 ``x-valid`` of ``cifar10-valid``, NDS ``test_ep_top1``, NB101 ``final_test_accuracy``),
but the analysis only ever asks "the accuracy of this architecture on this dataset/split after this many
epochs". Accuracies are in percent everywhere (NB101's fractions are converted on import); ``params``
and ``flops`` are raw counts (the benchmarks' millions are converted), so columns never need a unit guess.

Identity: (space, arch_index, dataset, split, epochs). A later import of the same identity wins;
``source`` (file name + sha256) tells which file a row came from.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime, timezone

import pyarrow as pa

from naswot_ray.errors import InputError, unknown_choice
from naswot_ray.store import register_table

ACCURACIES = "accuracies"

ACCURACIES_SCHEMA = pa.schema([
    ("space", pa.string()),
    ("arch_index", pa.int64()),
    ("arch", pa.string()),            # the space's arch string; the module hash for nb101
    ("dataset", pa.string()),         # cifar10-valid, cifar10, cifar100, ImageNet16-120, imagenet, ...
    ("split", pa.string()),           # train, valid, test, ori-test, x-valid, x-test
    ("epochs", pa.int32()),           # training budget (NB201 hp 12/200, NATS-SSS 01/12/90, NB101 4..108)
    ("accuracy", pa.float64()),       # top-1, percent
    ("params", pa.float64()),         # raw parameter count, where known
    ("flops", pa.float64()),          # raw FLOPs as the benchmark counts them, where known
    ("train_seconds", pa.float64()),  # total training time, where known
    ("source", pa.string()),          # "<file name> sha256:<hex>" (+ import options that change values)
    ("imported_at", pa.timestamp("us", tz="UTC")),
])

IDENTITY = ("space, arch_index, dataset, split, epochs", "imported_at DESC")

register_table(ACCURACIES, ACCURACIES_SCHEMA, IDENTITY)

#: dataset names as the benchmarks use them (NB201/NATS names; ``imagenet`` for NDS ``_in`` spaces)
DATASETS: tuple[str, ...] = ("cifar10-valid", "cifar10", "cifar100", "ImageNet16-120", "imagenet", "imagenette")
#: evaluation splits (NB201/NATS: train, x-valid, x-test, ori-test; NB101/NDS: train, valid, test)
SPLITS: tuple[str, ...] = ("train", "valid", "test", "ori-test", "x-valid", "x-test")


def check_dataset(name: str) -> str:
    if name not in DATASETS:
        raise unknown_choice("benchmark dataset", name, DATASETS)
    return name


def check_split(name: str) -> str:
    if name not in SPLITS:
        raise unknown_choice("split", name, SPLITS)
    return name


@dataclass(frozen=True)
class AccuracyColumn:
    """Where one accuracy number goes: (dataset, split, epochs)."""

    dataset: str
    split: str
    epochs: int

    def __post_init__(self) -> None:
        check_dataset(self.dataset)
        check_split(self.split)
        if self.epochs <= 0:
            raise InputError(f"epochs must be a positive integer, got {self.epochs}")

    @property
    def label(self) -> str:
        return f"{self.dataset}:{self.split}:{self.epochs}"

    @classmethod
    def parse(cls, text: str) -> "AccuracyColumn":
        """``DATASET:SPLIT:EPOCHS``, e.g. ``cifar10-valid:x-valid:12`` (search fitness, ensemble targets)."""
        parts = [p.strip() for p in text.split(":")]
        if len(parts) != 3 or not all(parts) or not parts[2].isdigit():
            raise InputError(f"malformed accuracy column {text!r}; expected DATASET:SPLIT:EPOCHS, "
                             "e.g. cifar10-valid:x-valid:12")
        return cls(parts[0], parts[1], int(parts[2]))


@dataclass
class AccuracyRows:
    """Column buffers for one import; :meth:`table` checks identities are unique before anything is written.

    ``origin`` names the file in error messages, so a duplicate says where it came from. Readers call
    :meth:`skip` for every architecture a source lists without a value in a column, so a partial table
    says how partial it is instead of silently importing fewer rows.
    """

    space: str
    source: str
    origin: str
    _cols: dict[str, list] = field(default_factory=lambda: {name: [] for name in ACCURACIES_SCHEMA.names})
    #: column label -> architectures the source lists without a value there (not imported)
    missing: dict[str, int] = field(default_factory=dict)

    def skip(self, column: AccuracyColumn, count: int = 1) -> None:
        """Record ``count`` architectures without a value in ``column`` (reported, not imported)."""
        if count:
            self.missing[column.label] = self.missing.get(column.label, 0) + int(count)

    def add(self, *, arch_index: int, arch: str, column: AccuracyColumn, accuracy: float,
            params: float | None = None, flops: float | None = None, train_seconds: float | None = None) -> None:
        accuracy = float(accuracy)
        if not math.isfinite(accuracy) or not -1e-9 <= accuracy <= 100.0 + 1e-9:
            raise InputError(f"{self.origin}: accuracy {accuracy!r} of architecture {arch_index} "
                             f"({column.label}) is outside 0..100; expected accuracies in percent")
        cols = self._cols
        cols["space"].append(self.space)
        cols["arch_index"].append(int(arch_index))
        cols["arch"].append(arch)
        cols["dataset"].append(column.dataset)
        cols["split"].append(column.split)
        cols["epochs"].append(int(column.epochs))
        cols["accuracy"].append(accuracy)
        cols["params"].append(_finite_or_none(params))
        cols["flops"].append(_finite_or_none(flops))
        cols["train_seconds"].append(_finite_or_none(train_seconds))
        cols["source"].append(self.source)

    def __len__(self) -> int:
        return len(self._cols["space"])

    def table(self) -> pa.Table:
        """The rows as an Arrow table in the store's schema; duplicate identities raise InputError."""
        n = len(self)
        if n == 0:
            raise InputError(f"{self.origin}: no accuracies found; nothing to import")
        self._cols["imported_at"] = [datetime.now(timezone.utc)] * n
        seen: dict[tuple, int] = {}
        c = self._cols
        for i, key in enumerate(zip(c["arch_index"], c["dataset"], c["split"], c["epochs"])):
            if key in seen:
                raise InputError(f"{self.origin}: architecture {key[0]} has two accuracies for "
                                 f"{key[1]}:{key[2]}:{key[3]}; expected one per architecture and column")
            seen[key] = i
        return pa.Table.from_pydict(self._cols, schema=ACCURACIES_SCHEMA)


def _finite_or_none(value: float | None) -> float | None:
    if value is None:
        return None
    value = float(value)
    return value if math.isfinite(value) else None


__all__ = ["ACCURACIES", "ACCURACIES_SCHEMA", "AccuracyColumn", "AccuracyRows", "DATASETS", "SPLITS",
           "check_dataset", "check_split"]
