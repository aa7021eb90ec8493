"""Rank-sum ensembles of stored metrics: ``ensemble:<m1>+<m2>+...``, and a search for the best ones.

Why rank sums: member scores live on unrelated scales (log synflow ~ 100, NASWOT ~ 1,500, kappa ~ 1e3 with
lower better), so only ranks can be added. Per space, an ensemble is computed over the architectures
where *every* member has a finite score (errors, NaN and +-inf are left out, since an infinite score has
no rank beyond "worst"): each member is ranked so that its better end gets the higher rank (the
metric's ``higher_is_better``; ties get average ranks), and the ensemble's value is the sum of those
ranks, so an ensemble is always higher-is-better. Members are named by the analysis's variant labels:
``naswot``, or ``naswot[clean]`` where a metric has several stored variants (a bare name that matches
several variants is an error that lists them).

An ensemble becomes one more variant of the joined rows (its label, mode ``rank-sum``), so the
correlation table, the plots and the report treat it like any metric. :func:`find_best` tries every pair
and triple of the stored variants against one accuracy column (by Spearman rho, sign-aware) so users can
find combinations that beat each of their members; :func:`ensemble_summary` states, per ensemble, its rho
next to its best member's rho on the same architectures.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

from naswot_ray.analysis.join import Joined
from naswot_ray.accuracies.schema import AccuracyColumn
from naswot_ray.errors import InputError

PREFIX = "ensemble:"
MODE = "rank-sum"
#: accuracy columns preferred as the auto-search target, in order (then the first column in sort order)
TARGET_PREFERENCE = (("cifar10", "ori-test"), ("cifar10-valid", "ori-test"), ("cifar10-valid", "x-valid"))
AUTO_SIZES = (2, 3)
AUTO_DEFAULT_TOP = 5
SUMMARY_COLUMNS = ["space", "ensemble", "dataset", "split", "epochs", "n", "spearman_rho", "best_member",
                   "best_member_rho", "gain", "member_rhos"]


#: the accuracy column ensembles are compared on
Target = AccuracyColumn


def is_ensemble(name: str) -> bool:
    return name.startswith(PREFIX)


def parse_ensemble(text: str) -> tuple[str, ...]:
    """``ensemble:a+b[x]+c`` -> canonical member labels (metric aliases resolved); InputError when malformed."""
    from naswot_ray.metrics import get_metric

    body = text[len(PREFIX):] if is_ensemble(text) else text
    members = [m.strip() for m in body.split("+")]
    if len(members) < 2 or any(not m for m in members):
        raise InputError(f"malformed ensemble {text!r}; expected ensemble:<metric>+<metric>[+...], e.g. "
                         "ensemble:naswot+synflow or ensemble:naswot[clean]+synflow")
    out = []
    for member in members:
        base, bracket, rest = member.partition("[")
        if bracket and not rest.endswith("]"):
            raise InputError(f"malformed ensemble member {member!r} in {text!r}; expected name or name[variant]")
        out.append(get_metric(base.strip()).name + (bracket + rest if bracket else ""))
    if len(set(out)) != len(out):
        raise InputError(f"ensemble {text!r} names a member twice")
    return tuple(out)


def ensemble_label(members: Sequence[str]) -> str:
    return PREFIX + "+".join(members)


def member_metrics(ensembles: Sequence[tuple[str, ...]]) -> list[str]:
    """The stored metric names the ensembles read (what the join must load)."""
    return list(dict.fromkeys(m.partition("[")[0] for members in ensembles for m in members))


def rank_sum(values: Sequence[np.ndarray], higher_is_better: Sequence[bool]) -> np.ndarray:
    """Per row, the sum over members of the member's rank (1 = worst, n = best; ties averaged)."""
    total = np.zeros(len(values[0]), dtype=np.float64)
    for v, higher in zip(values, higher_is_better):
        total += stats.rankdata(v if higher else -np.asarray(v))
    return total


# -- per-space member tables ----------------------------------------------------------------------------
@dataclass
class MemberScores:
    """One stored variant of one space: finite scores by architecture index, and which way is better."""

    label: str
    metric: str
    higher_is_better: bool
    scores: pd.Series  # arch_index -> value (finite only)


def _higher(metric: str) -> bool:
    from naswot_ray.metrics import get_metric

    try:
        return bool(get_metric(metric).higher_is_better)
    except (InputError, ImportError):
        return True


def member_table(rows: pd.DataFrame) -> dict[tuple[str, str], MemberScores]:
    """(space, variant label) -> its finite scores, from the joined rows (one value per architecture)."""
    out = {}
    base = rows[~rows["metric"].astype(str).str.startswith(PREFIX)]
    for (space, label), group in base.groupby(["space", "variant"], sort=True):
        first = group.drop_duplicates("arch_index")
        value = np.where(first["status"].to_numpy() == "ok", first["value"].to_numpy(dtype=np.float64), np.nan)
        series = pd.Series(value, index=first["arch_index"].to_numpy())
        metric = str(group["metric"].iloc[0])
        out[(space, label)] = MemberScores(label, metric, _higher(metric), series[np.isfinite(series.to_numpy())])
    return out


