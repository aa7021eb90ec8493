"""PNG figures like the NASWOT paper's: score vs accuracy panels (Figure 3) and a tau bar chart (Figure 4).

Figure 3 style: x = trained accuracy on the paper's warped axis ``2**(10 * acc/100) - 1`` (it spreads
the crowded high-accuracy end; ticks are labelled in %), y = score, one panel per accuracy column,
tau in each panel title. A hexbin replaces the scatter above ``HEXBIN_MIN`` points, where single
dots would overplot into a blob. Scores of -inf cannot be drawn and are counted in the panel instead.

Figures are built with :class:`matplotlib.figure.Figure` directly (no pyplot), so nothing depends on a
display or on global pyplot state. Margins are fixed in inches (a constrained layout would draw every
figure twice), so tick labels are kept short instead: the score axis switches to a shared power-of-ten
offset from 1e4 up (``800000`` would run into the axis label). Points are sized by how many there are,
so six architectures are as visible as a thousand.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import ScalarFormatter

from naswot_ray.analysis.stats import Selection

HEXBIN_MIN = 2000
PANEL_COLUMNS = 3
_TICKS = (0, 10, 20, 30, 40, 45, 50, 60, 70, 75, 80, 85, 90, 92, 94, 95, 96, 98)
_MIN_TICK_GAP = 0.09  # of the warped axis width
#: score tick labels use a shared offset (x1e4 ...) outside 10^-3 .. 10^4, so they stay at most ~6 characters
_POWER_LIMITS = (-3, 4)


def point_size(n: int) -> float:
    """Marker area (points^2): large for a handful of architectures, small for a crowd of 2,000."""
    return float(np.clip(4000.0 / max(n, 1), 10.0, 64.0))


@dataclass
class Panel:
    """One accuracy column of one metric: the points to draw and the tau to print."""

    dataset: str
    split: str
    epochs: int
    protocol: str
    selection: Selection
    kendall_tau: float


def warp(accuracy: np.ndarray) -> np.ndarray:
    """The paper's accuracy axis (``plot_scores.py``), accuracy in percent."""
    return 2.0 ** (10.0 * np.asarray(accuracy, dtype=np.float64) / 100.0) - 1.0


def scatter_figure(space: str, metric: str, value_scale: str, panels: list[Panel]) -> Figure:
    """Score vs accuracy, one panel per accuracy column, tau in each title."""
    columns = min(PANEL_COLUMNS, len(panels))
    rows = math.ceil(len(panels) / columns)
    width, height = 4.6 * columns, 4.2 * rows
    fig = Figure(figsize=(width, height), dpi=100)
    FigureCanvasAgg(fig)
    # fixed margins in inches: a constrained layout would draw every figure twice
    fig.subplots_adjust(left=0.75 / width, right=1 - 0.2 / width, bottom=0.55 / height, top=1 - 0.95 / height,
                        wspace=0.3, hspace=0.75 / 4.2 * rows)
    label = "score" if value_scale == "raw" else "score (natural log)"
    hexbins = False
    for i, panel in enumerate(panels):
        ax = fig.add_subplot(rows, columns, i + 1)
        score, acc = panel.selection.score, panel.selection.accuracy
        finite = np.isfinite(score)
        x, y = warp(acc[finite]), score[finite]
        if len(x) >= HEXBIN_MIN:
            ax.hexbin(x, y, gridsize=60, bins="log", cmap="viridis", mincnt=1)
            hexbins = True
        elif len(x):
            ax.scatter(x, y, s=point_size(len(x)), alpha=0.8 if len(x) < 100 else 0.55, color="#2a7ab0",
                       edgecolors="#15405e" if len(x) < 100 else "none", linewidths=0.6, rasterized=True)
        formatter = ScalarFormatter(useMathText=True)
        formatter.set_powerlimits(_POWER_LIMITS)
        ax.yaxis.set_major_formatter(formatter)
        if len(acc):
            _accuracy_axis(ax, float(np.min(acc)), float(np.max(acc)))
        ax.set_xlabel(f"{panel.split} accuracy (%)")
        ax.set_ylabel(label)
        hidden = [f"{int(k)} {name} not shown" for k, name in ((np.isneginf(score).sum(), "-inf"),
                                                                 (np.isposinf(score).sum(), "+inf")) if k]
        note = "".join(f", {h}" for h in hidden)
        ax.set_title(f"{space} {panel.dataset} {panel.split} ({panel.epochs} ep)\n"
                     f"$\\tau$ = {panel.kendall_tau:.3f}  (n={len(score)}, {panel.protocol}{note})", fontsize=10)
        ax.spines["top"].set_visible(False)
        ax.spines["right"].set_visible(False)
    note = "  (hexbin colour: log number of architectures)" if hexbins else ""
    fig.suptitle(f"{metric} vs trained accuracy{note}", fontsize=12)
    return fig


