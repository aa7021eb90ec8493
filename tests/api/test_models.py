"""``nr.score`` on models from outside: torchvision networks (``weights=None``, nothing downloaded), models
without rectifiers, functional ``F.relu``, labels, image forms, and agreement with ``score-all``.

Images are small (8 images, 32-64 px) and torch runs on one thread (tests/conftest.py), so the whole
module takes seconds on the 2-core CI box.
"""

from __future__ import annotations

import copy
import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F
import torchvision
from torch import nn
from torch.overrides import TorchFunctionMode

import naswot_ray as nr
from naswot_ray.errors import InputError

B = 8


def images(side: int = 32, seed: int = 0) -> torch.Tensor:
    return torch.randn(B, 3, side, side, generator=torch.Generator().manual_seed(seed))


def torchvision_model(name: str) -> nn.Module:
    torch.manual_seed(0)
    return getattr(torchvision.models, name)(weights=None)


class RectifierInputs(TorchFunctionMode):
    """Records the 0/1 code of the input of every rectifier *function* call, before it runs (so in-place
    rectifiers and modules used many times are each seen once per call): an oracle independent of hooks."""

    def __init__(self) -> None:
        super().__init__()
        self.codes: list[np.ndarray] = []

    def __torch_function__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        rectifier = func in (F.relu, torch.relu, torch.relu_, F.relu6) or (
            func is F.hardtanh and (args[1] if len(args) > 1 else kwargs.get("min_val", -1.0)) == 0)
        if rectifier:
            x = args[0].detach()
            self.codes.append((x > 0).reshape(x.shape[0], -1).to(torch.float64).numpy())
        return func(*args, **kwargs)


def naswot_oracle(model: nn.Module, x: torch.Tensor) -> float:
    """log|det K|, K = sum over rectifier calls of C C^T + (1-C)(1-C)^T, in float64 numpy (metrics-spec 2.1)."""
    probe = copy.deepcopy(model).train()
    recorder = RectifierInputs()
    with torch.inference_mode(), recorder:
        probe(x)
    kernel = sum(c @ c.T + (1 - c) @ (1 - c).T for c in recorder.codes)
    return float(np.linalg.slogdet(kernel)[1])


def state(model: nn.Module) -> dict:
    return {k: v.clone() for k, v in model.state_dict().items()}


@pytest.mark.parametrize("name", ["resnet18", "mobilenet_v3_small"])
def test_torchvision_rectifier_networks_give_correct_finite_values(name: str) -> None:
    """resnet18 reuses one in-place ReLU module twice per block; mobilenet_v3_small mixes in-place ReLUs with
    Hardswish. NASWOT must equal the oracle over every rectifier call; the model must come back untouched."""
    model = torchvision_model(name)
    model.eval()
    before = state(model)
    x = images()
    values = nr.score(model, x, metrics=("naswot", "synflow", "params"))
    assert list(values) == ["naswot", "synflow", "params"]
    assert all(math.isfinite(v) for v in values.values()), values
    assert values["params"] == sum(p.numel() for p in model.parameters())
    assert values["naswot"] == pytest.approx(naswot_oracle(model, x), rel=1e-12, abs=0)
    # scored as given, on copies: weights, BN statistics and the eval flag are unchanged
    assert not model.training
    after = state(model)
    assert all(torch.equal(before[k], after[k]) for k in before)


def test_minus_batch_size_is_the_v1_scores_ceiling_and_naswot_is_not_there() -> None:
    """The NASWOT v1 score (jacob_cov) is at most -B, reached when the input Jacobians are uncorrelated, which
    they nearly are for torchvision networks: it gives about -B for every one of them. NASWOT v2 gives values
    bounded by B ln(units) that tell the two networks apart."""
    x = images(side=64)
    scores = {name: nr.score(torchvision_model(name), x, metrics=("jacob_cov", "naswot"))
              for name in ("resnet18", "mobilenet_v3_small")}
    for values in scores.values():
        assert -B * 1.01 < values["jacob_cov"] < -B
        assert values["naswot"] > 5 * B
    assert abs(scores["resnet18"]["naswot"] - scores["mobilenet_v3_small"]["naswot"]) > 1.0
    assert abs(scores["resnet18"]["jacob_cov"] - scores["mobilenet_v3_small"]["jacob_cov"]) < 0.1


