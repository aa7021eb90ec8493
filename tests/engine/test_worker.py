"""ArchScorer without Ray: rows, shared forward, error rows, the OOM retry rule."""

from __future__ import annotations

import math

import pytest
import torch

from naswot_ray.data import BatchSpec, draw_batch
from naswot_ray.engine.job import ScoreJob
from naswot_ray.engine.seeds import arch_seed
from naswot_ray.engine.worker import ArchScorer
from naswot_ray.metrics.base import Metric, MetricNeeds, MetricRequest
from naswot_ray.store import SCORES_SCHEMA


def _job(**kw) -> ScoreJob:
    spec = BatchSpec("random", batch_size=8, seed=1, image_size=16)
    return ScoreJob(space="nb201", metrics=kw.pop("metrics", ["naswot", "params"]), batch=spec, store="unused", **kw)


def _scorer(**kw) -> ArchScorer:
    job = _job(**kw)
    return ArchScorer(job, draw_batch(job.batch), worker="t", run_id="r")


def test_rows_have_the_record_columns_and_are_reproducible() -> None:
    scorer = _scorer()
    rows = scorer.score_indices([0, 9])
    assert len(rows) == 4
    assert set(rows[0]) == set(SCORES_SCHEMA.names)
    by = {(r["arch_index"], r["metric"]): r for r in rows}
    assert by[(0, "params")]["value"] == 129306.0  # NB201 index 0 at 10 classes: 0.129306 M
    assert by[(0, "params")]["batch_sha256"] == "none:3x16x16"  # data-free metrics key on the input shape
    assert by[(0, "naswot")]["mode"] == "reference"
    assert by[(0, "naswot")]["arch_seed"] == arch_seed(1, 0)
    again = _scorer().score_indices([9])
    assert again[0]["value"] == by[(9, "naswot")]["value"]  # same seed, same init, same batch
    assert again[0]["key"] == by[(9, "naswot")]["key"]


def test_order_does_not_change_values() -> None:
    a = {r["arch_index"]: r["value"] for r in _scorer(metrics=["naswot"]).score_indices([3, 5])}
    b = {r["arch_index"]: r["value"] for r in _scorer(metrics=["naswot"]).score_indices([5, 3])}
    assert a == b


class _Flaky(Metric):
    name = "naswot"  # stand-in: reuses a registered name so rows build normally
    needs = MetricNeeds(data=True)

    def __init__(self, failures: int, exc: type[BaseException], message: str = "CUDA out of memory. Tried to allocate 2 GiB") -> None:
        self.failures, self.exc, self.message, self.calls = failures, exc, message, 0

    def score(self, model, batch, *, seed, mode, ctx) -> float:
        self.calls += 1
        if self.calls <= self.failures:
            raise self.exc(self.message)
        return 1.5


def test_out_of_memory_is_retried_once_alone() -> None:
    scorer = _scorer(metrics=["naswot"])
    flaky = _Flaky(1, torch.cuda.OutOfMemoryError)
    scorer.requests = [MetricRequest(flaky, "reference")]
    rows = scorer.score_indices([4])
    assert flaky.calls == 2 and rows[0]["status"] == "ok" and rows[0]["value"] == 1.5


def test_out_of_memory_twice_is_an_error_row() -> None:
    scorer = _scorer(metrics=["naswot"])
    scorer.requests = [MetricRequest(_Flaky(5, torch.cuda.OutOfMemoryError), "reference")]
    rows = scorer.score_indices([4, 5])
    assert [r["status"] for r in rows] == ["error", "error"]
    assert "out of memory twice" in rows[0]["error"] and math.isnan(rows[0]["value"])


def test_metric_exception_is_an_error_row_and_the_run_goes_on() -> None:
    scorer = _scorer(metrics=["naswot", "params"])
    scorer.requests = [MetricRequest(_Flaky(1, RuntimeError, "shape mismatch"), "reference"), scorer.requests[1]]
    rows = scorer.score_indices([1, 2])
    statuses = [(r["arch_index"], r["metric"], r["status"]) for r in rows]
    assert (1, "naswot", "error") in statuses and (2, "naswot", "ok") in statuses
    assert (1, "params", "ok") in statuses


def test_build_failure_gives_error_rows_for_every_metric() -> None:
    scorer = _scorer()
    space = scorer.space

    class Broken(type(space)):
        def build(self, arch, num_classes):
            raise ValueError("groups must be a positive integer")

    scorer.space = Broken()
    rows = scorer.score_indices([7])
    assert {r["metric"] for r in rows} == {"naswot", "params"}
    assert all(r["status"] == "error" and "build failed" in r["error"] for r in rows)


