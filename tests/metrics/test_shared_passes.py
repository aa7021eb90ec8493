"""Metrics requested together share passes, and sharing never changes a value.

Counts, through the real worker (``ArchScorer``), the forward calls of every network built and the
backward passes through its convolutions (a full backward hook on every Conv2d; a pass is the largest
per-conv count, since a segment VJP reaches each conv once), for each metric alone and for a group
requested together. A regression that stops sharing shows up as more calls here.
"""

from __future__ import annotations

from collections import Counter

import pytest
import torch
from torch import nn

from naswot_ray.data import BatchSpec, draw_batch
from naswot_ray.engine.job import ScoreJob
from naswot_ray.engine.worker import ArchScorer
from naswot_ray.metrics import parse_metric_list
from naswot_ray.spaces.nb201.space import NB201Space

pytestmark = pytest.mark.filterwarnings("ignore:Full backward hook is firing")

ARCH_INDEX = 1  # |nor_conv_3x3~0|+|nor_conv_3x3~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_3x3~1|skip_connect~2|
OPTIONS = {
    **{m: {"batch_size": 4} for m in ("az_expressivity", "az_progressivity", "az_trainability", "az_complexity",
                                      "plain", "epe_nas")},
    "zico": {"batch_size": 4, "batches": 2},
    "swap": {"images": 4, "repeats": 3},
    "swap_reg": {"images": 4, "repeats": 3},
}


class CountingSpace(NB201Space):
    """NB201 whose every built network counts its forward calls and per-conv backward calls."""

    def __init__(self) -> None:
        self.forwards = 0
        self.conv_backwards: Counter = Counter()

    def build(self, arch: str, num_classes: int) -> nn.Module:
        model = super().build(arch, num_classes)

        def count_forward(*_args) -> None:
            self.forwards += 1

        model.register_forward_pre_hook(count_forward)
        for name, module in model.named_modules():
            if isinstance(module, nn.Conv2d):
                def count_backward(_m, _gi, _go, key=(id(model), name)) -> None:
                    self.conv_backwards[key] += 1
                module.register_full_backward_hook(count_backward)
        return model

    def backward_passes(self) -> int:
        """Backward passes through the networks: per network, the most any one conv ran backward."""
        per_model: Counter = Counter()
        for (model, _name), count in self.conv_backwards.items():
            per_model[model] = max(per_model[model], count)
        return sum(per_model.values())


def run(metrics: str) -> tuple[dict[str, float], int, int]:
    space = CountingSpace()
    job = ScoreJob(space="nb201", metrics=parse_metric_list(metrics), batch=BatchSpec("random", batch_size=8, seed=1,
                   image_size=8), store="unused", num_classes=10, metric_options={
                       k: v for k, v in OPTIONS.items() if k in parse_metric_list(metrics)}, space_object=space)
    job.validate()
    rows = ArchScorer(job, draw_batch(job.batch)).score_index(ARCH_INDEX)
    assert all(r["status"] == "ok" for r in rows), [r["error"] for r in rows]
    return {r["metric"]: r["value"] for r in rows}, space.forwards, space.backward_passes()


@pytest.mark.parametrize("together,alone_forwards,shared_forwards,alone_backwards,shared_backwards", [
    # AZ-NAS: each member alone runs the FLOP probe and the full pass; together once
    ("az_nas", 4 * 2, 2, 4 * 1, 1),
    # zico's first batch serves plain's gradients and epe_nas's input Jacobian
    ("zico,plain,epe_nas", 2 + 1 + 1, 2, 2 + 1 + 1, 3),
    # swap_reg reads swap's pattern count: one set of repeats
    ("swap,swap_reg", 3 + 3, 3, 0, 0),
])
def test_groups_share_their_passes_and_values(together, alone_forwards, shared_forwards, alone_backwards,
                                              shared_backwards) -> None:
    values, forwards, backwards = run(together)
    alone_values: dict[str, float] = {}
    total_forwards = total_backwards = 0
    for metric in parse_metric_list(together):
        value, f, b = run(metric)
        alone_values.update(value)
        total_forwards += f
        total_backwards += b
    assert values == alone_values  # sharing never changes a value
    assert (forwards, backwards) == (shared_forwards, shared_backwards)
    assert (total_forwards, total_backwards) == (alone_forwards, alone_backwards)
