"""Check and measure the CUDA scoring path on a bare GPU machine, in one short run (under 7 minutes).

Made for a machine with PyTorch, numpy, pandas, pyarrow, scipy, click and tqdm but no Ray, no DuckDB,
no network: run it from a checkout, ``PYTHONPATH=. python benchmarks/gpu_check.py``. It uses exactly
the scoring code the Ray scorer actors run (``naswot_ray.engine.worker.ArchScorer``), which imports
neither Ray nor DuckDB.

1. **Checks** (those of ``tests/engine/test_cuda_path.py``): NASWOT's fp16 Gram matrix of 0/1 codes
   is exactly the float64 one; the scorer keeps the batch and every network on the device; device and
   CPU scores agree (cuDNN rounds differently: to a tolerance, not bit for bit).
2. **One scorer** scores every NB201 isomorphism class (6,466 representatives, ``--dedupe``'s work)
   with NASWOT: architectures per second and GPU memory.
3. **Shared GPU**: the same fixed slice of 1,500 cells scored by 2 and then 4 scorer processes sharing
   the device (as ``--gpus-per-worker 0.5`` / ``0.25`` would place them), each process its share of the
   slice, timed from a common start after every scorer is built: aggregate architectures per second
   and GPU memory (per process peak, and the device's used memory).

A watchdog stops everything after ``--guard`` seconds (default 420); a stage that would not fit in
what is left is shortened, and says so. ``--cpu-smoke`` runs the same stages on a few cells on the CPU
(CI runs it with Ray and DuckDB made unimportable).

Last line: ``gpu_check ok=<all checks passed> one_scorer_archs_per_s=<x> shared2_archs_per_s=<y>
shared4_archs_per_s=<z>``.
"""

from __future__ import annotations

import argparse
import math
import multiprocessing as mp
import os
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import torch  # noqa: E402

from naswot_ray.data import BatchSpec, draw_batch  # noqa: E402
from naswot_ray.engine.dedupe import plan_sharing  # noqa: E402
from naswot_ray.engine.job import ScoreJob  # noqa: E402
from naswot_ray.engine.worker import ArchScorer  # noqa: E402
from naswot_ray.metrics.naswot import KernelAccumulator  # noqa: E402

#: children started by stage 3, terminated by the watchdog if it fires
CHILDREN: list[mp.Process] = []


@dataclass
class Settings:
    device: str
    batch_size: int
    dataset: str
    classes: int | None
    slice_cells: int
    shares: tuple[int, ...]
    deadline: float


def job_for(settings: Settings, device: str) -> ScoreJob:
    spec = BatchSpec(settings.dataset, batch_size=settings.batch_size, seed=1, image_size=32)
    return ScoreJob(space="nb201", metrics=["naswot"], batch=spec, store="unused", device=device,
                    channels_last=False if device.startswith("cuda") else None)


def scorer(settings: Settings, device: str, worker: str = "gpu-check") -> ArchScorer:
    job = job_for(settings, device)
    return ArchScorer(job, draw_batch(job.batch), worker=worker, run_id="gpu-check")


def memory(device: str) -> str:
    if not device.startswith("cuda"):
        return "n/a on CPU"
    free, total = torch.cuda.mem_get_info()
    return (f"peak allocated {torch.cuda.max_memory_allocated() / 2**20:,.0f} MiB, peak reserved "
            f"{torch.cuda.max_memory_reserved() / 2**20:,.0f} MiB, device used {(total - free) / 2**20:,.0f} "
            f"of {total / 2**20:,.0f} MiB")


# -- 1. checks --------------------------------------------------------------------------------

