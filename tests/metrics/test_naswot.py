"""NASWOT: the fast one-forward path equals the reference 3-pass procedure, and hand-worked values."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from torch import nn

from naswot_ray.data.base import Batch, BatchProvenance
from naswot_ray.metrics import get_metric
from naswot_ray.metrics.naswot import KernelAccumulator, hooked_modules
from naswot_ray.spaces import get_space
from tests.conftest import CIFAR_NPZ


def _batch(x: torch.Tensor) -> Batch:
    prov = BatchProvenance("test", "train", x.shape[0], 0, "sha", "none", x.shape[-1], 10)
    return Batch(x, None, prov)


@pytest.fixture(scope="module")
def images() -> torch.Tensor:
    """32 real CIFAR-10 training images (normalised) when the shared data exists, else Gaussian noise."""
    if CIFAR_NPZ.exists():
        from naswot_ray.data import BatchSpec, draw_batch

        return draw_batch(BatchSpec(f"npz:{CIFAR_NPZ}", batch_size=32, seed=3)).x
    return torch.randn(32, 3, 32, 32, generator=torch.Generator().manual_seed(3))


def reference_three_pass(net: nn.Module, x: torch.Tensor) -> tuple[np.ndarray, float]:
    """The reference procedure as metrics-spec 2.1 describes it, written out as an oracle.

    Pass 1: forward on x with requires_grad (hooks fire, nothing is counted yet). Pass 2: backward of
    the outputs with ones; a module backward hook marks every hooked module that received a gradient
    as visited. Pass 3: a second forward on a clone; every visited module adds C C^T + (1-C)(1-C)^T,
    computed in float32 and accumulated in a float64 numpy array. Score = numpy slogdet.
    """
    batch_size = x.shape[0]
    kernel = np.zeros((batch_size, batch_size), dtype=np.float64)
    visited: set[int] = set()
    counting = {"on": False}

    def forward_hook(module, inputs, _output):
        nonlocal kernel
        if not counting["on"] or id(module) not in visited:
            return
        codes = (inputs[0].reshape(batch_size, -1) > 0).float()
        kernel = kernel + (codes @ codes.t()).detach().numpy() + ((1.0 - codes) @ (1.0 - codes.t())).detach().numpy()

    def backward_hook(module, _grad_in, _grad_out):
        visited.add(id(module))

    handles = []
    for module in net.modules():
        if "ReLU" in str(type(module)):
            handles.append(module.register_forward_hook(forward_hook))
            handles.append(module.register_backward_hook(backward_hook))
    x2 = x.clone()
    x = x.clone().requires_grad_(True)
    y = net(x)
    y.backward(torch.ones_like(y))
    counting["on"] = True
    with torch.no_grad():
        net(x2)
    for h in handles:
        h.remove()
    _sign, logdet = np.linalg.slogdet(kernel)
    return kernel, float(logdet)


def fast_kernel(net: nn.Module, x: torch.Tensor, mode: str) -> tuple[np.ndarray, float]:
    acc = KernelAccumulator()
    from naswot_ray.metrics.naswot import _Hooks

    hooks = _Hooks(net, mode)
    acc = hooks.acc
    with torch.inference_mode():
        net(x)
    value = hooks.finish()
    return acc.kernel().numpy(), value


def _cells() -> list[str]:
    space = get_space("nb201")
    rng = np.random.default_rng(2024)
    cells = [space.arch(int(i)) for i in rng.choice(space.size, size=20, replace=False)]
    cells += ["|none~0|+|none~0|none~1|+|none~0|none~1|none~2|",
              "|skip_connect~0|+|skip_connect~0|skip_connect~1|+|skip_connect~0|skip_connect~1|skip_connect~2|",
              "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|nor_conv_3x3~0|nor_conv_3x3~1|nor_conv_3x3~2|"]
    return cells


@pytest.mark.filterwarnings("ignore:Using a non-full backward hook")
@pytest.mark.parametrize("arch", _cells())
def test_fast_path_equals_reference_three_pass(arch: str, images: torch.Tensor) -> None:
    space = get_space("nb201")
    torch.manual_seed(7)
    net = space.build(arch, 1)
    net.train()
    k_ref, s_ref = reference_three_pass(net, images)
    k_fast, s_fast = fast_kernel(net, images, "reference")
    np.testing.assert_array_equal(k_fast, k_ref)  # exact integer kernels
    if math.isinf(s_ref):
        assert s_fast == s_ref == -math.inf
    else:
        assert s_fast == pytest.approx(s_ref, rel=1e-12, abs=1e-9)
    metric = get_metric("naswot")
    assert metric.score(net, _batch(images), seed=0, mode="reference", ctx=None) == pytest.approx(s_fast, rel=1e-12)


def test_degenerate_cells_give_minus_infinity_not_a_crash(images: torch.Tensor) -> None:
    space = get_space("nb201")
    net = space.build("|none~0|+|none~0|none~1|+|none~0|none~1|none~2|", 10).train()
    # every rectifier sees all-zero inputs except the stem-fed reduction path: codes are identical
    # for each image only if the whole signal is cut; the all-none cell cuts it at the first cell.
    value = get_metric("naswot").score(net, _batch(images), seed=0, mode="reference", ctx=None)
    assert value == -math.inf


def test_reference_mode_counts_relu_containers_twice(images: torch.Tensor) -> None:
    space = get_space("nb201")
    arch = "|nor_conv_3x3~0|+|skip_connect~0|nor_conv_1x1~1|+|avg_pool_3x3~0|none~1|nor_conv_3x3~2|"
    net = space.build(arch, 10).train()
    ref_modules = hooked_modules(net, "reference")
    clean_modules = hooked_modules(net, "clean")
    conv_edges = 3 * 15 + 2 * 2  # three conv edges per cell x 15 cells, two ReLUConvBN per reduction block
    assert len(clean_modules) == conv_edges + 1  # + the final ReLU
    assert len(ref_modules) == 2 * conv_edges + 1
    s_ref = get_metric("naswot").score(net, _batch(images), seed=0, mode="reference", ctx=None)
    s_clean = get_metric("naswot").score(net, _batch(images), seed=0, mode="clean", ctx=None)
    assert s_ref > s_clean  # double counting adds units to every entry of K


def test_hand_worked_kernel() -> None:
    """Two images, one ReLU over 3 units: codes [1,0,1] and [1,1,0] -> K = [[3,1],[1,3]], log det 8."""
    net = nn.Sequential(nn.ReLU())
    x = torch.tensor([[1.0, -2.0, 3.0], [0.5, 4.0, -1.0]])
    value = get_metric("naswot").score(net, _batch(x), seed=0, mode="clean", ctx=None)
    assert value == pytest.approx(math.log(8.0))
    k, _ = fast_kernel(net, x, "clean")
    np.testing.assert_array_equal(k, [[3.0, 1.0], [1.0, 3.0]])


def test_relu_called_twice_counts_twice() -> None:
    relu = nn.ReLU()

    class Twice(nn.Module):
        def forward(self, x):
            return relu(relu(x) - 1.0)

    x = torch.tensor([[2.0, -1.0], [0.5, 3.0]])
    net = Twice()
    net.relu = relu
    k, _ = fast_kernel(net, x, "clean")
    # call 1 codes: [1,0],[1,1]; call 2 inputs relu(x)-1 = [1,-1],[-0.5,2] -> codes [1,0],[0,1]
    np.testing.assert_array_equal(k, [[2.0 + 2.0, 1.0 + 0.0], [1.0 + 0.0, 2.0 + 2.0]])


def test_network_without_rectifiers_is_an_error() -> None:
    with pytest.raises(ValueError, match="no rectifier"):
        get_metric("naswot").score(nn.Linear(3, 2), _batch(torch.randn(4, 3)), seed=0, mode="clean", ctx=None)


def test_faithful_mode_equals_reference_mode(images: torch.Tensor) -> None:
    """The library's slow 3-pass mode (used as the throughput baseline) agrees with the fast path."""
    space = get_space("nb201")
    metric = get_metric("naswot")
    for arch in _cells()[:3] + _cells()[-3:]:
        torch.manual_seed(11)
        net = space.build(arch, 10).train()
        fast = metric.score(net, _batch(images), seed=0, mode="reference", ctx=None)
        slow = metric.score(net, _batch(images), seed=0, mode="faithful", ctx=None)
        assert slow == pytest.approx(fast, rel=1e-12, abs=1e-9) or (math.isinf(fast) and slow == fast)
