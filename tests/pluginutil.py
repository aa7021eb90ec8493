"""Plugins for tests: a tiny space and metric as module source, installed distributions, and a local Ray whose
workers can import modules from test folders (Ray workers inherit the driver's PYTHONPATH)."""

from __future__ import annotations

import contextlib
import os
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

#: a 4-architecture conv space and a metric counting modules; ``{space}``/``{metric}`` name them
PLUGIN_SOURCE = '''
import numpy as np
from torch import nn
import naswot_ray as nr


class TinySpace(nr.SearchSpace):
    name = "{space}"
    size = 4
    description = "test plugin space"

    def arch(self, index):
        return f"w{{8 * (self.check_index(index) + 1)}}"

    def index(self, arch):
        return int(arch[1:]) // 8 - 1

    def mutate(self, arch, rng):
        return self.arch((self.index(arch) + 1) % 4)

    def build(self, arch, num_classes):
        width = int(arch[1:])
        return nn.Sequential(nn.Conv2d(3, width, 3), nn.BatchNorm2d(width), nn.ReLU(), nn.AdaptiveAvgPool2d(1),
                             nn.Flatten(), nn.Linear(width, num_classes))


class Depth(nr.Metric):
    name = "{metric}"
    description = "test plugin metric: number of modules"
    needs = nr.MetricNeeds(data=False)

    def score(self, model, batch, *, seed, mode, ctx):
        return float(len(list(model.modules())))
'''


def make_distribution(site: Path, package: str, entry_points: str, source: str = "", version: str = "0.1") -> None:
    """Write an installed distribution into ``site``: the package and its dist-info with entry points."""
    (site / package).mkdir(parents=True)
    (site / package / "__init__.py").write_text(source)
    info = site / f"{package}-{version}.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {package.replace('_', '-')}\nVersion: {version}\n")
    (info / "entry_points.txt").write_text(textwrap.dedent(entry_points))


def write_plugin_module(directory: Path, module: str, *, space: str, metric: str) -> Path:
    """``directory/module.py`` registering ``space`` and ``metric`` when imported (a ``--plugin`` module)."""
    path = directory / f"{module}.py"
    path.write_text(PLUGIN_SOURCE.format(space=space, metric=metric) + textwrap.dedent(f'''
        nr.register_space("{space}")(TinySpace)
        nr.register_metric("{metric}")(Depth)
        '''))
    return path


@contextlib.contextmanager
def ray_on_path(*directories: Path, num_cpus: int = 2) -> Iterator[None]:
    """A local Ray (no dashboard) whose workers, like this process, import from ``directories``."""
    import ray

    paths = [str(d) for d in directories]
    previous = os.environ.get("PYTHONPATH")
    os.environ["PYTHONPATH"] = os.pathsep.join(paths + ([previous] if previous else []))
    sys.path[:0] = paths
    if ray.is_initialized():
        ray.shutdown()
    # address="local": a private instance even where someone ran `ray start` on this machine (Ray would join it)
    ray.init(address="local", num_cpus=num_cpus, include_dashboard=False, log_to_driver=False,
             namespace="naswot-ray-tests")
    try:
        yield
    finally:
        ray.shutdown()
        for path in paths:
            sys.path.remove(path)
        if previous is None:
            os.environ.pop("PYTHONPATH", None)
        else:
            os.environ["PYTHONPATH"] = previous
