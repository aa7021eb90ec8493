"""Figures and report files: the six-cell -inf store that crashed the error bars, intervals that contain their
estimate, readable axes, visible points, stale figures removed (only analyze's own), the small-sample warning."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from matplotlib import image as mpimg

from naswot_ray.analysis.plots import Panel, point_size, scatter_figure
from naswot_ray.analysis.stats import Selection, correlate, select_all
from naswot_ray.spaces import get_space
from naswot_ray.store import Store
from tests.analysis.score_rows import accuracy_store, write_scores
from tests.cliutil import run_inprocess

#: NB201 cells 1651 (all none: a singular NASWOT kernel) and 1835 plus four others, with their 200-epoch
#: accuracies from the merged NB201 table (CIFAR-10 ori-test, CIFAR-100 x-test)
SIX = {1651: (10.0, 1.0), 1835: (54.296667, 15.606667), 0: (85.863333, 52.913333), 1: (93.66, 70.293333),
       2: (85.74, 54.866667), 3: (86.616667, 58.306667)}


def _six_cell_store(root: Path) -> Store:
    space = get_space("nb201")
    store = accuracy_store(root, {"cifar10:ori-test:200": [v[0] for v in SIX.values()],
                                  "cifar100:x-test:200": [v[1] for v in SIX.values()]}, indices=list(SIX))
    # NASWOT ordered exactly like CIFAR-10 accuracy on the five finite cells: tau = 1 there, the case whose
    # float rounding put the estimate outside its bootstrap interval [1, 1] and crashed matplotlib's yerr
    scores = {1651: -np.inf, 1835: 1292.19, 2: 1313.84, 0: 1532.73, 3: 1541.51, 1: 1644.96}
    write_scores(store, space="nb201", indices=list(scores), archs=[space.arch(i) for i in scores],
                 values=list(scores.values()))
    return store


def test_six_cells_with_a_singular_kernel_analyse_and_plot(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    store = _six_cell_store(tmp_path)
    out = tmp_path / "report"
    code, printed, err = run_inprocess(capsys, "analyze", "--store", store.root, "--protocol", "both", "--out", str(out))
    assert code == 0, err
    table = pd.read_csv(out / "correlations.csv")
    assert len(table) == 4
    for estimate, low, high in (("kendall_tau", "kendall_ci_low", "kendall_ci_high"),
                                ("spearman_rho", "spearman_ci_low", "spearman_ci_high")):
        assert (table[low] <= table[estimate]).all() and (table[estimate] <= table[high]).all()
    paper = table[(table.protocol == "paper") & (table.dataset == "cifar10")].iloc[0]
    assert paper["kendall_tau"] == 1.0 and paper["kendall_ci_low"] == 1.0  # exactly, not 0.9999999999999999
    every = table[(table.protocol == "all") & (table.dataset == "cifar10")].iloc[0]
    assert every["n"] == 6 and every["kept_nonfinite"] == 1 and every["kendall_tau"] == 1.0  # -inf ranked lowest
    assert {"tau_all.png", "tau_paper.png", "scatter_nb201_naswot.png"} <= {p.name for p in out.iterdir()}
    warning = [line for line in err.splitlines() if line.startswith("warning:")]
    assert warning == ["warning: 4 of 4 correlations rest on fewer than 30 architectures (smallest: n=5, naswot vs "
                       "cifar10:ori-test); their tau and rho are rough"]
    assert "rest on fewer than 30 architectures" in (out / "report.md").read_text()


@pytest.mark.parametrize("n", [3, 4, 5, 6, 8, 12, 20])
def test_every_interval_contains_its_estimate(n: int) -> None:
    rng = np.random.default_rng(n)
    for trial in range(60):
        acc = rng.uniform(10, 94, n)
        score = acc + rng.normal(scale=(0.0, 5.0, 40.0)[trial % 3], size=n)  # perfect, good and poor orders
        if trial % 2:
            score[rng.integers(n)] = -np.inf
        result = correlate(select_all(score, acc), ci="bootstrap", resamples=60, seed=trial)
        for value, (low, high) in ((result.kendall_tau, result.kendall_ci), (result.spearman_rho, result.spearman_ci)):
            assert not np.isfinite(low) or low <= value <= high, (n, trial, value, low, high)


def test_score_axis_label_clears_large_tick_labels_and_few_points_are_visible() -> None:
    rng = np.random.default_rng(0)
    for values in (rng.uniform(1e4, 9.5e5, 300), -rng.uniform(1e5, 2e6, 300), rng.uniform(0, 1e-5, 300),
                   rng.uniform(1200, 1700, 300)):
        acc = rng.uniform(10, 94, len(values))
        fig = scatter_figure("nb201", "params", "raw", [Panel("cifar10", "ori-test", 200, "all", Selection(values, acc), 0.5)])
        fig.canvas.draw()
        renderer = fig.canvas.get_renderer()
        ax = fig.axes[0]
        label = ax.yaxis.label.get_window_extent(renderer)
        low, high = sorted(ax.get_ylim())
        ticks = [label.get_window_extent(renderer) for tick, label in zip(ax.get_yticks(), ax.get_yticklabels())
                 if low <= tick <= high and label.get_text()]  # the ticks drawn
        assert label.x0 >= 0 and ticks and label.x1 < min(t.x0 for t in ticks), (values[:2], label, ticks[0])
    assert point_size(6) > 4 * point_size(1500)


def _two_metric_store(root: Path) -> Store:
    space = get_space("nb201")
    rng = np.random.default_rng(1)
    acc = rng.uniform(10, 94, 60)
    store = accuracy_store(root, {"cifar10:ori-test:200": acc})
    for metric in ("naswot", "params"):
        write_scores(store, space="nb201", indices=range(60), archs=[space.arch(i) for i in range(60)],
                     values=acc + rng.normal(scale=20, size=60), metric=metric)
    return store


def test_an_analysis_removes_its_own_stale_figures_only(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    store = _two_metric_store(tmp_path)
    out = tmp_path / "report"
    out.mkdir()
    mine = [out / "scatter_mine.png", out / "notes.txt"]  # a user's files in the same folder
    for path in mine:
        path.write_text("keep me")
    assert run_inprocess(capsys, "analyze", "--store", store.root, "--ci", "none", "--out", str(out))[0] == 0
    assert (out / "scatter_nb201_params.png").exists() and (out / "scatter_nb201_naswot.png").exists()
    assert run_inprocess(capsys, "analyze", "--store", store.root, "--ci", "none", "--metrics", "naswot",
                         "--out", str(out))[0] == 0
    assert not (out / "scatter_nb201_params.png").exists()  # an earlier run's figure for a metric no longer analysed
    assert (out / "scatter_nb201_naswot.png").exists() and all(p.read_text() == "keep me" for p in mine)
    assert mpimg.imread(out / "tau_all.png").shape[0] > 300
