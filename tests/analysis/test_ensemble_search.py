"""The held-out search itself, on data built in memory: the split, the objective, weights, few-cell members."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from naswot_ray.analysis.ensemble_search import search, split_cells
from naswot_ray.analysis.ensembles import SpaceData, Target, Variant

C10 = Target("cifar10", "ori-test", 200)


def _data(columns: dict[str, pd.Series], accuracy: pd.Series) -> SpaceData:
    variants = {name: Variant(name, name, name, 10, True, series) for name, series in columns.items()}
    return SpaceData("nb201", variants, {C10: accuracy})


def test_split_is_a_seeded_half_of_the_sorted_cells() -> None:
    cells = pd.Index([9, 3, 7, 1, 5, 3])
    one, two = split_cells(cells, 1), split_cells(cells[::-1], 1)
    assert one.selection.tolist() == two.selection.tolist() and len(one.selection) == 2 and len(one.held_out) == 3
    assert sorted([*one.selection, *one.held_out]) == [1, 3, 5, 7, 9]


def test_search_finds_complementary_members_with_weights_and_ignores_a_lucky_few_cell_member() -> None:
    rng = np.random.default_rng(0)
    n = 400
    index = pd.Index(np.arange(n))
    size, topology = rng.normal(size=n), rng.normal(size=n)
    accuracy = pd.Series(2 * size + topology + rng.normal(scale=0.3, size=n), index=index)
    columns = {"size": pd.Series(size + rng.normal(scale=0.3, size=n), index=index),
               "topology": pd.Series(topology + rng.normal(scale=0.3, size=n), index=index),
               "noise": pd.Series(rng.normal(size=n), index=index),
               # perfectly ordered, but on 12 cells only: its rho there is 1, and means little
               "lucky": pd.Series(accuracy.to_numpy()[:12], index=index[:12])}
    result = search(_data(columns, accuracy), [C10], index, top=3)
    assert result.left_out == ["lucky"] and result.pool == {C10.label: n}  # every candidate on the same cells
    best = result.found[0]
    assert "lucky" not in best.spec.label and "noise" not in best.spec.label
    weights = {t.ref: t.weight for t in best.spec.terms}
    assert set(weights) == {"size", "topology"} and weights["size"] > weights["topology"]  # size matters twice
    expected = stats.spearmanr(sum(w * stats.rankdata(columns[k]) for k, w in weights.items()) if best.spec.kind == "ranksum"
                               else sum(w * np.log(stats.rankdata(columns[k]) / n) for k, w in weights.items()),
                               accuracy).statistic
    assert best.selection_rho == pytest.approx(expected, abs=1e-12)  # the search's rho is scipy's


def test_each_head_is_a_candidate_only_where_the_matching_head_covers_too_few_cells() -> None:
    from naswot_ray.analysis.ensemble_search import candidates

    index = pd.Index(np.arange(10))
    full, few = pd.Series(np.arange(10.0), index=index), pd.Series(np.arange(2.0), index=index[:2])
    variants = {label: Variant(label, family, family, classes, True, scores)
                for label, family, classes, scores in (
                    ("naswot", "naswot", 10, full), ("zico[num_classes=10]", "zico", 10, full),
                    ("zico[num_classes=100]", "zico", 100, full), ("vkdnw[num_classes=10]", "vkdnw", 10, full),
                    ("vkdnw[num_classes=100]", "vkdnw", 100, few))}
    c100 = Target("cifar100", "x-test", 200)
    data = SpaceData("nb201", variants, {C10: full, c100: full})
    assert candidates(data, [C10, c100], index) == ["naswot", "vkdnw", "vkdnw[num_classes=100]", "vkdnw[num_classes=10]",
                                                    "zico"]
