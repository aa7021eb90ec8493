"""``analyze --ensembles auto``: find good ensembles on one half of the cells, report them on the other.

Why halves: an ensemble chosen because it correlates best on some cells is flattered when its rho is
measured on the same cells (the choice fits their noise). So the cells of each space are split once,
by a seeded permutation of their sorted architecture indices, into a *selection* half and a *held-out*
half. The search sees only the selection half (scores and the target accuracies there); the report
gives every chosen ensemble's rho on the held-out half, next to its members and the published
aggregates on the same held-out cells. The split depends only on the cells and the seed, so the same
store and options always choose and report the same.

The search: candidates are the stored metric families of the space (a metric scored with several heads
is one candidate whose head follows the target dataset, and each of its heads is one more). Every candidate is compared on the same cells:
a family scored on fewer than :data:`MIN_COVERAGE` of the selection cells of some target is left out
(and named), and the pool of each target is the selection cells every remaining family covers. Without
this, a pair measured on a dozen cells would win by a lucky rho. For each aggregation (rank sum, log-rank
sum) every pair is scored, then a beam of the best :data:`BEAM` grows one member at a time up to
:data:`MAX_SIZE` terms; adding a member that is already in raises its weight by one (up to
:data:`MAX_WEIGHT`), so weighting is searched too. A candidate is ranked by its Spearman rho on the pool,
averaged over the target columns (each read through its own head). No accuracy enters an ensemble's
value: accuracies only rank the candidates.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from naswot_ray.analysis.ensembles import SpaceData, Target
from naswot_ray.ensembles import Spec, Term, combine_ranks, oriented_ranks
from naswot_ray.ensembles.rank import average_ranks
from naswot_ray.ensembles.variants import DATASET_CLASSES
from naswot_ray.errors import InputError

KINDS = ("ranksum", "logrank")
MAX_SIZE = 6
MAX_WEIGHT = 3
BEAM = 16
#: a family must cover this share of a target's selection cells to take part in the search
MIN_COVERAGE = 0.5


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
    selection_rho: float              # mean rho over targets on the selection pool
    per_target: dict[str, float]      # rho per target on the selection pool


@dataclass
class SearchResult:
    """What one space's search found, and on what."""

    found: list[Found]
    pool: dict[str, int] = field(default_factory=dict)  # target label -> selection cells compared on
    left_out: list[str] = field(default_factory=list)   # families covering too few selection cells


class _Target:
    """One target column on the selection pool: candidates' oriented ranks, cached per member."""

    def __init__(self, data: SpaceData, target: Target, families: Sequence[str], cells: pd.Index):
        self.target = target
        accuracy = data.accuracy[target]
        self.cells = accuracy.index.intersection(cells).sort_values()
        self.accuracy = accuracy.loc[self.cells].to_numpy()
        self.values = np.full((len(families), len(self.cells)), np.nan)
        self.higher = [True] * len(families)
        classes = DATASET_CLASSES.get(target.dataset)
        for i, family in enumerate(families):
            variant = data.find(family, classes)
            if variant is not None:
                self.higher[i] = variant.higher_is_better
                self.values[i] = variant.scores.reindex(self.cells).to_numpy()
        self._ranks: dict[int, np.ndarray] = {}

    def coverage(self, member: int) -> float:
        return float((~np.isnan(self.values[member])).mean()) if len(self.cells) else 0.0

    def restrict(self, members: Sequence[int]) -> None:
        """Keep the cells every one of ``members`` covers (the pool all candidates are compared on)."""
        keep = ~np.isnan(self.values[list(members)]).any(axis=0)
        self.cells, self.accuracy, self.values = self.cells[keep], self.accuracy[keep], self.values[:, keep]
        self._ranks.clear()

    def _ranked(self, member: int) -> np.ndarray:
        """A member's ranks over the pool (``-1``: the accuracy's), computed once."""
        if member not in self._ranks:
            self._ranks[member] = (average_ranks(self.accuracy) if member < 0
                                   else oriented_ranks(self.values[member], self.higher[member]))
        return self._ranks[member]

    def rho(self, kind: str, members: Sequence[int], weights: Sequence[float]) -> float:
        """The aggregate's Spearman rho on the pool (Pearson of average ranks, as scipy computes it)."""
        n = len(self.cells)
        if n < 3:
            return math.nan
        value = combine_ranks(kind, [self._ranked(m) for m in members], weights)
        x = average_ranks(value) - (n + 1) / 2.0
        y = self._ranked(-1) - (n + 1) / 2.0
        denominator = math.sqrt(float((x * x).sum() * (y * y).sum()))
        return float((x * y).sum() / denominator) if denominator > 0 else math.nan


