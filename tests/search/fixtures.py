"""Real NB201 data for search tests, read from ../shared/data at test time (never copied into the repo).

* accuracies: the merged 200-epoch table and the 12-epoch mini-bench table (all 15,625 cells), turned
  into rows of the store's ``accuracies`` schema or straight into an :class:`AccuracyOracle`;
* scores: NASLib's precomputed NASWOT (``nwot``) values and timings for 725 NB201 cells, the "few hundred
  scored cells" the searches draw from with ``--within-scored``.
"""

from __future__ import annotations

import functools
import json
import math
from collections.abc import Sequence
from datetime import datetime, timezone

import numpy as np
import pandas as pd
import pyarrow as pa

from naswot_ray.accuracies.schema import ACCURACIES, ACCURACIES_SCHEMA
from naswot_ray.search import AccuracyOracle, Column, Domain, SearchProblem, StoredScores
from naswot_ray.spaces import get_space
from naswot_ray.store import Store, score_key
from tests.conftest import shared_path

MERGED = "nb201-merged-200ep/nb201_merged_200ep.csv"
MINIBENCH = "nb201-minibench-12ep/mini-bench-arch-cell-accs.csv"
NASLIB = "naslib-zc-subsets/zc_nasbench201.json"
NASLIB_OPS = ["skip_connect", "none", "nor_conv_3x3", "nor_conv_1x1", "avg_pool_3x3"]

#: CSV column -> (dataset, split, epochs), as SOURCE.txt of each folder says
MERGED_COLUMNS = {"cifar10valid_xvalid": ("cifar10-valid", "x-valid", 200), "cifar10_oritest": ("cifar10", "ori-test", 200),
                  "cifar100_xtest": ("cifar100", "x-test", 200), "imagenet16_xvalid": ("ImageNet16-120", "x-valid", 200),
                  "imagenet16_xtest": ("ImageNet16-120", "x-test", 200)}
MINIBENCH_COLUMNS = {"cifar10-val": ("cifar10-valid", "x-valid", 12), "cifar10-test": ("cifar10", "ori-test", 12),
                     "cifar100-val": ("cifar100", "x-valid", 12), "cifar100-test": ("cifar100", "x-test", 12),
                     "imagenet-val": ("ImageNet16-120", "x-valid", 12), "imagenet-test": ("ImageNet16-120", "x-test", 12)}
SIZE = 15625


@functools.cache
def _merged() -> pd.DataFrame:
    frame = pd.read_csv(shared_path(MERGED))
    assert (frame["index"].to_numpy() == np.arange(SIZE)).all()
    return frame


@functools.cache
def _minibench() -> pd.DataFrame:
    frame = pd.read_csv(shared_path(MINIBENCH))
    assert (frame["arch"].to_numpy() == np.arange(SIZE)).all()
    return frame


def column_values(dataset: str, split: str, epochs: int) -> np.ndarray:
    """One accuracy column of the shared tables as a float64 vector over all 15,625 cells."""
    for frame, mapping in ((_merged(), MERGED_COLUMNS), (_minibench(), MINIBENCH_COLUMNS)):
        for name, target in mapping.items():
            if target == (dataset, split, epochs):
                return frame[name].to_numpy(dtype=np.float64)
    raise KeyError((dataset, split, epochs))


def accuracy_table(*, with_12: bool = True, indices: Sequence[int] | None = None,
                   train_seconds: np.ndarray | None = None) -> pa.Table:
    """Rows of the ``accuracies`` schema from the shared tables (``train_seconds`` on the 12-epoch rows)."""
    archs = np.array(_merged()["arch_str"])
    idx = np.arange(SIZE) if indices is None else np.asarray(indices, dtype=np.int64)
    mappings = {**MERGED_COLUMNS, **(MINIBENCH_COLUMNS if with_12 else {})}
    parts = []
    now = datetime.now(timezone.utc)
    for name, (dataset, split, epochs) in mappings.items():
        times = train_seconds[idx] if (train_seconds is not None and epochs == 12) else np.full(len(idx), np.nan)
        parts.append(pa.Table.from_pydict({
            "space": ["nb201"] * len(idx), "arch_index": idx, "arch": archs[idx].tolist(),
            "dataset": [dataset] * len(idx), "split": [split] * len(idx), "epochs": [epochs] * len(idx),
            "accuracy": column_values(dataset, split, epochs)[idx], "params": [None] * len(idx),
            "flops": [None] * len(idx), "train_seconds": pa.array(times, pa.float64(), from_pandas=True),
            "source": ["shared test data"] * len(idx), "imported_at": [now] * len(idx),
        }, schema=ACCURACIES_SCHEMA))
    return pa.concat_tables(parts)


