"""TE-NAS (Chen et al., ICLR 2021): prune the NB201 supernet by NTK conditioning and linear regions.

What one run does (``prune_tenas.py`` with ``prune_launch.py``'s NB201 settings, metrics-spec 2.4/2.5/9.2):

1. Start from the supernet (:mod:`naswot_ray.search.tenas_supernet`) with every op alive on every edge,
   then drop ``none`` from every edge before the first round, as TE-NAS's code does (``keep_none=1``
   starts from all five ops instead). Four ops per edge leave three rounds.
2. Each round, for every op still alive on an edge that has more than one: build the *candidate* mask
   with that op removed and, ``repeats`` times (3),
   - NTK: on the C=3, N=1 supernet with stem, one augmented training batch (random crop with 4-pixel
     padding and horizontal flip, B=32); kappa of the current mask and of the candidate on the same
     weights and batch; delta_kappa = (kappa_now - kappa_cand) / kappa_now, rounded to ``precision``
     decimals;
   - regions: on the thin supernet (C=1, one cell, no stem), 3 x 1000 random 3x3 crops of one random
     channel; R of the current mask and of the candidate on the same weights and samples;
     delta_R = (R_now - R_cand) / R_now, rounded the same way.
   Each candidate's two deltas are the means over the repeats.

   Weights (``init``): ``reference`` (default) does what TE-NAS's code actually runs. Its launch script
   passes ``--init kaiming_normal``, which its ``init_model`` does not recognise (it knows only
   ``kaiming_norm_fanin``/``_fanout``), so every "re-init" is a no-op and the networks keep PyTorch's
   constructor init: the NTK supernet is built once per round (all candidates and repeats of the round
   share its weights; only the batch changes), the thin network once per candidate (its repeats share
   weights; only the crops change). ``kaiming`` does what the paper and metrics-spec 2.4/2.5 describe: a
   Kaiming-normal re-init (fan_out for the NTK, fan_in for the regions) before every repeat.
3. Rank all candidates of the round: by delta_kappa descending (removing the op lowers kappa most = rank
   0) and by delta_R ascending (removing it loses fewest regions = rank 0), each on values rounded to
   ``precision`` significant digits, equal values sharing a rank, ranks counted densely (the next
   distinct value gets the previous rank + 1). On each edge prune the candidate with the smallest rank
   sum; ties go to the higher delta_kappa rank order, then the lower op index (the order TE-NAS's stable
   sorts leave them in).
4. Stop when every edge has one op; that cell is the result. Its accuracies come from the oracle (the
   store's ``accuracies`` table), like every other search.

Batch size: 32, the paper's (Appendix A); TE-NAS's launch script uses 72 for NB201 (``--param
batch_size=72``), which costs about 4x more on the CPU (B full-batch backward passes per kernel, two
kernels per candidate and repeat: 54 candidates x 3 repeats per run).

Differences from the reference, on purpose: ranks use the rounded values for both ordering and tie
detection (TE-NAS orders by the rounded value but detects ties on the unrounded mean); kappa's smallest
eigenvalue is clamped to the float64 noise floor (the ``ntk_cond`` metric's rule) where TE-NAS divides by
whatever ``symeig`` returns; the training images come from the ``dataset`` parameter's pool (default the
first ``pool`` images drawn with seed 1) rather than the full 25,000-image cifar-split train half. One
network object evaluated under two masks replaces TE-NAS's copy of the weights into a second network.

Randomness: everything derives from the run seed (one numpy generator for batches, one torch generator
for inits and crops), so a run is a pure function of (params, run seed) like every other search.
"""

from __future__ import annotations

import functools
import math
import time
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch

from naswot_ray.data.normalization import get_normalization
from naswot_ray.data.sources import BatchSpec, draw_batch
from naswot_ray.errors import InputError
from naswot_ray.metrics.linear_regions import PATCH_BATCH_SIZE, PATCH_BATCHES, count_regions, random_patches
from naswot_ray.metrics.netutil import kaiming_normal_reinit
from naswot_ray.metrics.ntk_cond import condition_number, ntk_gram
from naswot_ray.search import register_search
from naswot_ray.search.base import SearchAlgorithm, SearchOptions, SearchProblem, SearchResult, rng_for
from naswot_ray.search.tenas_supernet import Mask, SuperNetwork, full_mask, is_single_path, mask_cell, without
from naswot_ray.spaces.nb201.cell import EDGES
from naswot_ray.spaces.nb201.ops import NB201_OPS

