"""AnyNet networks of the NDS Vanilla/ResNet/ResNeXt spaces (spaces-spec 4.8, 4.9), and their NDS FLOP count.

An NDS AnyNet record's ``net`` holds parallel lists ``ds, ws, ss`` (+ ``bot_muls, num_gs`` for
bottleneck blocks). Two readings exist and both are built here:

- ``compat="nds"`` (default, faithful): entry 0 is the stem (``ResStemCifar``: Conv3x3 stride ss[0] ->
  BN -> ReLU to ws[0]); entries 1.. are the stages; ``num_gs`` is the *number of groups*. This
  reproduces the records' ``params`` exactly (83,002 / 594,138 / 689,770 on the documented records).
- ``compat="naswot"``: what NASWOT's ``nasspace.NDS`` builds: keys renamed with ``num_gs`` read as
  *group width* (groups = w_b // num_gs), a fixed 12-channel ImageNet stem (``res_stem_in`` for the
  ResNet/ResNeXt spaces, ``simple_stem_in`` for Vanilla) and every list entry built as a stage. A
  bottleneck record whose entry 0 has bot_mul 0 then asks for 0 groups and fails exactly where the
  reference fails (``ValueError: groups must be a positive integer``), which the engine records as an
  error row, as the reference recorded NaN.

Both are initialised as pycls does after construction (conv N(0, 2/(k*k*C_out)), BN 1/0, Linear
N(0, 0.01^2) with zero bias, in ``Module.apply`` order) after PyTorch's constructor init has advanced the
generator, so weights match the reference under one seed. Module registration order mirrors pycls.

ImageNet (``_in``) records: [UNVERIFIED] encoding. We read them like CIFAR records (entry 0 = stem,
entries 1.. = stages) with pycls's ImageNet ResNet stem (Conv7x7 stride ss[0] -> BN -> ReLU ->
MaxPool3x3/2) in place of the CIFAR stem. Inspect real ``_in`` records before trusting this.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import torch
from torch import nn

from naswot_ray.errors import InputError, unknown_choice
from naswot_ray.spaces.parts import NetworkParts, rectifier_modules

BLOCK_TYPES = ("double_plain_block", "res_basic_block", "res_bottleneck_block")
_BLOCK_ALIASES = {"vanilla_block": "double_plain_block"}
COMPAT_MODES = ("nds", "naswot")
#: NASWOT's fixed stem width (nasspace.NDS.get_network)
NASWOT_STEM_WIDTH = 12
#: keys a record may carry with a falsy value (NNI/NASWOT evidence, spaces-spec 5.4)
_IGNORED_IF_FALSY = ("stem_type", "stem_w", "se_r", "nc")


@dataclass(frozen=True)
class Stage:
    depth: int
    width: int
    stride: int
    bottleneck_width: int | None = None  # round(width * bot_mul), bottleneck blocks only
    groups: int | None = None


@dataclass(frozen=True)
class AnyNetLayout:
    """The resolved network: which stem, its width and stride, the stages and the block type."""

    stem: str  # "res_stem_cifar" | "res_stem_in" | "simple_stem_in"
    stem_width: int
    stem_stride: int
    block_type: str
    stages: tuple[Stage, ...]


def _int_list(net: Mapping, key: str) -> list[int]:
    value = net.get(key)
    if not isinstance(value, list) or not value or any(isinstance(v, bool) or not isinstance(v, int) for v in value):
        raise InputError(f"AnyNet net[{key!r}] must be a non-empty list of ints, got {value!r}")
    return value


def _optional_list(net: Mapping, new: str, legacy: str) -> list | None:
    value = net.get(new) if net.get(new) else net.get(legacy)
    return list(value) if value else None


def anynet_layout(net: Mapping, *, compat: str = "nds", imagenet: bool = False, res_stem: bool = True) -> AnyNetLayout:
    """Resolve an NDS AnyNet ``net`` dict into a layout under ``compat``.

    ``res_stem`` only matters for ``compat="naswot"``: NASWOT picks ``res_stem_in`` when the space
    name contains "ResN" (ResNet, ResNeXt-*) and ``simple_stem_in`` otherwise (Vanilla).
    """
    if compat not in COMPAT_MODES:
        raise unknown_choice("NDS compat mode", compat, COMPAT_MODES)
    if not isinstance(net, Mapping):
        raise InputError(f"AnyNet net must be a dict, got {type(net).__name__}")
    block = _BLOCK_ALIASES.get(net.get("block_type"), net.get("block_type"))
    if block not in BLOCK_TYPES:
        raise unknown_choice("AnyNet block_type", net.get("block_type"), BLOCK_TYPES)
    for key in _IGNORED_IF_FALSY:
        if net.get(key):
            raise InputError(f"AnyNet net[{key!r}] = {net[key]!r} is not supported (NDS records leave it empty)")
    ds, ws, ss = _int_list(net, "ds"), _int_list(net, "ws"), _int_list(net, "ss")
    bms = _optional_list(net, "bms", "bot_muls")
    gs = _optional_list(net, "gws", "num_gs")
    n = len(ds)
    if len(ws) != n or len(ss) != n:
        raise InputError(f"AnyNet ds/ws/ss must have equal lengths, got {len(ds)}/{len(ws)}/{len(ss)}")
    if block == "res_bottleneck_block":
        if bms is None or gs is None or len(bms) != n or len(gs) != n:
            raise InputError(f"res_bottleneck_block needs bot_muls and num_gs with {n} entries each")
    elif bms or gs:
        raise InputError(f"{block} takes no bot_muls/num_gs, got {bms!r}/{gs!r}")

    def stage(i: int) -> Stage:
        if block != "res_bottleneck_block":
            return Stage(ds[i], ws[i], ss[i])
        w_b = int(round(ws[i] * float(bms[i])))
        if compat == "nds":
            groups = int(gs[i])
        else:  # NASWOT's pycls copy reads the value as a group width
            if int(gs[i]) <= 0:
                raise ValueError(f"group width must be positive, got {gs[i]!r}")
            groups = w_b // int(gs[i])
        return Stage(ds[i], ws[i], ss[i], w_b, groups)

    if compat == "naswot":
        stem = "res_stem_in" if res_stem else "simple_stem_in"
        stem_stride = 2
        return AnyNetLayout(stem, NASWOT_STEM_WIDTH, stem_stride, block, tuple(stage(i) for i in range(n)))
    if n < 2:
        raise InputError(f"an NDS AnyNet record needs a stem entry and at least one stage, got {n} entries")
    if ds[0] != 1:
        raise InputError(f"entry 0 of an NDS AnyNet record is the stem and must have depth 1, got ds[0] = {ds[0]}")
    stem = "res_stem_in" if imagenet else "res_stem_cifar"
    return AnyNetLayout(stem, ws[0], ss[0], block, tuple(stage(i) for i in range(1, n)))


# -- modules (registration order = pycls's, which fixes the init order) ------------------------------

def _conv(w_in: int, w_out: int, k: int, stride: int = 1, groups: int = 1) -> nn.Conv2d:
    return nn.Conv2d(w_in, w_out, k, stride=stride, padding=k // 2, groups=groups, bias=False)


class ResStemCifar(nn.Module):
    """Conv3x3 (stride s) -> BN -> ReLU: the NDS CIFAR stem (record entry 0)."""

    def __init__(self, w_in: int, w_out: int, stride: int = 1) -> None:
        super().__init__()
        self.conv = _conv(w_in, w_out, 3, stride)
        self.bn = nn.BatchNorm2d(w_out)
        self.relu = nn.ReLU(inplace=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.relu(self.bn(self.conv(x)))


class ResStemIN(nn.Module):
    """Conv7x7 (stride s, pad 3) -> BN -> ReLU -> MaxPool3x3/2: the ResNet ImageNet stem."""

    def __init__(self, w_in: int, w_out: int, stride: int = 2) -> None:
        super().__init__()
        self.conv = _conv(w_in, w_out, 7, stride)
        self.bn = nn.BatchNorm2d(w_out)
        self.relu = nn.ReLU(inplace=False)
        self.pool = nn.MaxPool2d(3, stride=2, padding=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.pool(self.relu(self.bn(self.conv(x))))


class SimpleStemIN(nn.Module):
    """Conv3x3 stride 2 -> BN -> ReLU (NASWOT's stem for Vanilla records)."""

    def __init__(self, w_in: int, w_out: int, stride: int = 2) -> None:
        super().__init__()
        self.conv = _conv(w_in, w_out, 3, stride)
        self.bn = nn.BatchNorm2d(w_out)
        self.relu = nn.ReLU(inplace=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.relu(self.bn(self.conv(x)))


_STEMS: dict[str, type[nn.Module]] = {
    "res_stem_cifar": ResStemCifar, "res_stem_in": ResStemIN, "simple_stem_in": SimpleStemIN,
}


class PlainBlock(nn.Module):
    """``double_plain_block`` (Vanilla): [Conv3x3 -> BN -> ReLU] x 2, no residual."""

    def __init__(self, w_in: int, w_out: int, stride: int, stage: Stage) -> None:
        super().__init__()
        self.a = _conv(w_in, w_out, 3, stride)
        self.a_bn = nn.BatchNorm2d(w_out)
        self.a_relu = nn.ReLU(inplace=False)
        self.b = _conv(w_out, w_out, 3)
        self.b_bn = nn.BatchNorm2d(w_out)
        self.b_relu = nn.ReLU(inplace=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.b_relu(self.b_bn(self.b(self.a_relu(self.a_bn(self.a(x))))))


class BasicTransform(nn.Module):
    """Conv3x3 (stride s) -> BN -> ReLU -> Conv3x3 -> BN."""

    def __init__(self, w_in: int, w_out: int, stride: int) -> None:
        super().__init__()
        self.a = _conv(w_in, w_out, 3, stride)
        self.a_bn = nn.BatchNorm2d(w_out)
        self.a_relu = nn.ReLU(inplace=False)
        self.b = _conv(w_out, w_out, 3)
        self.b_bn = nn.BatchNorm2d(w_out)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.b_bn(self.b(self.a_relu(self.a_bn(self.a(x)))))


class BottleneckTransform(nn.Module):
    """Conv1x1 -> BN -> ReLU -> grouped Conv3x3 (stride s) -> BN -> ReLU -> Conv1x1 -> BN."""

    def __init__(self, w_in: int, w_out: int, stride: int, w_b: int, groups: int) -> None:
        super().__init__()
        if groups <= 0:
            # The NASWOT reading of a stem entry (bot_mul 0) lands here, as it does in the reference.
            raise ValueError(f"groups must be a positive integer (bottleneck width {w_b} gives {groups} groups)")
        self.a = _conv(w_in, w_b, 1)
        self.a_bn = nn.BatchNorm2d(w_b)
        self.a_relu = nn.ReLU(inplace=False)
        self.b = _conv(w_b, w_b, 3, stride, groups)
        self.b_bn = nn.BatchNorm2d(w_b)
        self.b_relu = nn.ReLU(inplace=False)
        self.c = _conv(w_b, w_out, 1)
        self.c_bn = nn.BatchNorm2d(w_out)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.b_relu(self.b_bn(self.b(self.a_relu(self.a_bn(self.a(x))))))
        return self.c_bn(self.c(x))


class _ResidualBlock(nn.Module):
    """relu(shortcut(x) + f(x)); the shortcut is Conv1x1 (stride s) -> BN when the shape changes."""

    def __init__(self, w_in: int, w_out: int, stride: int) -> None:
        super().__init__()
        self.proj_block = w_in != w_out or stride != 1
        if self.proj_block:
            self.proj = _conv(w_in, w_out, 1, stride)
            self.bn = nn.BatchNorm2d(w_out)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        shortcut = self.bn(self.proj(x)) if self.proj_block else x
        return self.relu(shortcut + self.f(x))


class ResBasicBlock(_ResidualBlock):
    """``res_basic_block`` (ResNet)."""

    def __init__(self, w_in: int, w_out: int, stride: int, stage: Stage) -> None:
        super().__init__(w_in, w_out, stride)
        self.f = BasicTransform(w_in, w_out, stride)
        self.relu = nn.ReLU(inplace=False)


class ResBottleneckBlock(_ResidualBlock):
    """``res_bottleneck_block`` (ResNeXt-A/B, ResNet-B)."""

    def __init__(self, w_in: int, w_out: int, stride: int, stage: Stage) -> None:
        super().__init__(w_in, w_out, stride)
        assert stage.bottleneck_width is not None and stage.groups is not None
        self.f = BottleneckTransform(w_in, w_out, stride, stage.bottleneck_width, stage.groups)
        self.relu = nn.ReLU(inplace=False)


_BLOCKS: dict[str, type[nn.Module]] = {
    "double_plain_block": PlainBlock, "res_basic_block": ResBasicBlock, "res_bottleneck_block": ResBottleneckBlock,
}


class AnyStage(nn.Module):
    """``depth`` blocks; the first takes the previous width and the stage stride."""

    def __init__(self, w_in: int, stage: Stage, block: type[nn.Module]) -> None:
        super().__init__()
        for i in range(stage.depth):
            self.add_module(f"b{i + 1}", block(w_in if i == 0 else stage.width, stage.width,
                                                stage.stride if i == 0 else 1, stage))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for block in self.children():
            x = block(x)
        return x


def pycls_init_(module: nn.Module) -> None:
    """pycls ``init_weights`` for one module (apply with ``net.apply``): fan-out normal convs, unit BN."""
    if isinstance(module, nn.Conv2d):
        fan_out = module.kernel_size[0] * module.kernel_size[1] * module.out_channels
        module.weight.data.normal_(mean=0.0, std=(2.0 / fan_out) ** 0.5)
    elif isinstance(module, nn.BatchNorm2d):
        module.weight.data.fill_(1.0)
        module.bias.data.zero_()
    elif isinstance(module, nn.Linear):
        module.weight.data.normal_(mean=0.0, std=0.01)
        module.bias.data.zero_()


class AnyNet(nn.Module):
    """stem -> stages s1..sN -> AdaptiveAvgPool -> Linear; returns logits only."""

    def __init__(self, layout: AnyNetLayout, num_classes: int) -> None:
        super().__init__()
        self.layout = layout
        self.stem = _STEMS[layout.stem](3, layout.stem_width, layout.stem_stride)
        block = _BLOCKS[layout.block_type]
        w_prev = layout.stem_width
        for i, stage in enumerate(layout.stages):
            self.add_module(f"s{i + 1}", AnyStage(w_prev, stage, block))
            w_prev = stage.width
        self.avg_pool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(w_prev, num_classes, bias=True)
        self.apply(pycls_init_)

    def forward_before_global_avg_pool(self, x: torch.Tensor) -> torch.Tensor:
        x = self.stem(x)
        for i in range(len(self.layout.stages)):
            x = getattr(self, f"s{i + 1}")(x)
        return x

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(self.avg_pool(self.forward_before_global_avg_pool(x)).flatten(1))

    def network_parts(self) -> NetworkParts:
        """Taps: the stem, then every residual (or plain) block of every stage in order; pre-GAP: the
        last block's output (nothing follows it before the pooling)."""
        blocks = [block for i in range(len(self.layout.stages)) for block in getattr(self, f"s{i + 1}").children()]
        taps = [self.stem, *blocks]
        return NetworkParts(feature_taps=taps, pre_gap=taps[-1], activation_sites=rectifier_modules(self))


def build_anynet(net: Mapping, num_classes: int, *, compat: str = "nds", imagenet: bool = False,
                 res_stem: bool = True) -> AnyNet:
    """Our network for an NDS AnyNet ``net`` dict (see the module docstring for the two readings)."""
    return AnyNet(anynet_layout(net, compat=compat, imagenet=imagenet, res_stem=res_stem), num_classes)


# -- the NDS FLOP rule ---------------------------------------------------------------------------------

def count_nds_flops(model: nn.Module, input_size: int) -> int:
    """The FLOP rule that reproduces NDS AnyNet records' ``flops`` (spaces-spec 4.8, found empirically).

    Sum over Conv2d of k_h*k_w*(C_in/groups)*C_out*H_out*W_out, plus in*out (+out with bias) per Linear,
    plus 5 x the output elements of every BatchNorm2d. Pools, ReLUs and residual additions count 0.
    Runs one no-grad forward of a single all-zero image on the model's device (the hooks read shapes
    only; a ``meta``-device pass would avoid the arithmetic but is slower in practice on CPU).
    """
    total = 0

    def hook(module: nn.Module, _inputs: tuple, output: torch.Tensor) -> None:
        nonlocal total
        if isinstance(module, nn.Conv2d):
            kh, kw = module.kernel_size
            total += kh * kw * (module.in_channels // module.groups) * output[0].numel()
        elif isinstance(module, nn.Linear):
            total += module.in_features * module.out_features + (module.out_features if module.bias is not None else 0)
        elif isinstance(module, nn.BatchNorm2d):
            total += 5 * output[0].numel()

    handles = [m.register_forward_hook(hook) for m in model.modules()
               if isinstance(m, (nn.Conv2d, nn.Linear, nn.BatchNorm2d))]
    try:
        was_training = model.training
        model.eval()
        with torch.no_grad():
            device = next(model.parameters()).device
            model(torch.zeros(1, 3, input_size, input_size, device=device))
        model.train(was_training)
    finally:
        for handle in handles:
            handle.remove()
    return total


def nds_flops(net: Mapping, input_size: int = 32, *, num_classes: int = 10, imagenet: bool = False) -> int:
    """NDS-rule FLOPs of an AnyNet record (NDS reading, ``num_classes``-way head, square input)."""
    return count_nds_flops(build_anynet(net, num_classes, imagenet=imagenet), input_size)


__all__ = [
    "AnyNet", "AnyNetLayout", "Stage", "anynet_layout", "build_anynet", "nds_flops", "count_nds_flops",
    "pycls_init_", "BLOCK_TYPES", "COMPAT_MODES", "NASWOT_STEM_WIDTH",
]
