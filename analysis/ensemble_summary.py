"""Each ensemble next to its members: Spearman rho (sign-aware: positive = ranks like accuracy) on its pool.

The table ``analyze`` prints under "ensembles vs their best member" and writes to ``ensembles.csv``: per
(space, ensemble, target column), the ensemble's rho, each member's rho on the same architectures, the
best member and the gain over it, and for ensembles chosen by ``--ensembles auto`` the rho they were
chosen with on the selection half.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import pandas as pd

from naswot_ray.analysis.ensembles import SpaceData, Target, evaluate_on, resolved_members, space_data
from naswot_ray.analysis.join import Joined
from naswot_ray.analysis.stats import spearman_rho
from naswot_ray.ensembles import Spec

SUMMARY_COLUMNS = ["space", "ensemble", "cells", "dataset", "split", "epochs", "n", "spearman_rho", "selection_rho",
                   "best_member", "best_member_rho", "gain", "member_rhos"]


def signed_rho(values: pd.Series, accuracy: pd.Series, higher: bool = True) -> float:
    """Spearman rho on the architectures both know, positive when the score ranks like accuracy."""
    common = values.index.intersection(accuracy.index)
    if len(common) < 3:
        return math.nan
    rho = spearman_rho(values.loc[common].to_numpy(), accuracy.loc[common].to_numpy())
    return rho if higher else -rho


def ensemble_summary(joined: Joined, specs: Sequence[Spec], targets: Sequence[Target],
                     cells: dict[str, pd.Index] | None = None, cells_name: str = "all",
                     selection_rho: dict[str, float] | None = None,
                     data: dict[str, SpaceData] | None = None, same_cells: bool = False) -> pd.DataFrame:
    """Per (space, ensemble, target): its rho and each member's on the ensemble's pool (within ``cells``).

    ``same_cells``: every ensemble of a (space, target) is measured on the cells all of them cover, so the
    rows compare like with like (pool-relative aggregates are evaluated on exactly that pool).
    """
    data = space_data(joined) if data is None else data
    records = []
    for space, space_info in data.items():
        restrict = None if cells is None else cells.get(space)
        for target in targets:
            pools = {}
            for spec in specs:
                values = evaluate_on(space_info, spec, target, restrict)
                if values is not None and len(values) >= 3:
                    pools[spec.label] = values.index
            common = restrict
            if same_cells and pools:
                common = pd.Index(sorted(set.intersection(*(set(p.tolist()) for p in pools.values()))), dtype=np.int64)
            for spec in specs:
                if spec.label not in pools:
                    continue
                values = evaluate_on(space_info, spec, target, common)
                if values is None or len(values) < 3:
                    continue
                records.append(_summary_row(space_info, spec, target, values, cells_name,
                                            (selection_rho or {}).get(spec.label, math.nan)))
    frame = pd.DataFrame.from_records(records, columns=SUMMARY_COLUMNS)
    order = {spec.label: k for k, spec in enumerate(specs)}
    frame["_order"] = frame["ensemble"].map(order)
    return (frame.sort_values(["_order", "space"], kind="mergesort").drop(columns="_order").reset_index(drop=True))


def _summary_row(data: SpaceData, spec: Spec, target: Target, values: pd.Series, cells_name: str,
                 selection_rho: float) -> dict:
    accuracy = data.accuracy[target]
    members = resolved_members(data, spec, target) or {}
    rhos = {v.label: signed_rho(v.scores.loc[values.index], accuracy, v.higher_is_better) for v in members.values()}
    best = max(rhos, key=lambda k: rhos[k] if math.isfinite(rhos[k]) else -math.inf)
    rho = signed_rho(values, accuracy)
    return {"space": data.space, "ensemble": spec.label, "cells": cells_name, "dataset": target.dataset,
            "split": target.split, "epochs": target.epochs, "n": len(values), "spearman_rho": rho,
            "selection_rho": selection_rho, "best_member": best, "best_member_rho": rhos[best],
            "gain": rho - rhos[best], "member_rhos": "; ".join(f"{k} {v:.3f}" for k, v in rhos.items())}


def format_summary(frame: pd.DataFrame, digits: int = 3) -> str:
    """Aligned lines: ensemble, cells, target, n, rho, best member and its rho, gain (sign-aware Spearman)."""
    if frame.empty:
        return "(no ensembles)"
    header = ["space", "ensemble", "cells", "target", "n", "rho", "chosen on (rho)", "best member", "member rho", "gain"]
    lines = [header]
    for r in frame.itertuples(index=False):
        chosen = "selection half " + _num(r.selection_rho, digits) if math.isfinite(r.selection_rho) else "-"
        lines.append([r.space, r.ensemble, r.cells, f"{r.dataset}:{r.split}:{r.epochs}", str(r.n),
                      _num(r.spearman_rho, digits), chosen, r.best_member, _num(r.best_member_rho, digits),
                      _num(r.gain, digits, "+")])
    widths = [max(len(line[i]) for line in lines) for i in range(len(header))]
    left = {0, 1, 2, 3, 6, 7}
    out = ["  ".join(c.ljust(w) if i in left else c.rjust(w) for i, (c, w) in enumerate(zip(line, widths))).rstrip()
           for line in lines]
    out.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(out)


def format_summary_markdown(frame: pd.DataFrame, digits: int = 3) -> str:
    header = ("| space | ensemble | cells | target | n | rho | selection-half rho | best member | member rho | gain |\n"
              "|---|---|---|---|---:|---:|---:|---|---:|---:|")
    body = [f"| {r.space} | {r.ensemble} | {r.cells} | {r.dataset}:{r.split}:{r.epochs} | {r.n} | "
            f"{_num(r.spearman_rho, digits)} | {_num(r.selection_rho, digits) if math.isfinite(r.selection_rho) else '-'} | "
            f"{r.best_member} | {_num(r.best_member_rho, digits)} | {_num(r.gain, digits, '+')} |"
            for r in frame.itertuples(index=False)]
    return "\n".join([header, *body])


def _num(value: float, digits: int, sign: str = "") -> str:
    return "nan" if value is None or not math.isfinite(value) else f"{value:{sign}.{digits}f}"


__all__ = ["SUMMARY_COLUMNS", "ensemble_summary", "format_summary", "format_summary_markdown", "signed_rho"]
