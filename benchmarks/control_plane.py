"""How many score rows per second one driver takes in: the control plane, measured without any network cost.

A test-only metric that builds no network and costs nothing (``zero_cost``) over a test-only space whose
architectures are just their index (``test_counting``), both loaded as a plugin in the driver and every
scorer (``naswot_ray.testing``); up to 16 scorer actors with fractional CPUs (each imports torch); the
real driver, sampler and store. Two designs in the same run:

- ``before``: every row goes through the driver (``write_path="driver"``, the design before scorers
  wrote their own parts): each scorer call scores one chunk and returns its rows; the driver writes
  them and commits the leases;
- ``after``: scorers write staged parts themselves and the sampler publishes them; each scorer call
  works for ``--work-seconds`` and returns a small report.

The sustained rate is the slope of committed rows over time from the moment every scorer has reported
(start-up, 16 torch imports on two cores, excluded) up to 90 % of the rows (the last flushes excluded).
The new design leases chunks the engine's way (sized to a quarter second of work); the old one leased
fixed chunks of 16, as it did. The last line reads ``driver_rows_per_s=<after> before_rows_per_s=<before>``.

    python benchmarks/control_plane.py                      # defaults: 16 scorers, 2 CPUs' worth of Ray
    python benchmarks/control_plane.py --scorers 8 --after-archs 300000
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")

import ray  # noqa: E402

from naswot_ray.data import BatchSpec  # noqa: E402
from naswot_ray.engine.driver import RunSummary, run_score_all  # noqa: E402
from naswot_ray.engine.job import ScoreJob  # noqa: E402
from naswot_ray.store import Store  # noqa: E402


def measure(label: str, root: Path, archs: int, scorers: int, cpus: float, write_path: str, chunk: int | None,
            work_seconds: float, flush_rows: int) -> dict:
    store = root / label
    samples: list[tuple[float, int, int]] = []
    t0 = time.monotonic()

    def on_progress(summary: RunSummary) -> None:
        # one row per architecture here: rows taken in = architectures counted by the driver so far
        samples.append((time.monotonic() - t0, summary.scored + summary.failed, summary.scorers_working))

    job = ScoreJob(space="test_counting", metrics=["zero_cost"], plugins=["naswot_ray.testing"],
                   batch=BatchSpec("random", batch_size=2, seed=1, image_size=8), store=str(store),
                   limit=archs, num_workers=scorers, cpus_per_worker=cpus, chunk_size=chunk, write_path=write_path,
                   work_seconds=work_seconds, flush_rows=flush_rows, flush_seconds=30.0, progress=False,
                   dashboard=False)
    cpu0 = time.process_time()
    summary = run_score_all(job, on_progress=on_progress)
    driver_cpu = time.process_time() - cpu0
    stored = Store(str(store)).load("scores", columns=["key"]).num_rows
    rate, band_rows, band_seconds = sustained_rate(samples, summary.rows_written, scorers)
    return {"label": label, "archs": archs, "rows": summary.rows_written, "stored": stored,
            "wall": summary.wall_seconds, "rate": rate, "band_rows": band_rows, "band_seconds": band_seconds,
            "driver_cpu_us_per_row": driver_cpu / max(summary.rows_written, 1) * 1e6,
            "whole_run_rate": summary.rows_written / summary.wall_seconds}


def sustained_rate(samples: list[tuple[float, int, int]], total: int, scorers: int) -> tuple[float, int, float]:
    """Rows per second while every scorer works: least squares over the samples from the first report
    after all ``scorers`` have reported (their torch imports and start-up no longer compete for the
    cores) up to 90 % of the rows (the last flushes excluded). Returns (rate, rows, seconds) of that band;
    where fewer than three samples fall in it, the band is 20-90 % of the rows and the rows count is 0.
    """
    started = next((i for i, (_, _, working) in enumerate(samples) if working >= scorers), None)
    band = [(t, r) for t, r, _ in samples[started:] if r <= 0.9 * total] if started is not None else []
    rows_in_band = band[-1][1] - band[0][1] if len(band) >= 3 else 0
    if len(band) < 3:
        band = [(t, r) for t, r, _ in samples if 0.2 * total <= r <= 0.9 * total]
    if len(band) < 2:
        return float("nan"), 0, 0.0
    n = len(band)
    mean_t = sum(t for t, _ in band) / n
    mean_r = sum(r for _, r in band) / n
    var = sum((t - mean_t) ** 2 for t, _ in band)
    if var == 0:
        return float("nan"), 0, 0.0
    return sum((t - mean_t) * (r - mean_r) for t, r in band) / var, rows_in_band, band[-1][0] - band[0][0]


def band(result: dict) -> str:
    if not result["band_rows"]:
        return "20-90 % of the rows: too few reports once every scorer worked"
    return f"{result['band_rows']:,} rows in {result['band_seconds']:.1f} s with every scorer working"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scorers", type=int, default=16)
    parser.add_argument("--ray-cpus", type=float, default=2.0, help="CPUs Ray may use (the scorers share them)")
    parser.add_argument("--before-archs", type=int, default=60_000)
    parser.add_argument("--after-archs", type=int, default=600_000)
    parser.add_argument("--chunk", type=int, default=16,
                        help="architectures per lease of the old design (it leased fixed chunks of 16)")
    parser.add_argument("--after-chunk", type=int, default=None,
                        help="fixed lease size for the new design (default: the engine's own, adaptive sizing)")
    parser.add_argument("--work-seconds", type=float, default=2.0)
    parser.add_argument("--flush-rows", type=int, default=5000)
    args = parser.parse_args()

    root = Path(tempfile.mkdtemp(prefix="naswot-control-plane-"))
    cpus = args.ray_cpus / args.scorers
    ray.init(address="local", num_cpus=int(args.ray_cpus), include_dashboard=False, log_to_driver=False)
    try:
        print(f"{args.scorers} scorers x {cpus:g} CPU on a {args.ray_cpus:g}-CPU Ray ({os.cpu_count()} cores here), "
              f"chunks: before {args.chunk}, after {args.after_chunk or 'adaptive'}, "
              "test-only metric zero_cost over test_counting")
        results = []
        for label, archs, path, chunk in (("before", args.before_archs, "driver", args.chunk),
                                          ("after", args.after_archs, "auto", args.after_chunk)):
            result = measure(label, root, archs, args.scorers, cpus, path, chunk, args.work_seconds,
                             args.flush_rows)
            results.append(result)
            print(f"{label:6s} ({'driver writes every row' if path == 'driver' else 'scorers write, sampler publishes'}): "
                  f"{result['rows']:,} rows ({result['stored']:,} stored), sustained {result['rate']:,.0f} rows/s "
                  f"({band(result)}), "
                  f"whole run {result['whole_run_rate']:,.0f} rows/s in {result['wall']:.1f} s; "
                  "driver process CPU over the whole run "
                  f"{result['driver_cpu_us_per_row']:.1f} us/row (one core's worth: "
                  f"{1e6 / result['driver_cpu_us_per_row']:,.0f} rows/s)")
            assert result["stored"] == result["rows"] == archs, "rows lost or duplicated"
        before, after = results
        print(f"ratio after/before: {after['rate'] / before['rate']:.1f}x (goal: >= 10,000 rows/s, "
              f"enough for ~200 GPUs at 50 archs/s each)")
        print(f"driver_rows_per_s={after['rate']:.0f} before_rows_per_s={before['rate']:.0f}")
    finally:
        ray.shutdown()
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
