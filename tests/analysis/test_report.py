"""The analysis end to end on synthetic stores: joins (index+arch, NB101 hash), variants, values, report files."""

from __future__ import annotations

import base64
import json
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from matplotlib import image as mpimg
from scipy import stats

from naswot_ray.analysis.join import Filters, load_joined
from naswot_ray.analysis.report import AnalysisOptions, analyze
from naswot_ray.analysis.tables import CSV_COLUMNS, format_terminal
from naswot_ray.accuracies import CsvOptions, parse_column_mapping
from naswot_ray.accuracies.importer import import_benchmark
from naswot_ray.errors import InputError
from naswot_ray.spaces import get_space
from naswot_ray.spaces.nds.data import arch_key
from naswot_ray.store import Store
from tests.analysis.score_rows import accuracy_store, write_scores
from tests.spaces.nds.records import AMOEBA_NET, record, write_json

N = 300


@pytest.fixture(scope="module")
def nb201_store(tmp_path_factory: pytest.TempPathFactory) -> tuple[Store, dict]:
    """NB201: accuracies for indices 0..N-1 (two columns), naswot in two modes and params, on N+20 indices."""
    root = tmp_path_factory.mktemp("nb201-analysis")
    space = get_space("nb201")
    rng = np.random.default_rng(7)
    acc_a = rng.uniform(10, 94, N)
    acc_b = np.clip(acc_a + rng.normal(scale=3, size=N), 0, 100)
    csv = root / "acc.csv"
    pd.DataFrame({"index": range(N), "arch_str": [space.arch(i) for i in range(N)], "a": acc_a, "b": acc_b}).to_csv(csv, index=False)
    store = Store(str(root / "store"))
    import_benchmark(store, "nb201", csv, fmt="csv", csv_options=CsvOptions(
        [parse_column_mapping("a=cifar10-valid:ori-test:200"), parse_column_mapping("b=cifar100:x-test:200")]))
    indices = list(range(N + 20))  # 20 scored architectures have no accuracy
    archs = [space.arch(i) for i in indices]
    reference = np.concatenate([acc_a + rng.normal(scale=15, size=N), rng.normal(size=20)])
    reference[3] = np.nan      # an error row
    reference[4] = -np.inf     # a singular kernel
    clean = reference + rng.normal(scale=5, size=N + 20)
    params = rng.uniform(size=N + 20)
    write_scores(store, space="nb201", indices=indices, archs=archs, values=reference, mode="reference")
    write_scores(store, space="nb201", indices=indices, archs=archs, values=clean, mode="clean")
    write_scores(store, space="nb201", indices=indices, archs=archs, values=params, metric="params", mode="default",
                 batch_sha256="none")
    return store, {"acc_a": acc_a, "acc_b": acc_b, "reference": reference[:N], "clean": clean[:N]}


def test_tau_equals_scipy_for_every_variant_and_column(nb201_store) -> None:
    store, data = nb201_store
    table = analyze(store, AnalysisOptions(protocols=("all",), ci="none")).table.frame
    assert set(table["metric"]) == {"naswot[reference]", "naswot[clean]", "params"}
    row = table[(table.metric == "naswot[reference]") & (table.dataset == "cifar10-valid")].iloc[0]
    keep = ~np.isnan(data["reference"])  # the error row drops; NASWOT's legal -inf stays, ranked lowest
    expected = stats.kendalltau(data["acc_a"][keep], data["reference"][keep]).statistic
    assert abs(row["kendall_tau"] - expected) < 1e-12
    assert abs(row["spearman_rho"] - stats.spearmanr(data["acc_a"][keep], data["reference"][keep]).statistic) < 1e-12
    assert (row["n"], row["dropped_nan"], row["dropped_inf"], row["kept_nonfinite"], row["unmatched"]) == (N - 1, 1, 0, 1, 20)
    clean = table[(table.metric == "naswot[clean]") & (table.dataset == "cifar100")].iloc[0]
    keep = ~np.isnan(data["clean"])
    assert abs(clean["kendall_tau"] - stats.kendalltau(data["acc_b"][keep], data["clean"][keep]).statistic) < 1e-12
    assert list(table.columns) == CSV_COLUMNS


def test_filters_and_empty_results(nb201_store) -> None:
    store, _ = nb201_store
    joined = load_joined(store, Filters(metrics=["params"], datasets=["cifar100"]))
    assert set(joined.rows["variant"]) == {"params"} and set(joined.rows["acc_dataset"]) == {"cifar100"}
    with pytest.raises(InputError, match="no scored architecture has an accuracy.*stored accuracies: nb201:cifar10"):
        load_joined(store, Filters(datasets=["ImageNet16-120"]))
    with pytest.raises(InputError, match="no scores match the filters"):
        load_joined(store, Filters(metrics=["synflow"]))