def checks(settings: Settings) -> bool:
    device = settings.device
    ok = True
    gen = torch.Generator().manual_seed(0)
    codes = [(torch.rand(64, n, generator=gen) > 0.5).float() for n in (3, 4096, 70_000)]
    on_device, reference = KernelAccumulator(), KernelAccumulator()
    for c in codes:
        on_device.add_codes(c.to(device), weight=2)
        reference.add_codes(c.double(), weight=2)
    exact = on_device.gram.dtype == torch.float64 and torch.equal(on_device.kernel().cpu(), reference.kernel())
    ok &= report("Gram matrix of 0/1 codes on the device equals the float64 one exactly", exact)

    s = scorer(settings, device)
    model = s._build_factory(s.space.arch(7), seed=3)()
    placed = s.batch.x.device.type == torch.device(device).type and all(
        p.device.type == torch.device(device).type for p in model.parameters())
    rows = s.score_indices([7])
    ok &= report(f"batch and network on {device}, rows ok and marked {device}",
                 placed and {r["status"] for r in rows} == {"ok"} and {r["device"] for r in rows} == {device})

    cells = [0, 7, 123, 4567]
    here = {r["arch_index"]: r["value"] for r in s.score_indices(cells)}
    cpu = {r["arch_index"]: r["value"] for r in scorer(settings, "cpu").score_indices(cells)}
    worst = max(abs(here[i] - cpu[i]) / max(abs(cpu[i]), 1e-6) for i in cells)
    ok &= report(f"{device} and CPU NASWOT scores agree on cells {cells} (worst relative difference {worst:.2e})",
                 all(math.isclose(here[i], cpu[i], rel_tol=1e-3, abs_tol=1e-6) for i in cells))
    ok &= report("neither Ray nor DuckDB was imported", not {"ray", "duckdb"} & set(sys.modules))
    return ok


def report(what: str, passed: bool) -> bool:
    print(f"  [{'PASS' if passed else 'FAIL'}] {what}", flush=True)
    return passed


# -- 2. one scorer over every isomorphism class ----------------------------------------------------

def one_scorer(settings: Settings, representatives: list[int], budget: float) -> float:
    s = scorer(settings, settings.device)
    s.score_indices(representatives[:2])  # warm-up: kernels chosen, allocator primed
    if settings.device.startswith("cuda"):
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats()
    started = time.perf_counter()
    done = failed = 0
    for index in representatives:
        rows = s.score_index(index)
        done += 1
        failed += any(r["status"] != "ok" for r in rows)
        if time.perf_counter() - started > budget:
            print(f"  stopped by the time guard after {done:,} of {len(representatives):,} classes", flush=True)
            break
    if settings.device.startswith("cuda"):
        torch.cuda.synchronize()
    seconds = time.perf_counter() - started
    rate = done / seconds
    print(f"  {done:,} classes in {seconds:.1f} s: {rate:.1f} archs/s ({failed} with error rows); "
          f"{memory(settings.device)}", flush=True)
    return rate


# -- 3. scorers sharing the device --------------------------------------------------------------------

def share_worker(settings: Settings, indices: list[int], ready, start, results, slot: int) -> None:
    """One scorer process: build, wait for the common start, score its share, report."""
    torch.set_num_threads(1)
    s = scorer(settings, settings.device, worker=f"share-{slot}")
    s.score_indices(indices[:1])
    if settings.device.startswith("cuda"):
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats()
    ready.wait()
    start.wait()
    began = time.perf_counter()
    for index in indices:
        s.score_index(index)
        if time.perf_counter() > settings.deadline:
            break
    if settings.device.startswith("cuda"):
        torch.cuda.synchronize()
    peak = torch.cuda.max_memory_allocated() / 2**20 if settings.device.startswith("cuda") else float("nan")
    results.put((slot, began, time.perf_counter(), len(indices), peak))


