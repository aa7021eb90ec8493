"""The CUDA path (needs a GPU; skipped with the reason printed where there is none, as in CI).

What it pins down: the scorer puts the batch and builds every network on the GPU; NASWOT's per-call
Gram matrix in fp16 tensor-core GEMMs (fp32 output) is exactly the float64 one for 0/1 codes; and the
GPU scores agree with the CPU ones (cuDNN's convolutions round differently, so a pre-activation within
rounding of 0 may flip its code: agreement is to a small tolerance, not bit for bit).
"""

from __future__ import annotations

import pytest
import torch

from naswot_ray.data import BatchSpec, draw_batch
from naswot_ray.engine.job import ScoreJob
from naswot_ray.engine.worker import ArchScorer
from naswot_ray.metrics.naswot import KernelAccumulator

pytestmark = pytest.mark.skipif(not torch.cuda.is_available(),
                                reason="no CUDA device here: the GPU path is checked on a machine with one")


def scorer(device: str, metrics: list[str]) -> ArchScorer:
    spec = BatchSpec("random", batch_size=32, seed=1, image_size=32)
    job = ScoreJob(space="nb201", metrics=metrics, batch=spec, store="unused", device=device, channels_last=False)
    return ArchScorer(job, draw_batch(job.batch), worker="t", run_id="r")


def test_fp16_gram_is_exact_for_binary_codes() -> None:
    gen = torch.Generator().manual_seed(0)
    codes = [(torch.rand(64, n, generator=gen) > 0.5).float() for n in (3, 4096, 70_000)]
    gpu, cpu = KernelAccumulator(), KernelAccumulator()
    for c in codes:
        gpu.add_codes(c.cuda(), weight=2)
        cpu.add_codes(c.double(), weight=2)
    assert gpu.gram.device.type == "cuda" and gpu.gram.dtype == torch.float64
    assert torch.equal(gpu.kernel().cpu(), cpu.kernel())


def test_scorer_keeps_batch_and_networks_on_the_gpu() -> None:
    gpu = scorer("cuda", ["naswot", "params"])
    assert gpu.batch.x.is_cuda
    model = gpu._build_factory(gpu.space.arch(7), seed=3)()
    assert all(p.is_cuda for p in model.parameters())
    rows = gpu.score_indices([7])
    assert {r["status"] for r in rows} == {"ok"} and {r["device"] for r in rows} == {"cuda"}


def test_gpu_scores_match_cpu_scores() -> None:
    indices = [0, 7, 123, 4567]
    gpu = {r["arch_index"]: r["value"] for r in scorer("cuda", ["naswot"]).score_indices(indices)}
    cpu = {r["arch_index"]: r["value"] for r in scorer("cpu", ["naswot"]).score_indices(indices)}
    for index in indices:
        assert gpu[index] == pytest.approx(cpu[index], rel=1e-3, abs=1e-6), index
