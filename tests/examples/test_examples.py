"""The examples run, and the plugin package works the way a user installs it.

``examples/mobilenet_space`` is installed with ``pip install -e`` (into a temporary target when it is not
installed in this environment already, so the suite's other registry-wide tests do not see it), then:
it is listed by ``spaces``/``metrics``; ``score-all --limit 20`` scores it with two local Ray workers and
on a three-node ``ray.cluster_utils.Cluster``; its runs replay with ``rerun``. The same space defined only
in a script (run the way ``python script.py`` runs it) is scored through ``nr.score_space`` on Ray. The
three example scripts run with small settings.
"""

from __future__ import annotations

import importlib.metadata
import json
import os
import runpy
import site
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from naswot_ray import plugins
from naswot_ray.metrics import METRICS
from naswot_ray.spaces import SPACES
from naswot_ray.store import Store
from tests.cliutil import run_inprocess
from tests.pluginutil import ray_on_path

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples"
PACKAGE = EXAMPLES / "mobilenet_space"
DISTRIBUTION = "naswot-ray-mobilenet-space"
METRICS_USED = "naswot,synflow,params,unit_entropy"
SCORE = ["--space", "mobilenet_like", "--limit", "20", "--metrics", METRICS_USED, "--dataset", "random",
         "--batch-size", "8", "--no-progress", "--no-dashboard"]


def _pip_install_editable(target: Path) -> None:
    """``pip install -e examples/mobilenet_space`` into ``target``: offline with this environment's setuptools
    where it can build editable wheels, else in pip's isolated build environment."""
    base = [sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--disable-pip-version-check", "-e", str(PACKAGE),
            "--target", str(target)]
    for extra in (["--no-build-isolation"], []):
        done = subprocess.run(base + extra, capture_output=True, text=True, timeout=300)
        if done.returncode == 0:
            return
    raise AssertionError(f"pip install -e {PACKAGE} failed:\n{done.stdout}\n{done.stderr}")


@pytest.fixture(scope="module")
def example_package(tmp_path_factory):
    """The example package, installed editable; its entry points registered in this process, and importable
    by every Ray worker started while the fixture lives (workers inherit PYTHONPATH)."""
    try:
        importlib.metadata.distribution(DISTRIBUTION)
        yield  # installed in this environment already (e.g. by hand): use it as it is
        return
    except importlib.metadata.PackageNotFoundError:
        pass
    target = tmp_path_factory.mktemp("site")
    _pip_install_editable(target)
    previous = (list(sys.path), list(sys.meta_path), os.environ.get("PYTHONPATH"))
    site.addsitedir(str(target))  # processes the editable install's .pth, as site-packages would
    os.environ["PYTHONPATH"] = os.pathsep.join([str(target), str(PACKAGE)] + ([previous[2]] if previous[2] else []))
    plugins.rescan()
    try:
        yield
    finally:
        SPACES.remove("mobilenet_like"), METRICS.remove("unit_entropy")
        sys.path[:], sys.meta_path[:] = previous[0], previous[1]
        for name in [m for m in sys.modules if m == "mobilenet_space" or m.startswith("mobilenet_space.")]:
            del sys.modules[name]
        if previous[2] is None:
            os.environ.pop("PYTHONPATH", None)
        else:
            os.environ["PYTHONPATH"] = previous[2]


@pytest.fixture(scope="module")
def example_ray(example_package):
    """One local Ray for the module's runs (each run reuses it instead of starting its own); its workers
    inherit the PYTHONPATH that makes the example package importable."""
    with ray_on_path():
        yield


def rows(store: Path) -> list[dict]:
    return Store(str(store)).read("scores").to_pylist()


