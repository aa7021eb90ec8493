"""Shared test fixtures: where the real data lives, and a local Ray that every engine test shares.

Real data is read from ``../shared/data`` next to the checkout (override with NASWOT_RAY_SHARED_DATA);
tests that need it are skipped, with the path in the reason, where it is absent.
"""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile
from pathlib import Path

import pytest

os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
# No test may start the minutes-long full NB101 enumeration or write to the user's cache: nb101 is limited to
# its V <= 5 cells (2,532, built in about a second) in a per-session cache directory. Set at import, before any
# space object exists, so Ray workers and CLI subprocesses started by tests inherit both.
os.environ.setdefault("NASWOT_RAY_NB101_MAX_VERTICES", "5")
if "NASWOT_RAY_CACHE" not in os.environ:
    os.environ["NASWOT_RAY_CACHE"] = tempfile.mkdtemp(prefix="naswot-ray-test-cache-")
    atexit.register(shutil.rmtree, os.environ["NASWOT_RAY_CACHE"], ignore_errors=True)

SHARED_DATA = Path(os.environ.get("NASWOT_RAY_SHARED_DATA",
                                  Path(__file__).resolve().parents[1].parent / "shared" / "data"))
CIFAR_NPZ = SHARED_DATA / "cifar10-convnetjs-subset" / "cifar10_subset_uint8_nhwc.npz"
NB201_CSV = SHARED_DATA / "nb201-merged-200ep" / "nb201_merged_200ep.csv"


def shared_path(relative: str | Path) -> Path:
    """A file under the shared data folder, or skip the calling test saying where it looked."""
    path = SHARED_DATA / relative
    if not path.exists():
        pytest.skip(f"shared data not found at {path}")
    return path


@pytest.fixture(scope="session")
def shared_data() -> Path:
    if not SHARED_DATA.is_dir():
        pytest.skip(f"shared data not found at {SHARED_DATA}")
    return SHARED_DATA


@pytest.fixture(scope="session")
def cifar_npz() -> Path:
    return shared_path("cifar10-convnetjs-subset/cifar10_subset_uint8_nhwc.npz")


@pytest.fixture(scope="module")
def local_ray():
    """A real local Ray (2 CPUs, no dashboard) for one test module; stopped afterwards."""
    import ray

    if ray.is_initialized():
        ray.shutdown()
    ray.init(address="local", num_cpus=2, include_dashboard=False, log_to_driver=False, namespace="naswot-ray-tests")
    yield ray
    ray.shutdown()


@pytest.fixture(autouse=True)
def _single_torch_thread():
    """Tests run with one torch thread: deterministic timing-insensitive results, no oversubscription."""
    import torch

    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)
