"""The NAS-Bench-101 search space (``nb101``): 423,624 unique cells, entirely our own code.

**Index.** Our index of a cell is its position in the sorted list of module hashes ("index = position
in hash order"). NB101's own iteration order is the tfrecord's record order, which cannot be
derived without that file (``spaces-spec.md`` §3.4); the hash itself is the key that joins official
tables, and :meth:`NB101Space.hash_of` / :meth:`NB101Space.canonical` return it.

**Architecture string.** ``<matrix rows>|<interior ops>``: the adjacency matrix rows as 0/1 digits
joined by ``.``, then the interior vertex ops (input and output are implied) joined by ``,`` with
the short names ``conv3x3``, ``conv1x1``, ``maxpool3x3``. :meth:`NB101Space.arch` always returns the
benchmark's stored (first-found) form, e.g. the README's Inception-like cell is
``0111100.0000001.0000001.0000001.0000010.0000001.0000000|conv3x3,conv1x1,maxpool3x3,conv3x3,conv3x3``.
:meth:`NB101Space.parse_arch` accepts any valid spec in that syntax (any vertex order, unpruned,
with NB101's long op names such as ``conv3x3-bn-relu``, with or without ``input``/``output`` in the
op list) or a bare 32-hex module hash, and returns the stored form of the same cell.

**Lazy table.** Constructing the space reads nothing: the cell table (``nb101_cache``) is loaded, or
built on first use (about a minute), only when a method needs it. ``NASWOT_RAY_NB101_MAX_VERTICES``
(or the ``max_vertices`` argument) limits the space to cells with at most that many vertices
(2,532 cells for 5), so tests and CI never pay for the full enumeration; such a space reports
itself in :meth:`NB101Space.options_key`, because its indices differ from the full space's.

**Networks.** :meth:`NB101Space.build` builds :class:`~naswot_ray.spaces.nb101.net.NB101Network` from
the stored form with a 128-channel stem (NB101's value); ``with_options(stem_channels=16)`` gives
NASWOT's setting.

**Mutation.** One change to the stored form, drawn uniformly among the changes that give a valid,
different cell: flip one adjacency bit (which may prune vertices away) or change one interior op.
NASWOT only flips edges; we also change ops, so a search can move between labelings of one graph.
A single change can never add a vertex (a new vertex needs two edges), so the one cell with no
single-change neighbour, input -> output alone, grows an interior vertex instead.
"""

from __future__ import annotations

import copy
import os
import re
from pathlib import Path

import numpy as np
from torch import nn

from naswot_ray.errors import InputError
from naswot_ray.options import Option
from naswot_ray.spaces import register_space
from naswot_ray.spaces.base import Arch, SearchSpace
from naswot_ray.spaces.nb101.cache import NB101Table, is_cached, load_nb101_table
from naswot_ray.spaces.nb101.enumeration import expected_size
from naswot_ray.spaces.nb101.graph import INPUT, MAX_VERTICES, OPS, OUTPUT, Cell, make_cell
from naswot_ray.spaces.nb101.net import DEFAULT_STEM_CHANNELS, NB101Network
from naswot_ray.spaces.parts import NetworkParts

MAX_VERTICES_ENV = "NASWOT_RAY_NB101_MAX_VERTICES"
SHORT_NAMES: dict[str, str] = {"conv3x3-bn-relu": "conv3x3", "conv1x1-bn-relu": "conv1x1", "maxpool3x3": "maxpool3x3"}
_OP_ALIASES: dict[str, str] = {**{op: op for op in OPS}, **{short: op for op, short in SHORT_NAMES.items()}}
_HASH_RE = re.compile(r"[0-9a-fA-F]{32}")


def format_arch(cell: Cell) -> Arch:
    """The arch string of a cell (see the module docstring)."""
    rows = ".".join("".join(str(v) for v in row) for row in cell.matrix)
    return rows + "|" + ",".join(SHORT_NAMES[op] for op in cell.ops[1:-1])


