"""``nr.score_space``: score-all from Python (same engine, same rows), spaces defined in the caller's own code,
and the one-line refusals that come before anything is written."""

from __future__ import annotations

import threading

import pytest
from torch import nn

import naswot_ray as nr
from naswot_ray.api.runs import UNREGISTERED
from naswot_ray.errors import InputError
from naswot_ray.store import Store
from tests.cliutil import run_inprocess
from tests.pluginutil import ray_on_path

COMMON = dict(metrics=["naswot", "params"], dataset="random", batch_size=8, seed=2, num_workers=2)


class LockedSpace(nr.SearchSpace):
    """A space holding a lock (a stand-in for an open file or a database handle): it cannot be pickled."""

    name = "locked"
    size = 2

    def __init__(self) -> None:
        self.lock = threading.Lock()

    def arch(self, index):
        return str(self.check_index(index))

    def index(self, arch):
        return int(arch)

    def mutate(self, arch, rng):
        return str(1 - int(arch))

    def build(self, arch, num_classes):
        return nn.Sequential(nn.Conv2d(3, 4, 3), nn.ReLU(), nn.Flatten(), nn.LazyLinear(num_classes))


@pytest.fixture(scope="module")
def ray_session(tmp_path_factory):
    with ray_on_path(tmp_path_factory.mktemp("runs")):
        yield


def scores(store) -> dict[str, float]:
    return {r["key"]: r["value"] for r in Store(str(store)).read("scores").to_pylist()}


@pytest.mark.ray
def test_score_space_stores_the_same_rows_as_score_all(ray_session, tmp_path, capsys) -> None:
    summary = nr.score_space("nb201", indices=[3, 17], store=str(tmp_path / "python"), **COMMON)
    assert (summary.requested, summary.scored, summary.failed) == (2, 2, 0)
    code, _out, err = run_inprocess(capsys, "score-all", "--space", "nb201", "--indices", "3,17", "--metrics",
                                    "naswot,params", "--dataset", "random", "--batch-size", "8", "--seed", "2",
                                    "--num-workers", "2", "--store", str(tmp_path / "cli"), "--no-progress")
    assert code == 0, err
    assert scores(tmp_path / "python") == scores(tmp_path / "cli") and len(scores(tmp_path / "cli")) == 4
    (run,) = Store(str(tmp_path / "python")).read("runs").to_pylist()
    assert run["command"] == "nr.score_space"


@pytest.mark.ray
def test_a_space_defined_in_the_callers_code_is_scored_on_ray_workers_and_cannot_be_rerun(ray_session, tmp_path,
                                                                                         capsys) -> None:
    class ScriptSpace(nr.SearchSpace):  # not importable by any worker: Ray ships the class by value
        name = "script_space"
        size = 6
        description = "a space that exists only in this test's code"

        def arch(self, index):
            return f"w{4 * (self.check_index(index) + 1)}"

        def index(self, arch):
            return int(arch[1:]) // 4 - 1

        def mutate(self, arch, rng):
            return self.arch((self.index(arch) + 1) % self.size)

        def build(self, arch, num_classes):
            width = int(arch[1:])
            return nn.Sequential(nn.Conv2d(3, width, 3), nn.BatchNorm2d(width), nn.ReLU(), nn.AdaptiveAvgPool2d(1),
                                 nn.Flatten(), nn.Linear(width, num_classes))

    store = tmp_path / "store"
    summary = nr.score_space(ScriptSpace(), limit=6, store=str(store), chunk_size=1, **COMMON)
    assert (summary.scored, summary.failed, summary.workers) == (6, 0, 2)
    rows = Store(str(store)).read("scores").to_pylist()
    assert len(rows) == 12 and {r["status"] for r in rows} == {"ok"} and {r["space"] for r in rows} == {"script_space"}
    # scored by the Ray scorer actors, both of which were built from the shipped object (summary.workers)
    assert {r["worker"].split("@")[0] for r in rows} <= {"scorer-0", "scorer-1"}
    (run,) = Store(str(store)).read("runs").to_pylist()
    assert run["command"].startswith(UNREGISTERED) and run["command"].endswith("ScriptSpace")
    before = sorted(p.name for p in store.rglob("*"))
    code, out, err = run_inprocess(capsys, "rerun", run["run_id"], "--store", str(store))
    assert code == 2 and not out and len(err.strip().splitlines()) == 1
    assert "scored space 'script_space', an object of class" in err and "cannot be replayed without that script" in err
    assert sorted(p.name for p in store.rglob("*")) == before


