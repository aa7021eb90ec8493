"""flops: floating-point operations of one forward of one image, NB201/NATS counting rule.

Only Conv2d and Linear count (spaces-spec 1.7): a conv costs k_h*k_w*(C_in/groups)*C_out*H_out*W_out
(+ C_out*H_out*W_out with a bias), a Linear in*out (+ out with a bias), per call; pooling, BN and
activations are free. The value is the raw count (NB201's recorded "flop" is this divided by 1e6).
Counted with forward hooks on one zero image of the batch's size (the space's native size when no
batch is shipped), in eval mode so BN running statistics are left alone. As a baseline proxy
(NASLib / NAS-Bench-Suite-Zero) more compute predicts higher accuracy, so ``higher_is_better``.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from naswot_ray.data.base import Batch
from naswot_ray.metrics import register_metric
from naswot_ray.metrics.base import Metric, MetricNeeds, ScoringContext
from naswot_ray.metrics.netutil import input_shape


def layer_flops(module: nn.Module, output: torch.Tensor) -> int:
    """FLOPs of one call of a Conv2d or Linear module for one sample, from its output shape."""
    if isinstance(module, nn.Conv2d):
        c_out, h_out, w_out = output.shape[1:]
        k_h, k_w = module.kernel_size
        per_position = k_h * k_w * (module.in_channels // module.groups) + (1 if module.bias is not None else 0)
        return per_position * c_out * h_out * w_out
    if isinstance(module, nn.Linear):
        rows = math.prod(output.shape[1:-1])
        return rows * (module.in_features * module.out_features
                       + (module.out_features if module.bias is not None else 0))
    raise TypeError(f"no FLOP rule for {type(module).__name__}")


def count_flops(model: nn.Module, shape: tuple[int, int, int]) -> int:
    """Total Conv2d/Linear FLOPs of one forward of a [1, *shape] input (eval mode, restored after)."""
    total = 0

    def count(module: nn.Module, _inputs: tuple, output: torch.Tensor) -> None:
        nonlocal total
        total += layer_flops(module, output)

    layers = [m for m in model.modules() if isinstance(m, (nn.Conv2d, nn.Linear))]
    handles = [m.register_forward_hook(count) for m in layers]
    modes = [(m, m.training) for m in model.modules()]
    param = next(model.parameters(), None)
    device = param.device if param is not None else torch.device("cpu")
    dtype = param.dtype if param is not None and param.is_floating_point() else torch.float32
    try:
        model.eval()
        with torch.inference_mode():
            model(torch.zeros((1, *shape), dtype=dtype, device=device))
    finally:
        for handle in handles:
            handle.remove()
        for module, training in modes:
            module.training = training
    return total


@register_metric("flops")
class Flops(Metric):
    name = "flops"
    description = ("conv/linear FLOPs of one forward of one image (k*k*C_in/g*C_out*H*W [+bias], in*out+out), "
                   "raw count; 1 forward, no data")
    higher_is_better = True
    needs = MetricNeeds(data=False, labels=False, grad=False)
    device_independent = True

    def score(self, model: nn.Module, batch: Batch | None, *, seed: int, mode: str, ctx: ScoringContext) -> float:
        return float(count_flops(model, input_shape(batch, ctx.space)))