def check_scored(store: Path, out: str, scorers: int) -> list[dict]:
    """Every (architecture, metric) stored once and ok, by Ray scorer actors; all ``scorers`` of them started
    (each built from the job, so each imported the plugin) though which of them scored what is up to Ray."""
    stored = rows(store)
    assert len(stored) == 20 * 4 and {r["status"] for r in stored} == {"ok"}, {r["error"] for r in stored}
    assert {r["space"] for r in stored} == {"mobilenet_like"}
    assert {r["worker"].split("@")[0] for r in stored} <= {f"scorer-{i}" for i in range(scorers)}
    assert f"archs/s on {scorers} workers" in out
    return stored


def test_the_installed_package_is_listed_with_its_origin(example_package, capsys) -> None:
    code, out, err = run_inprocess(capsys, "spaces")
    assert code == 0, err
    (line,) = [line for line in out.splitlines() if line.startswith("mobilenet_like:")]
    assert line.startswith("mobilenet_like: 4,096 architectures. Example plugin: MobileNetV2-like")
    assert line.endswith("[from entry point of naswot-ray-mobilenet-space 0.1.0]")
    code, out, _ = run_inprocess(capsys, "metrics")
    assert any(line.startswith("unit_entropy: ") and line.endswith("[from entry point of naswot-ray-mobilenet-space 0.1.0]")
               for line in out.splitlines())
    code, out, _ = run_inprocess(capsys, "spaces", "--details", "mobilenet_like")
    assert "    option stem_channels (an integer, default 16): channels of the 3x3 stem convolution" in out.splitlines()


@pytest.mark.ray
def test_score_all_scores_it_with_two_local_workers_and_rerun_reproduces_it(example_ray, tmp_path, capsys) -> None:
    store = tmp_path / "store"
    code, out, err = run_inprocess(capsys, "score-all", *SCORE, "--num-workers", "2", "--store", str(store))
    assert code == 0, err
    stored = check_scored(store, out, scorers=2)
    (run_id,) = Store(str(store)).read("runs").column("run_id").to_pylist()
    code, out, err = run_inprocess(capsys, "rerun", run_id, "--store", str(store), "--into", str(tmp_path / "again"),
                                   "--no-progress", "--no-dashboard")
    assert code == 0, err
    assert {r["key"]: r["value"] for r in rows(tmp_path / "again")} == {r["key"]: r["value"] for r in stored}


@pytest.mark.ray
def test_the_space_defined_only_in_a_script_is_scored_through_score_space(example_ray, tmp_path, capsys) -> None:
    """The example's space source pasted into a script (nothing installed or importable by the workers),
    run as ``python script.py`` runs it: the class travels to the Ray workers by value."""
    script = tmp_path / "my_search.py"
    script.write_text((PACKAGE / "mobilenet_space" / "space.py").read_text() + f'''

class MyMobileNet(MobileNetLikeSpace):
    name = "my_mobilenet"


if __name__ == "__main__":
    import naswot_ray as nr

    summary = nr.score_space(MyMobileNet(), metrics=["naswot", "params"], limit=20, store={str(tmp_path / "store")!r},
                             dataset="random", batch_size=8, num_workers=2, dashboard=False)
    print("\\n".join(summary.lines()))
''')
    runpy.run_path(str(script), run_name="__main__")
    assert "archs/s on 2 workers" in capsys.readouterr().out
    stored = rows(tmp_path / "store")
    assert len(stored) == 40 and {r["status"] for r in stored} == {"ok"} and {r["space"] for r in stored} == {"my_mobilenet"}
    assert {r["worker"].split("@")[0] for r in stored} <= {"scorer-0", "scorer-1"}


@pytest.mark.ray
def test_example_a_scores_exports_and_compares_the_proxies(example_ray, tmp_path) -> None:
    module = runpy.run_path(str(PACKAGE / "score_and_compare.py"), run_name="example")
    agreement = module["main"](["--limit", "12", "--store", str(tmp_path / "store"), "--batch-size", "8"])
    assert list(agreement.columns) == ["naswot", "synflow", "params", "unit_entropy"]
    assert all(agreement.loc[m, m] == pytest.approx(1.0) for m in agreement.columns)
    exported = pd.read_csv(tmp_path / "store" / "mobilenet_like.csv")
    assert len(exported) == 12 * 4 and set(exported["metric"]) == set(agreement.columns)