def resolve_member(member: str, labels: Sequence[str]) -> str | None:
    """The variant label ``member`` names among ``labels``; None when absent, InputError when ambiguous."""
    if member in labels:
        return member
    if "[" in member:
        return None
    matches = [label for label in labels if label.startswith(member + "[")]
    if len(matches) > 1:
        raise InputError(f"ensemble member {member!r} matches {len(matches)} stored variants: {', '.join(matches)}; "
                         f"name one, e.g. {matches[0]}")
    return matches[0] if matches else None


def combine(members: Sequence[MemberScores]) -> pd.Series:
    """The rank-sum ensemble over the architectures where every member has a finite score."""
    common = members[0].scores.index
    for m in members[1:]:
        common = common.intersection(m.scores.index)
    common = common.sort_values()
    values = [m.scores.loc[common].to_numpy() for m in members]
    return pd.Series(rank_sum(values, [m.higher_is_better for m in members]) if len(common) else [], index=common,
                     dtype=np.float64)


# -- adding ensembles to the joined rows ----------------------------------------------------------------
def add_ensembles(joined: Joined, ensembles: Sequence[tuple[str, ...]]) -> Joined:
    """``joined`` plus one variant per ensemble in every space that stores all its members."""
    if not ensembles:
        return joined
    table = member_table(joined.rows)
    extra_rows, extra_scored = [joined.rows], [joined.scored]
    for members in ensembles:
        label = ensemble_label(members)
        found = False
        for space in sorted({s for s, _ in table}):
            labels = [lab for s, lab in table if s == space]
            resolved = [resolve_member(m, labels) for m in members]
            if any(r is None for r in resolved):
                continue
            found = True
            values = combine([table[(space, r)] for r in resolved])  # type: ignore[index]
            first = joined.rows[(joined.rows["space"] == space) & (joined.rows["variant"] == resolved[0])]
            rows = first[first["arch_index"].isin(values.index)].copy()
            rows["variant"] = label
            rows["metric"] = label
            rows["mode"] = MODE
            rows["value_scale"] = "raw"
            rows["status"] = "ok"
            rows["value"] = values.loc[rows["arch_index"].to_numpy()].to_numpy()
            extra_rows.append(rows)
            extra_scored.append(pd.DataFrame({"space": [space], "variant": [label], "scored": [len(values)]}))
        if not found:
            stored = sorted({lab for _, lab in table})
            raise InputError(f"no space stores every member of {label}; stored variants: {', '.join(stored) or 'none'}")
    return Joined(pd.concat(extra_rows, ignore_index=True), pd.concat(extra_scored, ignore_index=True),
                  joined.unjoined_spaces)


# -- choosing the target and searching ------------------------------------------------------------------
def default_target(rows: pd.DataFrame) -> Target:
    """The first preferred column present (at its largest budget), else the first column in sort order."""
    columns = rows[["acc_dataset", "acc_split", "acc_epochs"]].drop_duplicates()
    present = sorted((str(d), str(s), int(e)) for d, s, e in columns.itertuples(index=False))
    if not present:
        raise InputError("no accuracy columns to compare ensembles on")
    for dataset, split in TARGET_PREFERENCE:
        budgets = [e for d, s, e in present if (d, s) == (dataset, split)]
        if budgets:
            return Target(dataset, split, max(budgets))
    return Target(*present[0])


def check_target(rows: pd.DataFrame, target: Target) -> None:
    """InputError naming the available columns when ``target`` is not among the joined accuracies."""
    columns = rows[["acc_dataset", "acc_split", "acc_epochs"]].drop_duplicates()
    present = sorted(f"{d}:{s}:{int(e)}" for d, s, e in columns.itertuples(index=False))
    if target.label not in present:
        raise InputError(f"unknown ensemble target {target.label!r}; joined accuracy columns: {', '.join(present)}")


def _accuracy(rows: pd.DataFrame, space: str, target: Target) -> pd.Series:
    picked = rows[(rows["space"] == space) & (rows["acc_dataset"] == target.dataset)
                  & (rows["acc_split"] == target.split) & (rows["acc_epochs"] == target.epochs)]
    picked = picked.drop_duplicates("arch_index")
    return pd.Series(picked["accuracy"].to_numpy(dtype=np.float64), index=picked["arch_index"].to_numpy()).dropna()


