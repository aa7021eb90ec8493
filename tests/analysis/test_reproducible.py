"""Same input, same answer (issue 15): analyze and search print the same tables and write the same CSVs
byte for byte from the same rows split into other part files under other names, with options reordered."""

from __future__ import annotations

import shutil
import uuid
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from naswot_ray.spaces import get_space
from naswot_ray.store import Store
from tests.analysis.score_rows import accuracy_store, write_scores
from tests.cliutil import run_inprocess

N = 1200  # above the paper protocol's 1000-point subsample, below the bootstrap's 3000-point limit


@pytest.fixture(scope="module")
def stores(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """Two stores with the same rows: one part file per metric, and the same rows re-split into 13 parts
    written in a shuffled order under random names (so every reader meets them in another order)."""
    root = tmp_path_factory.mktemp("reproducible")
    space = get_space("nb201")
    rng = np.random.default_rng(11)
    cells = np.sort(rng.choice(space.size, N, replace=False))
    archs = [space.arch(int(i)) for i in cells]
    acc10 = rng.uniform(10, 94, N)
    acc120 = np.clip(acc10 / 2 + rng.normal(scale=4, size=N), 0.5, 60)
    first = accuracy_store(root, {"cifar10:ori-test:200": acc10, "ImageNet16-120:x-test:200": acc120}, indices=cells,
                           name="first")
    naswot = acc10 + rng.normal(scale=15, size=N)
    naswot[:9] = -np.inf  # singular kernels, ranked lowest
    naswot[9:12] = np.nan  # error rows
    write_scores(first, space="nb201", indices=cells, archs=archs, values=naswot)
    write_scores(first, space="nb201", indices=cells, archs=archs, values=np.round(acc10 / 10 + rng.normal(size=N)),
                 metric="params", mode="default", batch_sha256="none")  # many ties
    second = Store(str(root / "second"))
    shutil.copytree(Path(first.root) / "accuracies", Path(second.root) / "accuracies")
    rows = first.load("scores")
    order = rng.permutation(rows.num_rows)
    chunks = np.array_split(order, 13)
    for chunk in chunks:
        second.write("scores", rows.take(pa.array(np.sort(chunk))))
    for path in Path(second.root, "scores").iterdir():  # new names, so the sorted listing is another order again
        path.rename(path.with_name(f"part-{uuid.uuid4().hex}.parquet"))
    return Path(first.root), Path(second.root)


def _analyze(capsys, store: Path, out: Path, *options: str) -> str:
    code, printed, err = run_inprocess(capsys, "analyze", "--store", str(store), "--protocol", "both", "--bootstrap",
                                       "40", "--no-plots", "--out", str(out), *options)
    assert code == 0, err
    kept = [line for line in printed.splitlines()
            if " correlations (" not in line and not line.startswith("wrote ")]  # timings and the folder aside
    return "\n".join(kept)


def test_analyze_is_a_function_of_the_rows_and_options_only(stores, tmp_path: Path, capsys) -> None:
    first, second = stores
    one = _analyze(capsys, first, tmp_path / "one", "--metrics", "naswot,params,ensemble:naswot+params",
                   "--dataset", "cifar10,ImageNet16-120", "--ensemble-target", "cifar10:ori-test:200")
    two = _analyze(capsys, second, tmp_path / "two", "--metrics", "ensemble:params+naswot,params,naswot",
                   "--dataset", "ImageNet16-120,cifar10", "--ensemble-target", "cifar10:ori-test:200")
    assert one == two
    assert (tmp_path / "one" / "correlations.csv").read_bytes() == (tmp_path / "two" / "correlations.csv").read_bytes()
    assert (tmp_path / "one" / "ensembles.csv").read_bytes() == (tmp_path / "two" / "ensembles.csv").read_bytes()
    table = pd.read_csv(tmp_path / "one" / "correlations.csv")
    paper = table[table.protocol == "paper"]
    assert (paper[paper.dataset == "cifar10"].subsampled_from > 1000).all()  # the seeded subsample picks by position
    assert (table.ci_method == "bootstrap").all()  # so does the bootstrap
    assert list(table.dataset.unique()) == ["cifar10", "ImageNet16-120"]  # case-insensitive order
    naswot = table[(table.metric == "naswot") & (table.protocol == "all")]
    assert (naswot.kept_nonfinite == 9).all() and (naswot.dropped_nan == 3).all()


def test_auto_ensembles_are_reproducible(stores, tmp_path: Path, capsys) -> None:
    first, second = stores
    one = _analyze(capsys, first, tmp_path / "one", "--ensembles", "auto:2",
                   "--ensemble-target", "cifar10:ori-test:200,ImageNet16-120:x-test:200")
    two = _analyze(capsys, second, tmp_path / "two", "--ensembles", "auto:2",
                   "--ensemble-target", "ImageNet16-120:x-test:200,cifar10:ori-test:200")
    assert one == two
    assert (tmp_path / "one" / "ensembles.csv").read_bytes() == (tmp_path / "two" / "ensembles.csv").read_bytes()


def test_search_is_a_function_of_the_rows_and_options_only(stores, tmp_path: Path, capsys) -> None:
    first, second = stores
    outputs = []
    for store, n in ((first, "10,100"), (second, "100,10")):
        out = tmp_path / f"{store.name}.csv"
        code, printed, err = run_inprocess(capsys, "search", "naswot", "--n", n, "--runs", "40", "--within-scored",
                                           "--store", str(store), "--no-write", "--output", str(out),
                                           "--fitness", "cifar10:ori-test:200")
        assert code == 0, err
        outputs.append(pd.read_csv(out).drop(columns=["median_wall_seconds"]).sort_values(["n", "dataset"]))
    pd.testing.assert_frame_equal(outputs[0].reset_index(drop=True), outputs[1].reset_index(drop=True))