def test_example_b_scores_torchvision_models(capsys) -> None:
    module = runpy.run_path(str(EXAMPLES / "score_torchvision.py"), run_name="example")
    results = module["main"](["--images", "8", "--side", "32", "--models", "resnet18,efficientnet_b0"])
    assert set(results["resnet18"]) == {"naswot", "synflow", "params"}
    assert set(results["efficientnet_b0"]) == {"synflow", "params"}  # no rectifiers: NASWOT refused
    out = capsys.readouterr().out
    assert "efficientnet_b0      naswot refused: naswot needs rectifier modules" in out


def test_example_c_plots_a_store_against_accuracy(tmp_path, monkeypatch, capsys) -> None:
    """The notebook-style script on a tiny store written directly: NASLib's NASWOT scores of 60 NB201 cells
    and their official accuracies."""
    from naswot_ray.spaces import get_space
    from tests.analysis.score_rows import write_scores
    from tests.api.test_results import naslib_cell
    from tests.conftest import shared_path

    merged = pd.read_csv(shared_path("nb201-merged-200ep/nb201_merged_200ep.csv")).set_index("index")
    entries = list(json.loads(shared_path("naslib-zc-subsets/zc_nasbench201.json").read_text())["cifar10"].items())[:60]
    archs = [naslib_cell(key) for key, _ in entries]
    indices = [get_space("nb201").index(a) for a in archs]
    store = tmp_path / "store"
    merged.loc[indices].reset_index().to_csv(tmp_path / "acc.csv", index=False)
    code, _out, err = run_inprocess(capsys, "import-benchmark", "nb201", "--format", "csv", "--source",
                                    str(tmp_path / "acc.csv"), "--store", str(store),
                                    "--column", "cifar10_oritest=cifar10:ori-test:200")
    assert code == 0, err
    write_scores(Store(str(store)), space="nb201", indices=indices, archs=archs,
                 values=[entry["nwot"]["score"] for _, entry in entries])
    monkeypatch.setattr(sys, "argv", ["store_to_pandas.py", "--store", str(store), "--out", str(tmp_path / "figures")])
    runpy.run_path(str(EXAMPLES / "store_to_pandas.py"), run_name="__main__")
    figure = tmp_path / "figures" / "nb201_naswot_vs_accuracy.png"
    assert figure.stat().st_size > 5_000 and figure.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_the_examples_are_all_covered() -> None:
    scripts = sorted(p.relative_to(EXAMPLES).as_posix() for p in EXAMPLES.rglob("*.py")
                     if "mobilenet_space/mobilenet_space" not in p.as_posix())
    assert scripts == ["mobilenet_space/score_and_compare.py", "score_torchvision.py", "store_to_pandas.py"]


@pytest.mark.ray
def test_score_all_scores_it_on_a_three_node_cluster(example_package, tmp_path, capsys) -> None:
    """Last in this module: it stops the module's local Ray to start a cluster of its own."""
    import ray
    from ray.cluster_utils import Cluster

    if ray.is_initialized():
        ray.shutdown()
    node = dict(num_cpus=1, object_store_memory=80 * 1024 * 1024)
    cluster = Cluster(initialize_head=True, head_node_args=dict(node, include_dashboard=False))
    try:
        for _ in range(2):
            cluster.add_node(**node)
        cluster.wait_for_nodes()
        code, out, err = run_inprocess(capsys, "score-all", *SCORE, "--num-workers", "3", "--address", cluster.address,
                                       "--store", str(tmp_path / "store"))
        assert code == 0, err
        check_scored(tmp_path / "store", out, scorers=3)  # three 1-CPU scorers on three 1-CPU nodes: one per node
    finally:
        if ray.is_initialized():
            ray.shutdown()
        cluster.shutdown()
