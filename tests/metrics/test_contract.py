"""The metric contract: batch needs and their identity, legal non-finite values, requests, groups."""

from __future__ import annotations

import math

import pytest
import torch

from naswot_ray.data import BatchSpec, draw_batch
from naswot_ray.errors import InputError
from naswot_ray.metrics import METRICS, BatchNeeds, MetricRequest, get_metric, metric_groups, parse_metric_list


@pytest.fixture(scope="module")
def batch():
    return draw_batch(BatchSpec("random", batch_size=8, seed=3, image_size=8))


def test_batch_needs_identity_names_exactly_what_is_read(batch) -> None:
    prov = batch.provenance
    assert BatchNeeds("run").identity(batch) == (prov.sha256, "")
    assert BatchNeeds("run", labels=True).identity(batch) == (prov.sha256, prov.labels_sha256)
    assert BatchNeeds("run", size=4, labels=True).identity(batch) == (f"{prov.sha256}:first4", f"{prov.labels_sha256}:first4")
    assert BatchNeeds("gaussian", size=64).identity(batch) == ("gaussian:64x3x8x8", "")
    assert BatchNeeds("none").identity(batch) == ("none:3x8x8", "")
    assert prov.labels_sha256 and prov.labels_sha256 != prov.sha256


def test_batch_views(batch) -> None:
    head = BatchNeeds("run", size=3).view(batch, seed=0)
    assert torch.equal(head.x, batch.x[:3]) and torch.equal(head.y, batch.y[:3])
    a = BatchNeeds("gaussian", size=5).view(batch, seed=11)
    b = BatchNeeds("gaussian", size=5).view(batch, seed=11)
    assert a.x.shape == (5, 3, 8, 8) and torch.equal(a.x, b.x) and a.y is None
    assert not torch.equal(a.x, BatchNeeds("gaussian", size=5).view(batch, seed=12).x)


@pytest.mark.parametrize("name", sorted(METRICS))
def test_every_metric_declares_a_valid_contract(name) -> None:
    metric = get_metric(name)
    assert metric.version >= 1  # 0 is reserved for rows stored before versions existed
    assert metric.legal_nonfinite <= {"-inf", "inf", "nan"}
    assert metric.check_value(1.0) is None
    resolved = metric.resolve_options({})
    assert metric.options_key(resolved) == ""
    request = MetricRequest.make(metric, None)
    assert request.mode == metric.modes[0]
    needs = request.batch_needs
    assert needs.source in ("run", "gaussian", "none")
    assert needs.labels <= metric.needs.labels or needs.source == "run"


def test_non_finite_values_follow_the_declaration() -> None:
    naswot = get_metric("naswot")
    assert naswot.check_value(-math.inf) is None
    assert "non-finite value nan is not part of naswot's definition" in naswot.check_value(math.nan)
    assert naswot.check_value(math.inf) is not None
    assert get_metric("params").check_value(-math.inf) is not None


def test_unknown_metric_option_and_unrequested_metric_are_one_line_errors() -> None:
    with pytest.raises(InputError, match="metric 'naswot' has no option 'foo'; valid options: none"):
        MetricRequest.make(get_metric("naswot"), None, {"foo": "1"})
    from naswot_ray.engine.job import ScoreJob

    job = ScoreJob(space="nb201", metrics=["naswot"], batch=BatchSpec("random"), store="x",
                   metric_options={"params": {"a": 1}})
    with pytest.raises(InputError, match="--metric-option names metric 'params', which is not requested"):
        job.metric_requests()


def test_group_names_expand_to_their_members() -> None:
    for group, members in metric_groups().items():
        assert parse_metric_list(group) == members
        assert all(get_metric(m).group == group for m in members)
    with pytest.raises(InputError, match="unknown metric 'nosuch'"):
        parse_metric_list("naswot,nosuch")