def _rho(values: pd.Series, accuracy: pd.Series, higher: bool = True) -> tuple[float, int]:
    """Sign-aware Spearman rho over the architectures both know (positive = ranks like accuracy)."""
    common = values.index.intersection(accuracy.index)
    if len(common) < 3:
        return math.nan, len(common)
    rho = float(stats.spearmanr(values.loc[common].to_numpy(), accuracy.loc[common].to_numpy()).statistic)
    return (rho if higher else -rho), len(common)


def find_best(joined: Joined, target: Target, *, top: int = AUTO_DEFAULT_TOP,
              sizes: Sequence[int] = AUTO_SIZES) -> list[tuple[str, ...]]:
    """The ``top`` ensembles (per space, then merged) of every pair/triple of stored variants by rho on ``target``."""
    table = member_table(joined.rows)
    found: list[tuple[float, tuple[str, ...]]] = []
    for space in sorted({s for s, _ in table}):
        accuracy = _accuracy(joined.rows, space, target)
        if accuracy.empty:
            continue
        labels = sorted(lab for s, lab in table if s == space and len(table[(s, lab)].scores) > 2)
        for size in sizes:
            for combo in itertools.combinations(labels, size):
                rho, _ = _rho(combine([table[(space, lab)] for lab in combo]), accuracy)
                if math.isfinite(rho):
                    found.append((rho, combo))
    if not found:
        raise InputError(f"no ensemble of the stored variants could be compared on {target.label}; "
                         "it needs at least two metrics scored on the same architectures")
    found.sort(key=lambda item: -item[0])
    return list(dict.fromkeys(combo for _, combo in found))[:top]


def ensemble_summary(joined: Joined, ensembles: Sequence[tuple[str, ...]], target: Target) -> pd.DataFrame:
    """Per (space, ensemble): its rho on ``target`` and each member's, on the ensemble's architectures."""
    table = member_table(joined.rows)
    records = []
    for members in ensembles:
        label = ensemble_label(members)
        for space in sorted({s for s, _ in table}):
            labels = [lab for s, lab in table if s == space]
            resolved = [resolve_member(m, labels) for m in members]
            accuracy = _accuracy(joined.rows, space, target)
            if any(r is None for r in resolved) or accuracy.empty:
                continue
            parts = [table[(space, r)] for r in resolved]  # type: ignore[index]
            values = combine(parts)
            rho, n = _rho(values, accuracy)
            member_rhos = {p.label: _rho(p.scores.loc[values.index], accuracy, p.higher_is_better)[0] for p in parts}
            best = max(member_rhos, key=lambda k: -math.inf if not math.isfinite(member_rhos[k]) else member_rhos[k])
            records.append({"space": space, "ensemble": label, "dataset": target.dataset, "split": target.split,
                            "epochs": target.epochs, "n": n, "spearman_rho": rho, "best_member": best,
                            "best_member_rho": member_rhos[best], "gain": rho - member_rhos[best],
                            "member_rhos": "; ".join(f"{k} {v:.3f}" for k, v in member_rhos.items())})
    return pd.DataFrame.from_records(records, columns=SUMMARY_COLUMNS)


def format_summary(frame: pd.DataFrame, digits: int = 3) -> str:
    """Aligned lines: ensemble, n, rho, best member and its rho, gain (all sign-aware Spearman)."""
    if frame.empty:
        return "(no ensembles)"
    header = ["space", "ensemble", "target", "n", "rho", "best member", "member rho", "gain"]
    lines = [header]
    for r in frame.itertuples(index=False):
        lines.append([r.space, r.ensemble, f"{r.dataset}:{r.split}:{r.epochs}", str(r.n), f"{r.spearman_rho:.{digits}f}",
                      r.best_member, f"{r.best_member_rho:.{digits}f}", f"{r.gain:+.{digits}f}"])
    widths = [max(len(line[i]) for line in lines) for i in range(len(header))]
    out = ["  ".join(c.ljust(w) if i in (0, 1, 2, 5) else c.rjust(w) for i, (c, w) in enumerate(zip(line, widths))).rstrip()
           for line in lines]
    out.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(out)


def format_summary_markdown(frame: pd.DataFrame, digits: int = 3) -> str:
    header = "| space | ensemble | target | n | rho | best member | member rho | gain |\n|---|---|---|---:|---:|---|---:|---:|"
    body = [f"| {r.space} | {r.ensemble} | {r.dataset}:{r.split}:{r.epochs} | {r.n} | {r.spearman_rho:.{digits}f} | "
            f"{r.best_member} | {r.best_member_rho:.{digits}f} | {r.gain:+.{digits}f} |"
            for r in frame.itertuples(index=False)]
    return "\n".join([header, *body])


__all__ = ["PREFIX", "SUMMARY_COLUMNS", "Target", "add_ensembles", "check_target", "combine", "default_target", "ensemble_label",
           "ensemble_summary", "find_best", "format_summary", "format_summary_markdown", "is_ensemble",
           "member_metrics", "member_table", "parse_ensemble", "rank_sum", "resolve_member"]
