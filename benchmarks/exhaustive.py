"""NB201 end to end through ``score-all``: wall time, archs/s and memory sampled along the way.

Runs ``run_score_all`` (the engine behind ``naswot-ray score-all``) over every NB201 cell (or
``--limit N``) on a local Ray, into a fresh store unless ``--store`` names one, while a sampler thread
records the resident memory (RSS) of the driver and of every process it started (Ray's daemons and
the scorer actors). It prints the RSS when 1,000 cells had been scored and at the end, so "memory stays
flat over a whole space" is a measured ratio.

Usage: python benchmarks/exhaustive.py [--limit N] [--dedupe] [--workers K] [--store DIR] [--dataset SPEC]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from naswot_ray.data import BatchSpec  # noqa: E402
from naswot_ray.engine.driver import RunSummary, run_score_all  # noqa: E402
from naswot_ray.engine.job import ScoreJob  # noqa: E402

NPZ = ROOT.parent / "shared" / "data" / "cifar10-convnetjs-subset" / "cifar10_subset_uint8_nhwc.npz"
PAGE = os.sysconf("SC_PAGE_SIZE")


def descendants(root: int) -> list[int]:
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(ppid, []).append(int(entry.name))
    out, stack = [], [root]
    while stack:
        pid = stack.pop()
        out.append(pid)
        stack.extend(children.get(pid, []))
    return out


def rss_bytes(pid: int) -> int:
    try:
        return int(Path(f"/proc/{pid}/statm").read_text().split()[1]) * PAGE
    except (OSError, IndexError, ValueError):
        return 0


def scorer_pids(pids: list[int]) -> list[int]:
    out = []
    for pid in pids:
        try:
            if "ScorerActor" in Path(f"/proc/{pid}/cmdline").read_text() or "scorer-" in Path(f"/proc/{pid}/comm").read_text():
                out.append(pid)
        except OSError:
            pass
    return out


class MemorySampler(threading.Thread):
    """Every ``period`` seconds: (scored so far, RSS of all our processes, RSS of the scorer actors)."""

    def __init__(self, period: float = 2.0) -> None:
        super().__init__(daemon=True)
        self.period, self.scored, self.samples = period, 0, []
        self.stop_event = threading.Event()

    def run(self) -> None:
        while not self.stop_event.wait(self.period):
            pids = descendants(os.getpid())
            scorers = scorer_pids(pids)
            self.samples.append((self.scored, sum(rss_bytes(p) for p in pids), sum(rss_bytes(p) for p in scorers)))

    def peak_until(self, scored: int) -> tuple[int, int]:
        window = [s for s in self.samples if s[0] <= scored] or self.samples[:1]
        return max(s[1] for s in window), max(s[2] for s in window)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--limit", type=int, default=None)
    parser.add_argument("--dedupe", action="store_true")
    parser.add_argument("--workers", type=int, default=None)
    parser.add_argument("--store", default=None, help="store directory (default: a fresh temporary one)")
    parser.add_argument("--dataset", default=f"npz:{NPZ}" if NPZ.exists() else "random")
    parser.add_argument("--metrics", default="naswot")
    args = parser.parse_args()
    import ray

    tmp = tempfile.TemporaryDirectory() if args.store is None else None
    store = args.store or str(Path(tmp.name) / "store")
    job = ScoreJob(space="nb201", metrics=args.metrics.split(","), batch=BatchSpec(args.dataset, batch_size=128, seed=1),
                   store=store, limit=args.limit, dedupe=args.dedupe, num_workers=args.workers, progress=True,
                   dashboard=False)
    ray.init(address="local", include_dashboard=False, log_to_driver=False)
    sampler = MemorySampler()

    def on_progress(summary: RunSummary) -> None:
        sampler.scored = summary.scored + summary.failed

    sampler.start()
    t0 = time.monotonic()
    try:
        summary = run_score_all(job, on_progress=on_progress)
    finally:
        sampler.stop_event.set()
        ray.shutdown()
    wall = time.monotonic() - t0
    print("\n".join(summary.lines()))
    total_1k, scorers_1k = sampler.peak_until(1000)
    total_end, scorers_end = sampler.peak_until(10**9)
    gib = 1024 ** 3
    print(f"cells {summary.requested}, wall {wall / 60:.1f} min, {summary.requested / wall:.2f} archs/s "
          f"(forwards: {summary.requested - summary.shared - summary.skipped}; dedupe={args.dedupe})")
    print(f"peak RSS, all processes: {total_1k / gib:.2f} GiB by 1,000 cells, {total_end / gib:.2f} GiB at the end "
          f"(growth {total_end / total_1k - 1:+.1%})")
    print(f"peak RSS, scorer actors: {scorers_1k / gib:.2f} GiB by 1,000 cells, {scorers_end / gib:.2f} GiB at the end "
          f"(growth {scorers_end / max(scorers_1k, 1) - 1:+.1%})")
    print(f"store: {store}")


if __name__ == "__main__":
    main()
