"""The NDS design spaces (Radosavovic et al., ICCV 2019) as search spaces, with our own PyTorch builders.

Registered names: cell spaces ``nds_amoeba``, ``nds_darts``, ``nds_enas``, ``nds_nasnet``, ``nds_pnas``;
``nds_darts_fix-w-d``, ``nds_enas_fix-w-d``, ``nds_pnas_fix-w-d``; ImageNet cell spaces ``nds_*_in`` for
the five families; AnyNet spaces ``nds_resnet``, ``nds_resnet-b``, ``nds_resnext-a``, ``nds_resnext-b``,
``nds_vanilla`` and the ImageNet ``nds_resnext-a_in``, ``nds_resnext-b_in``.

An architecture is the NDS identity key of a network, ``json.dumps(net, sort_keys=True)`` of a record's
``net`` dict, so official records and sampled networks share one builder. Two ways to get them:

- **From an official sweep file** (option ``data_file``, CLI ``--nds-data FILE``): index = record position
  (top + mid for the dict layout, as NASWOT's uids), ``size`` = number of records, and scoring builds
  exactly those networks. The file is read and checked when the option is set (``with_options``), so a
  missing, corrupt or mismatched file stops a run before anything is written.
- **Sampled (the default, no file)**: the space is open-ended (``size`` is None, so ``iter_all`` raises);
  ``score-all`` without ``--limit``/``--indices`` scores indices 0..4999 (``default_count``: the size
  of an NDS sweep, so ``score-all --space nds_pnas`` mirrors what NDS trained), ``--limit N`` scores
  indices 0..N-1. ``arch(i)`` is drawn from the design space
  (:mod:`naswot_ray.spaces.nds.designs`, with its [UNVERIFIED] ranges) by a numpy Generator seeded from
  sha256(space name, i), so it is the same on every machine and in every run. Mapping an arch back to
  an index is only possible for archs this space object produced (a bounded memo); ``sample`` draws
  indices from 0..2^31-1.

Option ``compat``: ``"nds"`` (default) builds what NDS trained; ``"naswot"`` reproduces NASWOT's
``nasspace.NDS`` (AnyNet: spaces-spec 4.9; cell records with ``aux`` = True fail to build, as the
reference's scorer fails on its (logits, aux) output and records NaN). Both options show up in
:meth:`options_key`, so scores of differently configured spaces never mix.

``build`` returns a network whose ``forward`` gives logits only: the auxiliary head of ``aux`` records
is built (its parameters and its effect on the classifier's initial weights are part of the record's
network) but never run, and drop path is off.
"""

from __future__ import annotations

import functools
import hashlib
import json
from collections import OrderedDict
from collections.abc import Iterator
from pathlib import Path

import numpy as np
from torch import nn

from naswot_ray.errors import InputError, unknown_choice
from naswot_ray.options import Option
from naswot_ray.spaces import SPACES
from naswot_ray.spaces.base import Arch, SearchSpace
from naswot_ray.spaces.nds.anynet import COMPAT_MODES, AnyNet, anynet_layout, build_anynet
from naswot_ray.spaces.nds.cell_net import NetworkCIFAR, NetworkImageNet, _CellNetwork
from naswot_ray.spaces.nds.data import NDSFile, arch_key, load_nds_file
from naswot_ray.spaces.nds.designs import AnyNetDesign, CellDesign, anynet_design, cell_design
from naswot_ray.spaces.nds.genotypes import genotype_from_dict
from naswot_ray.spaces.parts import NetworkParts

#: sampled spaces draw ``sample()`` indices from 0..SAMPLED_INDEX_RANGE-1
SAMPLED_INDEX_RANGE = 2**31
_MEMO_SIZE = 65536


def index_rng(space_name: str, index: int) -> np.random.Generator:
    """The generator behind sampled arch ``index`` of ``space_name``: seeded by sha256, not Python's hash."""
    digest = hashlib.sha256(f"{space_name}\x00{index}".encode()).digest()
    return np.random.default_rng(int.from_bytes(digest[:8], "little"))