@pytest.mark.parametrize("build, kinds", [
    (lambda: torchvision_model("efficientnet_b0"), "SiLU x49, Sigmoid x16"),
    (lambda: torchvision.models.VisionTransformer(image_size=32, patch_size=8, num_layers=2, num_heads=2, hidden_dim=32,
                                                  mlp_dim=64), "GELU x2"),
], ids=["efficientnet_b0", "vision_transformer"])
def test_networks_without_rectifiers_are_refused_by_naswot_in_one_line(build, kinds: str) -> None:
    model = build()
    with pytest.raises(InputError) as info:
        nr.score(model, images())
    message = str(info.value)
    assert "\n" not in message
    assert message.startswith(f"naswot needs rectifier modules (nn.ReLU, ReLU6, LeakyReLU, PReLU, RReLU) and "
                              f"{type(model).__name__} has none (its activation modules: {kinds})")
    values = nr.score(model, images(), metrics="synflow,params")  # metrics that need no rectifier still score it
    assert values["params"] == sum(p.numel() for p in model.parameters())
    assert not math.isnan(values["synflow"])  # -inf is legal: LayerNorm of synflow's all-ones input is 0


class Functional(nn.Module):
    """One rectifier module and one rectifier function call of each listed kind."""

    def __init__(self, call) -> None:
        super().__init__()
        self.conv1, self.conv2 = nn.Conv2d(3, 8, 3), nn.Conv2d(8, 8, 3)
        self.relu = nn.ReLU()
        self.fc = nn.Linear(8, 10)
        self.call = call

    def forward(self, x):
        x = self.call(self.conv2(self.relu(self.conv1(x))))
        return self.fc(x.mean((2, 3)))


@pytest.mark.parametrize("call, name", [
    (F.relu, "relu"), (torch.relu, "relu"), (lambda t: t.relu(), "relu"), (lambda t: F.relu(t, inplace=True), "relu"),
    (F.relu6, "relu6"), (lambda t: F.hardtanh(t, 0.0, 6.0), "hardtanh"), (lambda t: F.leaky_relu(t, 0.1), "leaky_relu"),
], ids=["F.relu", "torch.relu", "Tensor.relu", "F.relu-inplace", "F.relu6", "F.hardtanh(0,6)", "F.leaky_relu"])
def test_functional_rectifiers_are_detected_never_silently_skipped(call, name: str) -> None:
    with pytest.raises(InputError) as info:
        nr.score(Functional(call), images(), metrics="naswot,params")
    assert str(info.value) == (
        f"Functional calls rectifiers as functions ({name} x1 per forward) outside nn.ReLU-style modules, which "
        "naswot's module hooks cannot see, so its value would cover only 1 of 2 rectifier calls; use nn.ReLU "
        "modules in the model")


def test_a_model_whose_rectifiers_are_all_modules_passes_the_check() -> None:
    values = nr.score(Functional(nn.ReLU()), images(), metrics="naswot")
    assert math.isfinite(values["naswot"])


def test_a_metric_that_needs_labels_says_so_and_scores_with_them() -> None:
    model = Functional(nn.ReLU())
    with pytest.raises(InputError, match=r"^metric 'snip' needs labels: pass labels= \(one integer class per image\)$"):
        nr.score(model, images(), metrics="snip")
    value = nr.score(model, images(), metrics="snip", labels=np.arange(B) % 10)["snip"]
    assert math.isfinite(value) and value > 0


def test_uint8_pixels_need_norm_and_are_normalised_like_a_dataset_batch() -> None:
    from naswot_ray.data.normalization import get_normalization, normalize_uint8_nhwc

    pixels = np.random.default_rng(0).integers(0, 256, size=(B, 32, 32, 3), dtype=np.uint8)
    model = Functional(nn.ReLU())
    with pytest.raises(InputError, match="uint8 images are raw pixels: pass norm= naming the statistics"):
        nr.score(model, pixels)
    from_pixels = nr.score(model, pixels, norm="cifar10")
    as_given = nr.score(model, normalize_uint8_nhwc(pixels, get_normalization("cifar10")))
    assert from_pixels == as_given
    batch = nr.Batch.from_images(pixels, norm="cifar10")
    assert batch.provenance.norm == "cifar10" and nr.score(model, batch) == as_given
    with pytest.raises(InputError, match="float images must be an NCHW tensor"):
        nr.score(model, torch.randn(32, 32, 3))
    with pytest.raises(InputError, match="unknown normalisation 'mnist'"):
        nr.score(model, pixels, norm="mnist")


