"""Scoring one architecture after another on one device, without Ray.

:class:`ArchScorer` is what every scorer actor runs, and what the bare-loop benchmark and unit tests
run directly: build the network once per architecture (re-seeded, directly on the device), run every
:class:`ForwardObserver` metric off one shared inference forward, give metrics that modify the network
their own fresh copy, and turn each outcome, including failures, into a score row.
"""

from __future__ import annotations

import gc
import hashlib
import socket
import time
from collections.abc import Callable
from datetime import datetime, timezone

import torch
from torch import nn

import naswot_ray
from naswot_ray.data.base import Batch
from naswot_ray.engine.deadline import ArchTimeout, deadline
from naswot_ray.engine.job import ScoreJob, device_class, memory_format_for
from naswot_ray.engine.seeds import arch_seed, seed_torch
from naswot_ray.metrics.base import ForwardObserver, MetricRequest, ScoringContext
from naswot_ray.metrics.shared import SHARED_KEY, SharedPasses
from naswot_ray.spaces.base import SearchSpace
from naswot_ray.store.schema import IDENTITY_FIELDS, ScoreIdentity


def is_out_of_memory(exc: BaseException) -> bool:
    return isinstance(exc, torch.cuda.OutOfMemoryError) or "out of memory" in str(exc).lower()


#: messages of errors that mean the device is broken, not the architecture (sticky CUDA errors poison the
#: whole context: every later kernel fails too)
DEVICE_ERROR_MARKERS = ("cuda error", "cudnn_status", "cublas_status", "cusolver_status", "device-side assert",
                        "illegal memory access", "unspecified launch failure", "cuda driver error",
                        "no cuda gpus are available", "nccl error", "ecc error")


def is_device_error(exc: BaseException) -> bool:
    """A failure of the device itself (never stored as the architecture's error row); OOM is not one."""
    if is_out_of_memory(exc):
        return False
    if isinstance(exc, getattr(torch, "AcceleratorError", ())):
        return True
    text = str(exc).lower()
    return isinstance(exc, RuntimeError) and any(marker in text for marker in DEVICE_ERROR_MARKERS)


class DeviceFailure(RuntimeError):
    """Scoring ``index`` hit a device error; the scorer hands the architecture back instead of storing it."""

    def __init__(self, index: int, cause: BaseException) -> None:
        super().__init__(f"device error while scoring architecture {index}: {_one_line(cause)}")
        self.index = index


def default_device() -> torch.device:
    return torch.device("cuda") if torch.cuda.is_available() else torch.device("cpu")