def parse_net(arch: object) -> dict:
    """The ``net`` dict behind an arch string; malformed strings raise InputError."""
    if not isinstance(arch, str):
        raise InputError(f"an NDS arch must be a JSON string, got {type(arch).__name__}")
    try:
        net = json.loads(arch)
    except json.JSONDecodeError as err:
        raise InputError(f"NDS arch is not valid JSON ({err}): {arch[:80]!r}") from None
    if not isinstance(net, dict):
        raise InputError(f"an NDS arch must be a JSON object (a record's 'net'), got {arch[:80]!r}")
    return net


class NDSSpace(SearchSpace):
    """Shared behaviour of the cell and AnyNet spaces: indices, options, the data file, the memo."""

    options = (
        Option("data_file", str, None, "official NDS sweep JSON: score exactly its records (their order is the index)"),
        Option("compat", str, "nds", "builder: nds (faithful to pycls) or naswot (the NASWOT code's variant)",
               choices=COMPAT_MODES),
    )
    design: CellDesign | AnyNetDesign
    #: NDS sweeps hold about 5,000 trained models per space; score-all samples as many by default
    SAMPLED_DEFAULT_COUNT = 5000

    def __init__(self, name: str, description: str, input_size: int, *, data: NDSFile | None = None,
                 compat: str = "nds") -> None:
        self.name = name
        self.description = description
        self.input_size = input_size
        self.compat = compat
        self.data = data
        self.size = len(data.nets) if data is not None else None
        self.default_count = None if data is not None else self.SAMPLED_DEFAULT_COUNT
        self._archs: tuple[str, ...] | None = None
        self._positions: dict[str, int] = {}
        if data is not None:
            self._archs = tuple(arch_key(net) for net in data.nets)
            for position, arch in enumerate(self._archs):
                self._positions.setdefault(arch, position)  # duplicates (reruns): the first position
        self._memo: OrderedDict[str, int] = OrderedDict()

    # -- subclass hooks ----------------------------------------------------------------------------
    def _check_record(self, net: dict) -> None:
        """Raise InputError when a file record cannot belong to this space."""
        raise NotImplementedError

    def _build_net(self, net: dict, num_classes: int) -> nn.Module:
        raise NotImplementedError

    def _copy(self, *, data: NDSFile | None, compat: str) -> NDSSpace:
        raise NotImplementedError

    # -- index <-> arch ------------------------------------------------------------------------------
    def arch(self, index: int) -> Arch:
        index = self.check_index(int(index))
        if self._archs is not None:
            return self._archs[index]
        arch = arch_key(self.design.sample(index_rng(self.name, index)))
        self._memo[arch] = index
        self._memo.move_to_end(arch)
        while len(self._memo) > _MEMO_SIZE:
            self._memo.popitem(last=False)
        return arch

    def index(self, arch: Arch) -> int:
        if self._archs is not None:
            found = self._positions.get(arch)
            if found is None:
                normalised = arch_key(parse_net(arch))
                found = self._positions.get(normalised)
            if found is None:
                raise InputError(f"arch is not among the {self.size:,} records of {self.data.path.name} "
                                 f"for space {self.name!r}: {arch[:80]!r}")
            return found
        found = self._memo.get(arch)
        if found is None:
            self.parse_arch(arch)
            raise InputError(f"space {self.name!r} draws architectures from indices; arch->index is known only for "
                             f"archs this space produced (pass --indices, or --nds-data FILE for official records)")
        return found

    def parse_arch(self, text: str) -> Arch:
        """Normalise to the NDS key; file spaces require membership, sampled spaces design membership."""
        net = parse_net(text)
        arch = arch_key(net)
        if self._archs is not None:
            self.index(arch)
        else:
            self.design.check(net)
        return arch

    def iter_all(self) -> Iterator[int]:
        if self.size is None:
            raise InputError(f"space {self.name!r} samples an open-ended design space and has no 'all'; pass "
                             f"--limit N (indices 0..N-1) or --indices, or --nds-data FILE for an official sweep")
        return super().iter_all()

    def sample(self, rng: np.random.Generator, n: int) -> list[int]:
        if self.size is not None:
            return super().sample(rng, n)
        return [int(i) for i in rng.integers(0, SAMPLED_INDEX_RANGE, size=n)]

    # -- mutation and networks -----------------------------------------------------------------------
    def mutate(self, arch: Arch, rng: np.random.Generator) -> Arch:
        """One decision of the design space changed (see the design's ``mutate``); file records too."""
        return arch_key(self.design.mutate(parse_net(arch), rng))

    def build(self, arch: Arch, num_classes: int) -> nn.Module:
        return self._build_net(parse_net(arch), num_classes)

    def network_parts(self, model: nn.Module) -> NetworkParts:
        """The stem(s) and every cell or block as taps, the last one's output as pre-GAP (the cell
        networks and AnyNet describe themselves); other models get the generic fallback."""
        describe = getattr(model, "network_parts", None)
        return describe() if isinstance(model, (_CellNetwork, AnyNet)) and callable(describe) \
            else super().network_parts(model)

    # -- options -------------------------------------------------------------------------------------
    def _configured(self, **options: object) -> NDSSpace:
        compat = str(options.get("compat", self.compat))
        if compat not in COMPAT_MODES:
            raise unknown_choice(f"compat mode for space {self.name!r}", compat, COMPAT_MODES)
        if "data_file" not in options:
            return self._copy(data=self.data, compat=compat)
        data = load_nds_file(Path(str(options["data_file"])))
        configured = self._copy(data=data, compat=compat)
        for position, net in enumerate(data.nets):
            try:
                configured._check_record(net)
            except InputError as err:
                raise InputError(f"NDS data file {str(data.path)!r} record {position} does not fit space "
                                 f"{self.name!r} (compat={compat}): {err}") from None
        return configured

    def options_key(self) -> str:
        parts = []
        if self.compat != "nds":
            parts.append(f"compat={self.compat}")
        if self.data is not None:
            parts.append(f"data={self.data.label}")
        return ";".join(parts)

    def describe(self) -> str:
        text = super().describe()
        if self.data is not None:
            text += f" Records from {self.data.path.name}."
        return text


