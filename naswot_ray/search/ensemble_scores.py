"""An ensemble of stored scores as a search's score (``search naswot --metric ensemble:az_nas``).

Why pool-relative: the published aggregates (AZ-NAS's sum of ln(rank/N), VKDNW_agg) rank each member
among the candidates scored together; AZ-NAS's own search re-ranks its population at every step. So
:meth:`EnsembleScores.score` ranks the members *among the indices of that call*: NASWOT Algorithm 1's N
drawn candidates, or AREA's M. Duplicated draws share their average rank. A candidate whose member
score is an error row has no ensemble value (NaN, never chosen while another candidate has one); a
member's legal ``-inf`` is ranked lowest (:mod:`naswot_ray.ensembles.values`).

Members are named as in ``analyze`` (:mod:`naswot_ray.ensembles.variants`). A metric stored with several
head sizes needs ``--num-classes`` to say which head the search reads (10 for CIFAR-10's, ...).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from naswot_ray.ensembles import Member, Spec, evaluate, higher_is_better, parse_spec, resolve, usable_values
from naswot_ray.ensembles.variants import Named, find_variant, label_rows
from naswot_ray.errors import InputError
from naswot_ray.search.scorer import ScoreBatch, stored_indices
from naswot_ray.spaces.base import SearchSpace
from naswot_ray.store import VARIANT_FIELDS, Store, query_arrow


@dataclass
class MemberArrays:
    """One member's stored scores over the whole space (NaN: error row or not stored; legal +-inf kept)."""

    values: np.ndarray
    seconds: np.ndarray
    present: np.ndarray
    higher_is_better: bool


@dataclass
class EnsembleScores:
    """Scores an ensemble over the pool of each call; ``present`` where every member has a stored row."""

    spec: Spec
    members: dict[str, MemberArrays]
    present: np.ndarray
    source: str = ""

    def score(self, indices: Sequence[int]) -> ScoreBatch:
        idx = stored_indices(indices, self.present, f"stored score of every member of {self.spec.label}")
        values = {ref: m.values[idx] for ref, m in self.members.items()}
        usable = np.logical_and.reduce([~np.isnan(v) for v in values.values()])
        out = np.full(len(idx), np.nan)
        if usable.any():
            out[usable] = evaluate(self.spec, {ref: Member(v[usable], self.members[ref].higher_is_better)
                                               for ref, v in values.items()})
        seconds = np.vstack([m.seconds[idx] for m in self.members.values()])
        known = np.isfinite(seconds).any(axis=0)
        total = np.where(known, np.nansum(np.where(np.isfinite(seconds), seconds, 0.0), axis=0), np.nan)
        return ScoreBatch(out, total)

    @property
    def scored_indices(self) -> np.ndarray:
        return np.flatnonzero(self.present)


def load_ensemble_scores(store: Store, space: SearchSpace, text: str, *, size: int, seed: int | None = None,
                         num_classes: int | None = None) -> EnsembleScores:
    """Read every member's stored variants, name them as ``analyze`` does, resolve the ensemble's members."""
    spec = parse_spec(text, canonical=_canonical)
    metrics = sorted({leaf.partition("[")[0] for leaf in spec.leaves()})
    sql = (f"SELECT arch_index, value, status, seconds, dataset, batch_size, {', '.join(VARIANT_FIELDS)} "
           f"FROM scores WHERE space = ? AND metric IN ({', '.join('?' for _ in metrics)})")
    params: list = [space.name, *metrics]
    if seed is not None:
        sql += " AND seed = ?"
        params.append(int(seed))
    frame = label_rows(query_arrow(store.connect(tables=("scores",)), sql, params).to_pandas(), space.name)
    variants = frame.drop_duplicates("label").sort_values("label", kind="mergesort")
    named = [Named(str(r.label), str(r.metric), None if pd.isna(r.num_classes) else int(r.num_classes), None,
                   str(r.parts)) for r in variants.itertuples(index=False)]
    where = f" in space {space.name!r} of store {store.root!r}"

    def lookup(ref: str) -> Named | None:
        family_heads = sorted({v.num_classes for v in named if ref in (v.family, v.metric) and v.num_classes is not None})
        if num_classes is None and len(family_heads) > 1 and not any(v.label == ref for v in named):
            raise InputError(f"{ref} is stored with {len(family_heads)} head sizes ({', '.join(map(str, family_heads))})"
                             f"{where}; pick one with --num-classes")
        return find_variant(named, ref, num_classes, where)

    chosen = resolve(spec, lookup)
    members: dict[str, MemberArrays] = {}
    present = np.ones(size, dtype=bool)
    for ref, variant in chosen.items():
        rows = frame[frame["label"] == variant.label]
        index = rows["arch_index"].to_numpy(dtype=np.int64)
        if len(index) and (index.max() >= size or index.min() < 0):
            raise InputError(f"scores of space {space.name!r} hold indices outside 0..{size - 1}")
        higher = higher_is_better(variant.metric)
        usable = usable_values(rows["value"].to_numpy(dtype=np.float64, na_value=np.nan),
                               rows["status"].to_numpy() == "ok", variant.metric, higher)
        arrays = MemberArrays(np.full(size, np.nan), np.full(size, np.nan), np.zeros(size, dtype=bool), higher)
        arrays.values[index] = usable.values
        arrays.seconds[index] = rows["seconds"].to_numpy(dtype=np.float64, na_value=np.nan)
        arrays.present[index] = True
        members[ref] = arrays
        present &= arrays.present
    if not present.any():
        raise InputError(f"no architecture{where} has a stored score of every member of {spec.label} "
                         f"({', '.join(v.label for v in chosen.values())})")
    source = f"stored:{spec.label} = " + ", ".join(v.label for v in chosen.values())
    return EnsembleScores(spec, members, present, source)


def _canonical(name: str) -> str:
    from naswot_ray.metrics import get_metric

    try:
        return get_metric(name).name
    except (InputError, ImportError):
        return name


__all__ = ["EnsembleScores", "MemberArrays", "load_ensemble_scores"]
