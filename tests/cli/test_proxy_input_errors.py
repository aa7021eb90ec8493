"""Bad input to the issue-13 proxies: one line, exit code 2, nothing written (checked before Ray starts);
a proxy that needs labels on a batch without them is an error row with one line (the worker's rule)."""

from __future__ import annotations

import pytest

from tests.cliutil import run_inprocess


@pytest.mark.parametrize("args,fragment", [
    (["--metrics", "zico", "--mode", "bogus"], "unknown mode 'bogus' for metrics zico; valid choices: clean, reference"),
    (["--metrics", "az_nas", "--mode", "true_fisher"], "unknown mode 'true_fisher' for metrics az_expressivity"),
    (["--metrics", "zico", "--metric-option", "zico.foo=1"], "metric 'zico' has no option 'foo'; valid options: "
                                                             "batch_size, batches"),
    (["--metrics", "swap_reg", "--metric-option", "swap_reg.sigma=0"], "bad value '0' for option 'sigma'"),
    (["--metrics", "swap", "--metric-option", "swap.images=64"], "must be between 1 and 63"),
    (["--metrics", "zico", "--metric-option", "zico.batches=1"], "must be at least 2"),
    (["--metrics", "az_nas", "--metric-option", "az_nas.batch_size=1"], "bad value '1' for option 'batch_size' of "
                                                                        "metric 'az_expressivity'; must be at least 2 images"),
    (["--metrics", "zico", "--metric-option", "az_nas.batch_size=8"], "--metric-option names metric 'az_complexity', "
                                                                      "which is not requested"),
])
def test_bad_proxy_input_is_one_line_exit_2(tmp_path, capsys, args, fragment) -> None:
    store = tmp_path / "store"
    code, _out, err = run_inprocess(capsys, "score-all", "--store", str(store), "--dataset", "random", *args)
    assert code == 2, err
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1 and fragment in lines[0], err
    assert not store.exists()


def test_labels_missing_on_the_batch_is_an_error_row() -> None:
    from naswot_ray.data import BatchSpec, draw_batch
    from naswot_ray.data.base import Batch
    from naswot_ray.engine.job import ScoreJob
    from naswot_ray.engine.worker import ArchScorer

    job = ScoreJob(space="nb201", metrics=["zico", "plain", "l2_norm"], batch=BatchSpec("random", batch_size=4, seed=1,
                   image_size=8), store="unused", metric_options={"zico": {"batch_size": 2}, "plain": {"batch_size": 2}})
    job.validate()
    drawn = draw_batch(job.batch)
    rows = ArchScorer(job, Batch(drawn.x, None, drawn.provenance)).score_index(3)  # e.g. a Python caller's images
    by_metric = {r["metric"]: r for r in rows}
    for name in ("zico", "plain"):
        assert by_metric[name]["status"] == "error"
        assert f"metric {name!r} needs labels, and this batch" in by_metric[name]["error"]
        assert "\n" not in by_metric[name]["error"]
    assert by_metric["l2_norm"]["status"] == "ok"


def test_a_group_name_sets_an_option_on_every_member() -> None:
    from naswot_ray.cli.score import metric_options_from

    options = metric_options_from(["az_nas.batch_size=8", "zico.batches=3"])
    assert options == {"az_expressivity": {"batch_size": "8"}, "az_progressivity": {"batch_size": "8"},
                       "az_trainability": {"batch_size": "8"}, "az_complexity": {"batch_size": "8"},
                       "zico": {"batches": "3"}}