def write_accuracies(store: Store, **options) -> None:
    store.write(ACCURACIES, accuracy_table(**options))


def naslib_cell(key: str) -> str:
    e12, e13, e14, e23, e24, e34 = (NASLIB_OPS[int(k)] for k in key.strip("()").split(","))
    return f"|{e12}~0|+|{e13}~0|{e23}~1|+|{e14}~0|{e24}~1|{e34}~2|"


@functools.cache
def naslib_nwot() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(indices, NASWOT scores, scoring seconds) of NASLib's 725 CIFAR-10 NB201 cells."""
    entries = json.loads(shared_path(NASLIB).read_text())["cifar10"]
    space = get_space("nb201")
    indices = np.array([space.index(naslib_cell(key)) for key in entries], dtype=np.int64)
    scores = np.array([e["nwot"]["score"] for e in entries.values()], dtype=np.float64)
    seconds = np.array([e["nwot"]["time"] for e in entries.values()], dtype=np.float64)
    return indices, scores, seconds


def write_scores(store: Store, indices: Sequence[int], values: Sequence[float], seconds: Sequence[float] | None = None, *,
                 metric: str = "naswot", mode: str = "reference", seed: int = 1, batch_sha256: str = "naslib" + "0" * 58,
                 dataset: str = "naslib-nwot") -> None:
    """Score rows in the store's schema; NaN values become status=error rows, as the engine writes them."""
    space = get_space("nb201")
    n = len(indices)
    values = np.asarray(values, dtype=np.float64)
    status = ["error" if math.isnan(v) else "ok" for v in values]
    store.write("scores", pa.table({
        "key": [score_key(space="nb201", space_options="", arch_index=int(i), metric=metric, mode=mode, bn_mode="train",
                          num_classes=10, batch_sha256=batch_sha256, seed=seed, metric_version=1, metric_options="",
                          device_class="cpu", memory_format="channels_last", labels_sha256="") for i in indices],
        "metric_version": [1] * n, "metric_options": [""] * n, "device_class": ["cpu"] * n,
        "memory_format": ["channels_last"] * n, "labels_sha256": [""] * n,
        "space": ["nb201"] * n, "space_options": [""] * n, "arch_index": pa.array(indices, pa.int64()),
        "arch": [space.arch(int(i)) for i in indices], "metric": [metric] * n, "value": values,
        "value_scale": ["raw"] * n, "status": status, "dataset": [dataset] * n, "batch_size": [64] * n,
        "batch_sha256": [batch_sha256] * n, "seed": [seed] * n, "mode": [mode] * n, "bn_mode": ["train"] * n,
        "num_classes": [10] * n, "seconds": np.zeros(n) if seconds is None else np.asarray(seconds, dtype=np.float64),
        "created_at": [datetime.now(timezone.utc)] * n,
    }))


def oracle(*, fitness: tuple[str, str, int] = ("cifar10-valid", "x-valid", 12),
           train_seconds: np.ndarray | None = None) -> AccuracyOracle:
    """The oracle a search would load from a store holding both shared tables."""
    columns = [Column(*MERGED_COLUMNS[k][:2], 200) for k in MERGED_COLUMNS]
    return AccuracyOracle(size=SIZE, fitness_column=Column(*fitness), fitness=column_values(*fitness),
                          train_seconds=np.full(SIZE, np.nan) if train_seconds is None else train_seconds,
                          report={c.label: column_values(c.dataset, c.split, c.epochs) for c in columns},
                          report_columns=columns)


def naslib_problem(**oracle_options) -> SearchProblem:
    """Real accuracies for every cell, NASLib NASWOT scores for 725, candidates drawn from those 725."""
    indices, scores, seconds = naslib_nwot()
    values = np.full(SIZE, np.nan)
    values[indices] = scores
    times = np.full(SIZE, np.nan)
    times[indices] = seconds
    present = np.zeros(SIZE, dtype=bool)
    present[indices] = True
    scorer = StoredScores(values, times, present, source="stored:naslib")
    return SearchProblem(Domain(get_space("nb201"), pool=np.sort(indices)), oracle(**oracle_options), scorer)