class ArchScorer:
    """Scores architectures of ``job``'s space with its metric requests on ``batch``."""

    def __init__(self, job: ScoreJob, batch: Batch, *, worker: str = "local", run_id: str = "") -> None:
        self.job = job
        self.worker = f"{worker}@{socket.gethostname()}"
        self.run_id = run_id
        self.space = job.resolved_space()
        self.space_options = self.space.options_key()
        self.requests: list[MetricRequest] = job.metric_requests()
        self.device = torch.device(job.device) if job.device else default_device()
        # NHWC convolutions are ~1.5x faster on CPU (benchmarks/throughput.py); values then differ from an
        # NCHW run only by float summation order (about 1e-7 relative in NASWOT). Off by default on GPUs.
        self.memory_format = memory_format_for(str(self.device), job.channels_last)
        self.channels_last = self.memory_format == "channels_last"
        self.device_class = device_class(str(self.device))
        self.batch = batch.to(self.device)
        if self.channels_last:
            self.batch.x = self.batch.x.contiguous(memory_format=torch.channels_last)
        self.num_classes = job.head_classes
        # the shared network is built only for metrics that use it as built; metrics that re-initialise or
        # otherwise change it build their own copy (an unused up-front build would be wasted work)
        self.builds_network = any(r.metric.needs.network and not r.metric.mutates_model for r in self.requests)
        self._templates: dict[MetricRequest, RowTemplate] = {}
        #: what every architecture's SharedPasses is told was requested (resolved once per run)
        self._requested_options = {r.name: r.options_dict for r in self.requests}
        for request in self.requests:
            request.metric.setup(self.device, self.worker, request.options_dict)

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
            return self._error_rows(index, str(exc), time.perf_counter() - started)
        except DeviceFailure:
            raise
        except Exception as exc:
            if is_device_error(exc):
                raise DeviceFailure(index, exc) from exc
            # anything else that escapes one architecture is that architecture's error, not the run's
            self._free_memory()
            return self._error_rows(index, f"unexpected error: {_one_line(exc)}", time.perf_counter() - started)

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
                return self._error_rows(index, f"out of memory twice (retried once alone): {_one_line(again)}", 0.0)

    # -- internals ---------------------------------------------------------------------------
    def _build_factory(self, arch: str, seed: int) -> Callable[[], nn.Module]:
        def build() -> nn.Module:
            seed_torch(seed, self.device)
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
        return self.score_arch(index, self.space.arch(index), arch_seed(self.job.seed, index))

    def score_arch(self, index: int, arch: str, seed: int) -> list[dict]:
        """Rows for every metric of ``arch`` with its per-architecture ``seed`` (no retry, no deadline).

        The one scoring loop: ``nr.score`` runs a model from outside through it too (naswot_ray/api/models.py).
        """
        build = self._build_factory(arch, seed)
        started = time.perf_counter()
        model: nn.Module | None = None
        if self.builds_network:
            try:
                model = build()
            except Exception as exc:
                if is_out_of_memory(exc) or is_device_error(exc):
                    raise
                return self._error_rows(index, f"build failed: {_one_line(exc)}", time.perf_counter() - started)
        build_seconds = time.perf_counter() - started
        rows: list[dict] = []
        observers = [r for r in self.requests if isinstance(r.metric, ForwardObserver) and r.metric.observes(r.mode)
                     and not r.metric.mutates_model and r.metric.needs.network]
        # one inference forward per distinct batch the observers read
        for needs in dict.fromkeys(r.batch_needs for r in observers):
            sharing = [r for r in observers if r.batch_needs == needs]
            rows.extend(self._shared_forward(index, arch, model, sharing, needs.view(self.batch, seed=seed),
                                             build_seconds))
        rest = [r for r in self.requests if r not in observers]
        # one memo per architecture: metrics whose definitions agree share passes through it
        shared = SharedPasses(self._requested_options)
        groups: dict[tuple, list[MetricRequest]] = {}
        for request in rest:
            if request.metric.group:
                groups.setdefault((request.metric.group, request.mode, request.options), []).append(request)
        done: set[MetricRequest] = set()
        for request in rest:
            if request in done:
                continue
            members = groups.get((request.metric.group, request.mode, request.options), [request]) \
                if request.metric.group else [request]
            done.update(members)
            rows.extend(self._score_members(index, arch, seed, model, build, members, build_seconds, shared))
        return rows

    def _context(self, index: int, arch: str, build: Callable[[], nn.Module], request: MetricRequest,
                 shared: SharedPasses | None = None) -> ScoringContext:
        return ScoringContext(space=self.space, arch=arch, arch_index=index, num_classes=self.num_classes,
                              device=self.device, bn_mode=self.job.bn_mode, rebuild=build,
                              options=request.options_dict,
                              extras={"worker": self.worker, **({SHARED_KEY: shared} if shared else {})})

    def _score_members(self, index: int, arch: str, seed: int, model: nn.Module | None,
                       build: Callable[[], nn.Module], members: list[MetricRequest], build_seconds: float,
                       shared: SharedPasses | None = None) -> list[dict]:
        """One metric, or one pass for every requested member of a group."""
        lead = members[0]
        metric = lead.metric
        t0 = time.perf_counter()
        try:
            target = build() if metric.mutates_model else model
        except Exception as exc:
            if is_out_of_memory(exc):
                raise
            return [self._row(index, arch, r, None, f"build failed: {_one_line(exc)}", time.perf_counter() - t0)
                    for r in members]
        try:
            view = lead.batch_needs.view(self.batch, seed=seed)
            seed_torch(seed, self.device)
            ctx = self._context(index, arch, build, lead, shared)
            if metric.group:
                values = metric.score_group(target, view, seed=seed, mode=lead.mode, ctx=ctx)  # type: ignore[arg-type]
            else:
                values = {metric.name: metric.score(target, view, seed=seed, mode=lead.mode, ctx=ctx)}  # type: ignore[arg-type]
        except Exception as exc:
            if is_out_of_memory(exc) or is_device_error(exc):
                raise
            seconds = time.perf_counter() - t0
            return [self._row(index, arch, r, None, _one_line(exc), seconds) for r in members]
        seconds = time.perf_counter() - t0 + build_seconds
        rows = []
        for request in members:
            if request.name in values:
                rows.append(self._row(index, arch, request, values[request.name], None, seconds))
            else:
                rows.append(self._row(index, arch, request, None, f"group {metric.group!r} gave no value for "
                                      f"{request.name!r}", seconds))
        return rows

    def _shared_forward(self, index: int, arch: str, model: nn.Module | None, observers: list[MetricRequest],
                        view: Batch, build_seconds: float) -> list[dict]:
        assert model is not None
        t0 = time.perf_counter()
        finishers = [r.metric.attach(model, view, mode=r.mode) for r in observers]  # type: ignore[attr-defined]
        error: Exception | None = None
        try:
            with torch.inference_mode():
                model(view.x)
        except Exception as exc:
            if is_out_of_memory(exc) or is_device_error(exc):
                for finish in finishers:
                    _safe_finish(finish)
                raise
            error = exc
        rows = []
        for request, finish in zip(observers, finishers):
            if error is not None:
                _safe_finish(finish)
                rows.append(self._row(index, arch, request, None, _one_line(error), time.perf_counter() - t0))
                continue
            try:
                value = finish()
                rows.append(self._row(index, arch, request, value, None, time.perf_counter() - t0 + build_seconds))
            except Exception as exc:
                if is_device_error(exc):
                    raise
                rows.append(self._row(index, arch, request, None, _one_line(exc), time.perf_counter() - t0))
        return rows

    def _error_rows(self, index: int, message: str, seconds: float) -> list[dict]:
        try:
            arch = self.space.arch(index)
        except Exception:  # the index itself is what failed
            arch = ""
        return [self._row(index, arch, r, None, message, seconds) for r in self.requests]

    def _row(self, index: int, arch: str, request: MetricRequest, value: float | None, error: str | None,
             seconds: float) -> dict:
        if error is None:
            value = float(value)  # type: ignore[arg-type]
            error = request.metric.check_value(value)
        template = self._templates.get(request)
        if template is None:
            template = self._templates[request] = RowTemplate(
                self.job, self.space, self.batch, request, worker=self.worker, run_id=self.run_id,
                device=str(self.device), device_class=self.device_class, memory_format=self.memory_format)
        return template.row(index, arch, value, error, seconds)

    def _free_memory(self) -> None:
        gc.collect()
        if self.device.type == "cuda":
            torch.cuda.empty_cache()