def test_seed_and_mode_reach_the_metrics_and_the_callers_rng_is_untouched() -> None:
    model = Functional(nn.ReLU())
    torch.manual_seed(123)
    expected = torch.rand(3)
    torch.manual_seed(123)
    clean = nr.score(model, images(), mode="clean", seed=5)
    assert torch.equal(torch.rand(3), expected)
    assert nr.score(model, images(), mode="clean", seed=5) == clean
    with pytest.raises(InputError, match="unknown mode 'fancy'"):
        nr.score(model, images(), mode="fancy")
    with pytest.raises(InputError, match="unknown metric 'nope'"):
        nr.score(model, images(), metrics="naswot,nope")


def test_a_model_that_cannot_run_on_the_images_is_one_line() -> None:
    with pytest.raises(InputError) as info:
        nr.score(Functional(nn.ReLU()), torch.randn(B, 1, 32, 32))
    assert str(info.value).startswith("Functional cannot run on images of shape (8, 1, 32, 32): RuntimeError:")
    assert "\n" not in str(info.value)


@pytest.mark.ray
def test_an_nb201_cell_scores_bit_identically_to_score_all(tmp_path, capsys) -> None:
    """Same cell (built from the engine's per-architecture seed), same batch, seed and mode: the values that
    ``score-all --no-channels-last`` stored and the ones ``nr.score`` returns are equal as floats."""
    from naswot_ray.data import BatchSpec, draw_batch
    from naswot_ray.engine.seeds import arch_seed
    from naswot_ray.store import Store
    from tests.cliutil import run_inprocess

    store, indices, metrics = tmp_path / "store", [7, 1234], "naswot,synflow,params"
    code, _out, err = run_inprocess(capsys, "score-all", "--space", "nb201", "--indices", "7,1234", "--metrics", metrics,
                                    "--dataset", "random", "--batch-size", "16", "--seed", "3", "--no-channels-last",
                                    "--num-workers", "1", "--store", str(store), "--no-progress", "--no-dashboard")
    assert code == 0, err
    rows = Store(str(store)).read("scores").to_pylist()
    assert {r["memory_format"] for r in rows if r["metric"] == "naswot"} == {"contiguous"}
    space = nr.get_space("nb201")
    batch = draw_batch(BatchSpec("random", batch_size=16, seed=3, image_size=32))
    for index in indices:
        seed = arch_seed(3, index)
        torch.manual_seed(seed)
        model = space.build(space.arch(index), 10)
        stored = {r["metric"]: r["value"] for r in rows if r["arch_index"] == index}
        assert nr.score(model, batch, metrics=metrics, seed=seed) == stored


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device here: the GPU path is checked on a machine with one")
def test_a_cpu_model_scores_on_cuda_and_stays_where_it_is() -> None:
    """device="cuda" scores a copy on the GPU; a model already there is scored there by default. cuDNN rounds
    differently from the CPU, so a pre-activation within rounding of 0 may flip: agreement to a tolerance."""
    model, x = torchvision_model("resnet18"), images()
    cpu = nr.score(model, x, metrics="naswot,params")
    gpu = nr.score(model, x, metrics="naswot,params", device="cuda")
    assert next(model.parameters()).device.type == "cpu"
    assert gpu["params"] == cpu["params"] and gpu["naswot"] == pytest.approx(cpu["naswot"], rel=1e-3)
    on_gpu = copy.deepcopy(model).cuda()
    assert nr.score(on_gpu, x, metrics="naswot")["naswot"] == pytest.approx(gpu["naswot"], rel=1e-6)
    with pytest.raises(InputError, match="unknown device 'tpu'"):
        nr.score(model, x, device="tpu")


def test_bad_devices_are_one_line() -> None:
    model = Functional(nn.ReLU())
    with pytest.raises(InputError, match=r"^unknown device 'tpu'; valid choices: cpu, cuda, cuda:N$"):
        nr.score(model, images(), device="tpu")
    if not torch.cuda.is_available():
        with pytest.raises(InputError, match="device 'cuda' asked for, but this machine has no CUDA device"):
            nr.score(model, images(), device="cuda")
