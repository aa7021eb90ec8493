"""The correlation table: one row per (space, metric variant, accuracy column, protocol), and its renderings.

:func:`correlation_table` turns joined rows into the table (and keeps each selection for the plots);
:func:`format_terminal` aligns it for a terminal, :func:`format_markdown` for ``report.md``. Rows are
sorted case-insensitively (space, metric, dataset, split, epochs, protocol), so ``cifar10`` comes before
``ImageNet16-120`` and the order never depends on how the options were written.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from naswot_ray.analysis.join import Joined
from naswot_ray.analysis.stats import Selection, correlate, select_all, select_paper
from naswot_ray.accuracies.keys import NB101
from naswot_ray.ensembles.values import higher_is_better, usable_values

#: columns of correlations.csv, in order
CSV_COLUMNS = ["space", "metric", "dataset", "split", "epochs", "protocol", "n", "kendall_tau", "kendall_ci_low",
               "kendall_ci_high", "spearman_rho", "spearman_ci_low", "spearman_ci_high", "ci_method", "top10_precision",
               "dropped_nan", "dropped_inf", "kept_nonfinite", "dropped_low_accuracy", "dropped_zero", "subsampled_from",
               "unmatched", "base_metric", "mode", "value_scale"]
#: below this many architectures a correlation is flagged: its interval is wide and its tau moves with one cell
MIN_RELIABLE_N = 30
GROUP = ["space", "variant", "acc_dataset", "acc_split", "acc_epochs"]


@dataclass
class CorrelationTable:
    frame: pd.DataFrame
    #: (space, metric label, dataset, split, epochs, protocol) -> the points that protocol kept
    selections: dict[tuple, Selection] = field(default_factory=dict)


def correlation_table(joined: Joined, protocols: Sequence[str], *, ci: str = "auto", resamples: int = 200,
                      seed: int = 1) -> CorrelationTable:
    """Every statistic for every group; ``seed`` drives the paper subsample and the bootstrap."""
    scored = {(r.space, r.variant): int(r.scored) for r in joined.scored.itertuples()}
    records, selections = [], {}
    for key, group in joined.rows.groupby(GROUP, sort=True):
        space, variant, dataset, split, epochs = key
        base = group["metric"].iloc[0]
        higher = higher_is_better(base)
        usable = usable_values(group["value"].to_numpy(dtype=np.float64), group["status"].to_numpy() == "ok", base, higher)
        value = usable.values
        accuracy = group["accuracy"].to_numpy(dtype=np.float64)
        for protocol in protocols:
            if protocol == "paper":
                selection = select_paper(value, accuracy, group["arch_index"].to_numpy(), nb101=space == NB101, seed=seed)
            else:
                selection = select_all(value, accuracy, illegal_inf=usable.illegal_inf)
            result = correlate(selection, ci=ci, resamples=resamples, seed=seed, higher_is_better=higher)
            selections[(space, variant, dataset, split, int(epochs), protocol)] = selection
            records.append({
                "space": space, "metric": variant, "dataset": dataset, "split": split, "epochs": int(epochs),
                "protocol": protocol, "n": result.n, "kendall_tau": result.kendall_tau,
                "kendall_ci_low": result.kendall_ci[0], "kendall_ci_high": result.kendall_ci[1],
                "spearman_rho": result.spearman_rho, "spearman_ci_low": result.spearman_ci[0],
                "spearman_ci_high": result.spearman_ci[1], "ci_method": result.ci_method,
                "top10_precision": result.top10_precision, "dropped_nan": selection.dropped_nan,
                "dropped_inf": selection.dropped_inf, "kept_nonfinite": selection.kept_nonfinite,
                "dropped_low_accuracy": selection.dropped_low_accuracy,
                "dropped_zero": selection.dropped_zero, "subsampled_from": selection.subsampled_from,
                "unmatched": scored.get((space, variant), len(group)) - len(group),
                "base_metric": base, "mode": group["mode"].iloc[0], "value_scale": group["value_scale"].iloc[0],
            })
    frame = pd.DataFrame.from_records(records, columns=CSV_COLUMNS)
    frame["subsampled_from"] = frame["subsampled_from"].astype("Int64")
    return CorrelationTable(sort_rows(frame), selections)


def sort_rows(frame: pd.DataFrame) -> pd.DataFrame:
    """Case-insensitive order of (space, metric, dataset, split, epochs, protocol); a fresh index."""
    if frame.empty:
        return frame
    keys = ["space", "metric", "dataset", "split", "epochs", "protocol"]
    return frame.sort_values(keys, key=lambda col: col if pd.api.types.is_numeric_dtype(col) else col.astype(str).str.lower(),
                             kind="mergesort").reset_index(drop=True)


def small_samples(frame: pd.DataFrame) -> pd.DataFrame:
    """The correlations resting on fewer than :data:`MIN_RELIABLE_N` architectures."""
    return frame[frame["n"] < MIN_RELIABLE_N]


# -- renderings ------------------------------------------------------------------------------------
HEADERS = ["space", "metric", "dataset", "split", "ep", "protocol", "n", "kendall tau [95% CI]",
           "spearman rho [95% CI]", "top-10%", "dropped"]


def display_rows(frame: pd.DataFrame, digits: int = 3) -> list[list[str]]:
    rows = []
    for r in frame.itertuples(index=False):
        dropped = [f"{r.dropped_nan} NaN", f"{r.dropped_inf} inf"]
        if r.protocol == "paper":
            dropped = [f"{r.dropped_nan} NaN", f"{r.dropped_low_accuracy} low-acc", f"{r.dropped_zero} zero"]
        if r.kept_nonfinite:
            dropped.append(f"{r.kept_nonfinite} +-inf ranked")
        rows.append([r.space, r.metric, r.dataset, r.split, str(r.epochs), r.protocol, str(r.n),
                     _with_ci(r.kendall_tau, r.kendall_ci_low, r.kendall_ci_high, digits),
                     _with_ci(r.spearman_rho, r.spearman_ci_low, r.spearman_ci_high, digits),
                     _num(r.top10_precision, 2), ", ".join(dropped)])
    return rows


def format_terminal(frame: pd.DataFrame, digits: int = 3) -> str:
    """A plain aligned table (numbers right-aligned) that survives copy-paste into an issue."""
    rows = display_rows(frame, digits)
    widths = [max(len(h), *(len(row[i]) for row in rows)) if rows else len(h) for i, h in enumerate(HEADERS)]
    numeric = {4, 6, 7, 8, 9}

    def line(cells: list[str]) -> str:
        return "  ".join(c.rjust(w) if i in numeric else c.ljust(w) for i, (c, w) in enumerate(zip(cells, widths))).rstrip()
    out = [line(HEADERS), "  ".join("-" * w for w in widths)]
    out += [line(row) for row in rows]
    return "\n".join(out)


def format_markdown(frame: pd.DataFrame, digits: int = 3) -> str:
    rows = display_rows(frame, digits)
    out = ["| " + " | ".join(HEADERS) + " |", "|" + "|".join("---:" if i in (4, 6, 7, 8, 9) else "---"
                                                          for i in range(len(HEADERS))) + "|"]
    out += ["| " + " | ".join(cell.replace("|", "\\|") for cell in row) + " |" for row in rows]
    return "\n".join(out)


def _num(value: float, digits: int = 3) -> str:
    return "nan" if value is None or not math.isfinite(value) else f"{value:.{digits}f}"


def _with_ci(value: float, low: float, high: float, digits: int = 3) -> str:
    if low is None or not math.isfinite(low):
        return _num(value, digits)
    return f"{_num(value, digits)} [{_num(low, digits)}, {_num(high, digits)}]"


__all__ = ["CSV_COLUMNS", "MIN_RELIABLE_N", "CorrelationTable", "correlation_table", "format_markdown", "format_terminal",
           "small_samples", "sort_rows"]
