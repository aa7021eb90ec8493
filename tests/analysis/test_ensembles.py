"""Rank-sum ensembles on synthetic stores: values by hand, orientation, coverage, labels, search, report, CLI."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from naswot_ray.analysis.ensembles import MemberScores, Target, combine, parse_ensemble, rank_sum, resolve_member
from naswot_ray.analysis.report import AnalysisOptions, analyze
from naswot_ray.cli.main import main
from naswot_ray.accuracies import CsvOptions, parse_column_mapping
from naswot_ray.accuracies.importer import import_benchmark
from naswot_ray.errors import InputError
from naswot_ray.spaces import get_space
from naswot_ray.store import Store
from tests.analysis.score_rows import write_scores

N = 200


def test_rank_sum_by_hand_with_orientation_and_ties() -> None:
    # a: higher better -> ranks 3, 1, 2; b: lower better (10 best) -> ranks 3, 1, 2; c: a tie -> 1.5, 1.5, 3
    a, b, c = np.array([3.0, 1.0, 2.0]), np.array([10.0, 30.0, 20.0]), np.array([5.0, 5.0, 9.0])
    assert rank_sum([a, b], [True, False]).tolist() == [6.0, 2.0, 4.0]
    assert rank_sum([a, c], [True, True]).tolist() == [4.5, 2.5, 5.0]


def test_combine_uses_only_architectures_with_every_member() -> None:
    first = MemberScores("x", "naswot", True, pd.Series([1.0, 2.0, 3.0], index=[0, 1, 2]))
    second = MemberScores("y", "ntk_cond", False, pd.Series([9.0, 1.0, 5.0], index=[1, 2, 3]))
    values = combine([first, second])
    # common archs 1, 2: x ranks (1, 2); y lower-better 9 worse than 1 -> ranks (1, 2)
    assert values.index.tolist() == [1, 2] and values.tolist() == [2.0, 4.0]


def test_parse_ensemble_canonicalises_and_rejects() -> None:
    assert parse_ensemble("ensemble:ntk+naswot[clean]") == ("ntk_cond", "naswot[clean]")
    for bad, message in (("ensemble:naswot", "malformed ensemble"), ("ensemble:naswot+", "malformed ensemble"),
                         ("ensemble:naswot+naswot", "names a member twice"), ("ensemble:nope+naswot", "nope"),
                         ("ensemble:naswot[clean+params", "malformed ensemble member")):
        with pytest.raises(InputError, match=message):
            parse_ensemble(bad)


def test_resolve_member_exact_bracketed_and_ambiguous() -> None:
    labels = ["naswot[clean]", "naswot[reference]", "params"]
    assert resolve_member("params", labels) == "params"
    assert resolve_member("naswot[clean]", labels) == "naswot[clean]"
    assert resolve_member("synflow", labels) is None
    with pytest.raises(InputError, match="matches 2 stored variants: naswot\\[clean\\], naswot\\[reference\\]"):
        resolve_member("naswot", labels)


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> tuple[Store, dict]:
    """Accuracy for N cells; naswot = acc + noise (higher better), ntk_cond = -acc + other noise (lower better),
    params unrelated; naswot has an error row and a -inf, ntk_cond misses the last 10 cells."""
    root = tmp_path_factory.mktemp("ensembles")
    space = get_space("nb201")
    rng = np.random.default_rng(3)
    acc = rng.uniform(50, 94, N)
    csv = root / "acc.csv"
    pd.DataFrame({"index": range(N), "arch_str": [space.arch(i) for i in range(N)], "a": acc}).to_csv(csv, index=False)
    the_store = Store(str(root / "store"))
    import_benchmark(the_store, "nb201", csv, fmt="csv",
                     csv_options=CsvOptions([parse_column_mapping("a=cifar10:ori-test:200")]))
    archs = [space.arch(i) for i in range(N)]
    naswot = acc + rng.normal(scale=12, size=N)
    naswot[5], naswot[6] = np.nan, -np.inf
    ntk = -acc + rng.normal(scale=12, size=N)
    params = rng.uniform(size=N)
    write_scores(the_store, space="nb201", indices=range(N), archs=archs, values=naswot, metric="naswot")
    write_scores(the_store, space="nb201", indices=range(N - 10), archs=archs[:N - 10], values=ntk[:N - 10],
                 metric="ntk_cond", mode="tenas")
    write_scores(the_store, space="nb201", indices=range(N), archs=archs, values=params, metric="params",
                 mode="default", batch_sha256="none")
    return the_store, {"acc": acc, "naswot": naswot, "ntk": ntk, "params": params}


def test_ensemble_is_a_variant_with_hand_computed_values(store) -> None:
    the_store, data = store
    result = analyze(the_store, AnalysisOptions(ci="none", plots=False, ensembles=("ensemble:naswot+ntk",)))
    frame = result.table.frame
    row = frame[frame.metric == "ensemble:naswot+ntk_cond"].iloc[0]
    keep = np.array([i not in (5, 6) for i in range(N - 10)])  # finite naswot and an ntk_cond score
    expected = (stats.rankdata(data["naswot"][:N - 10][keep]) + stats.rankdata(-data["ntk"][:N - 10][keep]))
    acc = data["acc"][:N - 10][keep]
    assert row["n"] == keep.sum() == N - 12
    assert row["spearman_rho"] == pytest.approx(stats.spearmanr(expected, acc).statistic, abs=1e-12)
    assert row["mode"] == "rank-sum" and row["unmatched"] == 0
    summary = result.ensembles.iloc[0]
    naswot_rho = stats.spearmanr(data["naswot"][:N - 10][keep], acc).statistic
    ntk_rho = -stats.spearmanr(data["ntk"][:N - 10][keep], acc).statistic  # sign-aware: lower kappa is better
    assert summary["best_member_rho"] == pytest.approx(max(naswot_rho, ntk_rho), abs=1e-12)
    assert summary["spearman_rho"] > summary["best_member_rho"] and summary["gain"] > 0  # independent noise averages out
    assert {"naswot", "ntk_cond", "params"} <= set(frame.metric)  # members stay in the table


def test_auto_search_finds_the_complementary_pair(store) -> None:
    the_store, _ = store
    result = analyze(the_store, AnalysisOptions(ci="none", plots=False, auto_ensembles=2,
                                                ensemble_target="cifar10:ori-test:200"))
    assert list(result.ensembles["ensemble"]) == ["ensemble:naswot+ntk_cond", "ensemble:naswot+ntk_cond+params"]
    with pytest.raises(InputError, match="unknown ensemble target 'cifar100:x-test:200'.*cifar10:ori-test:200"):
        analyze(the_store, AnalysisOptions(ci="none", plots=False, auto_ensembles=1, ensemble_target="cifar100:x-test:200"))
    with pytest.raises(InputError, match="no space stores every member of ensemble:naswot\\+synflow"):
        analyze(the_store, AnalysisOptions(ci="none", plots=False, ensembles=("ensemble:naswot+synflow",)))
    assert Target.parse("cifar10:ori-test:200").label == "cifar10:ori-test:200"


def test_cli_reports_ensembles_and_writes_the_summary(store, tmp_path, capsys: pytest.CaptureFixture) -> None:
    the_store, _ = store
    out = tmp_path / "report"
    main(["analyze", "--store", the_store.root, "--metrics", "params,ensemble:naswot+ntk_cond", "--ensembles", "auto:1",
          "--ci", "none", "--no-plots", "--out", str(out)])
    printed = capsys.readouterr().out
    assert "ensembles vs their best member" in printed and "ensemble:naswot+ntk_cond" in printed
    summary = pd.read_csv(out / "ensembles.csv")
    assert list(summary["ensemble"]) == ["ensemble:naswot+ntk_cond"]  # the search found the one already asked for
    assert "Ensembles vs their best member" in (out / "report.md").read_text()
    with pytest.raises(SystemExit):
        main(["analyze", "--store", the_store.root, "--ensembles", "best"])
    assert "malformed --ensembles 'best'" in capsys.readouterr().err