@pytest.mark.parametrize("bn_mode", ["train", "eval"])
def test_bn_mode_is_applied_and_recorded(bn_mode) -> None:
    rows = _scorer(metrics=["naswot"], bn_mode=bn_mode).score_indices([0])
    assert rows[0]["bn_mode"] == bn_mode


class _Slow(Metric):
    name = "naswot"
    needs = MetricNeeds(data=True)

    def score(self, model, batch, *, seed, mode, ctx) -> float:
        import time as _time

        deadline = _time.monotonic() + 30
        while _time.monotonic() < deadline:  # a Python-level loop: the alarm interrupts it
            torch.ones(4).sum()
        return 0.0


def test_architecture_over_the_time_limit_is_an_error_row_and_the_next_one_runs() -> None:
    import time as _time

    scorer = _scorer(metrics=["naswot"], arch_timeout=0.5)
    slow, fast = _Slow(), scorer.requests[0].metric
    scorer.requests = [MetricRequest(slow, "reference")]
    t0 = _time.monotonic()
    rows = scorer.score_indices([3])
    assert _time.monotonic() - t0 < 10
    assert rows[0]["status"] == "error" and "time limit of 0.5 s" in rows[0]["error"]
    scorer.requests = [MetricRequest(fast, "reference")]
    assert scorer.score_indices([4])[0]["status"] == "ok"  # the alarm is disarmed afterwards


class _Constant(Metric):
    name = "naswot"
    needs = MetricNeeds(data=True)
    legal_nonfinite = frozenset({"-inf"})

    def __init__(self, value: float) -> None:
        self.value = value

    def score(self, model, batch, *, seed, mode, ctx) -> float:
        return self.value


@pytest.mark.parametrize("value, status", [(float("-inf"), "ok"), (float("nan"), "error"), (float("inf"), "error")])
def test_only_declared_non_finite_values_are_stored_as_ok(value, status) -> None:
    scorer = _scorer(metrics=["naswot"])
    scorer.requests = [MetricRequest(_Constant(value), "reference")]
    row = scorer.score_indices([2])[0]
    assert row["status"] == status
    if status == "error":
        assert "not part of naswot's definition" in row["error"] and math.isnan(row["value"])
    else:
        assert row["value"] == value


def test_identity_names_version_device_class_and_memory_format() -> None:
    rows = {r["metric"]: r for r in _scorer(metrics=["naswot", "params"]).score_indices([0])}
    naswot, params = rows["naswot"], rows["params"]
    assert naswot["metric_version"] == 1 and naswot["device_class"] == "cpu"
    assert naswot["memory_format"] == "channels_last"
    # exact counts are the same on every device and memory format, so they say "any"
    assert params["device_class"] == "any" and params["memory_format"] == "any"
    nchw = {r["metric"]: r for r in _scorer(metrics=["naswot", "params"], channels_last=False).score_indices([0])}
    assert nchw["naswot"]["key"] != naswot["key"] and nchw["params"]["key"] == params["key"]


def test_row_keys_equal_the_identity_digest_the_planner_computes() -> None:
    from naswot_ray.engine.worker import score_identity

    scorer = _scorer(metrics=["naswot", "params"])
    for row in scorer.score_indices([3, 11]):
        request = next(r for r in scorer.requests if r.name == row["metric"])
        identity = score_identity(scorer.job, scorer.space, scorer.batch, request, row["arch_index"],
                                  device_class=scorer.device_class, memory_format=scorer.memory_format)
        assert row["key"] == identity.key()
        assert {k: row[k] for k in identity.columns()} == identity.columns()


def test_build_failure_of_a_metric_with_its_own_copy_is_a_build_error_row() -> None:
    """Metrics that re-initialise build their own network (no unused shared build is made for them)."""
    from naswot_ray.data import BatchSpec, draw_batch
    from naswot_ray.engine.job import ScoreJob
    from naswot_ray.engine.worker import ArchScorer
    from naswot_ray.spaces.nb201.space import NB201Space

    class Broken(NB201Space):
        def build(self, arch, num_classes):
            raise ValueError("groups must be a positive integer")

    job = ScoreJob(space="nb201", metrics=["vkdnw_jacov", "zen"], batch=BatchSpec("random", batch_size=2, seed=1,
                   image_size=8), store="unused", space_object=Broken(),
                   metric_options={"zen": {"batch_size": 2}, "vkdnw_jacov": {"batch_size": 2}})
    scorer = ArchScorer(job, draw_batch(job.batch))
    assert scorer.builds_network is False
    rows = scorer.score_indices([7])
    assert {r["metric"] for r in rows} == {"vkdnw_jacov", "zen"}
    assert all(r["status"] == "error" and r["error"].startswith("build failed: ValueError") for r in rows)