def test_report_files(tmp_path: Path, nb201_store) -> None:
    store, _ = nb201_store
    out = tmp_path / "report"
    result = analyze(store, AnalysisOptions(protocols=("all", "paper"), resamples=50), out)
    names = {p.name for p in result.files}
    assert {"correlations.csv", "report.md", "report.html", "tau_all.png", "tau_paper.png",
            "scatter_nb201_naswot-reference.png", "scatter_nb201_params.png"} <= names
    csv = pd.read_csv(out / "correlations.csv")
    assert len(csv) == 3 * 2 * 2 and set(csv["protocol"]) == {"all", "paper"}
    assert csv["kendall_ci_low"].notna().all() and (csv["kendall_ci_low"] <= csv["kendall_tau"]).all()
    for png in out.glob("*.png"):
        pixels = mpimg.imread(png)
        assert pixels.shape[0] > 300 and pixels.shape[1] > 500 and pixels[..., :3].std() > 0.05  # not blank
    html = (out / "report.html").read_text()
    embedded = re.findall(r'src="data:image/png;base64,([A-Za-z0-9+/=]+)"', html)
    assert len(embedded) == len(list(out.glob("*.png")))
    assert base64.b64decode(embedded[0])[:8] == b"\x89PNG\r\n\x1a\n"
    assert "<table>" in html and "naswot[clean]" in html
    markdown = (out / "report.md").read_text()
    assert "![tau_all](tau_all.png)" in markdown and "| nb201 | params |" in markdown
    lines = format_terminal(result.table.frame).splitlines()
    assert len(lines) == 2 + len(result.table.frame)
    starts = [m.start() for m in re.finditer(r"-+", lines[1])]
    assert len(starts) == 11
    for line in lines[2:]:  # every cell starts in its column: the two characters before each column are blank
        assert all(line[s - 2:s] == "  " for s in starts[1:]), line


def test_nds_join_needs_index_and_arch(tmp_path: Path) -> None:
    other = json.loads(json.dumps(AMOEBA_NET))
    other["width"] = 16
    path = write_json(tmp_path / "Amoeba.json", [record(AMOEBA_NET), record(other), record(AMOEBA_NET)])
    store = Store(str(tmp_path / "store"))
    import_benchmark(store, "nds_amoeba", path)
    archs = [arch_key(AMOEBA_NET), arch_key(AMOEBA_NET), arch_key(AMOEBA_NET)]  # index 1 scored a different net
    write_scores(store, space="nds_amoeba", indices=[0, 1, 2], archs=archs, values=[1.0, 2.0, 3.0])
    write_scores(store, space="nats_sss", indices=[0], archs=["8:8:8:8:8"], values=[1.0])
    joined = load_joined(store)
    assert sorted(joined.rows["arch_index"]) == [0, 2]
    assert joined.unjoined_spaces == ["nats_sss"]  # scored, but no accuracies imported for it


def test_nb101_joins_on_the_module_hash(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from naswot_ray.spaces.nb101.space import NB101Space

    monkeypatch.setenv("NASWOT_RAY_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("NASWOT_RAY_NB101_MAX_VERTICES", "4")
    space = NB101Space()
    monkeypatch.setattr("naswot_ray.analysis.join.get_space", lambda name: space)
    store = Store(str(tmp_path / "store"))
    export = {}
    for index in (2, 40, 77):
        cell = space.cell(space.arch(index))
        export[cell.module_hash()] = [{"module_adjacency": [list(r) for r in cell.matrix],
                                       "module_operations": list(cell.ops)},
                                      {"108": [{"final_test_accuracy": 0.5 + index / 200}]}]
    (tmp_path / "nb101.json").write_text(json.dumps(export))
    import_benchmark(store, "nb101", tmp_path / "nb101.json", space=space)
    archs = [space.arch(i) for i in (2, 40, 77, 5)]
    write_scores(store, space="nb101", indices=[2, 40, 77, 5], archs=archs, values=[3.0, 1.0, 2.0, 9.0])
    joined = load_joined(store)
    assert sorted(joined.rows["arch_index"]) == [2, 40, 77]
    assert sorted(joined.rows["accuracy"]) == pytest.approx([51.0, 70.0, 88.5])


def test_two_versions_of_a_metric_are_two_variants_never_one(tmp_path: Path) -> None:
    """Rows of an older metric version (or from before versions existed) are labelled apart and correlated apart."""
    space = get_space("nb201")
    rng = np.random.default_rng(3)
    acc = rng.uniform(10, 94, 50)
    store = accuracy_store(tmp_path, {"cifar10:ori-test:200": acc})
    archs = [space.arch(i) for i in range(50)]
    write_scores(store, space="nb201", indices=range(50), archs=archs, values=acc, metric_version=1)
    write_scores(store, space="nb201", indices=range(50), archs=archs, values=-acc, metric_version=0)
    table = analyze(store, AnalysisOptions(protocols=("all",), ci="none")).table.frame
    rho = dict(zip(table["metric"], table["spearman_rho"]))
    assert rho == {"naswot[v1]": pytest.approx(1.0), "naswot[v0]": pytest.approx(-1.0)}


def test_singular_kernels_rank_lowest_in_a_1000_cell_run(tmp_path: Path) -> None:
    """Issue 14 item 4: 9 of 1,000 NASWOT scores are -inf (singular kernels, on poor cells, as in a real run):
    analyze's tau is scipy's over all 1,000, not over the 991 finite ones; an error row is dropped and counted."""
    rng = np.random.default_rng(14)
    acc = rng.uniform(10, 94, 1001)
    scores = acc * 20 + rng.normal(scale=400, size=1001)
    poor = np.argsort(acc)[rng.choice(60, 9, replace=False)]
    scores[poor] = -np.inf
    scores[1000] = np.nan  # an error row
    store = accuracy_store(tmp_path, {"cifar10-valid:ori-test:200": acc})
    space = get_space("nb201")
    write_scores(store, space="nb201", indices=range(1001), archs=[space.arch(i) for i in range(1001)], values=scores)
    row = analyze(store, AnalysisOptions(protocols=("all",), ci="none")).table.frame.iloc[0]
    every = stats.kendalltau(acc[:1000], scores[:1000]).statistic
    finite = np.isfinite(scores)
    dropped = stats.kendalltau(acc[finite], scores[finite]).statistic
    assert row["kendall_tau"] == pytest.approx(every, abs=1e-12) and abs(every - dropped) > 1e-3
    assert (row["n"], row["kept_nonfinite"], row["dropped_nan"], row["dropped_inf"]) == (1000, 9, 1, 0)
