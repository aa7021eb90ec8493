"""Ensembles in analyze on stores written directly: values by hand, the ranking rule, heads per dataset,
presets, the held-out search, the CLI."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from naswot_ray.analysis.ensemble_search import split_cells
from naswot_ray.analysis.report import AnalysisOptions, analyze
from naswot_ray.errors import InputError
from naswot_ray.spaces import get_space
from naswot_ray.store import Store
from tests.analysis.score_rows import accuracy_store, write_scores
from tests.cliutil import run_inprocess

N = 200
C10, C100 = "cifar10:ori-test:200", "cifar100:x-test:200"


def _store(root: Path, acc10: np.ndarray, acc100: np.ndarray) -> Store:
    return accuracy_store(root, {C10: acc10, C100: acc100})


def _scores(rng: np.random.Generator, acc10: np.ndarray, acc100: np.ndarray) -> dict[str, np.ndarray]:
    naswot = acc10 + rng.normal(scale=12, size=N)
    naswot[5], naswot[6] = np.nan, -np.inf  # an error row and a singular kernel
    return {
        "naswot": naswot,
        "ntk_cond": -acc10 + rng.normal(scale=12, size=N),  # lower is better
        "params": rng.uniform(size=N),
        "zico10": acc10 + rng.normal(scale=10, size=N),
        "zico100": acc100 + rng.normal(scale=10, size=N),
        **{f"az_{c}": acc10 + rng.normal(scale=s, size=N) for c, s in
           (("expressivity", 15), ("progressivity", 30), ("trainability", 20), ("complexity", 10))},
    }


def _write(store: Store, data: dict[str, np.ndarray]) -> None:
    space = get_space("nb201")
    archs = [space.arch(i) for i in range(N)]
    write_scores(store, space="nb201", indices=range(N), archs=archs, values=data["naswot"], metric="naswot")
    write_scores(store, space="nb201", indices=range(N - 10), archs=archs[:N - 10], values=data["ntk_cond"][:N - 10],
                 metric="ntk_cond", mode="tenas")
    write_scores(store, space="nb201", indices=range(N), archs=archs, values=data["params"], metric="params",
                 mode="default", batch_sha256="none")
    for classes in (10, 100):
        write_scores(store, space="nb201", indices=range(N), archs=archs, values=data[f"zico{classes}"], metric="zico",
                     mode="default", num_classes=classes)
    for component in ("expressivity", "progressivity", "trainability", "complexity"):
        write_scores(store, space="nb201", indices=range(N), archs=archs, values=data[f"az_{component}"],
                     metric=f"az_{component}", mode="default", batch_sha256="g" * 64)


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> tuple[Store, dict]:
    rng = np.random.default_rng(3)
    acc10 = rng.uniform(50, 94, N)
    acc100 = np.clip(acc10 - 25 + rng.normal(scale=6, size=N), 1, 100)
    the_store = _store(tmp_path_factory.mktemp("ensembles"), acc10, acc100)
    data = _scores(rng, acc10, acc100)
    _write(the_store, data)
    return the_store, {"acc10": acc10, "acc100": acc100, **data}


def _rows(frame: pd.DataFrame, metric: str, dataset: str) -> pd.Series:
    return frame[(frame.metric == metric) & (frame.dataset == dataset)].iloc[0]


def test_rank_sum_by_hand_keeps_the_legal_minus_inf_and_drops_the_error(store) -> None:
    the_store, data = store
    result = analyze(the_store, AnalysisOptions(ci="none", plots=False, ensembles=("ensemble:ntk+naswot",)))
    row = _rows(result.table.frame, "ensemble:naswot+ntk_cond", "cifar10")  # aliases resolved, members sorted
    pool = np.array([i != 5 for i in range(N - 10)])  # ntk_cond covers N-10 cells; cell 5 is an error row
    naswot, ntk = data["naswot"][:N - 10][pool], data["ntk_cond"][:N - 10][pool]
    assert np.isneginf(naswot).sum() == 1  # the singular kernel stays in the pool, ranked lowest
    expected = stats.rankdata(naswot) + stats.rankdata(-ntk)
    acc = data["acc10"][:N - 10][pool]
    assert row["n"] == pool.sum() == N - 11 and row["mode"] == "ranksum" and row["unmatched"] == 0
    assert row["spearman_rho"] == pytest.approx(stats.spearmanr(expected, acc).statistic, abs=1e-12)
    summary = result.ensembles
    first = summary[(summary.ensemble == "ensemble:naswot+ntk_cond") & (summary.dataset == "cifar10")].iloc[0]
    naswot_rho = stats.spearmanr(naswot, acc).statistic
    ntk_rho = -stats.spearmanr(ntk, acc).statistic  # sign-aware: a lower condition number is better
    assert first["best_member_rho"] == pytest.approx(max(naswot_rho, ntk_rho), abs=1e-12)
    assert first["gain"] > 0 and first["cells"] == "all"  # independent noise averages out
    assert {"naswot", "ntk_cond", "params"} <= set(result.table.frame.metric)  # members stay in the table


def test_members_read_the_head_matching_each_dataset(store) -> None:
    the_store, data = store
    frame = analyze(the_store, AnalysisOptions(ci="none", plots=False, ensembles=("ensemble:params+zico",))).table.frame
    # zico was scored with 10- and 100-class heads: each dataset is read through its own head only
    zico = frame[frame.metric.str.startswith("zico")]
    assert sorted(zip(zico.metric, zico.dataset)) == [("zico[num_classes=100]", "cifar100"),
                                                      ("zico[num_classes=10]", "cifar10")]
    for dataset, head, acc in (("cifar10", "zico10", "acc10"), ("cifar100", "zico100", "acc100")):
        expected = stats.rankdata(data["params"]) + stats.rankdata(data[head])
        row = _rows(frame, "ensemble:params+zico", dataset)
        assert row["spearman_rho"] == pytest.approx(stats.spearmanr(expected, data[acc]).statistic, abs=1e-12)
    every = analyze(the_store, AnalysisOptions(ci="none", plots=False, filters=_all_heads())).table.frame
    assert len(every[every.metric.str.startswith("zico")]) == 4  # --all-heads pairs every head with every dataset


def _all_heads():
    from naswot_ray.analysis.join import Filters

    return Filters(match_heads=False)


def test_az_nas_preset_by_hand(store) -> None:
    the_store, data = store
    result = analyze(the_store, AnalysisOptions(ci="none", plots=False, ensembles=("ensemble:az_nas",)))
    row = _rows(result.table.frame, "ensemble:az_nas", "cifar10")
    az = sum(np.log(stats.rankdata(data[f"az_{c}"]) / N)
             for c in ("expressivity", "progressivity", "trainability", "complexity"))
    assert row["n"] == N and row["mode"] == "logrank"
    assert row["spearman_rho"] == pytest.approx(stats.spearmanr(az, data["acc10"]).statistic, abs=1e-12)
    with pytest.raises(InputError, match="no space stores every member of ensemble:vkdnw_agg"):
        analyze(the_store, AnalysisOptions(ci="none", plots=False, ensembles=("ensemble:vkdnw_agg",)))


def test_auto_search_chooses_on_one_half_and_reports_on_the_other(store, tmp_path: Path) -> None:
    the_store, data = store
    options = AnalysisOptions(ci="none", plots=False, auto_ensembles=2, ensemble_target=f"{C10},{C100}")
    first = analyze(the_store, options)
    halves = split_cells(pd.Index(range(N)), 1)
    # the same store with the held-out half's accuracies scrambled: the choice must not move
    acc10, acc100 = data["acc10"].copy(), data["acc100"].copy()
    held = halves.held_out.to_numpy()
    rng = np.random.default_rng(9)
    acc10[held], acc100[held] = rng.permutation(acc10[held]), rng.permutation(acc100[held])
    other = _store(tmp_path, acc10, acc100)
    _write(other, {k: v for k, v in data.items() if not k.startswith("acc")})
    second = analyze(other, options)
    chosen = first.ensembles[first.ensembles.cells == "held-out"]
    again = second.ensembles[second.ensembles.cells == "held-out"]
    assert list(chosen.ensemble) == list(again.ensemble)  # chosen on the selection half only
    np.testing.assert_array_equal(chosen.selection_rho.to_numpy(), again.selection_rho.to_numpy())
    auto = chosen[chosen.selection_rho.notna()]
    assert auto.ensemble.nunique() == 2 and (auto.n <= len(held)).all()
    assert "ensemble:az_nas" in set(chosen.ensemble)  # the published aggregate, on the same held-out cells
    assert (chosen.groupby("dataset").n.nunique() == 1).all()
    assert not np.allclose(chosen.spearman_rho.to_numpy(), again.spearman_rho.to_numpy())  # reported on held-out
    label = auto.ensemble.iloc[0]
    rows = first.table.frame[first.table.frame.metric == label]
    assert (rows.n <= len(held)).all()  # the table shows a searched ensemble on the held-out half only
    assert "chose its 2 ensemble(s) on a seeded half of the cells (seed 1)" in first.ensemble_note
    assert "100 cells chosen on (97 compared for cifar10:ori-test:200, 97 compared for cifar100:x-test:200), 100 " \
           "reported on" in first.ensemble_note  # cells without ntk_cond or with an error row are not compared


def test_cli_reports_ensembles_and_rejects_bad_names(store, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    the_store, _ = store
    out = tmp_path / "report"
    code, printed, err = run_inprocess(capsys, "analyze", "--store", the_store.root, "--metrics",
                                       "params,ensemble:naswot+ntk_cond,ensemble:az_nas", "--ensembles", "auto:1",
                                       "--ci", "none", "--no-plots", "--out", str(out))
    assert code == 0, err
    assert "ensembles vs their best member" in printed and "reports them on the other half only" in printed
    summary = pd.read_csv(out / "ensembles.csv")
    assert set(summary[summary.cells == "all"].ensemble) == {"ensemble:az_nas", "ensemble:naswot+ntk_cond"}
    assert "## Ensembles vs their best member" in (out / "report.md").read_text()
    for args, message in ((["--ensembles", "best"], "malformed --ensembles 'best'"),
                          (["--metrics", "ensemble:naswot"], "an ensemble needs at least two members"),
                          (["--ensembles", "auto", "--ensemble-target", "cifar100:x-valid:200"],
                           "unknown ensemble target 'cifar100:x-valid:200'")):
        code, _, err = run_inprocess(capsys, "analyze", "--store", the_store.root, "--no-plots", *args)
        assert code == 2 and err.startswith("error: ") and message in err and len(err.strip().splitlines()) == 1
