"""Importing NAS-Bench-101 accuracies from an export of the official data, keyed by the module hash.

The official data is a TensorFlow 1.x tfrecord; what people share is an export of what its API returns.
Two layouts are read:

* **JSON** (``--format official``): ``{module_hash: [fixed_stats, computed_stats]}``, i.e.
  ``json.dump({h: api.get_metrics_from_hash(h) for h in api.hash_iterator()})``. ``fixed_stats`` has
  ``module_adjacency`` (0/1 matrix), ``module_operations`` (``input``, ``conv3x3-bn-relu``, ...,
  ``output``) and ``trainable_parameters``; ``computed_stats`` maps the epoch budget (4, 12, 36, 108)
  to a list of repeats, each with ``final_train_accuracy``, ``final_validation_accuracy``,
  ``final_test_accuracy`` (fractions) and ``final_training_time`` (seconds).
* **CSV** (``--format csv``): one row per cell with ``hash``/``module_hash``, or ``adjacency`` +
  ``ops`` columns (JSON lists, ``.``-joined 0/1 rows or a flat 0/1 string; ops as a JSON list or
  comma-separated), or an ``arch`` column in our arch syntax, plus ``--column`` mappings.

Every cell's hash is recomputed from its graph with our bit-exact NB101 hash, so a key that does not
match its graph (a corrupt or foreign file) is refused. Accuracies become percent. Repeats are
aggregated by ``repeats``: ``"max"`` (default; what NASWOT's plots use, metrics-spec section 4) or
``"mean"``; the choice is part of ``source``.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd

from naswot_ray.accuracies.csv_import import CsvOptions, import_csv
from naswot_ray.accuracies.schema import AccuracyColumn, AccuracyRows
from naswot_ray.accuracies.sources import existing_path, file_source
from naswot_ray.errors import InputError
from naswot_ray.spaces import SearchSpace

EXPECTED_JSON = ("a JSON object {module_hash: [fixed_stats, computed_stats]} as returned by the NB101 API's "
                 "get_metrics_from_hash (module_adjacency, module_operations; epochs -> repeats with final_*_accuracy)")
REPEATS = ("max", "mean")
SPLIT_FIELDS = {"train": "final_train_accuracy", "valid": "final_validation_accuracy", "test": "final_test_accuracy"}
HASH_COLUMNS = ("hash", "module_hash")
ADJACENCY_COLUMNS = ("adjacency", "module_adjacency", "matrix")
OPS_COLUMNS = ("ops", "module_operations", "operations")


def graph_text(adjacency: object, ops: object) -> str:
    """Our NB101 arch syntax (``rows|ops``) for an adjacency matrix and op list in any common export form."""
    matrix = _matrix(adjacency)
    names = _ops(ops)
    rows = ".".join("".join(str(int(v)) for v in row) for row in matrix)
    return f"{rows}|{','.join(names)}"


def import_nb101_json(path: str | Path, space: SearchSpace, *, repeats: str = "max") -> tuple[AccuracyRows, list[str]]:
    """Rows for every cell, epoch budget and split (train/valid/test on cifar10)."""
    if repeats not in REPEATS:
        raise InputError(f"unknown repeats aggregation {repeats!r}; valid choices: {', '.join(REPEATS)}")
    file = existing_path(path, EXPECTED_JSON)
    origin = f"NB101 file {str(path)!r}"
    try:
        data = json.loads(file.read_bytes())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
        raise InputError(f"{origin} is not readable JSON ({str(err).splitlines()[0]}); expected {EXPECTED_JSON}") from None
    if not isinstance(data, dict) or not data:
        raise InputError(f"{origin} holds a JSON {type(data).__name__}; expected {EXPECTED_JSON}")
    rows = AccuracyRows(space.name, file_source(file, f"nb101 repeats={repeats}"), origin)
    aggregate = np.max if repeats == "max" else np.mean
    for key, value in data.items():
        if not isinstance(value, (list, tuple)) or len(value) != 2 or not all(isinstance(v, dict) for v in value):
            raise InputError(f"{origin}: entry {key!r} is not a [fixed_stats, computed_stats] pair; expected {EXPECTED_JSON}")
        fixed, computed = value
        index, module_hash = _cell_key(space, fixed, origin, key)
        if module_hash != key:
            raise InputError(f"{origin}: entry {key!r} has the graph of hash {module_hash}; expected entries keyed "
                             "by their module hash")
        params = fixed.get("trainable_parameters")
        for epochs_key, runs in computed.items():
            epochs = _epochs(epochs_key, origin, key)
            if not isinstance(runs, list) or not runs or not all(isinstance(r, dict) for r in runs):
                raise InputError(f"{origin}: entry {key!r} epochs {epochs_key!r} is not a list of repeats; "
                                 f"expected {EXPECTED_JSON}")
            seconds = _values(runs, "final_training_time", origin, key, required=False)
            for split, field in SPLIT_FIELDS.items():
                values = _values(runs, field, origin, key, required=split == "test")
                if values is None:
                    rows.skip(AccuracyColumn("cifar10", split, epochs))
                    continue
                rows.add(arch_index=index, arch=module_hash, column=AccuracyColumn("cifar10", split, epochs),
                         accuracy=100.0 * float(aggregate(values)), params=_number(params),
                         train_seconds=None if seconds is None else float(np.mean(seconds)))
    return rows, []


def import_nb101_csv(path: str | Path, space: SearchSpace, options: CsvOptions) -> tuple[AccuracyRows, list[str]]:
    """CSV rows naming cells by hash, adjacency + ops, or our arch string, with ``--column`` mappings."""
    rows, _ = import_csv(path, space, options, arch_texts=_csv_arch_texts)
    return rows, []


def _csv_arch_texts(frame: pd.DataFrame, origin: str) -> list[str] | None:
    """Arch texts from hash or adjacency+ops columns (used when the CSV has no arch column)."""
    for name in HASH_COLUMNS:
        if name in frame.columns:
            return frame[name].astype(str).str.strip().tolist()
    adjacency = next((c for c in ADJACENCY_COLUMNS if c in frame.columns), None)
    ops = next((c for c in OPS_COLUMNS if c in frame.columns), None)
    if adjacency is None or ops is None:
        return None
    texts = []
    for row, (a, o) in enumerate(zip(frame[adjacency], frame[ops])):
        try:
            texts.append(graph_text(a, o))
        except InputError as err:
            raise InputError(f"{origin} row {row + 2}: {err}") from None
    return texts


def _cell_key(space: SearchSpace, fixed: dict, origin: str, key: str) -> tuple[int, str]:
    if "module_adjacency" not in fixed or "module_operations" not in fixed:
        raise InputError(f"{origin}: entry {key!r} has no module_adjacency/module_operations; expected {EXPECTED_JSON}")
    try:
        module_hash = space.hash_of(graph_text(fixed["module_adjacency"], fixed["module_operations"]))  # type: ignore[attr-defined]
        return space.index(module_hash), module_hash
    except InputError as err:
        raise InputError(f"{origin}: entry {key!r}: {err}") from None


def _matrix(adjacency: object) -> list[list[int]]:
    value = adjacency
    if isinstance(value, str):
        text = value.strip()
        if text.startswith("["):
            try:
                value = json.loads(text)
            except json.JSONDecodeError:
                raise InputError(f"adjacency {text[:60]!r} is not a JSON matrix") from None
        elif "." in text:
            if set(text) - {"0", "1", "."}:
                raise InputError(f"adjacency {text[:60]!r} is not 0/1 rows joined by '.'")
            value = [[int(c) for c in row] for row in text.split(".") if row]
        else:
            n = math.isqrt(len(text))
            if n * n != len(text) or set(text) - {"0", "1"}:
                raise InputError(f"adjacency {text[:60]!r} is not a square 0/1 matrix")
            value = [[int(c) for c in text[i * n:(i + 1) * n]] for i in range(n)]
    if (not isinstance(value, (list, tuple)) or not value
            or not all(isinstance(r, (list, tuple)) and len(r) == len(value) for r in value)
            or not all(v in (0, 1) for r in value for v in r)):
        raise InputError(f"adjacency {str(adjacency)[:60]!r} is not a square 0/1 matrix")
    return [[int(v) for v in row] for row in value]


def _ops(ops: object) -> list[str]:
    value = ops
    if isinstance(value, str):
        text = value.strip()
        if text.startswith("["):
            try:
                value = json.loads(text)
            except json.JSONDecodeError:
                raise InputError(f"ops {text[:60]!r} is not a JSON list") from None
        else:
            value = [part.strip() for part in text.split(",")]
    if not isinstance(value, (list, tuple)) or not all(isinstance(v, str) for v in value):
        raise InputError(f"ops {str(ops)[:60]!r} is not a list of op names")
    return list(value)


def _epochs(text: object, origin: str, key: str) -> int:
    try:
        epochs = int(str(text))
    except ValueError:
        raise InputError(f"{origin}: entry {key!r} has epoch budget {text!r}; expected integers such as 108") from None
    if epochs <= 0:
        raise InputError(f"{origin}: entry {key!r} has epoch budget {text!r}; expected a positive integer")
    return epochs


def _values(runs: list[dict], field: str, origin: str, key: str, *, required: bool) -> np.ndarray | None:
    present = [r.get(field) for r in runs if r.get(field) is not None]
    if not present:
        if required:
            raise InputError(f"{origin}: entry {key!r} has no {field}; expected {EXPECTED_JSON}")
        return None
    if not all(isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v) for v in present):
        raise InputError(f"{origin}: entry {key!r} has a non-numeric {field}; expected {EXPECTED_JSON}")
    return np.asarray(present, dtype=np.float64)


def _number(value: object) -> float | None:
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None


__all__ = ["import_nb101_json", "import_nb101_csv", "graph_text", "REPEATS", "EXPECTED_JSON"]
