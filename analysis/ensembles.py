"""Ensembles in ``analyze``: named rank aggregations of stored metrics, evaluated on the joined rows.

An ensemble (:mod:`naswot_ray.ensembles.spec`: ``ensemble:az_nas``, ``ensemble:vkdnw_agg``,
``ensemble:a+b``, ``ensemble:logrank:a+2*b``, ...) combines stored *scores* only; no accuracy enters its
value. Here it is evaluated per space and per accuracy column:

* members are the stored variants: an exact variant label (``zico[num_classes=100]``), a family (``zico``,
  whose head is matched to the column's dataset: the 100-class head for CIFAR-100), or a bare metric
  name when the metric has a single family;
* the pool is the cells being analysed: the architectures of the space with an accuracy in the column
  and a usable score for every member (the ranking rule of :mod:`naswot_ray.ensembles.values`: error
  rows leave the pool, a legal ``-inf`` ranks lowest), optionally restricted to a subset of the cells
  (the held-out half of ``--ensembles auto``);
* the value is higher-is-better, so the table, the plots and the summary treat an ensemble like a metric.

:mod:`naswot_ray.analysis.ensemble_summary` states each ensemble's rho next to its members'.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from naswot_ray.accuracies.schema import AccuracyColumn
from naswot_ray.analysis.join import Joined
from naswot_ray.ensembles import Member, Spec, evaluate, higher_is_better, parse_spec, resolve, usable_values
from naswot_ray.ensembles.spec import PREFIX, PRESETS, NotStored, is_ensemble
from naswot_ray.ensembles.variants import DATASET_CLASSES, Named, find_variant
from naswot_ray.errors import InputError

#: accuracy columns preferred as the default target, in order (then the first column in sort order)
TARGET_PREFERENCE = (("cifar10", "ori-test"), ("cifar10-valid", "ori-test"), ("cifar10-valid", "x-valid"))

#: the accuracy column ensembles are compared on
Target = AccuracyColumn


def parse_ensemble(text: str) -> Spec:
    """``ensemble:...`` -> its :class:`Spec`, member names resolved through the metric registry's aliases."""
    return parse_spec(text, canonical=_canonical)


def _canonical(name: str) -> str:
    from naswot_ray.metrics import get_metric

    try:
        return get_metric(name).name
    except (InputError, ImportError):
        return name  # a metric registered elsewhere (a plugin), or a stored metric no longer registered


def member_metrics(specs: Iterable[Spec]) -> list[str]:
    """The stored metric names the ensembles read (what the join must load), alternatives included."""
    return list(dict.fromkeys(leaf.partition("[")[0] for spec in specs for leaf in spec.leaves()))


# -- one space's stored variants -------------------------------------------------------------------------
@dataclass
class Variant:
    """One stored variant: its scores after the ranking rule (arch_index -> value; legal +-inf kept)."""

    label: str
    family: str
    metric: str
    num_classes: int | None
    higher_is_better: bool
    scores: pd.Series
    parts: str = ""  # every identity field as a label part (naswot_ray.ensembles.variants.variant_parts)


@dataclass
class SpaceData:
    """A space's variants and accuracy columns, as ensembles need them."""

    space: str
    variants: dict[str, Variant]
    accuracy: dict[Target, pd.Series] = field(default_factory=dict)  # column -> arch_index -> accuracy

    @property
    def cells(self) -> pd.Index:
        """Every architecture of the space that has an accuracy in some column (sorted)."""
        index = pd.Index([], dtype=np.int64)
        for series in self.accuracy.values():
            index = index.union(series.index)
        return index.sort_values()

    def find(self, ref: str, classes: int | None) -> Variant | None:
        """The variant ``ref`` names for a dataset of ``classes`` classes (None: not stored, or no head fits);
        see :func:`naswot_ray.ensembles.variants.find_variant`."""
        named = [Named(v.label, v.metric, v.num_classes, v, v.parts) for v in self.variants.values()]
        found = find_variant(named, ref, classes, f" in space {self.space!r}")
        return None if found is None else found.data


def space_data(joined: Joined) -> dict[str, SpaceData]:
    """Per space: every stored (non-ensemble) variant's usable scores and every accuracy column."""
    rows = joined.rows[~joined.rows["metric"].astype(str).str.startswith(PREFIX)]
    out: dict[str, SpaceData] = {}
    for space, in_space in rows.groupby("space", sort=True):
        variants = {}
        for label, group in in_space.groupby("variant", sort=True):
            first = group.drop_duplicates("arch_index").sort_values("arch_index", kind="mergesort")
            metric = str(first["metric"].iloc[0])
            higher = higher_is_better(metric)
            usable = usable_values(first["value"].to_numpy(dtype=np.float64), first["status"].to_numpy() == "ok",
                                   metric, higher)
            series = pd.Series(usable.values, index=first["arch_index"].to_numpy(dtype=np.int64))
            classes = first["num_classes"].iloc[0]
            variants[str(label)] = Variant(str(label), str(first["family"].iloc[0]), metric,
                                           None if pd.isna(classes) else int(classes), higher,
                                           series[~np.isnan(series.to_numpy())], str(first["parts"].iloc[0]))
        data = SpaceData(str(space), variants)
        for (dataset, split, epochs), group in in_space.groupby(["acc_dataset", "acc_split", "acc_epochs"], sort=True):
            first = group.drop_duplicates("arch_index").sort_values("arch_index", kind="mergesort")
            series = pd.Series(first["accuracy"].to_numpy(dtype=np.float64), index=first["arch_index"].to_numpy(np.int64))
            data.accuracy[Target(str(dataset), str(split), int(epochs))] = series.dropna()
        out[str(space)] = data
    return out