NONE_OP = NB201_OPS.index("none")
#: TE-NAS's NB201 settings (prune_launch.py / prune_tenas.py)
NTK_C, NTK_N = 3, 1
DEFAULTS = {"dataset": "cifar10", "data_root": None, "norm": None, "batch_size": 32, "repeats": 3, "precision": 3,
            "pool": 4000, "keep_none": False, "num_classes": None, "init": "reference"}
INITS = ("reference", "kaiming")
PARAMS = tuple(DEFAULTS)
#: augmentation of the NTK batches (the NB201 search loaders' RandomCrop(32, padding=4) + flip)
CROP_PADDING = 4


# -- ranking (pure, unit-tested) -------------------------------------------------------------------
@dataclass(frozen=True)
class Candidate:
    """Removing op ``op`` from edge ``edge``: the mean relative changes of kappa and of the region count."""

    edge: int
    op: int
    d_kappa: float
    d_regions: float


def round_significant(value: float, digits: int) -> float:
    """``value`` rounded to ``digits`` significant digits (0 stays 0, NaN stays NaN)."""
    if value == 0 or not math.isfinite(value):
        return value
    power = math.floor(math.log10(abs(value))) + 1
    return round(value * 10.0 ** (-power), digits) * 10.0 ** power


def dense_ranks(values: Sequence[float], *, descending: bool) -> list[int]:
    """Rank 0 for the best value; equal values share a rank; the next distinct value gets rank + 1."""
    order = sorted(range(len(values)), key=lambda i: -values[i] if descending else values[i])
    ranks = [0] * len(values)
    for position, i in enumerate(order):
        if position > 0:
            previous = order[position - 1]
            ranks[i] = ranks[previous] + (values[i] != values[previous])
    return ranks


def choose_prunes(candidates: Sequence[Candidate], precision: int = 3) -> dict[int, int]:
    """Edge -> the op to prune there: the smallest rank sum of delta_kappa (descending) and delta_R
    (ascending); ties to the better delta_kappa rank, then the lower op index."""
    kappa_rank = dense_ranks([round_significant(c.d_kappa, precision) for c in candidates], descending=True)
    region_rank = dense_ranks([round_significant(c.d_regions, precision) for c in candidates], descending=False)
    best: dict[int, tuple[tuple[int, int, int], int]] = {}
    for c, rk, rr in zip(candidates, kappa_rank, region_rank):
        key = (rk + rr, rk, c.op)
        if c.edge not in best or key < best[c.edge][0]:
            best[c.edge] = (key, c.op)
    return {edge: op for edge, (_, op) in sorted(best.items())}


# -- data -------------------------------------------------------------------------------------------
@dataclass
class TenasData:
    """The image pool the NTK batches and region crops are drawn from (normalised NCHW float32)."""

    images: torch.Tensor
    pad_value: torch.Tensor  # [C]: a zero pixel after normalisation, what padding before Normalize gives
    num_classes: int

    def ntk_batch(self, rng: np.random.Generator, size: int) -> torch.Tensor:
        """``size`` distinct pool images, each randomly cropped (4-pixel padding) and flipped with p=1/2."""
        n, c, h, w = self.images.shape
        if size > n:
            raise InputError(f"TE-NAS batch size {size} is larger than the image pool ({n} images)")
        picks = rng.choice(n, size=size, replace=False)
        pad = CROP_PADDING
        padded = self.pad_value.view(1, c, 1, 1).expand(size, c, h + 2 * pad, w + 2 * pad).clone()
        padded[:, :, pad:pad + h, pad:pad + w] = self.images[torch.as_tensor(picks)]
        tops = rng.integers(0, 2 * pad + 1, size=size)
        lefts = rng.integers(0, 2 * pad + 1, size=size)
        flips = rng.random(size) < 0.5
        out = torch.empty(size, c, h, w)
        for i in range(size):
            crop = padded[i, :, tops[i]:tops[i] + h, lefts[i]:lefts[i] + w]
            out[i] = crop.flip(-1) if flips[i] else crop
        return out


