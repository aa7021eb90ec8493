"""Loading a search's inputs from the store once: the accuracy oracle and the stored scores, as arrays.

Why once, as arrays: 500 runs x 1000 draws must cost milliseconds, and Ray workers must receive the
data once (``ray.put``), not query DuckDB per run. Both loaders read the deduplicated store views.

Which score: the scores table may hold several *variants* of one metric (another batch, seed, mode, BN
mode, head size, space option). A search must use exactly one, so the loader filters by the options
given and, if more than one variant remains, stops with a one-line error listing them. An ensemble
(``ensemble:...``) reads one variant per member (:mod:`naswot_ray.search.ensemble_scores`).

Values follow the ranking rule of :mod:`naswot_ray.ensembles.values`: error rows (and non-finite values
the metric does not declare) become NaN, never chosen; a legal ``-inf`` stays, the worst a score can be.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

import naswot_ray.accuracies  # noqa: F401  (registers the accuracies table with the store)
from naswot_ray.ensembles import higher_is_better, is_ensemble, oriented, usable_values
from naswot_ray.ensembles.variants import Named, find_variant, label_rows
from naswot_ray.errors import InputError
from naswot_ray.metrics import get_metric
from naswot_ray.search.ensemble_scores import EnsembleScores, load_ensemble_scores
from naswot_ray.search.oracle import AccuracyOracle, Column
from naswot_ray.search.scorer import StoredScores
from naswot_ray.spaces.base import SearchSpace
from naswot_ray.store import VARIANT_FIELDS as STORE_VARIANT_FIELDS, Store, query_arrow

#: the NASWOT paper's Table 2 columns (dataset, split), in its order; other columns follow alphabetically
PAPER_COLUMNS: tuple[tuple[str, str], ...] = (
    ("cifar10-valid", "x-valid"), ("cifar10", "ori-test"), ("cifar100", "x-valid"), ("cifar100", "x-test"),
    ("ImageNet16-120", "x-valid"), ("ImageNet16-120", "x-test"),
)
#: fitness when --fitness is not given: the first of these the table has (12-epoch validation, as NASWOT's REA)
DEFAULT_FITNESS: tuple[Column, ...] = (Column("cifar10-valid", "x-valid", 12), Column("cifar10-valid", "x-valid", 200))
#: what tells stored variants of one metric apart (the identity without space, architecture and metric)
VARIANT_FIELDS = tuple(f for f in STORE_VARIANT_FIELDS if f != "metric")


@dataclass
class OracleLoad:
    oracle: AccuracyOracle
    #: paper columns absent at the report budget (said in the summary, e.g. cifar100:x-valid:200)
    missing_paper_columns: list[str]
    fitness_defaulted: bool


def space_size(space: SearchSpace) -> int:
    if space.size is None:
        raise InputError(f"space {space.name!r} has no fixed size; searches need a finite, indexed space")
    return int(space.size)


def load_oracle(store: Store, space: SearchSpace, *, fitness: Column | None = None,
                report_epochs: int | None = None, need_fitness: bool = True) -> OracleLoad:
    """Fitness and report arrays of ``space`` from the ``accuracies`` table.

    ``report_epochs`` None = the largest training budget the table has for the space (200 on NB201).
    ``need_fitness`` False (a search that queries no accuracy, NASWOT Algorithm 1): without a validation
    column the oracle has no fitness (NaN, column None) instead of an error.
    """
    size = space_size(space)
    con = store.connect(tables=("accuracies",))
    frame = query_arrow(con, "SELECT arch_index, dataset, split, epochs, accuracy, train_seconds FROM accuracies "
                             "WHERE space = ?", [space.name]).to_pandas()
    if frame.empty:
        raise InputError(f"no accuracies for space {space.name!r} in store {store.root!r}; import them with "
                         f"naswot-ray import-benchmark {space.name} --store {store.root} ...")
    if int(frame["arch_index"].max()) >= size or int(frame["arch_index"].min()) < 0:
        raise InputError(f"accuracies of space {space.name!r} hold indices outside 0..{size - 1}")
    available = sorted({Column(d, s, int(e)) for d, s, e in
                        frame[["dataset", "split", "epochs"]].drop_duplicates().itertuples(index=False)},
                       key=lambda c: c.label)
    defaulted = fitness is None
    if fitness is None:
        fitness = next((c for c in DEFAULT_FITNESS if c in available), None)
        if fitness is None and need_fitness:
            raise InputError("this search optimises a validation accuracy, and the accuracies table has none of its "
                             "defaults (cifar10-valid:x-valid:12 or :200): import one (naswot-ray import-benchmark "
                             "nb201 ... --column cifar10valid_xvalid=cifar10-valid:x-valid:200 for the merged NB201 "
                             "table) or pick a column with --fitness; imported: " + ", ".join(c.label for c in available))
    elif fitness not in available:
        raise InputError(f"unknown fitness column {fitness.label!r}; available: "
                         + ", ".join(c.label for c in available))
    epochs = report_epochs if report_epochs is not None else max(c.epochs for c in available)
    at_epochs = [c for c in available if c.epochs == epochs]
    if not at_epochs:
        raise InputError(f"no accuracies at {epochs} epochs for space {space.name!r}; available budgets: "
                         + ", ".join(str(e) for e in sorted({c.epochs for c in available})))
    paper = {pair: i for i, pair in enumerate(PAPER_COLUMNS)}
    report_columns = sorted(at_epochs, key=lambda c: (paper.get((c.dataset, c.split), len(paper)), c.label))
    missing = [Column(d, s, epochs).label for d, s in PAPER_COLUMNS if Column(d, s, epochs) not in at_epochs]

    def dense(column: Column, field: str) -> np.ndarray:
        rows = frame[(frame["dataset"] == column.dataset) & (frame["split"] == column.split)
                     & (frame["epochs"] == column.epochs)]
        values = np.full(size, np.nan)
        values[rows["arch_index"].to_numpy(dtype=np.int64)] = rows[field].to_numpy(dtype=np.float64, na_value=np.nan)
        return values

    nothing = np.full(size, np.nan)
    oracle = AccuracyOracle(size=size, fitness_column=fitness,
                            fitness=dense(fitness, "accuracy") if fitness else nothing,
                            train_seconds=dense(fitness, "train_seconds") if fitness else nothing.copy(),
                            report={c.label: dense(c, "accuracy") for c in report_columns},
                            report_columns=report_columns)
    return OracleLoad(oracle, missing, defaulted)


@dataclass
class ScoreSelection:
    """Which stored score variant a search uses; None fields match anything."""

    metric: str = "naswot"
    mode: str | None = None
    seed: int | None = None
    batch: str | None = None   # a prefix of batch_sha256
    num_classes: int | None = None  # the head size (a metric scored with several heads)


def load_stored_scores(store: Store, space: SearchSpace, selection: ScoreSelection) -> StoredScores | EnsembleScores:
    """The one score variant matching ``selection`` (or the ensemble it names), oriented higher-is-better;
    errors become NaN."""
    size = space_size(space)
    if is_ensemble(selection.metric):
        if selection.mode is not None or selection.batch is not None:
            raise InputError("--mode and --batch pick a variant of one metric; name an ensemble's members as stored "
                             "variants instead, e.g. ensemble:naswot[clean]+synflow")
        return load_ensemble_scores(store, space, selection.metric, size=size, seed=selection.seed,
                                    num_classes=selection.num_classes)
    base, bracket, _ = selection.metric.partition("[")
    try:
        registered: InputError | None = None
        name = get_metric(base).name
    except InputError as exc:  # not registered here: its stored rows (a plugin's) may still be searched with
        registered, name = exc, base
    higher = higher_is_better(name)
    sql = ("SELECT arch_index, value, status, seconds, dataset, batch_size, " + ", ".join(VARIANT_FIELDS)
           + " FROM scores WHERE space = ? AND metric = ?")
    params: list = [space.name, name]
    if selection.mode is not None:
        sql += " AND mode = ?"
        params.append(selection.mode)
    if selection.seed is not None:
        sql += " AND seed = ?"
        params.append(int(selection.seed))
    if selection.batch is not None:
        sql += " AND starts_with(batch_sha256, ?)"
        params.append(selection.batch)
    if selection.num_classes is not None:
        sql += " AND num_classes = ?"
        params.append(int(selection.num_classes))
    con = store.connect(tables=("scores",))
    frame = query_arrow(con, sql, params).to_pandas()
    if frame.empty and registered is not None:
        raise registered
    if frame.empty:
        raise InputError(f"no stored {name} scores for space {space.name!r} in store {store.root!r}"
                         f"{_filters(selection)}; compute them with naswot-ray score-all --space {space.name} "
                         f"--metrics {name} --store {store.root}, or search with --live")
    frame = label_rows(frame.assign(metric=name), space.name)
    if bracket:  # a variant named as analyze names it: naswot[clean], zico[num_classes=100]
        named = [Named(str(label), name, None if pd.isna(k) else int(k), None, str(parts)) for label, k, parts in
                 frame.drop_duplicates("label")[["label", "num_classes", "parts"]].itertuples(index=False)]
        found = find_variant(named, selection.metric, selection.num_classes, f" of {name} in space {space.name!r}")
        if found is None:
            raise InputError(f"no stored variant {selection.metric!r} in space {space.name!r}; stored: "
                             + ", ".join(sorted({v.label for v in named})))
        frame = frame[frame["label"] == found.label]
    counts = frame.groupby("label", sort=True).size()
    if len(counts) > 1:
        shown = ", ".join(f"{label} ({count:,} archs)" for label, count in counts.items())
        raise InputError(f"{len(counts)} stored variants of {name} for space {space.name!r}: {shown}; name one with "
                         f"--metric, e.g. --metric '{counts.index[0]}', or pick with --mode, --score-seed, "
                         "--num-classes or --batch SHA256_PREFIX")
    if int(frame["arch_index"].max()) >= size or int(frame["arch_index"].min()) < 0:
        raise InputError(f"scores of space {space.name!r} hold indices outside 0..{size - 1}")
    index = frame["arch_index"].to_numpy(dtype=np.int64)
    usable = usable_values(frame["value"].to_numpy(dtype=np.float64, na_value=np.nan),
                           frame["status"].to_numpy() == "ok", name, higher)
    values = np.full(size, np.nan)
    values[index] = oriented(usable.values, higher)
    values[index[np.isnan(usable.values)]] = np.nan  # errors stay NaN (oriented maps NaN to -inf)
    seconds = np.full(size, np.nan)
    seconds[index] = frame["seconds"].to_numpy(dtype=np.float64, na_value=np.nan)
    present = np.zeros(size, dtype=bool)
    present[index] = True
    first = frame.iloc[0]
    source = "stored:" + describe_variant({f: first[f] for f in VARIANT_FIELDS}, None, first["dataset"], name)
    return StoredScores(values=values, seconds=seconds, present=present, source=source)


def describe_variant(variant: dict, count: int | None, dataset: object, metric: str | None = None) -> str:
    """A score variant in one line, e.g. ``naswot[mode=reference dataset=cifar10 batch=ab12... seed=1 ...]``."""
    parts = [f"mode={variant['mode']}", f"dataset={dataset}", f"batch={str(variant['batch_sha256'])[:12]}",
             f"seed={variant['seed']}", f"bn={variant['bn_mode']}", f"classes={variant['num_classes']}"]
    for field, label in (("metric_version", "v"), ("metric_options", "metric_options="),
                         ("space_options", "options="), ("device_class", "device="), ("memory_format", "format=")):
        if variant.get(field) not in (None, ""):
            parts.append(f"{label}{variant[field]}")
    if count is not None:
        parts.append(f"{count:,} archs")
    return (f"{metric}[" if metric else "[") + " ".join(parts) + "]"


def _filters(selection: ScoreSelection) -> str:
    given = {"mode": selection.mode, "seed": selection.seed, "batch": selection.batch,
             "num_classes": selection.num_classes}
    shown = ", ".join(f"{k}={v}" for k, v in given.items() if v is not None)
    return f" matching {shown}" if shown else ""


__all__ = ["DEFAULT_FITNESS", "PAPER_COLUMNS", "OracleLoad", "ScoreSelection", "describe_variant", "load_oracle",
           "load_stored_scores", "space_size"]