def parse_spec(text: str) -> Cell:
    """Validate and prune an arch string (not a hash); raises a one-line :class:`InputError`."""
    rows_text, sep, ops_text = text.strip().partition("|")
    if not sep:
        raise InputError(f"NB101 arch {text!r} is not '<rows>|<ops>' (e.g. '011.001.000|conv3x3') or a 32-hex hash")
    rows = rows_text.strip().split(".")
    if any(not re.fullmatch(r"[01]+", row) for row in rows):
        raise InputError(f"NB101 arch {text!r}: matrix rows must be 0/1 digits joined by '.'")
    matrix = [[int(c) for c in row] for row in rows]
    names = [name.strip() for name in ops_text.split(",")] if ops_text.strip() else []
    if names and names[0] == INPUT:
        names = names[1:]
    if names and names[-1] == OUTPUT:
        names = names[:-1]
    for name in names:
        if name not in _OP_ALIASES:
            raise InputError(f"unknown NB101 op {name!r} in {text!r}; valid choices: {', '.join(sorted(_OP_ALIASES))}")
    if len(names) != len(matrix) - 2:
        raise InputError(f"NB101 arch {text!r} has {len(matrix)} matrix rows but {len(names)} interior ops (need rows - 2)")
    ops = [INPUT, *(_OP_ALIASES[name] for name in names), OUTPUT]
    return make_cell(matrix, ops)


def _vertex_problem(value: object) -> str | None:
    return None if 2 <= int(value) <= MAX_VERTICES else f"valid: 2..{MAX_VERTICES}"  # type: ignore[arg-type]


def _stem_problem(value: object) -> str | None:
    return None if int(value) >= 1 else "must be a positive integer (128 = NB101, 16 = NASWOT)"  # type: ignore[arg-type]


STEM_OPTION = Option("stem_channels", int, DEFAULT_STEM_CHANNELS, "stem width (128 = NB101; 16 = the NASWOT setting)",
                     check=_stem_problem)
#: the vertex limit defines what an index means, so it is resolved where the job is defined (the env var
#: is read there) and travels with the space object to every worker
MAX_VERTICES_OPTION = Option("max_vertices", int, MAX_VERTICES, "only cells with at most this many vertices "
                             "(a smaller, faster-to-enumerate space; 7 = all of NB101)", env=MAX_VERTICES_ENV,
                             check=_vertex_problem)


def _check_stem(value: object) -> int:
    return int(STEM_OPTION.parse(value, owner="space 'nb101'"))  # type: ignore[arg-type]