@functools.lru_cache(maxsize=2)
def load_pool(dataset: str, pool: int, data_root: str | None, norm: str | None) -> TenasData:
    """The first ``pool`` training images drawn with seed 1 (cached: every run of a search shares them)."""
    batch = draw_batch(BatchSpec(dataset=dataset, batch_size=pool, seed=1, data_root=data_root, norm=norm))
    stats = get_normalization(batch.provenance.norm)
    pad_value = -torch.tensor(stats.mean, dtype=torch.float32) / torch.tensor(stats.std, dtype=torch.float32)
    return TenasData(batch.x, pad_value[: batch.x.shape[1]], batch.provenance.num_classes)


# -- the pruning ------------------------------------------------------------------------------------
@dataclass
class PruneRecord:
    round: int
    edge: int
    op: str
    d_kappa: float
    d_regions: float


def _delta(before: float, after: float, precision: int) -> float:
    return round((before - after) / before, precision)


def evaluate_candidate(mask: Mask, pruned: Mask, *, ntk_net: SuperNetwork, thin_net: SuperNetwork, data: TenasData,
                       settings: dict, rng: np.random.Generator, gen: torch.Generator) -> tuple[float, float]:
    """Mean delta_kappa and delta_R of going from ``mask`` to ``pruned`` over the repeats (``init=kaiming``
    re-draws both networks' weights before every repeat; ``reference`` uses them as given)."""
    precision, repeats, device = int(settings["precision"]), int(settings["repeats"]), _device(ntk_net)
    reinit = settings["init"] == "kaiming"
    d_kappa = []
    for _ in range(repeats):
        if reinit:
            kaiming_normal_reinit(ntk_net, mode="fan_out", generator=gen)
        x = data.ntk_batch(rng, int(settings["batch_size"])).to(device)
        before = float(condition_number(ntk_gram(ntk_net.set_mask(mask), x)))
        after = float(condition_number(ntk_gram(ntk_net.set_mask(pruned), x)))
        d_kappa.append(_delta(before, after, precision))
    d_regions = []
    for _ in range(repeats):
        if reinit:
            kaiming_normal_reinit(thin_net, mode="fan_in", generator=gen)
        inputs = [random_patches(data.images, PATCH_BATCH_SIZE, gen).to(device) for _ in range(PATCH_BATCHES)]
        before = count_regions(thin_net.set_mask(mask), inputs)
        after = count_regions(thin_net.set_mask(pruned), inputs)
        d_regions.append(_delta(before, after, precision))
    return float(np.mean(d_kappa)), float(np.mean(d_regions))


def tenas_prune(data: TenasData, settings: dict, run_seed: int, *, device: torch.device | None = None
                ) -> tuple[str, list[PruneRecord], int]:
    """One TE-NAS search: (the found NB201 cell, what each round pruned, candidate evaluations)."""
    device = device or torch.device("cuda" if torch.cuda.is_available() else "cpu")
    rng = rng_for(run_seed)
    gen = torch.Generator().manual_seed(int(rng.integers(0, 2**63 - 1)))
    num_classes = int(settings["num_classes"] or data.num_classes)

    def ntk_supernet() -> SuperNetwork:
        return _constructed(lambda: SuperNetwork(NTK_C, NTK_N, num_classes), gen, device)

    def thin_supernet() -> SuperNetwork:
        return _constructed(lambda: SuperNetwork(1, 1, num_classes, stem=False, input_channels=1, depth=1), gen, device)

    reference = settings["init"] == "reference"
    ntk_net, thin_net = ntk_supernet(), thin_supernet()
    mask = full_mask()
    if not settings["keep_none"]:
        for edge in range(len(EDGES)):
            mask = without(mask, edge, NONE_OP)
    history: list[PruneRecord] = []
    evaluated = 0
    round_number = 0
    while not is_single_path(mask):
        candidates = []
        if reference:
            ntk_net = ntk_supernet()  # TE-NAS: one supernet (constructor init) per round
        for edge, row in enumerate(mask):
            if sum(row) < 2:
                continue
            for op, alive in enumerate(row):
                if alive:
                    if reference:
                        thin_net = thin_supernet()  # TE-NAS: a new thin network per candidate
                    d_kappa, d_regions = evaluate_candidate(mask, without(mask, edge, op), ntk_net=ntk_net,
                                                            thin_net=thin_net, data=data, settings=settings, rng=rng,
                                                            gen=gen)
                    candidates.append(Candidate(edge, op, d_kappa, d_regions))
        evaluated += len(candidates)
        by_key = {(c.edge, c.op): c for c in candidates}
        for edge, op in choose_prunes(candidates, int(settings["precision"])).items():
            mask = without(mask, edge, op)
            chosen = by_key[(edge, op)]
            history.append(PruneRecord(round_number, edge, NB201_OPS[op], chosen.d_kappa, chosen.d_regions))
        round_number += 1
    return mask_cell(mask), history, evaluated