def _accuracy_axis(ax, low: float, high: float) -> None:
    """Limit the warped axis to the data and label it in %, with ticks far enough apart to read."""
    lo, hi = warp(np.array([low, high]))
    pad = max(0.04 * (hi - lo), 1e-3)
    ax.set_xlim(lo - pad, hi + pad)
    chosen: list[int] = []
    for tick in (t for t in _TICKS if low <= t <= high):
        if not chosen or warp(np.array([tick]))[0] - warp(np.array([chosen[-1]]))[0] >= _MIN_TICK_GAP * (hi - lo):
            chosen.append(tick)
    if chosen:
        ax.set_xticks(warp(np.array(chosen)))
        ax.set_xticklabels([str(t) for t in chosen])


def tau_bar_figure(frame: pd.DataFrame, protocol: str) -> Figure:
    """Kendall tau per (space, accuracy column) group, one bar per metric, 95 % CI as error bars."""
    data = frame[frame["protocol"] == protocol].copy()
    data["group"] = (data["space"] + "\n" + data["dataset"] + "\n" + data["split"] + " "
                     + data["epochs"].astype(str) + "ep")
    groups = list(dict.fromkeys(data["group"]))
    metrics = list(dict.fromkeys(data["metric"]))
    width = 0.8 / max(1, len(metrics))
    per_group = max(1.3, 0.22 * len(metrics))
    fig = Figure(figsize=(max(7.0, 1.5 + per_group * len(groups)), 5.0), dpi=100, layout="constrained")
    FigureCanvasAgg(fig)
    ax = fig.add_subplot(1, 1, 1)
    colours = [f"C{i % 10}" for i in range(len(metrics))]
    for m, metric in enumerate(metrics):
        subset = data[data["metric"] == metric].set_index("group")
        positions, heights, errors = [], [], [[], []]
        for g, group in enumerate(groups):
            if group not in subset.index:
                continue
            row = subset.loc[group]
            positions.append(g - 0.4 + width * (m + 0.5))
            heights.append(row["kendall_tau"])
            low, high = row["kendall_ci_low"], row["kendall_ci_high"]
            finite = np.isfinite(low) and np.isfinite(high)
            errors[0].append(row["kendall_tau"] - low if finite else 0.0)
            errors[1].append(high - row["kendall_tau"] if finite else 0.0)
        ax.bar(positions, heights, width=width * 0.95, color=colours[m], label=metric,
               yerr=errors, capsize=2, error_kw={"elinewidth": 0.8})
    ax.axhline(0.0, color="black", linewidth=0.8)
    ax.set_xticks(range(len(groups)))
    ax.set_xticklabels(groups, fontsize=8)
    ax.set_ylabel("Kendall $\\tau$")
    ax.set_title(f"Kendall $\\tau$ per space and metric ({protocol} protocol)")
    ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.0, 1.0), frameon=False)  # never over the bars
    ax.spines["top"].set_visible(False)
    ax.spines["right"].set_visible(False)
    return fig


def save_png(fig: Figure, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, format="png")
    return path


__all__ = ["Panel", "scatter_figure", "tau_bar_figure", "save_png", "warp", "HEXBIN_MIN"]