class NDSCellSpace(NDSSpace):
    """A DARTS-style cell space: NetworkCIFAR (CIFAR, 32 px) or NetworkImageNet (``_in``, 224 px)."""

    def __init__(self, name: str, family: str, variant: str, *, data: NDSFile | None = None,
                 compat: str = "nds") -> None:
        self.family = family
        self.variant = variant
        self.design = cell_design(family, variant)
        imagenet = variant == "in"
        self.imagenet = imagenet
        d = self.design
        where = "ImageNet NetworkImageNet, 224 px" if imagenet else "CIFAR-10 NetworkCIFAR, 32 px"
        description = (f"NDS {family}{'_' + variant if variant != 'cifar' else ''} cells ({d.nodes} nodes, "
                       f"{len(d.ops)} ops; {where}; width {list(d.widths)}, depth {list(d.depths)} when sampled).")
        super().__init__(name, description, 224 if imagenet else 32, data=data, compat=compat)

    def _copy(self, *, data: NDSFile | None, compat: str) -> NDSCellSpace:
        return NDSCellSpace(self.name, self.family, self.variant, data=data, compat=compat)

    def _check_record(self, net: dict) -> None:
        if "genotype" not in net:
            raise InputError("a cell-space record needs net['genotype'] (is this an AnyNet file?)")
        genotype = genotype_from_dict(net["genotype"])
        for kind, pairs in (("normal", genotype.normal), ("reduce", genotype.reduce)):
            if len(pairs) != 2 * self.design.nodes:
                raise InputError(f"{self.family} cells have {2 * self.design.nodes} pairs, the {kind} cell has {len(pairs)}")
        for key in ("width", "depth"):
            value = net.get(key)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise InputError(f"net[{key!r}] must be a positive int, got {value!r}")

    def _build_net(self, net: dict, num_classes: int) -> nn.Module:
        self._check_record(net)
        aux = bool(net.get("aux", False))
        if aux and self.compat == "naswot":
            raise ValueError("compat=naswot: NASWOT's reference network returns (logits, aux_logits) for aux=True "
                             "records in train mode and its scorer records NaN")
        skeleton = NetworkImageNet if self.imagenet else NetworkCIFAR
        return skeleton(net["width"], num_classes, net["depth"], aux, genotype_from_dict(net["genotype"]))


