"""Synthetic score rows in the store's ``scores`` schema, for analysis tests that must not run a network."""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa

from naswot_ray.store import Store, score_key


def write_scores(store: Store, *, space: str, indices: Sequence[int], archs: Sequence[str], values: Sequence[float],
                 metric: str = "naswot", mode: str = "reference", space_options: str = "", seed: int = 1,
                 batch_sha256: str = "b" * 64, dataset: str = "cifar10", metric_version: int = 1, num_classes: int = 10,
                 status: Sequence[str] | None = None, created_at: datetime | None = None) -> None:
    """One score row per architecture; NaN values are stored as status=error rows (as the engine does)
    unless ``status`` gives each row's status (e.g. a NaN stored as ok, as rows from before legal values)."""
    n = len(indices)
    values = np.asarray(values, dtype=np.float64)
    status = list(status) if status is not None else ["error" if math.isnan(v) else "ok" for v in values]
    keys = [score_key(space=space, space_options=space_options, arch_index=int(i), metric=metric, mode=mode,
                      bn_mode="train", num_classes=num_classes, batch_sha256=batch_sha256, seed=seed,
                      metric_version=metric_version, metric_options="", device_class="cpu",
                      memory_format="channels_last", labels_sha256="") for i in indices]
    table = pa.table({
        "key": keys, "space": [space] * n, "space_options": [space_options] * n,
        "arch_index": pa.array(indices, pa.int64()), "arch": list(archs), "metric": [metric] * n,
        "value": values, "value_scale": ["raw"] * n, "status": status,
        "error": ["failed" if s == "error" else None for s in status], "dataset": [dataset] * n,
        "batch_size": [128] * n, "batch_sha256": [batch_sha256] * n, "seed": [seed] * n, "mode": [mode] * n,
        "bn_mode": ["train"] * n, "num_classes": pa.array([num_classes] * n, pa.int32()),
        "created_at": [created_at or datetime.now(timezone.utc)] * n,
        "metric_version": pa.array([metric_version] * n, pa.int32()), "metric_options": [""] * n,
        "device_class": ["cpu"] * n, "memory_format": ["channels_last"] * n, "labels_sha256": [""] * n,
    })
    store.write("scores", table)


def accuracy_store(root: Path, columns: dict[str, Sequence[float]], indices: Sequence[int] | None = None,
                   name: str = "store") -> Store:
    """A new store at ``root/name`` holding NB201 accuracies: ``columns`` maps DATASET:SPLIT:EPOCHS to the
    values of ``indices`` (default 0..n-1), imported through a CSV as a user would."""
    from naswot_ray.accuracies import CsvOptions, parse_column_mapping
    from naswot_ray.accuracies.importer import import_benchmark
    from naswot_ray.spaces import get_space

    space = get_space("nb201")
    n = len(next(iter(columns.values())))
    cells = list(range(n)) if indices is None else [int(i) for i in indices]
    names = {label: f"c{k}" for k, label in enumerate(columns)}
    frame = pd.DataFrame({"index": cells, "arch_str": [space.arch(i) for i in cells],
                          **{names[label]: list(values) for label, values in columns.items()}})
    csv = root / f"{name}-accuracies.csv"
    frame.to_csv(csv, index=False)
    store = Store(str(root / name))
    import_benchmark(store, "nb201", csv, fmt="csv",
                     csv_options=CsvOptions([parse_column_mapping(f"{names[label]}={label}") for label in columns]))
    return store
