"""A store in pandas: ``nr.load_scores`` (the wide score table) and ``nr.correlations`` (``analyze``'s table).

Both read through the same code as the commands: score rows are the store's deduplicated ``scores`` view
(what ``export`` writes), metric variants are labelled exactly as ``analyze`` labels them (``naswot``, or
``naswot[clean]`` when a store holds several variants of one metric), accuracies are matched to
architectures by :func:`naswot_ray.analysis.join.load_joined`, and correlations are
:func:`naswot_ray.analysis.report.analyze`'s table itself.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np
import pandas as pd
import pyarrow as pa

from naswot_ray.errors import InputError
from naswot_ray.store import VARIANT_FIELDS, Store, query_arrow

#: the columns that identify an architecture in :func:`load_scores`'s table
INDEX = ["space", "arch_index", "arch"]


def load_scores(store: str | Store, space: str | Sequence[str] | None = None, metrics: Iterable[str] | None = None,
                with_accuracies: bool = False) -> pd.DataFrame:
    """One row per scored architecture (``space``, ``arch_index``, ``arch``), one column per metric variant.

    An error row reads as NaN. With ``with_accuracies``, one more column per imported accuracy,
    ``acc:<dataset>:<split>:<epochs>`` (NaN where an architecture has none); the store must hold
    accuracies (``naswot-ray import-benchmark``). Values are stored values: synflow is a natural log.
    """
    from naswot_ray.analysis.join import _show, _where
    from naswot_ray.ensembles.variants import variant_labels

    the_store = _open(store)
    spaces = _spaces(space)
    metric_list = list(metrics) if metrics is not None else None
    con = the_store.connect(tables=("scores",))
    where, params = _where({"space": spaces, "metric": metric_list})
    variants = query_arrow(con, f"SELECT DISTINCT space, {', '.join(VARIANT_FIELDS)}, dataset, batch_size "
                                f"FROM scores{where}", params).to_pandas()
    if variants.empty:
        stored = con.execute("SELECT DISTINCT space, metric FROM scores ORDER BY ALL").fetchall()
        raise InputError(f"no scores match (spaces: {_show(spaces)}, metrics: {_show(metric_list)}); stored: "
                         + ("; ".join(f"{s}:{m}" for s, m in stored[:12]) or "none"))
    variants["variant"] = variant_labels(variants)
    con.register("variants", pa.Table.from_pandas(variants, preserve_index=False))
    match = " AND ".join(f"v.{f} IS NOT DISTINCT FROM s.{f}" for f in VARIANT_FIELDS)
    rows = query_arrow(con, f"SELECT s.space, s.arch_index, s.arch, v.variant, "
                            f"CASE WHEN s.status = 'ok' THEN s.value ELSE NULL END AS value "
                            f"FROM (SELECT * FROM scores{where}) s JOIN variants v ON v.space = s.space AND {match}",
                       params).to_pandas()
    order = list(dict.fromkeys(variants.sort_values(["metric", "variant"])["variant"]))
    table = rows.set_index([*INDEX, "variant"])["value"].astype(np.float64).unstack("variant")
    table = table.reindex(columns=[v for v in order if v in table.columns]).reset_index()
    table.columns.name = None
    if with_accuracies:
        table = table.merge(_accuracies(the_store, spaces, metric_list), on=["space", "arch_index"], how="left")
    return table.sort_values(["space", "arch_index"], ignore_index=True)


def correlations(store: str | Store, *, space: str | Sequence[str] | None = None,
                 metrics: Sequence[str] | None = None, datasets: Sequence[str] | None = None,
                 splits: Sequence[str] | None = None, epochs: Sequence[int] | None = None, protocol: str = "all",
                 ci: str = "auto", resamples: int = 200, seed: int = 1) -> pd.DataFrame:
    """The table ``naswot-ray analyze`` prints and writes to ``correlations.csv``: Kendall tau-b, Spearman
    rho with 95 % intervals and top-10 % precision per (space, metric variant, dataset, split, epochs,
    protocol). Arguments are ``analyze``'s options of the same names (``protocol="both"`` gives both)."""
    from naswot_ray.analysis.join import Filters
    from naswot_ray.analysis.report import AnalysisOptions, analyze

    protocols = ["all", "paper"] if protocol == "both" else [protocol]
    options = AnalysisOptions(filters=Filters(spaces=_spaces(space), metrics=metrics, datasets=datasets,
                                              splits=splits, epochs=epochs),
                              protocols=protocols, ci=ci, resamples=resamples, seed=seed, plots=False)
    return analyze(_open(store), options).table.frame


def _accuracies(store: Store, spaces: list[str] | None, metrics: list[str] | None) -> pd.DataFrame:
    """(space, arch_index) -> one ``acc:dataset:split:epochs`` column each, matched as ``analyze`` matches."""
    from naswot_ray.analysis.join import Filters, load_joined

    joined = load_joined(store, Filters(spaces=spaces, metrics=metrics)).rows
    joined = joined.drop_duplicates(["space", "arch_index", "acc_dataset", "acc_split", "acc_epochs"])
    joined["column"] = ("acc:" + joined["acc_dataset"].astype(str) + ":" + joined["acc_split"].astype(str) + ":"
                        + joined["acc_epochs"].astype(int).astype(str))
    wide = joined.pivot_table(index=["space", "arch_index"], columns="column", values="accuracy", aggfunc="first")
    wide.columns.name = None
    return wide.reset_index()


def _open(store: str | Store) -> Store:
    the_store = store if isinstance(store, Store) else Store(str(store))
    if not the_store.exists():
        raise InputError(f"store {the_store.root!r} does not exist")
    return the_store


def _spaces(space: str | Sequence[str] | None) -> list[str] | None:
    """Canonical names where the space is registered here (aliases work); stored names as given otherwise,
    so a store scored with a plugin space reads without that plugin."""
    if space is None:
        return None
    from naswot_ray.spaces import SPACES

    names = [space] if isinstance(space, str) else list(space)
    return [SPACES.canonical_name(n) if n in SPACES else n for n in names]


__all__ = ["INDEX", "correlations", "load_scores"]