def search(data: SpaceData, targets: Sequence[Target], selection: pd.Index, *, top: int,
           max_size: int = MAX_SIZE, beam: int = BEAM) -> SearchResult:
    """The ``top`` ensembles by mean selection-pool rho over ``targets`` (see the module docstring)."""
    families = candidates(data, targets, selection)
    columns = [_Target(data, t, families, selection) for t in targets if t in data.accuracy]
    if not columns:
        return SearchResult([])
    usable = [i for i in range(len(families)) if all(c.coverage(i) >= MIN_COVERAGE for c in columns)]
    left_out = [families[i] for i in range(len(families)) if i not in usable]
    for column in columns:
        column.restrict(usable)
    result = SearchResult([], {c.target.label: len(c.cells) for c in columns}, left_out)
    if len(usable) < 2:
        return result
    cache: dict[tuple, tuple[float, list[float]]] = {}

    def score(kind: str, combo: tuple[tuple[int, int], ...]) -> tuple[float, list[float]]:
        key = (kind, combo)
        if key not in cache:
            rhos = [c.rho(kind, [m for m, _ in combo], [float(w) for _, w in combo]) for c in columns]
            cache[key] = (float(np.mean(rhos)) if all(math.isfinite(r) for r in rhos) else -math.inf, rhos)
        return cache[key]

    found: dict[tuple, float] = {}
    for kind in KINDS:
        level = [((a, 1), (b, 1)) for k, a in enumerate(usable) for b in usable[k + 1:]]
        for size in range(2, max_size + 1):
            scored = sorted(((score(kind, c)[0], c) for c in level), key=lambda item: (-item[0], item[1]))
            found.update({(kind, combo): value for value, combo in scored if math.isfinite(value)})
            if size == max_size:
                break
            level = sorted(_grown([combo for _, combo in scored[:beam]], usable))
    ranked = sorted(found.items(), key=lambda item: (-item[1], _label(families, *item[0])))
    seen: set[tuple] = set()
    for (kind, combo), value in ranked:
        rhos = score(kind, combo)[1]
        same = tuple(round(r, 12) for r in rhos)  # another name for the same ranking (flops and az_complexity)
        if same in seen:
            continue
        seen.add(same)
        spec = Spec(kind, tuple(sorted((Term(families[m], float(w)) for m, w in combo), key=lambda t: t.ref)))
        result.found.append(Found(spec, value, {c.target.label: r for c, r in zip(columns, rhos)}))
        if len(result.found) == top:
            break
    return result


def candidates(data: SpaceData, targets: Sequence[Target], selection: pd.Index) -> list[str]:
    """The names the search combines: every metric family (its head following each dataset) and, for a family
    whose matching head covers too few selection cells for some target, each of its heads on its own
    (``vkdnw[num_classes=10]`` for every dataset, where the 100-class head was scored on a subset)."""
    families = sorted({v.family for v in data.variants.values()})
    out = []
    for family in families:
        out.append(family)
        heads = sorted(v.label for v in data.variants.values() if v.family == family)
        if len(heads) > 1 and not all(_covers(data, family, t, selection) for t in targets if t in data.accuracy):
            out.extend(heads)
    return out


def _covers(data: SpaceData, name: str, target: Target, selection: pd.Index) -> bool:
    cells = data.accuracy[target].index.intersection(selection)
    variant = data.find(name, DATASET_CLASSES.get(target.dataset))
    return variant is not None and len(cells) > 0 and \
        len(variant.scores.index.intersection(cells)) >= MIN_COVERAGE * len(cells)


def _grown(combos: Sequence[tuple[tuple[int, int], ...]], usable: Sequence[int]) -> set[tuple[tuple[int, int], ...]]:
    """Every combo with one more member, or one member's weight raised by one (up to MAX_WEIGHT)."""
    grown = set()
    for combo in combos:
        weights = dict(combo)
        for m in usable:
            if weights.get(m, 0) < MAX_WEIGHT:
                grown.add(tuple(sorted({**weights, m: weights.get(m, 0) + 1}.items())))
    return grown


def _label(families: Sequence[str], kind: str, combo: tuple[tuple[int, int], ...]) -> str:
    return kind + ":" + "+".join(f"{w}*{families[m]}" for m, w in combo)


def auto_ensembles(data: dict[str, SpaceData], targets: Sequence[Target], *, top: int, seed: int
                   ) -> tuple[list[Found], dict[str, Split], dict[str, SearchResult]]:
    """Split every space's cells, search each on its selection half; the ``top`` overall, best first."""
    splits = {space: split_cells(d.cells, seed) for space, d in sorted(data.items())}
    results = {space: search(d, targets, splits[space].selection, top=top) for space, d in sorted(data.items())}
    found = [f for result in results.values() for f in result.found]
    if not found:
        raise InputError("no ensemble of the stored metrics could be compared on "
                         f"{', '.join(t.label for t in targets)}; it needs at least two metrics scored on the same "
                         f"architectures (at least {MIN_COVERAGE:.0%} of the selection half)")
    found.sort(key=lambda f: (-f.selection_rho, f.spec.label))
    unique: dict[str, Found] = {}
    for f in found:
        unique.setdefault(f.spec.label, f)
    return list(unique.values())[:top], splits, results


__all__ = ["BEAM", "Found", "KINDS", "MAX_SIZE", "MAX_WEIGHT", "MIN_COVERAGE", "SearchResult", "Split",
           "auto_ensembles", "candidates", "search", "split_cells"]
