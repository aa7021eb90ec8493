"""Joining stored scores with benchmark accuracies (DuckDB), one row per (score, accuracy column).

How rows match:

* NB201 / NATS / NDS: same space, same ``arch_index`` and the same ``arch`` string. Both must agree, so
  scores of an NDS file with different records, or a benchmark imported in another index order, never
  join by accident.
* NB101: same space and the same module hash (scores carry our arch string, accuracies the hash; the
  hash is computed from each distinct scored arch with the space's own hash function).

A *score variant* is everything in a score's identity except the architecture (metric, mode, metric
version and options, space options, BN mode, head size, batch and labels, seed, device class, memory
format). Each variant has at most one score per architecture, so each (variant, accuracy column) pair
is one correlation, and two versions of a metric are never averaged as one. Variants are labelled by
the metric name, plus, in brackets, whatever tells them apart when a metric has several
(``naswot[clean]``, ``naswot[v0]``, ``naswot[stem_channels=16]``, ``naswot[seed=2]``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pandas as pd
import pyarrow as pa

import naswot_ray.accuracies  # noqa: F401  (registers the accuracies table with the store)
from naswot_ray.accuracies.keys import NB101
from naswot_ray.errors import InputError
from naswot_ray.spaces import get_space
from naswot_ray.store import VARIANT_FIELDS, Store, query_arrow

#: fields shown in a variant label when they differ, in this order
LABEL_FIELDS = ("mode", "metric_version", "metric_options", "space_options", "dataset", "batch_size", "batch_sha256",
                "labels_sha256", "seed", "bn_mode", "num_classes", "device_class", "memory_format")


@dataclass
class Filters:
    """Optional restrictions; None means everything in the store."""

    spaces: Sequence[str] | None = None
    metrics: Sequence[str] | None = None
    datasets: Sequence[str] | None = None
    splits: Sequence[str] | None = None
    epochs: Sequence[int] | None = None


@dataclass
class Joined:
    """The joined rows plus what the report needs to know about coverage."""

    rows: pd.DataFrame          # space, variant, metric, mode, value_scale, arch_index, value, acc_* columns
    scored: pd.DataFrame        # space, variant -> number of scored architectures
    unjoined_spaces: list[str]  # scored spaces (after filters) with no matching accuracy at all


def load_joined(store: Store, filters: Filters | None = None) -> Joined:
    """Scores x accuracies for the filtered spaces/metrics/columns; InputError when either side is empty."""
    filters = filters or Filters()
    if not store.exists():
        raise InputError(f"store {store.root!r} does not exist")
    spaces = [get_space(s).name for s in filters.spaces] if filters.spaces else None
    con = store.connect(tables=("scores", "accuracies"))
    _require_rows(con, "scores", "no scores in the store; run naswot-ray score-all first")
    _require_rows(con, "accuracies", "no accuracies in the store; run naswot-ray import-benchmark first")

    score_where, score_params = _where({"space": spaces, "metric": filters.metrics})
    variants = query_arrow(con, f"SELECT DISTINCT space, {', '.join(VARIANT_FIELDS)}, dataset, batch_size "
                                f"FROM scores{score_where}", score_params).to_pandas()
    if variants.empty:
        raise InputError(f"no scores match the filters (spaces: {_show(spaces)}, metrics: {_show(filters.metrics)}); "
                         f"stored: {_stored(con, 'scores', 'space, metric')}")
    variants["variant"] = _labels(variants)
    con.register("variants", pa.Table.from_pandas(variants, preserve_index=False))
    con.register("nb101_keys", _nb101_keys(con, score_where, score_params))

    acc_where, acc_params = _where({"space": spaces, "dataset": filters.datasets, "split": filters.splits,
                                    "epochs": filters.epochs})
    sql = f"""
        WITH s AS (
            SELECT sc.*, CASE WHEN sc.space = '{NB101}' THEN -1 ELSE sc.arch_index END AS j_index,
                   CASE WHEN sc.space = '{NB101}' THEN k.hash ELSE sc.arch END AS j_arch
            FROM scores sc LEFT JOIN nb101_keys k ON sc.space = '{NB101}' AND k.arch = sc.arch
            {score_where}
        ), a AS (
            SELECT *, CASE WHEN space = '{NB101}' THEN -1 ELSE arch_index END AS j_index FROM accuracies{acc_where}
        )
        SELECT s.space, v.variant, s.metric, s.mode, s.value_scale, s.arch_index, s.value, s.status,
               a.dataset AS acc_dataset, a.split AS acc_split, a.epochs AS acc_epochs, a.accuracy
        FROM s
        JOIN variants v ON v.space = s.space AND {' AND '.join(f'v.{f} IS NOT DISTINCT FROM s.{f}' for f in VARIANT_FIELDS)}
        JOIN a ON a.space = s.space AND a.j_index = s.j_index AND a.arch = s.j_arch
    """
    rows = query_arrow(con, sql, score_params + acc_params).to_pandas()
    if rows.empty:
        raise InputError("no scored architecture has an accuracy for the filters "
                         f"(datasets: {_show(filters.datasets)}, splits: {_show(filters.splits)}, "
                         f"epochs: {_show(filters.epochs)}); stored accuracies: "
                         f"{_stored(con, 'accuracies', 'space, dataset, split, epochs')}")
    scored = query_arrow(con, "SELECT s.space, v.variant, count(DISTINCT s.arch_index) AS scored FROM scores s JOIN variants v "
                              f"ON v.space = s.space AND {' AND '.join(f'v.{f} IS NOT DISTINCT FROM s.{f}' for f in VARIANT_FIELDS)} "
                              "GROUP BY ALL").to_pandas()
    unjoined = sorted(set(variants["space"]) - set(rows["space"]))
    return Joined(rows, scored, unjoined)


def _nb101_keys(con, score_where: str, params: list) -> pa.Table:
    """(arch, hash) for every distinct NB101 arch among the scores (empty when NB101 is not involved)."""
    condition = f"{score_where} AND space = '{NB101}'" if score_where else f" WHERE space = '{NB101}'"
    archs = [r[0] for r in con.execute(f"SELECT DISTINCT arch FROM scores{condition}", params).fetchall()]
    hashes = []
    if archs:
        space = get_space(NB101)
        hashes = [space.hash_of(arch) for arch in archs]  # type: ignore[attr-defined]
    return pa.table({"arch": pa.array(archs, pa.string()), "hash": pa.array(hashes, pa.string())})


def _labels(variants: pd.DataFrame) -> list[str]:
    """Metric name, plus, in LABEL_FIELDS order, the fields that differ among that metric's variants in the
    same space, until the labels tell them apart (``naswot[clean]``, ``naswot[v0]``)."""
    labels = [str(m) for m in variants["metric"]]
    for _, group in variants.groupby(["space", "metric"], dropna=False):
        if len(group) == 1:
            continue
        parts: dict[int, list[str]] = {i: [] for i in group.index}
        for field in LABEL_FIELDS:
            if group[field].nunique(dropna=False) <= 1:
                continue
            for i, value in group[field].items():
                parts[i].append(_label_part(field, value))
            if len({tuple(p) for p in parts.values()}) == len(group):
                break
        for i in group.index:
            labels[variants.index.get_loc(i)] = f"{group.at[i, 'metric']}[{','.join(parts[i])}]"
    return labels


def _label_part(field: str, value: object) -> str:
    if field in ("batch_sha256", "labels_sha256"):
        value = str(value)[:8]
    if field == "mode":
        return str(value)
    if field == "metric_version":
        return f"v{value}"
    return f"{field}={value}"


def _where(conditions: dict[str, Sequence | None]) -> tuple[str, list]:
    clauses, params = [], []
    for column, values in conditions.items():
        if values:
            clauses.append(f"{column} IN ({', '.join('?' for _ in values)})")
            params.extend(values)
    return (" WHERE " + " AND ".join(clauses) if clauses else ""), params


def _require_rows(con, table: str, message: str) -> None:
    if con.execute(f"SELECT count(*) FROM {table}").fetchall()[0][0] == 0:
        raise InputError(message)


def _stored(con, table: str, columns: str) -> str:
    rows = con.execute(f"SELECT DISTINCT {columns} FROM {table} ORDER BY ALL").fetchall()
    shown = "; ".join(":".join(str(v) for v in row) for row in rows[:12])
    return (shown + ("; ..." if len(rows) > 12 else "")) or "none"


def _show(values: Sequence | None) -> str:
    return ", ".join(map(str, values)) if values else "all"


__all__ = ["Filters", "Joined", "load_joined", "VARIANT_FIELDS"]
