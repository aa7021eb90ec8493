"""``naswot-ray search`` from the command line on real NB201 accuracies and NASLib's NASWOT scores (725 cells)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from naswot_ray.cli.main import main
from naswot_ray.store import Store
from tests.search import fixtures


@pytest.fixture(scope="module")
def store_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("cli-search") / "store"
    store = Store(str(root))
    fixtures.write_accuracies(store)
    indices, scores, seconds = fixtures.naslib_nwot()
    fixtures.write_scores(store, indices, scores, seconds)
    return root


def test_naswot_prints_a_table_2_summary_and_writes_csv_and_rows(store_dir: Path, tmp_path: Path,
                                                                  capsys: pytest.CaptureFixture) -> None:
    out = tmp_path / "summary.csv"
    main(["search", "naswot", "--n", "10,100", "--runs", "60", "--within-scored", "--store", str(store_dir),
          "--output", str(out)])
    printed = capsys.readouterr().out
    lines = printed.splitlines()
    assert lines[0].split()[:5] == ["algorithm", "setting", "runs", "search", "s"]
    assert "cifar10:ori-test" in lines[0] and "cifar100:x-valid" not in lines[0]
    assert lines[2].split()[:3] == ["naswot", "N=10", "60"] and lines[3].split()[:3] == ["naswot", "N=100", "60"]
    assert "120 runs of naswot on nb201 (local" in printed
    assert "note: not in the accuracies table, so not reported: cifar100:x-valid:200" in printed
    assert "--within-scored" in printed
    summary = pd.read_csv(out)
    assert {"algorithm", "n", "dataset", "split", "mean", "std", "runs", "median_seconds"} <= set(summary.columns)
    assert len(summary) == 2 * 5 and set(summary["n"]) == {10, 100} and (summary["runs"] == 60).all()
    test = summary[(summary["dataset"] == "cifar10") & (summary["split"] == "ori-test")].set_index("n")
    assert test.loc[100, "mean"] > test.loc[10, "mean"] > 88.0  # more candidates, better picks
    searches = Store(str(store_dir)).read("searches")
    assert searches.num_rows == 120
    # the same search again replaces its rows (same keys) instead of adding more
    main(["search", "naswot", "--n", "10,100", "--runs", "60", "--within-scored", "--store", str(store_dir)])
    capsys.readouterr()
    assert Store(str(store_dir)).read("searches").num_rows == 120


def test_rea_area_and_random_run_under_a_query_budget(store_dir: Path, capsys: pytest.CaptureFixture) -> None:
    before = Store(str(store_dir)).load("searches").num_rows
    for args in (["rea", "--budget-queries", "30", "--runs", "8"],
                 ["area", "--budget-queries", "30", "--runs", "8", "--within-scored", "--candidates", "12"],
                 ["random", "--n", "1,30", "--runs", "8"]):
        main(["search", *args, "--store", str(store_dir), "--no-write"])
        printed = capsys.readouterr().out
        assert f"runs of {args[0]} on nb201" in printed and "fitness: cifar10-valid:x-valid:12" in printed
        body = printed.splitlines()[2].split()
        assert body[0] == args[0]
    assert Store(str(store_dir)).load("searches").num_rows == before  # --no-write


def _fails_with_one_line(args: list[str], capsys: pytest.CaptureFixture) -> str:
    with pytest.raises(SystemExit) as exit_info:
        main(args)
    assert exit_info.value.code == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and err.startswith("error: ")
    return err


def test_bad_input_is_one_line(store_dir: Path, capsys: pytest.CaptureFixture) -> None:
    store = ["--store", str(store_dir)]
    err = _fails_with_one_line(["search", "nosuch", *store], capsys)
    assert "unknown search algorithm 'nosuch'; valid choices: area, naswot, random, rea" in err
    assert "14,900 of 15,625 nb201 architectures have no stored naswot score" in _fails_with_one_line(
        ["search", "naswot", *store], capsys)
    assert "--budget-seconds cannot be charged" in _fails_with_one_line(
        ["search", "rea", "--budget-seconds", "12000", *store], capsys)
    assert "cannot be combined" in _fails_with_one_line(
        ["search", "rea", "--budget-seconds", "12000", "--budget-queries", "5", *store], capsys)
    assert "malformed --n list 'ten'" in _fails_with_one_line(["search", "naswot", "--n", "ten", *store], capsys)
    assert "malformed --param 'tau'" in _fails_with_one_line(["search", "rea", "--param", "tau", *store], capsys)
