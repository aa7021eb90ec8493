"""``import-benchmark`` + ``analyze`` from the command line, on the shared NB201 table and real NASWOT scores.

The real scores are NASLib's precomputed ``nwot`` (NASWOT) values for 725 NB201 cells
(../shared/data/naslib-zc-subsets), so the check runs in seconds without scoring networks.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from naswot_ray.cli.main import main
from naswot_ray.spaces import get_space
from naswot_ray.store import Store
from tests.analysis.score_rows import write_scores
from tests.conftest import shared_path

MERGED = "nb201-merged-200ep/nb201_merged_200ep.csv"
IMPORT_ARGS = ["--format", "csv", "--column", "cifar10valid_oritest=cifar10-valid:ori-test:200",
               "--column", "cifar10valid_xvalid=cifar10-valid:x-valid:200", "--column", "cifar10_oritest=cifar10:ori-test:200",
               "--column", "cifar100_xtest=cifar100:x-test:200", "--column", "imagenet16_xvalid=ImageNet16-120:x-valid:200",
               "--column", "imagenet16_xtest=ImageNet16-120:x-test:200",
               "--params-column", "params_M_cifar10", "--params-scale", "1e6"]
NASLIB_OPS = ["skip_connect", "none", "nor_conv_3x3", "nor_conv_1x1", "avg_pool_3x3"]


def _naslib_cell(key: str) -> str:
    e12, e13, e14, e23, e24, e34 = (NASLIB_OPS[int(k)] for k in key.strip("()").split(","))
    return f"|{e12}~0|+|{e13}~0|{e23}~1|+|{e14}~0|{e24}~1|{e34}~2|"


@pytest.fixture(scope="module")
def real_store(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, pd.DataFrame]:
    csv = shared_path(MERGED)
    naslib = shared_path("naslib-zc-subsets/zc_nasbench201.json")
    root = tmp_path_factory.mktemp("cli") / "store"
    main(["import-benchmark", "nb201", "--source", str(csv), *IMPORT_ARGS, "--store", str(root)])
    space = get_space("nb201")
    entries = json.loads(naslib.read_text())["cifar10"]
    archs = [_naslib_cell(key) for key in entries]
    indices = [space.index(a) for a in archs]
    scores = [entry["nwot"]["score"] for entry in entries.values()]
    write_scores(Store(str(root)), space="nb201", indices=indices, archs=archs, values=scores,
                 dataset="naslib-nwot", batch_sha256="naslib")
    table = pd.read_csv(csv).set_index("index").loc[indices]
    table["score"] = scores
    return root, table


def _printed_tau(text: str, dataset: str, split: str, protocol: str) -> float:
    for line in text.splitlines():
        cells = line.split()
        if cells[:6] == ["nb201", "naswot", dataset, split, "200", protocol]:
            return float(cells[7])
    raise AssertionError(f"no {dataset} {split} {protocol} line in:\n{text}")


def test_import_stores_every_mapped_column(real_store) -> None:
    root, _ = real_store
    stored = Store(str(root)).read("accuracies")
    assert stored.num_rows == 6 * 15_625
    assert set(stored.column("dataset").to_pylist()) == {"cifar10-valid", "cifar10", "cifar100", "ImageNet16-120"}


def test_analyze_prints_scipys_tau(real_store, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    root, table = real_store
    out = tmp_path / "report"
    main(["analyze", "--store", str(root), "--metrics", "naswot", "--dataset", "cifar10-valid", "--protocol", "both",
          "--digits", "12", "--out", str(out)])
    printed = capsys.readouterr().out
    # protocol "all" keeps NASWOT's -inf scores (singular kernels), ranked lowest, as scipy ranks them
    assert np.isneginf(table["score"]).sum() > 0
    tau = _printed_tau(printed, "cifar10-valid", "ori-test", "all")
    expected = stats.kendalltau(table["cifar10valid_oritest"], table["score"]).statistic
    assert abs(tau - expected) < 1e-9
    finite = table[np.isfinite(table["score"])]
    assert abs(tau - stats.kendalltau(finite["cifar10valid_oritest"], finite["score"]).statistic) > 1e-4  # not dropped
    xvalid = _printed_tau(printed, "cifar10-valid", "x-valid", "all")
    assert abs(xvalid - stats.kendalltau(table["cifar10valid_xvalid"], table["score"]).statistic) < 1e-9
    # the paper protocol: acc > 15 %, scores != 0, no subsample below 1000 points, NaN dropped, -inf kept
    kept = table[(table["cifar10valid_oritest"] > 15) & (table["score"] != 0) & ~np.isnan(table["score"])]
    paper = _printed_tau(printed, "cifar10-valid", "ori-test", "paper")
    assert abs(paper - stats.kendalltau(kept["cifar10valid_oritest"], kept["score"]).statistic) < 1e-9
    assert 0.54 < paper < 0.61  # NASWOT's CIFAR-10 tau is 0.574 on its own 1000-cell sample
    csv = pd.read_csv(out / "correlations.csv")
    row = csv[(csv.split == "ori-test") & (csv.protocol == "all")].iloc[0]
    assert abs(row["kendall_tau"] - expected) < 1e-9 and row["n"] == len(table)
    assert row["kept_nonfinite"] == np.isneginf(table["score"]).sum()
    assert {"report.md", "report.html", "tau_all.png", "tau_paper.png", "scatter_nb201_naswot.png"} <= \
        {p.name for p in out.iterdir()}


def test_foundation_naswot_scores_when_given(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    """The issue's acceptance check on scores from ``naswot-ray score-all --space nb201 --limit 1000``.

    Scoring 1000 cells takes most of an hour on a small CPU machine, so the store is passed in:
    NASWOT_RAY_NB201_SCORES=<store of that command>; without it the test is skipped.
    """
    import os

    source = os.environ.get("NASWOT_RAY_NB201_SCORES")
    if not source:
        pytest.skip("set NASWOT_RAY_NB201_SCORES to a store scored by score-all --space nb201 --limit 1000")
    csv = shared_path(MERGED)
    root = tmp_path / "store"
    shutil.copytree(Path(source) / "scores", root / "scores")
    main(["import-benchmark", "nb201", "--source", str(csv), *IMPORT_ARGS, "--store", str(root)])
    main(["analyze", "--store", str(root), "--metrics", "naswot", "--dataset", "cifar10-valid", "--split", "ori-test",
          "--protocol", "both", "--digits", "12"])
    printed = capsys.readouterr().out
    scores = Store(str(root)).read("scores", "metric = 'naswot' AND status = 'ok'").to_pandas()
    accuracy = pd.read_csv(csv).set_index("index")["cifar10valid_oritest"]
    scores["acc"] = accuracy.loc[scores["arch_index"]].to_numpy()
    expected = stats.kendalltau(scores["acc"], scores["value"]).statistic  # -inf kept, ranked lowest
    assert abs(_printed_tau(printed, "cifar10-valid", "ori-test", "all") - expected) < 1e-9
    assert abs(_printed_tau(printed, "cifar10-valid", "ori-test", "paper") - 0.574) < 0.03


def _fails_with_one_line(args: list[str], capsys: pytest.CaptureFixture) -> str:
    with pytest.raises(SystemExit) as exit_info:
        main(args)
    assert exit_info.value.code == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: ") and "\n" not in err
    return err


def test_bad_input_is_one_line_and_changes_nothing(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    store = tmp_path / "store"
    bad = tmp_path / "broken.csv"
    bad.write_text("index,acc\n0,50\n1,abc\n")
    err = _fails_with_one_line(["import-benchmark", "nb201", "--source", str(bad), "--format", "csv",
                                "--column", "acc=cifar10:ori-test:200", "--store", str(store)], capsys)
    assert "broken.csv" in err and "expected a number" in err
    assert not (store / "accuracies").exists()
    err = _fails_with_one_line(["import-benchmark", "nb999", "--source", str(bad), "--store", str(store)], capsys)
    assert "unknown benchmark 'nb999'" in err
    err = _fails_with_one_line(["import-benchmark", "nb201", "--source", str(bad), "--format", "csv",
                                "--column", "acc", "--store", str(store)], capsys)
    assert "CSV_NAME=DATASET:SPLIT:EPOCHS" in err
    err = _fails_with_one_line(["analyze", "--store", str(tmp_path / "nowhere")], capsys)
    assert "does not exist" in err
    err = _fails_with_one_line(["analyze", "--store", str(store), "--protocol", "fig3"], capsys)
    assert "unknown protocol 'fig3'" in err


CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync",
                  "--hide-scrollbars", "--window-size=1200,1600"]


def test_html_report_renders_in_headless_chromium(real_store, tmp_path: Path) -> None:
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    if browser is None:
        pytest.skip("chromium not installed (apt-get install chromium); the HTML render check needs it")
    root, _ = real_store
    out = tmp_path / "report"
    main(["analyze", "--store", str(root), "--metrics", "naswot", "--dataset", "cifar10-valid", "--out", str(out)])
    shot = tmp_path / "shot.png"
    subprocess.run([browser, *CHROMIUM_FLAGS, f"--user-data-dir={tmp_path / 'profile'}", f"--screenshot={shot}",
                    (out / "report.html").as_uri()], check=True, capture_output=True, timeout=120)
    from matplotlib import image as mpimg

    pixels = mpimg.imread(shot)[..., :3]
    assert pixels.shape[:2] == (1600, 1200)
    dark = (pixels.mean(axis=2) < 0.5).mean()
    assert 0.005 < dark < 0.5  # text and plot pixels on a white page: rendered, not blank, not an error page
    assert re.search(r"kendall tau", (out / "report.html").read_text())
