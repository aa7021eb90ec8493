"""Space options through ``naswot-ray score-all`` and networks too large for memory, on a real local Ray.

``--nb101-stem``, ``--nb201-model``, ``--nds-data`` and ``--nds-compat`` must reach the networks that are scored and show up
in every row's ``space_options`` (so differently configured results never share keys); an option the
space does not have is a one-line error, exit 2, nothing written. An NDS record whose network cannot be
allocated becomes error rows carrying PyTorch's allocator message while the rest of the run is scored.
The CLI runs in this process (``cli.main.main``) and joins the module's Ray.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from naswot_ray.data import BatchSpec
from naswot_ray.engine.driver import run_score_all
from naswot_ray.engine.job import ScoreJob
from naswot_ray.spaces import get_space
from naswot_ray.spaces.nds.data import arch_key
from naswot_ray.store import Store
from tests.spaces.nds.records import RESNET_NET, record, write_json
from tests.cliutil import run_inprocess as run_cli

#: a width whose first convolution (3 -> 3W channels, 3x3) needs 324 W bytes: 3.2e17 for W = 1e15, beyond any
#: address space, so the allocation fails at once (never touches memory), whatever the overcommit policy
ABSURD_WIDTH = 10**15


def score_all(capsys, store: Path, *args: str) -> list[dict]:
    code, out, err = run_cli(capsys, "score-all", "--store", str(store), "--dataset", "random", "--batch-size", "4",
                             "--num-workers", "2", "--no-progress", "--no-dashboard", *args)
    assert code == 0, err
    assert "requested" in out
    return sorted(Store(str(store)).read("scores").to_pylist(), key=lambda r: (r["arch_index"], r["metric"]))


def small_darts_nets(count: int) -> list[dict]:
    """Sampled DARTS cells, shrunk to width 16 and depth 4 so they build and run in a blink."""
    space = get_space("nds_darts")
    return [json.loads(space.arch(i)) | {"width": 16, "depth": 4} for i in range(count)]


def test_nb101_stem_reaches_the_networks_and_the_rows(local_ray, tmp_path, capsys) -> None:
    rows = score_all(capsys, tmp_path / "s", "--space", "nb101", "--nb101-stem", "16", "--indices", "0,1",
                     "--metrics", "naswot,params")
    assert len(rows) == 4 and {r["status"] for r in rows} == {"ok"}
    # tests/conftest.py limits nb101 to V <= 5, which the options key records too
    assert {r["space_options"] for r in rows} == {"stem_channels=16,max_vertices=5"}
    narrow = get_space("nb101").with_options(stem_channels=16)
    for row in rows:
        if row["metric"] == "params":
            built = narrow.build(row["arch"], 10)
            default = get_space("nb101").build(row["arch"], 10)
            assert row["value"] == sum(p.numel() for p in built.parameters())
            assert row["value"] < sum(p.numel() for p in default.parameters())


def test_nb201_model_samsung_reaches_the_networks_and_the_rows(local_ray, tmp_path, capsys) -> None:
    rows = score_all(capsys, tmp_path / "s", "--space", "nb201", "--nb201-model", "samsung", "--indices", "0,1",
                     "--metrics", "params")
    assert len(rows) == 2 and {r["status"] for r in rows} == {"ok"}
    assert {r["space_options"] for r in rows} == {"model=samsung"}
    samsung = get_space("nb201").with_options(model="samsung")
    for row in rows:
        assert row["value"] == sum(p.numel() for p in samsung.build(row["arch"], 10).parameters())
        # a different network: each cell conv trades its BN's 2C affine parameters for C biases
        assert row["value"] != sum(p.numel() for p in get_space("nb201").build(row["arch"], 10).parameters())


def test_nds_data_scores_exactly_the_file_records(local_ray, tmp_path, capsys) -> None:
    nets = small_darts_nets(3)
    path = write_json(tmp_path / "DARTS.json", [record(net) for net in nets])
    rows = score_all(capsys, tmp_path / "s", "--space", "nds_darts", "--nds-data", str(path),
                     "--metrics", "naswot,params")
    assert [(r["arch_index"], r["metric"]) for r in rows] == [(i, m) for i in range(3) for m in ("naswot", "params")]
    assert {r["status"] for r in rows} == {"ok"}
    assert [r["arch"] for r in rows[::2]] == [arch_key(net) for net in nets]
    space = get_space("nds_darts").with_options(data_file=str(path))
    assert {r["space_options"] for r in rows} == {space.options_key()}
    assert space.options_key().startswith("data=DARTS.json:")


def test_nds_compat_naswot_builds_the_reference_variant(local_ray, tmp_path, capsys) -> None:
    path = write_json(tmp_path / "ResNet.json", [record(RESNET_NET)])
    rows = score_all(capsys, tmp_path / "s", "--space", "nds_resnet", "--nds-data", str(path), "--metrics", "params",
                     "--nds-compat", "naswot")
    # NASWOT's variant of the documented record (594,138 parameters as NDS built it; tests/spaces/test_nds_space.py)
    faithful = get_space("nds_resnet").with_options(data_file=str(path))
    assert sum(p.numel() for p in faithful.build(faithful.arch(0), 10).parameters()) == 594_138
    assert [r["value"] for r in rows] == [599_782]
    assert rows[0]["space_options"].startswith("compat=naswot;data=ResNet.json:")
    assert faithful.options_key().startswith("data=ResNet.json:") and rows[0]["space_options"] != faithful.options_key()


def test_nds_compat_naswot_turns_aux_records_into_error_rows(local_ray, tmp_path, capsys) -> None:
    plain, aux = small_darts_nets(2)
    path = write_json(tmp_path / "DARTS.json", [record(plain), record(aux | {"aux": True})])
    rows = score_all(capsys, tmp_path / "s", "--space", "nds_darts", "--nds-data", str(path), "--nds-compat", "naswot",
                     "--metrics", "naswot")
    assert [(r["arch_index"], r["status"]) for r in rows] == [(0, "ok"), (1, "error")]
    assert "compat=naswot" in rows[1]["error"]


@pytest.mark.parametrize("args, fragment", [
    (["--space", "nb201", "--nb101-stem", "16"], "--nb101-stem does not apply to space 'nb201'; it applies to: nb101"),
    (["--space", "nb101", "--nb201-model", "samsung"], "--nb201-model does not apply to space 'nb101'; it applies to: nb201"),
    (["--space", "nb201", "--nb201-model", "xautodl"], "bad value 'xautodl' for option 'model' of space 'nb201'; valid choices: nb201, samsung"),
    (["--space", "nb101", "--nds-compat", "naswot"], "--nds-compat does not apply to space 'nb101'; it applies to: nds_"),
    (["--space", "nats_sss", "--nds-data", "x.json"], "--nds-data does not apply to space 'nats_sss'"),
    (["--space", "nds_darts", "--nds-compat", "tf"], "bad value 'tf' for option 'compat' of space 'nds_darts'; valid choices: nds, naswot"),
    (["--space", "nds_darts", "--nds-data", "/nonexistent/DARTS.json"], "'/nonexistent/DARTS.json' not found"),
    (["--space", "nb101", "--nb101-stem", "0"], "bad value '0' for option 'stem_channels' of space 'nb101'; must be a positive integer"),
    (["--space", "nb201", "--space-option", "modle=samsung"], "space 'nb201' has no option 'modle'; valid options: model"),
    (["--space", "nb201", "--space-option", "model"], "malformed --space-option 'model'; expected KEY=VALUE"),
    (["--space", "nb101", "--space-option", "stem_channels=8", "--nb101-stem", "16"],
     "space option 'stem_channels' given twice with different values"),
    (["--space", "nb201", "--metric-option", "naswot.foo=1"], "metric 'naswot' has no option 'foo'; valid options: none"),
    (["--space", "nb201", "--metric-option", "params.x=1"], "--metric-option names metric 'params', which is not requested"),
    (["--space", "nb201", "--metric-option", "naswot=1"], "malformed --metric-option 'naswot=1'; expected METRIC.KEY=VALUE"),
    (["--space", "nb201", "--device", "tpu"], "unknown device 'tpu'; valid choices: cpu, cuda, cuda:N"),
])
def test_wrong_space_options_are_one_line_errors(tmp_path, capsys, args, fragment) -> None:
    store = tmp_path / "store"
    code, _out, err = run_cli(capsys, "score-all", "--store", str(store), "--dataset", "random", *args)
    lines = [line for line in err.splitlines() if line.strip()]
    assert code == 2 and len(lines) == 1, err
    assert fragment in lines[0]
    assert not store.exists()


def test_a_network_too_large_for_memory_is_an_error_row(local_ray, tmp_path) -> None:
    nets = small_darts_nets(3)
    huge = nets[0] | {"width": ABSURD_WIDTH}
    path = write_json(tmp_path / "DARTS.json", [record(nets[0]), record(huge), record(nets[1]), record(nets[2])])
    store = str(tmp_path / "s")
    job = ScoreJob(space="nds_darts", space_options={"data_file": str(path)}, metrics=["naswot", "params"],
                   batch=BatchSpec("random", batch_size=4, seed=1, image_size=32), store=store, num_workers=2,
                   chunk_size=1, progress=False, dashboard=False)
    summary = run_score_all(job)
    assert (summary.requested, summary.scored, summary.failed) == (4, 3, 1)
    rows = Store(store).read("scores").to_pylist()
    assert len(rows) == 8
    by_status = {(r["arch_index"], r["status"]) for r in rows}
    assert by_status == {(0, "ok"), (1, "error"), (2, "ok"), (3, "ok")}
    for row in rows:
        if row["arch_index"] == 1:
            assert "DefaultCPUAllocator: can't allocate memory" in row["error"], row["error"]
            assert row["error"].startswith("build failed: RuntimeError")
