"""What one ``score-all`` invocation asks for, resolved and validated before anything runs.

Kept free of Ray so the CLI can build and validate a job (and reject bad input with one line and
nothing written) before a cluster is even contacted.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import asdict, dataclass, field, fields

from naswot_ray.data.sources import BatchSpec, check_batch_spec
from naswot_ray.errors import InputError
from naswot_ray.metrics import MetricRequest, get_metric
from naswot_ray.spaces import SearchSpace, get_space

BN_MODES = ("train", "eval")
WRITE_PATHS = ("auto", "driver")
#: device names a scorer can be asked to use (``cuda:N`` picks one GPU of a node)
DEVICE_PATTERN = re.compile(r"^(cpu|cuda(:\d+)?)$")
DEVICE_CHOICES = "cpu, cuda, cuda:N"


def device_class(device: str) -> str:
    """``cuda:1`` -> ``cuda``: the kind of kernels a value was computed with (part of its identity)."""
    return device.split(":", 1)[0]


def memory_format_for(device: str, channels_last: bool | None) -> str:
    """channels_last by default on CPU (about 1.5x faster there), contiguous NCHW elsewhere."""
    on = channels_last if channels_last is not None else device_class(device) == "cpu"
    return "channels_last" if on else "contiguous"


@dataclass
class ScoreJob:
    space: str
    metrics: list[str]
    batch: BatchSpec
    store: str
    mode: str | None = None
    space_options: dict = field(default_factory=dict)
    #: metric name -> {option: value} (see each metric's declared options)
    metric_options: dict = field(default_factory=dict)
    seed: int = 1
    bn_mode: str = "train"
    num_classes: int | None = None
    limit: int | None = None
    indices: list[int] | None = None
    address: str | None = None
    num_workers: int | None = None
    gpus_per_worker: float | None = None
    cpus_per_worker: float = 1.0
    chunk_size: int | None = None
    device: str | None = None
    channels_last: bool | None = None
    retry_errors: bool = False
    arch_timeout: float | None = None
    dedupe: bool = False
    flush_rows: int = 2000
    flush_seconds: float = 60.0
    progress: bool = True
    dashboard: bool = True
    #: modules imported in the driver and in every scorer before anything else (spaces/metrics from outside)
    plugins: list = field(default_factory=list)
    #: a scorer slot whose scorer fails to start this many times in a row, with no work done, is retired
    max_start_failures: int = 3
    #: a scorer that hits this many device errors in a row retires (its work is requeued elsewhere)
    max_device_errors: int = 3
    #: an architecture that killed (or hit a device error on) this many scorers alone becomes an error row
    max_attempts: int = 2
    #: on a cluster (--address), seconds to wait for resources (e.g. GPU nodes an autoscaler adds) before
    #: failing when no scorer at all could start; a local Ray fails at once when it lacks them
    wait_for_resources: float = 600.0
    #: who writes part files: "auto" (scorers that can see the store write their own; the driver
    #: writes for the others) or "driver" (every row goes through the driver, as before; benchmarks)
    write_path: str = "auto"
    #: seconds of work per scorer call: how often the driver hears from each scorer
    work_seconds: float = 2.0
    #: the configured space object, resolved once where the job is defined and shipped with it, so a
    #: worker never looks a space up by name or reads its own environment (a script's own space too)
    space_object: SearchSpace | None = field(default=None, repr=False, compare=False)

    # -- derived -----------------------------------------------------------------------------
    def resolved_space(self) -> SearchSpace:
        if self.space_object is None:
            self.space_object = get_space(self.space).with_options(**self.space_options)
        return self.space_object

    def metric_requests(self) -> list[MetricRequest]:
        """Each requested metric with its resolved mode and options (validated)."""
        given = {get_metric(name).name: options for name, options in self.metric_options.items()}
        requested = [get_metric(n).name for n in self.metrics]
        unknown = sorted(set(given) - set(requested))
        if unknown:
            raise InputError(f"--metric-option names metric {unknown[0]!r}, which is not requested; "
                             f"requested: {', '.join(requested)}")
        return [MetricRequest.make(get_metric(name), self.mode, given.get(name)) for name in requested]

    @property
    def head_classes(self) -> int:
        """Network head size: ``--num-classes`` if given, else the dataset's class count."""
        return self.num_classes if self.num_classes is not None else self.batch.dataset_classes

    def reads_labels(self) -> bool:
        """Whether a requested metric reads the run batch's labels (they must then fit the head)."""
        return any(r.batch_needs.labels and r.batch_needs.source == "run" for r in self.metric_requests())

    def metric_modes(self) -> dict[str, str]:
        return {r.name: r.mode for r in self.metric_requests()}

    def memory_format(self, device: str) -> str:
        return memory_format_for(device, self.channels_last)

    def requested_indices(self) -> list[int]:
        space = self.resolved_space()
        if self.indices is not None:
            return [space.check_index(i) for i in dict.fromkeys(self.indices)]
        if self.limit is not None or (space.size is None and space.default_count):
            if space.size is None:
                return list(range(self.limit if self.limit is not None else int(space.default_count)))
            # --limit takes a prefix of a seeded permutation, not the first N indices: a partial run
            # is a uniform sample of the space, and a larger --limit with the same seed extends it.
            import numpy as np

            order = np.random.default_rng(self.seed).permutation(space.size)
            return sorted(int(i) for i in order[: min(self.limit, space.size)])
        return list(space.iter_all())

    def validate(self) -> None:
        """Raise one-line InputErrors for every bad field; reads no pixels and writes nothing."""
        from naswot_ray import plugins

        plugins.load(self.plugins)
        space = self.resolved_space()
        self.space = space.name
        if "://" not in str(self.store) or str(self.store).startswith("file://"):
            from naswot_ray.store.files import open_filesystem

            open_filesystem(str(self.store))  # a local store path that is a file: one line, before any work
        if not self.metrics:
            raise InputError("no metrics requested")
        for name in self.metrics:
            get_metric(name)
        if self.mode is not None and not any(self.mode in get_metric(n).modes for n in self.metrics):
            modes = sorted({m for n in self.metrics for m in get_metric(n).modes})
            raise InputError(f"unknown mode {self.mode!r} for metrics {', '.join(self.metrics)}; valid choices: {', '.join(modes)}")
        if self.bn_mode not in BN_MODES:
            raise InputError(f"unknown BN mode {self.bn_mode!r}; valid choices: {', '.join(BN_MODES)}")
        if self.limit is not None and self.limit < 1:
            raise InputError(f"--limit must be at least 1, got {self.limit}")
        if self.limit is not None and self.indices is not None:
            raise InputError("--limit and --indices cannot be combined; pick one")
        if self.indices is not None:
            for i in self.indices:
                space.check_index(i)
        elif self.limit is None and space.size is None and not space.default_count:
            raise InputError(f"space {space.name!r} is open-ended; pass --limit N or --indices")
        if self.num_workers is not None and self.num_workers < 1:
            raise InputError(f"--num-workers must be at least 1, got {self.num_workers}")
        if self.gpus_per_worker is not None and not (0 < self.gpus_per_worker <= 8):
            raise InputError(f"--gpus-per-worker must be in (0, 8], got {self.gpus_per_worker}")
        if self.num_classes is not None and self.num_classes < 1:
            raise InputError(f"--num-classes must be at least 1, got {self.num_classes}")
        if self.arch_timeout is not None and self.arch_timeout <= 0:
            raise InputError(f"--arch-timeout must be positive, got {self.arch_timeout}")
        if self.device is not None and not DEVICE_PATTERN.match(self.device):
            raise InputError(f"unknown device {self.device!r}; valid choices: {DEVICE_CHOICES}")
        for name, value in (("--max-start-failures", self.max_start_failures),
                            ("--max-device-errors", self.max_device_errors), ("max_attempts", self.max_attempts),
                            ("--flush-rows", self.flush_rows)):
            if value < 1:
                raise InputError(f"{name} must be at least 1, got {value}")
        if not (self.wait_for_resources >= 0):  # also rejects NaN
            raise InputError(f"--wait-for-resources must be a non-negative number of seconds, got {self.wait_for_resources}")
        if self.write_path not in WRITE_PATHS:
            raise InputError(f"unknown write path {self.write_path!r}; valid choices: {', '.join(WRITE_PATHS)}")
        self.metric_requests()
        check_batch_spec(self.batch, head_classes=self.head_classes if self.reads_labels() else None)

    def config(self) -> dict:
        """The job as plain data (the space object is described by its name and options)."""
        return {f.name: getattr(self, f.name) for f in fields(self) if f.name != "space_object"} | {
            "batch": asdict(self.batch)}

    def config_json(self) -> str:
        return json.dumps(self.config(), sort_keys=True, default=str)

    def fingerprint(self) -> str:
        return hashlib.sha1(self.config_json().encode()).hexdigest()[:12]


def parse_index_list(text: str) -> list[int]:
    """Parse ``1,5,9`` or ``0-99,200`` into indices; anything else raises a one-line InputError."""
    out: list[int] = []
    for part in text.split(","):
        part = part.strip()
        try:
            if "-" in part[1:]:
                lo_text, hi_text = part.split("-", 1)
                lo, hi = int(lo_text), int(hi_text)
                if hi < lo:
                    raise ValueError
                out.extend(range(lo, hi + 1))
            else:
                out.append(int(part))
        except ValueError:
            raise InputError(f"malformed index list {text!r} at {part!r}; expected comma-separated "
                             "non-negative integers or ranges like 1,5,9 or 0-99") from None
    if any(i < 0 for i in out):
        raise InputError(f"malformed index list {text!r}; indices must be non-negative")
    return out
