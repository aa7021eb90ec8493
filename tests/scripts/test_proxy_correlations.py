"""scripts/proxy_correlations.py on a handful of rows written directly: heads, aggregates, cell sets, the table."""

from __future__ import annotations

import importlib.util
import json
import math
import sys
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest

from naswot_ray.spaces.nb201.cell import is_dead_branch_free, parse_cell
from naswot_ray.spaces.nb201.space import nb201_arch_table
from naswot_ray.store import Store, score_key

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "proxy_correlations.py"


@pytest.fixture(scope="module")
def script():
    spec = importlib.util.spec_from_file_location("proxy_correlations", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses resolve annotations through sys.modules
    spec.loader.exec_module(module)
    return module


def write_scores(store: Store, metric: str, mode: str, num_classes: int, values: dict[int, float]) -> None:
    archs = nb201_arch_table()
    rows = []
    for index, value in values.items():
        key = score_key(space="nb201", space_options="", arch_index=index, metric=metric, mode=mode, bn_mode="train",
                        num_classes=num_classes, batch_sha256="b", seed=1, metric_version=1, metric_options="",
                        device_class="cpu", memory_format="channels_last", labels_sha256="")
        rows.append({"key": key, "space": "nb201", "space_options": "", "arch_index": index, "arch": archs[index],
                     "metric": metric, "value": value, "value_scale": "raw", "status": "ok", "error": None,
                     "dataset": "npz", "batch_size": 128, "batch_sha256": "b", "seed": 1, "mode": mode,
                     "bn_mode": "train", "num_classes": num_classes, "created_at": datetime.now(timezone.utc),
                     "metric_version": 1, "metric_options": "", "device_class": "cpu",
                     "memory_format": "channels_last", "labels_sha256": ""})
    store.write("scores", rows)


def write_accuracies(store: Store, dataset: str, split: str, values: dict[int, float]) -> None:
    from naswot_ray.accuracies.schema import ACCURACIES_SCHEMA

    archs = nb201_arch_table()
    rows = [{"space": "nb201", "arch_index": i, "arch": archs[i], "dataset": dataset, "split": split, "epochs": 200,
             "accuracy": a, "source": "test", "imported_at": datetime.now(timezone.utc)} for i, a in values.items()]
    store.write("accuracies", pa.Table.from_pylist(rows, schema=ACCURACIES_SCHEMA))


def test_table_from_rows_written_directly(tmp_path, script, capsys) -> None:
    store = Store(str(tmp_path / "store"))
    cells = list(range(12))
    valid = [i for i in cells if is_dead_branch_free(parse_cell(nb201_arch_table()[i]))]
    assert 3 <= len(valid) < len(cells)  # both cell sets are exercised
    acc = {i: float(50 + i) for i in cells}
    for dataset, split in (("cifar10", "ori-test"), ("cifar10-valid", "ori-test"), ("cifar100", "x-test"),
                           ("ImageNet16-120", "x-test")):
        write_accuracies(store, dataset, split, acc)
    rising = {i: float(i) for i in cells}
    falling = {i: float(-i) for i in cells}
    for metric in ("az_expressivity", "az_progressivity", "az_trainability", "az_complexity"):
        write_scores(store, metric, "reference", 10, rising)
    write_scores(store, "zico", "reference", 10, rising)  # perfect on the 10-class head ...
    write_scores(store, "zico", "reference", 100, falling)  # ... reversed on the 100-class head
    write_scores(store, "zen", "default", 10, {**rising, 0: -math.inf})  # -inf ranks lowest: still perfect
    frame = script.table(store)

    def row(proxy: str, dataset: str, cells_set: str = "all"):
        found = frame[(frame.proxy == proxy) & (frame.dataset == dataset) & (frame.cells == cells_set)]
        assert len(found) == 1, (proxy, dataset, cells_set)
        return found.iloc[0]

    assert row("zico", "cifar10").rho == pytest.approx(1.0) and row("zico", "cifar10").n == 12
    assert row("zico", "cifar100").rho == pytest.approx(-1.0)  # the dataset's head is used where stored
    assert row("zico", "ImageNet16-120").rho == pytest.approx(1.0)  # else the 10-class head's
    assert row("zen", "cifar10").tau == pytest.approx(1.0)
    az = row("az_nas", "cifar10")  # the AZ-NAS aggregate of four rising components rises too
    assert az.rho == pytest.approx(1.0) and az.published_rho == 0.913 and az.diff_rho == pytest.approx(1 - 0.913)
    assert row("zico", "cifar10", "valid").n == len(valid)
    assert math.isnan(row("zico", "cifar10 (cifar10-valid)").published_rho)
    assert script.main(["--store", str(tmp_path / "store")]) == 0
    last = capsys.readouterr().out.strip().splitlines()[-1]
    assert json.loads(last)["az_nas/cifar10/all"][1] == 0.913


def test_dense_pair_rank_is_lexicographic(script) -> None:
    import pandas as pd

    aleph = pd.Series([21.0, 30.0, 21.0, 30.0, 30.0])
    entropy = pd.Series([0.5, 0.1, 0.2, 0.1, 0.9])
    assert script.dense_pair_rank(aleph, entropy).tolist() == [2.0, 3.0, 1.0, 3.0, 4.0]
    assert np.isnan(script.correlate(pd.Series([1.0]), pd.Series([2.0]))[0])
