"""``--dedupe``: score one architecture per isomorphism class and share its rows with the others.

NB201's 15,625 cell strings describe 6,466 distinct networks (the space's ``canonical`` key), so the
number of forwards drops to the number of classes. A shared row is a copy of its representative's
row with the member's index, string and key, ``seconds`` = 0 and ``shared_from`` = the representative's
index, so the record says exactly which values were computed and which were copied. (Shared values are
an approximation where the metric depends on the initial weights: isomorphic networks draw their
weights in a different order.)
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timezone

from naswot_ray.spaces.base import SearchSpace
from naswot_ray.store.schema import IDENTITY_FIELDS, ScoreIdentity


@dataclass
class SharePlan:
    to_score: list[int]
    #: representative index -> members (still to store) that receive copies of its rows
    followers: dict[int, list[int]] = field(default_factory=dict)
    #: member index (still to store) -> an already stored member of its class to copy from
    from_store: dict[int, int] = field(default_factory=dict)

    @property
    def shared(self) -> int:
        return sum(len(v) for v in self.followers.values()) + len(self.from_store)


def plan_sharing(space: SearchSpace, todo: list[int], complete: list[int]) -> SharePlan:
    """Pick representatives among ``todo``; members of classes with a ``complete`` index copy from it."""
    stored_by_class: dict[str, int] = {}
    for index in complete:
        stored_by_class.setdefault(space.canonical(space.arch(index)), index)
    classes: dict[str, list[int]] = defaultdict(list)
    for index in todo:
        classes[space.canonical(space.arch(index))].append(index)
    plan = SharePlan(to_score=[])
    for key, members in classes.items():
        if key in stored_by_class:
            for member in members:
                plan.from_store[member] = stored_by_class[key]
            continue
        representative, *rest = sorted(members)
        plan.to_score.append(representative)
        if rest:
            plan.followers[representative] = rest
    plan.to_score.sort()
    return plan


def share_rows(rows: list[dict], members: list[int], space: SearchSpace, *, run_id: str) -> list[dict]:
    """Copies of a representative's ``rows`` for each of ``members`` (see the module docstring)."""
    copies = []
    now = datetime.now(timezone.utc)
    for member in members:
        arch = space.arch(member)
        for row in rows:
            key = ScoreIdentity(**{**{f: row[f] for f in IDENTITY_FIELDS}, "arch_index": member}).key()
            copies.append(dict(row, key=key, arch_index=member, arch=arch, seconds=0.0, run_id=run_id,
                               shared_from=row["shared_from"] if row.get("shared_from") is not None else row["arch_index"],
                               created_at=now))
    return copies