def _classes(target: Target) -> int | None:
    return DATASET_CLASSES.get(target.dataset)


def resolved_members(data: SpaceData, spec: Spec, target: Target) -> dict[str, Variant] | None:
    """Each stored-metric term of ``spec`` -> the variant it reads for ``target`` (None: a term is missing)."""
    classes = _classes(target)
    try:
        return resolve(spec, lambda ref: data.find(ref, classes))
    except NotStored:
        return None


def evaluate_on(data: SpaceData, spec: Spec, target: Target, cells: pd.Index | None = None) -> pd.Series | None:
    """The ensemble's value per architecture of the pool (accuracy known, every member usable, within
    ``cells`` if given); None when a member is not stored for this target."""
    members = resolved_members(data, spec, target)
    accuracy = data.accuracy.get(target)
    if members is None or accuracy is None:
        return None
    common = accuracy.index
    if cells is not None:
        common = common.intersection(cells)
    for variant in members.values():
        common = common.intersection(variant.scores.index)
    common = common.sort_values()
    if len(common) == 0:
        return pd.Series([], dtype=np.float64)
    aligned = {ref: Member(v.scores.loc[common].to_numpy(), v.higher_is_better) for ref, v in members.items()}
    return pd.Series(evaluate(spec, aligned), index=common)


# -- adding ensembles to the joined rows ----------------------------------------------------------------
def add_ensembles(joined: Joined, specs: Sequence[Spec], cells: dict[str, pd.Index] | None = None,
                  data: dict[str, SpaceData] | None = None) -> Joined:
    """``joined`` plus one variant per ensemble in every space and column where all its members are stored.

    ``cells`` restricts an ensemble's rows to those architectures per space (the held-out half).
    InputError when no space stores every member of an ensemble.
    """
    if not specs:
        return joined
    data = space_data(joined) if data is None else data
    extra_rows, extra_scored = [joined.rows], [joined.scored]
    for spec in specs:
        label = spec.label
        found = False
        for space, space_info in data.items():
            restrict = None if cells is None else cells.get(space)
            covered: set[int] = set()
            for target in space_info.accuracy:
                values = evaluate_on(space_info, spec, target, restrict)
                if values is None:
                    continue
                found = True
                covered.update(values.index.tolist())
                accuracy = space_info.accuracy[target].loc[values.index]
                extra_rows.append(pd.DataFrame({
                    "space": space, "variant": label, "family": label, "metric": label, "mode": spec.kind,
                    "num_classes": pd.NA, "value_scale": "raw", "arch_index": values.index.to_numpy(np.int64),
                    "value": values.to_numpy(), "status": "ok", "acc_dataset": target.dataset,
                    "acc_split": target.split, "acc_epochs": target.epochs, "accuracy": accuracy.to_numpy()}))
            if covered:
                extra_scored.append(pd.DataFrame({"space": [space], "variant": [label], "scored": [len(covered)]}))
        if not found:
            stored = sorted({v for d in data.values() for v in d.variants})
            raise InputError(f"no space stores every member of {label} ({', '.join(spec.member_refs())}); "
                             f"stored variants: {', '.join(stored) or 'none'}")
    from naswot_ray.analysis.join import ROW_ORDER

    rows = pd.concat(extra_rows, ignore_index=True).sort_values(ROW_ORDER, kind="mergesort").reset_index(drop=True)
    return Joined(rows, pd.concat(extra_scored, ignore_index=True), joined.unjoined_spaces)


# -- targets ------------------------------------------------------------------------------------------------
def present_columns(rows: pd.DataFrame) -> list[Target]:
    columns = rows[["acc_dataset", "acc_split", "acc_epochs"]].drop_duplicates()
    return sorted((Target(str(d), str(s), int(e)) for d, s, e in columns.itertuples(index=False)),
                  key=lambda t: (t.dataset.lower(), t.split, t.epochs))


def default_target(rows: pd.DataFrame) -> Target:
    """The first preferred column present (at its largest budget), else the first column in sort order."""
    present = present_columns(rows)
    if not present:
        raise InputError("no accuracy columns to compare ensembles on")
    for dataset, split in TARGET_PREFERENCE:
        budgets = [t.epochs for t in present if (t.dataset, t.split) == (dataset, split)]
        if budgets:
            return Target(dataset, split, max(budgets))
    return present[0]


def parse_targets(text: str | None, rows: pd.DataFrame) -> list[Target]:
    """``DATASET:SPLIT:EPOCHS[,...]`` (each checked against the joined columns), or the default target."""
    if text is None:
        return [default_target(rows)]
    targets = [Target.parse(part.strip()) for part in text.split(",")]
    present = {t.label for t in present_columns(rows)}
    for target in targets:
        if target.label not in present:
            raise InputError(f"unknown ensemble target {target.label!r}; joined accuracy columns: "
                             f"{', '.join(sorted(present))}")
    return sorted(dict.fromkeys(targets), key=lambda t: (t.dataset.lower(), t.split, t.epochs))  # option order aside


def available_presets(joined: Joined, targets: Sequence[Target], data: dict[str, SpaceData] | None = None
                      ) -> list[Spec]:
    """The published aggregates whose members are all stored for every target in some space."""
    data = space_data(joined) if data is None else data
    found = []
    for spec in PRESETS.values():
        try:
            if any(all(resolved_members(d, spec, t) is not None for t in targets) for d in data.values()):
                found.append(spec)
        except InputError:  # a member name that is ambiguous in this store: not a reference here
            continue
    return found


__all__ = ["PREFIX", "SpaceData", "Target", "Variant", "add_ensembles", "available_presets", "default_target",
           "evaluate_on", "is_ensemble", "member_metrics", "parse_ensemble", "parse_targets", "present_columns",
           "resolved_members", "space_data"]
