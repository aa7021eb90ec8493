"""Plugins: entry points of installed distributions and ``--plugin`` modules register spaces and metrics.

The distributions here are real ones as far as Python is concerned: a package directory plus a
``.dist-info`` folder with ``METADATA`` and ``entry_points.txt`` on ``sys.path`` (what ``pip install``
leaves behind), found through ``importlib.metadata`` like any installed package.
"""

from __future__ import annotations

import sys
import textwrap

import pytest

from naswot_ray import plugins
from naswot_ray.errors import InputError
from naswot_ray.metrics import METRICS, get_metric
from naswot_ray.spaces import SPACES, get_space
from naswot_ray.store import Store
from tests.cliutil import run_inprocess
from tests.pluginutil import PLUGIN_SOURCE, make_distribution

@pytest.fixture
def site(tmp_path):
    """A directory on sys.path; everything registered or imported from it is forgotten afterwards."""
    directory = tmp_path / "site"
    directory.mkdir()
    SPACES.load(), METRICS.load()
    spaces_before, metrics_before = set(SPACES.registered()), set(METRICS.registered())
    modules_before = set(sys.modules)
    sys.path.insert(0, str(directory))
    yield directory
    sys.path.remove(str(directory))
    for name in set(SPACES.registered()) - spaces_before:
        SPACES.remove(name)
    for name in set(METRICS.registered()) - metrics_before:
        METRICS.remove(name)
    for name in set(sys.modules) - modules_before:
        if (getattr(sys.modules[name], "__file__", None) or "").startswith(str(tmp_path)):
            del sys.modules[name]
    plugins._failures.clear()


def test_entry_points_register_a_space_and_a_metric_with_their_origin(site) -> None:
    make_distribution(site, "tiny_plugin", """
        [naswot_ray.spaces]
        tiny_space = tiny_plugin:TinySpace
        [naswot_ray.metrics]
        tiny_metric = tiny_plugin:Depth
        """, PLUGIN_SOURCE.format(space="tiny_space", metric="tiny_metric"))
    plugins.rescan()
    space = get_space("tiny_space")
    assert space.arch(2) == "w24" and space.index("w24") == 2
    assert get_metric("tiny_metric").name == "tiny_metric"
    assert SPACES.origin("tiny_space") == "entry point of tiny-plugin 0.1"
    assert METRICS.origin("tiny_metric") == "entry point of tiny-plugin 0.1"
    assert SPACES.origin("nb201") == "built in"


def test_an_entry_point_may_name_a_module_that_registers_itself(site) -> None:
    source = PLUGIN_SOURCE.format(space="self_space", metric="self_metric") + textwrap.dedent('''
        nr.register_space("self_space")(TinySpace)
        ''')
    make_distribution(site, "self_plugin", """
        [naswot_ray.spaces]
        self_space = self_plugin
        """, source)
    plugins.rescan()
    assert get_space("self_space").size == 4
    assert SPACES.origin("self_space") == "entry point of self-plugin 0.1"


def test_a_broken_entry_point_is_named_not_fatal(site, capsys) -> None:
    make_distribution(site, "broken_plugin", """
        [naswot_ray.spaces]
        broken_space = broken_plugin:Missing
        """, "raise RuntimeError('this plugin is broken\\nsecond line')")
    plugins.rescan()
    assert get_space("nb201").name == "nb201"  # the rest still works
    with pytest.raises(InputError) as info:
        get_space("broken_space")
    message = str(info.value)
    assert "\n" not in message
    assert "unknown space 'broken_space'" in message
    assert ("plugin 'broken_space' (entry point of broken-plugin 0.1) failed to import: RuntimeError: this plugin is "
            "broken") in message
    code, out, err = run_inprocess(capsys, "spaces")
    assert code == 0 and "broken_space" not in out
    assert err.strip() == ("warning: plugin 'broken_space' (entry point of broken-plugin 0.1) failed to import: "
                           "RuntimeError: this plugin is broken")


def test_an_entry_point_to_a_module_that_registers_nothing_is_a_failure(site) -> None:
    make_distribution(site, "empty_plugin", """
        [naswot_ray.metrics]
        ghost = empty_plugin
        """, "")
    plugins.rescan()
    assert [f.line() for f in plugins.failures("metric")] == [
        "plugin 'ghost' (entry point of empty-plugin 0.1) failed to import: LookupError: module empty_plugin "
        "registers no metric named 'ghost'"]


