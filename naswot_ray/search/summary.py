"""The Table-2 style summary of many runs: mean +- sample std per accuracy column, median search time.

Conventions (metrics-spec section 5, the NASWOT v1 table script): the spread is the *sample* standard
deviation (ddof=1) over runs; the search time is the *median* over runs of the simulated seconds
(scoring time for NASWOT, simulated training plus scoring for budgeted searches). Runs whose chosen
architecture has no value in a column are left out of that column's mean, and ``runs`` says how many
were used.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence

import numpy as np
import pandas as pd

#: columns of the --output CSV, in order
SUMMARY_COLUMNS = ["algorithm", "setting", "n", "dataset", "split", "epochs", "mean", "std", "runs",
                   "median_seconds", "median_wall_seconds", "mean_queries"]


def summarise(rows: Sequence[dict], columns: Sequence[str]) -> pd.DataFrame:
    """One row per (algorithm, setting, accuracy column) from ``searches`` rows, in first-seen order."""
    groups: dict[tuple[str, str], list[dict]] = {}
    for row in rows:
        groups.setdefault((row["algorithm"], row["setting"]), []).append(row)
    records = []
    for (algorithm, setting), members in groups.items():
        accuracies = [json.loads(m["accuracies"]) for m in members]
        seconds = np.array([_float(m["simulated_seconds"]) for m in members])
        wall = np.array([_float(m["wall_seconds"]) for m in members])
        queries = np.array([_float(m["queries"]) for m in members])
        for label in columns:
            values = np.array([_float(a.get(label)) for a in accuracies])
            values = values[np.isfinite(values)]
            dataset, split, epochs = label.rsplit(":", 2)
            records.append({
                "algorithm": algorithm, "setting": setting, "n": members[0].get("n"), "dataset": dataset,
                "split": split, "epochs": int(epochs),
                "mean": float(values.mean()) if len(values) else math.nan,
                "std": float(values.std(ddof=1)) if len(values) > 1 else math.nan,
                "runs": int(len(values)),
                "median_seconds": _nanmedian(seconds), "median_wall_seconds": _nanmedian(wall),
                "mean_queries": float(queries.mean()) if len(queries) else math.nan,
            })
    frame = pd.DataFrame.from_records(records, columns=SUMMARY_COLUMNS)
    frame["n"] = frame["n"].astype("Int64")
    return frame


def format_summary(frame: pd.DataFrame, digits: int = 2) -> str:
    """An aligned text table: one line per (algorithm, setting), one ``mean ± std`` cell per column."""
    if frame.empty:
        return "(no runs)"
    columns = list(dict.fromkeys(f"{d}:{s}" for d, s in zip(frame["dataset"], frame["split"])))
    header = ["algorithm", "setting", "runs", "search s", "queries", *columns]
    lines = [header]
    for (algorithm, setting), group in frame.groupby(["algorithm", "setting"], sort=False):
        first = group.iloc[0]
        cells = {f"{r.dataset}:{r.split}": _cell(r.mean, r.std, digits) for r in group.itertuples()}
        lines.append([algorithm, setting, str(int(group["runs"].max())), _number(first["median_seconds"]),
                      _number(first["mean_queries"], 1), *(cells.get(c, "-") for c in columns)])
    widths = [max(len(line[i]) for line in lines) for i in range(len(header))]
    out = []
    for k, line in enumerate(lines):
        out.append("  ".join(cell.ljust(w) if i < 2 else cell.rjust(w) for i, (cell, w) in enumerate(zip(line, widths))))
        if k == 0:
            out.append("  ".join("-" * w for w in widths))
    return "\n".join(out)


def _cell(mean: float, std: float, digits: int) -> str:
    if not math.isfinite(mean):
        return "-"
    spread = f"{std:.{digits}f}" if math.isfinite(std) else "-"
    return f"{mean:.{digits}f} ± {spread}"


def _number(value: float, digits: int = 2) -> str:
    return f"{value:.{digits}f}" if math.isfinite(value) else "-"


def _float(value: object) -> float:
    return math.nan if value is None else float(value)  # type: ignore[arg-type]


def _nanmedian(values: np.ndarray) -> float:
    finite = values[np.isfinite(values)]
    return float(np.median(finite)) if len(finite) else math.nan


__all__ = ["SUMMARY_COLUMNS", "format_summary", "summarise"]
