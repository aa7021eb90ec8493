"""``nr.score``: training-free scores of any ``nn.Module`` on images you hold.

The model is scored through the engine's own scoring loop (:meth:`naswot_ray.engine.worker.ArchScorer.score_arch`),
so a value from here and a value from ``score-all`` come from the same code: the same shared forward for
NASWOT-style metrics, the same per-metric seeding, the same fresh copy for metrics that change the network,
the same checks on non-finite values. The model is wrapped as a one-architecture space whose "build" is a
deep copy of it, which is also what keeps the caller's model untouched.

Why NASWOT is not "about minus the batch size" here: that figure comes from the NASWOT *v1* score (the
Jacobian-correlation score, ``jacob_cov`` here), -sum_i [ln(l_i + k) + 1/(l_i + k)] over the eigenvalues of
the B x B correlation matrix of the input Jacobians. Each term is at least 1, with equality exactly at
l_i = 1, and the eigenvalues sum to B, so the score's ceiling is -B, reached when the Jacobian rows are
uncorrelated. A torchvision network on 32-224 px images has nearly orthogonal input Jacobians (mean
absolute off-diagonal correlation 0.003 for resnet18 at 224 px), so v1 sits at its ceiling, -16.001 for
B=16, for every such model and ranks nothing (``python scripts/check_v1_ceiling.py`` prints these figures).
NASWOT v2 (``naswot``, the ICML 2021 score) is log|det K| of the rectifier-code kernel, bounded by
B ln(number of rectifier units), and it does separate these models; tests/api/test_models.py reproduces both.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable, Mapping

import numpy as np
import torch
from torch import nn

from naswot_ray.data.base import Batch
from naswot_ray.errors import InputError
from naswot_ray.spaces.base import SearchSpace


class ScoringFailed(RuntimeError):
    """A metric could not score the model (its message is one line); ``values`` holds the metrics that could."""

    def __init__(self, message: str, values: dict[str, float]) -> None:
        super().__init__(message)
        self.values = values


class ModelSpace(SearchSpace):
    """A one-architecture space whose network is a copy of a given model (how ``nr.score`` reuses the engine)."""

    name = "python-model"
    size = 1

    def __init__(self, model: nn.Module, device: torch.device) -> None:
        self.model, self.device = model, device
        self.label = type(model).__name__

    def arch(self, index: int) -> str:
        self.check_index(index)
        return self.label

    def index(self, arch: str) -> int:
        if arch != self.label:
            raise InputError(f"architecture {arch!r} is not this model ({self.label})")
        return 0

    def mutate(self, arch: str, rng: np.random.Generator) -> str:
        raise InputError("a single model has no neighbours to mutate to")

    def build(self, arch: str, num_classes: int) -> nn.Module:
        return copy.deepcopy(self.model).to(self.device)


def score(model: nn.Module, images: object, *, metrics: Iterable[str] | str = ("naswot",), labels: object = None,
          norm: str | None = None, mode: str | None = None, seed: int = 0, device: str | torch.device | None = None,
          bn_mode: str = "train", metric_options: Mapping[str, Mapping[str, object]] | None = None) -> dict[str, float]:
    """Score ``model`` with training-free ``metrics``; returns ``{metric: value}`` in the order asked.

    The model is scored **as given**: its current weights, never re-initialised from ``seed``. Scoring
    runs on a deep copy, so the model you pass (weights, BatchNorm statistics, train/eval flag, device) is
    never changed. A metric whose definition re-initialises or rewrites the weights (epsilon's shared
    constant weights, synflow's absolute values) does so on its own fresh copy.

    Args:
        model: any ``nn.Module`` mapping an NCHW batch to logits.
        images: a float NCHW tensor (used exactly as given: normalise it yourself), uint8 NHWC pixels (then
            ``norm`` is required and names the statistics: cifar10, cifar100, imagenet16-120, imagenet), or
            a :class:`Batch`.
        metrics: metric names (``nr.list_metrics()``), or one comma-separated string; a group name
            expands to its members.
        labels: one integer class per image, for metrics that read labels (a metric that needs them and
            gets none is a one-line :class:`InputError`).
        mode: a metric mode, e.g. NASWOT's ``reference`` (default, as in ``score-all``) or ``clean``.
            ``reference`` follows the reference code and also hooks every module whose class name contains
            "ReLU" (NB201's ``ReLUConvBN`` containers, so published numbers reproduce); for a model of your
            own with such container names, ``clean`` counts each rectifier exactly once.
        seed: the seed metrics draw their randomness from (Gaussian inputs, sub-sampling); ``score-all``
            passes each architecture the seed ``naswot_ray.engine.seeds.arch_seed(run_seed, index)``.
        device: where to score (default: the device of the model's parameters, else the CPU); the copy
            is moved there, the model itself stays where it is.
        bn_mode: ``train`` (batch statistics, as every reference does) or ``eval``.
        metric_options: ``{metric: {option: value}}`` (see ``naswot-ray metrics``).

    NASWOT needs rectifier modules: a model without any (EfficientNet's SiLU, a vision transformer's
    GELU) is refused with one line, as is a model that calls ``F.relu``-style functions outside modules
    (module hooks cannot see those; see :mod:`naswot_ray.api.rectifiers`). Values agree bit for bit with
    ``score-all --no-channels-last`` for the same network, batch, seed and mode (NCHW memory format).
    A metric that fails raises :class:`ScoringFailed` naming it.
    """
    from naswot_ray.api import rectifiers
    from naswot_ray.data.sources import BatchSpec
    from naswot_ray.engine.job import BN_MODES, ScoreJob
    from naswot_ray.engine.worker import ArchScorer
    from naswot_ray.metrics import MetricRequest, get_metric, parse_metric_list

    if not isinstance(model, nn.Module):
        raise InputError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    batch = Batch.from_images(images, labels, norm=norm)
    names = parse_metric_list(metrics if isinstance(metrics, str) else ",".join(metrics))
    given = {get_metric(name).name: dict(options) for name, options in (metric_options or {}).items()}
    unknown = sorted(set(given) - set(names))
    if unknown:
        raise InputError(f"metric_options names metric {unknown[0]!r}, which is not requested; requested: {', '.join(names)}")
    if mode is not None and not any(mode in get_metric(n).modes for n in names):
        modes = sorted({m for n in names for m in get_metric(n).modes})
        raise InputError(f"unknown mode {mode!r} for metrics {', '.join(names)}; valid choices: {', '.join(modes)}")
    if bn_mode not in BN_MODES:
        raise InputError(f"unknown BN mode {bn_mode!r}; valid choices: {', '.join(BN_MODES)}")
    requests = [MetricRequest.make(get_metric(name), mode, given.get(name)) for name in names]
    for request in requests:
        if request.batch_needs.labels and batch.y is None:
            raise InputError(f"metric {request.name!r} needs labels: pass labels= (one integer class per image)")
    target = _device(model, device)
    label = type(model).__name__
    x = batch.x.to(target)
    # one probe per NASWOT-style mode asked for (the hooked modules depend on the mode); it also sees the logits
    modes = list(dict.fromkeys(r.mode for r in requests if rectifiers.reads_rectifiers(r.metric))) or [requests[0].mode]
    with torch.random.fork_rng(devices=[target] if target.type == "cuda" else []):
        found = {m: rectifiers.census(model, x, mode=m, device=target, bn_train=bn_mode == "train") for m in modes}
        for request in requests:
            if rectifiers.reads_rectifiers(request.metric):
                problem = rectifiers.check_rectifiers(found[request.mode], metric=request.name, model_name=label)
                if problem:
                    raise InputError(problem)
        outputs = found[modes[0]].num_outputs
        job = ScoreJob(space=ModelSpace.name, metrics=names, store="", mode=mode, metric_options=given, seed=seed,
                       bn_mode=bn_mode, device=str(target), channels_last=False, num_classes=outputs or 1,
                       batch=BatchSpec("python", batch_size=batch.size, seed=seed, image_size=int(x.shape[-1])),
                       space_object=ModelSpace(model, target), progress=False)
        rows = ArchScorer(job, batch, worker="python").score_arch(0, label, int(seed))
    values = {row["metric"]: float(row["value"]) for row in rows if row["status"] == "ok"}
    failed = [row for row in rows if row["status"] != "ok"]
    if failed:
        detail = "; ".join(f"{row['metric']}: {row['error']}" for row in failed)
        raise ScoringFailed(f"{len(failed)} metric(s) failed on {label}: {detail}", values)
    return {name: values[name] for name in names}


def _device(model: nn.Module, device: str | torch.device | None) -> torch.device:
    if device is not None:
        from naswot_ray.engine.job import DEVICE_CHOICES, DEVICE_PATTERN

        if not DEVICE_PATTERN.match(str(device)):
            raise InputError(f"unknown device {str(device)!r}; valid choices: {DEVICE_CHOICES}")
        target = torch.device(device)
        if target.type == "cuda" and not torch.cuda.is_available():
            raise InputError(f"device {str(device)!r} asked for, but this machine has no CUDA device")
        return target
    return _on(model)


def _on(model: nn.Module) -> torch.device:
    tensor = next(model.parameters(), None)
    if tensor is None:
        tensor = next(model.buffers(), None)
    return tensor.device if tensor is not None else torch.device("cpu")


__all__ = ["ModelSpace", "ScoringFailed", "score"]
