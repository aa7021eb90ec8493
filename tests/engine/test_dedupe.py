"""--dedupe: one forward per isomorphism class, copies marked with shared_from, resume copies from the store."""

from __future__ import annotations

from collections import defaultdict

import pytest

from naswot_ray.data import BatchSpec
from naswot_ray.engine.dedupe import plan_sharing
from naswot_ray.engine.driver import run_score_all
from naswot_ray.engine.job import ScoreJob
from naswot_ray.spaces import get_space
from naswot_ray.store import Store


def _isomorphic_group(n_classes: int = 3) -> list[int]:
    """Indices of the first few NB201 classes that have at least two members."""
    space = get_space("nb201")
    classes: dict[str, list[int]] = defaultdict(list)
    for index in range(2000):
        classes[space.canonical(space.arch(index))].append(index)
    groups = [members[:3] for members in classes.values() if len(members) >= 2][:n_classes]
    return sorted(i for g in groups for i in g)


def test_plan_picks_one_representative_per_class_and_reuses_stored_ones() -> None:
    space = get_space("nb201")
    indices = _isomorphic_group()
    plan = plan_sharing(space, indices, complete=[])
    keys = {space.canonical(space.arch(i)) for i in indices}
    assert len(plan.to_score) == len(keys)
    assert plan.shared == len(indices) - len(keys)
    stored = plan.to_score[0]
    later = plan_sharing(space, [i for i in indices if i != stored], complete=[stored])
    assert set(later.from_store.values()) == {stored}
    assert len(later.to_score) == len(keys) - 1


@pytest.mark.ray
def test_dedupe_run_scores_each_class_once_and_marks_copies(local_ray, tmp_path) -> None:
    space = get_space("nb201")
    indices = _isomorphic_group()
    job = ScoreJob(space="nb201", metrics=["naswot"], batch=BatchSpec("random", batch_size=16, image_size=16),
                   store=str(tmp_path / "s"), indices=indices, dedupe=True, progress=False, num_workers=2)
    summary = run_score_all(job)
    rows = Store(str(tmp_path / "s")).read("scores").to_pylist()
    assert len(rows) == len(indices) and summary.scored == len(indices)
    computed = [r for r in rows if r["shared_from"] is None]
    assert len(computed) == len({space.canonical(space.arch(i)) for i in indices}) == len(indices) - summary.shared
    by_index = {r["arch_index"]: r for r in rows}
    for row in rows:
        if row["shared_from"] is not None:
            source = by_index[row["shared_from"]]
            assert row["value"] == source["value"] and row["seconds"] == 0.0
            assert space.canonical(row["arch"]) == space.canonical(source["arch"])
    # a second dedupe run over more cells copies from what is stored instead of scoring again
    extra = _isomorphic_group(4)
    again = run_score_all(ScoreJob(**{**job.__dict__, "indices": extra}))
    assert again.skipped == len(indices)
    assert len(Store(str(tmp_path / "s")).read("scores")) == len(extra)


@pytest.mark.ray
def test_a_class_whose_stored_member_failed_is_scored_not_copied(local_ray, tmp_path) -> None:
    """Issue 14 item 3: a stored representative with only error rows gives its class nothing to copy, so the
    other members are scored themselves; the counts say so, and a rerun has nothing left to do."""
    space = get_space("nb201")
    first, second = _isomorphic_group(1)[:2]

    class BrokenFirst(type(space)):
        def build(self, arch, num_classes):
            if arch == space.arch(first):
                raise ValueError("simulated build failure")
            return super().build(arch, num_classes)

    base = dict(space="nb201", metrics=["naswot"], batch=BatchSpec("random", batch_size=8, image_size=16),
                store=str(tmp_path / "s"), dedupe=True, progress=False, num_workers=1)
    failed = run_score_all(ScoreJob(**base, indices=[first], space_object=BrokenFirst()))
    assert (failed.scored, failed.failed) == (0, 1)
    summary = run_score_all(ScoreJob(**base, indices=[first, second]))
    assert (summary.skipped, summary.scored, summary.failed, summary.shared) == (1, 1, 0, 0)
    rows = {r["arch_index"]: r for r in Store(str(tmp_path / "s")).read("scores").to_pylist()}
    assert rows[first]["status"] == "error"
    assert rows[second]["status"] == "ok" and rows[second]["shared_from"] is None
    again = run_score_all(ScoreJob(**base, indices=[first, second]))
    assert (again.skipped, again.scored, again.failed) == (2, 0, 0)