def score_identity(job: ScoreJob, space: SearchSpace, batch: Batch, request: MetricRequest, index: int, *,
                   device_class: str, memory_format: str) -> ScoreIdentity:
    """Everything a value of ``request`` for architecture ``index`` depends on (see store.schema)."""
    metric = request.metric
    images, labels = request.batch_needs.identity(batch)
    if metric.device_independent:
        device_class = memory_format = "any"
    elif not metric.needs.network:
        memory_format = "none"
    return ScoreIdentity(space=space.name, space_options=space.options_key(), arch_index=index, metric=metric.name,
                         mode=request.mode, bn_mode=job.bn_mode, num_classes=job.head_classes, batch_sha256=images,
                         seed=job.seed, metric_version=metric.version, metric_options=request.options_key,
                         device_class=device_class, memory_format=memory_format, labels_sha256=labels)


class RowTemplate:
    """Everything in a score row of one metric request that does not depend on the architecture, computed
    once per scorer, so a row costs a key digest and a dict, not a re-derivation of its identity."""

    def __init__(self, job: ScoreJob, space: SearchSpace, batch: Batch, request: MetricRequest, *, worker: str,
                 run_id: str, device: str, device_class: str, memory_format: str) -> None:
        self.job, self.metric = job, request.metric
        identity = score_identity(job, space, batch, request, 0, device_class=device_class, memory_format=memory_format)
        columns = identity.columns()
        # the key digests "v1|<fields>" in IDENTITY_FIELDS order, with arch_index third
        parts = ["v1", *(str(columns[name]) for name in IDENTITY_FIELDS)]
        position = 1 + IDENTITY_FIELDS.index("arch_index")
        self.key_prefix = "|".join(parts[:position]) + "|"
        self.key_suffix = "|" + "|".join(parts[position + 1:])
        prov = batch.provenance
        needs = request.batch_needs
        if needs.source == "run":
            dataset, batch_size = prov.dataset, (needs.size if needs.size is not None and needs.size < batch.size
                                                 else prov.batch_size)
        elif needs.source == "gaussian":
            dataset, batch_size = "gaussian", int(needs.size or batch.size)
        else:
            dataset, batch_size = "none", 0
        self.constant = {**columns, "value_scale": self.metric.value_scale, "dataset": dataset,
                         "batch_size": batch_size, "device": device, "worker": worker, "run_id": run_id,
                         "package_version": naswot_ray.__version__, "torch_version": torch.__version__,
                         "shared_from": None}

    def key(self, index: int) -> str:
        return hashlib.sha1(f"{self.key_prefix}{index}{self.key_suffix}".encode()).hexdigest()

    def row(self, index: int, arch: str, value: float | None, error: str | None, seconds: float) -> dict:
        return {
            **self.constant, "key": self.key(index), "arch_index": index, "arch": arch,
            "value": float("nan") if error is not None else float(value),  # type: ignore[arg-type]
            "status": "error" if error is not None else "ok", "error": error,
            "arch_seed": arch_seed(self.job.seed, index), "seconds": seconds, "created_at": datetime.now(timezone.utc),
        }


def score_row(job: ScoreJob, space: SearchSpace, batch: Batch, *, index: int, arch: str, request: MetricRequest,
              value: float | None, error: str | None, seconds: float, worker: str, run_id: str, device: str,
              device_class: str, memory_format: str) -> dict:
    """One row of the ``scores`` table (see DESIGN.md, "Scores: the record")."""
    template = RowTemplate(job, space, batch, request, worker=worker, run_id=run_id, device=device,
                           device_class=device_class, memory_format=memory_format)
    return template.row(index, arch, value, error, seconds)


def _safe_finish(finish: Callable[[], float]) -> None:
    try:
        finish()
    except Exception:
        pass


def _one_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    message = text[0] if text else ""
    return f"{type(exc).__name__}: {message}"[:500] if message else type(exc).__name__


__all__ = ["ArchScorer", "DeviceFailure", "default_device", "is_device_error", "is_out_of_memory", "score_identity",
           "score_row"]