def test_plugin_modules_load_and_say_where_they_come_from(site, capsys) -> None:
    (site / "my_plugin.py").write_text(PLUGIN_SOURCE.format(space="mod_space", metric="mod_metric") + textwrap.dedent('''
        nr.register_space("mod_space")(TinySpace)
        nr.register_metric("mod_metric")(Depth)
        '''))
    code, out, err = run_inprocess(capsys, "spaces", "--plugin", "my_plugin")
    assert code == 0, err
    assert "mod_space: 4 architectures. test plugin space [from plugin module my_plugin]" in out.splitlines()
    code, out, _ = run_inprocess(capsys, "metrics", "--plugin", "my_plugin")
    assert "mod_metric: test plugin metric: number of modules (higher is better). [from plugin module my_plugin]" in out


@pytest.mark.parametrize("source, error", [
    (None, "plugin 'no_such_plugin' failed to import: ModuleNotFoundError: No module named 'no_such_plugin'"),
    ("raise ValueError('bad config\\nmore')", "plugin 'no_such_plugin' failed to import: ValueError: bad config"),
])
def test_a_plugin_module_that_fails_to_import_is_one_line(site, source, error) -> None:
    if source is not None:
        (site / "no_such_plugin.py").write_text(source)
    with pytest.raises(InputError) as info:
        plugins.load(["no_such_plugin"])
    assert str(info.value) == error


def test_unimportable_plugin_on_the_command_line_exits_2_and_writes_nothing(tmp_path, capsys) -> None:
    store = tmp_path / "store"
    code, out, err = run_inprocess(capsys, "score-all", "--plugin", "no_such_plugin", "--store", str(store))
    assert code == 2 and not out
    assert err.strip() == "error: plugin 'no_such_plugin' failed to import: ModuleNotFoundError: No module named 'no_such_plugin'"
    assert not store.exists()


def test_registering_the_same_class_again_replaces_it_another_one_is_refused(site) -> None:
    (site / "twice.py").write_text(PLUGIN_SOURCE.format(space="twice_space", metric="twice_metric"))
    import twice

    SPACES.add("twice_space", twice.TinySpace)
    SPACES.add("twice_space", twice.TinySpace)  # a notebook cell run again
    assert get_space("twice_space").size == 4

    class Other(twice.TinySpace):
        pass

    with pytest.raises(ValueError, match="space 'twice_space' registered twice"):
        SPACES.add("twice_space", Other)
    with pytest.raises(ValueError, match=r"space 'nb201' registered twice \(already from built in\)"):
        SPACES.add("nb201", twice.TinySpace)


@pytest.mark.ray
def test_a_plugin_metric_is_scored_by_score_all_and_analysed(tmp_path, capsys) -> None:
    """A --plugin module's metric on NB201 cells: scored on Ray (the workers import the module too), then
    correlated with the official accuracies by analyze, which reads the metric's direction from the plugin."""
    import pandas as pd

    from tests.conftest import shared_path
    from tests.pluginutil import ray_on_path, write_plugin_module

    merged = pd.read_csv(shared_path("nb201-merged-200ep/nb201_merged_200ep.csv"))
    (tmp_path / "mods").mkdir()
    write_plugin_module(tmp_path / "mods", "analysed_plugin", space="analysed_space", metric="module_count")
    store = tmp_path / "store"
    subset = tmp_path / "acc.csv"
    merged[merged["index"] < 12].to_csv(subset, index=False)
    try:
        with ray_on_path(tmp_path / "mods"):
            code, _out, err = run_inprocess(capsys, "score-all", "--plugin", "analysed_plugin", "--space", "nb201",
                                            "--metrics", "module_count,params", "--indices", "0-11", "--dataset", "random",
                                            "--batch-size", "4", "--num-workers", "2", "--store", str(store),
                                            "--no-progress")
        assert code == 0, err
        rows = Store(str(store)).read("scores").to_pylist()
        assert len([r for r in rows if r["metric"] == "module_count" and r["status"] == "ok"]) == 12
        code, _out, err = run_inprocess(capsys, "import-benchmark", "nb201", "--format", "csv", "--source", str(subset),
                                        "--column", "cifar10valid_oritest=cifar10-valid:ori-test:200", "--store",
                                        str(store))
        assert code == 0, err
        code, out, err = run_inprocess(capsys, "analyze", "--store", str(store), "--metrics", "module_count",
                                       "--ci", "none", "--no-plots")
        assert code == 0, err
        (line,) = [line for line in out.splitlines() if line.startswith("nb201") and "module_count" in line]
        assert line.split()[:7] == ["nb201", "module_count", "cifar10-valid", "ori-test", "200", "all", "12"]
    finally:
        SPACES.remove("analysed_space"), METRICS.remove("module_count")
        sys.modules.pop("analysed_plugin", None)