def test_an_unpicklable_space_object_is_one_line_and_writes_nothing(tmp_path) -> None:
    store = tmp_path / "store"
    with pytest.raises(InputError) as info:
        nr.score_space(LockedSpace(), limit=2, store=str(store), **COMMON)
    message = str(info.value)
    assert message.startswith("space 'locked' (LockedSpace) cannot be sent to the Ray workers: it does not pickle "
                              "(TypeError: cannot pickle '_thread.lock' object)")
    assert "\n" not in message and not store.exists()


def test_an_unpicklable_plugin_space_on_the_command_line_exits_2(tmp_path, capsys) -> None:
    (tmp_path / "locked_plugin.py").write_text(
        "from tests.api.test_runs import LockedSpace\nimport naswot_ray as nr\nnr.register_space('locked')(LockedSpace)\n")
    from naswot_ray.spaces import SPACES

    store = tmp_path / "store"
    import sys

    sys.path.insert(0, str(tmp_path))
    try:
        code, out, err = run_inprocess(capsys, "score-all", "--plugin", "locked_plugin", "--space", "locked",
                                       "--dataset", "random", "--store", str(store))
    finally:
        sys.path.remove(str(tmp_path))
        SPACES.remove("locked")
    assert code == 2 and not out and len(err.strip().splitlines()) == 1
    assert err.startswith("error: space 'locked' (LockedSpace) cannot be sent to the Ray workers")
    assert not store.exists()


@pytest.mark.parametrize("space, kwargs, message", [
    ("nb201", {"chunk": 4}, "score_space() has no setting 'chunk'; valid keywords: arch_timeout, bn_mode,"),
    ("nb999", {}, "unknown space 'nb999'; valid choices:"),
    (object(), {}, "space must be a registered name or a SearchSpace object, got object"),
    ("nb201", {"plugins": ["no_such_plugin"]}, "plugin 'no_such_plugin' failed to import: ModuleNotFoundError"),
    ("nb201", {"space_options": {"modle": "samsung"}}, "space 'nb201' has no option 'modle'; valid options: model"),
    ("nb201", {"metrics": "naswot,nope"}, "unknown metric 'nope'; valid choices:"),
    ("nb201", {"limit": 2, "indices": [1]}, "--limit and --indices cannot be combined; pick one"),
])
def test_bad_arguments_are_one_line_and_write_nothing(tmp_path, space, kwargs, message) -> None:
    store = tmp_path / "store"
    arguments = {"dataset": "random", "limit": 2, **kwargs}
    with pytest.raises(InputError) as info:
        nr.score_space(space, store=str(store), **arguments)
    assert str(info.value).startswith(message) and "\n" not in str(info.value)
    assert not store.exists()


def test_a_space_object_keeps_the_options_that_rebuild_it() -> None:
    from naswot_ray.api.runs import _resolve

    space, options, command = _resolve(nr.get_space("nb201", model="samsung"), {})
    assert options == {"model": "samsung"} and command == "nr.score_space" and space.options_key() == "model=samsung"
    assert _resolve("nb201", {"model": "samsung"})[1] == {"model": "samsung"}


def test_a_metric_the_workers_cannot_find_is_one_line(tmp_path) -> None:
    """Workers look metrics up by name: one registered only here (a script, an unlisted module) is refused."""
    from naswot_ray.metrics import METRICS

    class LocalMetric(nr.Metric):
        name = "local_metric"
        needs = nr.MetricNeeds(data=False)

        def score(self, model, batch, *, seed, mode, ctx):
            return 1.0

    METRICS.add("local_metric", LocalMetric)
    try:
        with pytest.raises(InputError) as info:
            nr.score_space("nb201", metrics=["naswot", "local_metric"], limit=2, dataset="random",
                           store=str(tmp_path / "store"))
        assert str(info.value) == ("metric 'local_metric' is registered by module tests.api.test_runs, which the Ray "
                                   "workers do not import; pass plugins=['tests.api.test_runs'] (or install it with an "
                                   "entry point; nr.score needs neither)")
        assert not (tmp_path / "store").exists()
        assert nr.score(nn.Sequential(nn.Conv2d(3, 2, 3), nn.ReLU()), __import__("torch").randn(4, 3, 8, 8),
                        metrics="local_metric") == {"local_metric": 1.0}
    finally:
        METRICS.remove("local_metric")