def _device(net: torch.nn.Module) -> torch.device:
    return next(net.parameters()).device


def _constructed(factory, gen: torch.Generator, device: torch.device) -> SuperNetwork:
    """A network with PyTorch's constructor init drawn from a seed taken off ``gen`` (global RNG untouched)."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(int(torch.randint(0, 2**62, (1,), generator=gen)))
        return factory().to(device).train()


# -- the registered search ----------------------------------------------------------------------------
def parse_params(extra: dict[str, str]) -> dict:
    """``--param`` strings -> typed settings with TE-NAS's defaults; bad values raise InputError."""
    params = dict(DEFAULTS)
    for key, text in extra.items():
        if key in ("dataset", "data_root", "norm"):
            params[key] = text
        elif key == "init":
            if text not in INITS:
                raise InputError(f"--param init={text!r}; valid choices: {', '.join(INITS)}")
            params[key] = text
        elif key == "keep_none":
            if text.lower() not in ("0", "1", "true", "false", "yes", "no"):
                raise InputError(f"--param keep_none={text!r} must be 0/1 (or true/false)")
            params[key] = text.lower() in ("1", "true", "yes")
        else:
            try:
                params[key] = int(text)
            except ValueError:
                raise InputError(f"--param {key}={text!r} must be an integer") from None
    for key, low in (("batch_size", 2), ("repeats", 1), ("precision", 1), ("pool", 2), ("num_classes", 1)):
        if params[key] is not None and params[key] < low:
            raise InputError(f"--param {key} must be at least {low}, got {params[key]}")
    if params["pool"] < params["batch_size"]:
        raise InputError(f"--param pool ({params['pool']}) must be at least the batch size ({params['batch_size']})")
    return params


@register_search("tenas")
class TenasSearch(SearchAlgorithm):
    name = "tenas"
    description = ("TE-NAS: prune the NB201 supernet one op per edge per round by the rank sum of NTK-condition "
                   "and linear-region changes (data via --param dataset=...)")
    uses_scores = False
    uses_fitness = False
    default_runs = 4

    def settings(self, options: SearchOptions) -> list[dict]:
        self.reject(options, "n", "budget", "population", "sample_size", "candidates")
        self.reject_extra(options, PARAMS)
        return [parse_params(options.extra)]

    def label(self, params: dict) -> str:
        label = f"B={params['batch_size']}, repeats={params['repeats']}, init={params['init']}"
        return label + (", from 5 ops" if params.get("keep_none") else "")

    def run(self, problem: SearchProblem, params: dict, run_seed: int) -> SearchResult:
        if problem.space.name != "nb201":
            raise InputError(f"search 'tenas' prunes the NB201 supernet; space {problem.space.name!r} is not nb201")
        started = time.perf_counter()
        data = load_pool(params["dataset"], int(params["pool"]), params["data_root"], params["norm"])
        cell, history, evaluated = tenas_prune(data, params, run_seed)
        index = problem.space.index(cell)
        seconds = time.perf_counter() - started
        return SearchResult(
            arch_index=index, queries=0, scored=evaluated, simulated_seconds=seconds,
            fitness=float(problem.oracle.fitness[index]),
            extra={"cell": cell, "pruned": [[h.round, h.edge, h.op, h.d_kappa, h.d_regions] for h in history]},
        )


__all__ = ["Candidate", "TenasData", "TenasSearch", "choose_prunes", "dense_ranks", "evaluate_candidate",
           "load_pool", "parse_params", "round_significant", "tenas_prune"]
