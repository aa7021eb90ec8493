"""scripts/ensemble_tables.py on a tiny store written directly (the 1,000-cell run is a measurement, not a test)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from naswot_ray.spaces import get_space
from naswot_ray.store import Store
from tests.analysis.score_rows import accuracy_store, write_scores

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "ensemble_tables.py"
N = 120


def _load_script():
    spec = importlib.util.spec_from_file_location("ensemble_tables", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)  # type: ignore[union-attr]
    return module


def test_the_tables_script_on_two_stores(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    space = get_space("nb201")
    rng = np.random.default_rng(5)
    acc = rng.uniform(40, 94, N)
    new = accuracy_store(tmp_path, {"cifar10:ori-test:200": acc, "cifar100:x-test:200": acc - 20 + rng.normal(size=N),
                                    "ImageNet16-120:x-test:200": acc / 2 + rng.normal(size=N)}, name="new")
    old = Store(str(tmp_path / "old"))
    archs = [space.arch(i) for i in range(N)]
    for name in ("az_expressivity", "az_progressivity", "az_trainability", "az_complexity", "vkdnw", "vkdnw_jacov",
                 "flops"):
        write_scores(new, space="nb201", indices=range(N), archs=archs, values=acc + rng.normal(scale=15, size=N),
                     metric=name, mode="default")
    write_scores(new, space="nb201", indices=range(N), archs=archs, values=np.round(acc / 10), metric="vkdnw_aleph",
                 mode="default")
    naswot = acc + rng.normal(scale=10, size=N)
    naswot[0] = -np.inf
    write_scores(old, space="nb201", indices=range(N), archs=archs, values=naswot)
    out = tmp_path / "tables"
    _load_script().main(["--store", new.root, "--store", old.root, "--out", str(out), "--top", "2", "--runs", "5"])
    printed = capsys.readouterr().out
    proxies = pd.read_csv(out / "proxies.csv")
    assert {"naswot", "vkdnw_aleph", "az_trainability"} <= set(proxies.proxy) and (proxies["C10 n"] == N).all()
    held = pd.read_csv(out / "ensembles_held_out.csv")
    assert {"searched #1", "searched #2", "best single proxy", "vkdnw_agg", "az_nas", "vkdnw_single"} <= set(held.ensemble)
    assert (held.n_same == N // 2).all()  # the held-out half, the same cells for every ensemble
    first = held[held.ensemble == "searched #1"]
    assert (first.first_minus == 0).all() and (first.first_minus_lo == 0).all()  # against itself: no margin
    others = held[held.ensemble != "searched #1"]
    assert others.first_minus.notna().all() and (others.first_minus_lo <= others.first_minus).all()
    assert (others.first_minus <= others.first_minus_hi).all()
    rows = pd.read_csv(out / "search_rows.csv")
    assert set(rows.N) == {10, 100} and (rows.pool == N).all() and set(rows.dataset) == {"cifar10", "cifar100",
                                                                                             "ImageNet16-120"}
    assert "## 2. Ensembles: chosen on 60 cells, reported on the other 60" in printed


def noisy_proxy_store(tmp_path: Path, *, seed: int, noise: dict[str, float]) -> Store:
    """A store with the three accuracies and one proxy per ``noise`` entry: accuracy plus Gaussian noise."""
    space = get_space("nb201")
    rng = np.random.default_rng(seed)
    acc = rng.uniform(40, 94, N)
    store = accuracy_store(tmp_path, {"cifar10:ori-test:200": acc, "cifar100:x-test:200": acc - 20,
                                      "ImageNet16-120:x-test:200": acc / 2}, name="s")
    archs = [space.arch(i) for i in range(N)]
    for name, scale in noise.items():
        write_scores(store, space="nb201", indices=range(N), archs=archs, values=acc + rng.normal(scale=scale, size=N),
                     metric=name, mode="default")
    return store


def test_leave_out_keeps_a_proxy_out_of_the_search_only(tmp_path: Path) -> None:
    # meco alone is near-perfect
    store = noisy_proxy_store(tmp_path, seed=6, noise={"meco": 1.0, "zico": 12.0, "epe_nas": 12.0})
    out = tmp_path / "tables"
    _load_script().main(["--store", store.root, "--out", str(out), "--top", "3", "--no-search", "--leave-out", "meco"])
    assert "meco" in set(pd.read_csv(out / "proxies.csv").proxy)  # table 1 still lists it
    chosen = pd.read_csv(out / "ensembles_chosen.csv")
    assert len(chosen) and not chosen.ensemble.str.contains("meco").any()
    assert "left out by --leave-out: meco" in (out / "report.md").read_text()
    with pytest.raises(SystemExit, match=r"^--leave-out: unknown metric 'mecco'; valid choices: .*meco"):
        _load_script().main(["--store", store.root, "--out", str(tmp_path / "t2"), "--no-search", "--leave-out", "mecco"])
    assert not (tmp_path / "t2").exists()  # checked before anything is written


def test_cells_restricts_every_table_and_a_bad_file_is_one_line(tmp_path: Path) -> None:
    store = noisy_proxy_store(tmp_path, seed=7, noise={"meco": 5.0, "zico": 12.0, "epe_nas": 12.0})
    (tmp_path / "cells.txt").write_text(",".join(str(i) for i in range(0, N, 2)))  # every other cell: N // 2
    out = tmp_path / "tables"
    _load_script().main(["--store", store.root, "--out", str(out), "--top", "2", "--no-search",
                         "--cells", str(tmp_path / "cells.txt")])
    assert (pd.read_csv(out / "proxies.csv")["C10 n"] == N // 2).all()
    held = pd.read_csv(out / "ensembles_held_out.csv")
    covered = held[held.n_same > 0]  # the published aggregates have no members in this store
    assert "searched #1" in set(covered.ensemble) and (covered.n_same == N // 4).all()
    assert f"only the {N // 2} cells of" in (out / "report.md").read_text()
    (tmp_path / "bad.txt").write_text("3,x,5")
    with pytest.raises(SystemExit, match=r"^--cells: cannot read architecture indices from .*bad\.txt"):
        _load_script().main(["--store", store.root, "--out", str(tmp_path / "t2"), "--cells", str(tmp_path / "bad.txt")])
    assert not (tmp_path / "t2").exists()