class NDSAnyNetSpace(NDSSpace):
    """An AnyNet space (Vanilla, ResNet, ResNet-B, ResNeXt-A/B) on CIFAR-10 or (``_in``) ImageNet."""

    def __init__(self, name: str, family: str, imagenet: bool, *, data: NDSFile | None = None,
                 compat: str = "nds") -> None:
        self.family = family
        self.imagenet = imagenet
        self.design = anynet_design(family, imagenet)
        d = self.design
        where = "ImageNet, 224 px, [UNVERIFIED] record encoding" if imagenet else "CIFAR-10, 32 px"
        description = (f"NDS {family}{'_in' if imagenet else ''} AnyNet ({d.block_type}; {where}; stage depth "
                       f"{d.depths[0]}..{d.depths[-1]}, width {d.widths[0]}..{d.widths[-1]} when sampled).")
        super().__init__(name, description, 224 if imagenet else 32, data=data, compat=compat)

    @property
    def naswot_res_stem(self) -> bool:
        """NASWOT picks ``res_stem_in`` when the sweep name contains 'ResN', else ``simple_stem_in``."""
        return "ResN" in self.family

    def _copy(self, *, data: NDSFile | None, compat: str) -> NDSAnyNetSpace:
        return NDSAnyNetSpace(self.name, self.family, self.imagenet, data=data, compat=compat)

    def _check_record(self, net: dict) -> None:
        if "genotype" in net:
            raise InputError("an AnyNet record has ds/ws/ss, not a genotype (is this a cell-space file?)")
        layout = anynet_layout(net, compat=self.compat, imagenet=self.imagenet, res_stem=self.naswot_res_stem)
        if layout.block_type != self.design.block_type:
            raise InputError(f"{self.family} records use block_type {self.design.block_type!r}, "
                             f"got {net.get('block_type')!r}")

    def _build_net(self, net: dict, num_classes: int) -> nn.Module:
        return build_anynet(net, num_classes, compat=self.compat, imagenet=self.imagenet,
                            res_stem=self.naswot_res_stem)


# -- registration ------------------------------------------------------------------------------------

_CELL_SPACES = {"amoeba": "Amoeba", "darts": "DARTS", "enas": "ENAS", "nasnet": "NASNet", "pnas": "PNAS"}
_FIX_WD = ("darts", "enas", "pnas")  # NDS has fix-w-d sweeps only for these
_ANYNET_SPACES = {"resnet": "ResNet", "resnet-b": "ResNet-B", "resnext-a": "ResNeXt-A",
                  "resnext-b": "ResNeXt-B", "vanilla": "Vanilla"}
_ANYNET_IMAGENET = ("resnext-a", "resnext-b")


def _register_all() -> list[str]:
    names = []
    for key, family in _CELL_SPACES.items():
        variants = ["cifar", "in"] + (["fix-w-d"] if key in _FIX_WD else [])
        for variant in variants:
            name = f"nds_{key}" + ("" if variant == "cifar" else f"_{variant}")
            SPACES.add(name, functools.partial(NDSCellSpace, name, family, variant))
            names.append(name)
    for key, family in _ANYNET_SPACES.items():
        for imagenet in (False, True) if key in _ANYNET_IMAGENET else (False,):
            name = f"nds_{key}" + ("_in" if imagenet else "")
            SPACES.add(name, functools.partial(NDSAnyNetSpace, name, family, imagenet))
            names.append(name)
    return names


NDS_SPACE_NAMES: tuple[str, ...] = tuple(_register_all())

__all__ = ["NDSSpace", "NDSCellSpace", "NDSAnyNetSpace", "NDS_SPACE_NAMES", "index_rng", "parse_net",
           "SAMPLED_INDEX_RANGE"]
