"""What sharing passes saves: each issue-13 proxy alone vs all of them in one run, NB201 on this machine.

For seeded NB201 cells, the real worker (``ArchScorer``, no Ray) scores each proxy alone (the
``az_nas`` group counts as one request: its four members always share one pass), then all of them
together, and prints per proxy the seconds per architecture alone, the sum over proxies, the seconds
per architecture of the joint run and the ratio joint / sum. Where sharing happens: AZ-NAS's four
components (one forward + segment VJPs), ZiCo's first labelled batch with plain (its gradients) and
epe_nas (its input Jacobian), SWAP's pattern count with swap_reg, and no unused shared build.
Each proxy keeps its own protocol (batch sizes, 10-class head) on the run batch of 128 images: the
shared CIFAR-10 subset when present, else seeded random images. One torch thread, channels_last, the
CPU default; the first cell is a warm-up and is not timed. The figures are CPU seconds of this process
(``time.process_time``), with the runs interleaved cell by cell, because on a shared machine wall time
mostly measures the other users; the wall-clock ratio is printed beside it.

Usage: python benchmarks/shared_passes.py [--cells 3] [--proxies az_nas,zico,...]
The last line is machine-readable JSON.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from naswot_ray.data import BatchSpec, draw_batch  # noqa: E402
from naswot_ray.engine.job import ScoreJob  # noqa: E402
from naswot_ray.engine.worker import ArchScorer  # noqa: E402
from naswot_ray.metrics import parse_metric_list  # noqa: E402

JOINT = "all in one run"
PROXIES = ("az_nas", "zico", "plain", "epe_nas", "l2_norm", "meco", "swap", "swap_reg", "zen", "vkdnw", "vkdnw_aleph",
           "vkdnw_jacov")
NPZ = Path(__file__).resolve().parents[2] / "shared" / "data" / "cifar10-convnetjs-subset" / "cifar10_subset_uint8_nhwc.npz"


def scorer_for(metrics: list[str], batch: "RunBatch") -> ArchScorer:
    job = ScoreJob(space="nb201", metrics=metrics, batch=batch.spec, store="unused", num_classes=10)
    job.validate()
    return ArchScorer(job, batch.drawn)


def timed(scorer: ArchScorer, index: int) -> tuple[float, float]:
    """(CPU seconds, wall seconds) of scoring one architecture; any error row stops the benchmark."""
    cpu, wall = time.process_time(), time.perf_counter()
    rows = scorer.score_index(index)
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    bad = [r["error"] for r in rows if r["status"] != "ok"]
    if bad:
        raise SystemExit(f"{sorted({r['metric'] for r in rows})}: {bad[0]}")
    return cpu, wall


class RunBatch:
    def __init__(self) -> None:
        dataset = f"npz:{NPZ}" if NPZ.exists() else "random"
        self.spec = BatchSpec(dataset, batch_size=128, seed=1, image_size=32)
        self.drawn = draw_batch(self.spec)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cells", type=int, default=3, help="timed cells (one more is the warm-up)")
    parser.add_argument("--proxies", default=",".join(PROXIES))
    args = parser.parse_args()
    torch.set_num_threads(1)
    proxies = [p.strip() for p in args.proxies.split(",")]
    indices = [int(i) for i in np.random.default_rng(0).choice(15625, args.cells + 1, replace=False)]
    batch = RunBatch()
    print(f"NB201 cells {indices[1:]} (warm-up {indices[0]}), batch {batch.spec.dataset}, one thread, "
          f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    scorers = {proxy: scorer_for(parse_metric_list(proxy), batch) for proxy in proxies}
    scorers[JOINT] = scorer_for(parse_metric_list(",".join(proxies)), batch)
    for scorer in scorers.values():
        scorer.score_index(indices[0])  # warm-up (lazy imports, allocator)
    cpu = dict.fromkeys(scorers, 0.0)
    wall = dict.fromkeys(scorers, 0.0)
    for index in indices[1:]:  # interleaved, so a change in the machine's load hits every entry alike
        for name, scorer in scorers.items():
            c, w = timed(scorer, index)
            cpu[name] += c / args.cells
            wall[name] += w / args.cells
    for proxy in proxies:
        print(f"  {proxy:<14} alone {cpu[proxy]:8.2f} CPU s/arch  ({wall[proxy]:.2f} s wall)")
    total, joint = sum(cpu[p] for p in proxies), cpu[JOINT]
    total_wall, joint_wall = sum(wall[p] for p in proxies), wall[JOINT]
    ratio = joint / total
    print(f"sum of the {len(proxies)} alone: {total:.2f} CPU s/arch; all in one run: {joint:.2f} CPU s/arch; "
          f"ratio joint/sum {ratio:.3f} (saves {100 * (1 - ratio):.0f}%); wall clock {joint_wall:.2f} / "
          f"{total_wall:.2f} = {joint_wall / total_wall:.3f}")
    print(json.dumps({"cells": args.cells, "alone_cpu_s_per_arch": {p: round(cpu[p], 3) for p in proxies},
                      "sum_cpu_s_per_arch": round(total, 3), "joint_cpu_s_per_arch": round(joint, 3),
                      "ratio": round(ratio, 4), "wall_ratio": round(joint_wall / total_wall, 4)}))


if __name__ == "__main__":
    main()
