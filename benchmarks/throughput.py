"""NASWOT scoring throughput, measured side by side in one run (plain script: prints figures and ratios).

On the same NB201 cells (a seeded sample plus the cheapest and most expensive cells) and the same
batch, it times:
  (a) the reference method (metrics-spec 2.1 / 6): forward + backward + forward, per-layer copies to
      numpy, float64 numpy accumulation (our ``naswot --mode faithful``), one torch thread;
  (b) our fast path (one inference forward, K from the rectifiers' codes on the device), one thread,
      and with all cores;
  (c) the Ray engine (``run_score_all``) with 1 and 2 scorer actors against the bare loop (b).
Each cell is built from the same seed in every method (construction is part of the per-cell cost in
both). (a) and (b) alternate cell by cell so that load drift on a shared machine hits both equally.

Engine figures come twice: over the whole run, which includes the one-time start of the actors (a
process each, importing torch, the first forwards' kernel set-up: ~9 s here), and in the steady state
after the first chunk, which is what compares like for like with the bare loop (timed after its imports
and a warm-up) and what a long run sees.

Last line: ``speedup_per_core=<b/a> engine_overhead=<1 - bare1/engine1, steady state>
scaling_1_to_2=<engine1/(2 engine2), steady state>``.

Usage: python benchmarks/throughput.py [--cells 120] [--batch-size 128] [--skip-engine] [--skip-reference]
"""

from __future__ import annotations

import argparse
import math
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from naswot_ray.data import Batch, BatchSpec, draw_batch  # noqa: E402
from naswot_ray.engine.seeds import arch_seed  # noqa: E402
from naswot_ray.metrics import get_metric  # noqa: E402
from naswot_ray.spaces import get_space  # noqa: E402

NPZ = ROOT.parent / "shared" / "data" / "cifar10-convnetjs-subset" / "cifar10_subset_uint8_nhwc.npz"
EXTREMES = ("|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|nor_conv_3x3~0|nor_conv_3x3~1|nor_conv_3x3~2|",
            "|nor_conv_1x1~0|+|nor_conv_1x1~0|nor_conv_1x1~1|+|nor_conv_1x1~0|nor_conv_1x1~1|nor_conv_1x1~2|",
            "|skip_connect~0|+|skip_connect~0|skip_connect~1|+|skip_connect~0|skip_connect~1|skip_connect~2|",
            "|none~0|+|none~0|none~1|+|none~0|none~1|none~2|")


def pick_cells(n: int, seed: int) -> list[int]:
    space = get_space("nb201")
    extremes = [space.index(a) for a in EXTREMES]
    rng = np.random.default_rng(seed)
    rest = [int(i) for i in rng.choice(space.size, size=n - len(extremes), replace=False) if int(i) not in extremes]
    return extremes + rest


def dataset_spec(batch_size: int) -> BatchSpec:
    if NPZ.exists():
        return BatchSpec(f"npz:{NPZ}", batch_size=batch_size, seed=1)
    return BatchSpec("random", batch_size=batch_size, seed=1)


def score_cell(index: int, batch, mode: str, channels_last: bool = False) -> float:
    space, metric = get_space("nb201"), get_metric("naswot")
    torch.manual_seed(arch_seed(1, index))
    net = space.build(space.arch(index), 10).train()
    if channels_last:
        net = net.to(memory_format=torch.channels_last)
    return metric.score(net, batch, seed=0, mode=mode, ctx=None)


def time_interleaved(cells: list[int], batch, batch_nhwc) -> dict[str, float]:
    """Seconds of the reference method, the fast path (NCHW) and the fast path (channels_last), one
    torch thread, alternating cell by cell; plus the largest differences to the reference values."""
    torch.set_num_threads(1)
    out = dict(reference=0.0, fast_nchw=0.0, fast_nhwc=0.0, diff_nchw=0.0, diff_nhwc=0.0)
    for index in cells:
        t0 = time.perf_counter()
        slow = score_cell(index, batch, "faithful")
        t1 = time.perf_counter()
        exact = score_cell(index, batch, "reference")
        t2 = time.perf_counter()
        nhwc = score_cell(index, batch_nhwc, "reference", channels_last=True)
        t3 = time.perf_counter()
        out["reference"] += t1 - t0
        out["fast_nchw"] += t2 - t1
        out["fast_nhwc"] += t3 - t2
        if not math.isinf(slow):
            out["diff_nchw"] = max(out["diff_nchw"], abs(slow - exact))
            out["diff_nhwc"] = max(out["diff_nhwc"], abs(slow - nhwc))
    return out


def time_fast(cells: list[int], batch_nhwc, threads: int) -> float:
    torch.set_num_threads(threads)
    t0 = time.perf_counter()
    for index in cells:
        score_cell(index, batch_nhwc, "reference", channels_last=True)
    return time.perf_counter() - t0


