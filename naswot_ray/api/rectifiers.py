"""Which rectifiers a model from outside actually runs, and whether NASWOT's module hooks can see them all.

NASWOT (and any metric that reads rectifier codes through module hooks) sees a rectifier only when it
is a module: a functional ``F.relu`` / ``torch.relu`` / ``x.relu()`` call inside some ``forward`` runs no
hook, so a kernel built from the hooks would silently cover a subset of the network's rectifiers. The
spaces this package ships use rectifier modules only; a model from outside may not. So before scoring
one, :func:`census` runs one small probe forward (on a copy, a few images) under a
:class:`torch.overrides.TorchFunctionMode` that sees every rectifier *function* call, with hooks that
mark when execution is inside a module the metric hooks. A rectifier function called outside such a
module is one NASWOT would miss; :func:`check_rectifiers` then refuses with one line instead of
returning a value from part of the network.

Networks without any rectifier (EfficientNet's SiLU, a vision transformer's GELU) are refused with one
line too: NASWOT's kernel is defined on the on/off codes of rectifiers. We do not generalise it to the
sign of a smooth activation's input; that would be a different score with no published evidence behind
it, stored under NASWOT's name.
"""

from __future__ import annotations

import copy
from collections import Counter
from dataclasses import dataclass, field

import torch
import torch.nn.functional as F
from torch import nn
from torch.overrides import TorchFunctionMode

from naswot_ray.errors import InputError

#: metrics that read rectifier codes through module hooks (a metric class may also set ``reads_rectifiers = True``)
RECTIFIER_READERS = frozenset({"naswot"})
#: images of the batch the probe forward uses (enough for train-mode BatchNorm, cheap for big models)
PROBE_IMAGES = 4

_RECTIFIER_FUNCTIONS = {
    F.relu, F.relu_, torch.relu, torch.relu_, torch.Tensor.relu, torch.Tensor.relu_, F.relu6, F.leaky_relu,
    F.leaky_relu_, F.prelu, torch.prelu, F.rrelu, F.rrelu_, torch.rrelu, torch.rrelu_,
}


def reads_rectifiers(metric: object) -> bool:
    return bool(getattr(metric, "reads_rectifiers", False)) or getattr(metric, "name", "") in RECTIFIER_READERS


@dataclass
class Census:
    """What one probe forward of a model ran."""

    #: rectifier function calls made inside a hooked module, and outside any (the ones hooks miss)
    inside: int = 0
    outside: Counter = field(default_factory=Counter)
    #: hooked modules present, and the activation modules of the model by class name
    hooked_modules: int = 0
    activations: Counter = field(default_factory=Counter)
    #: the width of a 2-d logits output (None when the model returns something else)
    num_outputs: int | None = None


class _RectifierCalls(TorchFunctionMode):
    def __init__(self) -> None:
        super().__init__()
        self.depth = 0
        self.inside = 0
        self.outside: Counter = Counter()

    def __torch_function__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        if func in _RECTIFIER_FUNCTIONS or (func is F.hardtanh and _lower_bound(args, kwargs) == 0):
            if self.depth:
                self.inside += 1
            else:
                self.outside[getattr(func, "__name__", str(func))] += 1
        return func(*args, **kwargs)


def census(model: nn.Module, x: torch.Tensor, *, mode: str, device: torch.device | None = None,
           bn_train: bool = True) -> Census:
    """Run ``model`` on the first :data:`PROBE_IMAGES` images of ``x`` (a copy of the model on ``device``, so
    nothing of the caller's changes) and count its rectifier calls against the modules NASWOT hooks under
    ``mode``. A model that cannot run on the images is a one-line InputError."""
    from naswot_ray.metrics.naswot import hooked_modules

    probe = copy.deepcopy(model)
    if device is not None:
        probe = probe.to(device)
    probe.train(bn_train)
    hooked = hooked_modules(probe, mode)
    tracker = _RectifierCalls()
    result = Census(hooked_modules=len(hooked), activations=activation_modules(probe))

    def enter(_module: nn.Module, _inputs: object) -> None:
        tracker.depth += 1

    def leave(_module: nn.Module, _inputs: object, _output: object) -> None:
        tracker.depth -= 1

    handles = [h for m in hooked for h in (m.register_forward_pre_hook(enter), m.register_forward_hook(leave))]
    try:
        with torch.inference_mode(), tracker:
            output = probe(x[:PROBE_IMAGES])
    except Exception as exc:
        message = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
        raise InputError(f"{type(model).__name__} cannot run on images of shape {tuple(x.shape)}: "
                         f"{type(exc).__name__}: {message}") from None
    finally:
        for handle in handles:
            handle.remove()
    result.inside, result.outside = tracker.inside, tracker.outside
    if isinstance(output, torch.Tensor) and output.dim() == 2:
        result.num_outputs = int(output.shape[1])
    return result


def activation_modules(model: nn.Module) -> Counter:
    """Activation modules of ``model`` by class name (torch's activation classes and their subclasses)."""
    return Counter(type(m).__name__ for m in model.modules() if not isinstance(m, nn.MultiheadAttention)
                   and any(c.__module__ == "torch.nn.modules.activation" for c in type(m).__mro__[:-2]))


def check_rectifiers(found: Census, *, metric: str, model_name: str) -> str | None:
    """None when ``metric`` sees every rectifier ``model_name`` runs, else the one-line reason it cannot."""
    if found.outside:
        calls = ", ".join(f"{name} x{count}" for name, count in sorted(found.outside.items()))
        return (f"{model_name} calls rectifiers as functions ({calls} per forward) outside nn.ReLU-style modules, "
                f"which {metric}'s module hooks cannot see, so its value would cover only {found.inside} of "
                f"{found.inside + sum(found.outside.values())} rectifier calls; use nn.ReLU modules in the model")
    if found.hooked_modules == 0:
        kinds = ", ".join(f"{name} x{count}" for name, count in found.activations.most_common()) or "none"
        return (f"{metric} needs rectifier modules (nn.ReLU, ReLU6, LeakyReLU, PReLU, RReLU) and {model_name} has none "
                f"(its activation modules: {kinds}); the score is defined on rectifier on/off codes, so score this "
                "model with metrics that do not need them (e.g. synflow, params)")
    return None


def _lower_bound(args: tuple, kwargs: dict) -> float | None:
    value = kwargs.get("min_val", args[1] if len(args) > 1 else -1.0)
    return float(value) if isinstance(value, (int, float)) else None


__all__ = ["Census", "RECTIFIER_READERS", "activation_modules", "census", "check_rectifiers", "reads_rectifiers"]
