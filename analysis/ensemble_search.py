"""``analyze --ensembles auto``: find good ensembles on one half of the cells, report them on the other.

Why halves: an ensemble chosen because it correlates best on some cells is flattered when its rho is
measured on the same cells (the choice fits their noise). So the cells of each space are split once,
by a seeded permutation of their sorted architecture indices, into a *selection* half and a *held-out*
half. The search sees only the selection half (scores and the target accuracies there); the report
gives every chosen ensemble's rho on the held-out half, next to its members and the published
aggregates on the same held-out cells. The split depends only on the cells and the seed, so the same
store and options always choose and report the same.

The search: candidates are the stored metric families of the space (a metric scored with several heads
is one candidate whose head follows the target dataset). For each aggregation (rank sum, log-rank sum)
every pair is scored, then a beam of the best :data:`BEAM` grows one member at a time up to
:data:`MAX_SIZE` terms; adding a member that is already in raises its weight by one (up to
:data:`MAX_WEIGHT`), so weighting is searched too. A candidate's score is its Spearman rho on the
selection half, averaged over the target columns (each read through its own head). No accuracy enters
an ensemble's value: accuracies only rank the candidates.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from naswot_ray.analysis.ensembles import SpaceData, Target
from naswot_ray.ensembles.variants import DATASET_CLASSES
from naswot_ray.ensembles import Spec, Term, combine_ranks, oriented_ranks
from naswot_ray.ensembles.rank import average_ranks
from naswot_ray.errors import InputError

KINDS = ("ranksum", "logrank")
MAX_SIZE = 6
MAX_WEIGHT = 3
BEAM = 16


@dataclass
class Split:
    """One space's cells, split by the seed."""

    selection: pd.Index
    held_out: pd.Index


def split_cells(cells: pd.Index, seed: int) -> Split:
    """A seeded half/half split of ``cells`` (sorted first, so the split depends on the set only)."""
    ordered = np.sort(np.unique(np.asarray(cells, dtype=np.int64)))
    perm = np.random.default_rng(seed).permutation(len(ordered))
    half = len(ordered) // 2
    return Split(pd.Index(np.sort(ordered[perm[:half]])), pd.Index(np.sort(ordered[perm[half:]])))


@dataclass
class Found:
    spec: Spec
    selection_rho: float              # mean over targets on the selection half
    per_target: dict[str, float]


class _Target:
    """One target column on the selection half: candidates' values as a dense matrix (NaN = no score)."""

    def __init__(self, data: SpaceData, target: Target, families: Sequence[str], cells: pd.Index):
        accuracy = data.accuracy[target]
        self.cells = accuracy.index.intersection(cells).sort_values()
        self.accuracy = accuracy.loc[self.cells].to_numpy()
        self.values = np.full((len(families), len(self.cells)), np.nan)
        self.higher = np.ones(len(families), dtype=bool)
        classes = DATASET_CLASSES.get(target.dataset)
        for i, family in enumerate(families):
            variant = data.find(family, classes)
            if variant is None:
                continue
            self.higher[i] = variant.higher_is_better
            scores = variant.scores.reindex(self.cells)
            self.values[i] = scores.to_numpy()

        self.higher = self.higher.tolist()
        self._ranks: dict[tuple[int, bytes], np.ndarray] = {}

    def _ranked(self, member: int, pool: np.ndarray, key: bytes) -> np.ndarray:
        """A member's (or, with -1, the accuracy's) ranks over ``pool``, cached: most pools repeat."""
        if (member, key) not in self._ranks:
            if member < 0:
                self._ranks[(member, key)] = average_ranks(self.accuracy[pool])
            else:
                self._ranks[(member, key)] = oriented_ranks(self.values[member, pool], self.higher[member])
        return self._ranks[(member, key)]

    def rho(self, kind: str, members: Sequence[int], weights: Sequence[float]) -> float:
        pool = ~np.isnan(self.values[list(members)]).any(axis=0)
        if pool.sum() < 3:
            return math.nan
        key = np.packbits(pool).tobytes()
        value = combine_ranks(kind, [self._ranked(m, pool, key) for m in members], weights)
        x = average_ranks(value) - (pool.sum() + 1) / 2.0
        y = self._ranked(-1, pool, key) - (pool.sum() + 1) / 2.0
        denominator = math.sqrt(float((x * x).sum() * (y * y).sum()))
        return float((x * y).sum() / denominator) if denominator > 0 else math.nan


