"""Scoring one architecture after another on one device, without Ray.

:class:`ArchScorer` is what every scorer actor runs, and what the bare-loop benchmark and unit tests
run directly: build the network once per architecture (re-seeded, directly on the device), run every
:class:`ForwardObserver` metric off one shared inference forward, give metrics that modify the network
their own fresh copy, and turn each outcome, including failures, into a score row.
"""

from __future__ import annotations

import gc
import socket
import time
from collections.abc import Callable
from datetime import datetime, timezone

import torch
from torch import nn

import naswot_ray
from naswot_ray.data.base import Batch
from naswot_ray.engine.deadline import ArchTimeout, deadline
from naswot_ray.engine.job import ScoreJob
from naswot_ray.engine.seeds import arch_seed
from naswot_ray.metrics import get_metric
from naswot_ray.metrics.base import ForwardObserver, Metric, ScoringContext
from naswot_ray.spaces.base import SearchSpace
from naswot_ray.store.schema import score_key


def is_out_of_memory(exc: BaseException) -> bool:
    return isinstance(exc, torch.cuda.OutOfMemoryError) or "out of memory" in str(exc).lower()


def default_device() -> torch.device:
    return torch.device("cuda") if torch.cuda.is_available() else torch.device("cpu")


class ArchScorer:
    """Scores architectures of ``job.space`` with ``job.metrics`` on ``batch``."""

    def __init__(self, job: ScoreJob, batch: Batch, *, worker: str = "local", run_id: str = "") -> None:
        self.job = job
        self.worker = f"{worker}@{socket.gethostname()}"
        self.run_id = run_id
        self.space = job.resolved_space()
        self.space_options = self.space.options_key()
        self.metrics: list[tuple[Metric, str]] = [(get_metric(n), m) for n, m in job.metric_modes().items()]
        self.device = torch.device(job.device) if job.device else default_device()
        # NHWC convolutions are ~1.5x faster on CPU (benchmarks/throughput.py); values then differ from an
        # NCHW run only by float summation order (about 1e-7 relative in NASWOT). Off by default on GPUs.
        self.channels_last = job.channels_last if job.channels_last is not None else self.device.type == "cpu"
        self.batch = batch.to(self.device)
        if self.channels_last:
            self.batch.x = self.batch.x.contiguous(memory_format=torch.channels_last)
        self.num_classes = job.head_classes

    # -- public ------------------------------------------------------------------------------
    def score_indices(self, indices: list[int]) -> list[dict]:
        rows: list[dict] = []
        for index in indices:
            rows.extend(self.score_index(index))
        return rows

    def score_index(self, index: int) -> list[dict]:
        """Rows for every metric of architecture ``index``; an OOM is retried once, alone; an
        architecture over ``job.arch_timeout`` seconds becomes error rows."""
        started = time.perf_counter()
        try:
            with deadline(self.job.arch_timeout):
                return self._score_index_retrying(index)
        except ArchTimeout as exc:
            self._free_memory()
            arch = self.space.arch(index)
            return [self._row(index, arch, m, mode, None, str(exc), time.perf_counter() - started)
                    for m, mode in self.metrics]

    def _score_index_retrying(self, index: int) -> list[dict]:
        try:
            return self._score_index(index)
        except Exception as exc:
            if not is_out_of_memory(exc):
                raise
            self._free_memory()
            try:
                return self._score_index(index)
            except Exception as again:
                if not is_out_of_memory(again):
                    raise
                self._free_memory()
                message = f"out of memory twice (retried once alone): {_one_line(again)}"
                arch = self.space.arch(index)
                return [self._row(index, arch, m, mode, None, message, 0.0) for m, mode in self.metrics]

    # -- internals ---------------------------------------------------------------------------
    def _build_factory(self, arch: str, seed: int) -> Callable[[], nn.Module]:
        def build() -> nn.Module:
            torch.manual_seed(seed)
            if self.device.type == "cpu":
                model = self.space.build(arch, self.num_classes)
            else:
                # allocate the weights on the device itself (no host copy); the device context
                # intercepts every op of the construction (~50% slower builds), so CPU skips it
                with torch.device(self.device):
                    model = self.space.build(arch, self.num_classes)
                model.to(self.device)
            if self.channels_last:
                model = model.to(memory_format=torch.channels_last)
            model.train(self.job.bn_mode == "train")
            return model

        return build

    def _score_index(self, index: int) -> list[dict]:
        arch = self.space.arch(index)
        seed = arch_seed(self.job.seed, index)
        build = self._build_factory(arch, seed)
        started = time.perf_counter()
        try:
            model = build()
        except Exception as exc:
            if is_out_of_memory(exc):
                raise
            message = f"build failed: {_one_line(exc)}"
            return [self._row(index, arch, m, mode, None, message, time.perf_counter() - started)
                    for m, mode in self.metrics]
        build_seconds = time.perf_counter() - started
        ctx = ScoringContext(space=self.space, arch=arch, arch_index=index, num_classes=self.num_classes,
                             device=self.device, bn_mode=self.job.bn_mode, rebuild=build)
        rows: list[dict] = []
        observers = [(m, mode) for m, mode in self.metrics
                     if isinstance(m, ForwardObserver) and m.observes(mode) and not m.mutates_model]
        others = [(m, mode) for m, mode in self.metrics if (m, mode) not in observers]
        if observers:
            rows.extend(self._shared_forward(index, arch, model, observers, build_seconds))
        for metric, mode in others:
            t0 = time.perf_counter()
            try:
                target = build() if metric.mutates_model else model
                torch.manual_seed(seed)
                value = metric.score(target, self.batch, seed=seed, mode=mode, ctx=ctx)
                rows.append(self._row(index, arch, metric, mode, value, None, time.perf_counter() - t0 + build_seconds))
            except Exception as exc:
                if is_out_of_memory(exc):
                    raise
                rows.append(self._row(index, arch, metric, mode, None, _one_line(exc), time.perf_counter() - t0))
        return rows

    def _shared_forward(self, index: int, arch: str, model: nn.Module, observers: list[tuple[Metric, str]],
                        build_seconds: float) -> list[dict]:
        t0 = time.perf_counter()
        finishers = [m.attach(model, self.batch, mode=mode) for m, mode in observers]  # type: ignore[attr-defined]
        error: Exception | None = None
        try:
            with torch.inference_mode():
                model(self.batch.x)
        except Exception as exc:
            if is_out_of_memory(exc):
                for finish in finishers:
                    _safe_finish(finish)
                raise
            error = exc
        rows = []
        for (metric, mode), finish in zip(observers, finishers):
            if error is not None:
                _safe_finish(finish)
                rows.append(self._row(index, arch, metric, mode, None, _one_line(error), time.perf_counter() - t0))
                continue
            try:
                value = finish()
                rows.append(self._row(index, arch, metric, mode, value, None, time.perf_counter() - t0 + build_seconds))
            except Exception as exc:
                rows.append(self._row(index, arch, metric, mode, None, _one_line(exc), time.perf_counter() - t0))
        return rows

    def _row(self, index: int, arch: str, metric: Metric, mode: str, value: float | None, error: str | None,
             seconds: float) -> dict:
        return score_row(self.job, self.space, self.batch, index=index, arch=arch, metric=metric, mode=mode,
                         value=value, error=error, seconds=seconds, worker=self.worker, run_id=self.run_id,
                         device=str(self.device), memory_format="channels_last" if self.channels_last else "contiguous")

    def _free_memory(self) -> None:
        gc.collect()
        if self.device.type == "cuda":
            torch.cuda.empty_cache()