def time_engine(cells: list[int], spec: BatchSpec, workers: int) -> tuple[float, float]:
    """(whole-run seconds, steady-state seconds per cell) of ``run_score_all`` over ``cells``.

    The whole run includes the one-time start of the actors (a Python process each, importing torch,
    the first forwards' kernel set-up); the bare loop is timed after its imports and a warm-up, so the
    like-for-like figure is the steady state: cells finished after the first chunk came back, over the
    time from that chunk to the last.
    """
    import ray

    from naswot_ray.engine.driver import run_score_all
    from naswot_ray.engine.job import ScoreJob

    marks: list[tuple[float, int]] = []
    with tempfile.TemporaryDirectory() as tmp:
        job = ScoreJob(space="nb201", metrics=["naswot"], batch=spec, store=str(Path(tmp) / "store"),
                       indices=cells, num_workers=workers, progress=False)
        assert ray.is_initialized()
        summary = run_score_all(job, on_progress=lambda s: marks.append((time.monotonic(), s.scored + s.failed)))
        assert summary.scored + summary.failed == len(cells), summary.lines()
    (t_first, n_first), (t_last, n_last) = marks[0], marks[-1]
    return summary.wall_seconds, (t_last - t_first) / (n_last - n_first)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cells", type=int, default=120)
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--skip-engine", action="store_true")
    parser.add_argument("--skip-reference", action="store_true",
                        help="time the fast path and the engine only (no reference method, no speedup figure)")
    args = parser.parse_args()
    cores = os.cpu_count() or 1
    cells = pick_cells(args.cells, args.seed)
    spec = dataset_spec(args.batch_size)
    batch = draw_batch(spec)
    batch_nhwc = Batch(batch.x.contiguous(memory_format=torch.channels_last), batch.y, batch.provenance)
    print(f"{len(cells)} NB201 cells, batch {batch.provenance.dataset} x{args.batch_size}, {cores} cores, "
          f"torch {torch.__version__}")
    score_cell(cells[0], batch_nhwc, "reference", channels_last=True)  # warm-up (lazy imports, allocator)

    rate = lambda seconds: len(cells) / seconds  # noqa: E731
    if args.skip_reference:
        timed = None
        fast_s = time_fast(cells, batch_nhwc, 1)
        rows = [("fast path channels_last (default on CPU), 1 thread", fast_s)]
    else:
        timed = time_interleaved(cells, batch, batch_nhwc)
        fast_s = timed["fast_nhwc"]
        rows = [("reference method (fwd+bwd+fwd, numpy), 1 thread", timed["reference"]),
                ("fast path NCHW (bit-exact), 1 thread", timed["fast_nchw"]),
                ("fast path channels_last (default on CPU), 1 thread", fast_s)]
    fast_all = time_fast(cells, batch_nhwc, cores)
    rows.append((f"fast path channels_last, {cores} threads", fast_all))
    engine1 = engine2 = None
    if not args.skip_engine:
        import ray

        ray.init(address="local", num_cpus=cores, include_dashboard=False, log_to_driver=False)
        try:
            engine1 = time_engine(cells, spec, 1)
            engine2 = time_engine(cells, spec, min(2, cores))
        finally:
            ray.shutdown()
        rows += [("Ray engine, 1 scorer (1 thread), whole run", engine1[0]),
                 ("Ray engine, 1 scorer, steady state", engine1[1] * len(cells)),
                 (f"Ray engine, {min(2, cores)} scorers (1 thread each), whole run", engine2[0]),
                 (f"Ray engine, {min(2, cores)} scorers, steady state", engine2[1] * len(cells))]
    width = max(len(name) for name, _ in rows)
    print(f"{'method':<{width}}  {'seconds':>9}  {'archs/s':>8}")
    for name, seconds in rows:
        print(f"{name:<{width}}  {seconds:9.1f}  {rate(seconds):8.3f}")
    speedup = float("nan")
    if timed is not None:
        ref_s = timed["reference"]
        speedup = ref_s / fast_s
        print(f"max |reference - fast| over the cells: NCHW {timed['diff_nchw']:.3g}, "
              f"channels_last {timed['diff_nhwc']:.3g}")
        print(f"bit-exact NCHW fast path / reference per core: {ref_s / timed['fast_nchw']:.2f}x")
        print(f"fast/reference per core: {speedup:.2f}x; fast all cores / reference 1 thread: {ref_s / fast_all:.2f}x")
    overhead = scaling = float("nan")
    if engine1 is not None:
        per_cell = fast_s / len(cells)
        overhead = 1 - per_cell / engine1[1]
        scaling = engine1[1] / (2 * engine2[1])
        print(f"engine overhead vs bare loop (1 thread): steady state {overhead:.3f}, whole run incl. actor start "
              f"{1 - fast_s / engine1[0]:.3f}; scaling 1->2 scorers: steady state {scaling:.3f}, whole run "
              f"{engine1[0] / (2 * engine2[0]):.3f}; 2 scorers vs bare loop on {cores} threads: "
              f"{fast_all / engine2[0]:.2f}x")
    print(f"speedup_per_core={speedup:.2f} engine_overhead={overhead:.3f} scaling_1_to_2={scaling:.3f}")


if __name__ == "__main__":
    main()