def search(data: SpaceData, targets: Sequence[Target], selection: pd.Index, *, top: int,
           max_size: int = MAX_SIZE, beam: int = BEAM) -> list[Found]:
    """The ``top`` ensembles by mean selection-half rho over ``targets`` (see the module docstring)."""
    families = sorted({v.family for v in data.variants.values()})
    columns = [_Target(data, t, families, selection) for t in targets if t in data.accuracy]
    if not columns:
        return []
    usable = [i for i in range(len(families))
              if all((~np.isnan(c.values[i])).sum() > 2 for c in columns)]
    if len(usable) < 2:
        return []
    cache: dict[tuple, tuple[float, list[float]]] = {}

    def score(kind: str, combo: tuple[tuple[int, int], ...]) -> tuple[float, list[float]]:
        key = (kind, combo)
        if key not in cache:
            members = [m for m, _ in combo]
            weights = [float(w) for _, w in combo]
            rhos = [c.rho(kind, members, weights) for c in columns]
            mean = float(np.mean(rhos)) if all(math.isfinite(r) for r in rhos) else -math.inf
            cache[key] = (mean, rhos)
        return cache[key]

    found: dict[tuple, float] = {}
    for kind in KINDS:
        level = [((a, 1), (b, 1)) for k, a in enumerate(usable) for b in usable[k + 1:]]
        for size in range(2, max_size + 1):
            scored = sorted(((score(kind, c)[0], c) for c in level), key=lambda item: (-item[0], item[1]))
            for value, combo in scored:
                if math.isfinite(value):
                    found[(kind, combo)] = value
            if size == max_size:
                break
            grown = set()
            for _, combo in scored[:beam]:
                weights = dict(combo)
                for m in usable:
                    if weights.get(m, 0) >= MAX_WEIGHT:
                        continue
                    new = dict(weights)
                    new[m] = new.get(m, 0) + 1
                    grown.add(tuple(sorted(new.items())))
            level = sorted(grown)
    ranked = sorted(found.items(), key=lambda item: (-item[1], _label(families, *item[0])))
    out = []
    for (kind, combo), value in ranked[:top]:
        spec = Spec(kind, tuple(sorted((Term(families[m], float(w)) for m, w in combo), key=lambda t: t.ref)))
        out.append(Found(spec, value, {t.label: r for t, r in zip(targets, score(kind, combo)[1])}))
    return out


def _label(families: Sequence[str], kind: str, combo: tuple[tuple[int, int], ...]) -> str:
    return kind + ":" + "+".join(f"{w}*{families[m]}" for m, w in combo)


def auto_ensembles(data: dict[str, SpaceData], targets: Sequence[Target], *, top: int, seed: int
                   ) -> tuple[list[Found], dict[str, Split]]:
    """Split every space's cells, search each on its selection half; the ``top`` overall, best first."""
    splits = {space: split_cells(d.cells, seed) for space, d in sorted(data.items())}
    found: list[Found] = []
    for space, d in sorted(data.items()):
        found += search(d, targets, splits[space].selection, top=top)
    if not found:
        raise InputError("no ensemble of the stored metrics could be compared on "
                         f"{', '.join(t.label for t in targets)}; it needs at least two metrics scored on the same "
                         "architectures")
    found.sort(key=lambda f: (-f.selection_rho, f.spec.label))
    unique: dict[str, Found] = {}
    for f in found:
        unique.setdefault(f.spec.label, f)
    return list(unique.values())[:top], splits


__all__ = ["BEAM", "Found", "KINDS", "MAX_SIZE", "MAX_WEIGHT", "Split", "auto_ensembles", "search", "split_cells"]
