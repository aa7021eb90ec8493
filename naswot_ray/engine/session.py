"""Joining or starting Ray for one run, and stopping what we started.

Why its own piece: connecting is where the environment fails (an unreachable ``--address``, a local
machine without the GPUs a job asks for), and those failures must be one line before anything is
written, not twenty lines of Ray client noise and a ``runs`` row left as running.
"""

from __future__ import annotations

import logging
import os
import socket
import warnings
from dataclasses import dataclass

import ray

from naswot_ray.errors import EnvironmentProblem, InputError

#: Ray's warning about token authentication on a local, loopback-only Ray tells the user nothing
TOKEN_WARNING = "token authentication"
#: where Ray logs it
TOKEN_LOGGERS = ("ray._private.authentication.authentication_token_setup", "ray")


@dataclass
class RaySession:
    """A connection to Ray: ``started`` says whether this process started it (and must stop it)."""

    address: str | None
    started: bool = False

    @property
    def local(self) -> bool:
        return not self.address

    def close(self) -> None:
        if self.started and ray.is_initialized():
            ray.shutdown()
        self.started = False

    def __enter__(self) -> "RaySession":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def connect(address: str | None, *, dashboard: bool = True, quiet_local: bool = True) -> RaySession:
    """Join ``address`` (a cluster) or start a private local Ray; reuse one already initialised in this process.

    Without ``address`` a run always starts its own Ray (``address="local"``), never joining a cluster that
    someone started on this machine with ``ray start``: a local run's resources are this machine's, as the
    up-front checks assume.

    An unreachable cluster is an :class:`EnvironmentProblem` (one line, exit 1).
    """
    if ray.is_initialized():
        return RaySession(address, started=False)
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    kwargs: dict = {"log_to_driver": False, "logging_level": logging.WARNING, "namespace": "naswot-ray"}
    if address:
        probe_address(address)
    try:
        if address:
            with _native_stderr_swallowed():
                ray.init(address=address, **kwargs)
        else:
            with _quiet_token_warning(quiet_local):
                ray.init(address="local", include_dashboard=dashboard, dashboard_host="127.0.0.1", **kwargs)
    except Exception as exc:  # ConnectionError, TimeoutError, RuntimeError from the client, ...
        if ray.is_initialized():
            ray.shutdown()
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        where = f"the Ray cluster at {address!r}" if address else "a local Ray"
        raise EnvironmentProblem(f"cannot connect to {where}: {reason}") from None
    return RaySession(address, started=True)


#: seconds to wait for a TCP connection to a cluster's address before calling it unreachable (Ray's own
#: client retries for minutes)
PROBE_SECONDS = 10.0


def probe_address(address: str, timeout: float = PROBE_SECONDS) -> None:
    """Fail fast, on one line, when ``host:port`` (or ``ray://host:port``) does not accept connections.

    ``auto`` and other forms are left to Ray, which resolves and reports them quickly itself.
    """
    text = address[len("ray://"):] if address.startswith("ray://") else address
    host, sep, port_text = text.rpartition(":")
    if not sep or not port_text.isdigit():
        return
    try:
        with socket.create_connection((host.strip("[]") or "127.0.0.1", int(port_text)), timeout=timeout):
            pass
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        raise EnvironmentProblem(f"cannot connect to the Ray cluster at {address!r}: {reason} (nothing listens there "
                                 f"within {timeout:g} s; check --address and that the head node is up)") from None


class _native_stderr_swallowed:
    """Ray's C++ client logs every failed connection attempt straight to file descriptor 2; while joining a
    cluster those lines are noise next to our one-line error, so they go to a temporary file instead."""

    def __enter__(self) -> None:
        import tempfile

        self._sink = tempfile.TemporaryFile()
        try:
            self._saved = os.dup(2)
        except OSError:  # no fd 2 (e.g. a daemon): nothing to swallow
            self._saved = None
            return
        os.dup2(self._sink.fileno(), 2)

    def __exit__(self, *exc: object) -> None:
        if self._saved is not None:
            os.dup2(self._saved, 2)
            os.close(self._saved)
        self._sink.close()


class _quiet_token_warning:
    """Silence Ray's token-authentication notice while starting a local Ray (kept for --address runs)."""

    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled

    def __enter__(self) -> None:
        if not self.enabled:
            return
        self._catch = warnings.catch_warnings()
        self._catch.__enter__()
        warnings.filterwarnings("ignore", message=f".*{TOKEN_WARNING}.*")
        self._filter = _MessageFilter(TOKEN_WARNING)
        for name in TOKEN_LOGGERS:
            logging.getLogger(name).addFilter(self._filter)

    def __exit__(self, *exc: object) -> None:
        if not self.enabled:
            return
        for name in TOKEN_LOGGERS:
            logging.getLogger(name).removeFilter(self._filter)
        self._catch.__exit__(*exc)


class _MessageFilter(logging.Filter):
    def __init__(self, needle: str) -> None:
        super().__init__()
        self.needle = needle.lower()

    def filter(self, record: logging.LogRecord) -> bool:
        return self.needle not in record.getMessage().lower()


def check_local_resources(job) -> None:
    """On this machine (no ``--address``), resources the job asks for and the machine lacks are an error at
    once: nothing would ever add them. (On a cluster the driver waits, boundedly, for an autoscaler to add
    them: :mod:`.scorers`.)"""
    wants_gpu = (job.device or "").startswith("cuda") or job.gpus_per_worker is not None
    if wants_gpu:
        import torch

        have = torch.cuda.device_count() if torch.cuda.is_available() else 0
        if have == 0:
            raise InputError("this job asks for a GPU (--device cuda or --gpus-per-worker) but this machine has none; "
                             "use --device cpu, or run on a cluster with --address")
        if job.gpus_per_worker is not None and job.gpus_per_worker > have:
            raise InputError(f"--gpus-per-worker {job.gpus_per_worker:g} is more than this machine's {have} GPUs")
    cpus = os.cpu_count() or 1
    if not wants_gpu and job.cpus_per_worker > cpus:
        raise InputError(f"each scorer asks for {job.cpus_per_worker:g} CPUs but this machine has {cpus}")


__all__ = ["RaySession", "check_local_resources", "connect", "probe_address"]
