"""plain: sum of dL/dW * W, by hand on a linear model; it reads ZiCo's first pass when both run."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from naswot_ray.metrics import get_metric
from naswot_ray.metrics.shared import SHARED_KEY, SharedPasses
from tests.metrics._support import make_batch, make_ctx


def _case():
    torch.manual_seed(3)
    model = nn.Sequential(nn.Flatten(), nn.Linear(4, 3, bias=True))
    x = torch.randn(4, 1, 2, 2)
    y = torch.tensor([1, 0, 2, 2])
    return model, x, y


def test_value_by_hand() -> None:
    model, x, y = _case()
    w, b = model[1].weight.detach(), model[1].bias.detach()
    xs = x.reshape(4, 4)
    p = torch.softmax(xs @ w.T + b, dim=1)
    grad = (p - nn.functional.one_hot(y, 3).float()).T @ xs / 4  # the bias is not a weight: not counted
    ctx = make_ctx(lambda: model)
    ctx.options = {"batch_size": 4}
    value = get_metric("plain").score(model, make_batch(x, y), seed=0, mode="default", ctx=ctx)
    assert value == pytest.approx(float((grad * w).sum()), rel=1e-5, abs=1e-7)


def test_reads_zicos_first_batch_when_both_are_requested() -> None:
    model, x, y = _case()
    shared = SharedPasses({"zico": {"batch_size": 2, "batches": 2}, "plain": {"batch_size": 2}})
    batch = make_batch(x, y)
    alone = make_ctx(lambda: model)
    alone.options = {"batch_size": 2}
    expected = get_metric("plain").score(model, batch, seed=0, mode="default", ctx=alone)
    for name, options in (("zico", {"batch_size": 2, "batches": 2}), ("plain", {"batch_size": 2})):
        ctx = make_ctx(lambda: model)
        ctx.options, ctx.extras = options, {SHARED_KEY: shared}
        value = get_metric(name).score(model, batch, seed=0, mode=get_metric(name).modes[0], ctx=ctx)
    assert value == pytest.approx(expected, rel=1e-12)
    assert sorted(shared.computed.values()) == [1, 1]  # two slices, each computed once (plain reused the first)
