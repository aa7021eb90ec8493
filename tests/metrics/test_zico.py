"""ZiCo: the statistic by hand, its two batches, labels, and the all-none cell."""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from naswot_ray.metrics import get_metric
from naswot_ray.metrics.zico import zico_from_grads
from tests.metrics._support import ALL_NONE, make_batch, make_ctx


def test_statistic_by_hand() -> None:
    # one layer, two batches: a = (1, 2, 3), b = (3, 2, -1): mean|g| = (2, 2, 2), population std = (1, 0, 2);
    # the zero-std weight is dropped: S = 2/1 + 2/2 = 3. An all-zero layer (S = 0) adds nothing.
    a = [torch.tensor([1.0, 2.0, 3.0]), torch.zeros(2)]
    b = [torch.tensor([3.0, 2.0, -1.0]), torch.zeros(2)]
    assert zico_from_grads([a, b]) == pytest.approx(math.log(3.0), abs=1e-6)
    assert zico_from_grads([a, b], clean=True) == pytest.approx(math.log(3.0), abs=1e-12)
    assert zico_from_grads([[None], [torch.ones(1)]]) == 0.0  # a layer without a gradient is skipped


def test_two_batches_of_a_linear_model_by_hand() -> None:
    # logits = W x, CE gradient per batch: (softmax(z) - onehot(y))^T x / n
    torch.manual_seed(0)
    model = nn.Sequential(nn.Flatten(), nn.Linear(4, 3, bias=False))
    x = torch.randn(4, 1, 2, 2)
    y = torch.tensor([0, 2, 1, 2])
    grads = []
    w = model[1].weight.detach()
    for part in (slice(0, 2), slice(2, 4)):
        xs = x[part].reshape(2, 4)
        p = torch.softmax(xs @ w.T, dim=1)
        grads.append(((p - nn.functional.one_hot(y[part], 3).float()).T @ xs / 2))
    g = torch.stack(grads)
    std = g.std(dim=0, unbiased=False)
    expected = math.log(float((g.abs().mean(0)[std != 0] / std[std != 0]).sum()))
    ctx = make_ctx(lambda: model)
    ctx.options = {"batch_size": 2, "batches": 2}
    value = get_metric("zico").score(model, make_batch(x, y), seed=0, mode="reference", ctx=ctx)
    assert value == pytest.approx(expected, rel=1e-5)


def test_all_none_network_scores_zero() -> None:
    from naswot_ray.spaces import get_space

    space = get_space("nb201")
    model = space.build(ALL_NONE, 10)
    gen = torch.Generator().manual_seed(0)
    batch = make_batch(torch.randn(8, 3, 8, 8, generator=gen), torch.randint(0, 10, (8,), generator=gen))
    ctx = make_ctx(lambda: model, space=space)
    ctx.options = {"batch_size": 4, "batches": 2}
    assert get_metric("zico").score(model, batch, seed=0, mode="reference", ctx=ctx) == 0.0


def test_missing_labels_and_a_short_batch_are_one_line_errors() -> None:
    model = nn.Sequential(nn.Flatten(), nn.Linear(4, 3))
    ctx = make_ctx(lambda: model)
    ctx.options = {"batch_size": 2, "batches": 2}
    with pytest.raises(ValueError, match="metric 'zico' needs labels, and this batch .* has none"):
        get_metric("zico").score(model, make_batch(torch.randn(4, 1, 2, 2)), seed=0, mode="reference", ctx=ctx)
    with pytest.raises(ValueError, match="needs 4 labelled images and the run batch has 3"):
        get_metric("zico").score(model, make_batch(torch.randn(3, 1, 2, 2), torch.zeros(3, dtype=torch.long)),
                                 seed=0, mode="reference", ctx=ctx)


def test_batch_needs_are_the_first_128_labelled_images() -> None:
    metric = get_metric("zico")
    needs = metric.batch_needs("reference", metric.resolve_options())
    assert (needs.source, needs.size, needs.labels) == ("run", 128, True)
