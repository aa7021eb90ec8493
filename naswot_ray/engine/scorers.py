"""The scorer lifecycle, owned in one place: start, fail to start, die, retire, wait, grow.

Rules (ROADMAP step 4):
- a scorer that dies after doing work (its node was lost) is replaced at once;
- a slot whose scorer fails ``max_start_failures`` times in a row without doing any work (an
  exception in its constructor: a plugin or data file missing on that node, a CUDA init error) is
  retired with the scorer's own error; when every slot is retired the run stops with that line
  (exit 1), and a run with some healthy scorers goes on without the failing slot and says so;
- a scorer that gives up on its device (consecutive device errors) is retired, not replaced;
- a scorer that cannot be placed yet (GPUs an autoscaler may still add) is waited for, up to
  ``wait_for_resources`` seconds, saying what is pending; scorers placed later join the run;
- when the cluster grows (nodes or GPUs join), new scorers are started on the new capacity, unless
  the user fixed ``--num-workers``.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import ray

from naswot_ray.engine.actors import ScorerActor
from naswot_ray.engine.job import ScoreJob
from naswot_ray.errors import EnvironmentProblem


@dataclass(frozen=True)
class WorkerShape:
    """Resources of one scorer, and how many the cluster holds now."""

    count: int
    gpus: float
    cpus: float
    threads: int

    def describe(self) -> str:
        gpu = f"{self.gpus:g} GPU and " if self.gpus else ""
        return f"{gpu}{self.cpus:g} CPU"


def worker_shape(job: ScoreJob) -> WorkerShape:
    """Scorers the cluster holds now, and each one's resources (GPU mode when the resolved device is cuda).

    In GPU mode the count is at least 1 even before any GPU has joined: on an autoscaling cluster the
    pending GPU scorer is what makes the autoscaler add GPU nodes.
    """
    resources = ray.cluster_resources()
    total_gpus = float(resources.get("GPU", 0))
    total_cpus = float(resources.get("CPU", 1))
    if (job.device or "").startswith("cuda") or job.gpus_per_worker is not None:
        gpus = job.gpus_per_worker or 1.0
        count = job.num_workers or max(1, int(total_gpus / gpus + 1e-9))
        cpus = min(1.0, total_cpus / count) if total_cpus else 1.0
        return WorkerShape(count, gpus, cpus, 1)
    cpus = job.cpus_per_worker
    count = job.num_workers or max(1, int(total_cpus / cpus + 1e-9))
    return WorkerShape(count, 0.0, cpus, max(1, int(cpus)))


def start_scorer(job: ScoreJob, batch_ref, name: str, run_id: str, namespace: str, shape: WorkerShape,
                 followers: dict[int, list[int]] | None = None, store_probe: str | None = None):
    """One scorer actor named ``name``; the driver replaces dead scorers itself (no Ray restarts)."""
    return ScorerActor.options(
        name=name, namespace=namespace, num_cpus=shape.cpus, num_gpus=shape.gpus, max_restarts=0,
        scheduling_strategy="SPREAD",
    ).remote(job, batch_ref, name, run_id, shape.threads, followers, store_probe)


def kill(actor) -> None:
    try:
        ray.kill(actor, no_restart=True)
    except Exception:  # already dead, or its node is gone
        pass


def actor_error_line(exc: BaseException) -> str:
    """The scorer's own error from a Ray actor failure (its constructor's exception, not Ray's wrapper)."""
    text = str(getattr(exc, "cause", None) or exc)
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    pattern = re.compile(r"^([A-Za-z_][\w.]*(Error|Exception|Failure|Interrupt)|RuntimeError|InputError)\b[:(]")
    for line in reversed(lines):
        if pattern.match(line) and not line.startswith(("ray.exceptions", "RayActorError", "ActorDiedError")):
            return line[:400]
    return (lines[0] if lines else type(exc).__name__)[:400]


@dataclass
class Slot:
    """One place a scorer works; its actor is replaced when it dies, until the slot is retired."""

    number: int
    actor: object
    generation: int = 0
    start_failures: int = 0
    worked: bool = False
    retired: str | None = None
    last_error: str = ""
    started_at: float = field(default_factory=time.monotonic)

    @property
    def family(self) -> str:
        return f"scorer-{self.number}"

    @property
    def name(self) -> str:
        return self.family + (f"-r{self.generation}" if self.generation else "")