def batch_identity(metric: Metric, batch: Batch) -> str:
    """What of the batch a metric's value depends on: the pixels' sha256, or (for metrics that read no
    data, like synflow or flops) only the input shape, so runs at other image sizes never share keys."""
    if metric.needs.data:
        return batch.provenance.sha256
    _, channels, height, width = batch.x.shape
    return f"none:{channels}x{height}x{width}"


def score_row(job: ScoreJob, space: SearchSpace, batch: Batch, *, index: int, arch: str, metric: Metric, mode: str,
              value: float | None, error: str | None, seconds: float, worker: str, run_id: str, device: str,
              memory_format: str = "") -> dict:
    """One row of the ``scores`` table (see DESIGN.md, "Scores: the record")."""
    prov = batch.provenance
    batch_sha = batch_identity(metric, batch)
    options = space.options_key()
    key = score_key(space=space.name, space_options=options, arch_index=index, metric=metric.name, mode=mode,
                    bn_mode=job.bn_mode, num_classes=job.head_classes, batch_sha256=batch_sha, seed=job.seed)
    return {
        "key": key, "space": space.name, "space_options": options, "arch_index": index, "arch": arch,
        "metric": metric.name, "value": float("nan") if error is not None else float(value),  # type: ignore[arg-type]
        "value_scale": metric.value_scale, "status": "error" if error is not None else "ok", "error": error,
        "dataset": prov.dataset if metric.needs.data else "none",
        "batch_size": prov.batch_size if metric.needs.data else 0, "batch_sha256": batch_sha, "seed": job.seed,
        "arch_seed": arch_seed(job.seed, index), "mode": mode, "bn_mode": job.bn_mode,
        "num_classes": job.head_classes, "device": device, "memory_format": memory_format, "seconds": seconds,
        "worker": worker, "run_id": run_id,
        "package_version": naswot_ray.__version__, "torch_version": torch.__version__, "shared_from": None,
        "created_at": datetime.now(timezone.utc),
    }


def _safe_finish(finish: Callable[[], float]) -> None:
    try:
        finish()
    except Exception:
        pass


def _one_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    message = text[0] if text else ""
    return f"{type(exc).__name__}: {message}"[:500] if message else type(exc).__name__


__all__ = ["ArchScorer", "batch_identity", "default_device", "is_out_of_memory", "score_row"]
