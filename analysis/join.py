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

Heads: a metric scored with several head sizes (``--num-classes 10/100/120``, one variant each) is
paired with each dataset through the variant whose head matches the dataset's class count (CIFAR-100
with the 100-class head), as the references score each dataset with its own head. Variants that
differ only in the head form one *family* (the label without ``num_classes``), which is the name an
ensemble member uses. A metric with one head size is paired with every dataset.

Row order: the joined rows come back sorted by (space, variant, dataset, split, epochs, architecture),
never in DuckDB's order, so everything that picks rows by position (the bootstrap, the paper
protocol's seeded subsample) is a function of the store's contents only.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pandas as pd
import pyarrow as pa

import naswot_ray.accuracies  # noqa: F401  (registers the accuracies table with the store)
from naswot_ray.accuracies.keys import NB101
from naswot_ray.ensembles.variants import DATASET_CLASSES, family, variant_labels, variant_parts
from naswot_ray.errors import InputError
from naswot_ray.spaces import get_space
from naswot_ray.store import VARIANT_FIELDS, Store, query_arrow

#: the joined rows' sort order (deterministic whatever order the store's part files and DuckDB give)
ROW_ORDER = ["space", "variant", "acc_dataset", "acc_split", "acc_epochs", "arch_index"]


@dataclass
class Filters:
    """Optional restrictions; None means everything in the store."""

    spaces: Sequence[str] | None = None
    metrics: Sequence[str] | None = None
    datasets: Sequence[str] | None = None
    splits: Sequence[str] | None = None
    epochs: Sequence[int] | None = None
    #: pair a metric scored with several heads with each dataset through its matching head only
    match_heads: bool = True


@dataclass
class Joined:
    """The joined rows plus what the report needs to know about coverage."""

    rows: pd.DataFrame          # space, variant, family, parts, metric, mode, num_classes, value_scale, arch_index, value,
                                # status, acc_dataset, acc_split, acc_epochs, accuracy (sorted by ROW_ORDER)
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
    variants = (variants.sort_values(list(variants.columns), kind="mergesort", na_position="first")
                .drop_duplicates(["space", *VARIANT_FIELDS]).reset_index(drop=True))
    variants["variant"] = variant_labels(variants)
    variants["family"] = [family(label) for label in variants["variant"]]
    variants["parts"] = variant_parts(variants)
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
        SELECT s.space, v.variant, v.family, v.parts, s.metric, s.mode, s.num_classes, s.value_scale, s.arch_index, s.value,
               s.status,
               a.dataset AS acc_dataset, a.split AS acc_split, a.epochs AS acc_epochs, a.accuracy
        FROM s
        JOIN variants v ON v.space = s.space AND {' AND '.join(f'v.{f} IS NOT DISTINCT FROM s.{f}' for f in VARIANT_FIELDS)}
        JOIN a ON a.space = s.space AND a.j_index = s.j_index AND a.arch = s.j_arch
    """
    rows = query_arrow(con, sql, score_params + acc_params).to_pandas()
    if filters.match_heads:
        rows = match_heads(rows)
    rows = rows.sort_values(ROW_ORDER, kind="mergesort").reset_index(drop=True)
    if rows.empty:
        raise InputError("no scored architecture has an accuracy for the filters "
                         f"(datasets: {_show(filters.datasets)}, splits: {_show(filters.splits)}, "
                         f"epochs: {_show(filters.epochs)}); stored accuracies: "
                         f"{_stored(con, 'accuracies', 'space, dataset, split, epochs')}")
    scored = query_arrow(con, "SELECT s.space, v.variant, count(DISTINCT s.arch_index) AS scored FROM scores s JOIN variants v "
                              f"ON v.space = s.space AND {' AND '.join(f'v.{f} IS NOT DISTINCT FROM s.{f}' for f in VARIANT_FIELDS)} "
                              "GROUP BY ALL ORDER BY ALL").to_pandas()
    unjoined = sorted(set(variants["space"]) - set(rows["space"]))
    return Joined(rows, scored, unjoined)


def match_heads(rows: pd.DataFrame) -> pd.DataFrame:
    """Drop the rows pairing a dataset with a head of another size where the variant's family has a head of
    the dataset's size (so CIFAR-100 is read through the 100-class head when one was scored)."""
    if rows.empty:
        return rows
    classes = rows["acc_dataset"].map(DATASET_CLASSES)
    heads = rows[["space", "family", "num_classes"]].drop_duplicates()
    heads = heads.assign(_has=True, num_classes=heads["num_classes"].astype("float64"))
    probe = pd.DataFrame({"space": rows["space"].to_numpy(), "family": rows["family"].to_numpy(),
                          "num_classes": classes.to_numpy(dtype="float64")})
    has_match = probe.merge(heads, on=["space", "family", "num_classes"], how="left")["_has"].fillna(False)
    keep = ~has_match.to_numpy(dtype=bool) | (rows["num_classes"].to_numpy(dtype="float64") == probe["num_classes"].to_numpy())
    return rows[keep]


def _nb101_keys(con, score_where: str, params: list) -> pa.Table:
    """(arch, hash) for every distinct NB101 arch among the scores (empty when NB101 is not involved)."""
    condition = f"{score_where} AND space = '{NB101}'" if score_where else f" WHERE space = '{NB101}'"
    archs = [r[0] for r in con.execute(f"SELECT DISTINCT arch FROM scores{condition}", params).fetchall()]
    hashes = []
    if archs:
        space = get_space(NB101)
        hashes = [space.hash_of(arch) for arch in archs]  # type: ignore[attr-defined]
    return pa.table({"arch": pa.array(archs, pa.string()), "hash": pa.array(hashes, pa.string())})


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


__all__ = ["DATASET_CLASSES", "Filters", "Joined", "load_joined", "match_heads", "VARIANT_FIELDS"]