class ScorerPool:
    """The run's scorer slots and every decision about starting, replacing, retiring and adding them."""

    def __init__(self, job: ScoreJob, batch_ref, run_id: str, namespace: str, *,
                 followers: dict[int, list[int]] | None = None, store_probe: str | None = None,
                 note: Callable[[str], None] = lambda message: None) -> None:
        self.job, self.batch_ref, self.run_id, self.namespace = job, batch_ref, run_id, namespace
        self.followers, self.store_probe, self.note = followers, store_probe, note
        self.shape = worker_shape(job)
        self.slots: list[Slot] = []
        self.every_actor: list = []
        self.started = time.monotonic()
        self.ever_worked = False
        #: slots whose current scorer has reported (kept as slots change, not recounted per report)
        self.working = 0
        self.last_note = 0.0
        self.replacements = 0

    # -- starting -------------------------------------------------------------------------------
    def _new_actor(self, name: str):
        actor = start_scorer(self.job, self.batch_ref, name, self.run_id, self.namespace, self.shape,
                             self.followers, self.store_probe)
        self.every_actor.append(actor)
        return actor

    def add(self, count: int) -> list[Slot]:
        added = []
        for _ in range(count):
            number = len(self.slots)
            slot = Slot(number, None)
            slot.actor = self._new_actor(slot.name)
            self.slots.append(slot)
            added.append(slot)
        return added

    def grow(self) -> list[Slot]:
        """New slots for capacity that joined the cluster (not when the user fixed --num-workers)."""
        if self.job.num_workers is not None:
            return []
        target = worker_shape(self.job).count
        usable = [s for s in self.slots if s.retired is None]
        return self.add(target - len(usable)) if target > len(usable) else []

    # -- outcomes -------------------------------------------------------------------------------
    def worked(self, slot: Slot) -> None:
        if not slot.worked:
            self.working += 1
        slot.worked = True
        slot.start_failures = 0
        self.ever_worked = True

    def died(self, slot: Slot, exc: BaseException) -> Slot | None:
        """Replace a dead scorer, or retire its slot after ``max_start_failures`` failed starts in a row.

        Returns the slot when it has a fresh scorer, None when it was retired.
        """
        kill(slot.actor)
        slot.last_error = actor_error_line(exc)
        if slot.worked:
            slot.start_failures = 0
        else:
            slot.start_failures += 1
        if slot.start_failures >= self.job.max_start_failures:
            slot.retired = (f"{slot.family} failed to start {slot.start_failures} times in a row: "
                            f"{slot.last_error}")
            self.note(f"retired {slot.retired}")
            return None
        slot.generation += 1
        if slot.worked:
            self.working -= 1
        slot.worked = False
        slot.started_at = time.monotonic()
        slot.actor = self._new_actor(slot.name)
        self.replacements += 1
        return slot

    def retire(self, slot: Slot, reason: str) -> None:
        kill(slot.actor)
        slot.retired = reason
        self.note(f"retired {reason}")

    # -- state ----------------------------------------------------------------------------------
    def usable(self) -> list[Slot]:
        return [s for s in self.slots if s.retired is None]

    def retired(self) -> list[Slot]:
        return [s for s in self.slots if s.retired is not None]

    def start_problems(self) -> list[str]:
        """Slots still trying to start a scorer when the run ended (failed before, never worked since)."""
        return [f"{s.family} failed to start {s.start_failures} time{'s' if s.start_failures > 1 else ''}: "
                f"{s.last_error}" for s in self.slots if s.retired is None and s.start_failures and not s.worked]

    def check_alive(self) -> None:
        """Stop the run (one line, exit 1) when no scorer can work, or none started in time."""
        if not self.usable():
            reasons = [s.retired for s in self.retired()]
            raise EnvironmentProblem(f"no scorer could work: {reasons[-1]}" + (
                f" (and {len(reasons) - 1} more slots alike)" if len(reasons) > 1 else ""))
        if self.ever_worked:
            return
        waited = time.monotonic() - self.started
        if waited >= self.job.wait_for_resources and self.job.address:
            raise EnvironmentProblem(
                f"no scorer could start within {self.job.wait_for_resources:g} s: each asks for "
                f"{self.shape.describe()} and the cluster has {_free_resources()}; add nodes, or pass "
                "--wait-for-resources SECONDS to wait longer")
        if waited >= 30 and time.monotonic() - self.last_note >= 30:
            self.last_note = time.monotonic()
            where = (f"; each asks for {self.shape.describe()} and the cluster has {_free_resources()}, waiting up to "
                     f"{self.job.wait_for_resources:g} s for more" if self.job.address else "")
            self.note(f"waiting for scorers to start: none has reported after {waited:.0f} s{where}")

    def kill_all(self) -> None:
        for actor in self.every_actor:
            kill(actor)


def _free_resources() -> str:
    total = ray.cluster_resources()
    return ", ".join(f"{k} {total.get(k, 0):g}" for k in ("CPU", "GPU"))


__all__ = ["ScorerPool", "Slot", "WorkerShape", "actor_error_line", "kill", "start_scorer", "worker_shape"]
