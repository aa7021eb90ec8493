"""``nr.load_scores`` and ``nr.correlations`` agree with ``export`` and ``analyze`` on the same store.

The store holds real numbers written directly: the official NB201 accuracies of 80 cells (imported from
../shared/data with ``import-benchmark``) and NASLib's precomputed NASWOT scores for them, plus a second
variant of the metric (mode ``clean``) so labels like ``naswot[clean]`` are exercised, and an error row.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import naswot_ray as nr
from naswot_ray.errors import InputError
from naswot_ray.spaces import get_space
from naswot_ray.store import Store
from tests.analysis.score_rows import write_scores
from tests.cliutil import run_inprocess
from tests.conftest import shared_path

NASLIB_OPS = ["skip_connect", "none", "nor_conv_3x3", "nor_conv_1x1", "avg_pool_3x3"]
CELLS = 80


def naslib_cell(key: str) -> str:
    e12, e13, e14, e23, e24, e34 = (NASLIB_OPS[int(k)] for k in key.strip("()").split(","))
    return f"|{e12}~0|+|{e13}~0|{e23}~1|+|{e14}~0|{e24}~1|{e34}~2|"


@pytest.fixture(scope="module")
def store(tmp_path_factory) -> tuple[Path, pd.DataFrame]:
    merged = pd.read_csv(shared_path("nb201-merged-200ep/nb201_merged_200ep.csv")).set_index("index")
    entries = list(json.loads(shared_path("naslib-zc-subsets/zc_nasbench201.json").read_text())["cifar10"].items())
    space = get_space("nb201")
    archs = [naslib_cell(key) for key, _ in entries[:CELLS]]
    indices = [space.index(a) for a in archs]
    naswot = np.array([entry["nwot"]["score"] for _, entry in entries[:CELLS]])
    root = tmp_path_factory.mktemp("results")
    subset = root / "accuracies.csv"
    merged.loc[indices].reset_index().to_csv(subset, index=False)
    root = root / "store"
    run_inprocess_plain("import-benchmark", "nb201", "--format", "csv", "--source", str(subset), "--store", str(root),
                        "--column", "cifar10valid_oritest=cifar10-valid:ori-test:200",
                        "--column", "cifar100_xtest=cifar100:x-test:200")
    the_store = Store(str(root))
    write_scores(the_store, space="nb201", indices=indices, archs=archs, values=naswot)
    clean = naswot - 85.0 + np.random.default_rng(0).normal(0, 3, CELLS)
    clean[5] = np.nan  # an error row
    write_scores(the_store, space="nb201", indices=indices, archs=archs, values=clean, mode="clean")
    truth = merged.loc[indices, ["cifar10valid_oritest", "cifar100_xtest"]].assign(naswot=naswot, clean=clean)
    return root, truth.sort_index()


def run_inprocess_plain(*args: str) -> None:
    from naswot_ray.cli.main import main

    try:
        main(list(args))
    except SystemExit as exc:
        assert not exc.code, args


def test_load_scores_is_export_in_wide_form(store, tmp_path, capsys) -> None:
    root, truth = store
    frame = nr.load_scores(str(root))
    assert list(frame.columns) == ["space", "arch_index", "arch", "naswot[clean]", "naswot[reference]"]
    assert len(frame) == CELLS and frame["arch_index"].is_monotonic_increasing
    output = tmp_path / "naswot.csv"
    code, _out, err = run_inprocess(capsys, "export", "--store", str(root), "--space", "nb201", "--format", "csv",
                                    "--output", str(output))
    assert code == 0, err
    exported = pd.read_csv(output)
    for mode, column in (("reference", "naswot[reference]"), ("clean", "naswot[clean]")):
        rows = exported[exported["mode"] == mode].set_index("arch_index")
        ours = frame.set_index("arch_index")[column]
        ok = rows["status"] == "ok"
        assert ours[ok.index[ok]].tolist() == rows.loc[ok, "value"].tolist()  # the same floats
        assert ours[ok.index[~ok]].isna().all()  # error rows read as NaN
    assert frame.set_index("arch_index")["naswot[reference]"].tolist() == truth["naswot"].tolist()


def test_with_accuracies_joins_the_imported_columns(store) -> None:
    root, truth = store
    frame = nr.load_scores(str(root), space="nb201", metrics=["naswot"], with_accuracies=True).set_index("arch_index")
    assert [c for c in frame.columns if c.startswith("acc:")] == ["acc:cifar10-valid:ori-test:200", "acc:cifar100:x-test:200"]
    assert np.allclose(frame["acc:cifar10-valid:ori-test:200"], truth["cifar10valid_oritest"], rtol=0, atol=1e-9)
    assert np.allclose(frame["acc:cifar100:x-test:200"], truth["cifar100_xtest"], rtol=0, atol=1e-9)


def test_correlations_is_the_table_analyze_writes(store, tmp_path, capsys) -> None:
    root, truth = store
    # --ci none: bootstrap intervals depend on the order DuckDB returns joined rows in (analysis branch's
    # reproducibility item), which differs from call to call even within one process
    table = nr.correlations(str(root), protocol="both", ci="none")
    code, out, err = run_inprocess(capsys, "analyze", "--store", str(root), "--protocol", "both", "--ci", "none",
                                   "--out", str(tmp_path / "report"), "--no-plots")
    assert code == 0, err
    written = pd.read_csv(tmp_path / "report" / "correlations.csv").astype({"subsampled_from": "Int64"})
    assert list(table.columns) == list(written.columns) and len(table) == len(written) == 8
    pd.testing.assert_frame_equal(table.reset_index(drop=True), written, check_dtype=False, rtol=1e-10)
    row = table[(table["metric"] == "naswot[reference]") & (table["dataset"] == "cifar10-valid")
                & (table["protocol"] == "all")].iloc[0]
    from scipy import stats

    tau = stats.kendalltau(truth["naswot"], truth["cifar10valid_oritest"]).statistic
    assert math.isclose(row["kendall_tau"], tau, rel_tol=1e-9)
    assert f"{row['kendall_tau']:.3f}" in out


def test_bad_requests_are_one_line(store, tmp_path) -> None:
    root, _ = store
    with pytest.raises(InputError, match=r"^no scores match \(spaces: nb201, metrics: synflow\); stored: nb201:naswot$"):
        nr.load_scores(str(root), space="nb201", metrics=["synflow"])
    with pytest.raises(InputError, match="does not exist"):
        nr.load_scores(str(tmp_path / "nothing"))
    write_scores(Store(str(tmp_path / "bare")), space="nb201", indices=[1], archs=["x"], values=[1.0])
    with pytest.raises(InputError, match="no accuracies in the store; run naswot-ray import-benchmark first"):
        nr.load_scores(str(tmp_path / "bare"), with_accuracies=True)
