"""Ray custom metrics for the dashboard / Prometheus: what the scorers and the queue are doing.

Exported (Ray prefixes ``ray_``): ``naswot_archs_scored`` and ``naswot_archs_failed`` (counters,
tagged by space and metric), ``naswot_arch_seconds`` (histogram of seconds per architecture, tagged
by space), ``naswot_queue_depth`` (gauge: architectures not yet leased, tagged by run). Metric
objects are created lazily inside the actor that records them, as Ray requires.
"""

from __future__ import annotations

from functools import cached_property

from ray.util.metrics import Counter, Gauge, Histogram

SECONDS_BOUNDARIES = [0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0]


class ScorerTelemetry:
    @cached_property
    def scored(self) -> Counter:
        return Counter("naswot_archs_scored", description="Architecture scores computed (status ok).",
                       tag_keys=("space", "metric"))

    @cached_property
    def failed(self) -> Counter:
        return Counter("naswot_archs_failed", description="Architecture scores that ended in an error row.",
                       tag_keys=("space", "metric"))

    @cached_property
    def seconds(self) -> Histogram:
        return Histogram("naswot_arch_seconds", description="Wall seconds to score one architecture (all metrics).",
                         boundaries=SECONDS_BOUNDARIES, tag_keys=("space",))

    def record(self, rows: list[dict]) -> None:
        per_arch: dict[int, float] = {}
        counts: dict[tuple[str, str, str], int] = {}
        for row in rows:
            key = (row["status"], row["space"], row["metric"])
            counts[key] = counts.get(key, 0) + 1
            per_arch[row["arch_index"]] = max(per_arch.get(row["arch_index"], 0.0), float(row["seconds"] or 0.0))
        for (status, space, metric), n in counts.items():
            (self.scored if status == "ok" else self.failed).inc(n, tags={"space": space, "metric": metric})
        if rows:
            space = rows[0]["space"]
            for seconds in per_arch.values():
                self.seconds.observe(seconds, tags={"space": space})


class QueueTelemetry:
    def __init__(self, run_id: str) -> None:
        self.run_id = run_id

    @cached_property
    def depth(self) -> Gauge:
        return Gauge("naswot_queue_depth", description="Architectures waiting to be leased.", tag_keys=("run",))

    def set_depth(self, pending: int) -> None:
        self.depth.set(pending, tags={"run": self.run_id})