def shared(settings: Settings, cells: list[int], scorers: int) -> float:
    context = mp.get_context("spawn")  # CUDA cannot be forked
    ready, start, results = context.Barrier(scorers + 1), context.Barrier(scorers + 1), context.Queue()
    shares = [cells[i::scorers] for i in range(scorers)]
    children = [context.Process(target=share_worker, args=(settings, share, ready, start, results, slot), daemon=True)
                for slot, share in enumerate(shares)]
    CHILDREN.extend(children)
    for child in children:
        child.start()
    ready.wait()  # every scorer is built
    used = ""
    start.wait()
    if settings.device.startswith("cuda"):
        time.sleep(1.0)
        free, total = torch.cuda.mem_get_info()
        used = f", device used {(total - free) / 2**20:,.0f} of {total / 2**20:,.0f} MiB"
    reports = [results.get(timeout=max(1.0, settings.deadline - time.time() + 30)) for _ in children]
    for child in children:
        child.join(timeout=30)
    began, ended = min(r[1] for r in reports), max(r[2] for r in reports)
    rate = len(cells) / (ended - began)
    peaks = ", ".join(f"{r[4]:,.0f}" for r in sorted(reports)) if settings.device.startswith("cuda") else "n/a"
    print(f"  {scorers} scorers, {len(cells):,} cells in {ended - began:.1f} s: {rate:.1f} archs/s; "
          f"peak allocated per process (MiB): {peaks}{used}", flush=True)
    return rate


# -- the run ------------------------------------------------------------------------------------

def guard(seconds: float) -> None:
    def fire() -> None:
        print(f"GUARD: {seconds:.0f} s reached; stopping", flush=True)
        for child in CHILDREN:
            if child.is_alive():
                child.terminate()
        os._exit(3)

    timer = threading.Timer(seconds, fire)
    timer.daemon = True
    timer.start()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cpu-smoke", action="store_true", help="a few cells on the CPU (what CI runs)")
    parser.add_argument("--guard", type=float, default=420.0, help="stop everything after this many seconds")
    parser.add_argument("--batch-size", type=int, default=None, help="images per batch (default 128; 16 with --cpu-smoke)")
    parser.add_argument("--dataset", default="random", help="random (seeded Gaussian, no files) or npz:PATH")
    args = parser.parse_args()
    started = time.time()
    guard(args.guard)
    if not args.cpu_smoke and not torch.cuda.is_available():
        print("no CUDA device here: run on a GPU machine, or pass --cpu-smoke")
        sys.exit(1)
    smoke = args.cpu_smoke
    if smoke:
        torch.set_num_threads(1)  # one core per scorer, as a CPU actor gets
    settings = Settings(device="cpu" if smoke else "cuda", batch_size=args.batch_size or (16 if smoke else 128),
                        dataset=args.dataset, classes=6 if smoke else None, slice_cells=4 if smoke else 1500,
                        shares=(2, 4), deadline=started + args.guard - 15)
    name = "CPU (smoke run)" if smoke else torch.cuda.get_device_name(0)
    print(f"gpu_check on {name}: torch {torch.__version__}, batch {settings.batch_size} ({settings.dataset}), "
          f"guard {args.guard:.0f} s", flush=True)

    print("1. checks", flush=True)
    ok = checks(settings)

    space = job_for(settings, settings.device).resolved_space()
    representatives = plan_sharing(space, list(range(space.size)), []).to_score
    print(f"2. one scorer, NASWOT over {len(representatives):,} NB201 isomorphism classes", flush=True)
    representatives = representatives[: settings.classes] if settings.classes else representatives
    # leave stage 3 about 40% of what is left (it starts processes and scores 2 x 1,500 cells)
    budget = (settings.deadline - time.time()) * 0.6
    one = one_scorer(settings, representatives, budget)

    cells = sorted(int(i) for i in torch.randperm(space.size, generator=torch.Generator().manual_seed(1))
                   [: settings.slice_cells])
    rates = {}
    for scorers in settings.shares:
        if time.time() > settings.deadline - 30:
            print(f"3. {scorers} scorers sharing the device: skipped, the time guard is near", flush=True)
            continue
        print(f"3. {scorers} scorers sharing the device, a fixed slice of {len(cells):,} cells", flush=True)
        rates[scorers] = shared(settings, cells, scorers)
    print(f"total {time.time() - started:.0f} s", flush=True)
    print(f"gpu_check ok={ok} one_scorer_archs_per_s={one:.1f} shared2_archs_per_s={rates.get(2, float('nan')):.1f} "
          f"shared4_archs_per_s={rates.get(4, float('nan')):.1f}", flush=True)
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
