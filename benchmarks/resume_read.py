"""The resume read on a 5-million-row store: before (read every column of every part) and after, in one run.

Writes (once; reused when present) a synthetic store shaped like years of use: 5,000,000 score rows
with every column filled as the scorers fill them, from jobs over five spaces (NB201, NB101, NATS-SSS,
four NDS spaces) with eight metrics and several seeds, in parts of 2,000 rows (``score-all``'s
default flush), 2,500 part files. Then, each in a fresh process so peak memory is its own, it times:

- **before**: main's read path before this change, reproduced here (``Store.load`` read every column of
  every part, then the keys of the space were picked with DuckDB);
- **after**: the same call the driver makes today (``existing_keys(space=...)``), now a projected,
  filtered scan of the ``key`` column;
- **after, job keys**: ``existing_keys(space=, metrics=, among=)`` with the metric list and the keys the
  job could write (what the engine can pass: the answer is then as small as the job);
- the ``--dedupe`` copy path after (``read_keys``: the key column of the space, then all columns of the
  matching rows of the parts that hold them), and before (``read('scores')`` in full, every row a
  Python dict, filtered in Python) only with ``--dedupe-before``: on 5 million rows it peaked at 17 GiB;
- the two resume reads again on a compacted copy of the store (``store compact``: a few large parts
  sorted by space and metric, whose row-group statistics let the reader skip other spaces unread),
  unless ``--no-compacted``.

Peak memory is the growth of the process's peak resident set (VmHWM) over its size before the read.

Usage: python benchmarks/resume_read.py [--store DIR] [--rows 5000000] [--part-rows 2000] [--dedupe-before]
       [--no-compacted]
Last line: ``resume_before_s=<x> resume_after_s=<y> speedup=<x/y> memory_ratio=<before/after>``.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import subprocess
import sys
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import numpy as np
import pyarrow as pa

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from naswot_ray.store import SCORES_SCHEMA, Store  # noqa: E402

METRICS = ["naswot", "params", "synflow", "snip", "grad_norm", "fisher", "jacob_cov", "flops"]
#: (space, architectures, seeds): 1.25 M + 2.4 M + 1.05 M + 0.32 M rows with eight metrics each
JOBS = [("nb201", 15_625, 10), ("nb101", 100_000, 3), ("nats_sss", 32_768, 4),
        ("nds_darts", 5_000, 2), ("nds_enas", 5_000, 2), ("nds_pnas", 5_000, 2), ("nds_amoeba", 5_000, 2)]
#: the job whose resume is measured: NB201, NASWOT, seed 1
SPACE, METRIC, SEED = "nb201", "naswot", 1


def key_of(space: str, metric: str, seed: int, index: np.ndarray) -> list[str]:
    """Deterministic keys that look like real ones (sha1 hex digests: they do not compress)."""
    return [hashlib.sha1(f"{space}|{metric}|{seed}|{int(i)}".encode()).hexdigest() for i in index]


def part_rows(space: str, seed: int, indices: np.ndarray, when: datetime, rng: np.random.Generator) -> pa.Table:
    """All eight metrics' rows for ``indices`` of one job, every column filled."""
    n = len(indices) * len(METRICS)
    arch_index = np.repeat(indices, len(METRICS))
    metric = np.tile(METRICS, len(indices))
    keys = [k for m in METRICS for k in key_of(space, m, seed, indices)]
    keys = [keys[(j % len(METRICS)) * len(indices) + j // len(METRICS)] for j in range(n)]
    value = rng.normal(size=n) * 100
    errors = rng.random(n) < 0.01
    columns = {
        "key": keys, "space": [space] * n, "space_options": [""] * n, "arch_index": arch_index,
        "arch": [f"|nor_conv_3x3~0|+|skip_connect~0|avg_pool_3x3~1|+|none~0|conv_{i % 7}x1~1|skip~2|" for i in arch_index],
        "metric": metric, "value": np.where(errors, np.nan, value), "value_scale": ["raw"] * n,
        "status": np.where(errors, "error", "ok"), "error": [("RuntimeError: singular" if e else None) for e in errors],
        "dataset": ["cifar10"] * n, "batch_size": np.full(n, 128, np.int32),
        "batch_sha256": ["9f2c" * 16] * n, "seed": np.full(n, seed), "arch_seed": arch_index * 7919 + seed,
        "mode": ["reference"] * n, "bn_mode": ["train"] * n, "num_classes": np.full(n, 10, np.int32),
        "device": ["cuda:0"] * n, "memory_format": ["contiguous"] * n, "device_class": ["cuda"] * n,
        "metric_version": np.ones(n, np.int32), "metric_options": [""] * n, "labels_sha256": [""] * n,
        "seconds": rng.random(n), "worker": [f"scorer-{i % 16}@gpu-node-{i % 4}" for i in range(n)],
        "run_id": [f"{when:%Y%m%d-%H%M%S}-{seed:08x}"] * n, "package_version": ["0.1.0"] * n,
        "torch_version": ["2.4.1+cu121"] * n, "shared_from": pa.nulls(n, pa.int64()),
        "created_at": pa.array([when] * n, pa.timestamp("us", tz="UTC")),
    }
    return pa.table(columns).cast(SCORES_SCHEMA)


def write_store(root: str, rows: int, per_part: int) -> None:
    store = Store(root)
    rng = np.random.default_rng(0)
    written, when = 0, datetime(2024, 1, 1, tzinfo=timezone.utc)
    per_part_archs = max(1, per_part // len(METRICS))
    started = time.perf_counter()
    for space, archs, seeds in JOBS:
        for seed in range(1, seeds + 1):
            for start in range(0, archs, per_part_archs):
                indices = np.arange(start, min(archs, start + per_part_archs))
                take = min(len(indices), (rows - written) // len(METRICS))
                if take <= 0:
                    return
                store.write("scores", part_rows(space, seed, indices[:take], when, rng), tag=space)
                written += take * len(METRICS)
                when += timedelta(seconds=30)
            print(f"  wrote {written:,} rows ({time.perf_counter() - started:.0f} s)", flush=True)


# -- what is measured (each in a fresh process) ----------------------------------------------------

def before_resume(root: str) -> int:
    """main's existing_keys before this change: load every column of every part, then pick keys."""
    import duckdb
    import pyarrow.parquet as pq

    from naswot_ray.store import conform

    store = Store(root)
    parts = [conform(pq.read_table(p), SCORES_SCHEMA) for p in store.part_files("scores")]
    arrow = pa.concat_tables(parts).select(["key", "space", "status"])
    con = duckdb.connect()
    con.register("s", arrow)
    return len({r[0] for r in con.execute("SELECT DISTINCT key FROM s WHERE space = ?", [SPACE]).fetchall()})


def after_resume(root: str) -> int:
    return len(Store(root).existing_keys(space=SPACE))


def job_keys() -> list[str]:
    return key_of(SPACE, METRIC, SEED, np.arange(15_625))


def after_resume_job(root: str) -> int:
    return len(Store(root).existing_keys(space=SPACE, metrics=[METRIC], among=job_keys()))


def dedupe_keys() -> list[str]:
    """What a --dedupe resume copies: the stored representatives of 6,466 classes (a spread of indices)."""
    return key_of(SPACE, METRIC, SEED, np.arange(0, 15_625, 15_625 / 6_466).astype(int))


def before_dedupe(root: str) -> int:
    """The driver's _copy_from_store before: the whole deduplicated scores table, filtered in Python."""
    import duckdb
    import pyarrow.parquet as pq

    from naswot_ray.store import conform, query_arrow
    from naswot_ray.store.parquet_store import latest_sql

    wanted = set(dedupe_keys())
    store = Store(root)
    raw = pa.concat_tables([conform(pq.read_table(p), SCORES_SCHEMA) for p in store.part_files("scores")])
    con = duckdb.connect()
    con.register("scores_all", raw)
    rows = query_arrow(con, latest_sql("scores", "scores_all")).to_pylist()
    return len([r for r in rows if r["key"] in wanted and r["status"] == "ok"])


def after_dedupe(root: str) -> int:
    return Store(root).read_keys(dedupe_keys(), space=SPACE).num_rows


MEASURES = {"before": before_resume, "after": after_resume, "after_job": after_resume_job,
            "dedupe_before": before_dedupe, "dedupe_after": after_dedupe}


def rss_mb() -> float:
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def peak_rss_mb() -> float:
    """This process's peak resident set (VmHWM: unlike getrusage's maxrss it does not carry the parent's
    peak across fork and exec)."""
    with open("/proc/self/status") as fh:
        return next(int(line.split()[1]) for line in fh if line.startswith("VmHWM:")) / 1024


def reset_peak_rss() -> None:
    """Set the peak resident set back to the current one (Linux: 5 > /proc/self/clear_refs)."""
    with open("/proc/self/clear_refs", "w") as fh:
        fh.write("5")


def measure(name: str, root: str) -> None:
    import duckdb  # noqa: F401  imported before the baseline, as in a real process
    import pyarrow.dataset  # noqa: F401
    import pyarrow.parquet  # noqa: F401

    reset_peak_rss()
    base = rss_mb()
    started = time.perf_counter()
    answer = MEASURES[name](root)
    seconds = time.perf_counter() - started
    print(json.dumps({"name": name, "seconds": seconds, "peak_mb": peak_rss_mb() - base, "answer": answer}))


def run(name: str, root: str) -> dict:
    done = subprocess.run([sys.executable, __file__, "--measure", name, "--store", root], capture_output=True,
                          text=True, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--store", default="/tmp/naswot-resume-read-store")
    parser.add_argument("--rows", type=int, default=5_000_000)
    parser.add_argument("--part-rows", type=int, default=2_000)
    parser.add_argument("--dedupe-before", action="store_true", help="also time the old --dedupe copy (17 GiB here)")
    parser.add_argument("--no-compacted", action="store_true", help="skip the reads on a compacted copy")
    parser.add_argument("--measure", choices=sorted(MEASURES), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.measure:
        measure(args.measure, args.store)
        return
    store = Store(args.store)
    if store.exists() and store.part_files("scores"):
        print(f"reusing {args.store}")
    else:
        print(f"writing a synthetic store of {args.rows:,} rows to {args.store}")
        write_store(args.store, args.rows, args.part_rows)
    describe(args.store)
    names = [n for n in MEASURES if n != "dedupe_before" or args.dedupe_before]
    results = {name: run(name, args.store) for name in names}
    if not args.no_compacted:
        compacted = compacted_copy(args.store)
        describe(compacted)
        results.update({f"compacted_{name}": run(name, compacted) for name in ("after", "after_job")})
    for name, label in LABELS:
        if name in results:
            r = results[name]
            print(f"{label:<68} {r['seconds']:7.2f} s  peak +{r['peak_mb']:6.0f} MiB  ({r['answer']:,} keys)")
    b, a, j = results["before"], results["after"], results["after_job"]
    assert b["answer"] == a["answer"], "before and after must find the same keys"
    print(f"resume: {b['seconds'] / a['seconds']:.1f}x faster, {ratio(b, a):.1f}x less memory "
          f"(job keys: {b['seconds'] / j['seconds']:.1f}x, {ratio(b, j):.1f}x)")
    if "dedupe_before" in results:
        d, e = results["dedupe_before"], results["dedupe_after"]
        print(f"--dedupe copy: {d['seconds'] / e['seconds']:.1f}x faster, {ratio(d, e):.1f}x less memory")
    print(f"resume_before_s={b['seconds']:.2f} resume_after_s={a['seconds']:.2f} "
          f"speedup={b['seconds'] / a['seconds']:.1f} memory_ratio={ratio(b, a):.1f}")


LABELS = [("before", "resume read, before (every column of every part)"),
          ("after", "resume read, after (driver's call: key column, space filter)"),
          ("after_job", "resume read, after (+ metric filter, among the job's keys)"),
          ("dedupe_before", "--dedupe copy, before (whole table as Python rows, filtered)"),
          ("dedupe_after", "--dedupe copy, after (read_keys: keys first, then only their parts)"),
          ("compacted_after", "resume read, after, compacted store (driver's call)"),
          ("compacted_after_job", "resume read, after, compacted store (+ metric, job's keys)")]


def ratio(before: dict, after: dict) -> float:
    return before["peak_mb"] / max(after["peak_mb"], 1.0)


def describe(root: str) -> None:
    import pyarrow.parquet as pq

    parts = Store(root).part_files("scores")
    rows = sum(pq.read_metadata(p).num_rows for p in parts)
    size = sum(os.path.getsize(p) for p in parts) / 2**20
    print(f"{root}: {rows:,} score rows in {len(parts):,} parts, {size:,.0f} MiB on disk", flush=True)


def compacted_copy(root: str) -> str:
    """A copy of the store after ``store compact`` (made once, reused)."""
    import shutil

    from naswot_ray.store.compact import compact

    target = f"{root}-compacted"
    if not Store(target).exists():
        shutil.copytree(root, f"{target}.tmp")
        started = time.perf_counter()
        report = compact(Store(f"{target}.tmp"))
        os.rename(f"{target}.tmp", target)
        print(f"compacted a copy in {time.perf_counter() - started:.0f} s: {'; '.join(report.lines())}", flush=True)
    return target


if __name__ == "__main__":
    main()