@register_space("nb101", aliases=("nasbench101",))
class NB101Space(SearchSpace):
    """NAS-Bench-101 (see the module docstring for index, arch strings, options and mutation)."""

    name = "nb101"
    input_size = 32
    description = "NAS-Bench-101 cells; index = position in module-hash order; arch '<rows>|<ops>'."
    options = (STEM_OPTION, MAX_VERTICES_OPTION)

    def __init__(
        self,
        max_vertices: int | None = None,
        stem_channels: int = DEFAULT_STEM_CHANNELS,
        cache_path: str | Path | None = None,
    ) -> None:
        self.max_vertices = int(MAX_VERTICES_OPTION.effective_default() if max_vertices is None  # type: ignore[arg-type]
                                else MAX_VERTICES_OPTION.parse(max_vertices, owner="space 'nb101'"))
        self.size = expected_size(self.max_vertices)
        self.stem_channels = _check_stem(stem_channels)
        self._cache_path = cache_path

    @property
    def table(self) -> NB101Table:
        """The cell table; loads (or on first use builds) the cache."""
        return load_nb101_table(self.max_vertices, self._cache_path)

    @property
    def cache_path(self) -> Path | None:
        """Where this space's table is cached (None: the default place, see :mod:`.cache`)."""
        return None if self._cache_path is None else Path(self._cache_path)

    # -- index <-> architecture -----------------------------------------------------------------
    def arch(self, index: int) -> Arch:
        return format_arch(self.table.cell_at(self.check_index(int(index))))

    def hash_of(self, arch: Arch) -> str:
        """The NB101 module hash of ``arch`` (a spec string or a hash of a cell in this space)."""
        text = arch.strip()
        if _HASH_RE.fullmatch(text):
            module_hash = text.lower()
            if self.table.index_of_hash(module_hash) is None:
                raise InputError(f"NB101 hash {text!r} is not a cell of space {self.name!r}{self._subset_note()}")
            return module_hash
        return parse_spec(text).module_hash()

    def index(self, arch: Arch) -> int:
        module_hash = self.hash_of(arch)
        index = self.table.index_of_hash(module_hash)
        if index is None:
            raise InputError(f"NB101 cell {arch!r} (hash {module_hash}) is not in space {self.name!r}{self._subset_note()}")
        return index

    def parse_arch(self, text: str) -> Arch:
        """Any valid spec string or hash -> the stored form of that cell."""
        return self.arch(self.index(text))

    def canonical(self, arch: Arch) -> str:
        return self.hash_of(arch)

    def cell(self, arch: Arch) -> Cell:
        """The stored (first-found) form of ``arch``."""
        return self.table.cell_at(self.index(arch))

    # -- mutation --------------------------------------------------------------------------------
    def mutate(self, arch: Arch, rng: np.random.Generator) -> Arch:
        cell = self.cell(arch)
        original = cell.module_hash()
        n = cell.num_vertices
        moves: list[tuple[str, int, object]] = [("edge", x, y) for y in range(1, n) for x in range(y)]
        moves += [("op", v, op) for v in range(1, n - 1) for op in OPS if op != cell.ops[v]]
        for i in rng.permutation(len(moves)):
            kind, a, b = moves[int(i)]
            matrix = [list(row) for row in cell.matrix]
            ops = list(cell.ops)
            if kind == "edge":
                matrix[a][b] ^= 1  # type: ignore[index]
            else:
                ops[a] = b  # type: ignore[assignment]
            neighbour = self._member_or_none(matrix, ops, original)
            if neighbour is not None:
                return neighbour
        return self._grow(cell, rng, original, arch)

    def _member_or_none(self, matrix: list[list[int]], ops: list[str], original: str) -> Arch | None:
        """The stored form of (matrix, ops) if it is a valid cell of this space other than ``original``."""
        try:
            candidate = make_cell(matrix, ops)
        except InputError:
            return None
        module_hash = candidate.module_hash()
        if module_hash == original:
            return None
        index = self.table.index_of_hash(module_hash)
        return None if index is None else self.arch(index)

    def _grow(self, cell: Cell, rng: np.random.Generator, original: str, arch: Arch) -> Arch:
        """Add an interior vertex on a new input -> vertex -> output path (for input -> output alone)."""
        n = cell.num_vertices
        matrix = [[*row[:-1], 0, row[-1]] for row in cell.matrix]
        matrix.insert(n - 1, [0] * (n + 1))
        matrix[0][n - 1] = 1
        matrix[n - 1][n] = 1
        ops = [*cell.ops[:-1], OPS[int(rng.integers(len(OPS)))], OUTPUT]
        neighbour = self._member_or_none(matrix, ops, original) if n < MAX_VERTICES else None
        if neighbour is None:
            raise InputError(f"NB101 cell {arch!r} has no neighbour in space {self.name!r}{self._subset_note()}")
        return neighbour

    # -- before a run ------------------------------------------------------------------------------
    def prepare(self, *, progress: bool = True, note=None) -> None:
        """Build the cell table in this process, with its own progress bar, if it is not cached yet."""
        if is_cached(self.max_vertices, self.cache_path):
            return
        if note is not None:
            note(f"the NB101 cell table is not cached yet: building it first ({self.size:,} cells"
                 f"{', about two minutes' if self.size > 100_000 else ''}; `naswot-ray spaces build nb101` does this "
                 "ahead of a run)")
        load_nb101_table(self.max_vertices, self.cache_path, workers=os.cpu_count() or 1, progress=progress)

    # -- networks --------------------------------------------------------------------------------
    def build(self, arch: Arch, num_classes: int) -> nn.Module:
        return NB101Network(self.cell(arch), num_classes, stem_channels=self.stem_channels)

    def network_parts(self, model: nn.Module) -> NetworkParts:
        """The stem and the 9 cells as taps, the last cell's output as pre-GAP (see NB101Network)."""
        return model.network_parts() if isinstance(model, NB101Network) else super().network_parts(model)

    # -- options ---------------------------------------------------------------------------------
    def _configured(self, **options: object) -> "NB101Space":
        configured = copy.copy(self)
        if "stem_channels" in options:
            configured.stem_channels = _check_stem(options["stem_channels"])
        if "max_vertices" in options:
            configured.max_vertices = int(options["max_vertices"])  # type: ignore[arg-type]
            configured.size = expected_size(configured.max_vertices)
        return configured

    def _subset_note(self) -> str:
        return "" if self.max_vertices == MAX_VERTICES else f" (limited to {self.max_vertices} vertices)"
